//! Translation: a (piece of a) Powens webhook body → [`WebhookResponse`]s, in processing
//! order. Every mapping rule is `powens-model`'s; this module only orders and wires them.
//!
//! | event | responses |
//! |---|---|
//! | `CONNECTION_SYNCED` | per connection: the connection event, then accounts, external accounts, payments (with maturation's deletes/cancels), balances |
//! | `USER_SYNCED` | the same for each connection, connection after connection |
//! | `ACCOUNTS_FETCHED` | accounts, then balances |
//! | `ACCOUNT_SYNCED` | the account, external accounts, payments, the balance |
//! | `CONNECTION_DELETED` | `UserConnectionDisconnected` (`USER_ACTION_NEEDED`) |
//! | `USER_DELETED` | `UserDisconnected` |
//! | `CONNECTION_PENDING_DISCONNECT` | `UserConnectionPendingDisconnect` at the consent expiry |
//!
//! The connection event: `state` null → `UserConnectionReconnected`; an error state →
//! `UserConnectionDisconnected` with the type and reason of
//! [`powens_model::connection::disconnected`] (user action needed / temporary /
//! non-recoverable). Its instant is the connection's `last_update`, else the first account's,
//! else `now`. When the connection's `expire` falls within the consent horizon, a
//! `UserConnectionPendingDisconnect` follows. The data a failed sync still carries is
//! translated too (it was synced before the failure).
//!
//! Transactions are taken out of the body as raw rows (the private `rows` module) and mapped by
//! `powens-model`'s lean page decoder: a malformed row is skipped, not fatal, and each
//! payment's `raw` is the row exactly as received (every digit kept).
//!
//! Accounts and payments are `OpenBanking*` responses naming the Powens user (the body's
//! `user.id`, else the object's `id_user`) and connection. A row that cannot be mapped
//! (unknown currency, too many decimals, …) is skipped with its reason, never failing the
//! webhook. A deleted transaction in the body goes through `powens_model::maturation`
//! (replaced by a posted row of the same piece → `PaymentToDelete`, else `PaymentToCancel`).

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use connector_core::model::{
    ConnectionDisconnectedErrorType, Record, UserConnectionDisconnected,
    UserConnectionPendingDisconnect, UserConnectionReconnected, UserDisconnected,
};
use connector_core::webhook::{OpenBankingAccount, OpenBankingPayment, WebhookResponse};
use powens_api::accounts::BankAccount;
use powens_api::connections::Connection;
use powens_api::webhooks::{WebhookEvent, WebhookEventKind};
use powens_model::account::map_accounts;
use powens_model::connection::{disconnected, pending_disconnect};
use powens_model::maturation::{mature, MaturationRule};
use powens_model::page::map_transactions_page;
use powens_model::time::{rfc3339, zoned_field};
use powens_model::{MappingContext, SkipReason, Skipped};

use super::error::{unknown_event, WebhookError};
use super::raw::raw_array;
use super::rows::{strip_transactions, RowsByAccount};

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

/// The responses of one body, and the objects that could not be mapped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Translation {
    /// The responses, in processing order.
    pub responses: Vec<WebhookResponse>,
    /// The skipped objects, with the reason.
    pub skipped: Vec<Skipped>,
}

