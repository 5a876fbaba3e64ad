//! `cargo xtask bench postgres`: 1,000,000 transactions from the sandbox into PostgreSQL.
//!
//! Starts its own throw-away PostgreSQL (`.ci/pg`, state in `target/pg-bench`, stopped at the
//! end), builds the release `powens-sandbox` and the `pg_sync` example of the `tests` crate,
//! runs the sandbox as a separate process sized 200 PSUs × 2 accounts × 2,500 transactions,
//! and:
//!
//! 1. syncs it once into the schema `bench_clean`, measuring the syncing process (wall time,
//!    peak resident memory from `/proc/<pid>/status`): `bench pg_tx_per_s:` and
//!    `bench pg_peak_rss_mib:`;
//! 2. syncs it again into `bench_kills`, killing the syncing process with SIGKILL
//!    `POWENS_BENCH_PG_KILLS` times (default 5) at random moments (each within the first
//!    1/(kills + 1) of a clean sync's time after the start) and restarting it, then
//!    lets it finish, and compares with `bench_clean`: no payment may be missing, extra or
//!    different, and `bench pg_duplicates_after_kills:` counts the payments written more
//!    often than in the clean run (`connector_postgres::testing::PaymentsComparison`: a
//!    record delivered again unchanged writes nothing, so these are rows rewritten with
//!    content the clean run never stored, or a sink rewriting unchanged rows).
//!
//! Both syncs keep [`PSUS_IN_FLIGHT`] PSUs in flight.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::bench::{peak_from_proc, release_build, start_sandbox, target_dir};

/// PSUs synced at a time (`pg_sync --concurrency`): with one transaction per part of 50 rows
/// (the connector's commit unit), 4 left the two cores idle while pages waited on the
/// network and the database (docs/BENCHMARKS.md).
const PSUS_IN_FLIGHT: &str = "8";

/// The throw-away server, stopped when dropped.
struct ThrowAwayPg {
    root: PathBuf,
    state: PathBuf,
    url: String,
}

impl ThrowAwayPg {
    fn start(root: &Path) -> Result<Self, String> {
        let state = target_dir(root).join("pg-bench");
        let output = Command::new("bash")
            .current_dir(root)
            .args([".ci/pg", "start"])
            .env("POWENS_PG_STATE", &state)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run .ci/pg: {e}"))?;
        if !output.status.success() {
            return Err("could not start PostgreSQL (.ci/pg start failed)".into());
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let url = stdout
            .lines()
            .find_map(|l| l.strip_prefix("export POWENS_TEST_DATABASE_URL="))
            .map(|u| u.trim_matches('\'').to_owned())
            .ok_or(".ci/pg start printed no URL")?;
        Ok(ThrowAwayPg {
            root: root.to_path_buf(),
            state,
            url,
        })
    }
}

impl Drop for ThrowAwayPg {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .current_dir(&self.root)
            .args([".ci/pg", "stop"])
            .env("POWENS_PG_STATE", &self.state)
            .status();
    }
}

/// A pseudo-random number in `0..bound` (the benchmark only needs unpredictable kill times).
fn random_below(bound: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64 ^ d.as_secs().rotate_left(17))
        .unwrap_or(0);
    // splitmix64
    let mut z = nanos.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) % bound.max(1)
}

struct Sync<'a> {
    binary: PathBuf,
    config: &'a Path,
    tokens: &'a Path,
    url: &'a str,
}

impl Sync<'_> {
    fn spawn(&self, schema: &str) -> Result<Child, String> {
        Command::new(&self.binary)
            .arg("--config")
            .arg(self.config)
            .arg("--psu-tokens-file")
            .arg(self.tokens)
            .args(["--database-url", self.url, "--schema", schema])
            .args(["--concurrency", PSUS_IN_FLIGHT])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))
    }

    /// Waits for `child`, polling its peak RSS; the status and the peak in KiB.
    fn wait(child: &mut Child) -> Result<(std::process::ExitStatus, u64), String> {
        let mut peak = 0;
        loop {
            if let Some(kib) = peak_from_proc(child.id()) {
                peak = peak.max(kib);
            }
            match child.try_wait() {
                Ok(Some(status)) => return Ok((status, peak)),
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(format!("cannot wait for pg_sync: {e}")),
            }
        }
    }

    fn failed(child: &mut Child) -> String {
        let mut text = String::new();
        if let Some(stderr) = child.stderr.take() {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                text.push_str(&line);
                text.push('\n');
            }
        }
        text
    }

    /// `payments=N missing=M extra=E changed=C duplicates=D` of `schema` against
    /// `reference`.
    fn compare(&self, schema: &str, reference: &str) -> Result<[u64; 5], String> {
        let output = Command::new(&self.binary)
            .args(["--database-url", self.url, "--schema", schema])
            .args(["--compare-with", reference])
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))?;
        let text = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "pg_sync --compare-with failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let mut values = [0u64; 5];
        for (slot, name) in
            values
                .iter_mut()
                .zip(["payments", "missing", "extra", "changed", "duplicates"])
        {
            *slot = text
                .split_whitespace()
                .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
                .and_then(|v| v.parse().ok())
                .ok_or(format!("pg_sync printed no {name}: {text}"))?;
        }
        Ok(values)
    }
}

