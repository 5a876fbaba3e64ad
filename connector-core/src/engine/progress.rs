//! Progress events a CLI can draw bars from.

use std::sync::Arc;

use serde::Serialize;

use crate::model::TaskType;

/// Which task an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskId {
    /// The task type.
    pub task_type: TaskType,
    /// The node's name in the workflow tree.
    pub name: String,
    /// The PSU it runs for.
    #[serde(rename = "psuID")]
    pub psu_id: Option<String>,
    /// The parent item (the account, for balances and payments).
    pub parent: Option<String>,
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        if let Some(psu) = &self.psu_id {
            write!(f, " psu={psu}")?;
        }
        if let Some(parent) = &self.parent {
            write!(f, " parent={parent}")?;
        }
        Ok(())
    }
}

/// What the engine is doing, as it happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "event",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// A cycle (one pass over the workflow tree) started.
    CycleStarted {
        /// 1 for the first cycle of `run_periodically`, then 2, ...
        cycle: u64,
        /// How many PSU scopes it covers.
        scopes: usize,
    },
    /// A task started (or restarted after a retryable error).
    TaskStarted {
        /// The task.
        task: TaskId,
        /// 1 on the first attempt.
        attempt: u32,
    },
    /// A page was delivered to the sink and its state committed.
    PageDone {
        /// The task.
        task: TaskId,
        /// The records of this page.
        records: usize,
        /// The records of this task so far in this run.
        task_records: u64,
        /// Provider objects of this page the connector skipped (see
        /// [`RunSummary::skipped`](super::RunSummary::skipped)).
        skipped: usize,
        /// Whether more pages follow.
        has_more: bool,
    },
    /// A task delivered its last page.
    TaskFinished {
        /// The task.
        task: TaskId,
        /// The pages of this run.
        pages: u64,
        /// The records of this run.
        records: u64,
    },
    /// A task failed.
    TaskFailed {
        /// The task.
        task: TaskId,
        /// The error message.
        error: String,
        /// Whether the engine will retry it.
        will_retry: bool,
    },
    /// A cycle ended.
    CycleFinished {
        /// The cycle number.
        cycle: u64,
        /// Records delivered in it.
        records: u64,
        /// Tasks that failed in it.
        tasks_failed: u64,
    },
}

/// A progress callback; must return quickly (send to a channel, bump a bar).
pub type ProgressCallback = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;
