//! The operation history of a shard copy: what the primary replicates and what a promoted
//! primary resyncs from (Elasticsearch keeps it in the translog and Lucene's soft deletes).
//!
//! [`OpRecord`] is one operation as it travels to replicas. [`OpLog`] is a lock-free list of
//! them (a Treiber push onto an atomic head) that keeps only what can still be needed: once the
//! global checkpoint passes a stretch of history, [`OpLog::release_through`] cuts it off and
//! hands it to crossbeam-epoch, which frees it after every reader pinned at the time has left.
//!
//! Cutting is safe against concurrent pushes because pushes only ever touch the head: the cut
//! unlinks a node by storing its successor into the `next` of the node before it, which no
//! pusher writes after publishing it, and swaps the head itself only by compare-and-swap. Only
//! one thread cuts at a time (`releasing`, a try-flag: a busy cut is skipped, never waited for).
//! The cut releases every operation at or below the bound, wherever it sits in the list: a
//! replica records operations as they arrive, and a delayed one is recorded after higher ones.
//! (Cutting only the oldest stretch once left such an operation behind while the log reported
//! it released, so a translog folded below the bound lost it.) No operation at or below the
//! bound can still arrive but a duplicate: one was pushed before its `_seq_no` was marked
//! processed, and the bound is at most the local checkpoint.

use std::sync::Arc;
use std::time::Instant;

use super::sync::{epoch, AtomicBool, AtomicI64, AtomicUsize, Ordering};
use crate::protocol::checkpoint::INITIAL_CHECKPOINT;
use crate::protocol::{DocMeta, SeqNo, Term, Version};

pub use super::document::Source;

/// What an operation does.
#[derive(Clone, Debug, PartialEq)]
pub enum OpKind {
    /// Index (create or replace) `id` with `source`, giving it `version`.
    Index {
        id: Arc<str>,
        version: Version,
        source: Source,
    },
    /// Delete `id`, leaving a tombstone at `version`.
    Delete { id: Arc<str>, version: Version },
    /// Nothing: a `_seq_no` that was assigned and then not used (a lost compare-and-swap on the
    /// primary, or a gap filled at promotion). It still has to be processed everywhere so the
    /// checkpoints can pass it.
    NoOp,
}

/// One operation of the shard's history: its `_seq_no`, the primary term it was assigned in,
/// and what it does. Replicas apply it verbatim; they never re-check conditions or versions.
#[derive(Clone, Debug, PartialEq)]
pub struct OpRecord {
    pub seq_no: SeqNo,
    pub primary_term: Term,
    pub kind: OpKind,
}

impl OpRecord {
    /// The operation that produced document state `meta` for `id` (an index when `source` is
    /// given, a delete otherwise).
    pub fn write(meta: DocMeta, id: Arc<str>, source: Option<Source>) -> OpRecord {
        let kind = match source {
            Some(source) if !meta.deleted => OpKind::Index {
                id,
                version: meta.version,
                source,
            },
            _ => OpKind::Delete {
                id,
                version: meta.version,
            },
        };
        OpRecord {
            seq_no: meta.seq_no,
            primary_term: meta.primary_term,
            kind,
        }
    }

    /// A no-op at `seq_no`.
    pub fn noop(seq_no: SeqNo, primary_term: Term) -> OpRecord {
        OpRecord {
            seq_no,
            primary_term,
            kind: OpKind::NoOp,
        }
    }

    /// The document id the operation touches (`None` for a no-op).
    pub fn id(&self) -> Option<&str> {
        match &self.kind {
            OpKind::Index { id, .. } | OpKind::Delete { id, .. } => Some(id),
            OpKind::NoOp => None,
        }
    }

    /// The document state the operation leaves (`None` for a no-op).
    pub fn meta(&self) -> Option<DocMeta> {
        let (version, deleted) = match self.kind {
            OpKind::Index { version, .. } => (version, false),
            OpKind::Delete { version, .. } => (version, true),
            OpKind::NoOp => return None,
        };
        Some(DocMeta {
            seq_no: self.seq_no,
            primary_term: self.primary_term,
            version,
            deleted,
        })
    }

