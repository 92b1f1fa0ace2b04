//! The general linearizability checker for one document: Wing & Gong's search with Lowe's
//! memoisation (the algorithm of Porcupine and Knossos' `wgl`), with a step and memory budget.
//!
//! The sequential specification is a document that holds a set of tokens and its current change
//! id: a GET sees exactly the current change and tokens, an index (conditional on a change id or
//! not) replaces them, a create needs the document absent, a delete makes it absent, an update
//! merges its token in, a 409 needs its condition to be false, and a change only moves forward
//! (`_seq_no` grows). An indefinite operation may take effect at any time after it began, or
//! never; a definite failure other than a 409 changed nothing and constrains nothing.
//!
//! The search linearizes operations in real-time order, backtracks at a return whose operation
//! it could not place, and never revisits a (set of linearized operations, state) pair. Those
//! pairs are memoised as fingerprints (a 128-bit Zobrist hash of the set, a 64-bit hash of the
//! state), a few dozen bytes each instead of a bitset of the whole history; two configurations
//! sharing a fingerprint (odds around 2^-100 per pair) would prune a path, which could only turn
//! a linearizable verdict into a violation, never hide one. Reads and 409s that are possible are
//! linearized at once, without branching (see [`search`]). It stops with [`Outcome::Unknown`] when the budget is spent, so it never runs out of memory. A history
//! that is not linearizable is shrunk to a witness by dropping operations that only constrain
//! (reads, 409s) while the rest stays non-linearizable.

use std::collections::{HashMap, HashSet};

use super::history::{ChangeId, Kind, Op, Outcome as OpOutcome};

/// How much the search may spend on one document.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Steps (linearization attempts and backtracks) per operation of the document: the search
    /// may take `steps_per_op × operations` in all, so the budget grows with the history.
    pub steps_per_op: u64,
    /// Bytes of memoised configurations.
    pub memory: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            steps_per_op: 1_000,
            memory: 256 << 20,
        }
    }
}

/// The answer for one document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Linearizable,
    /// Not linearizable: the ids of a shrunk sub-history that is not linearizable either.
    Violation(Vec<u64>),
    Unknown,
}

/// A version: a change id from an answer or a read; or the change of an indefinite write
/// whose id is unknown: `Unnamed` when a read saw its token (that
/// read, or a condition taken from one, names it), `Unseen` when none did (then no read saw the
/// version and no condition can name it, so it matches neither).
/// Which indefinite write made an unknown version does not matter, so the variants carry no
/// number: configurations that differ only in it are one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Ver {
    Known(ChangeId),
    Unnamed,
    Unseen,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
struct Doc {
    exists: bool,
    change: Option<Ver>,
    tokens: Vec<u32>,
}

/// What an operation does in the specification.
#[derive(Clone, Debug)]
enum Step {
    Read(Option<(ChangeId, Vec<u32>)>),
    /// Index or create (`condition: None` with `create`: the document must be absent).
    Replace {
        create: bool,
        condition: Option<ChangeId>,
        to: Ver,
        token: u32,
    },
    Delete {
        condition: Option<ChangeId>,
        to: Ver,
    },
    Merge {
        to: Ver,
        token: u32,
    },
    /// A delete answered `not_found`: the document was absent.
    Absent,
    /// An update answered `noop`: the document already held its token.
    Holds(u32),
    /// A 409 of a conditional write or create: the condition was false.
    Conflict {
        create: bool,
        condition: Option<ChangeId>,
    },
}

