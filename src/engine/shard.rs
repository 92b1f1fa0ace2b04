//! [`ShardCopy`]: one copy of a shard, primary side. Realtime get, index, create and delete,
//! each deciding through [`crate::protocol`] and committing with a compare-and-swap on the
//! document's slot. The update API lives in `update.rs`, the replica side in `replica.rs`.
//!
//! A write reads the slot, plans with [`plan_as_primary`], takes a `_seq_no` (after the read,
//! so it is greater than the one read) and swaps its new version in. When the swap loses to a
//! concurrent write, the `_seq_no` is burned as a no-op and the write is planned again against
//! the new state: an unconditional write then succeeds on top of it, a conditional one gets the
//! 409 it would have got had it arrived second.
//!
//! Visible difference from Elasticsearch: Elasticsearch serialises the writes of one document
//! under a per-id lock, plans, and only then takes a `_seq_no`, so it never wastes one. Here two
//! writes to one document can both take a `_seq_no` and only one can win, so the loser's
//! `_seq_no` shows up as a no-op in the history (and as a gap in the `_seq_no`s of successful
//! writes). Checkpoints are unaffected: the no-op is processed like any operation.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::{EngineError, ErrorKind};
use super::history::{OpLog, OpRecord, Source};
use super::response::{GetResponse, WriteResponse};
use super::seqno::LocalCheckpointTracker;
use super::slot::{DocSlot, DocVersion};
use super::sync::{epoch, AtomicU64, IdMap, Mutex, Ordering, CHECKPOINT_WINDOW};
use super::ticket::SeqNoTicket;
use super::view::{self, ChangedIds, SearchView, Visible};
use crate::protocol::{
    checkpoint::{tombstone_expired, tombstone_prunable_unless_early},
    ids::FIRST_PRIMARY_TERM,
    plan_as_primary,
    recovery::DEFAULT_RETENTION_LEASE_PERIOD,
    Condition, DocMeta, ReplicaOrder, SeqNo, Term, WriteKind, WriteResult,
};

/// Which shard a copy belongs to: what error bodies and responses name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ShardId {
    pub index: String,
    pub index_uuid: String,
    pub shard: u32,
}

impl ShardId {
    pub fn new(index: impl Into<String>, index_uuid: impl Into<String>, shard: u32) -> Self {
        ShardId {
            index: index.into(),
            index_uuid: index_uuid.into(),
            shard,
        }
    }

    /// `[index][shard]`, as Elasticsearch prints a `ShardId`.
    pub fn display(&self) -> String {
        format!("[{}][{}]", self.index, self.shard)
    }
}

/// Elasticsearch's default `index.gc_deletes`: how long a delete's tombstone is kept after every
/// in-sync copy has processed it.
pub const DEFAULT_GC_DELETES: Duration = Duration::from_secs(60);

/// Tuning of a shard copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyOptions {
    /// The primary term the copy starts in.
    pub primary_term: Term,
    /// How many `_seq_no`s may be in flight above the local checkpoint.
    pub checkpoint_window: usize,
    /// Keep the operation history (needed to resync replicas; benchmarks switch it off).
    pub keep_history: bool,
    /// `index.gc_deletes`: a tombstone is pruned once the global checkpoint passed it and this
    /// long has elapsed since the delete (default 60 s; 0 prunes at the next release).
    pub gc_deletes: Duration,
    /// The history is cut when the global checkpoint has moved this far since the last cut (or
    /// half the retained history, if that is more): a cut walks what is retained, so this
    /// amortises it. Default 256.
    pub release_step: u32,
    /// `index.soft_deletes.retention_lease.period`: how long a primary keeps the history a
    /// failed copy would need for an ops-based recovery (default 12 h, as Elasticsearch's).
    pub retention_lease_period: Duration,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            primary_term: FIRST_PRIMARY_TERM,
            checkpoint_window: CHECKPOINT_WINDOW,
            keep_history: true,
            gc_deletes: DEFAULT_GC_DELETES,
            release_step: 256,
            retention_lease_period: DEFAULT_RETENTION_LEASE_PERIOD,
        }
    }
}

/// The result of a write on the primary, with everything the replication layer ships.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteOutcome {
    /// What the client gets.
    pub result: Result<WriteResponse, EngineError>,
    /// The operations to replicate, in `_seq_no` order: the no-ops of lost compare-and-swaps,
    /// then the write itself when it went in. Empty for a conflict decided before any
    /// `_seq_no` was taken, and for a noop update.
    pub ops: Vec<OpRecord>,
    /// Write attempts made (an update retries up to `retry_on_conflict` times).
    pub attempts: u32,
}

