//! Checking a catalogue entry: an exhaustive run ([`super::parallel`]'s depth-first search with
//! symmetry reduction, on `threads` threads), then a shortest counterexample for every property it refuted
//! ([`super::shortest`]), told as a [`Trace`]. Also serves an entry in stateright's Explorer.
//!
//! `update_terminates` is a liveness property that stateright's `eventually` cannot check
//! soundly, so it is proven from two safety properties: `rank_increases` (every action
//! strictly increases a ranking measure, so the model is acyclic and every path ends) and the
//! model's `update_terminates` (every terminal state has every update answered). If
//! `rank_increases` is refuted, `update_terminates` is reported `unproven` rather than `holds`.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use stateright::Expectation;

use super::catalogue::{Entry, Expect, WithModel};
use super::parallel::{Counters, Outcome, Root, Search};
use super::shortest::{self, RepresentativeFn};
use super::trace::{self, Trace};
use super::{Checkable, Invariant};

/// What a check reports while it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub phase: Phase,
    /// States generated, revisits included.
    pub states: usize,
    pub unique_states: usize,
    pub max_depth: usize,
    pub elapsed: Duration,
}

/// The two phases of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The exhaustive run over the whole state space.
    Exhaustive,
    /// The breadth-first search for shortest counterexamples.
    Shortest,
}

/// How to check.
#[derive(Clone, Copy)]
pub struct Options<'a> {
    /// Threads of the exhaustive run (the shortest-path search is single-threaded).
    pub threads: usize,
    /// Search shortest counterexamples (otherwise none are reported).
    pub shortest: bool,
    /// Use the model's symmetry reduction (turned off only to measure what it saves).
    pub symmetry: bool,
    /// Called about every `progress_interval` with the current counts.
    pub progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
    pub progress_interval: Duration,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            threads: 1,
            shortest: true,
            symmetry: true,
            progress: None,
            progress_interval: Duration::from_millis(100),
        }
    }
}

/// The verdict a property got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No reachable state violates it.
    Holds,
    /// A reachable state violates it.
    Counterexample,
    /// It held where checked, but what its proof rests on did not (`update_terminates` when
    /// `rank_increases` is refuted).
    Unproven,
    /// A reachability goal: a reachable state shows it.
    Reachable,
    /// A reachability goal: no reachable state shows it.
    Unreachable,
}

/// A counterexample: a shortest path to a violation, as a trace.
#[derive(Clone, Debug, Serialize)]
pub struct Counterexample {
    /// Steps of the trace.
    pub depth: usize,
    /// Whether the trace is guaranteed shortest (it is unless the breadth-first search missed
    /// the violation, in which case the exhaustive run's path is shown).
    pub shortest: bool,
    /// Why the last state violates the property.
    pub violation: String,
    pub trace: Trace,
    /// The trace as the explorer's choices ([`super::trace::choices`]), so a link reproduces it;
    /// `None` only if the model no longer lists an action of the path as enabled.
    pub path: Option<Vec<usize>>,
}

/// A verdict is what was expected (a property without expectation always matches).
pub fn verdict_matches(expected: Option<Expect>, verdict: Verdict) -> bool {
    match expected {
        None => true,
        Some(Expect::Holds) => verdict == Verdict::Holds,
        Some(Expect::Counterexample) => verdict == Verdict::Counterexample,
        Some(Expect::Reachable) => verdict == Verdict::Reachable,
        Some(Expect::Unreachable) => verdict == Verdict::Unreachable,
    }
}

/// The result of one property.
#[derive(Clone, Debug, Serialize)]
pub struct PropertyReport {
    pub property: Invariant,
    /// `None` when the entry does not state an expectation for this property.
    pub expected: Option<Expect>,
    pub verdict: Verdict,
    pub counterexample: Option<Counterexample>,
    /// A reachability goal that was reached: the steps of the exhaustive run's path to it (not
    /// guaranteed shortest).
    pub example_depth: Option<usize>,
}

impl PropertyReport {
    /// The verdict is what the entry expected (a property without expectation always matches).
    pub fn matches(&self) -> bool {
        verdict_matches(self.expected, self.verdict)
    }
}

