//! Sinks: where records go. The engine commits a page's state only after the sink accepted
//! the page, so a sink must not return `Ok` before the records are safely handed over.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::model::Record;
use crate::state::{StateError, StateKey, Version};

/// Why a sink refused a batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// Writing failed.
    #[error("sink write failed: {0}")]
    Io(#[from] std::io::Error),
    /// A record could not be encoded.
    #[error("record cannot be encoded as JSON: {0}")]
    Encode(#[from] serde_json::Error),
    /// The receiving side is gone.
    #[error("sink is closed: the receiver was dropped")]
    Closed,
    /// The consumer dropped a [`Delivery`] without acknowledging it: its state is not
    /// committed, and the batch is delivered again.
    #[error("the consumer dropped a batch without acknowledging it; it will be delivered again")]
    NotAcknowledged,
    /// The consumer refused a [`Delivery`]: its state is not committed, and the batch is
    /// delivered again.
    #[error("the consumer refused a batch ({0}); it will be delivered again")]
    Refused(String),
    /// A caller's sink failed.
    #[error("sink failed: {0}")]
    Other(String),
    /// A database sink failed (connection, query, transaction); nothing of the batch is
    /// stored.
    #[error("sink database failed while {operation}: {source}")]
    Database {
        /// What the sink was doing, e.g. `"writing 50 payments"`.
        operation: String,
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Receives batches of records (one batch per fetched page).
pub trait Sink: Send + Sync {
    /// Takes a batch. `Ok` means the records are delivered as far as the sink can tell
    /// (written and flushed, sent, ...); the engine then commits the page's state.
    fn accept<'a>(&'a self, batch: &'a [Record]) -> BoxFuture<'a, Result<(), SinkError>>;

    /// A sink that also keeps the task states (a database holding records and states)
    /// returns itself here: the engine then stores each fetched page's records and state
    /// with one [`TransactionalSink::accept_and_commit`] instead of `accept` followed by the
    /// store's compare-and-set, so a crash can never separate the two (exactly once).
    /// The engine must then be given the same backend as its [`StateStore`](crate::state::StateStore),
    /// since it reads the states from there. `None` (the default): at least once.
    fn transactional(&self) -> Option<&dyn TransactionalSink> {
        None
    }
}

/// Why [`TransactionalSink::accept_and_commit`] stored nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommitError {
    /// The records could not be stored.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The state could not be committed; [`StateError::Conflict`] when another run committed
    /// the task first (the engine then resumes from that run's state).
    #[error(transparent)]
    State(#[from] StateError),
}

/// A sink that stores a page's records and its task's state in one transaction: both or
/// neither. See [`Sink::transactional`].
pub trait TransactionalSink: Send + Sync {
    /// Stores `batch` and writes `state` under `key` if its current version is `expected`
    /// (the [`StateStore::put`](crate::state::StateStore::put) contract), atomically;
    /// returns the new version. On any error nothing of either is stored.
    fn accept_and_commit<'a>(
        &'a self,
        batch: &'a [Record],
        key: &'a StateKey,
        expected: Option<Version>,
        state: serde_json::Value,
    ) -> BoxFuture<'a, Result<Version, CommitError>>;
}

enum Output {
    /// A file opened for appending; written synchronously (see [`JsonLinesSink`]).
    File {
        file: Arc<std::fs::File>,
        /// Held while one piece of lines is written, so pieces never interleave.
        write_lock: std::sync::Mutex<()>,
        /// The group commit of [`JsonLinesSink::with_fsync`].
        durable: GroupSync,
    },
    Stream(Arc<Mutex<Box<dyn AsyncWrite + Send + Unpin>>>),
}

/// Group commit: one fsync makes durable every batch written before it started, so batches
/// accepted at the same time (several PSUs, several webhooks) wait for one fsync, not one
/// each in turn. `FileStateStore` has the same bookkeeping with a blocking lock (its writes
/// run on blocking threads); here the waiters queue on an async lock and a covered batch
/// returns without a thread hand-off: sharing the blocking version cost serve a third of its
/// webhooks/s (DECISIONS.md).
#[derive(Default)]
struct GroupSync {
    /// Batches written so far (each counted once all its lines are written).
    written: std::sync::atomic::AtomicU64,
    /// Batches an fsync has covered; held while an fsync runs, so the others queue behind it
    /// and find their batch covered.
    synced: Mutex<u64>,
    /// Fsyncs made.
    fsyncs: std::sync::atomic::AtomicU64,
}

impl GroupSync {
    /// Counts a batch whose lines are all written; returns its number.
    fn written(&self) -> u64 {
        self.written
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1
    }

    /// Returns once batch `batch` is on disk: at once when an fsync that started after it
    /// was written has ended, else after an fsync of its own (covering every batch written
    /// by then).
    async fn durable(&self, file: &Arc<std::fs::File>, batch: u64) -> Result<(), SinkError> {
        let mut synced = self.synced.lock().await;
        if *synced >= batch {
            return Ok(());
        }
        // Every batch counted by now has all its lines written: this fsync covers them.
        let covers = self.written.load(std::sync::atomic::Ordering::SeqCst);
        let file = Arc::clone(file);
        tokio::task::spawn_blocking(move || file.sync_data())
            .await
            .map_err(|e| SinkError::Io(std::io::Error::other(e)))??;
        *synced = covers;
        self.fsyncs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// How many bytes of whole lines a file write carries: a batch is encoded and written in
/// pieces of about this size, so the memory a batch needs does not grow with the batch.
const FILE_WRITE_BYTES: usize = 128 * 1024;

/// Writes one JSON object per line, flushed per batch (and fsynced when asked).
///
/// To a file, a batch is encoded and written in pieces of whole lines (about 128 KiB each),
/// with plain `write` calls made in place: a regular file's write only copies the bytes to
/// the page cache, which is cheaper than handing each piece to a blocking thread, and the
/// batch is done (its records can be dropped) when `accept` returns, instead of waiting in
/// a queue of writes. So memory stays flat whatever the batch size, and a cancelled caller
/// cannot stop a batch in the middle of a line (there is no await point between the
/// writes). The optional fsync runs on a blocking thread. To any other writer, a batch is
/// encoded whole and written by a separate task, so a cancelled caller never leaves a
/// half-written line behind.
pub struct JsonLinesSink {
    output: Output,
    fsync: bool,
    torn: u64,
}

impl std::fmt::Debug for JsonLinesSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLinesSink")
            .field("fsync", &self.fsync)
            .finish()
    }
}

impl JsonLinesSink {
    /// Appends to the file at `path`, creating it if needed.
    ///
    /// A file whose last line is torn (a write cut short: it does not end with `\n`) is first
    /// cut back to its last whole line, so that what follows starts on a line of its own and
    /// the file stays readable line by line; [`torn_bytes_cut`](Self::torn_bytes_cut) says how
    /// many bytes went. Only the tail after the last `\n` is ever removed.
    pub async fn append(path: impl AsRef<Path>) -> Result<Self, SinkError> {
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .await?
            .into_std()
            .await;
        let (file, torn) =
            tokio::task::spawn_blocking(move || cut_torn_line(&file).map(|torn| (file, torn)))
                .await
                .map_err(|e| SinkError::Io(std::io::Error::other(e)))??;
        Ok(JsonLinesSink {
            output: Output::File {
                file: Arc::new(file),
                write_lock: std::sync::Mutex::new(()),
                durable: GroupSync::default(),
            },
            fsync: false,
            torn,
        })
    }

    /// The bytes of a torn last line that [`append`](Self::append) cut off (0 when the file
    /// ended with a whole line, or for other outputs).
    pub fn torn_bytes_cut(&self) -> u64 {
        self.torn
    }

    /// Writes to any async writer (stdout, a socket, ...).
    pub fn new(writer: impl AsyncWrite + Send + Unpin + 'static) -> Self {
        JsonLinesSink {
            output: Output::Stream(Arc::new(Mutex::new(Box::new(writer)))),
            fsync: false,
            torn: 0,
        }
    }

    /// Writes to standard output.
    pub fn stdout() -> Self {
        JsonLinesSink::new(tokio::io::stdout())
    }

    /// Also fsyncs the file after each batch (survives power loss, not only a crash of this
    /// process): `accept` returns once the batch is on disk. Batches accepted concurrently
    /// share fsyncs (a group commit: one that starts after a batch was written covers it).
    /// No effect on non-file outputs.
    pub fn with_fsync(mut self, fsync: bool) -> Self {
        self.fsync = fsync;
        self
    }

    /// Encodes and writes `batch` to `file` in pieces of whole lines.
    fn write_to_file(
        file: &std::fs::File,
        write_lock: &std::sync::Mutex<()>,
        batch: &[Record],
    ) -> Result<(), SinkError> {
        let mut piece = Vec::with_capacity(FILE_WRITE_BYTES + FILE_WRITE_BYTES / 4);
        let write = |piece: &[u8]| -> std::io::Result<()> {
            // The guarded data is `()`: poisoning carries no broken invariant.
            let _guard = write_lock.lock().unwrap_or_else(|e| e.into_inner());
            let mut file = file;
            file.write_all(piece)?;
            file.flush()
        };
        for record in batch {
            encode_lines(std::slice::from_ref(record), &mut piece)?;
            if piece.len() >= FILE_WRITE_BYTES {
                write(&piece)?;
                piece.clear();
            }
        }
        if !piece.is_empty() {
            write(&piece)?;
        }
        Ok(())
    }

    async fn write_to_stream(
        writer: &Arc<Mutex<Box<dyn AsyncWrite + Send + Unpin>>>,
        bytes: Vec<u8>,
    ) -> Result<(), SinkError> {
        let writer = Arc::clone(writer);
        let write = tokio::spawn(async move {
            let mut writer = writer.lock().await;
            writer.write_all(&bytes).await?;
            writer.flush().await
        });
        write
            .await
            .map_err(|e| SinkError::Io(std::io::Error::other(e)))??;
        Ok(())
    }
}

impl Sink for JsonLinesSink {
    fn accept<'a>(&'a self, batch: &'a [Record]) -> BoxFuture<'a, Result<(), SinkError>> {
        async move {
            match &self.output {
                Output::File {
                    file,
                    write_lock,
                    durable,
                } => {
                    Self::write_to_file(file, write_lock, batch)?;
                    let written = durable.written();
                    if self.fsync {
                        durable.durable(file, written).await?;
                    }
                    Ok(())
                }
                Output::Stream(writer) => {
                    let mut bytes = Vec::new();
                    encode_lines(batch, &mut bytes)?;
                    Self::write_to_stream(writer, bytes).await
                }
            }
        }
        .boxed()
    }
}

/// Cuts `file` back to the end of its last `\n` when it does not end with one; returns the
/// bytes removed. Reads backwards from the end in 64 KiB steps, so a long file costs no more
/// than its torn tail.
fn cut_torn_line(file: &std::fs::File) -> std::io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    const STEP: u64 = 64 * 1024;
    let len = file.metadata()?.len();
    let mut end = len;
    let mut buf = vec![0u8; STEP as usize];
    while end > 0 {
        let start = end.saturating_sub(STEP);
        let chunk = &mut buf[..(end - start) as usize];
        // Appends go to the end whatever the position: seeking to read is harmless.
        let mut reader = file;
        reader.seek(SeekFrom::Start(start))?;
        reader.read_exact(chunk)?;
        if end == len && chunk.last() == Some(&b'\n') {
            return Ok(0);
        }
        if let Some(at) = chunk.iter().rposition(|&b| b == b'\n') {
            let keep = start + at as u64 + 1;
            file.set_len(keep)?;
            file.sync_data()?;
            return Ok(len - keep);
        }
        end = start;
    }
    if len > 0 {
        file.set_len(0)?;
        file.sync_data()?;
    }
    Ok(len)
}

/// Appends one JSON line per record to `out`.
fn encode_lines(records: &[Record], out: &mut Vec<u8>) -> Result<(), SinkError> {
    for record in records {
        serde_json::to_writer(&mut *out, record)?;
        out.push(b'\n');
    }
    Ok(())
}

/// Sends each batch into a bounded channel; a slow receiver slows the engine down
/// (back-pressure) instead of growing memory.
///
/// A batch counts as accepted as soon as it is queued, so the engine commits its state before
/// the consumer has done anything with it: a crash then loses what was queued. Use it where
/// that is acceptable (tests, in-process pipelines); a consumer that stores the records should
/// use [`AckChannelSink`].
#[derive(Debug, Clone)]
pub struct ChannelSink {
    sender: mpsc::Sender<Vec<Record>>,
}

impl ChannelSink {
    /// A sink and the receiver of its batches, with room for `capacity` batches.
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<Vec<Record>>) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        (ChannelSink { sender }, receiver)
    }
}

