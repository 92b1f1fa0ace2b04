//! One copy of the shard inside a [`super::ShardGroup`]: its engine (rebuilt when it rolls back
//! or is promoted), its translog, its global checkpoint, its role, and, while it is the
//! primary, its view of the replication group (which copies it believes in sync and their
//! local checkpoints).
//!
//! [`GroupCopy::receive`] is the replica side of replication (`acquireReplicaOperationPermit` +
//! `performOnReplica`): term fencing, the global checkpoint from the request, a rollback to the
//! global checkpoint on a newer term, the resync's trim, then the operations through the
//! engine's lock-free replica path.

use std::time::{Duration, Instant};

use super::engine_cell::{EngineCell, Generation, Sealed};
use super::replication::{Rejected, ReplicationRequest};
use super::translog::{Replay, Translog};
use super::unsafe_knobs::Unsafe;
use crate::engine::history::OpRecord;
use crate::engine::sync::{epoch, AtomicI64, AtomicU64, Ordering};
use crate::engine::{
    CopyOptions, CopyStats, EngineError, ErrorKind, GetResponse, ShardCopy, ShardId,
};
use crate::protocol::checkpoint::{
    global_checkpoint, promote, replica_global_checkpoint, survives_rollback, Promotion,
    INITIAL_CHECKPOINT,
};
use crate::protocol::ids::UNASSIGNED_SEQ_NO;
use crate::protocol::recovery::retention_lease_expired;
use crate::protocol::{check_operation_term, ReplicaOrder, SeqNo, Term, TermCheck};

/// A copy's position in its group: 0 is the first primary, then the replicas.
pub type CopyId = usize;

/// What a copy believes it is. A failed replica becomes a replica again through
/// [`super::ShardGroup::recover_replica`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Replica,
    Primary,
    Failed,
}

impl Role {
    const ALL: [Role; 3] = [Role::Replica, Role::Primary, Role::Failed];

    fn code(self) -> u64 {
        Role::ALL.iter().position(|r| *r == self).unwrap_or(0) as u64
    }

    fn from_code(code: u64) -> Role {
        Role::ALL
            .get(code as usize)
            .copied()
            .unwrap_or(Role::Failed)
    }
}

/// Primary's view: a copy it neither replicates to nor retains history for.
const OUT: u64 = 0;
/// Primary's view: an in-sync copy (a target; counts in the global checkpoint).
const IN_SYNC: u64 = 1;
/// Primary's view: a recovering copy (`initiateTracking`): a target, not in sync; the history
/// above its local checkpoint is retained.
const RECOVERING: u64 = 2;
/// Primary's view: a copy it failed, whose history above its last local checkpoint it retains
/// for a later recovery (a peer-recovery retention lease, `ReplicationTracker`), until the lease
/// is older than `CopyOptions::retention_lease_period`; then the copy is [`OUT`].
const LEASED: u64 = 3;
/// Primary's view: a recovering copy whose recovery finished (`finalizeRecovery`): a target, not
/// in sync, marked in sync once an answer shows it at the global checkpoint.
const FINALIZING: u64 = 4;

/// One copy of the shard.
pub struct GroupCopy {
    id: CopyId,
    shard: ShardId,
    options: CopyOptions,
    engine: EngineCell,
    translog: Translog,
    global_checkpoint: AtomicI64,
    role: AtomicU64,
    /// Primary's view of each copy: [`OUT`], [`IN_SYNC`] (itself included), [`RECOVERING`],
    /// [`FINALIZING`] or [`LEASED`].
    membership: Box<[AtomicU64]>,
    /// Primary's view: each copy's local checkpoint, `UNASSIGNED_SEQ_NO` while unknown.
    tracked: Box<[AtomicI64]>,
    /// Primary's view: each copy's global checkpoint as it last answered (Elasticsearch's
    /// `ReplicaResponse` carries it): where a recovery of the copy starts, so where its
    /// retention lease holds the history.
    tracked_global: Box<[AtomicI64]>,
    /// Primary's view: when each [`LEASED`] copy's lease was taken, in nanoseconds since
    /// `created`.
    leased_at: Box<[AtomicU64]>,
    created: Instant,
    /// Realtime GETs served.
    reads: AtomicU64,
}

