//! Running one task of the tree: pages, sink, children, state commit, retries.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::pages::{self, EnginePage};
use super::{Engine, EngineError, ProgressEvent, RunSummary, TaskFailure, TaskId};
use crate::contract::{FetchRequest, FromPayload, TaskNode};
use crate::error::{ConnectorError, RetryClass};
use crate::model::TaskType;
use crate::openbanking::ForwardedUser;
use crate::sink::CommitError;
use crate::state::{StateError, StateKey, StateScope, Version};

/// The shared context of one cycle.
pub(crate) struct CycleRun<'e> {
    pub(crate) engine: &'e Engine,
    pub(crate) cancel: &'e CancellationToken,
    pub(crate) summary: &'e Mutex<RunSummary>,
}

/// How one attempt of a task ended.
enum Attempt {
    /// Last page delivered.
    Finished,
    /// The fetcher failed; retry or give up.
    Failed(ConnectorError),
}

impl<'e> CycleRun<'e> {
    fn stats(&self) -> std::sync::MutexGuard<'_, RunSummary> {
        // Counters only: a poisoned lock still holds consistent numbers.
        self.summary.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everything a cycle does for one PSU (or for no PSU): the root tasks, then, for a
    /// PSU, its directory entry and its connections' health (disconnections, consent
    /// expiry), delivered to the sink like any page.
    pub(crate) async fn run_psu(
        &self,
        roots: &[&TaskNode],
        psu: Option<Arc<ForwardedUser>>,
    ) -> Result<(), EngineError> {
        for node in roots {
            self.run_task(node, psu.clone(), None).await?;
        }
        let Some(psu) = psu else {
            return Ok(());
        };
        self.engine.register_psu(&psu).await?;
        let Some(flows) = self.engine.connector.open_banking() else {
            return Ok(());
        };
        let task = TaskId {
            task_type: TaskType::FetchAccounts,
            name: "connection_events".into(),
            psu_id: Some(psu.psu_id.clone()),
            parent: None,
        };
        let events = tokio::select! {
            biased;
            _ = self.cancel.cancelled() => return Err(EngineError::Cancelled),
            events = flows.connection_events(&psu) => events,
        };
        match events {
            Ok(mut records) => {
                for record in &mut records {
                    record.set_psu(&psu.psu_id);
                }
                if !records.is_empty() {
                    self.engine.sink.accept(&records).await?;
                    self.stats().records += records.len() as u64;
                }
            }
            Err(error) => {
                tracing::warn!(%error, psu = %psu.psu_id, "connection health could not be read");
                self.engine.emit(ProgressEvent::TaskFailed {
                    task: task.clone(),
                    error: error.to_string(),
                    will_retry: false,
                });
                let mut stats = self.stats();
                stats.tasks_failed += 1;
                stats.failures.push(TaskFailure { task, error });
            }
        }
        Ok(())
    }

