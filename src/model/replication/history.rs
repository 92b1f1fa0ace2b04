//! The client history and its linearizability verdicts, checked with stateright's
//! `LinearizabilityTester` against the shared CAS-register spec ([`crate::spec::Document`]).
//!
//! A history that has ended (every client done, nothing in flight) is judged closed by a final
//! read of the master's current primary, so a write lost after a client's last operation is seen
//! even when no client reads again.
//!
//! A 409 is a failure (`CasFailed`); a write that failed any other way never returns. A 409 that
//! a re-routed write meets on the new primary answers a write already invoked: it may be its own
//! change, replicated before the old primary failed, so it is judged like any other answer and
//! the checker finds the write that "failed" but took effect.
//! Two histories are judged: the whole one (`reads_linearizable`: GETs and 409s included), and
//! the writes alone (`cas_linearizable`: writes that took effect or may have). A 409 is left out
//! of the second like a GET: it changed nothing, and when a demoted primary answers it from its
//! stale copy it is a dirty read, which the first history judges.

use std::cell::RefCell;
use std::collections::HashMap;

use stateright::semantics::{ConsistencyTester, LinearizabilityTester};

use crate::spec::{DocOp, DocRet, Document};

use super::state::{Chain, Event};

type Tester = LinearizabilityTester<u8, Document<Chain>>;

fn write_op(expected: Option<Option<Chain>>, new: Option<Chain>) -> DocOp<Chain> {
    match expected {
        None => DocOp::Write(new),
        Some(expected) => DocOp::Cas { expected, new },
    }
}

/// The two verdicts of a history: (whole history linearizable, writes alone linearizable).
/// `final_read` closes an ended history with what a read of the master's primary returns.
///
/// Many states share a history, and the tester's search allocates, so verdicts are memoized per
/// thread (a pure function of the history).
pub fn verdicts(history: &[Event], final_read: Option<Option<Chain>>) -> (bool, bool) {
    /// Per history, the verdicts by final read (`None`: the history has not ended).
    type Cache = HashMap<Vec<Event>, Vec<(Option<Option<Chain>>, (bool, bool))>>;
    thread_local! {
        static VERDICTS: RefCell<Cache> = RefCell::new(HashMap::new());
    }
    VERDICTS.with(|cache| {
        let known = cache.borrow().get(history).and_then(|by_read| {
            by_read
                .iter()
                .find(|(read, _)| *read == final_read)
                .map(|(_, v)| *v)
        });
        if let Some(v) = known {
            return v;
        }
        let v = (
            linearizable(history, true, final_read),
            linearizable(history, false, final_read),
        );
        let mut cache = cache.borrow_mut();
        match cache.get_mut(history) {
            Some(by_read) => by_read.push((final_read, v)),
            None => {
                cache.insert(history.to_vec(), vec![(final_read, v)]);
            }
        }
        v
    })
}

/// The history thread of the final read: no client operation uses it.
const FINAL_READER: u8 = u8::MAX;

/// Is the history linearizable, starting from the seed document? `with_reads` includes GETs and
/// 409s; without it only writes that took effect or may have are judged. The final read, when
/// given, is judged in both.
fn linearizable(history: &[Event], with_reads: bool, final_read: Option<Option<Chain>>) -> bool {
    let mut tester = Tester::new(Document(Some(Chain::EMPTY)));
    for event in history {
        // A malformed history invalidates the tester, which then reports "not linearizable".
        let _ = match *event {
            Event::Read { op, value } if with_reads => {
                tester.on_invret(op, DocOp::Read, DocRet::ReadOk(value))
            }
            Event::Conflict {
                op, expected, new, ..
            } if with_reads => {
                tester.on_invret(op, write_op(Some(expected), Some(new)), DocRet::CasFailed)
            }
            Event::Read { .. } | Event::Conflict { .. } => continue,
            Event::Rejected { op, .. } => tester.on_return(op, DocRet::CasFailed),
            Event::Invoke {
                op,
                expected,
                new,
                delete,
                ..
            } => tester.on_invoke(op, write_op(expected, (!delete).then_some(new))),
            Event::Acked { op } => {
                let blind = history
                    .iter()
                    .any(|e| matches!(*e, Event::Invoke { op: o, expected: None, .. } if o == op));
                tester.on_return(
                    op,
                    if blind {
                        DocRet::WriteOk
                    } else {
                        DocRet::CasOk
                    },
                )
            }
        };
    }
    if let Some(value) = final_read {
        let _ = tester.on_invret(FINAL_READER, DocOp::Read, DocRet::ReadOk(value));
    }
    tester.is_consistent()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Condition;

    const SEED: Option<Chain> = Some(Chain::EMPTY);

    #[test]
    fn a_stale_read_after_an_acknowledged_write_is_not_linearizable() {
        let w = Chain::EMPTY.append(1);
        let history = [
            Event::Invoke {
                op: 0,
                expected: Some(SEED),
                new: w,
                delete: false,
                condition: Condition::None,
            },
            Event::Acked { op: 0 },
            Event::Read { op: 1, value: SEED },
        ];
        assert!(!linearizable(&history, true, None));
        assert!(linearizable(&history, false, None));
    }

    #[test]
    fn a_final_read_that_lost_an_acknowledged_write_is_not_linearizable() {
        let w = Chain::EMPTY.append(1);
        let history = [
            Event::Invoke {
                op: 0,
                expected: Some(SEED),
                new: w,
                delete: false,
                condition: Condition::None,
            },
            Event::Acked { op: 0 },
        ];
        assert!(linearizable(&history, false, None));
        assert!(linearizable(&history, false, Some(Some(w))));
        assert!(!linearizable(&history, false, Some(SEED)));
    }

    #[test]
    fn two_writes_from_one_read_cannot_both_succeed_but_one_may_stay_pending() {
        let invoke = |op, writer| Event::Invoke {
            op,
            expected: Some(SEED),
            new: Chain::EMPTY.append(writer),
            delete: false,
            condition: Condition::None,
        };
        let both = [
            invoke(0, 1),
            Event::Acked { op: 0 },
            invoke(1, 2),
            Event::Acked { op: 1 },
        ];
        assert!(!linearizable(&both, false, None));
        let one_pending = [invoke(0, 1), invoke(1, 2), Event::Acked { op: 1 }];
        assert!(linearizable(&one_pending, false, None));
    }
}
