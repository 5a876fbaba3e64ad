//! Where output goes: records as JSON lines on stdout, logs on stderr around the progress bar.

use std::io::{self, Write};
use std::sync::Mutex;

use connector_core::model::Record;
use indicatif::ProgressBar;

use crate::error::CliError;

/// The progress bar on screen, if any: log lines are printed above it, not through it.
static ACTIVE_BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Registers (or clears) the progress bar that log lines must not break.
pub fn set_active_bar(bar: Option<ProgressBar>) {
    if let Ok(mut slot) = ACTIVE_BAR.lock() {
        *slot = bar;
    }
}

/// Runs `f` with the progress bar hidden, so a line printed on stderr stays readable.
pub fn above_bar<R>(f: impl FnOnce() -> R) -> R {
    let bar = ACTIVE_BAR.lock().ok().and_then(|slot| slot.clone());
    match bar {
        Some(bar) => bar.suspend(f),
        None => f(),
    }
}

/// The `tracing` writer: stderr, above the progress bar.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        above_bar(|| io::stderr().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LogWriter
    }
}

/// Records as JSON lines on stdout, buffered. A closed pipe (`| head`) ends quietly.
pub struct RecordLines {
    out: io::BufWriter<io::StdoutLock<'static>>,
}

impl RecordLines {
    /// Locks stdout.
    pub fn stdout() -> Self {
        RecordLines {
            out: io::BufWriter::new(io::stdout().lock()),
        }
    }

    /// Writes one record as one line.
    pub fn write(&mut self, record: &Record) -> Result<(), CliError> {
        serde_json::to_writer(&mut self.out, record)
            .map_err(|e| CliError::failure(format!("cannot encode a record as JSON: {e}")))?;
        self.out.write_all(b"\n").map_err(stdout_error)
    }

    /// Writes one JSON object as one line (for lines that are not records).
    pub fn write_value(&mut self, value: &serde_json::Value) -> Result<(), CliError> {
        serde_json::to_writer(&mut self.out, value)
            .map_err(|e| CliError::failure(format!("cannot encode JSON: {e}")))?;
        self.out.write_all(b"\n").map_err(stdout_error)
    }

    /// Writes every record of `records`.
    pub fn write_all<'a>(
        &mut self,
        records: impl IntoIterator<Item = &'a Record>,
    ) -> Result<(), CliError> {
        for record in records {
            self.write(record)?;
        }
        Ok(())
    }

    /// Flushes stdout.
    pub fn finish(mut self) -> Result<(), CliError> {
        self.out.flush().map_err(stdout_error)
    }
}

/// A closed stdout is not worth an error line (the reader went away on purpose); anything else
/// is.
pub fn stdout_error(error: io::Error) -> CliError {
    if error.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    CliError::failure(format!("cannot write to standard output: {error}"))
}

/// Prints one line on stdout.
pub fn print_line(line: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

/// Reads all of stdin (the raw bytes: a webhook body must be verified byte for byte).
pub fn read_stdin() -> Result<Vec<u8>, CliError> {
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut io::stdin().lock(), &mut bytes)
        .map_err(|e| CliError::failure(format!("cannot read standard input: {e}")))?;
    Ok(bytes)
}
