//! What a cycle did.

use std::collections::BTreeMap;

use super::TaskId;
use crate::contract::SkippedObject;
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
    /// Provider objects the connector skipped on delivered pages (rows it could not turn
    /// into records). They are not fetched again: the state moved past them.
    pub skipped: u64,
    /// The skipped objects by [`SkippedObject::code`].
    pub skipped_by_code: BTreeMap<String, u64>,
    /// The first [`SKIPPED_KEPT`] skipped objects, with their task, to show.
    pub skipped_first: Vec<(TaskId, SkippedObject)>,
}

/// How many skipped objects a [`RunSummary`] keeps in full.
pub const SKIPPED_KEPT: usize = 20;

impl RunSummary {
    /// Counts the objects `task` skipped on a delivered page.
    pub(crate) fn count_skipped(&mut self, task: &TaskId, skipped: Vec<SkippedObject>) {
        self.skipped += skipped.len() as u64;
        for object in skipped {
            *self.skipped_by_code.entry(object.code.clone()).or_default() += 1;
            if self.skipped_first.len() < SKIPPED_KEPT {
                self.skipped_first.push((task.clone(), object));
            }
        }
    }
}
