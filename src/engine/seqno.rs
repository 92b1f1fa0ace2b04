//! The `_seq_no` allocator and the lock-free local checkpoint tracker of one shard copy.
//!
//! Elasticsearch's `LocalCheckpointTracker` hands out sequence numbers with an atomic increment
//! and marks them processed under a `synchronized` method over a map of bitsets. Here marking is
//! lock-free too: a ring of `window` stamps where `ring[s % window] == s` means "`s` was
//! processed". Stamps only grow (each slot sees `s`, `s + window`, ...), so a slot reused on the
//! next lap needs no clearing and a late or repeated mark can never erase a newer one.
//!
//! The checkpoint (the highest `s` with everything up to `s` processed) is advanced by whichever
//! marker sees the next stamps, using [`crate::protocol::checkpoint::advance_local_checkpoint`]
//! for the walk and a compare-and-swap to publish it. The marker reads the checkpoint with a
//! read-modify-write, not a plain load: with a plain load two markers can each miss the other's
//! stamp (store buffering) and both stop, leaving the checkpoint stuck. loom finds that bug
//! (`loom/checkpoint.rs`).
//!
//! Back-pressure: a `_seq_no` more than `window` above the checkpoint must wait for the slot it
//! would reuse. The lowest unprocessed `_seq_no` never waits, so the wait always ends once the
//! writer holding that `_seq_no` finishes, provided no thread waits while holding an unmarked
//! lower one: the engine's tickets settle each `_seq_no` before their thread takes the next. Replicas ask [`LocalCheckpointTracker::admits`] first
//! and refuse rather than wait.

use super::sync::{backoff, AtomicI64, CachePadded, Ordering};
use crate::protocol::checkpoint::{advance_local_checkpoint, next_seq_no, INITIAL_CHECKPOINT};
use crate::protocol::SeqNo;

/// Stamps a fresh ring slot holds: no `_seq_no` is negative, so nothing matches it.
const EMPTY_STAMP: SeqNo = INITIAL_CHECKPOINT;

/// `_seq_no` allocation and the local checkpoint of one shard copy.
pub struct LocalCheckpointTracker {
    /// The highest `_seq_no` assigned (primary) or seen (replica). Each counter has a cache line
    /// of its own: every write takes a `_seq_no` and then moves the checkpoint, and sharing a
    /// line makes each of those steps wait for the other writers' (false sharing).
    max_seq_no: CachePadded<AtomicI64>,
    /// The local checkpoint: every `_seq_no` up to it is processed.
    checkpoint: CachePadded<AtomicI64>,
    ring: Box<[AtomicI64]>,
}

impl LocalCheckpointTracker {
    /// A tracker for a copy that has processed nothing, with room for `window` sequence numbers
    /// in flight above the checkpoint (rounded up to a power of two).
    pub fn new(window: usize) -> Self {
        let window = window.max(1).next_power_of_two();
        LocalCheckpointTracker {
            max_seq_no: CachePadded::new(AtomicI64::new(INITIAL_CHECKPOINT)),
            checkpoint: CachePadded::new(AtomicI64::new(INITIAL_CHECKPOINT)),
            ring: (0..window).map(|_| AtomicI64::new(EMPTY_STAMP)).collect(),
        }
    }

    /// A tracker that starts with everything up to `checkpoint` processed (a copy rebuilt from a
    /// translog whose older operations were folded into a snapshot; Elasticsearch's
    /// `LocalCheckpointTracker(maxSeqNo, localCheckpoint)` from a commit).
    pub(crate) fn starting_at(window: usize, checkpoint: SeqNo) -> Self {
        let tracker = Self::new(window);
        tracker.max_seq_no.store(checkpoint, Ordering::Release);
        tracker.checkpoint.store(checkpoint, Ordering::Release);
        tracker
    }

    fn stamp(&self, seq_no: SeqNo) -> &AtomicI64 {
        // Ring length is a power of two, so masking is `seq_no mod window` for `seq_no >= 0`.
        &self.ring[(seq_no as usize) & (self.ring.len() - 1)]
    }

    fn window(&self) -> SeqNo {
        self.ring.len() as SeqNo
    }

