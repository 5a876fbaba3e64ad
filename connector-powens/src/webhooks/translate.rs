//! Translation: a whole Powens webhook body → [`WebhookResponse`]s in processing order, read
//! **once**. Every mapping rule is `powens-model`'s; this module only orders and wires them.
//!
//! | event | responses | sync of the user |
//! |---|---|---|
//! | `CONNECTION_SYNCED` | per connection: the connection event, then accounts, external accounts, payments (with maturation's deletes/cancels), balances | yes |
//! | `USER_SYNCED` | the same for each connection, connection after connection | yes |
//! | `ACCOUNTS_FETCHED` | accounts, then balances | no |
//! | `ACCOUNT_SYNCED` | the account, external accounts, payments, the balance | no |
//! | `CONNECTION_DELETED` | `UserConnectionDisconnected` (`USER_ACTION_NEEDED`) | no |
//! | `USER_DELETED` | `UserDisconnected` | no |
//! | `CONNECTION_PENDING_DISCONNECT` | `UserConnectionPendingDisconnect` at the consent expiry | no |
//!
//! Synced bodies (the first `CONNECTION_SYNCED` carries the whole history) are read by
//! [`powens_model::webhook::read_synced`]: one pass over the bytes with the reader that maps
//! transactions pages, each row mapped once its account is known, nothing re-parsed and no
//! page text rebuilt. The other events are small and decoded by the typed `powens-api`
//! decoder. The idempotency key (`id_webhook_data`, else a digest of the body) and the
//! Powens user (`user.id`, else the object's `id_user`) come out of the same read.
//!
//! The connection event: `state` null → `UserConnectionReconnected`; an error state →
//! `UserConnectionDisconnected` with the type and reason of
//! [`powens_model::connection::disconnected`]. Its instant is the connection's `last_update`,
//! else the first account's, else `now`. When the connection's `expire` falls within the
//! consent horizon, a `UserConnectionPendingDisconnect` follows. A malformed account or row is
//! skipped with its reason (in [`Translation::skipped`]), never failing the delivery.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use connector_core::model::{
    ConnectionDisconnectedErrorType, Payment, Record, UserConnectionDisconnected,
    UserConnectionPendingDisconnect, UserConnectionReconnected, UserDisconnected,
};
use connector_core::webhook::{OpenBankingAccount, OpenBankingPayment, WebhookResponse};
use powens_api::connections::Connection;
use powens_api::webhooks::{WebhookEvent, WebhookEventKind};
use powens_model::connection::{disconnected, pending_disconnect};
use powens_model::maturation::{mature, MaturationRule};
use powens_model::page::row_raw;
use powens_model::time::{rfc3339, zoned_field};
use powens_model::webhook::{read_synced, SyncedBody, SyncedConnection, SyncedShape};
use powens_model::{MappingContext, Skipped};

use super::error::{unknown_event, WebhookError};
use super::verify::{body_digest_key, delivery_key};

/// What the translation needs besides the body.
#[derive(Debug, Clone, Copy)]
pub struct TranslateContext {
    /// The instant when the body gives none; also the reference for the consent horizon.
    pub now: DateTime<Utc>,
    /// Zone of naive Powens datetimes.
    pub zone: Tz,
    /// A consent expiring within this horizon of `now` yields a pending disconnect.
    pub consent_horizon: TimeDelta,
}

/// One body, read once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Translation {
    /// `id_webhook_data:<id>`, else `body-sha256:<hex>` of the raw body.
    pub idempotency_key: String,
    /// The Powens user the body belongs to, when it names one.
    pub psp_user_id: Option<String>,
    /// The responses, in processing order.
    pub responses: Vec<WebhookResponse>,
    /// The skipped objects, with the reason.
    pub skipped: Vec<Skipped>,
    /// Whether the event says the user has new data to sync.
    pub sync_requested: bool,
}

/// A translation whose payments still point at their rows in the body: `raw` is copied out
/// by [`ReadBody::complete`], when the records are about to be delivered (the same split as
/// `powens-model`'s `PaymentRow`, so that the read itself allocates no row copy).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadBody<'a> {
    /// The translation, payments' `raw` still `null` where `rows` names them.
    pub translation: Translation,
    /// `(index in responses, row text)` of every payment whose `raw` is pending.
    rows: Vec<(usize, &'a str)>,
}

impl ReadBody<'_> {
    /// The complete translation: every payment's `raw` is its row, verbatim.
    pub fn complete(self) -> Translation {
        let mut translation = self.translation;
        for (index, row) in self.rows {
            if let Some(WebhookResponse::OpenBankingPayment(p)) =
                translation.responses.get_mut(index)
            {
                p.payment.raw = row_raw(row).into();
            }
        }
        translation
    }
}

