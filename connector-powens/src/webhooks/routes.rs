//! Which Powens events the connector handles, the URL path each one is registered under, and
//! the [`WebhookConfig`]s the install step stores.
//!
//! Powens puts no event name in the body: each event is posted to the URL registered for it,
//! so the config (chosen by path) names the event.
//!
//! | event | path | registered by default |
//! |---|---|---|
//! | `USER_SYNCED` | `/user-synced` | yes (the spec's subscription; starts a sync of the user) |
//! | `CONNECTION_SYNCED` | `/connection-synced` | yes (starts a sync of the user) |
//! | `CONNECTION_DELETED` | `/connection-deleted` | yes |
//! | `CONNECTION_PENDING_DISCONNECT` | `/connection-pending-disconnect` | yes |
//! | `USER_DELETED` | `/user-deleted` | yes |
//! | `ACCOUNTS_FETCHED` | `/accounts-fetched` | no (the same data comes in `CONNECTION_SYNCED`) |
//! | `ACCOUNT_SYNCED` | `/account-synced` | no (idem) |
//!
//! Every event of the table is translated; records that arrive twice (from `USER_SYNCED` and
//! `CONNECTION_SYNCED`, or from a webhook and the sync it triggers) are idempotent by
//! reference. Powens registers webhook URLs in its console, not by API:
//! [`webhook_urls`] lists the exact URL to register per event.

use std::collections::BTreeMap;

use connector_core::webhook::WebhookConfig;
use powens_api::webhooks::WebhookEventKind;

/// The metadata key of a [`WebhookConfig`] holding the `hmac_signature` provider's
/// `secret_key` (Formance's key).
pub const SECRET_METADATA_KEY: &str = "secret";

/// One handled event and the path it is delivered to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookRoute {
    /// The Powens event name, e.g. `CONNECTION_SYNCED` (also the config name).
    pub event: &'static str,
    /// The path under the connector's webhook base URL, e.g. `/connection-synced`.
    pub path: &'static str,
    /// Whether install registers it.
    pub registered_by_default: bool,
}

/// Every event the connector translates, in registration order.
pub const WEBHOOK_ROUTES: &[WebhookRoute] = &[
    route("USER_SYNCED", "/user-synced", true),
    route("CONNECTION_SYNCED", "/connection-synced", true),
    route("CONNECTION_DELETED", "/connection-deleted", true),
    route(
        "CONNECTION_PENDING_DISCONNECT",
        "/connection-pending-disconnect",
        true,
    ),
    route("USER_DELETED", "/user-deleted", true),
    route("ACCOUNTS_FETCHED", "/accounts-fetched", false),
    route("ACCOUNT_SYNCED", "/account-synced", false),
];

const fn route(event: &'static str, path: &'static str, default: bool) -> WebhookRoute {
    WebhookRoute {
        event,
        path,
        registered_by_default: default,
    }
}

/// The routes install registers.
pub fn default_routes() -> impl Iterator<Item = &'static WebhookRoute> {
    WEBHOOK_ROUTES.iter().filter(|r| r.registered_by_default)
}

/// The route of a handled event name (exact, upper-case Powens spelling).
pub fn route_for_event(event: &str) -> Option<&'static WebhookRoute> {
    WEBHOOK_ROUTES.iter().find(|r| r.event == event)
}

/// The handled event a config stands for, or `None` for an event this connector does not
/// translate.
pub(crate) fn event_of(config: &WebhookConfig) -> Option<WebhookEventKind> {
    route_for_event(config.name.trim()).map(|r| WebhookEventKind::from_wire(r.event))
}

/// The configs to store at install: one per default route, each with its full public URL
/// (`webhook_base_url` + path, the path the signature covers) and the shared
/// `hmac_signature` secret under [`SECRET_METADATA_KEY`].
pub fn webhook_configs(webhook_base_url: &str, secret: &str) -> Vec<WebhookConfig> {
    default_routes()
        .map(|r| config_for(r, webhook_base_url, secret))
        .collect()
}

