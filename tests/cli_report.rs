//! `esocc report` and `esocc explore` from the outside: the report is written, is identical when
//! regenerated, and `--check` catches drift; explore (and its `--stateright` form) refuses what it cannot serve with exit 2.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};

#[path = "support/cli.rs"]
mod cli;
use cli::{entry, text};

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("esocc-report-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("models")).unwrap();
    std::fs::write(
        dir.join("models/blind.json"),
        entry("blind", "blind", "counterexample"),
    )
    .unwrap();
    std::fs::write(
        dir.join("models/guarded.json"),
        entry("guarded", "seq_no_and_term", "holds"),
    )
    .unwrap();
    dir
}

fn esocc_in(dir: &PathBuf, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_esocc"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("esocc runs")
}

#[test]
fn report_is_stable_and_check_catches_drift() {
    let dir = scratch("drift");
    let out = esocc_in(&dir, &["report"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = std::fs::read_to_string(dir.join("docs/invariants.md")).unwrap();
    assert!(report.starts_with("# Invariants"));
    assert!(report.contains("## no_lost_acked_write\n\n> every acknowledged write"));
    assert!(report.contains("Defined in `src/model/single_shard.rs`"));
    assert!(report.contains("| `guarded` | holds | single_shard |"));
    assert!(report.contains("**Refuted** in `blind` (expected: counterexample)"));
    assert!(report.contains(" 4. client 1 → n0: PUT /idx/_doc/1 [c1.0] → 200 updated"));
    assert!(!report.contains("seconds"), "no timings in the report");

    let out = esocc_in(&dir, &["report", "--check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("docs/invariants.md is up to date"));

    std::fs::write(
        dir.join("docs/invariants.md"),
        report.replace("| `guarded` | holds |", "| `guarded` | nope |"),
    )
    .unwrap();
    let out = esocc_in(&dir, &["report", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("differs from a fresh report"), "{stderr}");
    assert!(
        stderr.contains("checked in: | `guarded` | nope |"),
        "{stderr}"
    );
}

#[test]
fn report_check_without_the_file_exits_2() {
    let dir = scratch("missing");
    let out = esocc_in(&dir, &["report", "--check", "--out", "nowhere/x.md"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("error: cannot read nowhere/x.md:"));
}

#[test]
fn explore_refuses_a_taken_address_and_a_directory() {
    let dir = scratch("explore");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = esocc_in(&dir, &["explore", "models/blind.json", "--addr", &addr]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!("error: cannot listen on {addr}:")),
        "{stderr}"
    );

    let out = esocc_in(
        &dir,
        &["explore", "--stateright", "models", "--addr", &addr],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr)
        .contains("--stateright explores one catalogue file; 2 entries were given"));

    let out = esocc_in(
        &dir,
        &["explore", "models/blind.json", "--addr", "not-an-address"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("invalid value 'not-an-address'"));
}
