//! A partitioned check: `N` independent processes (on as many machines) that together check an
//! entry exhaustively, each exploring a deterministic 1/N of its state space, and the merge of
//! their results into one verdict per property.
//!
//! Every part first runs the same single-threaded breadth-first search, deduplicated by the
//! symmetry representative, up to a frontier depth `D`: the smallest depth whose level holds at
//! least [`ROOTS_PER_PART`] × N states (or the given `--frontier-depth`), or the whole space if it
//! ends earlier. The states above the frontier (depth < D) are checked by part 0 only. Each
//! frontier state (depth exactly D) belongs to part `fingerprint mod N`; a part explores the
//! subtrees of its frontier states exhaustively ([`super::parallel`]).
//!
//! The parts cover every reachable state: a state at depth < D is checked by part 0; any other
//! state `s` has a shortest path from an initial state of length ≥ D, and that path's state at
//! step D is at depth exactly D (a prefix of a shortest path is a shortest path), so it is a
//! frontier state, and `s` is in its subtree, which some part explores. With symmetry the same
//! holds of representatives. Subtrees overlap (a state reachable from two frontier states of
//! different parts is checked by both), so the merged unique-state count is the sum of the
//! parts' counts, an upper bound of the unpartitioned count, and reported as such.
//!
//! Merging: an invariant holds iff it holds in every part (one counterexample refutes it); a
//! reachability goal is reachable iff some part reaches it; `update_terminates` is unproven if
//! `rank_increases` is refuted in any part. Counterexamples of a part are the paths its
//! depth-first search found (not guaranteed shortest; run the unpartitioned check, or its
//! breadth-first search, for the shortest). The frontier's fingerprints are those of the esocc
//! build (Rust's `DefaultHasher`): every part must run the same build, which the merge checks
//! through the frontier's size.

use crate::model::discovered_at;
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use stateright::Model;

use super::catalogue::{Entry, Expect, WithModel};
use super::check::{self, CheckError, Options, Report, Verdict};
use super::parallel::{Outcome, Root};
use super::shortest::{fingerprint, Discovery, RepresentativeFn};
use super::{Checkable, Invariant};

/// The automatic frontier is the first level with at least this many states per part.
pub const ROOTS_PER_PART: usize = 16;

/// Part `index` of `count` (`I/N` on the command line, `0 <= I < N`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub index: usize,
    pub count: usize,
}

impl FromStr for Part {
    type Err = String;
    fn from_str(text: &str) -> Result<Part, String> {
        let wrong = || format!("expected I/N with 0 <= I < N (e.g. 0/4), got `{text}`");
        let (index, count) = text.split_once('/').ok_or_else(wrong)?;
        let index: usize = index.trim().parse().map_err(|_| wrong())?;
        let count: usize = count.trim().parse().map_err(|_| wrong())?;
        if index >= count {
            return Err(wrong());
        }
        Ok(Part { index, count })
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// One part's result for one entry, as `esocc check --part` writes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PartResult {
    pub entry: String,
    pub model: String,
    pub part: Part,
    /// Depth of the frontier, in steps from an initial state.
    pub frontier_depth: usize,
    /// States on the frontier, all parts together.
    pub frontier_states: usize,
    /// Frontier states this part explored the subtrees of.
    pub roots: usize,
    /// States above the frontier this part checked (all of them in part 0, none elsewhere).
    pub above_states: usize,
    /// States generated, revisits included, above the frontier and below.
    pub states: usize,
    /// Distinct states this part checked (after symmetry reduction).
    pub unique_states: usize,
    pub max_depth: usize,
    pub seconds: f64,
    pub properties: Vec<PartProperty>,
}

/// A property's verdict within one part.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PartProperty {
    pub property: Invariant,
    pub expected: Option<Expect>,
    pub verdict: Verdict,
    pub counterexample: Option<PartCounterexample>,
}

/// A counterexample as a part found it, told as `esocc check` tells it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PartCounterexample {
    pub depth: usize,
    pub violation: String,
    /// The trace as numbered steps.
    pub text: String,
    /// The trace as the explorer's choices.
    pub path: Option<Vec<usize>>,
}

