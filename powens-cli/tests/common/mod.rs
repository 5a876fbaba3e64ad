//! Runs the built `powens` binary.

#![allow(dead_code)]

pub mod live;
pub mod service;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// What one run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The stderr lines (a failure must print exactly one).
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }

    /// The last stdout line.
    pub fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or_default()
    }
}

/// Runs `powens args…` in `dir` with `stdin` as standard input.
pub fn powens_in(dir: &Path, args: &[&str], stdin: &[u8]) -> Run {
    powens_with_env(dir, args, stdin, &[])
}

/// [`powens_in`] with environment variables set (all others the test may see that powens
/// reads are removed).
pub fn powens_with_env(dir: &Path, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_powens"))
        .args(args)
        .current_dir(dir)
        .env_remove("POWENS_LOG")
        .env_remove("POWENS_WEBHOOK_SECRET")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the powens binary starts");
    // Feed stdin from a thread, so that a child writing a lot before it reads cannot deadlock
    // with us, and accept a broken pipe: a command that fails early (a usage error) exits
    // without reading its input.
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.to_vec();
    let feeder = std::thread::spawn(move || match pipe.write_all(&input) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("stdin is written: {e}"),
        _ => {}
    });
    let output = child.wait_with_output().expect("powens ends");
    feeder.join().expect("the stdin feeder ends");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `powens args…` in a temporary directory.
pub fn powens(args: &[&str], stdin: &[u8]) -> Run {
    let dir = tempfile::tempdir().expect("a temporary directory");
    powens_in(dir.path(), args, stdin)
}

/// The fixture `name` of `powens-cli/tests/fixtures`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// Asserts a failure: exit `code`, one line on stderr containing `needle`, no panic text.
pub fn assert_one_line_failure(run: &Run, code: i32, needle: &str) {
    assert_eq!(run.code, code, "exit code of {run:?}");
    assert_eq!(run.stderr_lines().len(), 1, "one stderr line: {run:?}");
    assert!(run.stderr.contains(needle), "{needle:?} in {run:?}");
    assert!(!run.stderr.contains("panicked"), "no panic: {run:?}");
    assert!(!run.stderr.contains("backtrace"), "no backtrace: {run:?}");
}
