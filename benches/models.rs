//! Model-checking reach, per catalogue entry: the exhaustive run ([`esocc::model::parallel`])
//! with and without symmetry reduction, on 1 and 2 threads, each with its unique states,
//! states/s, memory and ratios against the unreduced single-threaded search measured in the same
//! process. Shortest counterexamples are not searched (only the exhaustive run is timed).
//!
//! Memory is the growth of the process's resident set during the run, sampled every 10 ms
//! through the progress callback (`/proc/self/statm`; `-` where it cannot be read), and that
//! growth per unique state: the visited map (fingerprint → parent pointer, 24 bytes a slot) and
//! the depth-first stacks.
//!
//! `cargo bench --bench models [PATH...]` (default `models/`; under `cargo test` only the CI
//! entries, as a smoke test). The unreduced runs are made for the CI entries only (without
//! symmetry the large ones explode) unless `ESOCC_BASELINE=1`; `ESOCC_BASELINE=0` skips them
//! everywhere. `ESOCC_THREADS` (default 2) is the thread count of the parallel runs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use esocc::model::catalogue::{self, Entry};
use esocc::model::check::{self, Options, Progress, Report};

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Resident set size in bytes, if the platform tells it.
fn resident_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// One measured run.
struct Run {
    label: String,
    threads: usize,
    symmetry: bool,
    report: Report,
    /// Peak growth of the resident set during the run.
    memory: Option<usize>,
}

fn measure(entry: &Entry, threads: usize, symmetry: bool) -> Run {
    let before = resident_bytes();
    let peak = AtomicUsize::new(0);
    let sample = |_: &Progress| {
        if let Some(now) = resident_bytes() {
            peak.fetch_max(now, Ordering::Relaxed);
        }
    };
    let options = Options {
        threads,
        symmetry,
        shortest: false,
        progress: Some(&sample),
        progress_interval: Duration::from_millis(10),
    };
    let report = check::run(entry, &options).unwrap_or_else(|e| panic!("{}: {e}", entry.name));
    let memory = before.map(|before| peak.load(Ordering::Relaxed).saturating_sub(before));
    let label = format!("{} {}t", if symmetry { "sym" } else { "no-sym" }, threads);
    Run {
        label,
        threads,
        symmetry,
        report,
        memory,
    }
}

fn main() {
    let paths: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let paths = if paths.is_empty() {
        vec!["models".to_string()]
    } else {
        paths
    };
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this file without it, as a
    // smoke test: the CI entries only (the long ones take minutes each).
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let entries: Vec<Entry> = catalogue::load(&paths)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|e| benchmarking || e.ci)
        .collect();
    let threads = env_usize("ESOCC_THREADS").unwrap_or(2).max(1);
    let baseline = env_usize("ESOCC_BASELINE");
    println!(
        "{:<46} {:<9} {:>11} {:>10} {:>10} {:>9} {:>11} {:>8} {:>7} {:>9} {:>9}",
        "entry",
        "run",
        "verdicts",
        "states",
        "unique",
        "seconds",
        "states/s",
        "MB",
        "B/uniq",
        "uniq/base",
        "speedup"
    );
    for entry in &entries {
        let unreduced = baseline.unwrap_or(usize::from(entry.ci)) == 1;
        let mut plan = vec![(1, false), (1, true), (threads, true)];
        if threads > 1 {
            plan.push((threads, false));
        }
        plan.retain(|(_, symmetry)| *symmetry || unreduced);
        plan.dedup();
        let runs: Vec<Run> = plan
            .into_iter()
            .map(|(threads, symmetry)| measure(entry, threads, symmetry))
            .collect();
        let base = runs.iter().find(|r| r.threads == 1 && !r.symmetry);
        for run in &runs {
            let r = &run.report;
            let rate = r.states as f64 / r.seconds.max(1e-9);
            let (megabytes, per_state) = match run.memory {
                Some(bytes) => (
                    format!("{:.1}", bytes as f64 / 1e6),
                    format!("{:.0}", bytes as f64 / r.unique_states.max(1) as f64),
                ),
                None => ("-".to_string(), "-".to_string()),
            };
            let (unique_ratio, speedup) = match base {
                Some(b) => (
                    format!(
                        "{:.3}",
                        r.unique_states as f64 / b.report.unique_states as f64
                    ),
                    format!("{:.2}×", b.report.seconds / r.seconds.max(1e-9)),
                ),
                None => ("-".to_string(), "-".to_string()),
            };
            println!(
                "{:<46} {:<9} {:>11} {:>10} {:>10} {:>9.3} {:>11.0} {:>8} {:>7} {:>9} {:>9}",
                entry.name,
                run.label,
                if r.matches() {
                    "as expected"
                } else {
                    "MISMATCH"
                },
                r.states,
                r.unique_states,
                r.seconds,
                rate,
                megabytes,
                per_state,
                unique_ratio,
                speedup
            );
        }
    }
}
