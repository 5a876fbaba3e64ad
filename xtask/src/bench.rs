//! `cargo xtask bench mapping|sync`.
//!
//! `sync`: builds the release binaries, runs the `powens-sandbox` binary as a separate process
//! sized 200 PSUs × 2 accounts × 2,500 transactions (1,000,000 transactions), points
//! `powens sync --config … --psu-tokens-file …` at it over loopback, and measures the syncing
//! process: wall time and peak resident memory (`/usr/bin/time -v` when present, else
//! `VmHWM` polled from `/proc/<pid>/status`). Then the same with 250 transactions per account
//! (100,000), to show that memory does not grow with history; and, as context on stderr,
//! 100,000 as 20 PSUs × 2 × 2,500 (the same full pages as the 1M run).
//!
//! Each size runs `POWENS_BENCH_REPEAT` times (default 3) and the figures are the medians.
//!
//! For experiments: `POWENS_BENCH_SYNC_ARGS` adds `powens sync` flags (`--concurrency 1`,
//! `--page-size 250`), and `POWENS_BENCH_SIZES=250x200,2500x20` measures only the listed
//! sizes (transactions per account × PSUs), one line each, instead of the three figures.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `cargo bench -p powens-model --bench mapping`, then `cargo bench -p
/// connector-powens --bench webhook` (the same rows as one `CONNECTION_SYNCED`); each prints
/// its own `bench …` lines.
pub fn mapping(root: &Path) -> Result<(), String> {
    for (package, bench) in [("powens-model", "mapping"), ("connector-powens", "webhook")] {
        let status = Command::new(cargo())
            .current_dir(root)
            .args(["bench", "-p", package, "--bench", bench])
            .status()
            .map_err(|e| format!("cannot run cargo bench: {e}"))?;
        if !status.success() {
            return Err(format!("the {bench} benchmark failed"));
        }
    }
    Ok(())
}

pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// `cargo build --release` with `args` (packages, targets) in the workspace at `root`.
pub(crate) fn release_build(root: &Path, args: &[&str]) -> Result<(), String> {
    let status = Command::new(cargo())
        .current_dir(root)
        .args(["build", "--release"])
        .args(args)
        .status()
        .map_err(|e| format!("cannot run cargo build: {e}"))?;
    if !status.success() {
        return Err("the release build failed".into());
    }
    Ok(())
}

pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// One measured sync.
struct Measure {
    payments: u64,
    seconds: f64,
    peak_rss_kib: u64,
}

