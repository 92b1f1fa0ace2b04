//! The checker's reach (issue 15): the parallel search against stateright's DFS, the partitioned
//! check against the whole one, and the simulation's determinism; all bounded by the catalogue's
//! CI entries (their state spaces are finite), none by time.

use std::process::{Command, Output};

use esocc::model::catalogue::{self, Entry, WithModel};
use esocc::model::check::{self, Options, Report, Verdict};
use esocc::model::part::{self, Part};
use esocc::model::simulate::{self, Finding, Walks};
use esocc::model::{Checkable, Invariant};
use stateright::{Checker, Expectation};

fn ci_entries() -> Vec<Entry> {
    catalogue::load(&["models"])
        .unwrap()
        .into_iter()
        .filter(|e| e.ci)
        .collect()
}

fn entry(name: &str) -> Entry {
    catalogue::load(&[format!("models/{name}.json")])
        .unwrap()
        .remove(0)
}

fn verdicts(report: &Report) -> Vec<(Invariant, Verdict)> {
    report
        .properties
        .iter()
        .map(|p| (p.property, p.verdict))
        .collect()
}

/// stateright 0.31's DFS checker on one thread with the model's symmetry: unique states, depth
/// in states, and the properties with a discovery.
struct Stateright;
impl WithModel for Stateright {
    type Output = (usize, usize, Vec<&'static str>);
    fn with<M: Checkable>(self, model: M) -> Self::Output {
        let mut builder = model.clone().checker();
        if let Some(representative) = model.symmetry() {
            builder = builder.symmetry_fn(representative);
        }
        let checker = builder.spawn_dfs().join();
        let discovered = model
            .properties()
            .iter()
            .filter(|p| p.expectation != Expectation::Eventually)
            .filter(|p| checker.discoveries().contains_key(p.name))
            .map(|p| p.name)
            .collect();
        (
            checker.unique_state_count(),
            checker.max_depth(),
            discovered,
        )
    }
}

fn options(threads: usize) -> Options<'static> {
    Options {
        threads,
        shortest: false,
        ..Options::default()
    }
}

#[test]
fn the_parallel_search_matches_staterights_dfs_on_every_ci_entry() {
    for entry in ci_entries() {
        let (unique, depth, discovered) = entry.model.with_model(Stateright).unwrap();
        let one = check::run(&entry, &options(1)).unwrap();
        assert_eq!(one.unique_states, unique, "{}: one thread", entry.name);
        assert_eq!(one.max_depth + 1, depth, "{}: one thread", entry.name);
        let found: Vec<&str> = one
            .properties
            .iter()
            .filter(|p| matches!(p.verdict, Verdict::Counterexample | Verdict::Reachable))
            .map(|p| p.property.name())
            .collect();
        let mut expected = discovered.clone();
        expected.retain(|name| Invariant::from_name(name).is_some());
        assert_eq!(found, expected, "{}: discoveries", entry.name);
        let two = check::run(&entry, &options(2)).unwrap();
        assert_eq!(
            verdicts(&two),
            verdicts(&one),
            "{}: two threads",
            entry.name
        );
        assert_eq!(two.unique_states, unique, "{}: two threads", entry.name);
        assert!(one.matches(), "{}: as the catalogue expects", entry.name);
    }
}

#[test]
fn four_parts_merged_give_the_whole_checks_verdicts() {
    let entry = entry("replication-one-failover-three-clients");
    let whole = check::run(&entry, &options(1)).unwrap();
    let parts: Vec<part::PartResult> = (0..4)
        .map(|index| part::run(&entry, Part { index, count: 4 }, None, &options(1)).unwrap())
        .collect();
    assert!(parts[0].above_states > 0 && parts[1..].iter().all(|p| p.above_states == 0));
    assert!(
        parts.iter().all(|p| p.roots > 0),
        "every part has work: {:?}",
        parts.iter().map(|p| p.roots).collect::<Vec<_>>()
    );
    assert!(parts.iter().all(|p| p.unique_states < whole.unique_states));
    let merged = part::merge(parts.clone()).unwrap().remove(0);
    let merged_verdicts: Vec<(Invariant, Verdict)> = merged
        .properties
        .iter()
        .map(|p| (p.property, p.verdict))
        .collect();
    assert_eq!(merged_verdicts, verdicts(&whole));
    assert!(merged.unique_states_upper_bound >= whole.unique_states);
    // A counterexample in one part refutes the property, whatever the others say.
    assert!(merged
        .properties
        .iter()
        .filter(|p| p.verdict == Verdict::Counterexample)
        .all(|p| p.counterexample.is_some()));
    // Without part 3 nothing is merged.
    let error = part::merge(parts[..3].to_vec()).unwrap_err();
    assert!(error.contains("exactly once"), "{error}");
}

