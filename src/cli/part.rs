//! `esocc check --part I/N` and `esocc check --merge`: a check split over processes that any job
//! runner starts ([`esocc::model::part`]), and the one verdict table of their results.

use std::path::Path;

use esocc::model::catalogue::Entry;
use esocc::model::part::{self, Merged, Part, PartResult};

use super::check::{self, render_verdicts, told_text, verdict_cell, EntryRows, Told};
use super::{CheckArgs, Failure};

/// Check part `part` of every entry; write the results as a JSON array.
pub fn run(entries: &[Entry], part: Part, args: &CheckArgs) -> Result<(), Failure> {
    let threads = super::threads(args.threads);
    let results = entries
        .iter()
        .map(|entry| {
            check::with_progress(entry, threads, |options| {
                part::run(entry, part, args.frontier_depth, options)
            })
        })
        .collect::<Result<Vec<PartResult>, Failure>>()?;
    let json = serde_json::to_string_pretty(&results).expect("part results serialize") + "\n";
    match &args.out {
        Some(path) => std::fs::write(path, json)
            .map_err(|e| Failure::BadInput(format!("cannot write {}: {e}", path.display()))),
        None => {
            print!("{json}");
            Ok(())
        }
    }
}

/// Merge the part files given as paths; exit 1 if a merged verdict differs from the catalogue.
pub fn merge(args: &CheckArgs) -> Result<(), Failure> {
    let mut results = Vec::new();
    for path in &args.paths {
        results.extend(read(path)?);
    }
    let merged = part::merge(results).map_err(Failure::BadInput)?;
    if args.json {
        let json = serde_json::json!({
            "all_match": merged.iter().all(|m| m.properties.iter().all(|p| p.matches())),
            "merged": merged,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&json).expect("merged results serialize")
        );
    } else {
        print!("{}", merged_text(&merged));
    }
    check::fail_on_mismatches(merged.iter().flat_map(|m| {
        m.properties
            .iter()
            .filter(|p| !p.matches())
            .map(|p| (m.entry.as_str(), p.property.name(), p.expected, p.verdict))
    }))
}

fn read(path: &Path) -> Result<Vec<PartResult>, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::BadInput(format!(
            "cannot read {} (--merge takes the JSON files of --part runs): {e}",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        Failure::BadInput(format!(
            "{}: not the output of esocc check --part: {e}",
            path.display()
        ))
    })
}

/// The verdict table, the counterexamples and what the figures mean.
fn merged_text(merged: &[Merged]) -> String {
    let entries: Vec<EntryRows> = merged
        .iter()
        .map(|m| EntryRows {
            entry: &m.entry,
            unique_states: format!("≤ {}", m.unique_states_upper_bound),
            depth: m.max_depth,
            seconds: m.seconds,
            properties: m
                .properties
                .iter()
                .map(|p| (p.property, p.expected, verdict_cell(p.verdict, p.matches())))
                .collect(),
        })
        .collect();
    let told = merged
        .iter()
        .flat_map(|m| {
            m.properties.iter().filter_map(move |p| {
                let c = p.counterexample.as_ref()?;
                Some(Told {
                    entry: &m.entry,
                    property: p.property.name(),
                    depth: c.depth,
                    note: format!(
                        "(part {}/{}, not guaranteed shortest)",
                        p.from_part.unwrap_or(0),
                        m.parts
                    ),
                    trace: c.text.clone(),
                    violation: &c.violation,
                })
            })
        })
        .collect();
    let parts: Vec<String> = merged
        .iter()
        .map(|m| {
            format!(
                "{}: {} parts, frontier at depth {}",
                m.entry, m.parts, m.frontier_depth
            )
        })
        .collect();
    format!(
        "{}{}\n{}.\nUnique states are the sum of the parts' counts, an upper bound (parts may share states); seconds are the slowest part's.\n",
        render_verdicts(&entries, "unique states"),
        told_text(told),
        parts.join("; ")
    )
}