/// Runs the PostgreSQL benchmark and prints its three `bench` lines.
pub fn postgres(root: &Path) -> Result<(), String> {
    let kills: u32 = match std::env::var("POWENS_BENCH_PG_KILLS") {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("POWENS_BENCH_PG_KILLS: {text:?} is not a number"))?,
        Err(_) => 5,
    };
    // Two builds: a target selection (`--example`) applies to every package named.
    for target in [
        ["-p", "powens-sandbox", "--bin", "powens-sandbox"],
        ["-p", "tests", "--example", "pg_sync"],
    ] {
        release_build(root, &target)?;
    }
    let release = target_dir(root).join("release");
    let pg = ThrowAwayPg::start(root)?;
    let (sandbox, config, tokens) = start_sandbox(&release.join("powens-sandbox"), 200, 2_500)?;
    let work = std::env::temp_dir().join(format!("powens-bench-pg-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let config_path = work.join("config.json");
    let tokens_path = work.join("tokens.txt");
    std::fs::write(&config_path, config.to_string()).map_err(|e| e.to_string())?;
    std::fs::write(&tokens_path, tokens.join("\n") + "\n").map_err(|e| e.to_string())?;
    let sync = Sync {
        binary: release.join("examples").join("pg_sync"),
        config: &config_path,
        tokens: &tokens_path,
        url: &pg.url,
    };

    // 1. One uninterrupted sync.
    let started = Instant::now();
    let mut child = sync.spawn("bench_clean")?;
    let (status, peak_kib) = Sync::wait(&mut child)?;
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("pg_sync failed: {}", Sync::failed(&mut child)));
    }
    let [payments, ..] = sync.compare("bench_clean", "bench_clean")?;
    eprintln!("clean: {payments} payments in {seconds:.2} s, peak RSS {peak_kib} KiB");

    // 2. The same sync, killed `kills` times at random moments, then finished.
    let mut landed = 0;
    for round in 0..kills {
        let mut child = sync.spawn("bench_kills")?;
        // Somewhere in the first 1/(kills + 1) of a whole sync's time: each round gets
        // further, and the rounds together stay short of a whole sync, so every kill lands
        // in a running sync (with half a sync's time per round, the later ones found it done).
        let window_ms = seconds * 1000.0 / f64::from(kills + 1);
        let wait_ms = 200 + random_below(window_ms as u64);
        std::thread::sleep(Duration::from_millis(wait_ms));
        if child.try_wait().map_err(|e| e.to_string())?.is_none() {
            child
                .kill()
                .map_err(|e| format!("cannot kill pg_sync: {e}"))?; // SIGKILL
            landed += 1;
        }
        let _ = child.wait();
        eprintln!("  kill {}: after {wait_ms} ms", round + 1);
    }
    let mut child = sync.spawn("bench_kills")?;
    let (status, _) = Sync::wait(&mut child)?;
    if !status.success() {
        return Err(format!(
            "pg_sync after the kills failed: {}",
            Sync::failed(&mut child)
        ));
    }
    let [killed_payments, missing, extra, changed, duplicates] =
        sync.compare("bench_kills", "bench_clean")?;
    drop(sandbox);
    let _ = std::fs::remove_dir_all(&work);
    eprintln!(
        "after {landed} kills: {killed_payments} payments, {missing} missing, {extra} extra, \
         {changed} different, {duplicates} written more often than in the clean run"
    );
    if missing != 0 || extra != 0 || changed != 0 {
        return Err(format!(
            "after the kills {missing} payments are missing, {extra} extra and {changed} \
             different from the clean run"
        ));
    }
    println!(
        "bench pg_tx_per_s: {:.0}",
        payments as f64 / seconds.max(1e-9)
    );
    println!("bench pg_peak_rss_mib: {:.1}", peak_kib as f64 / 1024.0);
    println!("bench pg_duplicates_after_kills: {duplicates}");
    Ok(())
}