/// What a copy holds, as Elasticsearch's `_stats` counts it (`docs`, `translog.operations`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Live documents.
    pub docs: usize,
    /// Tombstones of deleted documents not pruned yet.
    pub deleted: usize,
    /// Operations the history retains (those above the last release point).
    pub history_ops: usize,
    /// Tombstones waiting for `gc_deletes` to elapse.
    pub pending_tombstones: usize,
    /// Entries of the copy's translog (snapshot documents and operations above it); 0 for a
    /// copy outside a shard group, which has none.
    pub translog_entries: usize,
}

/// A delete the history released, whose tombstone is pruned once `gc_deletes` has elapsed.
struct Tombstone {
    id: Arc<str>,
    seq_no: SeqNo,
    deleted_at: Instant,
}

/// One copy of a shard: documents, `_seq_no`s, checkpoint and history.
pub struct ShardCopy {
    pub(crate) shard: Arc<ShardId>,
    term: AtomicU64,
    pub(crate) tracker: LocalCheckpointTracker,
    pub(crate) log: OpLog,
    pub(crate) docs: IdMap<DocSlot>,
    gc_deletes: Duration,
    /// Released deletes, oldest first; only the thread that releases history touches it.
    tombstones: Mutex<VecDeque<Tombstone>>,
    /// Ids written since the last refresh.
    changed: ChangedIds,
    /// What search sees: the last refresh's view.
    view: Mutex<SearchView>,
    /// Held by the one refresh running.
    refreshing: Mutex<()>,
}

impl ShardCopy {
    /// A new, empty copy in the first primary term.
    pub fn new(shard: ShardId) -> Self {
        Self::with_options(shard, CopyOptions::default())
    }

    pub fn with_options(shard: ShardId, options: CopyOptions) -> Self {
        let tracker = LocalCheckpointTracker::new(options.checkpoint_window);
        Self::with_tracker(shard, options, tracker)
    }

    /// A copy holding `snapshot` (one operation per document, all at or below `checkpoint`)
    /// with everything up to `checkpoint` processed: what a rebuild starts from when the
    /// translog folded its older operations into a snapshot.
    pub(crate) fn restored(
        shard: ShardId,
        options: CopyOptions,
        checkpoint: SeqNo,
        snapshot: &[OpRecord],
    ) -> Self {
        let tracker = LocalCheckpointTracker::starting_at(options.checkpoint_window, checkpoint);
        let copy = Self::with_tracker(shard, options, tracker);
        // Its history starts above the checkpoint: what the snapshot holds was released.
        copy.log.reset(checkpoint);
        for op in snapshot {
            if let (Some(id), Some(meta)) = (op.id(), op.meta()) {
                copy.install(id, meta, op.source().cloned(), ReplicaOrder::SeqNo);
            }
        }
        copy
    }

    fn with_tracker(shard: ShardId, options: CopyOptions, tracker: LocalCheckpointTracker) -> Self {
        ShardCopy {
            shard: Arc::new(shard),
            term: AtomicU64::new(options.primary_term),
            tracker,
            log: OpLog::new(options.keep_history, options.release_step),
            docs: IdMap::new(),
            gc_deletes: options.gc_deletes,
            tombstones: Mutex::new(VecDeque::new()),
            changed: ChangedIds::new(),
            view: Mutex::new(SearchView::default()),
            refreshing: Mutex::new(()),
        }
    }

    /// A write installed a version of `id` in `slot`: make sure the next refresh looks at it.
    pub(crate) fn note_changed(&self, slot: &DocSlot, guard: &epoch::Guard) {
        if slot.mark_changed() {
            self.changed.push(slot.id().clone(), guard);
        }
    }

    /// Refresh (`InternalEngine.refresh`): publish a view with every document written since the
    /// last refresh as it is now. Refreshes run one at a time; searches never wait for them.
    pub fn refresh(&self) {
        let _one = self.refreshing.lock();
        let guard = epoch::pin();
        let ids = self.changed.take(&guard);
        if ids.is_empty() {
            return;
        }
        let current = self.search_view();
        let next = view::refreshed(&current, ids, |id| {
            self.docs
                .get(id, |slot| {
                    slot.clear_changed();
                    let version = slot.load(&guard).version()?;
                    Some(Visible {
                        meta: version.meta,
                        source: version.source.clone()?,
                    })
                })
                .flatten()
        });
        *self.view.lock() = next;
    }

    /// The view the last refresh published (cheap: two `Arc`s).
    pub fn search_view(&self) -> SearchView {
        self.view.lock().clone()
    }