impl Step {
    fn apply(&self, doc: &Doc) -> Option<Doc> {
        // An unseen version may be any change id: it matches, and what matched it names it.
        let is = |c: ChangeId| {
            matches!(doc.change, Some(Ver::Known(k)) if k == c)
                || matches!(doc.change, Some(Ver::Unnamed))
        };
        let matches = |c: Option<ChangeId>| match c {
            Some(c) => doc.exists && is(c),
            None => true,
        };
        let named = |c: ChangeId| Doc {
            change: Some(Ver::Known(c)),
            ..doc.clone()
        };
        let forward = |to: &Ver| match (doc.change, to) {
            (Some(Ver::Known(from)), Ver::Known(to)) => from.seq_no < to.seq_no,
            _ => true,
        };
        match self {
            Step::Read(None) => (!doc.exists).then(|| doc.clone()),
            Step::Read(Some((change, tokens))) => {
                (doc.exists && is(*change) && doc.tokens == *tokens).then(|| named(*change))
            }
            Step::Replace {
                create,
                condition,
                to,
                token,
            } => {
                let allowed = if *create {
                    !doc.exists
                } else {
                    matches(*condition)
                };
                (allowed && forward(to)).then(|| Doc {
                    exists: true,
                    change: Some(*to),
                    tokens: vec![*token],
                })
            }
            Step::Delete { condition, to } => (doc.exists && matches(*condition) && forward(to))
                .then(|| Doc {
                    exists: false,
                    change: Some(*to),
                    tokens: Vec::new(),
                }),
            Step::Merge { to, token } => forward(to).then(|| {
                let mut tokens = doc.tokens.clone();
                if let Err(at) = tokens.binary_search(token) {
                    tokens.insert(at, *token);
                }
                Doc {
                    exists: true,
                    change: Some(*to),
                    tokens,
                }
            }),
            Step::Absent => (!doc.exists).then(|| doc.clone()),
            Step::Holds(token) => {
                (doc.exists && doc.tokens.binary_search(token).is_ok()).then(|| doc.clone())
            }
            Step::Conflict { create, condition } => {
                // Against an unseen version a condition may or may not hold: a 409 is possible.
                let held = if *create {
                    !doc.exists
                } else {
                    matches(*condition) && !matches!(doc.change, Some(Ver::Unnamed))
                };
                (!held).then(|| doc.clone())
            }
        }
    }

    /// Whether dropping the operation can only remove constraints (it never changes the state).
    fn only_constrains(&self) -> bool {
        matches!(
            self,
            Step::Read(_) | Step::Absent | Step::Holds(_) | Step::Conflict { .. }
        )
    }
}

/// One operation ready for the search.
#[derive(Clone, Debug)]
struct Call {
    id: u64,
    /// Which document: 0 when each document is searched on its own.
    key: usize,
    step: Step,
    invoke: u64,
    /// None: indefinite.
    complete: Option<u64>,
}