/// The result of checking one entry.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub entry: String,
    pub model: &'static str,
    /// States generated by the exhaustive run, revisits included.
    pub states: usize,
    /// Distinct states (after symmetry reduction).
    pub unique_states: usize,
    /// The deepest state the exhaustive run reached, in steps from an initial state.
    pub max_depth: usize,
    /// Wall time of the exhaustive run.
    pub seconds: f64,
    /// Wall time of the shortest-counterexample search.
    pub shortest_seconds: f64,
    pub properties: Vec<PropertyReport>,
}

impl Report {
    /// Every verdict is what the entry expected.
    pub fn matches(&self) -> bool {
        self.properties.iter().all(PropertyReport::matches)
    }

    /// The report of one property, when the model checks it.
    pub fn property(&self, invariant: Invariant) -> Option<&PropertyReport> {
        self.properties.iter().find(|p| p.property == invariant)
    }

    /// The properties whose verdict differs from the expectation.
    pub fn mismatches(&self) -> impl Iterator<Item = &PropertyReport> {
        self.properties.iter().filter(|p| !p.matches())
    }
}

/// Why an entry could not be checked or explored.
#[derive(Debug)]
pub enum CheckError {
    /// The entry's parameters are invalid (entries from [`super::catalogue::load`] never are).
    Parameters(String),
    /// The Explorer cannot listen on the address.
    Bind(SocketAddr, std::io::Error),
}

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckError::Parameters(message) => write!(f, "invalid parameters: {message}"),
            CheckError::Bind(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
        }
    }
}

impl std::error::Error for CheckError {}

