//! Which model paths are replayed: every path of the depth-first tree over the model's
//! `actions` / `next_state` (each distinct state entered once, by fingerprint), bounded by a state
//! count, then a seeded sample of random paths to terminal states.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use esocc::engine::group::Unsafe;
use esocc::model::replication::state::State;
use esocc::model::replication::{Action, ReplicationModel};
use stateright::Model;

use super::replay::{Divergence, Replay};

/// How much of an entry to replay.
#[derive(Clone, Copy, Debug)]
pub struct Bound {
    /// Distinct states the depth-first walk enters at most.
    pub dfs_states: usize,
    /// Random paths after the depth-first walk (none if it was exhaustive).
    pub random_paths: usize,
    /// Steps of one random path at most.
    pub random_depth: usize,
    pub seed: u64,
}

/// What a walk replayed.
#[derive(Clone, Copy, Debug, Default)]
pub struct Coverage {
    pub paths: usize,
    pub steps: usize,
    /// Distinct model states replayed.
    pub states: usize,
    /// The depth-first walk entered every reachable (non-skipped) state.
    pub exhaustive: bool,
    /// Model transitions left out by `skip`.
    pub skipped: usize,
}

/// Transitions the walk leaves out (a documented divergence), as `(before, action, after)`.
pub type Skip<'a> = &'a dyn Fn(&State, &Action, &State) -> bool;

fn fingerprint(state: &State) -> u64 {
    let mut h = DefaultHasher::new();
    state.hash(&mut h);
    h.finish()
}

struct Walker<'a> {
    model: &'a ReplicationModel,
    knobs: Unsafe,
    skip: Skip<'a>,
    seen: HashSet<u64>,
    skipped: HashSet<(u64, u64)>,
    coverage: Coverage,
}

impl Walker<'_> {
    /// The enabled, non-skipped transitions from `state`.
    fn successors(&mut self, state: &State) -> Vec<(Action, State)> {
        let mut actions = Vec::new();
        self.model.actions(state, &mut actions);
        let from = fingerprint(state);
        actions
            .into_iter()
            .filter_map(|a| {
                let next = self.model.next_state(state, a.clone())?;
                if (self.skip)(state, &a, &next) {
                    self.skipped.insert((from, fingerprint(&next)));
                    return None;
                }
                Some((a, next))
            })
            .collect()
    }

    fn replay(&mut self, path: &[Action]) -> Result<(), Divergence> {
        let mut replay = Replay::new(self.model, self.knobs);
        for action in path {
            replay.step(action.clone())?;
        }
        self.coverage.paths += 1;
        self.coverage.steps += path.len();
        Ok(())
    }

    /// Depth-first from `state`; replays the path at every leaf of the tree. Returns false once
    /// the state bound is reached.
    fn dfs(
        &mut self,
        state: &State,
        path: &mut Vec<Action>,
        limit: usize,
    ) -> Result<bool, Divergence> {
        let mut extended = false;
        for (action, next) in self.successors(state) {
            if self.seen.len() >= limit {
                if !extended {
                    self.replay(path)?;
                }
                return Ok(false);
            }
            if !self.seen.insert(fingerprint(&next)) {
                continue;
            }
            extended = true;
            path.push(action);
            let more = self.dfs(&next, path, limit)?;
            path.pop();
            if !more {
                return Ok(false);
            }
        }
        if !extended {
            self.replay(path)?;
        }
        Ok(true)
    }

    fn random(&mut self, bound: &Bound, rng: &mut u64) -> Result<(), Divergence> {
        let mut replay = Replay::new(self.model, self.knobs);
        let mut steps = 0;
        while steps < bound.random_depth {
            let state = replay.state().clone();
            let mut next = self.successors(&state);
            if next.is_empty() {
                break;
            }
            let (action, after) = next.swap_remove((splitmix(rng) % next.len() as u64) as usize);
            self.seen.insert(fingerprint(&after));
            replay.step(action)?;
            steps += 1;
        }
        self.coverage.paths += 1;
        self.coverage.steps += steps;
        Ok(())
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Replay `model`'s paths on engines with `knobs`, within `bound`; the first divergence ends it.
pub fn walk(
    model: &ReplicationModel,
    knobs: Unsafe,
    bound: Bound,
    skip: Skip<'_>,
) -> Result<Coverage, Divergence> {
    let mut walker = Walker {
        model,
        knobs,
        skip,
        seen: HashSet::new(),
        skipped: HashSet::new(),
        coverage: Coverage::default(),
    };
    let init = model.init_states().remove(0);
    walker.seen.insert(fingerprint(&init));
    let exhaustive = walker.dfs(&init, &mut Vec::new(), bound.dfs_states)?;
    if !exhaustive {
        let mut rng = bound.seed;
        for _ in 0..bound.random_paths {
            walker.random(&bound, &mut rng)?;
        }
    }
    Ok(Coverage {
        states: walker.seen.len(),
        exhaustive,
        skipped: walker.skipped.len(),
        ..walker.coverage
    })
}

/// Replay one path (a counterexample's), returning the replay for inspection.
pub fn replay_path<'m>(
    model: &'m ReplicationModel,
    knobs: Unsafe,
    path: &[Action],
) -> Result<Replay<'m>, Divergence> {
    let mut replay = Replay::new(model, knobs);
    for action in path {
        replay.step(action.clone())?;
    }
    Ok(replay)
}
