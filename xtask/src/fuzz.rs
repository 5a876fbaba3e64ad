//! `cargo xtask fuzz [--time SECONDS] [--runs N] [--replay] [TARGET]`: runs the fuzz targets of `fuzz/`
//! (see docs/FUZZING.md).
//!
//! By default each target runs under libFuzzer, coverage-guided, on the machine's stable
//! toolchain: `cargo fuzz run --sanitizer none` (cargo-fuzz needs nightly only for its
//! sanitizers; every crate here forbids `unsafe`, so bounds, overflow and debug-assertion
//! checks are what a crash is made of). Each target runs for SECONDS (default 10) on its
//! corpus (`fuzz/corpus/<target>`, kept between runs), its committed seeds
//! (`fuzz/seeds/<target>`) and its regression inputs (`fuzz/regressions/<target>`);
//! cargo-fuzz is installed (`cargo install cargo-fuzz --locked`) when missing. A crash's input
//! is copied into `fuzz/regressions/<target>/`, so that every later run replays it.
//!
//! With `--replay` (or when cargo-fuzz cannot be installed), it says so in one line and runs
//! the same target functions without libFuzzer: the seeds and regression inputs, then random
//! inputs for SECONDS per target (`fuzz/src/bin/replay.rs`; not coverage-guided).
//!
//! Either way the last line is `fuzz: N targets, M crashes`, and the exit code is 1 when M
//! is not 0.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The parsed command line.
struct Options {
    seconds: u64,
    /// libFuzzer's `-runs`: stop a target after this many executions (before `seconds`).
    runs: Option<u64>,
    replay: bool,
    target: Option<String>,
}

fn parse(args: &[&str]) -> Result<Options, String> {
    let mut options = Options {
        seconds: 10,
        runs: None,
        replay: false,
        target: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match *arg {
            "--time" => {
                options.seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("fuzz: --time needs a number of seconds")?;
            }
            "--runs" => {
                options.runs = Some(
                    args.next()
                        .and_then(|s| s.parse().ok())
                        .ok_or("fuzz: --runs needs a number of executions")?,
                );
            }
            "--replay" => options.replay = true,
            name if !name.starts_with('-') && options.target.is_none() => {
                options.target = Some(name.to_owned());
            }
            other => return Err(format!("fuzz: unexpected argument {other:?}")),
        }
    }
    Ok(options)
}

/// The targets: the `fuzz/fuzz_targets/*.rs` files, sorted by name.
fn targets(fuzz: &Path) -> Result<Vec<String>, String> {
    let dir = fuzz.join("fuzz_targets");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    Ok(names)
}