/// Translate a document's operations; definite failures other than 409s are left out, and with
/// `strategy.reduce` the indefinite writes no read saw, where that is exact.
fn calls<'a>(ops: &[&'a Op], strategy: Strategy) -> Vec<Call> {
    let mut names: HashMap<&str, u32> = HashMap::new();
    let mut intern = |t: &'a str| -> u32 {
        let next = u32::try_from(names.len()).unwrap_or(u32::MAX);
        *names.entry(t).or_insert(next)
    };
    // Where an unacknowledged write's token was first seen: its version.
    let mut seen_at: HashMap<&str, ChangeId> = HashMap::new();
    for op in ops {
        if let Some(Some((change, tokens))) = op.read() {
            for t in tokens {
                seen_at
                    .entry(t.as_str())
                    .and_modify(|c| *c = (*c).min(change))
                    .or_insert(change);
            }
        }
    }
    let mut out = Vec::new();
    let monotone = !ops
        .iter()
        .any(|op| op.kind().replaces() || op.kind() == Kind::Delete);
    // Where every write is conditional (or a create) and nothing merges, an indefinite replacing
    // write no read saw leaves a version nothing can match: once it took effect, no operation
    // that succeeded can follow, only 409s. So it takes effect, if at all, after every
    // successful operation began (`tail`): it is searched from there on, not from its own
    // invocation (where it would sit at the head of the search's list, scanned at every step,
    // for the rest of the history), and left out when no 409 answered after that point, as it
    // then changes nothing the history shows. Both are exact.
    let conditional = ops.iter().all(|op| match op.kind() {
        Kind::Index | Kind::Delete => op.invoke.condition.is_some(),
        Kind::Update => false,
        Kind::Create | Kind::Read => true,
    });
    let tail = ops
        .iter()
        .filter(|op| op.is_ok())
        .map(|op| op.invoke.time_ns)
        .max()
        .unwrap_or(0);
    let last_409 = ops
        .iter()
        .filter(|op| op.conflict())
        .filter_map(|op| op.complete_ns)
        .max();
    for op in ops {
        let token = op.invoke.token.as_deref();
        // An unacknowledged replacing write's version is the one a read saw its token in (its
        // token is in no other); a merge's token stays in later versions, so a read that saw it
        // does not name its version.
        let seen = token.and_then(|t| seen_at.get(t));
        let to = match (op.outcome, op.completion.change, seen) {
            (OpOutcome::Ok, Some(change), _) => Ver::Known(change),
            (_, _, Some(c)) if op.kind().replaces() => Ver::Known(*c),
            (_, _, Some(_)) => Ver::Unnamed,
            (_, _, None) => Ver::Unseen,
        };
        // Where tokens only accumulate, an indefinite merge no read saw can only have taken
        // effect after every read that lacks its token, where it changes nothing the history
        // shows: leaving it out is exact, and saves the search its 2^n subsets.
        let unobserved = strategy.reduce && op.outcome == OpOutcome::Info && seen.is_none();
        if unobserved && monotone && op.kind() == Kind::Update {
            continue;
        }
        let mut invoke = op.invoke.time_ns;
        if unobserved && conditional && op.kind().replaces() {
            invoke = invoke.max(tail);
            if last_409.is_none_or(|t| t < invoke) {
                continue;
            }
        }
        let result = op.completion.result.as_deref();
        let step = match (op.kind(), op.outcome) {
            (_, OpOutcome::Fail) if !op.conflict() => continue,
            (Kind::Read, OpOutcome::Ok) => Step::Read(op.read().flatten().map(|(c, tokens)| {
                let mut tokens: Vec<u32> = tokens.iter().map(|t| intern(t)).collect();
                tokens.sort_unstable();
                (c, tokens)
            })),
            (Kind::Read, _) => continue,
            (Kind::Index | Kind::Create, OpOutcome::Fail) | (Kind::Delete, OpOutcome::Fail) => {
                Step::Conflict {
                    create: op.kind() == Kind::Create,
                    condition: op.invoke.condition,
                }
            }
            (Kind::Update, OpOutcome::Fail) => continue,
            (Kind::Delete, OpOutcome::Ok) if result == Some("not_found") => Step::Absent,
            (Kind::Update, OpOutcome::Ok) if result == Some("noop") => {
                Step::Holds(intern(token.unwrap_or("")))
            }
            (Kind::Index | Kind::Create, _) => Step::Replace {
                create: op.kind() == Kind::Create,
                condition: op.invoke.condition,
                to,
                token: intern(token.unwrap_or("")),
            },
            (Kind::Delete, _) => Step::Delete {
                condition: op.invoke.condition,
                to,
            },
            (Kind::Update, _) => Step::Merge {
                to,
                token: intern(token.unwrap_or("")),
            },
        };
        out.push(Call {
            id: op.id(),
            key: 0,
            step,
            invoke,
            complete: op.complete_ns,
        });
    }
    out
}

/// Which of the search's reductions are on. The checker uses all of them; turning them off gives
/// the plain Wing & Gong search the benchmark compares against.
#[derive(Clone, Copy, Debug)]
struct Strategy {
    /// Never revisit a (linearized set, state) configuration.
    memoise: bool,
    /// Linearize possible reads and 409s at once, without branching.
    forced: bool,
    /// Leave out (or search from the document's tail) indefinite writes no read saw, where
    /// that is exact (see [`calls`]).
    reduce: bool,
}

const FULL: Strategy = Strategy {
    memoise: true,
    forced: true,
    reduce: true,
};

/// The search's verdict on a list of calls, and where it failed.
enum Search {
    Linearizable,
    /// The index (into the calls) of the operation whose return could not be reached.
    Stuck(usize),
    Unknown,
}

const NIL: usize = usize::MAX;

/// What one memoised configuration costs: its fingerprint in the set, and a stack entry.
const CONFIGURATION_BYTES: usize = 48 + std::mem::size_of::<(usize, Doc, bool)>();

/// SplitMix64: well-spread, fixed pseudo-random words for the Zobrist fingerprint.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fingerprint(doc: &[Doc]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    doc.hash(&mut h);
    h.finish()
}

