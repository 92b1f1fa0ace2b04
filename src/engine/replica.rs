//! The replica side of a shard copy: applying operations the primary replicated or resynced.
//!
//! A replica never checks conditions or versions; the primary already decided. It fences old
//! primaries ([`check_operation_term`]), keeps per document the operation with the highest
//! `_seq_no` ([`plan_as_replica`], or with the group's `arrival-order` knob the last to arrive:
//! [`ReplicaOrder::plan`]), so operations arriving out of order converge, and marks every
//! `_seq_no` processed, stale ones and no-ops included, so its checkpoint follows the primary's.

use super::error::{EngineError, ErrorKind};
use super::history::{OpRecord, Source};
use super::shard::ShardCopy;
use super::slot::DocVersion;
use super::sync::epoch;
#[cfg(doc)]
use crate::protocol::plan_as_replica;
use crate::protocol::{
    check_operation_term, DocMeta, ReplicaOrder, ReplicaPlan, SeqNo, Term, TermCheck,
};

/// What a replica did with an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaApplied {
    /// The operation is the document's newest: installed.
    Installed,
    /// The document already reflects a later operation: kept as history only.
    Stale,
    /// A no-op: only its `_seq_no` was processed.
    NoOp,
    /// This `_seq_no` was processed before (a duplicate delivery): nothing done.
    AlreadyProcessed,
}

impl ShardCopy {
    /// Apply a replicated operation (`planIndexingAsNonPrimary`, `markSeqNoAsNoop`), fenced by
    /// the operation's own primary term.
    ///
    /// An operation from a newer primary term raises the copy's term first. Rolling documents
    /// back to the global checkpoint on a new term (Elasticsearch's
    /// `resetEngineToGlobalCheckpoint`) is the replication layer's job: it knows the global
    /// checkpoint, this copy does not.
    pub fn apply_replica(&self, op: &OpRecord) -> Result<ReplicaApplied, EngineError> {
        match check_operation_term(op.primary_term, self.primary_term()) {
            Err(too_old) => return Err(self.error(ErrorKind::TermTooOld(too_old))),
            Ok(TermCheck::Newer) => self.adopt_term(op.primary_term),
            Ok(TermCheck::Current) => {}
        }
        self.apply_admitted(op, ReplicaOrder::SeqNo)
    }

    /// Apply an operation whose request already passed term fencing, without checking the
    /// operation's own term: a resync carries operations of older terms under the new primary's
    /// term, and replaying a copy's translog into a rebuilt engine checks no term at all
    /// (Elasticsearch's `LOCAL_TRANSLOG_RECOVERY` origin). `order` plans it on its document.
    pub fn apply_admitted(
        &self,
        op: &OpRecord,
        order: ReplicaOrder,
    ) -> Result<ReplicaApplied, EngineError> {
        self.admit(op.seq_no)?;
        if self.tracker.has_processed(op.seq_no) {
            return Ok(ReplicaApplied::AlreadyProcessed);
        }
        let applied = match (op.id(), op.meta()) {
            (Some(id), Some(meta)) => self.install(id, meta, op.source().cloned(), order),
            _ => ReplicaApplied::NoOp,
        };
        self.log.push(op.clone());
        self.tracker.observe(op.seq_no);
        self.tracker.mark_processed(op.seq_no);
        Ok(applied)
    }

    /// Process `seq_no` as a no-op of `primary_term` (a burned `_seq_no` of the primary, or a
    /// gap filled at promotion).
    pub fn apply_noop(
        &self,
        seq_no: SeqNo,
        primary_term: Term,
    ) -> Result<ReplicaApplied, EngineError> {
        self.apply_replica(&OpRecord::noop(seq_no, primary_term))
    }

    /// Room in the checkpoint window (a replica refuses rather than waits).
    fn admit(&self, seq_no: SeqNo) -> Result<(), EngineError> {
        if self.tracker.admits(seq_no) {
            Ok(())
        } else {
            let checkpoint = self.local_checkpoint();
            Err(self.error(ErrorKind::AheadOfCheckpoint { seq_no, checkpoint }))
        }
    }

    /// Install the state `meta` unless `order` plans it stale (the document already holds a
    /// later one).
    pub(crate) fn install(
        &self,
        id: &str,
        meta: DocMeta,
        source: Option<Source>,
        order: ReplicaOrder,
    ) -> ReplicaApplied {
        self.on_slot(id, |slot| loop {
            let guard = epoch::pin();
            let current = slot.load(&guard);
            if current.is_dead() {
                break None;
            }
            match order.plan(current.meta(), meta.seq_no) {
                ReplicaPlan::Stale => break Some(ReplicaApplied::Stale),
                ReplicaPlan::Apply => {
                    let version = DocVersion::new(meta, source.clone());
                    if slot.replace(current, version, &guard).is_ok() {
                        self.note_changed(slot, &guard);
                        break Some(ReplicaApplied::Installed);
                    }
                }
            }
        })
    }
}