impl GroupCopy {
    /// Copy `id` of a group of `copies`, empty, in `role`, every copy in sync.
    pub(crate) fn new(
        id: CopyId,
        copies: usize,
        shard: ShardId,
        options: CopyOptions,
        role: Role,
    ) -> Self {
        GroupCopy {
            id,
            engine: EngineCell::new(ShardCopy::with_options(shard.clone(), options)),
            shard,
            options,
            translog: Translog::new(&options),
            global_checkpoint: AtomicI64::new(INITIAL_CHECKPOINT),
            role: AtomicU64::new(role.code()),
            membership: (0..copies).map(|_| AtomicU64::new(IN_SYNC)).collect(),
            tracked: (0..copies)
                .map(|_| AtomicI64::new(INITIAL_CHECKPOINT))
                .collect(),
            tracked_global: (0..copies)
                .map(|_| AtomicI64::new(INITIAL_CHECKPOINT))
                .collect(),
            leased_at: (0..copies).map(|_| AtomicU64::new(0)).collect(),
            created: Instant::now(),
            reads: AtomicU64::new(0),
        }
    }

    pub fn id(&self) -> CopyId {
        self.id
    }

    pub fn role(&self) -> Role {
        Role::from_code(self.role.load(Ordering::Acquire))
    }

    pub(crate) fn set_role(&self, role: Role) {
        self.role.store(role.code(), Ordering::Release);
    }

    /// The copy's global checkpoint: computed from the group when primary, received from the
    /// primary when replica. It never goes backwards.
    pub fn global_checkpoint(&self) -> SeqNo {
        self.global_checkpoint.load(Ordering::Acquire)
    }

    /// Run `f` on the copy's current engine.
    pub fn with_engine<R>(&self, f: impl FnOnce(&ShardCopy) -> R) -> R {
        let guard = epoch::pin();
        f(&self.engine.load(&guard).engine)
    }

    /// A realtime GET served by this copy, counted.
    pub(crate) fn read(&self, id: &str) -> GetResponse {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.with_engine(|engine| engine.get(id))
    }

    /// Realtime GETs this copy served.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// What the copy holds: its engine's documents and history, and its translog.
    pub fn stats(&self) -> CopyStats {
        CopyStats {
            translog_entries: self.translog.len(),
            ..self.with_engine(ShardCopy::stats)
        }
    }

    /// Apply a replication request; the answer is the copy's local checkpoint afterwards.
    /// `knobs` may switch off term fencing, or order operations by arrival.
    pub(crate) fn receive(
        &self,
        request: &ReplicationRequest,
        knobs: &Unsafe,
    ) -> Result<SeqNo, Rejected> {
        let guard = epoch::pin();
        loop {
            if self.role() == Role::Failed {
                return Err(Rejected::Closed);
            }
            let Some(entered) = self.engine.enter(&guard) else {
                return Err(Rejected::Closed);
            };
            let engine = &entered.generation.engine;
            match check_operation_term(request.primary_term, engine.primary_term()) {
                Err(too_old) if !knobs.no_term_fencing => {
                    let error = engine.error(ErrorKind::TermTooOld(too_old));
                    return Err(Rejected::Engine(error));
                }
                Ok(TermCheck::Newer) => {
                    self.advance_global_checkpoint(request.global_checkpoint);
                    let generation = entered.generation;
                    drop(entered);
                    self.roll_back(generation, request.primary_term, &guard)
                        .map_err(Rejected::Engine)?;
                }
                Err(_) | Ok(TermCheck::Current) => {
                    self.advance_global_checkpoint(request.global_checkpoint);
                    if let Some(above) = request.trim_above {
                        self.translog.trim(above, request.primary_term);
                    }
                    for op in &request.ops {
                        self.translog.append(op);
                        engine
                            .apply_admitted(op, knobs.replica_order())
                            .map_err(Rejected::Engine)?;
                    }
                    self.release_history(engine);
                    return Ok(engine.local_checkpoint());
                }
            }
        }
    }