/// The real-time ordered entries of the calls (calls before returns at the same instant, so
/// touching operations count as concurrent) as a doubly-linked list that the search lifts
/// linearized operations out of and puts them back into.
struct Entries {
    /// (time, is a return, call index), sorted.
    entries: Vec<(u64, bool, usize)>,
    next: Vec<usize>,
    prev: Vec<usize>,
    /// Each call's return entry, NIL for an indefinite one.
    return_of: Vec<usize>,
}

impl Entries {
    fn new(calls: &[Call]) -> Entries {
        let mut entries: Vec<(u64, bool, usize)> = Vec::with_capacity(calls.len() * 2);
        for (i, c) in calls.iter().enumerate() {
            entries.push((c.invoke, false, i));
            if let Some(t) = c.complete {
                entries.push((t, true, i));
            }
        }
        entries.sort_unstable();
        let n = entries.len();
        // The head sentinel is index n.
        let mut next: Vec<usize> = (1..=n).map(|i| if i == n { NIL } else { i }).collect();
        next.push(if n == 0 { NIL } else { 0 });
        let mut prev: Vec<usize> = (0..n).map(|i| if i == 0 { n } else { i - 1 }).collect();
        prev.push(NIL);
        let mut return_of = vec![NIL; calls.len()];
        for (e, (_, is_return, i)) in entries.iter().enumerate() {
            if *is_return {
                return_of[*i] = e;
            }
        }
        Entries {
            entries,
            next,
            prev,
            return_of,
        }
    }

    fn first(&self) -> usize {
        self.next[self.entries.len()]
    }

    fn unlink(&mut self, e: usize) {
        let (p, q) = (self.prev[e], self.next[e]);
        self.next[p] = q;
        if q != NIL {
            self.prev[q] = p;
        }
    }

    fn relink(&mut self, e: usize) {
        let (p, q) = (self.prev[e], self.next[e]);
        self.next[p] = e;
        if q != NIL {
            self.prev[q] = e;
        }
    }

    /// Take call entry `e` (and its return) out of the list.
    fn lift(&mut self, e: usize) {
        self.unlink(e);
        let r = self.return_of[self.entries[e].2];
        if r != NIL {
            self.unlink(r);
        }
    }

    fn unlift(&mut self, e: usize) {
        let r = self.return_of[self.entries[e].2];
        if r != NIL {
            self.relink(r);
        }
        self.relink(e);
    }
}

/// Whether merging call `i`'s token now would make a pending read impossible: one that began
/// before the first pending return and whose document lacks the token (or was not found).
/// Where tokens only accumulate, that read could never be linearized after the merge.
fn blocks_a_pending_read(list: &Entries, calls: &[Call], i: usize) -> bool {
    let Step::Merge { token, .. } = calls[i].step else {
        return false;
    };
    let mut e = list.first();
    while e != NIL && !list.entries[e].1 {
        let j = list.entries[e].2;
        if calls[j].key == calls[i].key && calls[j].complete.is_some() {
            match &calls[j].step {
                Step::Read(None) => return true,
                Step::Read(Some((_, tokens))) if tokens.binary_search(&token).is_err() => {
                    return true
                }
                _ => {}
            }
        }
        e = list.next[e];
    }
    false
}

