//! Simulation for configurations too big to check exhaustively: random walks from an initial
//! state, each step a uniformly chosen enabled action, until a terminal state or a depth bound.
//! Bounded by the number of walks, never by time; one seeded ChaCha8 stream drives every choice,
//! so a seed gives the same walks, counts and counterexamples on every run and machine.
//!
//! A simulation proves nothing: an invariant without a counterexample is only "not refuted"
//! by the walks taken, and a goal not reached is only "not reached". What it finds is real: a
//! counterexample is a path of the model (shown as `esocc check` shows it, not guaranteed
//! shortest) and a reached goal is reachable.

use crate::model::discovered_at;
use std::collections::HashSet;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::catalogue::{Entry, Expect, WithModel};
use super::check::{self, CheckError, Counterexample};
use super::shortest::{fingerprint, Discovery};
use super::{Checkable, Invariant};

/// How to simulate.
#[derive(Clone, Copy, Debug)]
pub struct Walks {
    /// Random walks to take.
    pub paths: usize,
    pub seed: u64,
    /// Steps after which a walk stops even if actions remain enabled.
    pub max_depth: usize,
}

/// What the walks found, for one property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    /// A walk reached a state violating the invariant.
    Counterexample,
    /// No walk reached a violation (which proves nothing).
    NotRefuted,
    /// A walk reached the goal.
    Reachable,
    /// No walk reached the goal (which proves nothing).
    NotReached,
}

/// One property's finding.
#[derive(Clone, Debug, Serialize)]
pub struct SimulatedProperty {
    pub property: Invariant,
    pub expected: Option<Expect>,
    pub finding: Finding,
    /// The first counterexample the walks met.
    pub counterexample: Option<Counterexample>,
}

impl SimulatedProperty {
    /// Does the finding contradict the expectation? Only what was found can: a counterexample
    /// to an invariant expected to hold, or an example of a goal expected unreachable.
    pub fn contradicts(&self) -> bool {
        matches!(
            (self.expected, self.finding),
            (Some(Expect::Holds), Finding::Counterexample)
                | (Some(Expect::Unreachable), Finding::Reachable)
        )
    }
}

/// The result of simulating one entry.
#[derive(Clone, Debug, Serialize)]
pub struct Simulation {
    pub entry: String,
    pub model: &'static str,
    pub seed: u64,
    /// Walks taken.
    pub paths: usize,
    /// Steps taken, all walks together.
    pub steps: usize,
    /// Distinct states seen (after symmetry reduction).
    pub distinct_states: usize,
    /// The longest walk, in steps.
    pub max_depth: usize,
    /// Walks stopped by the depth bound rather than by a terminal state.
    pub cut_at_max_depth: usize,
    pub properties: Vec<SimulatedProperty>,
}

/// Simulate an entry.
pub fn run(entry: &Entry, walks: Walks) -> Result<Simulation, CheckError> {
    struct Run<'e>(&'e Entry, Walks);
    impl WithModel for Run<'_> {
        type Output = Simulation;
        fn with<M: Checkable>(self, model: M) -> Simulation {
            simulate(self.0, &model, self.1)
        }
    }
    entry
        .model
        .with_model(Run(entry, walks))
        .map_err(CheckError::Parameters)
}

fn simulate<M: Checkable>(entry: &Entry, model: &M, walks: Walks) -> Simulation {
    let symmetry = model.symmetry();
    let key = |s: &M::State| match symmetry {
        Some(representative) => fingerprint(&representative(s)),
        None => fingerprint(s),
    };
    let properties = model.properties();
    let inits: Vec<(usize, M::State)> = model
        .init_states()
        .into_iter()
        .enumerate()
        .filter(|(_, s)| model.within_boundary(s))
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(walks.seed);
    let mut seen = HashSet::new();
    let mut found: Vec<Option<Discovery<M>>> = properties.iter().map(|_| None).collect();
    let mut result = Simulation {
        entry: entry.name.clone(),
        model: entry.model.kind(),
        seed: walks.seed,
        paths: 0,
        steps: 0,
        distinct_states: 0,
        max_depth: 0,
        cut_at_max_depth: 0,
        properties: Vec::new(),
    };
    let mut actions = Vec::new();
    let mut enabled: Vec<(usize, M::State)> = Vec::new();
    for _ in 0..walks.paths {
        if inits.is_empty() {
            break;
        }
        result.paths += 1;
        let (init, mut state) = inits[rng.random_range(0..inits.len())].clone();
        let mut path = Vec::new();
        loop {
            seen.insert(key(&state));
            for (property, slot) in properties.iter().zip(&mut found) {
                if discovered_at(property, model, &state) && slot.is_none() {
                    *slot = Some(Discovery::replay(model, init, &path, property.name));
                }
            }
            if path.len() >= walks.max_depth {
                result.cut_at_max_depth += 1;
                break;
            }
            model.actions(&state, &mut actions);
            enabled.clear();
            for (index, action) in actions.drain(..).enumerate() {
                if let Some(next) = model.next_state(&state, action) {
                    if model.within_boundary(&next) {
                        enabled.push((index, next));
                    }
                }
            }
            if enabled.is_empty() {
                break;
            }
            let (index, next) = enabled.swap_remove(rng.random_range(0..enabled.len()));
            path.push(index);
            state = next;
        }
        result.steps += path.len();
        result.max_depth = result.max_depth.max(path.len());
    }
    result.distinct_states = seen.len();
    result.properties = properties
        .iter()
        .zip(found)
        .filter_map(|(p, discovery)| Invariant::from_name(p.name).map(|i| (i, discovery)))
        .map(|(invariant, discovery)| {
            let finding = match (invariant.is_reachability(), discovery.is_some()) {
                (true, true) => Finding::Reachable,
                (true, false) => Finding::NotReached,
                (false, true) => Finding::Counterexample,
                (false, false) => Finding::NotRefuted,
            };
            SimulatedProperty {
                property: invariant,
                expected: entry.expect.get(&invariant).copied(),
                finding,
                counterexample: discovery
                    .filter(|_| !invariant.is_reachability())
                    .map(|d| check::counterexample(model, invariant, d, false)),
            }
        })
        .collect();
    result
}