fn succeeds(command: &mut Command) -> bool {
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `cargo xtask fuzz` with the arguments after `fuzz`.
pub fn run(root: &Path, args: &[&str]) -> Result<(), String> {
    let options = parse(args)?;
    let fuzz = root.join("fuzz");
    let all = targets(&fuzz)?;
    let chosen: Vec<String> = match &options.target {
        Some(name) if all.contains(name) => vec![name.clone()],
        Some(name) => {
            return Err(format!(
                "fuzz: no target {name:?}; targets: {}",
                all.join(", ")
            ))
        }
        None => all,
    };
    seed_lock(root)?;
    let crashes = if options.replay {
        println!("fuzz: --replay: replaying seeds and regressions, plus random inputs (not coverage-guided)");
        replay(root, &chosen, options.seconds)?
    } else if let Err(why) = ensure_cargo_fuzz(root) {
        println!("fuzz: {why}: replaying seeds and regressions instead (not coverage-guided)");
        replay(root, &chosen, options.seconds)?
    } else {
        libfuzzer(root, &fuzz, &chosen, &options)?
    };
    println!("fuzz: {} targets, {} crashes", chosen.len(), crashes);
    if crashes == 0 {
        Ok(())
    } else {
        Err(format!(
            "{crashes} crashes (inputs under fuzz/regressions/; see docs/FUZZING.md)"
        ))
    }
}

/// Starts `fuzz/Cargo.lock` (not committed) from the workspace's lock, so the fuzz crate
/// builds the workspace crates with the dependency versions the workspace is tested with;
/// cargo then adds only the fuzz crate's own dependencies (`arbitrary`, `libfuzzer-sys`).
/// Copied on every run, so a dependency another crate gains never leaves a stale lock.
fn seed_lock(root: &Path) -> Result<(), String> {
    let (from, to) = (
        root.join("Cargo.lock"),
        root.join("fuzz").join("Cargo.lock"),
    );
    fs::copy(&from, &to)
        .map(|_| ())
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

/// Installs cargo-fuzz when `cargo fuzz` is missing.
fn ensure_cargo_fuzz(root: &Path) -> Result<(), String> {
    let present = || {
        succeeds(
            Command::new("cargo")
                .args(["fuzz", "--version"])
                .current_dir(root),
        )
    };
    if present() {
        return Ok(());
    }
    println!("fuzz: installing cargo-fuzz (cargo install cargo-fuzz --locked)");
    let installed = Command::new("cargo")
        .args(["install", "cargo-fuzz", "--locked"])
        .current_dir(root)
        .status()
        .is_ok_and(|s| s.success());
    if installed && present() {
        Ok(())
    } else {
        Err("cargo-fuzz could not be installed".to_owned())
    }
}

/// The stable replay of every chosen target; returns the number of crashes.
fn replay(root: &Path, targets: &[String], seconds: u64) -> Result<usize, String> {
    let output = Command::new("cargo")
        .current_dir(root)
        .args([
            "run",
            "--quiet",
            "--manifest-path",
            "fuzz/Cargo.toml",
            "--no-default-features",
            "--features",
            "replay",
            "--bin",
            "replay",
            "--",
            "--time",
            &seconds.to_string(),
        ])
        .args(targets)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run the replay: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut crashes = None;
    for line in stdout.lines() {
        match line.strip_prefix("replay: ") {
            Some(summary) => {
                crashes = summary
                    .rsplit(", ")
                    .next()
                    .and_then(|c| c.strip_suffix(" crashes"))
                    .and_then(|c| c.parse::<usize>().ok());
            }
            None => println!("fuzz {line}"),
        }
    }
    match crashes {
        Some(n) => Ok(n),
        None => Err(format!(
            "the replay did not finish ({}); is fuzz/ buildable?",
            output.status
        )),
    }
}

/// The `cargo fuzz` options of every build and run: no sanitizer (stable toolchain), release
/// code with debug assertions and overflow checks.
const CARGO_FUZZ_OPTIONS: [&str; 3] = ["--sanitizer", "none", "--debug-assertions"];

/// Each chosen target under libFuzzer for `options.seconds` (or `options.runs`); returns the number of crashing targets.
fn libfuzzer(
    root: &Path,
    fuzz: &Path,
    targets: &[String],
    options: &Options,
) -> Result<usize, String> {
    let seconds = options.seconds;
    let status = Command::new("cargo")
        .current_dir(root)
        .args(["fuzz", "build"])
        .args(CARGO_FUZZ_OPTIONS)
        .args(targets.len().eq(&1).then(|| targets[0].as_str()))
        .status()
        .map_err(|e| format!("cannot run cargo fuzz build: {e}"))?;
    if !status.success() {
        return Err(format!("cargo fuzz build failed ({status})"));
    }
    let mut crashes = 0;
    for target in targets {
        let corpus = fuzz.join("corpus").join(target);
        let seeds = fuzz.join("seeds").join(target);
        let regressions = fuzz.join("regressions").join(target);
        let artifacts = fuzz.join("artifacts").join(target);
        for dir in [&corpus, &seeds, &regressions, &artifacts] {
            fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let before = files(&artifacts);
        let started = std::time::Instant::now();
        let output = Command::new("cargo")
            .current_dir(root)
            .args(["fuzz", "run"])
            .args(CARGO_FUZZ_OPTIONS)
            .arg(target)
            .args([&corpus, &seeds, &regressions])
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .args(options.runs.map(|n| format!("-runs={n}")))
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .args(["-timeout=10", "-rss_limit_mb=4096", "-print_final_stats=1"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("cannot run cargo fuzz run {target}: {e}"))?;
        let log = String::from_utf8_lossy(&output.stderr);
        let runs = log
            .lines()
            .filter_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
            .next_back()
            .map(str::trim)
            .unwrap_or("?");
        let cov = log
            .lines()
            .rev()
            .find_map(|l| l.split_once(" cov: "))
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or("?");
        if output.status.success() {
            let spent = started.elapsed().as_secs();
            println!("fuzz {target}: {runs} runs in {spent} s, coverage {cov}, 0 crashes");
            continue;
        }
        crashes += 1;
        let found: Vec<PathBuf> = files(&artifacts)
            .into_iter()
            .filter(|p| !before.contains(p))
            .collect();
        for input in &found {
            if let Some(name) = input.file_name() {
                let kept = regressions.join(name);
                fs::copy(input, &kept).map_err(|e| format!("{}: {e}", kept.display()))?;
                println!("fuzz {target}: crash input kept as {}", kept.display());
            }
        }
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        for line in tail.into_iter().rev() {
            eprintln!("  {line}");
        }
        println!("fuzz {target}: crashed ({})", output.status);
    }
    Ok(crashes)
}

/// The files of `dir` (none when it does not exist).
fn files(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default()
}
