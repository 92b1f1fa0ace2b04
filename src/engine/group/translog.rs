//! A copy's translog: every operation it accepted above its global checkpoint, and a snapshot
//! of the documents at or below it, kept when its engine rolls back to the global checkpoint, so
//! that if it is promoted later it still has the operations above the checkpoint it acknowledged
//! (the design note of elastic's `replication.tla`, commit 95f5ef1; Elasticsearch's
//! `restoreLocalHistoryFromTranslog`).
//!
//! Operations are appended lock-free (the engine's [`OpLog`]): a replica's as it receives them,
//! a primary's own as it replicates them. As the copy's global checkpoint
//! advances, [`Translog::release_through`] folds the operations at or below it into the
//! [`Snapshot`]: per document the operation of the highest `_seq_no`, as Elasticsearch's safe
//! commit holds the documents and the translog is trimmed by generation below it. A delete's
//! entry leaves the snapshot once `gc_deletes` has elapsed. So the translog holds one entry per
//! live document plus the operations a promotion, resync or rollback can still need.
//!
//! A resync's trim (`trimOperationsFromTranslog`) is recorded as a rule and applied when the
//! translog is read or folded: trims are rare control messages. The snapshot and the trims sit
//! behind mutexes the apply path never takes (folding is skipped while a rebuild reads).
//!
//! One `_seq_no` may appear more than once: a resync can replace an operation of an old term by
//! the new primary's (a gap it filled with a no-op, say). The newest entry wins, and it is also
//! the one of the highest term, because a copy accepts a newer term's operations only after every
//! delivery of the older term has left its engine gate (`engine_cell.rs`). Trims only touch
//! operations above the new primary's max `_seq_no`, which is at least every copy's global
//! checkpoint, so folding never has to undo one.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::history::{OpLog, OpRecord};
use crate::engine::sync::Mutex;
use crate::engine::CopyOptions;
use crate::protocol::checkpoint::{survives_trim, tombstone_expired, INITIAL_CHECKPOINT};
use crate::protocol::{plan_as_replica, ReplicaPlan, SeqNo, Term};

/// `trimAboveSeqNo` of a resync and the primary term it came with.
#[derive(Clone, Copy, Debug)]
struct Trim {
    above: SeqNo,
    term: Term,
}

/// The documents as of `through`: per id the operation of the highest `_seq_no` at or below it.
#[derive(Default)]
struct Snapshot {
    through: SeqNo,
    docs: HashMap<Arc<str>, OpRecord>,
    /// Deletes in the snapshot, oldest first, dropped once `gc_deletes` has elapsed.
    deletes: VecDeque<(Instant, Arc<str>, SeqNo)>,
}

/// What a rebuild starts from: the snapshot's documents with everything up to `through`
/// processed, then the surviving operations above it in `_seq_no` order.
pub(crate) struct Replay {
    pub(crate) through: SeqNo,
    pub(crate) snapshot: Vec<OpRecord>,
    pub(crate) ops: Vec<OpRecord>,
}

pub(crate) struct Translog {
    ops: OpLog,
    snapshot: Mutex<Snapshot>,
    trims: Mutex<Vec<Trim>>,
    gc_deletes: Duration,
}

impl Translog {
    pub(crate) fn new(options: &CopyOptions) -> Self {
        Translog {
            ops: OpLog::new(true, options.release_step),
            snapshot: Mutex::new(Snapshot {
                through: INITIAL_CHECKPOINT,
                ..Snapshot::default()
            }),
            trims: Mutex::new(Vec::new()),
            gc_deletes: options.gc_deletes,
        }
    }

    pub(crate) fn append(&self, op: &OpRecord) {
        self.ops.push(op.clone());
    }

    /// Make operations above `above` from terms older than `term` unreachable.
    pub(crate) fn trim(&self, above: SeqNo, term: Term) {
        self.trims.lock().push(Trim { above, term });
    }

    fn survives(trims: &[Trim], op: &OpRecord) -> bool {
        trims
            .iter()
            .all(|t| survives_trim(op.seq_no, op.primary_term, t.above, t.term))
    }

