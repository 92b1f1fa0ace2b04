//! A parallel exhaustive depth-first search with symmetry reduction, over any stateright
//! [`Model`], from any set of roots (the initial states, or the frontier states a part of a
//! partitioned check owns, [`super::part`]).
//!
//! stateright 0.31's DFS checker combines `.threads(n)` with `.symmetry_fn(..)`, but every job
//! carries its whole path as a `Vec<usize>` cloned per successor, its thread pool shares work
//! through one mutex-guarded market, and it cannot start from states other than the model's
//! initial ones. This search keeps, per visited state, its fingerprint and a parent pointer
//! (parent fingerprint, action index) in one sharded map, so a job is just a state; each thread
//! works on its own stack and hands the older half of it to an idle thread through a shared
//! injector.
//!
//! It follows stateright's DFS exactly where that decides the figures: states are deduplicated
//! by the fingerprint of their representative, the path continues with the state as generated
//! (not its representative), every property is evaluated on every visited state and the last
//! discovery wins, a state where every `always` property fails and every `sometimes` property
//! holds is not expanded, and each thread stops, after a block of 1,500 states, once every
//! property has a discovery. On one thread it visits states in stateright's order, so counts,
//! depths and discoveries are the ones stateright reports. `eventually` properties are not
//! checked (no model of the catalogue has one).

use crate::model::discovered_at;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use dashmap::DashMap;
use stateright::{Expectation, Model, Property};

use super::shortest::{fingerprint, Discovery, RepresentativeFn};

/// Where a search starts: a state and the path that reaches it from an initial state.
#[derive(Clone)]
pub struct Root<M: Model> {
    pub init: usize,
    /// Action indices (as [`Model::actions`] lists them) from initial state `init`.
    pub prefix: Vec<usize>,
    pub state: M::State,
}

impl<M: Model> Root<M> {
    /// The model's initial states within its boundary, as roots (stateright's starting set).
    pub fn initial(model: &M) -> Vec<Root<M>> {
        model
            .init_states()
            .into_iter()
            .enumerate()
            .filter(|(_, s)| model.within_boundary(s))
            .map(|(init, state)| Root {
                init,
                prefix: Vec::new(),
                state,
            })
            .collect()
    }
}

/// Counts a running search updates; read them from another thread to report progress. A state
/// is counted in `states` before `unique_states` (both sequentially consistent), so reading
/// `unique_states` first never shows more unique states than states.
#[derive(Debug, Default)]
pub struct Counters {
    /// States generated, revisits included (roots counted once each).
    pub states: AtomicUsize,
    /// Distinct states after symmetry reduction.
    pub unique_states: AtomicUsize,
    /// Deepest state visited, in states along its path (a root's depth is its prefix plus 1).
    pub max_depth: AtomicUsize,
    /// Set when the search is over.
    pub done: AtomicBool,
}

/// What a finished search found.
pub struct Outcome<M: Model> {
    pub states: usize,
    pub unique_states: usize,
    /// In steps from an initial state.
    pub max_depth: usize,
    /// One per property with a discovery (a violation of an `always`, an example of a
    /// `sometimes`), in the model's property order.
    pub discoveries: Vec<Discovery<M>>,
}

/// How to search.
#[derive(Clone, Copy)]
pub struct Search<'a, M: Model> {
    pub model: &'a M,
    pub symmetry: Option<RepresentativeFn<M::State>>,
    pub threads: usize,
    pub counters: &'a Counters,
}

/// States a thread visits between looks at the global stop condition (stateright's block).
const BLOCK: usize = 1500;
/// A thread shares work only while its stack holds more than this many states.
const SHARE_ABOVE: usize = 2;

