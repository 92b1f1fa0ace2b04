//! Checkpoint arithmetic and failover: local and global checkpoints, sequence-number assignment,
//! acknowledgement, promotion (fill gaps, resync, trim) and a replica's rollback on a new term.
//!
//! Elasticsearch sources: `LocalCheckpointTracker`, `ReplicationTracker.computeGlobalCheckpoint`,
//! `IndexShard` promotion, `PrimaryReplicaSyncer`, `resetEngineToGlobalCheckpoint`.

use std::ops::RangeInclusive;
use std::time::Duration;

use super::ids::{SeqNo, Term, NO_OPS_PERFORMED};

/// The `_seq_no` the primary assigns next, given the highest one it has assigned or seen.
pub fn next_seq_no(max_seq_no: SeqNo) -> SeqNo {
    max_seq_no + 1
}

/// The local checkpoint after marking operations processed: the highest `s` such that every
/// sequence number up to `s` is processed, walking forward from the current checkpoint.
pub fn advance_local_checkpoint(checkpoint: SeqNo, processed: impl Fn(SeqNo) -> bool) -> SeqNo {
    let mut next = checkpoint + 1;
    while processed(next) {
        next += 1;
    }
    next - 1
}

/// The global checkpoint the primary computes: the minimum local checkpoint over the in-sync
/// copies (`None`: a copy whose checkpoint is not known yet). It never goes backwards, and while
/// any in-sync checkpoint is unknown the previous value stands.
pub fn global_checkpoint(
    previous: SeqNo,
    in_sync_local_checkpoints: impl IntoIterator<Item = Option<SeqNo>>,
) -> SeqNo {
    let mut min: Option<SeqNo> = None;
    for checkpoint in in_sync_local_checkpoints {
        match checkpoint {
            None => return previous,
            Some(c) => min = Some(min.map_or(c, |m| m.min(c))),
        }
    }
    min.map_or(previous, |m| m.max(previous))
}

/// A replica's global checkpoint after a primary piggybacks its own on a request: it only grows.
pub fn replica_global_checkpoint(own: SeqNo, received: SeqNo) -> SeqNo {
    own.max(received)
}

/// A write is acknowledged only once every copy in the in-sync set applied it. A copy that
/// failed must first be removed from the in-sync set by the master; it then no longer counts.
pub fn can_acknowledge<C>(
    in_sync: impl IntoIterator<Item = C>,
    applied: impl Fn(&C) -> bool,
) -> bool {
    in_sync.into_iter().all(|copy| applied(&copy))
}

/// The steps a replica takes when the master promotes it to primary.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Promotion {
    /// The new primary term: one more than the highest the copy has seen.
    pub new_term: Term,
    /// Sequence numbers the copy must check for gaps and fill with no-ops of the new term
    /// (`fillSeqNoGaps`): everything above its local checkpoint up to its max `_seq_no`.
    pub fill_gaps: RangeInclusive<SeqNo>,
    /// Resync sends every operation from here up to `trim_above` to the replicas, under the new term.
    pub resync_from: SeqNo,
    /// Replicas discard operations above this `_seq_no` that carry an older term (`trimAboveSeqNo`).
    pub trim_above: SeqNo,
}

/// May the master promote this copy when the primary fails? Only an in-sync copy other than the
/// failed primary ("Do not allow stale shards to automatically be promoted",
/// `AllocationService`/`ReplicationTracker` keep the in-sync allocation ids).
impl Promotion {
    /// The `_seq_no`s the resync sends (`PrimaryReplicaSyncer`: from above the global
    /// checkpoint up to the promoted copy's max `_seq_no`, which is also where the trim starts).
    pub fn resync_range(&self) -> RangeInclusive<SeqNo> {
        self.resync_from.max(0)..=self.trim_above
    }
}

pub fn promotable(in_sync: bool, is_failed_primary: bool) -> bool {
    in_sync && !is_failed_primary
}

/// Plan a promotion from the copy's view: its term, local checkpoint, max `_seq_no` and global
/// checkpoint.
pub fn promote(
    term: Term,
    local_checkpoint: SeqNo,
    max_seq_no: SeqNo,
    global_checkpoint: SeqNo,
) -> Promotion {
    Promotion {
        new_term: term + 1,
        fill_gaps: (local_checkpoint + 1)..=max_seq_no,
        resync_from: global_checkpoint + 1,
        trim_above: max_seq_no,
    }
}