fn shape_of(kind: &WebhookEventKind) -> Option<SyncedShape> {
    Some(match kind {
        WebhookEventKind::ConnectionSynced | WebhookEventKind::AccountsFetched => {
            SyncedShape::Connection
        }
        WebhookEventKind::UserSynced => SyncedShape::Connections,
        WebhookEventKind::AccountSynced => SyncedShape::Account,
        _ => return None,
    })
}

/// Reads the body of a handled event once; payments' `raw` is left pending (see
/// [`ReadBody`]).
pub fn read_body<'a>(
    kind: &WebhookEventKind,
    body: &'a [u8],
    cx: &TranslateContext,
) -> Result<ReadBody<'a>, WebhookError> {
    match shape_of(kind) {
        Some(shape) => synced(kind, shape, body, cx),
        None => other_event(kind, body, cx).map(|translation| ReadBody {
            translation,
            rows: Vec::new(),
        }),
    }
}

fn synced<'a>(
    kind: &WebhookEventKind,
    shape: SyncedShape,
    body: &'a [u8],
    cx: &TranslateContext,
) -> Result<ReadBody<'a>, WebhookError> {
    let ctx = MappingContext::new(cx.now).with_zone(cx.zone);
    let read = match read_synced(body, shape, &ctx) {
        Ok(read) => read,
        Err(source) => {
            // Not the JSON the event needs: the typed decoder names the path at fault.
            WebhookEvent::decode(kind, body)?;
            return Err(WebhookError::Unreadable {
                event: kind.as_str().to_owned(),
                reason: source.to_string(),
            });
        }
    };
    let SyncedBody {
        user_id,
        id_webhook_data,
        connections,
        skipped,
    } = read;
    let mut read = ReadBody {
        translation: Translation {
            idempotency_key: id_webhook_data
                .map_or_else(|| body_digest_key(body), |id| delivery_key(&id)),
            skipped,
            sync_requested: matches!(
                kind,
                WebhookEventKind::ConnectionSynced | WebhookEventKind::UserSynced
            ),
            ..Translation::default()
        },
        rows: Vec::new(),
    };
    let mut user = user_id;
    for connection in connections {
        let connection_user = connection
            .connection
            .as_ref()
            .and_then(|c| c.id_user)
            .or(connection.owner.0);
        user = user.or(connection_user);
        let psp_user = user_id.or(connection_user).map(|id| id.to_string());
        if *kind == WebhookEventKind::ConnectionSynced || *kind == WebhookEventKind::UserSynced {
            if let Some(header) = &connection.connection {
                connection_event(
                    header,
                    &connection,
                    psp_user.clone(),
                    cx,
                    &mut read.translation,
                );
            }
        }
        data(connection, psp_user, &mut read);
    }
    read.translation.psp_user_id = user.map(|id| id.to_string());
    Ok(read)
}

/// The connection event and the consent warning of one synced connection.
fn connection_event(
    header: &Connection,
    connection: &SyncedConnection<'_>,
    psp_user: Option<String>,
    cx: &TranslateContext,
    out: &mut Translation,
) {
    let at = header
        .last_update
        .as_ref()
        .or(connection.accounts.first_last_update.as_ref())
        .map_or(cx.now, |at| zoned_field(at, cx.zone));
    match disconnected(header, psp_user.clone(), at) {
        Some(event) => out
            .responses
            .push(WebhookResponse::UserConnectionDisconnected(event)),
        None => match psp_user {
            Some(psp_user_id) => out
                .responses
                .push(WebhookResponse::UserConnectionReconnected(
                    UserConnectionReconnected {
                        psp_user_id,
                        psu_id: None,
                        connection_id: header.id.to_string(),
                        at,
                    },
                )),
            None => tracing::warn!(
                connection = header.id,
                "CONNECTION_SYNCED names no user: no reconnected event"
            ),
        },
    }
    if let Some(pending) = pending_disconnect(header, cx.now, cx.consent_horizon, cx.zone) {
        out.responses
            .push(WebhookResponse::UserConnectionPendingDisconnect(pending));
    }
}

