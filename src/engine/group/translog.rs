//! A replica's translog: every operation it accepted, kept when its engine rolls back to the
//! global checkpoint, so that if it is promoted later it still has the operations above the
//! checkpoint it acknowledged (the design note of elastic's `replication.tla`, commit 95f5ef1;
//! Elasticsearch's `restoreLocalHistoryFromTranslog`).
//!
//! Operations are appended lock-free (the engine's append-only log). A resync's trim
//! (`trimOperationsFromTranslog`) is recorded as a rule and applied when the translog is read:
//! trims are rare control messages, kept under a mutex the apply path never takes.
//!
//! One `_seq_no` may appear more than once: a resync can replace an operation of an old term by
//! the new primary's (a gap it filled with a no-op, say). The newest entry wins, and it is also
//! the one of the highest term, because a copy accepts a newer term's operations only after every
//! delivery of the older term has left its engine gate (`engine_cell.rs`).

use std::sync::Mutex;

use crate::engine::history::{OpLog, OpRecord};
use crate::protocol::checkpoint::survives_trim;
use crate::protocol::ids::UNASSIGNED_SEQ_NO;
use crate::protocol::{SeqNo, Term};

/// `trimAboveSeqNo` of a resync and the primary term it came with.
#[derive(Clone, Copy, Debug)]
struct Trim {
    above: SeqNo,
    term: Term,
}

pub(crate) struct Translog {
    ops: OpLog,
    trims: Mutex<Vec<Trim>>,
}

impl Translog {
    pub(crate) fn new() -> Self {
        Translog {
            ops: OpLog::new(true),
            trims: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn append(&self, op: &OpRecord) {
        self.ops.push(op.clone());
    }

    /// Make operations above `above` from terms older than `term` unreachable.
    pub(crate) fn trim(&self, above: SeqNo, term: Term) {
        self.trims
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(Trim { above, term });
    }

    /// The surviving operations `keep` selects, one per `_seq_no`, in `_seq_no` order.
    pub(crate) fn replay(&self, keep: impl Fn(&OpRecord) -> bool) -> Vec<OpRecord> {
        let trims = self
            .trims
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        self.ops
            .above(UNASSIGNED_SEQ_NO)
            .into_iter()
            .filter(|op| {
                trims
                    .iter()
                    .all(|t| survives_trim(op.seq_no, op.primary_term, t.above, t.term))
            })
            .filter(|op| keep(op))
            .collect()
    }
}
