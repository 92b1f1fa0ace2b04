//! `esocc check`: model-check catalogue entries, show a progress bar while each runs, then the
//! verdict table and every counterexample as numbered steps, shortest first; optionally JSON, and
//! each counterexample written as JSON and as an SVG sequence diagram, and the explorer's views
//! as static pages (`--html`).

use std::path::Path;
use std::time::Duration;

use esocc::model::catalogue::{self, Entry, Expect};
use esocc::model::check::{self, Counterexample, Options, Phase, Progress, Report, Verdict};
use esocc::model::svg::sequence_diagram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::table::{self, Align};
use super::{CheckArgs, Failure};

pub fn run(args: CheckArgs) -> Result<(), Failure> {
    let entries = load(&args.paths)?;
    for dir in args.trace_dir.iter().chain(&args.html) {
        std::fs::create_dir_all(dir).map_err(|e| {
            Failure::BadInput(format!("cannot create directory {}: {e}", dir.display()))
        })?;
    }
    let reports = check_all(&entries, super::threads(args.threads))?;
    if args.json {
        let all_match = reports.iter().all(Report::matches);
        let json = serde_json::json!({ "all_match": all_match, "reports": reports });
        println!(
            "{}",
            serde_json::to_string_pretty(&json).expect("reports serialize")
        );
    } else {
        print!("{}", verdict_table(&reports));
        print!("{}", counterexamples_text(&reports));
        println!("\n{}", summary_line(&reports));
    }
    if let Some(dir) = &args.trace_dir {
        write_traces(dir, &reports)?;
    }
    if let Some(dir) = &args.html {
        let written =
            esocc::explorer::html::write(dir, &entries, &reports).map_err(Failure::BadInput)?;
        eprintln!(
            "wrote {} page(s) to {} (open index.html)",
            written.len(),
            dir.display()
        );
    }
    let mismatches: Vec<String> = reports
        .iter()
        .flat_map(|r| r.mismatches().map(move |p| (r, p)))
        .map(|(r, p)| {
            format!(
                "{} / {}: expected {}, got {}",
                r.entry,
                p.property,
                expect_text(p.expected),
                verdict_text(p.verdict)
            )
        })
        .collect();
    if mismatches.is_empty() {
        return Ok(());
    }
    eprintln!("{} verdict(s) differ from the catalogue:", mismatches.len());
    for line in mismatches {
        eprintln!("  {line}");
    }
    Err(Failure::Mismatch)
}

/// Loads the catalogue, turning a bad file into exit 2 with its location.
pub fn load(paths: &[std::path::PathBuf]) -> Result<Vec<Entry>, Failure> {
    catalogue::load(paths).map_err(|e| Failure::BadInput(e.to_string()))
}

/// Checks every entry in order with a progress bar on stderr (drawn only on a terminal).
pub fn check_all(entries: &[Entry], threads: usize) -> Result<Vec<Report>, Failure> {
    let style =
        ProgressStyle::with_template("{spinner} {prefix:.bold} {msg}").expect("a valid template");
    entries
        .iter()
        .map(|entry| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
                .with_style(style.clone())
                .with_prefix(entry.name.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            let show = |p: &Progress| bar.set_message(progress_text(p));
            let options = Options {
                threads,
                progress: Some(&show),
                ..Options::default()
            };
            let report = check::run(entry, &options)
                .map_err(|e| Failure::BadInput(format!("{}: {e}", entry.source.display())));
            bar.finish_and_clear();
            report
        })
        .collect()
}

fn progress_text(p: &Progress) -> String {
    let phase = match p.phase {
        Phase::Exhaustive => "exhaustive",
        Phase::Shortest => "shortest counterexamples",
    };
    let rate = p.states as f64 / p.elapsed.as_secs_f64().max(1e-3);
    format!(
        "{phase}: {} states, {} unique, {:.0} states/s, depth {}",
        p.states, p.unique_states, rate, p.max_depth
    )
}

/// One row per property: entry, property, expected, verdict, unique states, depth, seconds. The
/// entry and its whole-run figures are written on its first row only. A verdict that differs from
/// its expectation is marked `MISMATCH`.
pub fn verdict_table(reports: &[Report]) -> String {
    let rows: Vec<Vec<String>> = reports
        .iter()
        .flat_map(|r| {
            r.properties.iter().enumerate().map(move |(i, p)| {
                let mark = if p.matches() { "" } else { "  MISMATCH" };
                let first = |cell: String| if i == 0 { cell } else { String::new() };
                vec![
                    first(r.entry.clone()),
                    p.property.to_string(),
                    expect_text(p.expected).to_string(),
                    format!("{}{mark}", verdict_text(p.verdict)),
                    first(r.unique_states.to_string()),
                    first(r.max_depth.to_string()),
                    first(format!("{:.3}", r.seconds + r.shortest_seconds)),
                ]
            })
        })
        .collect();
    table::render(
        &[
            ("entry", Align::Left),
            ("property", Align::Left),
            ("expected", Align::Left),
            ("verdict", Align::Left),
            ("unique states", Align::Right),
            ("depth", Align::Right),
            ("seconds", Align::Right),
        ],
        &rows,
    )
}