impl<M> Search<'_, M>
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync,
    M::Action: Clone,
{
    /// Explore everything reachable from `roots`.
    pub fn run(&self, roots: Vec<Root<M>>) -> Outcome<M> {
        let properties: Vec<Property<M>> = self.model.properties();
        let shared = Shared {
            visited: DashMap::default(),
            roots: roots.iter().map(|r| (r.init, r.prefix.clone())).collect(),
            discovered: properties.iter().map(|_| AtomicU64::new(0)).collect(),
            has_discovery: properties.iter().map(|_| AtomicBool::new(false)).collect(),
            injector: Mutex::new(Injector {
                jobs: Vec::new(),
                idle: 0,
            }),
            wake: Condvar::new(),
        };
        let mut first = Vec::new();
        for (index, root) in roots.into_iter().enumerate() {
            let fp = self.fingerprint_of(&root.state);
            self.counters.states.fetch_add(1, Ordering::SeqCst);
            if shared.visited.insert(fp, Parent::Root(index)).is_none() {
                self.counters.unique_states.fetch_add(1, Ordering::SeqCst);
                first.push((root.state, fp, root.prefix.len() + 1));
            }
        }
        shared.injector.lock().expect("not poisoned").jobs = first;
        let threads = self.threads.max(1);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| Worker::new(self, &shared, &properties, threads).run());
            }
        });
        self.counters.done.store(true, Ordering::Release);
        let discoveries = properties
            .iter()
            .zip(shared.discovered.iter().zip(&shared.has_discovery))
            .filter(|(_, (_, has))| has.load(Ordering::Relaxed))
            .map(|(p, (fp, _))| shared.path_to(self.model, fp.load(Ordering::Relaxed), p.name))
            .collect();
        Outcome {
            states: self.counters.states.load(Ordering::Relaxed),
            unique_states: self.counters.unique_states.load(Ordering::Relaxed),
            max_depth: self
                .counters
                .max_depth
                .load(Ordering::Relaxed)
                .saturating_sub(1),
            discoveries,
        }
    }

    fn fingerprint_of(&self, state: &M::State) -> u64 {
        match self.symmetry {
            Some(representative) => fingerprint(&representative(state)),
            None => fingerprint(state),
        }
    }
}

/// How a visited state was first reached.
#[derive(Clone, Copy, Debug)]
enum Parent {
    /// Root number `n`.
    Root(usize),
    /// Action `index` of the state with fingerprint `parent`.
    Step { parent: u64, index: u32 },
}

/// A state to expand: the state, its fingerprint, its depth in states.
type Job<S> = (S, u64, usize);

struct Injector<S> {
    jobs: Vec<Job<S>>,
    /// Threads waiting for work; when all are, the search is over.
    idle: usize,
}

/// Fingerprints are already uniform hashes: the map uses them as they are.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 << 8) | u64::from(*byte);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

struct Shared<S> {
    visited: DashMap<u64, Parent, BuildHasherDefault<Identity>>,
    roots: Vec<(usize, Vec<usize>)>,
    /// Per property: the fingerprint of its latest discovery, if `has_discovery`.
    discovered: Vec<AtomicU64>,
    has_discovery: Vec<AtomicBool>,
    injector: Mutex<Injector<S>>,
    wake: Condvar,
}

impl<S> Shared<S> {
    fn all_discovered(&self) -> bool {
        self.has_discovery.iter().all(|d| d.load(Ordering::Relaxed))
    }

    /// Follow parent pointers back to a root, then replay the root's prefix and the indices.
    fn path_to<M>(&self, model: &M, mut fp: u64, property: &'static str) -> Discovery<M>
    where
        M: Model<State = S>,
        M::State: Clone,
        M::Action: Clone,
    {
        let mut indices = Vec::new();
        let root = loop {
            match *self
                .visited
                .get(&fp)
                .expect("a discovered state was visited")
            {
                Parent::Root(root) => break root,
                Parent::Step { parent, index } => {
                    indices.push(index as usize);
                    fp = parent;
                }
            }
        };
        let (init, prefix) = &self.roots[root];
        let path: Vec<usize> = prefix
            .iter()
            .copied()
            .chain(indices.into_iter().rev())
            .collect();
        Discovery::replay(model, *init, &path, property)
    }
}

struct Worker<'a, M: Model> {
    search: &'a Search<'a, M>,
    shared: &'a Shared<M::State>,
    properties: &'a [Property<M>],
    threads: usize,
    stack: Vec<Job<M::State>>,
    max_depth: usize,
}