    /// Fold the operations at or below `bound` (the copy's global checkpoint, at most its local
    /// checkpoint) into the snapshot. Skipped, not waited for, while a rebuild reads.
    pub(crate) fn release_through(&self, bound: SeqNo) {
        if !self.ops.due(bound) {
            return;
        }
        let Some(mut snapshot) = self.snapshot.try_lock() else {
            return;
        };
        let trims = self.trims.lock().clone();
        let mut folded = std::collections::HashSet::new();
        let mut deletes = Vec::new();
        let snapshot = &mut *snapshot;
        self.ops.release_through(bound, |released| {
            let op = released.op;
            // Newest first: the first entry of a `_seq_no` is the one that counts.
            if !Self::survives(&trims, op) || !folded.insert(op.seq_no) {
                return;
            }
            let Some(id) = op.id() else { return };
            let held = snapshot.docs.get(id).and_then(OpRecord::meta);
            let newer = plan_as_replica(held, op.seq_no) == ReplicaPlan::Apply;
            if newer {
                let id: Arc<str> = Arc::from(id);
                if let Some(at) = released.deleted_at {
                    deletes.push((at, id.clone(), op.seq_no));
                }
                snapshot.docs.insert(id, op.clone());
            }
        });
        snapshot.through = snapshot.through.max(bound.min(self.ops.released_through()));
        // Oldest first, as in `ShardCopy::release_through`.
        deletes.sort_by_key(|(at, _, _)| *at);
        snapshot.deletes.extend(deletes);
        while let Some((at, id, seq_no)) = snapshot.deletes.front() {
            if !tombstone_expired(at.elapsed(), self.gc_deletes) {
                break;
            }
            if snapshot.docs.get(id).is_some_and(|op| op.seq_no == *seq_no) {
                snapshot.docs.remove(id);
            }
            snapshot.deletes.pop_front();
        }
    }

    /// Replace everything by `docs` (per document its state at `through`, deletes included) and
    /// the operations above `through`: a file-based recovery's copy of the primary's translog
    /// (`RecoverySourceHandler.phase1`). Only while the copy's engine is sealed.
    pub(crate) fn restore(&self, through: SeqNo, docs: Vec<OpRecord>, above: &[OpRecord]) {
        let mut snapshot = self.snapshot.lock();
        self.trims.lock().clear();
        self.ops.reset(through);
        let now = Instant::now();
        snapshot.through = through;
        snapshot.deletes = docs
            .iter()
            .filter(|op| matches!(op.meta(), Some(meta) if meta.deleted))
            .filter_map(|op| Some((now, Arc::from(op.id()?), op.seq_no)))
            .collect();
        snapshot.docs = docs
            .into_iter()
            .filter_map(|op| Some((Arc::from(op.id()?), op)))
            .collect();
        for op in above {
            self.append(op);
        }
    }

    /// The snapshot and the surviving operations above it that `keep` selects. An operation at
    /// or below the snapshot's bound still in the log (a primary records its own operations
    /// just after processing them, so one may land after a fold passed it) counts in the
    /// snapshot, where it wins if it is its document's newest.
    pub(crate) fn replay(&self, keep: impl Fn(&OpRecord) -> bool) -> Replay {
        let snapshot = self.snapshot.lock();
        let trims = self.trims.lock().clone();
        let (late, above): (Vec<OpRecord>, Vec<OpRecord>) = self
            .ops
            .above(INITIAL_CHECKPOINT)
            .into_iter()
            .filter(|op| Self::survives(&trims, op))
            .partition(|op| op.seq_no <= snapshot.through);
        let mut docs = snapshot.docs.clone();
        for op in late {
            let Some(id) = op.id() else { continue };
            if plan_as_replica(docs.get(id).and_then(OpRecord::meta), op.seq_no)
                == ReplicaPlan::Apply
            {
                docs.insert(Arc::from(id), op);
            }
        }
        let mut in_snapshot: Vec<OpRecord> = docs.into_values().filter(|op| keep(op)).collect();
        in_snapshot.sort_by_key(|op| op.seq_no);
        Replay {
            through: snapshot.through,
            snapshot: in_snapshot,
            ops: above.into_iter().filter(|op| keep(op)).collect(),
        }
    }

    /// Entries held: snapshot documents plus operations above the snapshot.
    pub(crate) fn len(&self) -> usize {
        self.snapshot.lock().docs.len() + self.ops.retained()
    }
}