    /// The primary wrote `ops` itself: they go to its translog too, so that once demoted it
    /// recovers them locally (`recoverLocallyUpToGlobalCheckpoint` replays the translog the
    /// shard wrote as primary as well).
    pub(crate) fn log_own(&self, ops: &[OpRecord]) {
        for op in ops {
            self.translog.append(op);
        }
    }

    /// `updateGlobalCheckpointOnReplica`: keep the larger of the own and the received one.
    fn advance_global_checkpoint(&self, received: SeqNo) {
        let mut own = self.global_checkpoint();
        loop {
            let next = replica_global_checkpoint(own, received);
            if next == own {
                return;
            }
            match self.global_checkpoint.compare_exchange(
                own,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => own = actual,
            }
        }
    }

    /// The global checkpoint moved: drop what nothing can need any more from the engine's
    /// history (with the tombstones `gc_deletes` lets go) and fold the translog below it.
    fn release_history(&self, engine: &ShardCopy) {
        let bound = self.global_checkpoint().min(engine.local_checkpoint());
        let bound = match self.role() {
            // A primary keeps what its recovering copies and the failed ones whose lease has
            // not expired still need.
            Role::Primary => (0..self.membership.len())
                .filter(|&copy| match self.member(copy) {
                    RECOVERING | FINALIZING => true,
                    LEASED => !self.expire_lease(copy),
                    _ => false,
                })
                .map(|copy| self.tracked_global[copy].load(Ordering::Acquire))
                .fold(bound, SeqNo::min),
            _ => bound,
        };
        engine.release_through(bound);
        self.translog.release_through(bound);
    }