impl<'a, M> Worker<'a, M>
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync,
    M::Action: Clone,
{
    fn new(
        search: &'a Search<'a, M>,
        shared: &'a Shared<M::State>,
        properties: &'a [Property<M>],
        threads: usize,
    ) -> Self {
        Worker {
            search,
            shared,
            properties,
            threads,
            stack: Vec::new(),
            max_depth: 0,
        }
    }

    fn run(mut self) {
        let mut actions = Vec::new();
        while self.take_work() {
            for _ in 0..BLOCK {
                let Some(job) = self.stack.pop() else { break };
                self.visit(job, &mut actions);
            }
            if self.shared.all_discovered() {
                return self.stop();
            }
            self.share_work();
        }
    }

    /// Expand one state: check it, then push its new successors.
    fn visit(&mut self, (state, fp, depth): Job<M::State>, actions: &mut Vec<M::Action>) {
        let model = self.search.model;
        let counters = self.search.counters;
        if depth > self.max_depth {
            self.max_depth = depth;
            counters.max_depth.fetch_max(depth, Ordering::Relaxed);
        }
        let mut awaiting = false;
        for (i, property) in self.properties.iter().enumerate() {
            if property.expectation == Expectation::Eventually {
                continue;
            }
            if discovered_at(property, model, &state) {
                self.shared.discovered[i].store(fp, Ordering::Relaxed);
                self.shared.has_discovery[i].store(true, Ordering::Relaxed);
            } else {
                awaiting = true;
            }
        }
        if !awaiting {
            return;
        }
        model.actions(&state, actions);
        for (index, action) in actions.drain(..).enumerate() {
            let Some(next) = model.next_state(&state, action) else {
                continue;
            };
            if !model.within_boundary(&next) {
                continue;
            }
            counters.states.fetch_add(1, Ordering::SeqCst);
            let next_fp = self.search.fingerprint_of(&next);
            let parent = Parent::Step {
                parent: fp,
                index: u32::try_from(index).expect("fewer than 2^32 actions"),
            };
            if let dashmap::Entry::Vacant(slot) = self.shared.visited.entry(next_fp) {
                slot.insert(parent);
                counters.unique_states.fetch_add(1, Ordering::SeqCst);
                self.stack.push((next, next_fp, depth + 1));
            }
        }
    }

    /// Refill an empty stack from the injector, waiting while others may still produce work.
    /// Returns `false` when the search is over.
    fn take_work(&mut self) -> bool {
        if !self.stack.is_empty() {
            return true;
        }
        let mut injector = self.shared.injector.lock().expect("not poisoned");
        loop {
            if !injector.jobs.is_empty() {
                // stateright's market hands out everything at first; later batches are halves.
                self.stack = std::mem::take(&mut injector.jobs);
                return true;
            }
            injector.idle += 1;
            if injector.idle >= self.threads {
                drop(injector);
                self.shared.wake.notify_all();
                return false;
            }
            injector = self.shared.wake.wait(injector).expect("not poisoned");
            if injector.idle >= self.threads {
                return false;
            }
            injector.idle -= 1;
        }
    }

    /// Hand the older half of the stack (the shallower states, the larger subtrees) to the
    /// injector when some thread waits for work.
    fn share_work(&mut self) {
        if self.threads == 1 || self.stack.len() <= SHARE_ABOVE {
            return;
        }
        let mut injector = self.shared.injector.lock().expect("not poisoned");
        if injector.idle == 0 || !injector.jobs.is_empty() {
            return;
        }
        let keep = self.stack.split_off(self.stack.len() / 2);
        injector.jobs = std::mem::replace(&mut self.stack, keep);
        drop(injector);
        self.shared.wake.notify_one();
    }

    /// Every property has a discovery: end every thread's search.
    fn stop(self) {
        let mut injector = self.shared.injector.lock().expect("not poisoned");
        injector.jobs.clear();
        injector.idle = self.threads;
        drop(injector);
        self.shared.wake.notify_all();
    }
}