/// Translates the body of a handled event.
pub fn translate_body(
    kind: &WebhookEventKind,
    body: &[u8],
    cx: &TranslateContext,
) -> Result<Translation, WebhookError> {
    let mut out = Translation::default();
    let (body, rows) = match strip_transactions(kind, body) {
        Ok(stripped) => stripped,
        Err(source) => {
            // Not the JSON the event needs: the typed decoder names the path at fault.
            WebhookEvent::decode(kind, body)?;
            return Err(WebhookError::Unsplittable {
                event: kind.as_str().to_owned(),
                source,
            });
        }
    };
    match WebhookEvent::decode(kind, &body)? {
        WebhookEvent::ConnectionSynced(event) => {
            connection_synced(&rows, Some(event.user.id), &event.connection, cx, &mut out);
        }
        WebhookEvent::UserSynced(event) => {
            for connection in &event.connections {
                connection_synced(&rows, Some(event.user.id), connection, cx, &mut out);
            }
        }
        WebhookEvent::AccountsFetched(event) => {
            let user = event.user.as_ref().map(|u| u.id);
            let accounts = event.connection.accounts.as_deref().unwrap_or_default();
            accounts_and_data(
                accounts,
                &rows,
                user,
                Some(event.connection.id),
                cx,
                &mut out,
            );
        }
        WebhookEvent::AccountSynced(event) => {
            let account = event.account;
            let (user, connection) = (account.id_user, account.id_connection);
            accounts_and_data(
                std::slice::from_ref(&account),
                &rows,
                user,
                connection,
                cx,
                &mut out,
            );
        }
        WebhookEvent::ConnectionDeleted(event) => {
            let connection = event.connection;
            out.responses
                .push(WebhookResponse::UserConnectionDisconnected(
                    UserConnectionDisconnected {
                        psp_user_id: connection.id_user.map(|id| id.to_string()),
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
            out.responses
                .push(WebhookResponse::UserDisconnected(UserDisconnected {
                    psp_user_id: event.user.id.to_string(),
                }));
        }
        WebhookEvent::ConnectionPendingDisconnect(event) => {
            let expire = event.expire.as_ref().map(|e| zoned_field(e, cx.zone));
            out.responses
                .push(WebhookResponse::UserConnectionPendingDisconnect(
                    UserConnectionPendingDisconnect {
                        connection_id: event.connection.id.to_string(),
                        at: expire.unwrap_or(cx.now),
                        reason: Some(match expire {
                            Some(at) => format!(
                                "Powens announced the end of the consent at {}; renew it through \
                             the reconnect Webview",
                                rfc3339(at)
                            ),
                            None => {
                                "Powens announced the end of the consent; renew it through the \
                                 reconnect Webview"
                                    .to_owned()
                            }
                        }),
                    },
                ));
        }
        other => return Err(unknown_event(other.kind().as_str())),
    }
    Ok(out)
}

/// One synced connection: its event, the consent warning, then its data.
fn connection_synced(
    rows: &RowsByAccount<'_>,
    user: Option<i64>,
    connection: &Connection,
    cx: &TranslateContext,
    out: &mut Translation,
) {
    let accounts = connection.accounts.as_deref().unwrap_or_default();
    let psp_user = user.or(connection.id_user).map(|id| id.to_string());
    let at = connection
        .last_update
        .as_ref()
        .or_else(|| accounts.iter().find_map(|a| a.last_update.as_ref()))
        .map_or(cx.now, |at| zoned_field(at, cx.zone));
    match disconnected(connection, psp_user.clone(), at) {
        Some(event) => out
            .responses
            .push(WebhookResponse::UserConnectionDisconnected(event)),
        None => match psp_user {
            Some(psp_user_id) => out
                .responses
                .push(WebhookResponse::UserConnectionReconnected(
                    UserConnectionReconnected {
                        psp_user_id,
                        connection_id: connection.id.to_string(),
                        at,
                    },
                )),
            None => tracing::warn!(
                connection = connection.id,
                "CONNECTION_SYNCED names no user: no reconnected event"
            ),
        },
    }
    if let Some(pending) = pending_disconnect(connection, cx.now, cx.consent_horizon, cx.zone) {
        out.responses
            .push(WebhookResponse::UserConnectionPendingDisconnect(pending));
    }
    let user = user.or(connection.id_user);
    accounts_and_data(accounts, rows, user, Some(connection.id), cx, out);
}

/// Accounts, external accounts, payments, then balances of `accounts`.
fn accounts_and_data(
    accounts: &[BankAccount],
    rows: &RowsByAccount<'_>,
    user: Option<i64>,
    connection: Option<i64>,
    cx: &TranslateContext,
    out: &mut Translation,
) {
    let user = user.map(|id| id.to_string());
    let connection = connection.map(|id| id.to_string());
    let mut ctx = MappingContext::new(cx.now).with_zone(cx.zone);
    ctx.connection_id = connection.clone();
    let mapped = map_accounts(accounts, &ctx);
    out.skipped.extend(mapped.skipped);

    let mut external = Vec::new();
    let mut seen_external = BTreeSet::new();
    let mut payments = Vec::new();
    let mut tombstones = Vec::new();
    // Rows are grouped by account id: an account listed twice (found by the `webhook` fuzz
    // target) has its rows read once, as when the body is split into pieces.
    let mut read = BTreeSet::new();
    for account in accounts {
        if !read.insert(account.id) {
            continue;
        }
        let Some(account_rows) = rows.get(&account.id).filter(|r| !r.is_empty()) else {
            continue;
        };
        let page = format!(r#"{{"transactions":{}}}"#, raw_array(account_rows));
        // The page is assembled from rows that are JSON values, so it always decodes; rows
        // of a skipped account are skipped as `unknown_account` by the page mapping.
        let mapped_page = match map_transactions_page(page.as_bytes(), &mapped.book, &ctx) {
            Ok(mapped_page) => mapped_page,
            Err(err) => {
                out.skipped.push(Skipped::new(
                    "transaction",
                    None,
                    SkipReason::MalformedRow {
                        detail: err.to_string(),
                    },
                ));
                continue;
            }
        };
        out.skipped.extend(mapped_page.skipped.iter().cloned());
        tombstones.extend(mapped_page.tombstones.iter().cloned());
        for account in mapped_page.external_accounts.iter().cloned() {
            if seen_external.insert(account.reference.clone()) {
                external.push(account);
            }
        }
        payments.extend(mapped_page.into_payments());
    }
    let matured = mature(&[], payments, &tombstones, MaturationRule::default());

    let open_banking = |account| {
        WebhookResponse::OpenBankingAccount(OpenBankingAccount {
            account,
            open_banking_user_id: user.clone(),
            open_banking_connection_id: connection.clone(),
        })
    };
    out.responses
        .extend(mapped.accounts.into_iter().map(open_banking));
    out.responses
        .extend(external.into_iter().map(WebhookResponse::ExternalAccount));
    for record in matured.records {
        out.responses.push(match record {
            Record::Payment(payment) => WebhookResponse::OpenBankingPayment(OpenBankingPayment {
                payment,
                open_banking_user_id: user.clone(),
                open_banking_connection_id: connection.clone(),
            }),
            Record::PaymentToDelete(p) => WebhookResponse::PaymentToDelete(p),
            Record::PaymentToCancel(p) => WebhookResponse::PaymentToCancel(p),
            other => {
                tracing::warn!(?other, "maturation returned a non-payment record; ignored");
                continue;
            }
        });
    }
    out.responses
        .extend(mapped.balances.into_iter().map(WebhookResponse::Balance));
}
