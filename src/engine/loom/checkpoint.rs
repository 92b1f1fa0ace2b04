//! loom models of the `_seq_no` allocator and the lock-free local checkpoint tracker. The
//! tracker is small, so these models are exhaustive or nearly so; each names the bug it catches
//! and its preemption bound.

use loom::sync::Arc;

use super::model;
use crate::engine::seqno::LocalCheckpointTracker;

/// Two threads each take a `_seq_no` and mark it, twice: once as an applied write and once as
/// the no-op of a lost compare-and-swap (to the tracker both are a mark). Like the engine's
/// tickets, a thread settles one `_seq_no` before it takes the next. The window is 2, so the
/// ring wraps and the second marks may wait for their slot. At quiescence the checkpoint equals
/// the max `_seq_no` and the numbers taken are exactly 0..4.
///
/// Catches: reading the checkpoint with a plain load instead of a read-modify-write before the
/// walk (two markers each miss the other's stamp and the checkpoint sticks — seeded, failed with
/// "Model exceeded maximum number of branches": the next lap's mark waits forever for a slot).
/// Preemption bound 3.
#[test]
fn concurrent_marks_and_noops_never_stall_the_checkpoint() {
    model(Some(3), || {
        let tracker = Arc::new(LocalCheckpointTracker::new(2));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let tracker = tracker.clone();
                loom::thread::spawn(move || {
                    let applied = tracker.allocate();
                    tracker.mark_processed(applied);
                    let burned = tracker.allocate();
                    tracker.mark_processed(burned);
                    [applied, burned]
                })
            })
            .collect();
        let mut seen: Vec<i64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, [0, 1, 2, 3]);
        assert_eq!(tracker.max_seq_no(), 3);
        assert_eq!(tracker.checkpoint(), 3, "checkpoint stuck");
    });
}

/// A replica marks `_seq_no`s that arrive out of order, one of them twice (a duplicate
/// delivery), from two threads: the checkpoint ends at the max and never passes an unmarked
/// number while it runs.
///
/// Catches: overwriting a ring stamp with a plain store (a late duplicate of `0` lands in the
/// slot `2` already owns after the window moved, erasing its mark — seeded as `store`, failed
/// with "checkpoint stuck"). Exhaustive (no preemption bound).
#[test]
fn out_of_order_and_duplicate_marks_converge() {
    model(None, || {
        let tracker = Arc::new(LocalCheckpointTracker::new(2));
        for s in [0, 1, 2] {
            tracker.observe(s);
        }
        tracker.mark_processed(0);
        let other = {
            let tracker = tracker.clone();
            loom::thread::spawn(move || {
                tracker.mark_processed(2);
                tracker.mark_processed(0);
            })
        };
        tracker.mark_processed(1);
        assert!(tracker.checkpoint() <= 2);
        other.join().unwrap();
        assert_eq!(tracker.checkpoint(), 2, "checkpoint stuck");
    });
}

/// The last two marks race: two threads each mark one of `0` and `1` and nothing comes after
/// them to repair a missed advance. The checkpoint must end at 1.
///
/// Catches: reading the checkpoint with a plain load before the walk (each marker can miss the
/// other's stamp and both leave; seeded, failed with "checkpoint stuck"). Exhaustive.
#[test]
fn racing_last_marks_leave_no_gap() {
    model(None, || {
        let tracker = Arc::new(LocalCheckpointTracker::new(4));
        let (zero, one) = (tracker.allocate(), tracker.allocate());
        let other = {
            let tracker = tracker.clone();
            loom::thread::spawn(move || tracker.mark_processed(one))
        };
        tracker.mark_processed(zero);
        other.join().unwrap();
        assert_eq!(tracker.checkpoint(), 1, "checkpoint stuck");
    });
}

/// Three markers, one `_seq_no` each, all racing to publish the checkpoint; it must end at 2.
///
/// Catches: the plain-load read as above, with a third marker whose swap can interleave between
/// the other two (seeded, failed with "checkpoint stuck"). Preemption bound 3.
#[test]
fn three_racing_marks_reach_the_max() {
    model(Some(3), || {
        let tracker = Arc::new(LocalCheckpointTracker::new(4));
        let seqs = [tracker.allocate(), tracker.allocate(), tracker.allocate()];
        let others: Vec<_> = seqs[1..]
            .iter()
            .map(|&s| {
                let tracker = tracker.clone();
                loom::thread::spawn(move || tracker.mark_processed(s))
            })
            .collect();
        tracker.mark_processed(seqs[0]);
        for o in others {
            o.join().unwrap();
        }
        assert_eq!(tracker.checkpoint(), 2, "checkpoint stuck");
    });
}
