//! The operation history of a shard copy: what the primary replicates and what a promoted
//! primary resyncs from (Elasticsearch keeps it in the translog and Lucene's soft deletes).
//!
//! [`OpRecord`] is one operation as it travels to replicas. [`OpLog`] is a lock-free list of
//! them (a Treiber push onto an atomic head) that keeps only what can still be needed: once the
//! global checkpoint passes a stretch of history, [`OpLog::release_through`] cuts it off and
//! hands it to crossbeam-epoch, which frees it after every reader pinned at the time has left.
//!
//! Cutting is safe against concurrent pushes because pushes only ever touch the head: the cut
//! stores null into the `next` of an interior node, which no pusher writes after publishing it.
//! Only one thread cuts at a time (`releasing`, a try-flag: a busy cut is skipped, never waited
//! for). The cut keeps every operation above the bound: an operation at or below it was pushed
//! before its `_seq_no` was marked processed, and the bound is at most the local checkpoint, so
//! no such operation can still arrive at the head.

use std::sync::Arc;
use std::time::Instant;

use super::sync::{epoch, AtomicBool, AtomicI64, AtomicUsize, Ordering};
use crate::protocol::checkpoint::INITIAL_CHECKPOINT;
use crate::protocol::{DocMeta, SeqNo, Term, Version};

/// A document's source: a JSON object, shared between the stored version, responses and the
/// operations shipped to replicas.
pub type Source = Arc<serde_json::Map<String, serde_json::Value>>;

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

    /// Cut off the oldest operations, all at or below `bound` (which must not exceed the local
    /// checkpoint), once `bound` moved far enough since the last cut. Each cut-off operation goes
    /// through `release` (newest first) before the epoch frees it. Returns whether it cut; a cut
    /// already running elsewhere makes this one return `false` at once.
    pub(crate) fn release_through(
        &self,
        bound: SeqNo,
        mut release: impl FnMut(Released<'_>),
    ) -> bool {
        if !self.due(bound) || self.releasing.swap(true, Ordering::Acquire) {
            return false;
        }
        let guard = epoch::pin();
        // Find the last node above `bound`: everything older than it is at or below.
        let mut last_above = None;
        let first = self.head.load(Ordering::Acquire, &guard);
        let mut node = first;
        // SAFETY: as in `above`; only this thread unlinks nodes.
        while let Some(n) = unsafe { node.as_ref() } {
            if n.op.seq_no > bound {
                last_above = Some(n);
            }
            node = n.next.load(Ordering::Acquire, &guard);
        }
        let unlink_after = |n: &Node| n.next.swap(epoch::Shared::null(), Ordering::AcqRel, &guard);
        // Nothing above `bound`: take the whole list off the head, unless a push got there
        // first; then the node the walk started from stays, with everything newer.
        let detached = match last_above {
            Some(n) => unlink_after(n),
            None if first.is_null() => first,
            None => match self.head.compare_exchange(
                first,
                epoch::Shared::null(),
                Ordering::AcqRel,
                Ordering::Acquire,
                &guard,
            ) {
                Ok(_) => first,
                // SAFETY: `first` is not null and was loaded under `guard`.
                Err(_) => unlink_after(unsafe { first.deref() }),
            },
        };
        let mut released = 0usize;
        let mut node = detached;
        // SAFETY: the detached chain is unreachable from the head; readers that entered it
        // before the swap are pinned, and only the deferred free below destroys it.
        while let Some(n) = unsafe { node.as_ref() } {
            release(Released {
                op: &n.op,
                deleted_at: n.deleted_at,
            });
            released += 1;
            node = n.next.load(Ordering::Acquire, &guard);
        }
        if !detached.is_null() {
            let chain = SendChain(detached.as_raw());
            // SAFETY: freed once, after every guard that could reach the chain is gone.
            unsafe { guard.defer_unchecked(move || chain.free()) };
        }
        // Every released node was counted: its push returned before its `_seq_no` was marked.
        self.retained.fetch_sub(released, Ordering::Relaxed);
        self.released_through.fetch_max(bound, Ordering::AcqRel);
        let step = self.step.max(self.retained() as SeqNo / 2);
        self.next_cut.store(bound + step, Ordering::Release);
        self.releasing.store(false, Ordering::Release);
        true
    }
}

/// A detached chain of nodes on its way to the epoch collector.
struct SendChain(*const Node);

// SAFETY: the chain is unreachable by anyone but the collector that frees it.
unsafe impl Send for SendChain {}

impl SendChain {
    /// Free every node of the chain.
    unsafe fn free(self) {
        let guard = epoch::unprotected();
        let mut node = epoch::Shared::from(self.0);
        while !node.is_null() {
            let next = node.deref().next.load(Ordering::Relaxed, guard);
            drop(node.into_owned());
            node = next;
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
}