/// `(event, URL)` of every default route under `webhook_base_url`: what to register in the
/// Powens console (`powens webhook urls --base …` prints it).
pub fn webhook_urls(webhook_base_url: &str) -> Vec<(&'static str, String)> {
    let base = webhook_base_url.trim_end_matches('/');
    default_routes()
        .map(|r| (r.event, format!("{base}{}", r.path)))
        .collect()
}

/// The config of one route (see [`webhook_configs`]).
pub fn config_for(route: &WebhookRoute, webhook_base_url: &str, secret: &str) -> WebhookConfig {
    let base = webhook_base_url.trim_end_matches('/');
    WebhookConfig {
        name: route.event.to_owned(),
        url_path: route.path.to_owned(),
        full_url: Some(format!("{base}{}", route.path)),
        metadata: BTreeMap::from([(SECRET_METADATA_KEY.to_owned(), secret.to_owned())]),
    }
}

/// The config an inbound request path belongs to: the one whose `url_path` ends the request
/// path at a segment boundary (`/hooks/c1/connection-synced` → `/connection-synced`), the
/// longest such path winning. Stricter than Formance's "first substring match", which can
/// pick `/user-synced` for `/user-synced-v2`.
pub fn config_for_request_path<'a>(
    configs: &'a [WebhookConfig],
    request_path: &str,
) -> Option<&'a WebhookConfig> {
    let request_path = request_path.split(['?', '#']).next().unwrap_or_default();
    configs
        .iter()
        .filter(|c| {
            let path = c.url_path.trim_end_matches('/');
            !path.is_empty()
                && request_path
                    .trim_end_matches('/')
                    .strip_suffix(path)
                    .is_some_and(|head| {
                        head.is_empty() || head.ends_with('/') || path.starts_with('/')
                    })
        })
        .max_by_key(|c| c.url_path.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_a_distinct_kebab_case_path_named_after_its_event() {
        for r in WEBHOOK_ROUTES {
            assert_eq!(
                r.path,
                format!("/{}", r.event.to_lowercase().replace('_', "-"))
            );
            assert!(
                WebhookEventKind::from_wire(r.event).is_known(),
                "{}",
                r.event
            );
        }
    }

    #[test]
    fn install_configs_carry_the_full_url_and_the_secret() {
        let configs = webhook_configs("https://pay.example/api/webhooks/c1/", "s3cret");
        let names: Vec<_> = configs.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "USER_SYNCED",
                "CONNECTION_SYNCED",
                "CONNECTION_DELETED",
                "CONNECTION_PENDING_DISCONNECT",
                "USER_DELETED",
            ]
        );
        assert_eq!(
            configs[1].full_url.as_deref(),
            Some("https://pay.example/api/webhooks/c1/connection-synced")
        );
        assert_eq!(configs[0].metadata["secret"], "s3cret");
        assert!(!format!("{:?}", configs[0]).contains("s3cret"));
    }

    #[test]
    fn request_paths_route_to_the_config_whose_path_ends_them() {
        let configs = webhook_configs("http://127.0.0.1:1/hooks/c1", "s");
        let pick = |p: &str| config_for_request_path(&configs, p).map(|c| c.name.as_str());
        assert_eq!(
            pick("/hooks/c1/connection-synced"),
            Some("CONNECTION_SYNCED")
        );
        assert_eq!(pick("/hooks/c1/user-deleted?x=1"), Some("USER_DELETED"));
        assert_eq!(pick("/hooks/c1/user-synced"), Some("USER_SYNCED"));
        assert_eq!(pick("/hooks/c1/accounts-fetched"), None);
        assert_eq!(pick("/hooks/c1/connection-synced-v2"), None);
        assert_eq!(pick("/"), None);
    }

    #[test]
    fn unknown_config_names_are_not_events() {
        let mut config = webhook_configs("http://h", "s").remove(1);
        assert_eq!(event_of(&config), Some(WebhookEventKind::ConnectionSynced));
        config.name = "ACCOUNT_FOUND".into();
        assert_eq!(event_of(&config), None);
    }
}