    /// Nanoseconds since the copy was created (a lease's timestamp).
    fn now(&self) -> u64 {
        u64::try_from(self.created.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Primary's view: drop the lease of the failed `copy` if it has expired. Returns whether
    /// it has.
    fn expire_lease(&self, copy: CopyId) -> bool {
        let taken = self.leased_at[copy].load(Ordering::Acquire);
        let age = Duration::from_nanos(self.now().saturating_sub(taken));
        let expired = retention_lease_expired(age, self.options.retention_lease_period);
        if expired {
            let _ = self.membership[copy].compare_exchange(
                LEASED,
                OUT,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
        expired
    }

    /// A newer primary term: `resetEngineToGlobalCheckpoint`. The copy keeps only the operations
    /// at or below its global checkpoint in its engine (the translog keeps the rest) and adopts
    /// the term. If another delivery is already rebuilding, this one waits for its engine and
    /// retries.
    fn roll_back(
        &self,
        generation: &Generation,
        term: Term,
        guard: &epoch::Guard,
    ) -> Result<(), EngineError> {
        let Some(sealed) = self.engine.seal(generation, guard) else {
            self.engine.wait_past(generation, guard);
            return Ok(());
        };
        let checkpoint = self.global_checkpoint();
        match self.rebuild(|op| survives_rollback(op.seq_no, checkpoint), term) {
            Ok(engine) => {
                sealed.publish(engine);
                Ok(())
            }
            Err(e) => {
                // A replica that cannot rebuild is failed, as Elasticsearch fails a replica on
                // any document-level error; dropping `sealed` closes its engine for good.
                self.set_role(Role::Failed);
                Err(e)
            }
        }
    }

    /// A new engine in `term` holding the translog's snapshot and the operations above it that
    /// `keep` selects.
    fn rebuild(
        &self,
        keep: impl Fn(&OpRecord) -> bool,
        term: Term,
    ) -> Result<ShardCopy, EngineError> {
        let options = CopyOptions {
            primary_term: term,
            ..self.options
        };
        let replay = self.translog.replay(keep);
        let engine = ShardCopy::restored(
            self.shard.clone(),
            options,
            replay.through,
            &replay.snapshot,
        );
        for op in &replay.ops {
            engine.apply_admitted(op, ReplicaOrder::SeqNo)?;
        }
        Ok(engine)
    }

    /// The master promoted this copy (the master's term was `master_term`). Restore the whole
    /// translog into a new engine (`restoreLocalHistoryFromTranslog`), bump the term, fill the
    /// gaps up to the max `_seq_no` with no-ops of the new term, and become primary of the copies
    /// in `in_sync`. The caller resyncs with the returned plan. The documents stay as the copy
    /// held them ([`GroupCopy::restore_onto_held_documents`]).
    pub(crate) fn promote(
        &self,
        master_term: Term,
        in_sync: &[CopyId],
        knobs: &Unsafe,
    ) -> Result<Promotion, EngineError> {
        let guard = epoch::pin();
        let sealed = self.seal_current(&guard)?;
        let held = &sealed.generation.engine;
        let restored = self
            .rebuild(|_| true, held.primary_term())
            .and_then(|engine| {
                Self::restore_onto_held_documents(held, &engine, knobs.replica_order());
                let plan = promote(
                    master_term,
                    engine.local_checkpoint(),
                    engine.max_seq_no(),
                    self.global_checkpoint(),
                );
                engine.adopt_term(plan.new_term);
                for seq_no in plan.fill_gaps.clone() {
                    if !engine.has_processed(seq_no) {
                        let noop = OpRecord::noop(seq_no, plan.new_term);
                        self.translog.append(&noop);
                        engine.apply_admitted(&noop, ReplicaOrder::SeqNo)?;
                    }
                }
                Ok((engine, plan))
            });
        let (engine, plan) = match restored {
            Ok(restored) => restored,
            Err(e) => {
                self.set_role(Role::Failed);
                return Err(e);
            }
        };
        for (copy, flag) in self.membership.iter().enumerate() {
            let member = if in_sync.contains(&copy) {
                IN_SYNC
            } else {
                OUT
            };
            flag.store(member, Ordering::Release);
            let known = match copy == self.id {
                true => engine.local_checkpoint(),
                false => UNASSIGNED_SEQ_NO,
            };
            self.tracked[copy].store(known, Ordering::Release);
            self.tracked_global[copy].store(INITIAL_CHECKPOINT, Ordering::Release);
        }
        sealed.publish(engine);
        self.set_role(Role::Primary);
        // `ReplicationTracker.activatePrimaryMode`: the new primary's global checkpoint is
        // computed from its own view at once (alone in sync, it is its local checkpoint). Its
        // history is released only at the next refresh, as before: a copy that was recovering
        // may still need it (the new primary holds no lease for it, an open finding).
        self.compute_global_checkpoint();
        Ok(plan)
    }

    /// A promotion as `InternalEngine.restoreLocalHistoryFromTranslog` runs it: the documents
    /// stay as the copy `held` them and only the operations it had not processed (rolled back)
    /// are applied again on top, in `_seq_no` order, planned by `order` (the model's
    /// `ShardCopy::promote`). The rebuild alone would differ where the held documents are not
    /// their history's: a tombstone the copy pruned would come back, and under `arrival-order`
    /// (a document behind its history) or `prune-tombstones-early` (a document a late operation
    /// resurrected) it would undo the bug.
    fn restore_onto_held_documents(held: &ShardCopy, rebuilt: &ShardCopy, order: ReplicaOrder) {
        for (id, meta, _) in rebuilt.documents() {
            let pruned = held.doc_meta(&id).is_none() && held.has_processed(meta.seq_no);
            if meta.deleted && pruned {
                rebuilt.kill_tombstone(&id, meta.seq_no);
            }
        }
        for (id, meta, source) in held.documents() {
            rebuilt.install(&id, meta, source, ReplicaOrder::Arrival);
        }
        for op in rebuilt.history_above(INITIAL_CHECKPOINT) {
            if let (false, Some(id), Some(meta)) =
                (held.has_processed(op.seq_no), op.id(), op.meta())
            {
                rebuilt.install(id, meta, op.source().cloned(), order);
            }
        }
    }

    /// Seal the current engine generation for a rebuild, waiting out another rebuild.
    fn seal_current<'g>(&'g self, guard: &'g epoch::Guard) -> Result<Sealed<'g>, EngineError> {
        loop {
            let generation = self.engine.load(guard);
            match self.engine.seal(generation, guard) {
                Some(sealed) => return Ok(sealed),
                None if self.engine.wait_past(generation, guard) => {}
                None => return Err(generation.engine.error(ErrorKind::PrimaryInactive)),
            }
        }
    }

    /// A failed copy starts a recovery in the primary's `term` and answers the local checkpoint
    /// from which the primary sends it the rest. A copy still in `term` keeps everything: every
    /// operation it holds came from this primary (a shortcut: Elasticsearch's recovering shard
    /// replays its translog only up to the global checkpoint, `recoverLocallyUpToGlobalCheckpoint`,
    /// and is sent the rest; the end state is the same). A copy of an older term keeps only what
    /// it holds up to its global checkpoint and trims the operations of older terms above it
    /// from its translog: they may not be in the primary's history. It stays failed until the
    /// caller makes it a replica.
    pub(crate) fn reset_for_recovery(&self, term: Term) -> Result<SeqNo, EngineError> {
        let current = self.with_engine(|engine| (engine.primary_term(), engine.local_checkpoint()));
        if current.0 == term {
            return Ok(current.1);
        }
        let guard = epoch::pin();
        let sealed = self.seal_current(&guard)?;
        let checkpoint = self.global_checkpoint();
        self.translog.trim(checkpoint, term);
        let engine = self.rebuild(|op| survives_rollback(op.seq_no, checkpoint), term)?;
        let local_checkpoint = engine.local_checkpoint();
        sealed.publish(engine);
        Ok(local_checkpoint)
    }

    /// What a file-based recovery copies from this primary (`RecoverySourceHandler.phase1`):
    /// its translog's snapshot and every operation above it, the point-in-time state
    /// Elasticsearch's safe commit and translog hold.
    pub(crate) fn file_copy(&self) -> Replay {
        self.translog.replay(|_| true)
    }

    /// A file-based recovery's target (`RecoveryTarget.cleanFiles`): replace what the failed
    /// copy holds by the primary's `files` ([`GroupCopy::file_copy`]) in the primary's `term`,
    /// its translog included. Answers the copy's local checkpoint; it stays failed until the
    /// caller makes it a replica.
    pub(crate) fn restore_files(&self, term: Term, files: Replay) -> Result<SeqNo, EngineError> {
        let guard = epoch::pin();
        let sealed = self.seal_current(&guard)?;
        self.translog
            .restore(files.through, files.snapshot, &files.ops);
        self.advance_global_checkpoint(files.through);
        let engine = self.rebuild(|_| true, term)?;
        let local_checkpoint = engine.local_checkpoint();
        sealed.publish(engine);
        Ok(local_checkpoint)
    }

    /// Primary's view: the copies to replicate to (in sync or recovering, other than itself:
    /// `ReplicationGroup.getReplicationTargets`).
    pub(crate) fn targets(&self) -> Vec<CopyId> {
        (0..self.membership.len())
            .filter(|&copy| copy != self.id)
            .filter(|&copy| matches!(self.member(copy), IN_SYNC | RECOVERING | FINALIZING))
            .collect()
    }

    fn member(&self, copy: CopyId) -> u64 {
        self.membership
            .get(copy)
            .map_or(OUT, |flag| flag.load(Ordering::Acquire))
    }

    fn set_member(&self, copy: CopyId, member: u64) {
        if let Some(flag) = self.membership.get(copy) {
            flag.store(member, Ordering::Release);
        }
    }

    pub(crate) fn believes_in_sync(&self, copy: CopyId) -> bool {
        self.member(copy) == IN_SYNC
    }

    /// Primary's view: `copy`'s recovery finished; it waits to be marked in sync.
    pub(crate) fn is_finalizing(&self, copy: CopyId) -> bool {
        self.member(copy) == FINALIZING
    }

    /// Primary's view: the recovering `copy` answered its recovery (`finalizeRecovery`).
    pub(crate) fn finish_recovery(&self, copy: CopyId) {
        if self.member(copy) == RECOVERING {
            self.set_member(copy, FINALIZING);
        }
    }

    /// Primary's view: the master removed `copy` from the in-sync set (or it failed while
    /// recovering); its history stays retained for a recovery.
    pub(crate) fn drop_from_view(&self, copy: CopyId) {
        if matches!(self.member(copy), IN_SYNC | RECOVERING | FINALIZING) {
            if let Some(taken) = self.leased_at.get(copy) {
                taken.store(self.now(), Ordering::Release);
            }
            self.set_member(copy, LEASED);
        }
        self.refresh_global_checkpoint();
    }

    /// Primary's view: `copy` starts recovering from `local_checkpoint` (`initiateTracking`).
    pub(crate) fn start_tracking(&self, copy: CopyId, local_checkpoint: SeqNo) {
        for tracked in [&self.tracked, &self.tracked_global] {
            if let Some(tracked) = tracked.get(copy) {
                tracked.store(local_checkpoint, Ordering::Release);
            }
        }
        self.set_member(copy, RECOVERING);
    }

    /// Primary's view: the master marked the recovering `copy` in sync.
    pub(crate) fn mark_in_sync(&self, copy: CopyId) {
        self.set_member(copy, IN_SYNC);
        self.refresh_global_checkpoint();
    }

    /// Primary's view, `mark-in-sync-early`: the copy that starts recovering counts in sync at
    /// once, its local checkpoint unknown until it answers (which holds the global checkpoint).
    pub(crate) fn mark_in_sync_untracked(&self, copy: CopyId) {
        if let Some(tracked) = self.tracked.get(copy) {
            tracked.store(UNASSIGNED_SEQ_NO, Ordering::Release);
        }
        self.mark_in_sync(copy);
    }

    /// Primary's view: `copy`'s local checkpoint as last answered.
    pub(crate) fn tracked_checkpoint(&self, copy: CopyId) -> SeqNo {
        self.tracked
            .get(copy)
            .map_or(UNASSIGNED_SEQ_NO, |t| t.load(Ordering::Acquire))
    }

    /// Primary's view: `copy` answered with its local and global checkpoints.
    pub(crate) fn record_checkpoint(
        &self,
        copy: CopyId,
        local_checkpoint: SeqNo,
        global_checkpoint: SeqNo,
    ) {
        if let Some(tracked) = self.tracked.get(copy) {
            tracked.fetch_max(local_checkpoint, Ordering::AcqRel);
        }
        if let Some(tracked) = self.tracked_global.get(copy) {
            tracked.fetch_max(global_checkpoint, Ordering::AcqRel);
        }
        self.refresh_global_checkpoint();
    }

    /// Recompute the global checkpoint over the copies this primary believes in sync, and
    /// return it (the value piggybacked on the next request).
    pub(crate) fn refresh_global_checkpoint(&self) -> SeqNo {
        let (next, advanced) = self.compute_global_checkpoint();
        if advanced {
            self.with_engine(|engine| self.release_history(engine));
        }
        next
    }

    /// The global checkpoint over the copies this primary believes in sync, stored; and whether
    /// it advanced.
    fn compute_global_checkpoint(&self) -> (SeqNo, bool) {
        let own = self.with_engine(|engine| engine.local_checkpoint());
        let checkpoints: Vec<Option<SeqNo>> = (0..self.membership.len())
            .filter(|&copy| self.believes_in_sync(copy))
            .map(|copy| match copy == self.id {
                true => Some(own),
                false => Some(self.tracked[copy].load(Ordering::Acquire))
                    .filter(|&c| c != UNASSIGNED_SEQ_NO),
            })
            .collect();
        let mut previous = self.global_checkpoint();
        loop {
            let next = global_checkpoint(previous, checkpoints.iter().copied());
            if next == previous {
                return (next, false);
            }
            match self.global_checkpoint.compare_exchange(
                previous,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return (next, true),
                Err(actual) => previous = actual,
            }
        }
    }

    /// Every operation of the engine's history above `seq_no` (what a new primary resyncs).
    pub(crate) fn history_above(&self, seq_no: SeqNo) -> Vec<OpRecord> {
        self.with_engine(|engine| engine.history_above(seq_no))
    }
}
