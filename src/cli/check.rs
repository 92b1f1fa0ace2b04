//! `esocc check`: model-check catalogue entries, show a progress bar while each runs, then the
//! verdict table and every counterexample as numbered steps, shortest first; optionally JSON, and
//! each counterexample written as JSON and as an SVG sequence diagram, and the explorer's views
//! as static pages (`--html`).

use std::path::Path;
use std::time::Duration;

use esocc::model::catalogue::{self, Entry, Expect};
use esocc::model::check::{self, Counterexample, Options, Phase, Progress, Report, Verdict};
use esocc::model::svg::sequence_diagram;
use esocc::model::Invariant;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::table::{self, Align};
use super::{CheckArgs, Failure};

pub fn run(args: CheckArgs) -> Result<(), Failure> {
    if args.merge {
        return super::part::merge(&args);
    }
    let entries = load(&args.paths)?;
    if let Some(part) = args.part {
        return super::part::run(&entries, part, &args);
    }
    if args.simulate {
        return super::simulate::run(&entries, &args);
    }
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
    let mismatches = reports
        .iter()
        .flat_map(|r| r.mismatches().map(move |p| (r, p)))
        .map(|(r, p)| (r.entry.as_str(), p.property.name(), p.expected, p.verdict));
    fail_on_mismatches(mismatches)
}

/// Exit 1, listing them, if some verdicts (entry, property, expected, verdict) differ from the
/// catalogue.
pub fn fail_on_mismatches<'a>(
    mismatches: impl Iterator<Item = (&'a str, &'a str, Option<Expect>, Verdict)>,
) -> Result<(), Failure> {
    let lines: Vec<String> = mismatches
        .map(|(entry, property, expected, verdict)| {
            format!(
                "{entry} / {property}: expected {}, got {}",
                expect_text(expected),
                verdict_text(verdict)
            )
        })
        .collect();
    if lines.is_empty() {
        return Ok(());
    }
    eprintln!("{} verdict(s) differ from the catalogue:", lines.len());
    for line in lines {
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
    entries
        .iter()
        .map(|entry| with_progress(entry, threads, |options| check::run(entry, options)))
        .collect()
}

/// Runs `check` on an entry with a progress bar on stderr (drawn only on a terminal); a
/// [`check::CheckError`] becomes bad input naming the entry's file.
pub fn with_progress<T>(
    entry: &Entry,
    threads: usize,
    check: impl FnOnce(&Options) -> Result<T, check::CheckError>,
) -> Result<T, Failure> {
    let style =
        ProgressStyle::with_template("{spinner} {prefix:.bold} {msg}").expect("a valid template");
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        .with_style(style)
        .with_prefix(entry.name.clone());
    bar.enable_steady_tick(Duration::from_millis(120));
    let show = |p: &Progress| bar.set_message(progress_text(p));
    let options = Options {
        threads,
        progress: Some(&show),
        ..Options::default()
    };
    let result =
        check(&options).map_err(|e| Failure::BadInput(format!("{}: {e}", entry.source.display())));
    bar.finish_and_clear();
    result
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
    let entries: Vec<EntryRows> = reports
        .iter()
        .map(|r| EntryRows {
            entry: &r.entry,
            unique_states: r.unique_states.to_string(),
            depth: r.max_depth,
            seconds: r.seconds + r.shortest_seconds,
            properties: r
                .properties
                .iter()
                .map(|p| (p.property, p.expected, verdict_cell(p.verdict, p.matches())))
                .collect(),
        })
        .collect();
    render_verdicts(&entries, "unique states")
}

/// One entry's part of a verdict table: its figures and, per property, the expectation and the
/// verdict as shown.
pub struct EntryRows<'a> {
    pub entry: &'a str,
    pub unique_states: String,
    pub depth: usize,
    pub seconds: f64,
    pub properties: Vec<(Invariant, Option<Expect>, String)>,
}

/// A verdict, marked `MISMATCH` when it is not the expected one.
pub fn verdict_cell(verdict: Verdict, matches: bool) -> String {
    let mark = if matches { "" } else { "  MISMATCH" };
    format!("{}{mark}", verdict_text(verdict))
}

/// The verdict table of `entries`; `unique_title` heads the unique-states column.
pub fn render_verdicts(entries: &[EntryRows], unique_title: &str) -> String {
    let rows: Vec<Vec<String>> = entries
        .iter()
        .flat_map(|e| {
            e.properties
                .iter()
                .enumerate()
                .map(move |(i, (property, expected, verdict))| {
                    let first = |cell: String| if i == 0 { cell } else { String::new() };
                    vec![
                        first(e.entry.to_string()),
                        property.to_string(),
                        expect_text(*expected).to_string(),
                        verdict.clone(),
                        first(e.unique_states.clone()),
                        first(e.depth.to_string()),
                        first(format!("{:.3}", e.seconds)),
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
            (unique_title, Align::Right),
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
    let told: Vec<Told> = counterexamples(reports)
        .into_iter()
        .map(|(report, property, c)| Told::of(&report.entry, property, c))
        .collect();
    told_text(told)
}

/// A counterexample ready to be told: its trace as text, and what its last state violates.
pub struct Told<'a> {
    pub entry: &'a str,
    pub property: &'static str,
    pub depth: usize,
    /// `(shortest)`, `(not guaranteed shortest)`, or where it came from.
    pub note: String,
    pub trace: String,
    pub violation: &'a str,
}

impl<'a> Told<'a> {
    pub fn of(entry: &'a str, property: &'static str, c: &'a Counterexample) -> Self {
        Told {
            entry,
            property,
            depth: c.depth,
            note: if c.shortest {
                "(shortest)".to_string()
            } else {
                "(not guaranteed shortest)".to_string()
            },
            trace: c.trace.to_string(),
            violation: &c.violation,
        }
    }
}

/// Counterexamples, shortest first (then in the given order), those of one entry with the same
/// trace together.
pub fn told_text(mut told: Vec<Told>) -> String {
    told.sort_by_key(|t| t.depth);
    let mut groups: Vec<Vec<Told>> = Vec::new();
    for t in told {
        match groups
            .iter_mut()
            .find(|g| g[0].entry == t.entry && g[0].trace == t.trace)
        {
            Some(group) => group.push(t),
            None => groups.push(vec![t]),
        }
    }
    if groups.is_empty() {
        return String::new();
    }
    let mut text = String::from("\nCounterexamples, shortest first:\n");
    for group in groups {
        let first = &group[0];
        let names: Vec<&str> = group.iter().map(|t| t.property).collect();
        text += &format!(
            "\n{} / {}: {} steps {}\n{}",
            first.entry,
            names.join(", "),
            first.depth,
            first.note,
            first.trace
        );
        for t in &group {
            text += &format!("    violates {}: {}\n", t.property, t.violation);
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
