//! Helpers for the tests that run `esocc torture`: a fresh output directory, the command, its
//! history. Include with `#[path = "support/torture.rs"] mod torture_support;`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use esocc::torture::history::History;

/// An empty directory for one run's output, under Cargo's temporary directory.
pub fn out_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("torture-run")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// `esocc torture ARGS --out DIR`.
pub fn torture(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_esocc"))
        .arg("torture")
        .args(args)
        .arg("--out")
        .arg(dir)
        .output()
        .unwrap()
}

/// The run's `history.jsonl`, parsed.
pub fn history(dir: &Path) -> History {
    History::parse(&std::fs::read_to_string(dir.join("history.jsonl")).unwrap()).unwrap()
}

/// Whether some client operation was in flight during a fault period that was not skipped.
pub fn ran_under_fault(h: &History) -> bool {
    let mut periods = Vec::new();
    let mut start = None;
    for e in &h.nemesis {
        match (e.f.as_str(), start) {
            ("start", _) if !e.value.contains("skipped") => start = Some(e.time_ns),
            ("stop", Some(s)) => {
                periods.push((s, e.time_ns));
                start = None;
            }
            _ => {}
        }
    }
    h.ops.iter().filter(|op| !op.invoke.final_read).any(|op| {
        let end = op.complete_ns.unwrap_or(u64::MAX);
        periods
            .iter()
            .any(|(s, e)| op.invoke.time_ns < *e && end > *s)
    })
}