/// Wing–Gong–Lowe over `calls`, with one reduction: an operation that only constrains (a read,
/// a 409) and is possible now is linearized now, without branching. That loses nothing: it
/// leaves the state as it is, so any linearization placing it later can place it here instead
/// (every operation that returned before it began is already linearized, or the scan would
/// have stopped at that return). When such a forced step fails, its whole configuration fails.
fn search(calls: &[Call], budget: Budget, strategy: Strategy) -> Search {
    let mut list = Entries::new(calls);
    let mut cache: HashSet<(u128, u64)> = HashSet::new();
    let documents = calls.iter().map(|c| c.key + 1).max().unwrap_or(1);
    // Documents written only by merges: tokens only accumulate.
    let monotone = !calls
        .iter()
        .any(|c| matches!(c.step, Step::Replace { .. } | Step::Delete { .. }));
    // Apply call `i` to the documents: the new documents, or None when it is impossible now.
    let apply = |i: usize, state: &Vec<Doc>| -> Option<Vec<Doc>> {
        let doc = calls[i].step.apply(&state[calls[i].key])?;
        let mut next = state.clone();
        next[calls[i].key] = doc;
        Some(next)
    };
    let mut seen = |linearized: u128, state: &Vec<Doc>| -> bool {
        strategy.memoise && !cache.insert((linearized, fingerprint(state)))
    };
    // The set of linearized operations as a 128-bit Zobrist fingerprint, the state as a 64-bit
    // hash: a memoised configuration costs a few dozen bytes, not a bitset of the history.
    let zobrist: Vec<u128> = (0..calls.len() as u64)
        .map(|i| (u128::from(splitmix(2 * i)) << 64) | u128::from(splitmix(2 * i + 1)))
        .collect();
    let mut linearized = 0u128;
    let mut memory = 0usize;
    // (call entry, state before it, forced).
    let mut stack: Vec<(usize, Vec<Doc>, bool)> = Vec::new();
    let mut state = vec![Doc::default(); documents];
    let mut steps = 0u64;
    let max_steps = budget
        .steps_per_op
        .saturating_mul(calls.len().max(1) as u64);
    let mut deepest = (0usize, 0usize); // (stack depth, the call whose return stopped it)
                                        // Where the scan continues; `None`: restart at the head of the list (a new configuration).
    let mut entry: Option<usize> = None;
    loop {
        steps += 1;
        if steps > max_steps || memory > budget.memory {
            return Search::Unknown;
        }
        // At a new configuration, first the forced steps.
        let mut forced_failed = false;
        let e = match entry {
            Some(e) => e,
            None => {
                let mut e = list.first();
                let mut took = false;
                while strategy.forced && e != NIL && !list.entries[e].1 {
                    let i = list.entries[e].2;
                    if calls[i].step.only_constrains() {
                        if let Some(new_state) = apply(i, &state) {
                            linearized ^= zobrist[i];
                            if !seen(linearized, &new_state) {
                                memory += CONFIGURATION_BYTES;
                                stack.push((e, std::mem::replace(&mut state, new_state), true));
                                list.lift(e);
                                took = true;
                            } else {
                                linearized ^= zobrist[i];
                                forced_failed = true;
                            }
                            break;
                        }
                    }
                    e = list.next[e];
                }
                if took {
                    continue;
                }
                list.first()
            }
        };
        if !forced_failed {
            if e == NIL {
                return Search::Linearizable;
            }
            let (_, is_return, i) = list.entries[e];
            if !is_return {
                entry = Some(list.next[e]);
                if strategy.forced && calls[i].step.only_constrains() {
                    continue; // tried by the forced pass
                }
                if strategy.forced && monotone && blocks_a_pending_read(&list, calls, i) {
                    continue;
                }
                if let Some(new_state) = apply(i, &state) {
                    linearized ^= zobrist[i];
                    if !seen(linearized, &new_state) {
                        memory += CONFIGURATION_BYTES
                            + new_state.iter().map(|d| d.tokens.len() * 4).sum::<usize>();
                        stack.push((e, std::mem::replace(&mut state, new_state), false));
                        list.lift(e);
                        entry = None;
                    } else {
                        linearized ^= zobrist[i];
                    }
                }
                continue;
            }
            if stack.len() >= deepest.0 {
                deepest = (stack.len(), i);
            }
        }
        // Backtrack: undo forced steps (their configuration failed) and the last free choice,
        // then try the next call after it.
        loop {
            let Some((call_entry, old, forced)) = stack.pop() else {
                return Search::Stuck(deepest.1);
            };
            linearized ^= zobrist[list.entries[call_entry].2];
            state = old;
            list.unlift(call_entry);
            if !forced {
                entry = Some(list.next[call_entry]);
                break;
            }
        }
    }
}

