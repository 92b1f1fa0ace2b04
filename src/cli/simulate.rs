//! `esocc check --simulate`: random walks over each entry's model ([`esocc::model::simulate`]),
//! with the first counterexample per property, for configurations too big to check exhaustively.

use esocc::model::catalogue::Entry;
use esocc::model::simulate::{self, Finding, Simulation, Walks};

use super::check::{expect_text, told_text, Told};
use super::table::{self, Align};
use super::{CheckArgs, Failure};

pub fn run(entries: &[Entry], args: &CheckArgs) -> Result<(), Failure> {
    let walks = Walks {
        paths: usize::try_from(args.walks).unwrap_or(usize::MAX),
        seed: args.seed,
        max_depth: usize::try_from(args.max_depth).unwrap_or(usize::MAX),
    };
    let simulations = entries
        .iter()
        .map(|entry| {
            simulate::run(entry, walks)
                .map_err(|e| Failure::BadInput(format!("{}: {e}", entry.source.display())))
        })
        .collect::<Result<Vec<Simulation>, Failure>>()?;
    if args.json {
        let json = serde_json::json!({ "simulations": simulations });
        println!(
            "{}",
            serde_json::to_string_pretty(&json).expect("simulations serialize")
        );
    } else {
        print!("{}", text(&simulations));
    }
    let contradictions: Vec<String> = simulations
        .iter()
        .flat_map(|s| {
            s.properties
                .iter()
                .filter(|p| p.contradicts())
                .map(move |p| {
                    format!(
                        "{} / {}: expected {}, {}",
                        s.entry,
                        p.property,
                        expect_text(p.expected),
                        finding_text(p.finding)
                    )
                })
        })
        .collect();
    if contradictions.is_empty() {
        return Ok(());
    }
    eprintln!(
        "{} finding(s) contradict the catalogue:",
        contradictions.len()
    );
    for line in contradictions {
        eprintln!("  {line}");
    }
    Err(Failure::Mismatch)
}

fn finding_text(finding: Finding) -> &'static str {
    match finding {
        Finding::Counterexample => "counterexample",
        Finding::NotRefuted => "not refuted",
        Finding::Reachable => "reachable",
        Finding::NotReached => "not reached",
    }
}

fn text(simulations: &[Simulation]) -> String {
    let rows: Vec<Vec<String>> = simulations
        .iter()
        .flat_map(|s| {
            s.properties.iter().enumerate().map(move |(i, p)| {
                let mark = if p.contradicts() { "  CONTRADICTS" } else { "" };
                vec![
                    if i == 0 {
                        s.entry.clone()
                    } else {
                        String::new()
                    },
                    p.property.to_string(),
                    expect_text(p.expected).to_string(),
                    format!("{}{mark}", finding_text(p.finding)),
                ]
            })
        })
        .collect();
    let table = table::render(
        &[
            ("entry", Align::Left),
            ("property", Align::Left),
            ("expected", Align::Left),
            ("found by the walks", Align::Left),
        ],
        &rows,
    );
    let told = simulations
        .iter()
        .flat_map(|s| {
            s.properties.iter().filter_map(move |p| {
                let c = p.counterexample.as_ref()?;
                let mut told = Told::of(&s.entry, p.property.name(), c);
                told.note = "(the first a walk met, not guaranteed shortest)".to_string();
                Some(told)
            })
        })
        .collect();
    let figures: String = simulations
        .iter()
        .map(|s| {
            format!(
                "{}: {} paths walked (seed {}), {} steps, {} distinct states seen, longest walk {} steps, {} cut at the depth bound.\n",
                s.entry, s.paths, s.seed, s.steps, s.distinct_states, s.max_depth, s.cut_at_max_depth
            )
        })
        .collect();
    format!(
        "{table}{}\n{figures}A simulation proves nothing: \"not refuted\" and \"not reached\" are only what these walks saw; a counterexample or a reached goal is real.\n",
        told_text(told)
    )
}