/// `35 entries, 340 properties checked (312 with an expected verdict): all as expected.`
pub fn summary_line(reports: &[Report]) -> String {
    let properties = reports.iter().map(|r| r.properties.len()).sum::<usize>();
    let expected = reports
        .iter()
        .flat_map(|r| &r.properties)
        .filter(|p| p.expected.is_some())
        .count();
    let differ = reports.iter().flat_map(|r| r.mismatches()).count();
    let outcome = if differ == 0 {
        "all as expected".to_string()
    } else {
        format!("{differ} differ from the catalogue")
    };
    format!(
        "{} entries, {properties} properties checked ({expected} with an expected verdict): {outcome}.",
        reports.len()
    )
}

/// Every counterexample, shortest first, as numbered steps followed by what the last state
/// violates. Properties of one entry refuted by the same trace are shown together.
pub fn counterexamples_text(reports: &[Report]) -> String {
    let mut groups: Vec<(&Report, Vec<(&str, &Counterexample)>)> = Vec::new();
    for (report, property, counterexample) in counterexamples(reports) {
        match groups
            .iter_mut()
            .find(|(r, found)| r.entry == report.entry && found[0].1.trace == counterexample.trace)
        {
            Some((_, found)) => found.push((property, counterexample)),
            None => groups.push((report, vec![(property, counterexample)])),
        }
    }
    if groups.is_empty() {
        return String::new();
    }
    let mut text = String::from("\nCounterexamples, shortest first:\n");
    for (report, found) in groups {
        let (_, first) = found[0];
        let names: Vec<&str> = found.iter().map(|(property, _)| *property).collect();
        text += &format!(
            "\n{} / {}: {} steps{}\n{}",
            report.entry,
            names.join(", "),
            first.depth,
            if first.shortest {
                " (shortest)"
            } else {
                " (not guaranteed shortest)"
            },
            first.trace
        );
        for (property, counterexample) in found {
            text += &format!("    violates {property}: {}\n", counterexample.violation);
        }
    }
    text
}

/// `(report, property name, counterexample)` for every counterexample, shortest first, then in
/// catalogue order.
pub fn counterexamples(reports: &[Report]) -> Vec<(&Report, &'static str, &Counterexample)> {
    let mut found: Vec<_> = reports
        .iter()
        .flat_map(|r| {
            r.properties
                .iter()
                .filter_map(move |p| p.counterexample.as_ref().map(|c| (r, p.property.name(), c)))
        })
        .collect();
    found.sort_by_key(|(_, _, c)| c.depth);
    found
}

/// The JSON file written for one counterexample.
#[derive(Serialize)]
struct TraceFile<'a> {
    entry: &'a str,
    property: &'static str,
    #[serde(flatten)]
    counterexample: &'a Counterexample,
}

fn write_traces(dir: &Path, reports: &[Report]) -> Result<(), Failure> {
    for (report, property, counterexample) in counterexamples(reports) {
        let json = serde_json::to_string_pretty(&TraceFile {
            entry: &report.entry,
            property,
            counterexample,
        })
        .expect("traces serialize");
        let diagram = sequence_diagram(&counterexample.trace);
        for (extension, content) in [("json", json + "\n"), ("svg", diagram)] {
            let path = dir.join(format!("{}.{property}.{extension}", report.entry));
            std::fs::write(&path, content)
                .map_err(|e| Failure::BadInput(format!("cannot write {}: {e}", path.display())))?;
        }
    }
    Ok(())
}

pub fn expect_text(expected: Option<Expect>) -> &'static str {
    match expected {
        None => "-",
        Some(Expect::Holds) => "holds",
        Some(Expect::Counterexample) => "counterexample",
        Some(Expect::Reachable) => "reachable",
        Some(Expect::Unreachable) => "unreachable",
    }
}

pub fn verdict_text(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Holds => "holds",
        Verdict::Counterexample => "counterexample",
        Verdict::Unproven => "unproven",
        Verdict::Reachable => "reachable",
        Verdict::Unreachable => "unreachable",
    }
}
