//! Model-checking speed, per catalogue entry: states, unique states, depth, time and states/s of
//! the exhaustive run, and the same run without symmetry reduction as the baseline measured in
//! the same process (for the `ci` entries only: without symmetry the large ones explode).
//!
//! `cargo bench --bench models [PATH...]` (default `models/`; under `cargo test` only the CI
//! entries, as a smoke test); `ESOCC_THREADS` (default 2);
//! `ESOCC_BASELINE=0` skips the baseline (to time a whole process on one entry).

use std::time::Instant;

use esocc::model::catalogue::{self, Entry};
use esocc::model::check::{self, Options, Report};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn measure(entry: &Entry, threads: usize, symmetry: bool) -> (Report, f64) {
    let options = Options {
        threads,
        symmetry,
        ..Options::default()
    };
    let start = Instant::now();
    let report = check::run(entry, &options).unwrap_or_else(|e| panic!("{}: {e}", entry.name));
    (report, start.elapsed().as_secs_f64())
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
    // smoke test: the CI entries only (the long ones take up to 18 minutes each).
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let entries: Vec<Entry> = catalogue::load(&paths)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|e| benchmarking || e.ci)
        .collect();
    let threads = env_usize("ESOCC_THREADS", 2);
    println!(
        "{:<34} {:>11} {:>10} {:>9} {:>5} {:>9} {:>11} {:>9} | {:>10} {:>9} {:>8}",
        "entry",
        "verdicts",
        "states",
        "unique",
        "depth",
        "check s",
        "states/s",
        "total s",
        "no-sym uniq",
        "no-sym s",
        "speedup"
    );
    for entry in &entries {
        let (report, total) = measure(entry, threads, true);
        let rate = report.states as f64 / report.seconds.max(1e-9);
        print!(
            "{:<34} {:>11} {:>10} {:>9} {:>5} {:>9.4} {:>11.0} {:>9.4} |",
            entry.name,
            if report.matches() {
                "as expected"
            } else {
                "MISMATCH"
            },
            report.states,
            report.unique_states,
            report.max_depth,
            report.seconds,
            rate,
            total
        );
        if entry.ci && env_usize("ESOCC_BASELINE", 1) == 1 {
            let (plain, plain_total) = measure(entry, threads, false);
            println!(
                " {:>10} {:>9.4} {:>7.1}×",
                plain.unique_states,
                plain_total,
                plain_total / total.max(1e-9)
            );
        } else {
            println!(" {:>10} {:>9} {:>8}", "-", "-", "-");
        }
    }
}
