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
