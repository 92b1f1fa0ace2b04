//! Checks every catalogue entry marked `"ci": true` exhaustively and asserts each verdict.
//! On a mismatch it prints the entry, the property and, for an unexpected counterexample, the
//! shortest trace as numbered steps. Entries are checked in parallel, one per core.

use std::fmt::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use esocc::model::catalogue::{self, Entry};
use esocc::model::check::{self, Options, Report, Verdict};

/// The mismatches of one report, written out for people.
fn mismatches(entry: &Entry, report: &Report) -> String {
    let mut text = String::new();
    for property in report.mismatches() {
        writeln!(
            text,
            "\n{} ({}): {} expected {:?}, got {:?}",
            report.entry,
            entry.source.display(),
            property.property,
            property.expected,
            property.verdict
        )
        .unwrap();
        if let Some(counterexample) = &property.counterexample {
            write!(text, "{}", counterexample.trace).unwrap();
            writeln!(text, "   violated: {}", counterexample.violation).unwrap();
        } else if property.verdict == Verdict::Unproven {
            writeln!(
                text,
                "   (rank_increases was refuted, so termination is not proven)"
            )
            .unwrap();
        }
    }
    text
}

#[test]
fn ci_catalogue_entries_get_their_expected_verdicts() {
    let catalogue = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let entries = catalogue::load(&[&catalogue]).unwrap_or_else(|e| panic!("{e}"));
    let ci: Vec<&Entry> = entries.iter().filter(|e| e.ci).collect();
    assert!(!ci.is_empty(), "no CI entries in {}", catalogue.display());

    let next = AtomicUsize::new(0);
    let reports: Mutex<Vec<Option<Report>>> = Mutex::new(vec![None; ci.len()]);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..workers.min(ci.len()) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(entry) = ci.get(index) else { break };
                let report =
                    check::run(entry, &Options::default()).unwrap_or_else(|e| panic!("{e}"));
                reports.lock().unwrap()[index] = Some(report);
            });
        }
    });

    let mut failures = String::new();
    for (entry, report) in ci.iter().zip(reports.into_inner().unwrap()) {
        let report = report.expect("every entry was checked");
        println!(
            "{}: {} unique states, depth {}, {:.3} s",
            report.entry, report.unique_states, report.max_depth, report.seconds
        );
        for property in &report.properties {
            if let Some(counterexample) = &property.counterexample {
                assert!(
                    counterexample.shortest && counterexample.depth > 0,
                    "{}: {} trace is not a shortest one",
                    report.entry,
                    property.property
                );
            }
        }
        failures.push_str(&mismatches(entry, &report));
    }
    assert!(
        failures.is_empty(),
        "verdicts that differ from the catalogue:{failures}"
    );
}
