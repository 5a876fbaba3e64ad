//! `cargo xtask …`: workspace automation, as ordinary Rust.
//!
//! * `cargo xtask ci`: the CI gate (`.ci/run`: fmt, clippy, tests).
//! * `cargo xtask bench mapping|sync|postgres|serve`: the benchmarks (they print `bench name: value`
//!   lines).
//! * `cargo xtask pg start|stop|url|status`: a throw-away PostgreSQL for the `pg_` tests
//!   (`.ci/pg`); `eval "$(cargo xtask pg start)"` exports `POWENS_TEST_DATABASE_URL`.
//! * `cargo xtask fixtures refresh [--check]`: re-records the Powens fixtures (live when
//!   `POWENS_*` is set, else from the sandbox); `--check` fails when they are stale.
//! * `cargo xtask fuzz [--time SECONDS] [--runs N] [--replay] [TARGET]`: the fuzz targets of `fuzz/`
//!   (libFuzzer via cargo-fuzz on stable, or `--replay`); ends with `fuzz: N targets, M crashes`.

mod bench;
mod bench_pg;
mod bench_serve;
mod fixtures;
mod fuzz;
mod scrub;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask ci | bench [mapping|sync|postgres|serve] | pg start|stop|url|status | fixtures refresh [--check] | fuzz [--time SECONDS] [--runs N] [--replay] [TARGET]";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn ci(root: &Path) -> Result<(), String> {
    let status = Command::new("bash")
        .current_dir(root)
        .arg(".ci/run")
        .status()
        .map_err(|e| format!("cannot run .ci/run: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(".ci/run failed ({status})"))
    }
}

/// Runs `.ci/pg <command>`; its stdout (the `export …` line of `start`) passes through.
fn pg(root: &Path, command: &str) -> Result<(), String> {
    let status = Command::new("bash")
        .current_dir(root)
        .args([".ci/pg", command])
        .status()
        .map_err(|e| format!("cannot run .ci/pg: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(".ci/pg {command} failed ({status})"))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let root = root();
    let result = match args.as_slice() {
        ["ci"] => ci(&root),
        ["bench"] => bench::mapping(&root).and_then(|()| bench::sync(&root)),
        ["bench", "mapping"] => bench::mapping(&root),
        ["bench", "sync"] => bench::sync(&root),
        ["bench", "postgres"] => bench_pg::postgres(&root),
        ["bench", "serve"] => bench_serve::serve(&root),
        ["pg", command @ ("start" | "stop" | "url" | "status")] => pg(&root, command),
        ["fixtures", "refresh"] => fixtures::refresh(&root, false),
        ["fixtures", "refresh", "--check"] => fixtures::refresh(&root, true),
        ["fuzz", rest @ ..] => fuzz::run(&root, rest),
        _ => {
            eprintln!("xtask: {USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
