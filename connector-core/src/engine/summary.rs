//! What a cycle did.

use super::TaskId;
use crate::error::ConnectorError;

/// A task that failed in a cycle.
#[derive(Debug)]
pub struct TaskFailure {
    /// The task.
    pub task: TaskId,
    /// Its last error.
    pub error: ConnectorError,
}

/// Counts and failures of one cycle.
#[derive(Debug, Default)]
pub struct RunSummary {
    /// Tasks that delivered their last page.
    pub tasks_succeeded: u64,
    /// Tasks that gave up.
    pub tasks_failed: u64,
    /// Pages delivered and committed.
    pub pages: u64,
    /// Records delivered.
    pub records: u64,
    /// Why tasks failed.
    pub failures: Vec<TaskFailure>,
}