#[test]
fn a_frontier_below_the_whole_space_leaves_part_0_everything() {
    let entry = entry("seed-blind");
    let whole = check::run(&entry, &options(1)).unwrap();
    let parts: Vec<part::PartResult> = (0..2)
        .map(|index| part::run(&entry, Part { index, count: 2 }, Some(1000), &options(1)).unwrap())
        .collect();
    assert_eq!(parts[0].frontier_states, 0);
    assert_eq!(parts[0].unique_states, whole.unique_states);
    let merged = part::merge(parts).unwrap().remove(0);
    let merged: Vec<(Invariant, Verdict)> = merged
        .properties
        .iter()
        .map(|p| (p.property, p.verdict))
        .collect();
    assert_eq!(merged, verdicts(&whole));
}

#[test]
fn a_simulation_is_deterministic_for_a_seed_and_finds_the_lost_update() {
    let entry = entry("seed-blind");
    let walks = Walks {
        paths: 50,
        seed: 7,
        max_depth: 100,
    };
    let first = simulate::run(&entry, walks).unwrap();
    let again = simulate::run(&entry, walks).unwrap();
    assert_eq!(
        serde_json::to_value(&first).unwrap(),
        serde_json::to_value(&again).unwrap()
    );
    assert_eq!(first.paths, 50);
    assert!(first.distinct_states > 1 && first.steps >= first.max_depth);
    let lost = first
        .properties
        .iter()
        .find(|p| p.property == Invariant::NoLostAckedWrite)
        .unwrap();
    assert_eq!(lost.finding, Finding::Counterexample);
    assert!(lost.counterexample.as_ref().unwrap().depth > 0);
    assert!(!first.properties.iter().any(|p| p.contradicts()));
    // One walk of at most two steps reaches no lost update.
    let short = simulate::run(
        &entry,
        Walks {
            paths: 1,
            seed: 7,
            max_depth: 2,
        },
    )
    .unwrap();
    assert_eq!(short.cut_at_max_depth, 1);
    assert!(short.distinct_states <= 3);
}

fn esocc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_esocc"))
        .args(args)
        .output()
        .expect("esocc runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn bad_parts_and_part_files_exit_2_with_a_reason() {
    let bad = esocc(&["check", "--part", "4/4", "models/seed-blind.json"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("0 <= I < N"), "{}", stderr(&bad));
    let missing = esocc(&["check", "--merge", "/nonexistent/part.json"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("cannot read /nonexistent/part.json"));
    let not_a_part = esocc(&["check", "--merge", "models/seed-blind.json"]);
    assert_eq!(not_a_part.status.code(), Some(2));
    assert!(stderr(&not_a_part).contains("not the output of esocc check --part"));
}

#[test]
fn the_cli_parts_merge_and_simulate() {
    let dir = std::env::temp_dir().join(format!("esocc-parts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<String> = (0..2)
        .map(|i| dir.join(format!("{i}.json")).to_str().unwrap().to_string())
        .collect();
    for (i, file) in files.iter().enumerate() {
        let part = format!("{i}/2");
        let run = esocc(&[
            "check",
            "--part",
            &part,
            "--out",
            file,
            "models/seed-blind.json",
        ]);
        assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    }
    let merged = esocc(&["check", "--merge", &files[0], &files[1]]);
    assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
    let text = String::from_utf8_lossy(&merged.stdout);
    assert!(
        text.contains("seed-blind: 2 parts") && text.contains("upper bound"),
        "{text}"
    );
    let only_one = esocc(&["check", "--merge", &files[0]]);
    assert_eq!(only_one.status.code(), Some(2));
    let simulated = esocc(&[
        "check",
        "--simulate",
        "--paths",
        "20",
        "--seed",
        "3",
        "models/seed-blind.json",
    ]);
    assert_eq!(simulated.status.code(), Some(0), "{}", stderr(&simulated));
    let text = String::from_utf8_lossy(&simulated.stdout);
    assert!(
        text.contains("20 paths walked (seed 3)") && text.contains("proves nothing"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn symmetry_keeps_every_ci_entrys_verdicts() {
    for entry in ci_entries() {
        let reduced = check::run(&entry, &options(1)).unwrap();
        let plain = check::run(
            &entry,
            &Options {
                symmetry: false,
                ..options(1)
            },
        )
        .unwrap();
        assert_eq!(verdicts(&reduced), verdicts(&plain), "{}", entry.name);
        assert!(
            reduced.unique_states <= plain.unique_states,
            "{}: {} reduced, {} plain",
            entry.name,
            reduced.unique_states,
            plain.unique_states
        );
    }
}