/// Check one document's operations.
pub fn check_key(ops: &[&Op], budget: Budget) -> Outcome {
    let all = calls(ops, FULL);
    let stuck = match search(&all, budget, FULL) {
        Search::Linearizable => return Outcome::Linearizable,
        Search::Unknown => return Outcome::Unknown,
        Search::Stuck(i) => i,
    };
    // The prefix up to the stuck operation's return is already not linearizable.
    let end = all[stuck].complete.unwrap_or(u64::MAX);
    let prefix: Vec<Call> = all.iter().filter(|c| c.invoke <= end).cloned().collect();
    let mut witness = if matches!(search(&prefix, budget, FULL), Search::Stuck(_)) {
        prefix
    } else {
        all
    };
    let mut i = 0;
    while i < witness.len() {
        if witness[i].step.only_constrains() {
            let mut without = witness.clone();
            without.remove(i);
            if matches!(search(&without, budget, FULL), Search::Stuck(_)) {
                witness = without;
                continue;
            }
        }
        i += 1;
    }
    Outcome::Violation(witness.iter().map(|c| c.id).collect())
}

/// The plain Wing & Gong search the benchmark measures against: all documents in one search
/// (no split), no memoisation, no forced steps, every operation searched as recorded (none left
/// out or moved). A violation comes without a witness.
pub fn check_plain(documents: &[Vec<&Op>], budget: Budget) -> Outcome {
    let plain = Strategy {
        memoise: false,
        forced: false,
        reduce: false,
    };
    let mut all = Vec::new();
    for (key, ops) in documents.iter().enumerate() {
        all.extend(calls(ops, plain).into_iter().map(|c| Call { key, ..c }));
    }
    match search(&all, budget, plain) {
        Search::Linearizable => Outcome::Linearizable,
        Search::Unknown => Outcome::Unknown,
        Search::Stuck(_) => Outcome::Violation(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::torture::history::History;

    fn ops(text: &str) -> Vec<Op> {
        History::parse(text).unwrap().ops
    }

    const WRITE_THEN_READ: &str = r#"{"type":"invoke","op":0,"process":0,"f":"create","key":"k","token":"a","time_ns":0}
{"type":"ok","op":0,"time_ns":10,"change":{"seq_no":0,"primary_term":1}}
{"type":"invoke","op":1,"process":1,"f":"read","key":"k","time_ns":20}
"#;

    #[test]
    fn a_read_after_a_write_must_see_it() {
        let good = format!(
            "{WRITE_THEN_READ}{}",
            r#"{"type":"ok","op":1,"time_ns":30,"change":{"seq_no":0,"primary_term":1},"tokens":["a"]}"#
        );
        let bad = format!(
            "{WRITE_THEN_READ}{}",
            r#"{"type":"ok","op":1,"time_ns":30}"#
        );
        let good = ops(&good);
        let bad = ops(&bad);
        fn refs(v: &[Op]) -> Vec<&Op> {
            v.iter().collect()
        }
        assert_eq!(
            check_key(&refs(&good), Budget::default()),
            Outcome::Linearizable
        );
        assert_eq!(
            check_key(&refs(&bad), Budget::default()),
            Outcome::Violation(vec![0, 1])
        );
        let tiny = Budget {
            steps_per_op: 1,
            memory: 1 << 20,
        };
        assert_eq!(check_key(&refs(&good), tiny), Outcome::Unknown);
    }

    #[test]
    fn an_indefinite_write_may_take_effect_late_or_never() {
        let text = r#"{"type":"invoke","op":0,"process":0,"f":"create","key":"k","token":"a","time_ns":0}
{"type":"info","op":0,"time_ns":10,"error":"timeout"}
{"type":"invoke","op":1,"process":1,"f":"read","key":"k","time_ns":20}
{"type":"ok","op":1,"time_ns":30}
{"type":"invoke","op":2,"process":1,"f":"read","key":"k","time_ns":40}
{"type":"ok","op":2,"time_ns":50,"change":{"seq_no":0,"primary_term":1},"tokens":["a"]}
"#;
        let all = ops(text);
        let refs: Vec<&Op> = all.iter().collect();
        assert_eq!(check_key(&refs, Budget::default()), Outcome::Linearizable);
        assert_eq!(
            check_key(&refs[..2], Budget::default()),
            Outcome::Linearizable
        );
    }

    /// Document k at (0, 1); 200 conditional writes on (0, 1) time out and no read sees them;
    /// reads of (0, 1) go on; then a write on (0, 1) answers 409, ending `409_end` (the 409 is
    /// possible only once one of the timed-out writes took effect); one more read, invoked at
    /// `last_read`, sees (0, 1).
    fn timed_out_writes_then_a_409(end_409: u64, last_read: u64) -> String {
        let mut text = String::from(
            r#"{"type":"invoke","op":0,"process":0,"f":"create","key":"k","token":"a","time_ns":0}
{"type":"ok","op":0,"time_ns":1,"change":{"seq_no":0,"primary_term":1}}
"#,
        );
        let read = |op: u64, t: u64| {
            format!("{{\"type\":\"invoke\",\"op\":{op},\"process\":{op},\"f\":\"read\",\"key\":\"k\",\"time_ns\":{t}}}\n{{\"type\":\"ok\",\"op\":{op},\"time_ns\":{},\"change\":{{\"seq_no\":0,\"primary_term\":1}},\"tokens\":[\"a\"]}}\n", t + 1)
        };
        for op in 1..=200u64 {
            text.push_str(&format!(
                "{{\"type\":\"invoke\",\"op\":{op},\"process\":{op},\"f\":\"index\",\"key\":\"k\",\"token\":\"w{op}\",\"condition\":{{\"seq_no\":0,\"primary_term\":1}},\"time_ns\":{}}}\n",
                op * 10
            ));
            text.push_str(&read(1000 + op, op * 10 + 5));
        }
        text.push_str(&format!(
            r#"{{"type":"invoke","op":2000,"process":2000,"f":"index","key":"k","token":"x","condition":{{"seq_no":0,"primary_term":1}},"time_ns":2100}}
{{"type":"fail","op":2000,"time_ns":{end_409},"status":409,"error":"version_conflict_engine_exception"}}
"#
        ));
        text.push_str(&read(2001, last_read));
        text
    }

    #[test]
    fn unobserved_timed_out_writes_searched_from_the_tail_still_explain_a_late_409() {
        let small = Budget {
            steps_per_op: 20,
            memory: 1 << 20,
        };
        // The 409 answers after the last read began: a timed-out write explains it, taking
        // effect after that read (leaving the writes out would make this a violation). How
        // much searching them from the tail saves shows in `cargo bench --bench torture` (one
        // document, indefinite results): the scans of the list are not counted as steps.
        let all = ops(&timed_out_writes_then_a_409(2300, 2200));
        let refs: Vec<&Op> = all.iter().collect();
        assert_eq!(check_key(&refs, small), Outcome::Linearizable);
        // The 409 answered before the last read (which still sees (0, 1)) began: no write can
        // have taken effect before it, and none after: not linearizable.
        let all = ops(&timed_out_writes_then_a_409(2150, 2200));
        let refs: Vec<&Op> = all.iter().collect();
        assert_eq!(check_key(&refs, small), Outcome::Violation(vec![0, 2000]));
    }

    #[test]
    fn many_unobserved_indefinite_updates_do_not_spend_the_budget() {
        // 40 updates that timed out and that no read saw, then reads of the one acked update:
        // without leaving them out, the search would try their 2^40 subsets.
        let mut text = String::new();
        for op in 0..40 {
            text.push_str(&format!(
                "{{\"type\":\"invoke\",\"op\":{op},\"process\":{op},\"f\":\"update\",\"key\":\"k\",\"token\":\"u{op}\",\"time_ns\":{op}}}\n"
            ));
        }
        text.push_str(r#"{"type":"invoke","op":40,"process":40,"f":"update","key":"k","token":"a","time_ns":50}
{"type":"ok","op":40,"time_ns":60,"change":{"seq_no":0,"primary_term":1}}
"#);
        for op in 41..45 {
            let t = op * 10;
            text.push_str(&format!(
                "{{\"type\":\"invoke\",\"op\":{op},\"process\":{op},\"f\":\"read\",\"key\":\"k\",\"time_ns\":{t}}}\n{{\"type\":\"ok\",\"op\":{op},\"time_ns\":{},\"change\":{{\"seq_no\":0,\"primary_term\":1}},\"tokens\":[\"a\"]}}\n",
                t + 5
            ));
        }
        let all = ops(&text);
        let refs: Vec<&Op> = all.iter().collect();
        let small = Budget {
            steps_per_op: 200,
            memory: 1 << 20,
        };
        assert_eq!(check_key(&refs, small), Outcome::Linearizable);
    }
}