/// After a resync's trim, does an operation survive? Those above the new primary's max `_seq_no`
/// from an older term were never acknowledged and are not in the new history.
pub fn survives_trim(op_seq_no: SeqNo, op_term: Term, trim_above: SeqNo, new_term: Term) -> bool {
    op_seq_no <= trim_above || op_term >= new_term
}

/// `index.gc_deletes`: may a released delete's tombstone (one the global checkpoint has passed)
/// be pruned, `deleted_for` after the delete? Only once `gc_deletes` has elapsed
/// (`LiveVersionMap.pruneTombstones`).
pub fn tombstone_expired(deleted_for: Duration, gc_deletes: Duration) -> bool {
    deleted_for >= gc_deletes
}

/// May a copy prune the tombstone of a delete at `tombstone_seq_no` (once `index.gc_deletes` has
/// elapsed)? Only when its local checkpoint has passed it: every older operation on the document
/// has then been processed, so none can arrive late and resurrect it
/// (`InternalEngine.pruneDeletedTombstones` prunes up to the local checkpoint; elastic's
/// `ReplicaEngine.tla` found the bug of pruning earlier).
pub fn tombstone_prunable(tombstone_seq_no: SeqNo, local_checkpoint: SeqNo) -> bool {
    tombstone_seq_no <= local_checkpoint
}

/// [`tombstone_prunable`], or with the bug `prune_early` (the model's `prune_tombstones_early`,
/// the engine's `prune-tombstones-early` knob) any tombstone, before older operations on its
/// document were processed.
pub fn tombstone_prunable_unless_early(
    prune_early: bool,
    tombstone_seq_no: SeqNo,
    local_checkpoint: SeqNo,
) -> bool {
    prune_early || tombstone_prunable(tombstone_seq_no, local_checkpoint)
}

/// When a replica first sees a newer primary term it rolls its documents back to the global
/// checkpoint and re-applies only the operations at or below it (`resetEngineToGlobalCheckpoint`);
/// the newer primary's resync brings the rest. Does an operation survive that rollback?
pub fn survives_rollback(op_seq_no: SeqNo, global_checkpoint: SeqNo) -> bool {
    op_seq_no <= global_checkpoint
}

/// The checkpoint of a copy that has processed nothing.
pub const INITIAL_CHECKPOINT: SeqNo = NO_OPS_PERFORMED;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tombstone_expires_once_gc_deletes_has_elapsed() {
        let gc = Duration::from_secs(60);
        assert!(!tombstone_expired(Duration::from_secs(59), gc));
        assert!(tombstone_expired(gc, gc));
        assert!(tombstone_expired(Duration::ZERO, Duration::ZERO));
    }

    #[test]
    fn local_checkpoint_stops_at_the_first_gap() {
        let done = [0, 1, 2, 4, 5];
        assert_eq!(advance_local_checkpoint(-1, |s| done.contains(&s)), 2);
        assert_eq!(advance_local_checkpoint(-1, |_| false), -1);
    }

    #[test]
    fn global_checkpoint_is_the_in_sync_minimum_and_never_regresses() {
        assert_eq!(global_checkpoint(-1, [Some(4), Some(2), Some(7)]), 2);
        assert_eq!(global_checkpoint(3, [Some(4), Some(2)]), 3);
        assert_eq!(global_checkpoint(1, [Some(4), None]), 1);
        assert_eq!(global_checkpoint(-1, []), -1);
    }

    #[test]
    fn promotion_fills_resyncs_and_trims() {
        let p = promote(1, 3, 6, 2);
        assert_eq!(p.new_term, 2);
        assert_eq!(p.fill_gaps, 4..=6);
        assert_eq!(p.resync_from, 3);
        assert_eq!(p.trim_above, 6);
        assert!(survives_trim(6, 1, 6, 2));
        assert!(!survives_trim(7, 1, 6, 2));
        assert!(survives_trim(7, 2, 6, 2));
    }

    #[test]
    fn acknowledgement_waits_for_every_in_sync_copy() {
        assert!(can_acknowledge([0, 1], |c| [0, 1].contains(c)));
        assert!(!can_acknowledge([0, 1, 2], |c| [0, 1].contains(c)));
    }
}
