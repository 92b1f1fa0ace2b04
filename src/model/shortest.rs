//! Shortest counterexamples, guaranteed.
//!
//! stateright 0.31's BFS can report a longer path than necessary (a later violating state
//! overwrites the first discovery), and with more than one thread it is not breadth-first at
//! all. This is a plain single-threaded breadth-first search over any [`Model`]: it keeps a
//! fingerprint and a parent pointer (parent fingerprint, action index) per visited state and
//! only the frontier's full states, checks every state when it is generated, and stops as soon
//! as each wanted property has its first discovery. All states at depth `d` are generated before
//! any at depth `d + 1`, so every path it returns is a shortest one.
//!
//! With a symmetry function, states are deduplicated by their representative. That keeps paths
//! shortest as long as the initial states, the transitions and the properties are symmetric,
//! which is what symmetry reduction requires anyway.

use crate::model::discovered_at;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};

use stateright::{Expectation, Model, Property};

/// A shortest path to a state where a property has its discovery (a violation for `always`, an
/// example for `sometimes`).
#[derive(Clone, Debug)]
pub struct Discovery<M: Model> {
    pub property: &'static str,
    pub init: M::State,
    pub actions: Vec<M::Action>,
}

/// Counts of a search, reported while it runs and at its end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// States generated, revisits included.
    pub states: usize,
    /// Distinct states (after symmetry reduction).
    pub unique_states: usize,
    /// Depth of the states being expanded.
    pub depth: usize,
}

/// A symmetry reduction: maps a state to the representative of its equivalence class.
pub type RepresentativeFn<S> = fn(&S) -> S;

/// Where a visited state came from: `None` for an initial state (with its index).
type Parent = (Option<u64>, usize);

/// Search breadth-first for the first discovery of each property in `wanted` (names unknown to
/// the model and `eventually` properties are ignored). Returns the discoveries found, in the order
/// of `wanted`, and the final counts. `progress` is called every `report_every` generated states.
pub fn search<M>(
    model: &M,
    wanted: &[&'static str],
    symmetry: Option<RepresentativeFn<M::State>>,
    report_every: usize,
    progress: &mut dyn FnMut(Progress),
) -> (Vec<Discovery<M>>, Progress)
where
    M: Model,
    M::State: Hash + Clone,
    M::Action: Clone,
{
    let properties: Vec<Property<M>> = model
        .properties()
        .into_iter()
        .filter(|p| wanted.contains(&p.name) && p.expectation != Expectation::Eventually)
        .collect();
    let mut search = Search {
        model,
        symmetry,
        properties,
        visited: HashMap::new(),
        found: Vec::new(),
        counts: Progress::default(),
    };
    let mut frontier: VecDeque<(M::State, u64, usize)> = VecDeque::new();
    for (index, init) in model.init_states().into_iter().enumerate() {
        if let Some(fingerprint) = search.visit(&init, (None, index)) {
            frontier.push_back((init, fingerprint, 0));
        }
    }
    let mut actions = Vec::new();
    let mut next_report = report_every;
    while let Some((state, fingerprint, depth)) = frontier.pop_front() {
        if search.found.len() == search.properties.len() {
            break;
        }
        search.counts.depth = depth;
        model.actions(&state, &mut actions);
        for (index, action) in actions.drain(..).enumerate() {
            let Some(next) = model.next_state(&state, action) else {
                continue;
            };
            if !model.within_boundary(&next) {
                continue;
            }
            if let Some(next_fingerprint) = search.visit(&next, (Some(fingerprint), index)) {
                frontier.push_back((next, next_fingerprint, depth + 1));
            }
        }
        if search.counts.states >= next_report {
            next_report += report_every;
            progress(search.counts);
        }
    }
    let mut found = search.found;
    found.sort_by_key(|d| wanted.iter().position(|w| *w == d.property));
    (found, search.counts)
}

struct Search<'m, M: Model> {
    model: &'m M,
    symmetry: Option<RepresentativeFn<M::State>>,
    properties: Vec<Property<M>>,
    visited: HashMap<u64, Parent>,
    found: Vec<Discovery<M>>,
    counts: Progress,
}

