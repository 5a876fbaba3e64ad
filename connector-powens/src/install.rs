//! `CREATE_WEBHOOKS` at install and the clean-up at uninstall.
//!
//! Install creates one `hmac_signature` auth provider at Powens (`POST /webhooks/auth`, with
//! the configuration token) named by [`auth_provider_name`], and returns the
//! [`WebhookConfig`]s of [`crate::webhooks::routes::webhook_configs`]: per registered event,
//! its name, its URL path under the webhook base URL, the full URL, and the signing secret in
//! metadata (`secret`). A private `WebhookSubscriber` plugs this into
//! [`crate::webhooks::PowensWebhooks`].
//!
//! Re-install: the providers are listed and matched by name (the provider is named after the
//! connector instance). Powens shows a provider's secret only once, at creation, and the
//! Powens console ties the registered webhook URLs to the provider, so a re-install must not
//! rotate it: when exactly one provider of this name exists and the configs of the previous
//! install (which the engine stores, `CreateWebhooksRequest::existing`) carry its secret,
//! the provider is **reused** and the configs rebuilt with the stored secret for the (possibly
//! new) base URL. Only when the secret is not stored (or several providers share the name)
//! are they deleted and one created anew — the secret then rotates, and the log says so.
//! Uninstall lists, matches by name and deletes; none found is not an error.
//!
//! Powens registers webhook URLs in its console, not by API: register each URL of
//! [`crate::webhooks::routes::webhook_urls`] (or `powens webhook urls --base …`) there.

use std::sync::Arc;

use connector_core::contract::CreateWebhooksRequest;
use connector_core::webhook::WebhookConfig;
use connector_core::ConnectorError;
use futures::future::BoxFuture;
use futures::FutureExt;
use powens_api::webhooks_auth::{WebhookAuthName, MAX_NAME_LEN};
use secrecy::ExposeSecret;

use crate::connector::Shared;
use crate::error::to_connector_error;
use crate::webhooks::{routes, WebhookSubscriber};

/// The auth provider name of a connector: up to 22 ASCII letters and digits of its name,
/// then 8 hex digits of an FNV-1a hash of the whole name (so that `my-bank` and `mybank`
/// differ). Powens refuses long names and names with `-` (HTTP 500 `dataError`).
pub fn auth_provider_name(connector_name: &str) -> String {
    let mut name: String = connector_name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(22)
        .collect();
    if name.is_empty() {
        name.push_str("powens");
    }
    let mut hash: u32 = 0x811c_9dc5;
    for byte in connector_name.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    name.push_str(&format!("{hash:08x}"));
    debug_assert!(name.len() <= MAX_NAME_LEN);
    name
}

fn provider_name(shared: &Shared) -> Result<WebhookAuthName, ConnectorError> {
    WebhookAuthName::new(auth_provider_name(&shared.name)).map_err(to_connector_error)
}

/// Deletes every provider named like this connector's; returns how many.
async fn delete_named(shared: &Shared, name: &WebhookAuthName) -> Result<usize, ConnectorError> {
    let token = &shared.config.configuration_token;
    let list = shared
        .client
        .list_webhook_auths(token)
        .await
        .map_err(to_connector_error)?;
    let mut deleted = 0;
    for provider in list
        .authproviders
        .iter()
        .filter(|p| p.name.as_deref() == Some(name.as_str()))
    {
        shared
            .client
            .delete_webhook_auth(token, provider.id)
            .await
            .map_err(to_connector_error)?;
        deleted += 1;
    }
    Ok(deleted)
}

/// Creates (or re-creates) the auth provider and returns the webhook configs.
pub(crate) async fn create_webhooks(
    shared: Arc<Shared>,
    request: CreateWebhooksRequest,
) -> Result<Vec<WebhookConfig>, ConnectorError> {
    let name = provider_name(&shared)?;
    let stored_secret = request
        .existing
        .iter()
        .find_map(|c| c.metadata.get(routes::SECRET_METADATA_KEY))
        .filter(|s| !s.is_empty());
    let token = &shared.config.configuration_token;
    let named = shared
        .client
        .list_webhook_auths(token)
        .await
        .map_err(to_connector_error)?
        .authproviders
        .into_iter()
        .filter(|p| p.name.as_deref() == Some(name.as_str()))
        .count();
    if let (1, Some(secret)) = (named, stored_secret) {
        tracing::info!(provider = %name, "re-install: reusing the webhook auth provider and its stored secret");
        return Ok(routes::webhook_configs(&request.webhook_base_url, secret));
    }
    let replaced = delete_named(&shared, &name).await?;
    if replaced > 0 {
        tracing::warn!(
            provider = %name,
            replaced,
            "re-install without the stored secret: the webhook auth provider is re-created and \
             its secret rotates; re-register the webhook URLs in the Powens console"
        );
    }
    let created = shared
        .client
        .create_webhook_auth(&shared.config.configuration_token, &name)
        .await
        .map_err(to_connector_error)?;
    let secret = created
        .config
        .as_ref()
        .and_then(|c| c.secret_key.as_ref())
        .ok_or_else(|| ConnectorError::Other {
            message: format!(
                "Powens created webhook auth provider {} without a secret_key",
                created.id
            ),
            source: None,
        })?;
    Ok(routes::webhook_configs(
        &request.webhook_base_url,
        secret.expose_secret(),
    ))
}

/// Deletes the auth provider named like this connector's (uninstall).
pub(crate) async fn remove_auth_provider(shared: Arc<Shared>) -> Result<(), ConnectorError> {
    let name = provider_name(&shared)?;
    let deleted = delete_named(&shared, &name).await?;
    tracing::info!(provider = %name, deleted, "uninstall: webhook auth provider removed");
    Ok(())
}

/// The install step as the webhook handler's subscriber.
pub(crate) struct AuthProviderSubscriber(pub(crate) Arc<Shared>);

impl WebhookSubscriber for AuthProviderSubscriber {
    fn subscribe(
        &self,
        request: CreateWebhooksRequest,
    ) -> BoxFuture<'_, Result<Vec<WebhookConfig>, ConnectorError>> {
        create_webhooks(Arc::clone(&self.0), request).boxed()
    }
}
