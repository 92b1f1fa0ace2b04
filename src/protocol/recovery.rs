//! Ops-based peer recovery of a replica copy: what the primary sends, and when the master may
//! count the copy as in sync again.
//!
//! Elasticsearch: the primary starts tracking the recovering copy
//! (`ReplicationTracker.initiateTracking`), so every new write is sent to it and waits for it;
//! `RecoverySourceHandler` then sends the operations above the copy's local checkpoint
//! (phase 2, from `startingSeqNo`), and `finalizeRecovery` asks
//! `ReplicationTracker.markAllocationIdAsInSync`, which waits until the copy's local checkpoint
//! has reached the global checkpoint. A copy marked in sync before that lacks acknowledged
//! operations and could be promoted.

use std::ops::RangeInclusive;

use super::checkpoint::next_seq_no;
use super::SeqNo;

/// The `_seq_no`s the primary sends a copy that recovers from `copy_local_checkpoint`: every one
/// above it, up to the primary's highest.
pub fn recovery_range(
    copy_local_checkpoint: SeqNo,
    primary_max_seq_no: SeqNo,
) -> RangeInclusive<SeqNo> {
    next_seq_no(copy_local_checkpoint)..=primary_max_seq_no
}

/// May the master mark a recovered copy in sync? Only once its local checkpoint has reached the
/// global checkpoint (`markAllocationIdAsInSync`).
pub fn may_mark_in_sync(copy_local_checkpoint: SeqNo, global_checkpoint: SeqNo) -> bool {
    copy_local_checkpoint >= global_checkpoint
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_sends_everything_above_the_copy_checkpoint() {
        assert_eq!(recovery_range(2, 5), 3..=5);
        assert!(recovery_range(5, 5).is_empty());
        assert_eq!(recovery_range(-1, 0), 0..=0);
    }

    #[test]
    fn in_sync_only_at_the_global_checkpoint() {
        assert!(may_mark_in_sync(3, 3));
        assert!(may_mark_in_sync(4, 3));
        assert!(!may_mark_in_sync(2, 3));
    }
}