impl<M> Search<'_, M>
where
    M: Model,
    M::State: Hash + Clone,
    M::Action: Clone,
{
    /// Record a generated state; returns its fingerprint if it is new (then it was checked).
    fn visit(&mut self, state: &M::State, parent: Parent) -> Option<u64> {
        self.counts.states += 1;
        let fingerprint = match self.symmetry {
            Some(representative) => fingerprint(&representative(state)),
            None => fingerprint(state),
        };
        match self.visited.entry(fingerprint) {
            Entry::Occupied(_) => return None,
            Entry::Vacant(slot) => {
                slot.insert(parent);
            }
        }
        self.counts.unique_states += 1;
        for property in &self.properties {
            if discovered_at(property, self.model, state)
                && !self.found.iter().any(|d| d.property == property.name)
            {
                let discovery = self.path_to(fingerprint, property.name);
                self.found.push(discovery);
            }
        }
        Some(fingerprint)
    }

    /// Follow parent pointers back to an initial state, then replay the action indices.
    fn path_to(&self, mut fingerprint: u64, property: &'static str) -> Discovery<M> {
        let mut indices = Vec::new();
        let init_index = loop {
            let (parent, index) = self.visited[&fingerprint];
            match parent {
                None => break index,
                Some(parent) => {
                    indices.push(index);
                    fingerprint = parent;
                }
            }
        };
        indices.reverse();
        Discovery::replay(self.model, init_index, &indices, property)
    }
}

impl<M: Model> Discovery<M>
where
    M::State: Clone,
    M::Action: Clone,
{
    /// The discovery at the end of a path given as action indices (as [`Model::actions`] lists
    /// them) from initial state number `init`.
    pub fn replay(model: &M, init: usize, indices: &[usize], property: &'static str) -> Self {
        let init = model.init_states().swap_remove(init);
        let mut state = init.clone();
        let mut actions = Vec::with_capacity(indices.len());
        let mut available = Vec::new();
        for &index in indices {
            model.actions(&state, &mut available);
            let action = available.swap_remove(index);
            available.clear();
            state = model
                .next_state(&state, action.clone())
                .expect("a replayed action was enabled when the search took it");
            actions.push(action);
        }
        Discovery {
            property,
            init,
            actions,
        }
    }
}

/// A stable 64-bit fingerprint (`DefaultHasher::new()` has fixed keys).
pub(crate) fn fingerprint<T: Hash>(value: &T) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two interchangeable counters; each may grow by 1 or jump by 3, up to 6. Reaching 6 takes
    /// two steps at best, however long the detours a depth-first order would take first.
    struct Counters;

    impl Model for Counters {
        type State = [u8; 2];
        type Action = (usize, u8);

        fn init_states(&self) -> Vec<[u8; 2]> {
            vec![[0, 0]]
        }

        fn actions(&self, state: &[u8; 2], actions: &mut Vec<(usize, u8)>) {
            for (counter, value) in state.iter().enumerate() {
                if *value < 6 {
                    actions.extend([(counter, 1), (counter, 3)]);
                }
            }
        }

        fn next_state(&self, state: &[u8; 2], (counter, step): (usize, u8)) -> Option<[u8; 2]> {
            let mut next = *state;
            next[counter] = (next[counter] + step).min(6);
            Some(next)
        }

        fn properties(&self) -> Vec<Property<Self>> {
            vec![
                Property::<Self>::always("below six", |_, s| s.iter().all(|v| *v < 6)),
                Property::<Self>::always("at most six", |_, s| s.iter().all(|v| *v <= 6)),
                Property::<Self>::sometimes("sum is two", |_, s| s[0] + s[1] == 2),
            ]
        }
    }

    fn sorted(state: &[u8; 2]) -> [u8; 2] {
        let mut state = *state;
        state.sort();
        state
    }

    #[test]
    fn finds_shortest_paths_and_nothing_for_holding_properties() {
        let mut reports = 0;
        let wanted = ["sum is two", "below six", "at most six"];
        let (found, counts) = search(&Counters, &wanted, None, 1, &mut |_| reports += 1);
        let paths: Vec<(&str, Vec<(usize, u8)>)> = found
            .iter()
            .map(|d| (d.property, d.actions.clone()))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("sum is two", vec![(0, 1), (0, 1)]),
                ("below six", vec![(0, 3), (0, 3)])
            ]
        );
        assert!(reports > 0);
        assert!(counts.unique_states <= 7 * 7);
    }

    #[test]
    fn symmetry_deduplicates_by_representative_and_stays_shortest() {
        let (_, plain) = search(&Counters, &["at most six"], None, 1000, &mut |_| {});
        let (_, reduced) = search(&Counters, &["at most six"], Some(sorted), 1000, &mut |_| {});
        assert_eq!(plain.unique_states, 49);
        assert_eq!(reduced.unique_states, 28);
        let (found, _) = search(&Counters, &["below six"], Some(sorted), 1000, &mut |_| {});
        assert_eq!(found[0].actions.len(), 2);
    }
}