    /// Assign the next `_seq_no` (`generateSeqNo`).
    pub fn allocate(&self) -> SeqNo {
        next_seq_no(self.max_seq_no.fetch_add(1, Ordering::AcqRel))
    }

    /// Note a `_seq_no` assigned elsewhere, e.g. by the primary of a replica (`advanceMaxSeqNo`).
    pub fn observe(&self, seq_no: SeqNo) {
        self.max_seq_no.fetch_max(seq_no, Ordering::AcqRel);
    }

    /// The highest `_seq_no` assigned or seen (`NO_OPS_PERFORMED` = -1 when none).
    pub fn max_seq_no(&self) -> SeqNo {
        self.max_seq_no.load(Ordering::Acquire)
    }

    /// The local checkpoint (`NO_OPS_PERFORMED` = -1 when nothing is processed).
    pub fn checkpoint(&self) -> SeqNo {
        self.checkpoint.load(Ordering::Acquire)
    }

    /// Whether marking `seq_no` now would not have to wait for its ring slot.
    pub fn admits(&self, seq_no: SeqNo) -> bool {
        seq_no - self.window() <= self.checkpoint()
    }

    /// `hasProcessed`: is `seq_no` at or below the checkpoint, or stamped above it?
    pub fn has_processed(&self, seq_no: SeqNo) -> bool {
        seq_no <= self.checkpoint() || self.stamp(seq_no).load(Ordering::Acquire) == seq_no
    }

    /// `markSeqNoAsProcessed`: record `seq_no` and advance the checkpoint over every
    /// consecutive processed number. Marking a number twice is harmless.
    pub fn mark_processed(&self, seq_no: SeqNo) {
        debug_assert!(seq_no >= 0, "negative _seq_no {seq_no}");
        while !self.admits(seq_no) {
            backoff();
        }
        // fetch_max, not store: a stale repeat of an old number must not erase a newer stamp.
        self.stamp(seq_no).fetch_max(seq_no, Ordering::AcqRel);
        // Read-modify-write: puts this read in the checkpoint's modification order (see module doc).
        let mut checkpoint = self.checkpoint.fetch_add(0, Ordering::AcqRel);
        loop {
            let reached = advance_local_checkpoint(checkpoint, |s| {
                self.stamp(s).load(Ordering::Acquire) == s
            });
            if reached == checkpoint {
                return;
            }
            // Walk again after a successful swap too. The read-modify-write already guarantees
            // that the later of two markers sees the earlier one's stamp (loom finds no stuck
            // schedule without this second walk in the 2- and 3-marker models); the extra walk
            // is one load and keeps progress independent of how a failed swap reads.
            checkpoint = match self.checkpoint.compare_exchange(
                checkpoint,
                reached,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => reached,
                Err(actual) => actual,
            };
        }
    }
}

#[cfg(all(test, not(esocc_loom)))]
mod tests {
    use super::*;

    #[test]
    fn allocates_from_zero_and_tracks_the_maximum() {
        let t = LocalCheckpointTracker::new(8);
        assert_eq!((t.max_seq_no(), t.checkpoint()), (-1, -1));
        assert_eq!(t.allocate(), 0);
        assert_eq!(t.allocate(), 1);
        t.observe(5);
        assert_eq!(t.max_seq_no(), 5);
        t.observe(3);
        assert_eq!(t.max_seq_no(), 5);
        assert_eq!(t.allocate(), 6);
    }

    #[test]
    fn checkpoint_waits_for_gaps_and_survives_wraparound() {
        let t = LocalCheckpointTracker::new(4);
        t.mark_processed(1);
        t.mark_processed(2);
        assert_eq!(t.checkpoint(), -1);
        assert!(t.has_processed(2) && !t.has_processed(0));
        t.mark_processed(0);
        assert_eq!(t.checkpoint(), 2);
        for s in [4, 5, 6, 3] {
            t.mark_processed(s);
        }
        assert_eq!(t.checkpoint(), 6);
        // A late repeat of an old number changes nothing, even though its slot was reused.
        t.mark_processed(1);
        t.mark_processed(5);
        assert_eq!(t.checkpoint(), 6);
        assert!(!t.admits(11) && t.admits(10));
    }
}
