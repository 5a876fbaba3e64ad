//! Sinks: where records go. The engine commits a page's state only after the sink accepted
//! the page, so a sink must not return `Ok` before the records are safely handed over.

use std::path::Path;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Mutex};

use crate::model::Record;

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
    /// A caller's sink failed.
    #[error("sink failed: {0}")]
    Other(String),
}

/// Receives batches of records (one batch per fetched page).
pub trait Sink: Send + Sync {
    /// Takes a batch. `Ok` means the records are delivered as far as the sink can tell
    /// (written and flushed, sent, ...); the engine then commits the page's state.
    fn accept<'a>(&'a self, batch: &'a [Record]) -> BoxFuture<'a, Result<(), SinkError>>;
}

enum Output {
    File(tokio::fs::File),
    Stream(Box<dyn AsyncWrite + Send + Unpin>),
}

/// How many bytes of whole lines a file write carries: a batch is encoded and written in
/// pieces of about this size, so the memory a batch needs does not grow with the batch.
const FILE_WRITE_BYTES: usize = 256 * 1024;

/// Writes one JSON object per line, flushed per batch (and fsynced when asked).
///
/// To a file, a batch is encoded piece by piece: each write carries whole lines (about
/// 256 KiB), so memory stays flat whatever the batch size, and a cancelled caller never
/// leaves a half-written line behind (a `tokio::fs::File` write hands its whole buffer to a
/// blocking task that completes it; a cancelled batch may be written in part, in whole
/// lines, and its state is not committed: it is delivered again, at least once). To any
/// other writer, a batch is encoded whole and written by a separate task, for the same
/// guarantee.
pub struct JsonLinesSink {
    output: Arc<Mutex<Output>>,
    fsync: bool,
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
    pub async fn append(path: impl AsRef<Path>) -> Result<Self, SinkError> {
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await?;
        Ok(JsonLinesSink {
            output: Arc::new(Mutex::new(Output::File(file))),
            fsync: false,
        })
    }

    /// Writes to any async writer (stdout, a socket, ...).
    pub fn new(writer: impl AsyncWrite + Send + Unpin + 'static) -> Self {
        JsonLinesSink {
            output: Arc::new(Mutex::new(Output::Stream(Box::new(writer)))),
            fsync: false,
        }
    }

    /// Writes to standard output.
    pub fn stdout() -> Self {
        JsonLinesSink::new(tokio::io::stdout())
    }

    /// Also fsyncs the file after each batch (survives power loss, not only a crash of this
    /// process). No effect on non-file outputs.
    pub fn with_fsync(mut self, fsync: bool) -> Self {
        self.fsync = fsync;
        self
    }

    async fn write_batch(&self, bytes: Vec<u8>) -> Result<(), SinkError> {
        let output = Arc::clone(&self.output);
        let fsync = self.fsync;
        let write = tokio::spawn(async move {
            let mut output = output.lock().await;
            match &mut *output {
                Output::File(file) => {
                    file.write_all(&bytes).await?;
                    file.flush().await?;
                    if fsync {
                        file.sync_data().await?;
                    }
                }
                Output::Stream(writer) => {
                    writer.write_all(&bytes).await?;
                    writer.flush().await?;
                }
            }
            Ok::<(), std::io::Error>(())
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
            let mut output = self.output.lock().await;
            let Output::File(file) = &mut *output else {
                drop(output);
                let mut bytes = Vec::new();
                encode_lines(batch, &mut bytes)?;
                return self.write_batch(bytes).await;
            };
            let mut piece = Vec::with_capacity(FILE_WRITE_BYTES + FILE_WRITE_BYTES / 4);
            for record in batch {
                encode_lines(std::slice::from_ref(record), &mut piece)?;
                if piece.len() >= FILE_WRITE_BYTES {
                    file.write_all(&piece).await?;
                    piece.clear();
                }
            }
            file.write_all(&piece).await?;
            drop(piece);
            file.flush().await?;
            if self.fsync {
                file.sync_data().await?;
            }
            Ok(())
        }
        .boxed()
    }
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
