//! Checks every catalogue entry marked `"ci": true` exhaustively and asserts each verdict.
//! On a mismatch it prints the entry, the property and, for an unexpected counterexample, the
//! shortest trace as numbered steps.

use std::fmt::Write;
use std::path::Path;

use esocc::model::catalogue;
use esocc::model::check::{self, Options, Verdict};

#[test]
fn ci_catalogue_entries_get_their_expected_verdicts() {
    let catalogue = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let entries = catalogue::load(&[&catalogue]).unwrap_or_else(|e| panic!("{e}"));
    let ci: Vec<_> = entries.iter().filter(|e| e.ci).collect();
    assert!(!ci.is_empty(), "no CI entries in {}", catalogue.display());

    let mut failures = String::new();
    for entry in ci {
        let report = check::run(entry, &Options::default()).unwrap_or_else(|e| panic!("{e}"));
        println!(
            "{}: {} unique states, depth {}, {:.3} s",
            report.entry, report.unique_states, report.max_depth, report.seconds
        );
        for property in &report.properties {
            if let Some(counterexample) = &property.counterexample {
                assert!(
                    counterexample.shortest,
                    "{}: {} trace not shortest",
                    report.entry, property.property
                );
                assert!(counterexample.depth > 0);
            }
            if property.matches() {
                continue;
            }
            writeln!(
                failures,
                "\n{} ({}): {} expected {:?}, got {:?}",
                report.entry,
                entry.source.display(),
                property.property,
                property.expected,
                property.verdict
            )
            .unwrap();
            if let Some(counterexample) = &property.counterexample {
                write!(failures, "{}", counterexample.trace).unwrap();
            } else if property.verdict == Verdict::Unproven {
                writeln!(
                    failures,
                    "   (rank_increases was refuted, so termination is not proven)"
                )
                .unwrap();
            }
        }
    }
    assert!(
        failures.is_empty(),
        "verdicts that differ from the catalogue:{failures}"
    );
}
