//! The CLI's one error type: a message for one stderr line and an exit code.

use std::fmt;

/// A failure of a command: usage (exit 2) or anything else (exit 1).
#[derive(Debug)]
pub struct CliError {
    message: String,
    code: u8,
    reported: bool,
}

impl CliError {
    /// The user asked for something the CLI cannot do as asked (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: 2,
            reported: false,
        }
    }

    /// The command failed (exit 1).
    pub fn failure(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: 1,
            reported: false,
        }
    }

    /// Exit 1 after the command already printed why (e.g. `invalid: …`).
    pub fn reported() -> Self {
        CliError {
            message: String::new(),
            code: 1,
            reported: true,
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        self.code
    }

    /// Whether the reason is already on the screen.
    pub fn already_reported(&self) -> bool {
        self.reported
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the source said.
        let mut first = true;
        for line in self
            .message
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(line)?;
            first = false;
        }
        Ok(())
    }
}

impl std::error::Error for CliError {}

/// Turns any error into a failure line with its cause chain (`a: b: c`).
pub fn failure_of(context: &str, error: &(dyn std::error::Error + 'static)) -> CliError {
    let mut message = format!("{context}: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    CliError::failure(message)
}