/// Check one entry: every property of its model, with the entry's expectations.
pub fn run(entry: &Entry, options: &Options) -> Result<Report, CheckError> {
    struct Run<'e, 'o>(&'e Entry, &'o Options<'o>);
    impl WithModel for Run<'_, '_> {
        type Output = Report;
        fn with<M: Checkable>(self, model: M) -> Report {
            run_model(self.0, model, self.1)
        }
    }
    entry
        .model
        .with_model(Run(entry, options))
        .map_err(CheckError::Parameters)
}

/// Serve the entry's model in stateright's Explorer on `addr`; blocks while serving.
///
/// stateright 0.31's Explorer ignores symmetry reduction, checks properties only after "Run to
/// completion" is pressed, and serves its pages without a `Content-Type` header.
pub fn explore(entry: &Entry, addr: SocketAddr, threads: usize) -> Result<(), CheckError> {
    // The Explorer panics when it cannot bind; find out first and say why.
    drop(TcpListener::bind(addr).map_err(|e| CheckError::Bind(addr, e))?);
    struct Serve(SocketAddr, usize);
    impl WithModel for Serve {
        type Output = ();
        fn with<M: Checkable>(self, model: M) {
            model.checker().threads(self.1.max(1)).serve(self.0);
        }
    }
    entry
        .model
        .with_model(Serve(addr, threads))
        .map_err(CheckError::Parameters)
}

/// Check any model for an entry.
pub fn run_model<M: Checkable>(entry: &Entry, model: M, options: &Options) -> Report {
    let symmetry = model.symmetry().filter(|_| options.symmetry);
    let roots = Root::initial(&model);
    let (outcome, seconds) = exhaustive(&model, roots, symmetry, options);
    verdicts(entry, &model, outcome, seconds, options, false)
}

/// Run the parallel search from `roots`, reporting progress; returns its outcome and wall time.
pub(crate) fn exhaustive<M: Checkable>(
    model: &M,
    roots: Vec<Root<M>>,
    symmetry: Option<RepresentativeFn<M::State>>,
    options: &Options,
) -> (Outcome<M>, f64) {
    let start = Instant::now();
    let counters = Counters::default();
    let search = Search {
        model,
        symmetry,
        threads: options.threads,
        counters: &counters,
    };
    let outcome = std::thread::scope(|scope| {
        let running = scope.spawn(|| search.run(roots));
        wait(&counters, start, options);
        running.join().expect("the search does not panic")
    });
    (outcome, start.elapsed().as_secs_f64())
}

/// The report of an exhaustive outcome: each property's verdict, and a counterexample for every
/// refuted one: shortest, from [`shortest::search`], when `options.shortest`; otherwise the
/// exhaustive run's own path if `as_found`, or none.
pub(crate) fn verdicts<M: Checkable>(
    entry: &Entry,
    model: &M,
    outcome: Outcome<M>,
    seconds: f64,
    options: &Options,
    as_found: bool,
) -> Report {
    let symmetry = model.symmetry().filter(|_| options.symmetry);
    let discoveries = outcome.discoveries;
    let discovery = |name: &str| discoveries.iter().find(|d| d.property == name);
    let properties = model.properties();
    let refuted: Vec<&'static str> = properties
        .iter()
        .filter(|p| p.expectation == Expectation::Always && discovery(p.name).is_some())
        .map(|p| p.name)
        .collect();
    let shortest_start = Instant::now();
    let mut found = if options.shortest && !refuted.is_empty() {
        search_shortest(model, &refuted, symmetry, options)
    } else {
        Vec::new()
    };
    let shortest_seconds = shortest_start.elapsed().as_secs_f64();

    let refuted_rank = refuted.contains(&Invariant::RankIncreases.name());
    let reports = properties
        .iter()
        .filter_map(|p| Invariant::from_name(p.name).map(|i| (p, i)))
        .map(|(property, invariant)| {
            let reached = discovery(property.name);
            let verdict = if invariant.is_reachability() {
                if reached.is_some() {
                    Verdict::Reachable
                } else {
                    Verdict::Unreachable
                }
            } else if refuted.contains(&property.name) {
                Verdict::Counterexample
            } else if invariant == Invariant::UpdateTerminates && refuted_rank {
                Verdict::Unproven
            } else {
                Verdict::Holds
            };
            let told = options.shortest || as_found;
            let counterexample = (verdict == Verdict::Counterexample && told).then(|| {
                match found.iter().position(|d| d.property == property.name) {
                    Some(index) => counterexample(model, invariant, found.swap_remove(index), true),
                    // Not searched breadth-first (a partitioned check), or not found so (cannot
                    // happen for a model without a boundary): the exhaustive run's path.
                    None => {
                        counterexample(model, invariant, reached.cloned().expect("refuted"), false)
                    }
                }
            });
            let example_depth = reached
                .filter(|_| invariant.is_reachability())
                .map(|d| d.actions.len());
            PropertyReport {
                property: invariant,
                expected: entry.expect.get(&invariant).copied(),
                verdict,
                counterexample,
                example_depth,
            }
        })
        .collect();
    Report {
        entry: entry.name.clone(),
        model: entry.model.kind(),
        states: outcome.states,
        unique_states: outcome.unique_states,
        max_depth: outcome.max_depth,
        seconds,
        shortest_seconds,
        properties: reports,
    }
}

/// Poll the running search, reporting progress, until it is done.
fn wait(counters: &Counters, start: Instant, options: &Options) {
    // Small models finish in milliseconds: poll fast at first, then at the progress interval.
    // Progress is reported at least once, with the final counts, even when the run is done
    // before the first poll.
    let mut pause = Duration::from_micros(200);
    loop {
        let done = counters.done.load(Ordering::Acquire);
        if let Some(progress) = options.progress {
            // A state is counted generated before it is counted unique: read the unique count
            // first, so that the figures shown never have more unique states than states.
            let unique_states = counters.unique_states.load(Ordering::SeqCst);
            progress(&Progress {
                phase: Phase::Exhaustive,
                states: counters.states.load(Ordering::SeqCst),
                unique_states,
                max_depth: steps(counters.max_depth.load(Ordering::Relaxed)),
                elapsed: start.elapsed(),
            });
        }
        if done {
            return;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(options.progress_interval);
    }
}

/// stateright counts depth in states (an initial state has depth 1); reports count steps.
fn steps(stateright_depth: usize) -> usize {
    stateright_depth.saturating_sub(1)
}

fn search_shortest<M: Checkable>(
    model: &M,
    refuted: &[&'static str],
    symmetry: Option<RepresentativeFn<M::State>>,
    options: &Options,
) -> Vec<shortest::Discovery<M>> {
    let start = Instant::now();
    let mut report = |p: shortest::Progress| {
        if let Some(progress) = options.progress {
            progress(&Progress {
                phase: Phase::Shortest,
                states: p.states,
                unique_states: p.unique_states,
                max_depth: p.depth,
                elapsed: start.elapsed(),
            });
        }
    };
    let (found, _) = shortest::search(model, refuted, symmetry, 100_000, &mut report);
    found
}

pub(crate) fn counterexample<M: Checkable>(
    model: &M,
    invariant: Invariant,
    discovery: shortest::Discovery<M>,
    shortest: bool,
) -> Counterexample {
    let shortest::Discovery { init, actions, .. } = discovery;
    let actions = &actions[..];
    let last = actions.iter().try_fold(init.clone(), |state, action| {
        model.next_state(&state, action.clone())
    });
    let path = trace::choices(model, &init, actions);
    let trace = Trace::replay(model, init, actions);
    let depth = trace.steps.len();
    let violation = last
        .and_then(|state| model.explain(invariant, &state))
        .unwrap_or_else(|| format!("step {depth} breaks it: {}", invariant.statement()));
    Counterexample {
        depth,
        shortest,
        violation,
        trace,
        path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::catalogue;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn entry(parameters: serde_json::Value, expect: serde_json::Value) -> Entry {
        let text = serde_json::json!({
            "name": "t", "description": "", "model": "single_shard",
            "parameters": parameters, "expect": expect, "ci": false
        });
        catalogue::parse(std::path::Path::new("t.json"), &text.to_string()).unwrap()
    }

    fn verdict(report: &Report, invariant: Invariant) -> Verdict {
        report.property(invariant).unwrap().verdict
    }

    #[test]
    fn termination_is_unproven_when_the_ranking_measure_fails() {
        let entry = entry(
            serde_json::json!({"clients": 2, "guard": "seq_no_and_term", "path": "rmw",
                               "retry_on_conflict": 1, "fault": "reads_abandoned"}),
            serde_json::json!({"update_terminates": "holds", "rank_increases": "counterexample", "reach_update_retry": "reachable"}),
        );
        let report = run(&entry, &Options::default()).unwrap();
        assert_eq!(
            verdict(&report, Invariant::RankIncreases),
            Verdict::Counterexample
        );
        assert_eq!(
            verdict(&report, Invariant::UpdateTerminates),
            Verdict::Unproven
        );
        let mismatches: Vec<Invariant> = report.mismatches().map(|p| p.property).collect();
        assert_eq!(mismatches, vec![Invariant::UpdateTerminates]);
        // The shortest witness: after the read, abandoning it is enabled and does not increase
        // the measure.
        let rank = report
            .properties
            .iter()
            .find(|p| p.property == Invariant::RankIncreases);
        let witness = rank.unwrap().counterexample.as_ref().unwrap();
        assert_eq!(witness.depth, 1);
        assert_eq!(
            witness.path.as_ref().map(Vec::len),
            Some(1),
            "the witness as explorer choices"
        );
        assert!(
            witness.violation.contains("abandon"),
            "{}",
            witness.violation
        );
    }

    #[test]
    fn progress_is_reported_and_counterexamples_can_be_skipped() {
        let calls = AtomicUsize::new(0);
        let progress = |p: &Progress| {
            assert!(p.unique_states <= p.states);
            calls.fetch_add(1, Ordering::Relaxed);
        };
        let entry = entry(
            serde_json::json!({"clients": 4, "guard": "blind", "path": "rmw"}),
            serde_json::json!({"no_lost_acked_write": "counterexample", "retry_sizing": "counterexample", "reach_acked_write": "reachable"}),
        );
        let options = Options {
            threads: 2,
            shortest: false,
            progress: Some(&progress),
            progress_interval: Duration::from_millis(1),
            ..Options::default()
        };
        let report = run(&entry, &options).unwrap();
        assert!(calls.load(Ordering::Relaxed) > 0);
        assert!(report.properties.iter().all(|p| p.counterexample.is_none()));
        let mismatches: Vec<Invariant> = report.mismatches().map(|p| p.property).collect();
        assert_eq!(
            mismatches,
            vec![Invariant::RetrySizing],
            "blind writes never conflict"
        );
        assert!(report.unique_states > 0 && report.max_depth == 8);
    }
}