/// Check part `part` of an entry.
pub fn run(
    entry: &Entry,
    part: Part,
    frontier_depth: Option<usize>,
    options: &Options,
) -> Result<PartResult, CheckError> {
    struct Run<'e, 'o>(&'e Entry, Part, Option<usize>, &'o Options<'o>);
    impl WithModel for Run<'_, '_> {
        type Output = PartResult;
        fn with<M: Checkable>(self, model: M) -> PartResult {
            run_model(self.0, &model, self.1, self.2, self.3)
        }
    }
    entry
        .model
        .with_model(Run(entry, part, frontier_depth, options))
        .map_err(CheckError::Parameters)
}

fn run_model<M: Checkable>(
    entry: &Entry,
    model: &M,
    part: Part,
    frontier_depth: Option<usize>,
    options: &Options,
) -> PartResult {
    let symmetry = model.symmetry().filter(|_| options.symmetry);
    let frontier = Frontier::new(model, symmetry, part.count, frontier_depth);
    let (above, above_discoveries) = if part.index == 0 {
        (frontier.above.len(), frontier.discoveries(model))
    } else {
        (0, Vec::new())
    };
    let frontier_states = frontier.level.len();
    let roots: Vec<Root<M>> = frontier
        .level
        .into_iter()
        .filter(|(fp, _)| owner(*fp, part.count) == part.index)
        .map(|(_, root)| root)
        .collect();
    let root_count = roots.len();
    let options = Options {
        shortest: false,
        ..*options
    };
    let (below, seconds) = check::exhaustive(model, roots, symmetry, &options);
    let mut discoveries = below.discoveries;
    for discovery in above_discoveries {
        if !discoveries.iter().any(|d| d.property == discovery.property) {
            discoveries.push(discovery);
        }
    }
    let outcome = Outcome {
        states: below.states
            + if part.index == 0 {
                frontier.generated
            } else {
                0
            },
        unique_states: below.unique_states + above,
        max_depth: below.max_depth.max(frontier.depth.saturating_sub(1)),
        discoveries,
    };
    let report = check::verdicts(entry, model, outcome, seconds, &options, true);
    PartResult {
        entry: entry.name.clone(),
        model: entry.model.kind().to_string(),
        part,
        frontier_depth: frontier.depth,
        frontier_states,
        roots: root_count,
        above_states: above,
        states: report.states,
        unique_states: report.unique_states,
        max_depth: report.max_depth,
        seconds: report.seconds,
        properties: part_properties(report),
    }
}

fn part_properties(report: Report) -> Vec<PartProperty> {
    report
        .properties
        .into_iter()
        .map(|p| PartProperty {
            property: p.property,
            expected: p.expected,
            verdict: p.verdict,
            counterexample: p.counterexample.map(|c| PartCounterexample {
                depth: c.depth,
                violation: c.violation,
                text: c.trace.to_string(),
                path: c.path,
            }),
        })
        .collect()
}

/// The part a frontier state belongs to.
fn owner(fingerprint: u64, parts: usize) -> usize {
    (fingerprint % parts as u64) as usize
}

/// The breadth-first levels above the frontier and the frontier itself.
struct Frontier<M: Model> {
    /// Depth of the frontier in steps.
    depth: usize,
    /// Every state above the frontier, with its path.
    above: Vec<Root<M>>,
    /// The frontier states with their representative's fingerprint.
    level: Vec<(u64, Root<M>)>,
    /// States generated above the frontier, revisits included.
    generated: usize,
}

impl<M> Frontier<M>
where
    M: Model,
    M::State: std::hash::Hash + Clone,
    M::Action: Clone,
{
    fn new(
        model: &M,
        symmetry: Option<RepresentativeFn<M::State>>,
        parts: usize,
        depth: Option<usize>,
    ) -> Self {
        let key = |s: &M::State| match symmetry {
            Some(representative) => fingerprint(&representative(s)),
            None => fingerprint(s),
        };
        let mut seen = HashSet::new();
        let mut generated = 0;
        let mut level: Vec<(u64, Root<M>)> = Vec::new();
        for root in Root::initial(model) {
            generated += 1;
            let fp = key(&root.state);
            if seen.insert(fp) {
                level.push((fp, root));
            }
        }
        let mut above = Vec::new();
        let mut reached = 0;
        let mut actions = Vec::new();
        let wanted = |reached: usize, level: &Vec<(u64, Root<M>)>| match depth {
            Some(depth) => reached < depth,
            None => level.len() < ROOTS_PER_PART * parts,
        };
        while !level.is_empty() && wanted(reached, &level) {
            let mut next = Vec::new();
            for (_, root) in &level {
                model.actions(&root.state, &mut actions);
                for (index, action) in actions.drain(..).enumerate() {
                    let Some(state) = model.next_state(&root.state, action) else {
                        continue;
                    };
                    if !model.within_boundary(&state) {
                        continue;
                    }
                    generated += 1;
                    let fp = key(&state);
                    if seen.insert(fp) {
                        let mut prefix = root.prefix.clone();
                        prefix.push(index);
                        let init = root.init;
                        next.push((
                            fp,
                            Root {
                                init,
                                prefix,
                                state,
                            },
                        ));
                    }
                }
            }
            above.extend(level.into_iter().map(|(_, root)| root));
            level = next;
            reached += 1;
        }
        Frontier {
            depth: reached,
            above,
            level,
            generated,
        }
    }

    /// The first discovery of each property among the states above the frontier.
    fn discoveries(&self, model: &M) -> Vec<Discovery<M>> {
        let mut found: Vec<Discovery<M>> = Vec::new();
        for property in model.properties() {
            let discovered = |root: &&Root<M>| discovered_at(&property, model, &root.state);
            if let Some(root) = self.above.iter().find(discovered) {
                found.push(Discovery::replay(
                    model,
                    root.init,
                    &root.prefix,
                    property.name,
                ));
            }
        }
        found
    }
}

/// One entry's verdicts merged from all its parts.
#[derive(Clone, Debug, Serialize)]
pub struct Merged {
    pub entry: String,
    pub parts: usize,
    pub frontier_depth: usize,
    /// Sum of the parts' unique states: an upper bound of the unpartitioned count (subtrees of
    /// different parts may share states).
    pub unique_states_upper_bound: usize,
    pub states: usize,
    pub max_depth: usize,
    /// The slowest part's wall time.
    pub seconds: f64,
    pub properties: Vec<MergedProperty>,
}

/// A property's merged verdict, with the shortest counterexample any part found.
#[derive(Clone, Debug, Serialize)]
pub struct MergedProperty {
    pub property: Invariant,
    pub expected: Option<Expect>,
    pub verdict: Verdict,
    /// The part whose counterexample is shown.
    pub from_part: Option<usize>,
    pub counterexample: Option<PartCounterexample>,
}

impl MergedProperty {
    pub fn matches(&self) -> bool {
        check::verdict_matches(self.expected, self.verdict)
    }
}

/// Merge part results: every entry must come with parts `0..N` exactly once, all with the same
/// `N`, frontier and properties. Entries keep the order of their first part.
pub fn merge(results: Vec<PartResult>) -> Result<Vec<Merged>, String> {
    let mut entries: Vec<(String, Vec<PartResult>)> = Vec::new();
    for result in results {
        match entries.iter_mut().find(|(name, _)| *name == result.entry) {
            Some((_, parts)) => parts.push(result),
            None => entries.push((result.entry.clone(), vec![result])),
        }
    }
    entries
        .into_iter()
        .map(|(name, parts)| merge_entry(&name, parts))
        .collect()
}

fn merge_entry(name: &str, mut parts: Vec<PartResult>) -> Result<Merged, String> {
    parts.sort_by_key(|p| p.part.index);
    let first = &parts[0];
    let count = first.part.count;
    let indices: Vec<usize> = parts.iter().map(|p| p.part.index).collect();
    if indices != (0..count).collect::<Vec<_>>() || parts.iter().any(|p| p.part.count != count) {
        let given: Vec<String> = parts.iter().map(|p| p.part.to_string()).collect();
        return Err(format!(
            "{name}: need each of parts 0/{count} to {}/{count} exactly once, got {}",
            count - 1,
            given.join(", ")
        ));
    }
    let same = |p: &PartResult| {
        p.frontier_depth == first.frontier_depth
            && p.frontier_states == first.frontier_states
            && p.properties.len() == first.properties.len()
            && p.properties
                .iter()
                .zip(&first.properties)
                .all(|(a, b)| a.property == b.property)
    };
    if let Some(other) = parts.iter().find(|p| !same(p)) {
        return Err(format!(
            "{name}: part {} has another frontier or other properties than part {} (frontier depth {} with {} states, not {} with {}): the parts come from different builds, entries or options",
            other.part, first.part, other.frontier_depth, other.frontier_states, first.frontier_depth, first.frontier_states
        ));
    }
    let roots: usize = parts.iter().map(|p| p.roots).sum();
    if roots != first.frontier_states {
        return Err(format!(
            "{name}: the parts explored {roots} frontier states of {}",
            first.frontier_states
        ));
    }
    let refuted = |property: Invariant| {
        parts.iter().any(|p| {
            p.properties
                .iter()
                .any(|q| q.property == property && q.verdict == Verdict::Counterexample)
        })
    };
    let rank_refuted = refuted(Invariant::RankIncreases);
    let properties = first
        .properties
        .iter()
        .enumerate()
        .map(|(i, property)| {
            let verdicts: Vec<Verdict> = parts.iter().map(|p| p.properties[i].verdict).collect();
            let verdict = if property.property.is_reachability() {
                if verdicts.contains(&Verdict::Reachable) {
                    Verdict::Reachable
                } else {
                    Verdict::Unreachable
                }
            } else if verdicts.contains(&Verdict::Counterexample) {
                Verdict::Counterexample
            } else if property.property == Invariant::UpdateTerminates && rank_refuted {
                Verdict::Unproven
            } else {
                Verdict::Holds
            };
            let shortest = parts
                .iter()
                .filter_map(|p| {
                    let c = p.properties[i].counterexample.as_ref()?;
                    Some((p.part.index, c))
                })
                .min_by_key(|(_, c)| c.depth);
            MergedProperty {
                property: property.property,
                expected: property.expected,
                verdict,
                from_part: shortest.map(|(index, _)| index),
                counterexample: shortest.map(|(_, c)| c.clone()),
            }
        })
        .collect();
    Ok(Merged {
        entry: name.to_string(),
        parts: count,
        frontier_depth: first.frontier_depth,
        unique_states_upper_bound: parts.iter().map(|p| p.unique_states).sum(),
        states: parts.iter().map(|p| p.states).sum(),
        max_depth: parts.iter().map(|p| p.max_depth).max().unwrap_or(0),
        seconds: parts.iter().map(|p| p.seconds).fold(0.0, f64::max),
        properties,
    })
}