/// The sandbox process, killed when dropped.
pub(crate) struct SandboxProcess {
    child: Child,
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the sandbox binary and reads its credentials and user tokens from stdout.
pub(crate) fn start_sandbox(
    binary: &Path,
    users: u32,
    transactions: u32,
) -> Result<(SandboxProcess, serde_json::Value, Vec<String>), String> {
    let (process, config, users, _) = start_sandbox_with(binary, users, transactions, &[])?;
    Ok((
        process,
        config,
        users.into_iter().map(|u| u.token).collect(),
    ))
}

/// A user the sandbox binary seeded, as it printed it.
pub(crate) struct SeededLine {
    /// The user's permanent token.
    pub token: String,
    /// Its connection ids.
    pub connections: Vec<u64>,
}

/// [`start_sandbox`] with more sandbox arguments; also returns each user's connections and
/// the sandbox's base URL.
pub(crate) fn start_sandbox_with(
    binary: &Path,
    users: u32,
    transactions: u32,
    extra: &[&str],
) -> Result<(SandboxProcess, serde_json::Value, Vec<SeededLine>, String), String> {
    let mut child = Command::new(binary)
        .args([
            "--port",
            "0",
            "--seed",
            "1",
            "--users",
            &users.to_string(),
            "--connections-per-link",
            "1",
            "--accounts-per-connection",
            "2",
            "--transactions-per-account",
            &transactions.to_string(),
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let stdout = child.stdout.take().ok_or("no sandbox stdout")?;
    let process = SandboxProcess { child };
    let mut base_url = None;
    let mut credentials = std::collections::BTreeMap::new();
    let mut seeded = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| format!("cannot read the sandbox output: {e}"))?;
        if let Some(url) = line.strip_prefix("listening on ") {
            base_url = Some(url.trim().to_owned());
        } else if line.starts_with("client_id=") {
            for pair in line.split_whitespace() {
                if let Some((key, value)) = pair.split_once('=') {
                    credentials.insert(key.to_owned(), value.to_owned());
                }
            }
        } else if let Some(rest) = line.strip_prefix("user ") {
            let field = |name: &str| {
                rest.split_whitespace()
                    .find_map(|p| p.strip_prefix(name))
                    .map(str::to_owned)
            };
            if let Some(token) = field("token=") {
                let connections = field("connections=")
                    .unwrap_or_default()
                    .split(',')
                    .filter_map(|id| id.parse().ok())
                    .collect();
                seeded.push(SeededLine { token, connections });
            }
        }
        if seeded.len() == users as usize {
            break;
        }
    }
    let base_url = base_url.ok_or("the sandbox did not say where it listens")?;
    let field = |key: &str| -> Result<String, String> {
        credentials
            .get(key)
            .cloned()
            .ok_or(format!("the sandbox did not print {key}"))
    };
    let config = serde_json::json!({
        "clientID": field("client_id")?,
        "clientSecret": field("client_secret")?,
        "configurationToken": field("configuration_token")?,
        "domain": field("domain")?,
        "endpoint": format!("{base_url}/2.0"),
        "maxConnectionsPerLink": 1,
        "pageSize": 1000,
    });
    if seeded.len() != users as usize {
        return Err(format!(
            "the sandbox printed {} user tokens, expected {users}",
            seeded.len()
        ));
    }
    Ok((process, config, seeded, base_url))
}

pub(crate) fn peak_from_proc(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

fn measure(root: &Path, transactions: u32, users: u32) -> Result<Measure, String> {
    let release = target_dir(root).join("release");
    let (sandbox, config, tokens) =
        start_sandbox(&release.join("powens-sandbox"), users, transactions)?;
    let work = std::env::temp_dir().join(format!("powens-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let config_path = work.join("config.json");
    let tokens_path = work.join("tokens.txt");
    let out_path = work.join("sync.jsonl");
    let _ = std::fs::remove_file(&out_path);
    std::fs::write(&config_path, config.to_string()).map_err(|e| e.to_string())?;
    // `PSU_ID TOKEN` lines: a bare token would cost a `GET /users/me` per PSU to name it.
    let lines: String = tokens
        .iter()
        .enumerate()
        .map(|(n, token)| format!("psu-{} {token}\n", n + 1))
        .collect();
    std::fs::write(&tokens_path, lines).map_err(|e| e.to_string())?;

    let time = Path::new("/usr/bin/time");
    let powens = release.join("powens");
    let mut sync_args = vec![
        "sync".to_owned(),
        "--config".to_owned(),
        config_path.display().to_string(),
        "--psu-tokens-file".to_owned(),
        tokens_path.display().to_string(),
        "--out".to_owned(),
        out_path.display().to_string(),
        "--quiet".to_owned(),
        // The client's default 10 requests/s protects a real Powens domain; the benchmark
        // measures the sync itself.
        "--rate-limit".to_owned(),
        "0".to_owned(),
    ];
    // Experiments: extra `powens sync` flags (e.g. `--concurrency 1`), split on spaces.
    if let Ok(extra) = std::env::var("POWENS_BENCH_SYNC_ARGS") {
        sync_args.extend(extra.split_whitespace().map(str::to_owned));
    }
    let started = Instant::now();
    let (status, peak) = if time.exists() {
        let output = Command::new(time)
            .arg("-v")
            .arg(&powens)
            .args(&sync_args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", powens.display()))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let peak = stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
            .and_then(|v| v.trim().parse::<u64>().ok());
        if !output.status.success() {
            let first = stderr.lines().next().unwrap_or_default().to_owned();
            return Err(format!("powens sync failed: {first}"));
        }
        (output.status, peak)
    } else {
        let mut child = Command::new(&powens)
            .args(&sync_args)
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", powens.display()))?;
        let mut peak = 0;
        let status = loop {
            if let Some(kib) = peak_from_proc(child.id()) {
                peak = peak.max(kib);
            }
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(format!("cannot wait for powens sync: {e}")),
            }
        };
        (status, Some(peak).filter(|p| *p > 0))
    };
    let seconds = started.elapsed().as_secs_f64();
    drop(sandbox);
    if !status.success() {
        return Err(format!("powens sync failed ({status})"));
    }
    let file = std::fs::File::open(&out_path).map_err(|e| e.to_string())?;
    let mut payments = 0u64;
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if line.starts_with(r#"{"kind":"payment","#) {
            payments += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(Measure {
        payments,
        seconds,
        peak_rss_kib: peak.ok_or("could not measure the peak resident memory")?,
    })
}

/// How many times each size is run (`POWENS_BENCH_REPEAT`, default 3): the figures are the
/// medians, because one run's peak RSS moves by several hundred KiB with the scheduling of the
/// two processes on two cores.
fn repeats() -> Result<usize, String> {
    match std::env::var("POWENS_BENCH_REPEAT") {
        Ok(text) => text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or(format!(
                "POWENS_BENCH_REPEAT: {text:?} is not a whole number of runs, at least 1"
            )),
        Err(_) => Ok(3),
    }
}

/// The median of a few runs of one size: the median peak RSS and the median duration (taken
/// separately), each run printed on stderr.
fn measure_median(root: &Path, transactions: u32, users: u32) -> Result<Measure, String> {
    let mut runs = Vec::new();
    for _ in 0..repeats()? {
        let m = measure(root, transactions, users)?;
        eprintln!(
            "  {transactions} tx/account x {users} PSUs: {} payments in {:.2} s, peak RSS {} KiB",
            m.payments, m.seconds, m.peak_rss_kib
        );
        runs.push(m);
    }
    let payments = runs.first().map_or(0, |m| m.payments);
    if runs.iter().any(|m| m.payments != payments) {
        return Err(format!(
            "runs of {transactions} tx/account x {users} PSUs wrote different payment counts"
        ));
    }
    let mut peaks: Vec<u64> = runs.iter().map(|m| m.peak_rss_kib).collect();
    peaks.sort_unstable();
    let mut seconds: Vec<f64> = runs.iter().map(|m| m.seconds).collect();
    seconds.sort_by(f64::total_cmp);
    Ok(Measure {
        payments,
        seconds: seconds.get(seconds.len() / 2).copied().unwrap_or_default(),
        peak_rss_kib: peaks.get(peaks.len() / 2).copied().unwrap_or_default(),
    })
}

/// Runs the sync benchmark and prints its three `bench` lines.
pub fn sync(root: &Path) -> Result<(), String> {
    release_build(root, &["-p", "powens-cli", "-p", "powens-sandbox"])?;
    // Experiments: `POWENS_BENCH_SIZES=250x200,2500x20` measures only these
    // (transactions per account × PSUs) and prints one context line each.
    if let Ok(spec) = std::env::var("POWENS_BENCH_SIZES") {
        for pair in spec.split(',') {
            let parsed = pair.trim().split_once('x').and_then(|(t, u)| {
                Some((t.trim().parse::<u32>().ok()?, u.trim().parse::<u32>().ok()?))
            });
            let Some((transactions, users)) = parsed else {
                return Err(format!(
                    "POWENS_BENCH_SIZES: {pair:?} is not <transactions per account>x<PSUs>, e.g. 250x200"
                ));
            };
            let m = measure(root, transactions, users)?;
            eprintln!(
                "{transactions} tx/account x {users} PSUs: {} payments in {:.2} s, peak RSS {} KiB",
                m.payments, m.seconds, m.peak_rss_kib
            );
        }
        return Ok(());
    }
    let large = measure_median(root, 2_500, 200)?;
    eprintln!(
        "1M (median): {} payments in {:.2} s, peak RSS {} KiB",
        large.payments, large.seconds, large.peak_rss_kib
    );
    let small = measure_median(root, 250, 200)?;
    eprintln!(
        "100k (median): {} payments in {:.2} s, peak RSS {} KiB",
        small.payments, small.seconds, small.peak_rss_kib
    );
    // Context: 100k with the same per-account history (full 1,000-row pages) and ten times
    // fewer PSUs, which separates page fill from history.
    let fewer = measure_median(root, 2_500, 20)?;
    eprintln!(
        "100k as 20 PSUs x 2 x 2,500 (median): {} payments in {:.2} s, peak RSS {} KiB (1M/this = {:.2})",
        fewer.payments,
        fewer.seconds,
        fewer.peak_rss_kib,
        large.peak_rss_kib as f64 / (fewer.peak_rss_kib.max(1) as f64)
    );
    let tx_per_s = large.payments as f64 / large.seconds.max(1e-9);
    let peak_mib = large.peak_rss_kib as f64 / 1024.0;
    let ratio = large.peak_rss_kib as f64 / (small.peak_rss_kib.max(1) as f64);
    println!("bench sync_tx_per_s: {tx_per_s:.0}");
    println!("bench sync_peak_rss_mib: {peak_mib:.1}");
    println!("bench sync_rss_ratio_1m_vs_100k: {ratio:.2}");
    Ok(())
}