    /// The source the operation installs (`None` for deletes and no-ops).
    pub fn source(&self) -> Option<&Source> {
        match &self.kind {
            OpKind::Index { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A cut-off operation as [`OpLog::release_through`] hands it out, with when it was recorded if
/// it is a delete (its tombstone is kept for `gc_deletes` after that).
pub(crate) struct Released<'a> {
    pub(crate) op: &'a OpRecord,
    pub(crate) deleted_at: Option<Instant>,
}

struct Node {
    op: OpRecord,
    deleted_at: Option<Instant>,
    next: epoch::Atomic<Node>,
}

/// Lock-free operation history. Disabled logs record nothing (benchmarks).
pub(crate) struct OpLog {
    head: epoch::Atomic<Node>,
    enabled: bool,
    /// The smallest move of the bound that triggers a cut (`CopyOptions::release_step`).
    step: SeqNo,
    /// Set while one thread cuts.
    releasing: AtomicBool,
    /// Everything at or below this was released.
    released_through: AtomicI64,
    /// The bound at which the next cut is due (one load for the hot path's check).
    next_cut: AtomicI64,
    /// Operations kept after the last cut, plus those pushed since (approximate: for stats and
    /// the amortisation of cuts).
    retained: AtomicUsize,
}

impl OpLog {
    pub(crate) fn new(enabled: bool, step: u32) -> Self {
        OpLog {
            head: epoch::Atomic::null(),
            enabled,
            step: SeqNo::from(step.max(1)),
            releasing: AtomicBool::new(false),
            released_through: AtomicI64::new(INITIAL_CHECKPOINT),
            next_cut: AtomicI64::new(INITIAL_CHECKPOINT + SeqNo::from(step.max(1))),
            retained: AtomicUsize::new(0),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// Append `op` (a no-op when the log is disabled).
    pub(crate) fn push(&self, op: OpRecord) {
        if !self.enabled {
            return;
        }
        // SAFETY: a push never dereferences the head it loads, it only links the new node to it
        // and compares it; a stale head that was freed and reused is the current head again,
        // so linking to it is still right (ABA cannot hurt a push-only Treiber list).
        let guard = unsafe { epoch::unprotected() };
        let deleted_at = matches!(op.kind, OpKind::Delete { .. }).then(Instant::now);
        let mut node = epoch::Owned::new(Node {
            op,
            deleted_at,
            next: epoch::Atomic::null(),
        });
        let mut head = self.head.load(Ordering::Acquire, guard);
        loop {
            node.next.store(head, Ordering::Relaxed);
            match self
                .head
                .compare_exchange(head, node, Ordering::AcqRel, Ordering::Acquire, guard)
            {
                Ok(_) => break,
                Err(failed) => {
                    head = failed.current;
                    node = failed.new;
                }
            }
        }
        self.retained.fetch_add(1, Ordering::Relaxed);
    }

    /// Every recorded operation with a `_seq_no` above `seq_no`, in `_seq_no` order, each
    /// `_seq_no` once (the most recently recorded one).
    pub(crate) fn above(&self, seq_no: SeqNo) -> Vec<OpRecord> {
        let guard = epoch::pin();
        let mut ops = Vec::new();
        let mut node = self.head.load(Ordering::Acquire, &guard);
        // SAFETY: nodes reachable under a pinned guard are freed only through the epoch.
        while let Some(n) = unsafe { node.as_ref() } {
            if n.op.seq_no > seq_no {
                ops.push(n.op.clone());
            }
            node = n.next.load(Ordering::Acquire, &guard);
        }
        // Stable: among entries of one `_seq_no` the newest (first in the list) stays first.
        ops.sort_by_key(|op| op.seq_no);
        ops.dedup_by_key(|op| op.seq_no);
        ops
    }

    /// How many operations the log holds.
    pub(crate) fn retained(&self) -> usize {
        self.retained.load(Ordering::Relaxed)
    }

    /// The `_seq_no` at and below which operations were released.
    pub(crate) fn released_through(&self) -> SeqNo {
        self.released_through.load(Ordering::Acquire)
    }

    /// Whether the bound moved far enough since the last cut for [`OpLog::release_through`] to
    /// walk the log (the step grows with what the log retains, so cuts stay amortised).
    pub(crate) fn due(&self, bound: SeqNo) -> bool {
        self.enabled && bound >= self.next_cut.load(Ordering::Acquire)
    }

    /// Release every operation at or below `bound` (which must not exceed the local checkpoint),
    /// once `bound` moved far enough since the last cut, wherever it sits in the log: a replica
    /// records operations in the order they arrive, so one at or below the bound may have been
    /// recorded after one above it. Each released operation goes through `release` (newest
    /// first) before the epoch frees it. Returns whether it cut; a cut already running elsewhere
    /// makes this one return `false` at once.
    pub(crate) fn release_through(
        &self,
        bound: SeqNo,
        mut release: impl FnMut(Released<'_>),
    ) -> bool {
        if !self.due(bound) || self.releasing.swap(true, Ordering::Acquire) {
            return false;
        }
        let guard = epoch::pin();
        let mut unlinked = Unlinked(Vec::new());
        // The last node the walk kept; `None` while it kept none, so a node to unlink is the head
        // (unless a push got in front of it since).
        let mut kept: Option<&Node> = None;
        let mut node = self.head.load(Ordering::Acquire, &guard);
        // SAFETY: as in `above`; only this thread unlinks nodes, and the unlinked ones are freed
        // through the epoch below, after every reader that could still be on them.
        while let Some(n) = unsafe { node.as_ref() } {
            let next = n.next.load(Ordering::Acquire, &guard);
            if n.op.seq_no > bound {
                kept = Some(n);
            } else {
                kept = self.unlink(kept, node, next, &guard);
                release(Released {
                    op: &n.op,
                    deleted_at: n.deleted_at,
                });
                unlinked.0.push(node.as_raw());
            }
            node = next;
        }
        // Every released node was counted: its push returned before its `_seq_no` was marked.
        self.retained.fetch_sub(unlinked.0.len(), Ordering::Relaxed);
        // SAFETY: each node is unreachable from the head now and listed once.
        unsafe { unlinked.retire(&guard) };
        self.released_through.fetch_max(bound, Ordering::AcqRel);
        let step = self.step.max(self.retained() as SeqNo / 2);
        self.next_cut.store(bound + step, Ordering::Release);
        self.releasing.store(false, Ordering::Release);
        true
    }

    /// Drop every operation and start over as if everything at or below `through` had been
    /// released (an engine rebuilt from a snapshot at `through`, a translog replaced by a
    /// file-based recovery's copy). The caller makes
    /// sure nothing pushes or cuts meanwhile (the copy's engine is sealed); readers may still
    /// walk the old nodes, which the epoch frees after them.
    pub(crate) fn reset(&self, through: SeqNo) {
        let guard = epoch::pin();
        let mut unlinked = Unlinked(Vec::new());
        let mut node = self
            .head
            .swap(epoch::Shared::null(), Ordering::AcqRel, &guard);
        // SAFETY: as in `above`; the detached nodes are freed through the epoch below.
        while let Some(n) = unsafe { node.as_ref() } {
            unlinked.0.push(node.as_raw());
            node = n.next.load(Ordering::Acquire, &guard);
        }
        // SAFETY: the detached nodes are unreachable from the head and listed once.
        unsafe { unlinked.retire(&guard) };
        self.retained.store(0, Ordering::Relaxed);
        self.released_through.store(through, Ordering::Release);
        self.next_cut.store(through + self.step, Ordering::Release);
    }

    /// Take `node` (followed by `next`) out of the list; `kept` is the node before it, `None`
    /// when it was the head as the walk saw it. Returns the node before it now (`None`: the head
    /// is `next`). Pushers write only the head and their own node's `next` before publishing it,
    /// so storing into a published node's `next` races with nobody; the head is swapped with a
    /// compare-and-swap, and when a push got in first, the pushed nodes lead to `node` and the
    /// last of them becomes the node before it.
    fn unlink<'g>(
        &self,
        kept: Option<&'g Node>,
        node: epoch::Shared<'g, Node>,
        next: epoch::Shared<'g, Node>,
        guard: &'g epoch::Guard,
    ) -> Option<&'g Node> {
        let before = match kept {
            Some(before) => before,
            None => match self.head.compare_exchange(
                node,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
                guard,
            ) {
                Ok(_) => return None,
                Err(failed) => {
                    let mut before = failed.current;
                    loop {
                        // SAFETY: the nodes pushed since lead to `node`, which is not null.
                        let b = unsafe { before.deref() };
                        let after = b.next.load(Ordering::Acquire, guard);
                        if after == node {
                            break b;
                        }
                        before = after;
                    }
                }
            },
        };
        before.next.store(next, Ordering::Release);
        Some(before)
    }
}

/// Nodes a cut unlinked, on their way to the epoch collector (each on its own: their `next`
/// pointers may lead to nodes still in the list).
struct Unlinked(Vec<*const Node>);

// SAFETY: the nodes are unreachable by anyone but the collector that frees them.
unsafe impl Send for Unlinked {}

impl Unlinked {
    /// Hand the nodes to the epoch collector, which frees them once every guard that could
    /// still reach them is gone.
    ///
    /// # Safety
    /// Every node is unreachable from the head and listed once.
    unsafe fn retire(self, guard: &epoch::Guard) {
        if !self.0.is_empty() {
            // SAFETY: the caller's contract; `free` runs once, after the guards.
            unsafe { guard.defer_unchecked(move || self.free()) };
        }
    }

    /// Free every node.
    unsafe fn free(self) {
        for node in self.0 {
            drop(epoch::Shared::from(node).into_owned());
        }
    }
}

impl Drop for OpLog {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no reader or pusher can reach the list any more.
        unsafe {
            let guard = epoch::unprotected();
            let mut node = self.head.load(Ordering::Relaxed, guard);
            while !node.is_null() {
                let next = node.deref().next.load(Ordering::Relaxed, guard);
                drop(node.into_owned());
                node = next;
            }
        }
    }
}

#[cfg(all(test, not(esocc_loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_only_what_is_above_the_bound_within_two_steps() {
        let log = OpLog::new(true, 16);
        let mut released = Vec::new();
        for s in 0..1000 {
            log.push(OpRecord::noop(s, 1));
            // The bound trails the pushes by 5, as a global checkpoint trails writes in flight.
            log.release_through(s - 5, |r| released.push(r.op.seq_no));
            assert!(
                log.retained() <= 2 * 16 + 5,
                "{} retained at {s}",
                log.retained()
            );
        }
        let kept: Vec<SeqNo> = log.above(-1).iter().map(|op| op.seq_no).collect();
        assert_eq!(kept.first().copied(), Some(log.released_through() + 1));
        assert_eq!(kept.last().copied(), Some(999));
        released.sort_unstable();
        let mut all = released;
        all.extend(kept);
        assert_eq!(
            all,
            (0..1000).collect::<Vec<_>>(),
            "each operation kept or released once"
        );
    }

    #[test]
    fn a_cut_releases_an_operation_recorded_after_a_higher_one() {
        // A replica whose link delayed `_seq_no` 1 records it after 2 and 3.
        let log = OpLog::new(true, 1);
        for s in [0, 2, 3, 1, 4] {
            log.push(OpRecord::noop(s, 1));
        }
        let mut released = Vec::new();
        assert!(log.release_through(1, |r| released.push(r.op.seq_no)));
        assert_eq!(
            released,
            vec![1, 0],
            "newest first, every one at or below the bound"
        );
        let kept: Vec<SeqNo> = log.above(-1).iter().map(|op| op.seq_no).collect();
        assert_eq!(kept, vec![2, 3, 4]);
        assert_eq!(log.retained(), 3);
        assert_eq!(log.released_through(), 1);

        // The head itself at or below the bound.
        let log = OpLog::new(true, 1);
        for s in [2, 0, 1] {
            log.push(OpRecord::noop(s, 1));
        }
        assert!(log.release_through(1, |_| {}));
        let kept: Vec<SeqNo> = log.above(-1).iter().map(|op| op.seq_no).collect();
        assert_eq!(kept, vec![2]);
    }
}
