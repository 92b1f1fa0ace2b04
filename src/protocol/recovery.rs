//! Ops-based peer recovery of a replica that failed and comes back (`RecoverySourceHandler`):
//! the primary starts tracking the copy (writes go to it from then on, and their
//! acknowledgements wait for its answer: `ReplicationGroup.getReplicationTargets`), sends it
//! every operation above the copy's local checkpoint (`phase2`), and the master marks it in sync
//! only once its local checkpoint has reached the global checkpoint
//! (`ReplicationTracker.markAllocationIdAsInSync`, which waits for exactly that). Until then the
//! copy counts in no global checkpoint and in no acknowledgement decision.

use std::ops::RangeInclusive;
use std::time::Duration;

use super::ids::SeqNo;

/// Elasticsearch's default `index.soft_deletes.retention_lease.period`.
pub const DEFAULT_RETENTION_LEASE_PERIOD: Duration = Duration::from_secs(12 * 60 * 60);

/// The `_seq_no`s the primary sends a recovering copy: everything above the copy's local
/// checkpoint up to the primary's max `_seq_no` (`startingSeqNo = localCheckpoint + 1`).
pub fn recovery_range(
    copy_local_checkpoint: SeqNo,
    primary_max_seq_no: SeqNo,
) -> RangeInclusive<SeqNo> {
    (copy_local_checkpoint + 1)..=primary_max_seq_no
}

/// May the master mark a recovering copy in sync? Only once its local checkpoint has reached
/// the global checkpoint: an in-sync copy must hold every acknowledged operation.
pub fn may_mark_in_sync(copy_local_checkpoint: SeqNo, global_checkpoint: SeqNo) -> bool {
    copy_local_checkpoint >= global_checkpoint
}

/// Has the retention lease of a copy that left the group, `age` after it was last renewed,
/// expired? Once it has, the primary no longer keeps the history above the copy's checkpoint,
/// and the copy's recovery can no longer be ops-based. `ReplicationTracker.getRetentionLeases`
/// expires a lease when `currentTimeMillis - lease.timestamp() > retentionLeaseMillis`; a
/// lease of a copy still in the routing table is renewed instead, so only failed copies' expire.
pub fn retention_lease_expired(age: Duration, period: Duration) -> bool {
    age > period
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_sends_everything_above_the_copys_local_checkpoint() {
        assert_eq!(recovery_range(3, 7), 4..=7);
        assert_eq!(recovery_range(-1, 2), 0..=2);
        assert!(recovery_range(5, 5).is_empty());
    }

    #[test]
    fn a_copy_is_in_sync_only_once_it_reached_the_global_checkpoint() {
        assert!(!may_mark_in_sync(3, 4));
        assert!(may_mark_in_sync(4, 4));
        assert!(may_mark_in_sync(-1, -1));
    }

    #[test]
    fn a_lease_expires_once_older_than_the_period() {
        let period = DEFAULT_RETENTION_LEASE_PERIOD;
        assert!(!retention_lease_expired(period, period));
        assert!(retention_lease_expired(
            period + Duration::from_millis(1),
            period
        ));
        assert!(retention_lease_expired(
            Duration::from_nanos(1),
            Duration::ZERO
        ));
        assert!(!retention_lease_expired(Duration::ZERO, Duration::ZERO));
    }
}