impl Sink for ChannelSink {
    fn accept<'a>(&'a self, batch: &'a [Record]) -> BoxFuture<'a, Result<(), SinkError>> {
        async move {
            self.sender
                .send(batch.to_vec())
                .await
                .map_err(|_| SinkError::Closed)
        }
        .boxed()
    }
}

/// One batch handed to an [`AckChannelSink`] consumer. The engine commits the batch's state
/// only once it is [acknowledged](Delivery::ack); [refused](Delivery::refuse) or dropped, the
/// batch is not committed and is delivered again (at least once).
#[derive(Debug)]
pub struct Delivery {
    records: Vec<Record>,
    ack: oneshot::Sender<Result<(), String>>,
}

impl Delivery {
    /// The records of the batch.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The records are stored: the engine may commit the state that produced them.
    pub fn ack(self) {
        // The engine may have stopped waiting (cancelled): nothing to commit then.
        let _ = self.ack.send(Ok(()));
    }

    /// The records could not be stored: the engine does not commit, and the batch comes again.
    pub fn refuse(self, reason: impl Into<String>) {
        let _ = self.ack.send(Err(reason.into()));
    }
}

/// Like [`ChannelSink`], but each batch is a [`Delivery`] the consumer acknowledges after
/// storing it; `accept` returns only then, so the engine's state never runs ahead of the
/// consumer. A consumer that dies with a batch in hand leaves it uncommitted: the next run
/// delivers it again.
///
/// ```
/// # async fn demo() {
/// use connector_core::sink::{AckChannelSink, Sink};
/// let (sink, mut deliveries) = AckChannelSink::new(4);
/// let engine_side = tokio::spawn(async move { sink.accept(&[]).await });
/// let delivery = deliveries.recv().await.unwrap();
/// // … store delivery.records() durably, then:
/// delivery.ack();
/// assert!(engine_side.await.unwrap().is_ok());
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AckChannelSink {
    sender: mpsc::Sender<Delivery>,
}

