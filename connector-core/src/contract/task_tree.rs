//! The workflow tree a connector returns at install.

use serde::{Deserialize, Serialize};

use crate::model::TaskType;

/// One node of the workflow tree: a task, whether it repeats on the polling period, and the
/// tasks to run once per item it produces (with that item as their parent payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskNode {
    /// What the task does.
    pub task_type: TaskType,
    /// A name for logs and progress bars, e.g. `fetch_accounts`.
    pub name: String,
    /// Whether the task repeats on the polling period.
    pub periodically: bool,
    /// Tasks to run for each item this task produces.
    #[serde(default)]
    pub next_tasks: Vec<TaskNode>,
}

impl TaskNode {
    /// A node with no children.
    pub fn new(task_type: TaskType, name: impl Into<String>, periodically: bool) -> Self {
        TaskNode {
            task_type,
            name: name.into(),
            periodically,
            next_tasks: Vec::new(),
        }
    }

    /// This node with `child` appended to its next tasks.
    pub fn then(mut self, child: TaskNode) -> Self {
        self.next_tasks.push(child);
        self
    }
}

/// The whole tree: its root tasks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskTree(pub Vec<TaskNode>);

impl TaskTree {
    /// The open-banking polling tree of the spec:
    ///
    /// ```text
    /// FETCH_ACCOUNTS (periodic, per PSU)
    /// ├── FETCH_BALANCES (from the account payload)
    /// └── FETCH_PAYMENTS (periodic, per account)
    /// FETCH_EXTERNAL_ACCOUNTS (periodic)
    /// CREATE_WEBHOOKS (at install)
    /// ```
    pub fn polling_open_banking() -> Self {
        TaskTree(vec![
            TaskNode::new(TaskType::FetchAccounts, "fetch_accounts", true)
                .then(TaskNode::new(
                    TaskType::FetchBalances,
                    "fetch_balances",
                    true,
                ))
                .then(TaskNode::new(
                    TaskType::FetchPayments,
                    "fetch_payments",
                    true,
                )),
            TaskNode::new(
                TaskType::FetchExternalAccounts,
                "fetch_external_accounts",
                true,
            ),
            TaskNode::new(TaskType::CreateWebhooks, "create_webhooks", false),
        ])
    }

    /// This tree without the nodes of `task_type` (and their children), e.g. for a connector
    /// whose payments scan already delivers the counterparties
    /// ([`crate::contract::PaymentChange::ExternalAccount`]), so that no second scan runs
    /// for `FETCH_EXTERNAL_ACCOUNTS`.
    pub fn without(mut self, task_type: TaskType) -> Self {
        fn prune(nodes: &mut Vec<TaskNode>, task_type: TaskType) {
            nodes.retain(|node| node.task_type != task_type);
            for node in nodes {
                prune(&mut node.next_tasks, task_type);
            }
        }
        prune(&mut self.0, task_type);
        self
    }

    /// Every node, depth first.
    pub fn iter(&self) -> impl Iterator<Item = &TaskNode> {
        let mut stack: Vec<&TaskNode> = self.0.iter().rev().collect();
        std::iter::from_fn(move || {
            let node = stack.pop()?;
            stack.extend(node.next_tasks.iter().rev());
            Some(node)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_removes_every_node_of_a_type_and_keeps_the_rest_in_order() {
        let tree = TaskTree::polling_open_banking();
        let kinds = |tree: &TaskTree| tree.iter().map(|n| n.task_type).collect::<Vec<_>>();
        assert_eq!(
            kinds(&tree.clone().without(TaskType::FetchExternalAccounts)),
            vec![
                TaskType::FetchAccounts,
                TaskType::FetchBalances,
                TaskType::FetchPayments,
                TaskType::CreateWebhooks
            ]
        );
        assert_eq!(
            kinds(&tree.without(TaskType::FetchBalances)),
            vec![
                TaskType::FetchAccounts,
                TaskType::FetchPayments,
                TaskType::FetchExternalAccounts,
                TaskType::CreateWebhooks
            ]
        );
    }
}
