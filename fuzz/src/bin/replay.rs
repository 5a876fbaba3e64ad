//! The driver of the fuzz targets without libFuzzer (no coverage guidance, no cargo-fuzz):
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --no-default-features --features replay --bin replay -- \
//!     [--time SECONDS] [TARGET…]
//! ```
//!
//! For each target (all by default): every file of `fuzz/seeds/<target>/` and
//! `fuzz/regressions/<target>/` through the target function, then random inputs (fresh
//! random bytes, and seeds with random bytes changed, inserted or removed) until `--time`
//! seconds are spent on it (default 0: the committed inputs only). Not coverage-guided: it
//! checks that the committed inputs still pass and gives the generators a short random run.
//! A panic is a crash: a random input that crashes is written to
//! `fuzz/regressions/<target>/crash-<hash>` (commit it with the fix) and counted. The last
//! line is `replay: N targets, M crashes`; the exit code is 1 when M > 0.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use powens_fuzz::{Target, TARGETS};

/// A small xorshift generator (the replay needs no quality randomness, and no dependency).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of `dir`, sorted (none when it does not exist).
fn inputs(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                if let Ok(bytes) = std::fs::read(&path) {
                    out.push((path, bytes));
                }
            }
        }
    }
    out.sort();
    out
}

/// Runs one input; `Err` with the panic message when it panics.
fn run(target: Target, input: &[u8]) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| (target.run)(input))).map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panic".to_owned())
    })
}

/// Keeps a crashing input under `fuzz/regressions/<target>/`, so that every later replay
/// (and every libFuzzer run, which loads that folder) runs it again.
fn keep(target: Target, input: &[u8]) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    input.hash(&mut hasher);
    let dir = fuzz_dir().join("regressions").join(target.name);
    let path = dir.join(format!("crash-{:016x}", hasher.finish()));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(&path, input);
    path
}

/// A random input: fresh bytes, or a seed with a few random edits.
fn random_input(rng: &mut Rng, seeds: &[(PathBuf, Vec<u8>)]) -> Vec<u8> {
    if seeds.is_empty() || rng.below(3) == 0 {
        let len = rng.below(4096);
        return (0..len).map(|_| rng.next() as u8).collect();
    }
    let mut input = seeds[rng.below(seeds.len())].1.clone();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(input.len() + 1);
        match rng.below(4) {
            0 if at < input.len() => input[at] = rng.next() as u8,
            1 => input.insert(at, rng.next() as u8),
            2 if at < input.len() => {
                input.remove(at);
            }
            _ => {
                let interesting = b"\"\\{}[],:0-.eE \n\xc3\xa9\xff";
                if at < input.len() {
                    input[at] = interesting[rng.below(interesting.len())];
                }
            }
        }
    }
    input
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut seconds = 0u64;
    let mut names = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--time" => match args.next().and_then(|s| s.parse().ok()) {
                Some(s) => seconds = s,
                None => {
                    eprintln!("replay: --time needs a number of seconds");
                    return ExitCode::from(2);
                }
            },
            name => names.push(name.to_owned()),
        }
    }
    let mut targets = Vec::new();
    for name in &names {
        match powens_fuzz::target(name) {
            Some(t) => targets.push(t),
            None => {
                eprintln!(
                    "replay: no target {name:?}; targets: {}",
                    TARGETS
                        .iter()
                        .map(|t| t.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                return ExitCode::from(2);
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    // Quiet panics: each one is reported once, below.
    std::panic::set_hook(Box::new(|_| {}));
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    let mut crashes = 0usize;
    for target in &targets {
        let seeds = inputs(&fuzz_dir().join("seeds").join(target.name));
        let regressions = inputs(&fuzz_dir().join("regressions").join(target.name));
        let mut crashed = 0usize;
        for (path, input) in seeds.iter().chain(&regressions) {
            if let Err(message) = run(*target, input) {
                crashed += 1;
                eprintln!("{}: {} crashes: {message}", target.name, path.display());
            }
        }
        let mut rng = Rng(seed ^ (target.name.len() as u64).wrapping_mul(0x9e37_79b9));
        let start = Instant::now();
        let mut random = 0u64;
        while start.elapsed() < Duration::from_secs(seconds) {
            let input = random_input(&mut rng, &seeds);
            random += 1;
            if let Err(message) = run(*target, &input) {
                crashed += 1;
                let path = keep(*target, &input);
                eprintln!(
                    "{}: random input {} crashes: {message}",
                    target.name,
                    path.display()
                );
                if crashed >= 5 {
                    break;
                }
            }
        }
        println!(
            "{}: {} seeds, {} regressions, {} random inputs in {:.1}s, {} crashes",
            target.name,
            seeds.len(),
            regressions.len(),
            random,
            start.elapsed().as_secs_f64(),
            crashed
        );
        crashes += crashed;
    }
    println!("replay: {} targets, {} crashes", targets.len(), crashes);
    if crashes == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