    /// Runs `node` for `psu` and `parent`, then (per page) its children.
    pub(crate) fn run_task<'a>(
        &'a self,
        node: &'a TaskNode,
        psu: Option<Arc<ForwardedUser>>,
        parent: Option<FromPayload>,
    ) -> BoxFuture<'a, Result<(), EngineError>> {
        let psu_id = psu.as_ref().map(|p| p.psu_id.clone());
        let parent_id = parent.as_ref().map(|p| p.id.clone());
        let task = TaskId {
            task_type: node.task_type,
            name: node.name.clone(),
            psu_id: psu_id.clone(),
            parent: parent_id.clone(),
        };
        let key = StateKey {
            capability: node.task_type.capability(),
            scope: StateScope {
                psu_id,
                parent: parent_id,
            },
        };
        let span = tracing::info_span!(
            "task",
            task = %node.name,
            psu = task.psu_id.as_deref().unwrap_or(""),
            parent = task.parent.as_deref().unwrap_or(""),
        );
        async move {
            let config = &self.engine.config;
            let mut failures_in_a_row = 0u32;
            loop {
                let attempt = failures_in_a_row + 1;
                self.engine.emit(ProgressEvent::TaskStarted {
                    task: task.clone(),
                    attempt,
                });
                let error = match self
                    .attempt(node, &task, &key, &psu, &parent, &mut failures_in_a_row)
                    .await?
                {
                    Attempt::Finished => return Ok(()),
                    Attempt::Failed(error) => error,
                };
                failures_in_a_row += 1;
                let provider_delay = match error.retry_class() {
                    RetryClass::RetryAfter(delay) => delay,
                    RetryClass::Retryable | RetryClass::NextRun | RetryClass::Permanent => None,
                };
                // HTTP retries belong to the provider's client: what it already retried
                // (`NextRun`) waits for the next run.
                let will_retry =
                    error.is_retried_in_run() && failures_in_a_row < config.task_attempts.get();
                tracing::warn!(%error, will_retry, "task failed");
                self.engine.emit(ProgressEvent::TaskFailed {
                    task: task.clone(),
                    error: error.to_string(),
                    will_retry,
                });
                if !will_retry {
                    let mut stats = self.stats();
                    stats.tasks_failed += 1;
                    stats.failures.push(TaskFailure {
                        task: task.clone(),
                        error,
                    });
                    return Ok(());
                }
                let delay = config.retry_delay(failures_in_a_row, provider_delay);
                tokio::select! {
                    biased;
                    _ = self.cancel.cancelled() => return Err(EngineError::Cancelled),
                    _ = self.engine.clock.sleep(delay) => {}
                }
            }
        }
        .instrument(span)
        .boxed()
    }

    /// One pass from the committed state to the last page or the first fetch error.
    async fn attempt(
        &self,
        node: &TaskNode,
        task: &TaskId,
        key: &StateKey,
        psu: &Option<Arc<ForwardedUser>>,
        parent: &Option<FromPayload>,
        failures_in_a_row: &mut u32,
    ) -> Result<Attempt, EngineError> {
        let engine = self.engine;
        let stored = engine.store.get(key).await?;
        let mut version: Option<Version> = stored.as_ref().map(|s| s.version);
        // The value `version` stands for: a page that leaves it unchanged commits nothing.
        let mut committed = stored.as_ref().map(|s| s.value.clone());
        let request = FetchRequest {
            psu: psu.clone(),
            from_payload: parent.clone(),
            state: stored.map(|s| s.value),
            page_size: engine.config.page_size,
        };
        let mut stream = match pages::open(engine.connector.as_ref(), node, request) {
            Ok(stream) => stream,
            Err(error) => return Ok(Attempt::Failed(error)),
        };
        let mut pages_done = 0u64;
        let mut task_records = 0u64;
        loop {
            let next = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return Err(EngineError::Cancelled),
                next = stream.next() => next,
            };
            let mut page = match next {
                None => break,
                Some(Err(error)) => return Ok(Attempt::Failed(error)),
                Some(Ok(page)) => page,
            };
            pages_done += 1;
            let has_more = page.has_more;
            let records = page.records.len();
            let skipped = std::mem::take(&mut page.skipped);
            let skipped_count = skipped.len();
            for object in &skipped {
                tracing::warn!(
                    kind = %object.kind,
                    id = ?object.id,
                    reason = %object.reason,
                    "provider object skipped"
                );
            }
            let span = tracing::debug_span!("page", n = pages_done, records);
            version = match self
                .deliver(node, key, (version, &mut committed), psu, page)
                .instrument(span)
                .await
            {
                Ok(version) => version,
                // Another run (another process sharing the store, or a concurrent
                // `run_for_psus`) committed this task first: retry from its state.
                Err(EngineError::State(conflict @ StateError::Conflict { .. })) => {
                    return Ok(Attempt::Failed(ConnectorError::other(
                        "another run committed this task's state first; resuming from it",
                        conflict,
                    )));
                }
                Err(other) => return Err(other),
            };
            *failures_in_a_row = 0;
            task_records += records as u64;
            {
                let mut stats = self.stats();
                stats.pages += 1;
                stats.records += records as u64;
                stats.count_skipped(task, skipped);
            }
            engine.emit(ProgressEvent::PageDone {
                task: task.clone(),
                records,
                task_records,
                skipped: skipped_count,
                has_more,
            });
            if self.cancel.is_cancelled() {
                return Err(EngineError::Cancelled);
            }
            if !has_more {
                break;
            }
        }
        self.stats().tasks_succeeded += 1;
        engine.emit(ProgressEvent::TaskFinished {
            task: task.clone(),
            pages: pages_done,
            records: task_records,
        });
        Ok(Attempt::Finished)
    }

    /// Sink, children, then the state commit: in this order, so that a committed state
    /// never covers records that were not delivered. With a [transactional
    /// sink](crate::sink::Sink::transactional), children first, then the records and the
    /// state in one transaction.
    ///
    /// A state equal to the one stored (`committed`, at `version`) is not written again: an
    /// idle cycle's pages (no change at the provider) cost no durable write beyond their
    /// records. A concurrent writer is still caught, by the next commit that changes it.
    async fn deliver(
        &self,
        node: &TaskNode,
        key: &StateKey,
        (version, committed): (Option<Version>, &mut Option<serde_json::Value>),
        psu: &Option<Arc<ForwardedUser>>,
        page: EnginePage,
    ) -> Result<Option<Version>, EngineError> {
        let EnginePage {
            records,
            children,
            new_state,
            ..
        } = page;
        let transactional = self.engine.sink.transactional();
        // Held until the commit only when they are stored with it.
        let records = match transactional {
            Some(_) => records,
            None if records.is_empty() => records,
            None => {
                self.engine.sink.accept(&records).await?;
                Vec::new()
            }
        };
        for payload in children {
            for child in &node.next_tasks {
                self.run_task(child, psu.clone(), Some(payload.clone()))
                    .await?;
            }
        }
        let unchanged = version.is_some() && committed.as_ref() == Some(&new_state);
        if unchanged && records.is_empty() {
            return Ok(version);
        }
        let value = new_state.clone();
        let version = match transactional {
            Some(sink) => sink
                .accept_and_commit(&records, key, version, new_state)
                .await
                .map_err(|error| match error {
                    CommitError::Sink(error) => EngineError::Sink(error),
                    CommitError::State(error) => EngineError::State(error),
                })?,
            None => self.engine.store.put(key, version, new_state).await?,
        };
        *committed = Some(value);
        Ok(Some(version))
    }
}