impl AckChannelSink {
    /// A sink and the receiver of its deliveries, with room for `capacity` of them.
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<Delivery>) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        (AckChannelSink { sender }, receiver)
    }
}

impl Sink for AckChannelSink {
    fn accept<'a>(&'a self, batch: &'a [Record]) -> BoxFuture<'a, Result<(), SinkError>> {
        async move {
            let (ack, acked) = oneshot::channel();
            let delivery = Delivery {
                records: batch.to_vec(),
                ack,
            };
            self.sender
                .send(delivery)
                .await
                .map_err(|_| SinkError::Closed)?;
            match acked.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(reason)) => Err(SinkError::Refused(reason)),
                Err(_) => Err(SinkError::NotAcknowledged),
            }
        }
        .boxed()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::model::{Record, UserDisconnected};

    fn fsyncs(sink: &JsonLinesSink) -> u64 {
        match &sink.output {
            Output::File { durable, .. } => durable.fsyncs.load(Ordering::Relaxed),
            Output::Stream(_) => panic!("a file sink"),
        }
    }

    fn record(n: usize) -> Record {
        Record::UserDisconnected(UserDisconnected {
            psp_user_id: n.to_string(),
            psu_id: None,
        })
    }

    #[tokio::test]
    async fn batches_accepted_at_once_share_fsyncs_and_batches_in_turn_get_one_each() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let sink = Arc::new(JsonLinesSink::append(&path).await.unwrap().with_fsync(true));
        // 16 batches at once (one thread: each writes, then queues for the fsync).
        let batches = (0..16).map(|n| {
            let sink = Arc::clone(&sink);
            async move { sink.accept(&[record(n)]).await }
        });
        for accepted in futures::future::join_all(batches).await {
            accepted.unwrap();
        }
        assert_eq!(
            fsyncs(&sink),
            2,
            "the first fsync, then one for the 15 behind it"
        );
        // In turn: every batch waits for a fsync of its own.
        for n in 16..19 {
            sink.accept(&[record(n)]).await.unwrap();
        }
        assert_eq!(fsyncs(&sink), 5);
        let lines = std::fs::read_to_string(&path).unwrap();
        assert_eq!(lines.lines().count(), 19);
    }
}