/// Accounts, external accounts, payments (matured), then balances of one connection.
fn data<'a>(connection: SyncedConnection<'a>, psp_user: Option<String>, read: &mut ReadBody<'a>) {
    let out = &mut read.translation;
    let connection_id = connection
        .connection
        .as_ref()
        .map(|c| c.id)
        .or(connection.owner.1)
        .map(|id| id.to_string());
    let accounts = connection.accounts;
    out.skipped.extend(accounts.skipped);
    let mut page = connection.transactions;
    out.skipped.append(&mut page.skipped);

    out.responses
        .reserve(accounts.accounts.len() * 2 + page.payments.len() + page.external_accounts.len());
    for mut account in accounts.accounts {
        if account.open_banking_connection_id.is_none() {
            account.open_banking_connection_id = connection_id.clone();
        }
        out.responses
            .push(WebhookResponse::OpenBankingAccount(OpenBankingAccount {
                account,
                open_banking_user_id: psp_user.clone(),
                open_banking_connection_id: connection_id.clone(),
            }));
    }
    // The page reader emits each counterparty once per body.
    out.responses.extend(
        std::mem::take(&mut page.external_accounts)
            .into_iter()
            .map(WebhookResponse::ExternalAccount),
    );
    let open_banking = |mut payment: Payment| {
        if payment.open_banking_connection_id.is_none() {
            payment.open_banking_connection_id = connection_id.clone();
        }
        WebhookResponse::OpenBankingPayment(OpenBankingPayment {
            payment,
            open_banking_user_id: psp_user.clone(),
            open_banking_connection_id: connection_id.clone(),
        })
    };
    if page.tombstones.is_empty() {
        // Nothing to mature: each row stays a payment, its `raw` copied at delivery.
        for row in page.payments {
            read.rows.push((out.responses.len(), row.raw));
            out.responses.push(open_banking(row.payment));
        }
    } else {
        let tombstones = std::mem::take(&mut page.tombstones);
        let matured = mature(
            &[],
            page.into_payments(),
            &tombstones,
            MaturationRule::default(),
        );
        for record in matured.records {
            out.responses.push(match record {
                Record::Payment(payment) => open_banking(payment),
                Record::PaymentToDelete(p) => WebhookResponse::PaymentToDelete(p),
                Record::PaymentToCancel(p) => WebhookResponse::PaymentToCancel(p),
                other => {
                    tracing::warn!(?other, "maturation returned a non-payment record; ignored");
                    continue;
                }
            });
        }
    }
    for mut balance in accounts.balances {
        if balance.open_banking_connection_id.is_none() {
            balance.open_banking_connection_id = connection_id.clone();
        }
        out.responses.push(WebhookResponse::Balance(balance));
    }
}

/// The small events, decoded typed.
fn other_event(
    kind: &WebhookEventKind,
    body: &[u8],
    cx: &TranslateContext,
) -> Result<Translation, WebhookError> {
    let event = WebhookEvent::decode(kind, body)?;
    let mut out = Translation {
        idempotency_key: event
            .id_webhook_data()
            .map_or_else(|| body_digest_key(body), |id| delivery_key(&id.to_string())),
        ..Translation::default()
    };
    match event {
        WebhookEvent::ConnectionDeleted(event) => {
            let connection = event.connection;
            out.psp_user_id = connection.id_user.map(|id| id.to_string());
            out.responses
                .push(WebhookResponse::UserConnectionDisconnected(
                    UserConnectionDisconnected {
                        psp_user_id: out.psp_user_id.clone(),
                        psu_id: None,
                        connection_id: connection.id.to_string(),
                        at: cx.now,
                        error_type: ConnectionDisconnectedErrorType::UserActionNeeded,
                        reason: Some(
                            "connection deleted at Powens; the user must link the bank again"
                                .into(),
                        ),
                    },
                ));
        }
        WebhookEvent::UserDeleted(event) => {
            out.psp_user_id = Some(event.user.id.to_string());
            out.responses
                .push(WebhookResponse::UserDisconnected(UserDisconnected {
                    psp_user_id: event.user.id.to_string(),
                    psu_id: None,
                }));
        }
        WebhookEvent::ConnectionPendingDisconnect(event) => {
            out.psp_user_id = event
                .user
                .as_ref()
                .map(|u| u.id)
                .or(event.connection.id_user)
                .map(|id| id.to_string());
            let expire = event.expire.as_ref().map(|e| zoned_field(e, cx.zone));
            out.responses
                .push(WebhookResponse::UserConnectionPendingDisconnect(
                    UserConnectionPendingDisconnect {
                        psu_id: None,
                        connection_id: event.connection.id.to_string(),
                        at: expire.unwrap_or(cx.now),
                        reason: Some(match expire {
                            Some(at) => format!(
                                "Powens announced the end of the consent at {}; renew it through \
                                 the reconnect Webview",
                                rfc3339(at)
                            ),
                            None => "Powens announced the end of the consent; renew it through \
                                     the reconnect Webview"
                                .to_owned(),
                        }),
                    },
                ));
        }
        other => return Err(unknown_event(other.kind().as_str())),
    }
    Ok(out)
}