    /// Drop the history at or below `bound` (the global checkpoint: no promotion, resync or
    /// recovery needs it any more), and prune the tombstones of released deletes once
    /// `gc_deletes` has passed. Cheap when there is nothing to do; never waits (a release
    /// running on another thread makes this one return).
    pub(crate) fn release_through(&self, bound: SeqNo) {
        let bound = bound.min(self.local_checkpoint());
        if !self.log.due(bound) {
            return;
        }
        let Some(mut tombstones) = self.tombstones.try_lock() else {
            return;
        };
        let mut fresh = Vec::new();
        self.log.release_through(bound, |released| {
            let (Some(deleted_at), Some(id)) = (released.deleted_at, released.op.id()) else {
                return;
            };
            // Only a tombstone still in place is worth waiting for (the id may be written again).
            let seq_no = released.op.seq_no;
            if self
                .doc_meta(id)
                .is_some_and(|meta| meta.deleted && meta.seq_no == seq_no)
            {
                fresh.push(Tombstone {
                    id: Arc::from(id),
                    seq_no,
                    deleted_at,
                });
            }
        });
        // A cut hands operations out newest first; the queue is oldest first (across cuts only
        // roughly: an entry out of order is pruned a little late, never early).
        fresh.sort_by_key(|t| t.deleted_at);
        tombstones.extend(fresh);
        while let Some(t) = tombstones.front() {
            if !tombstone_expired(t.deleted_at.elapsed(), self.gc_deletes) {
                break;
            }
            self.kill_tombstone(&t.id, t.seq_no);
            tombstones.pop_front();
        }
    }

    /// Drop the tombstone of the delete at `seq_no` of `id`, if it is still in place
    /// (`LiveVersionMap.pruneTombstones`): the id leaves the map, and a later write finds no
    /// version information. Returns whether it was dropped.
    pub(crate) fn kill_tombstone(&self, id: &str, seq_no: SeqNo) -> bool {
        self.docs
            .get(id, |slot| {
                let killed = slot.kill_tombstone(seq_no);
                if killed {
                    self.docs.remove_exact(id, slot);
                }
                killed
            })
            .unwrap_or(false)
    }

    /// Prune `id`'s tombstone now, whatever `gc_deletes`, if
    /// [`tombstone_prunable_unless_early`] lets this copy (its local checkpoint passed the
    /// delete, or `prune_early`). The scripted form of the `PruneTombstone` transition of the
    /// replication model (`ShardGroup::prune_tombstone`). Returns whether it was pruned.
    pub(crate) fn prune_tombstone(&self, id: &str, prune_early: bool) -> bool {
        let Some(meta) = self.doc_meta(id).filter(|meta| meta.deleted) else {
            return false;
        };
        tombstone_prunable_unless_early(prune_early, meta.seq_no, self.local_checkpoint())
            && self.kill_tombstone(id, meta.seq_no)
    }

    /// What the copy holds (one pass over its documents).
    pub fn stats(&self) -> CopyStats {
        let guard = epoch::pin();
        let mut stats = CopyStats {
            history_ops: self.log.retained(),
            pending_tombstones: self.tombstones.lock().len(),
            ..CopyStats::default()
        };
        self.docs
            .for_each(|_, slot| match slot.load(&guard).meta() {
                Some(meta) if meta.deleted => stats.deleted += 1,
                Some(_) => stats.docs += 1,
                None => {}
            });
        stats
    }

    /// Run `f` on the slot of `id` (inserted when missing) until it returns `Some`; `None`
    /// means `f` found the slot dead (`slot.rs`): it is removed and `f` runs on a fresh one.
    pub(crate) fn on_slot<R>(&self, id: &str, mut f: impl FnMut(&DocSlot) -> Option<R>) -> R {
        loop {
            let done = self.docs.get_or_insert(id, DocSlot::new, |slot| {
                let done = f(slot);
                if done.is_none() {
                    self.docs.remove_exact(id, slot);
                }
                done
            });
            if let Some(done) = done {
                return done;
            }
        }
    }

    pub fn shard_id(&self) -> &ShardId {
        &self.shard
    }

    /// The highest primary term this copy has seen.
    pub fn primary_term(&self) -> Term {
        self.term.load(Ordering::Acquire)
    }

    /// Raise the copy's primary term to `term` (never lowers it). Used on promotion and when a
    /// replica first hears of a newer primary.
    pub fn adopt_term(&self, term: Term) {
        self.term.fetch_max(term, Ordering::AcqRel);
    }

    /// The local checkpoint: every `_seq_no` up to it is processed.
    pub fn local_checkpoint(&self) -> SeqNo {
        self.tracker.checkpoint()
    }

    /// The highest `_seq_no` assigned or received.
    pub fn max_seq_no(&self) -> SeqNo {
        self.tracker.max_seq_no()
    }

