//! Typed fetcher pages turned into what the engine handles: records, child payloads, state.

use futures::stream::BoxStream;
use futures::StreamExt;

use crate::contract::{
    ConnectorExt, FetchPage, FetchRequest, FromPayload, PaymentChange, SkippedObject, TaskNode,
};
use crate::error::ConnectorError;
use crate::model::{Account, AccountType, PaymentType, Record, TaskType};
use crate::Connector;

/// One page, ready for the sink.
pub(crate) struct EnginePage {
    pub(crate) records: Vec<Record>,
    pub(crate) children: Vec<FromPayload>,
    pub(crate) new_state: serde_json::Value,
    pub(crate) has_more: bool,
    /// What the connector skipped on this page.
    pub(crate) skipped: Vec<SkippedObject>,
}

pub(crate) type EngineStream<'a> = BoxStream<'a, Result<EnginePage, ConnectorError>>;

fn invalid(field: &str, message: String) -> ConnectorError {
    ConnectorError::Validation {
        field: field.into(),
        message,
    }
}

fn require_reference(kind: &str, reference: &str) -> Result<(), ConnectorError> {
    if reference.is_empty() {
        return Err(invalid(
            "reference",
            format!("a {kind} has an empty reference"),
        ));
    }
    Ok(())
}

fn accounts_page(
    page: FetchPage<Account>,
    account_type: AccountType,
    wants_children: bool,
) -> Result<EnginePage, ConnectorError> {
    let mut records = Vec::with_capacity(page.items.len());
    let mut children = Vec::new();
    for mut account in page.items {
        require_reference("account", &account.reference)?;
        // As in Formance, the task decides the type: FETCH_ACCOUNTS yields INTERNAL ones.
        account.account_type = account_type;
        if wants_children {
            children.push(FromPayload::account(&account)?);
        }
        records.push(match account_type {
            AccountType::External => Record::ExternalAccount(account),
            _ => Record::Account(account),
        });
    }
    Ok(EnginePage {
        records,
        children,
        new_state: page.new_state,
        has_more: page.has_more,
        skipped: page.skipped,
    })
}

fn payments_page(
    page: FetchPage<PaymentChange>,
    wants_children: bool,
) -> Result<EnginePage, ConnectorError> {
    let mut children = Vec::new();
    // Collected in place: a page's records reuse its items' allocation (same size), so a
    // 1,000-row page is not held twice while it is converted.
    let records = page
        .items
        .into_iter()
        .map(|change| payment_record(change, wants_children, &mut children))
        .collect::<Result<Vec<Record>, ConnectorError>>()?;
    Ok(EnginePage {
        records,
        children,
        new_state: page.new_state,
        has_more: page.has_more,
        skipped: page.skipped,
    })
}

/// One payments-page item, checked, as a record (and its child payload when asked).
fn payment_record(
    change: PaymentChange,
    wants_children: bool,
    children: &mut Vec<FromPayload>,
) -> Result<Record, ConnectorError> {
    Ok(match change {
        PaymentChange::Payment(p) => {
            require_reference("payment", &p.reference)?;
            if p.amount.is_negative() {
                return Err(invalid(
                    "amount",
                    format!(
                        "payment {} has a negative amount; amounts are positive and the \
                         direction is the payment type",
                        p.reference
                    ),
                ));
            }
            if p.payment_type == PaymentType::Unknown {
                return Err(invalid(
                    "type",
                    format!("payment {} has type UNKNOWN", p.reference),
                ));
            }
            if wants_children {
                let payload =
                    serde_json::to_value(&p).map_err(|e| invalid("payment", e.to_string()))?;
                children.push(FromPayload {
                    id: p.reference.clone(),
                    payload,
                    account: None,
                });
            }
            Record::Payment(p)
        }
        PaymentChange::Delete(d) => {
            require_reference("payment to delete", &d.reference)?;
            Record::PaymentToDelete(d)
        }
        PaymentChange::Cancel(c) => {
            require_reference("payment to cancel", &c.reference)?;
            Record::PaymentToCancel(c)
        }
        PaymentChange::ExternalAccount(mut account) => {
            require_reference("external account", &account.reference)?;
            // As for FETCH_EXTERNAL_ACCOUNTS, the engine decides the type.
            account.account_type = AccountType::External;
            Record::ExternalAccount(account)
        }
    })
}

/// Opens the page stream of `node`'s fetcher, or a typed "not supported" error.
pub(crate) fn open<'a>(
    connector: &'a dyn Connector,
    node: &TaskNode,
    request: FetchRequest,
) -> Result<EngineStream<'a>, ConnectorError> {
    let wants_children = !node.next_tasks.is_empty();
    Ok(match node.task_type {
        TaskType::FetchAccounts => connector
            .require_accounts()?
            .fetch_accounts(request)
            .map(move |page| accounts_page(page?, AccountType::Internal, wants_children))
            .boxed(),
        TaskType::FetchExternalAccounts => connector
            .require_external_accounts()?
            .fetch_external_accounts(request)
            .map(move |page| accounts_page(page?, AccountType::External, wants_children))
            .boxed(),
        TaskType::FetchBalances => connector
            .require_balances()?
            .fetch_balances(request)
            .map(|page| {
                let page = page?;
                let mut records = Vec::with_capacity(page.items.len());
                for balance in page.items {
                    require_reference("balance's account", &balance.account_reference)?;
                    records.push(Record::Balance(balance));
                }
                Ok(EnginePage {
                    records,
                    children: Vec::new(),
                    new_state: page.new_state,
                    has_more: page.has_more,
                    skipped: page.skipped,
                })
            })
            .boxed(),
        TaskType::FetchPayments => connector
            .require_payments()?
            .fetch_payments(request)
            .map(move |page| payments_page(page?, wants_children))
            .boxed(),
        other => {
            return Err(ConnectorError::not_supported(
                Some(other.capability()),
                "this task type is not run by the engine",
            ))
        }
    })
}