    /// Whether the operation with this `_seq_no` was processed.
    pub fn has_processed(&self, seq_no: SeqNo) -> bool {
        self.tracker.has_processed(seq_no)
    }

    /// The history above `seq_no`, in `_seq_no` order (what a promoted primary resyncs).
    pub fn history_above(&self, seq_no: SeqNo) -> Vec<OpRecord> {
        self.log.above(seq_no)
    }

    /// Whether the history still holds every operation above `seq_no` this copy processed
    /// (nothing above it was released): an ops-based recovery from `seq_no` is possible.
    pub fn retains_history_above(&self, seq_no: SeqNo) -> bool {
        self.log.enabled() && self.log.released_through() <= seq_no
    }

    /// Every document state this copy holds, tombstones included, sorted by id.
    pub fn documents(&self) -> Vec<(String, DocMeta, Option<Source>)> {
        let guard = epoch::pin();
        let mut docs = Vec::new();
        self.docs.for_each(|id, slot| {
            if let Some(v) = slot.load(&guard).version() {
                docs.push((id.to_owned(), v.meta, v.source.clone()));
            }
        });
        docs.sort_by(|a, b| a.0.cmp(&b.0));
        docs
    }

    /// The document's last change as this copy knows it (tombstones included).
    pub fn doc_meta(&self, id: &str) -> Option<DocMeta> {
        let guard = epoch::pin();
        self.docs.get(id, |slot| slot.load(&guard).meta()).flatten()
    }

    /// Realtime GET. Lock-free: one pinned load of the slot.
    pub fn get(&self, id: &str) -> GetResponse {
        let guard = epoch::pin();
        let live = self
            .docs
            .get(id, |slot| {
                let version = slot.load(&guard).version()?;
                Some((version.meta, version.source.clone()?))
            })
            .flatten();
        GetResponse::new(&self.shard.index, id, live)
    }

    /// Index (create or replace) `id` under `condition` (from [`crate::protocol::validate`]).
    pub fn index(&self, id: &str, source: Source, condition: &Condition) -> WriteOutcome {
        self.write(id, WriteKind::Index, condition, Some(source))
    }

    /// `op_type=create`: fails with a 409 when a live document exists.
    pub fn create(&self, id: &str, source: Source) -> WriteOutcome {
        self.write(id, WriteKind::Index, &Condition::Create, Some(source))
    }

    /// Delete `id` under `condition`. A missing document answers `not_found` (404) and still
    /// takes a `_seq_no` and leaves a tombstone, as in Elasticsearch.
    pub fn delete(&self, id: &str, condition: &Condition) -> WriteOutcome {
        self.write(id, WriteKind::Delete, condition, None)
    }

    pub(crate) fn error(&self, kind: ErrorKind) -> EngineError {
        EngineError {
            kind,
            shard: self.shard.clone(),
        }
    }

    /// One write attempt: plan, take a `_seq_no`, swap; on a lost swap burn the `_seq_no` and
    /// plan again. Lock-free: a lost swap means another write went in.
    pub(crate) fn write(
        &self,
        id: &str,
        kind: WriteKind,
        condition: &Condition,
        mut source: Option<Source>,
    ) -> WriteOutcome {
        let term = self.primary_term();
        let mut ops = Vec::new();
        let result = self.on_slot(id, |slot| loop {
            let guard = epoch::pin();
            let current = slot.load(&guard);
            if current.is_dead() {
                break None;
            }
            let plan = match plan_as_primary(current.meta(), kind, condition) {
                Ok(plan) => plan,
                Err(conflict) => {
                    let id = id.to_owned();
                    break Some(Err(self.error(ErrorKind::Conflict { id, conflict })));
                }
            };
            let ticket = SeqNoTicket::issue(&self.tracker, &self.log, term);
            let meta = plan.applied(ticket.seq_no(), term);
            match slot.replace(current, DocVersion::new(meta, source.clone()), &guard) {
                Ok(()) => {
                    self.note_changed(slot, &guard);
                    let op = OpRecord::write(meta, slot.id().clone(), source.take());
                    ticket.applied(&op);
                    ops.push(op);
                    let response = WriteResponse::new(&self.shard.index, id, meta, plan.result);
                    break Some(Ok(response));
                }
                Err(_lost) => ops.push(ticket.burn()),
            }
        });
        WriteOutcome {
            result,
            ops,
            attempts: 1,
        }
    }

    /// A noop update's response: the document's current state, nothing written.
    pub(crate) fn noop_response(&self, id: &str, meta: DocMeta) -> WriteResponse {
        WriteResponse::new(&self.shard.index, id, meta, WriteResult::Noop)
    }
}
