//! The primary's side of replication (`ReplicationOperation`): run the write on the primary's
//! engine, send its operations with `(_primary_term, global checkpoint)` to every copy the
//! primary believes in sync, and conclude it from their answers.
//!
//! A write is acknowledged only when every in-sync target applied it
//! ([`crate::protocol::checkpoint::can_acknowledge`]). A target that fails is first removed
//! from the in-sync set by the master; if the master answers that the primary's term is old (a
//! newer primary exists), the primary fails itself and the write fails with
//! `retry_on_primary_exception`: indefinite, never acknowledged.

use super::copy::{CopyId, Role};
use super::faults::Dispatch;
use super::pending::{Answer, PendingWrite, Tally, WriteState};
use super::ShardGroup;
use crate::engine::history::OpRecord;
use crate::engine::sync::Arc;
use crate::engine::{EngineError, ErrorKind, ShardsInfo, WriteOutcome, WriteResponse};
use crate::protocol::checkpoint::can_acknowledge;
use crate::protocol::{SeqNo, Term, TermTooOld};

/// What a primary sends a replica: operations of one write (or a resync), the sender's primary
/// term, its global checkpoint, and for the first resync request the `_seq_no` above which
/// operations of older terms are trimmed.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicationRequest {
    /// The sender's primary term: what the replica fences on. Operations keep their own terms
    /// (a resync sends operations of older terms under the new primary's).
    pub primary_term: Term,
    pub global_checkpoint: SeqNo,
    pub ops: Vec<OpRecord>,
    pub trim_above: Option<SeqNo>,
}

/// Why a copy did not apply a request.
#[derive(Clone, Debug, PartialEq)]
pub enum Rejected {
    /// The copy failed (or the link dropped the request).
    Closed,
    /// The engine refused: an old primary term, or an operation too far above the checkpoint.
    Engine(EngineError),
}

/// Who waits for the answer to a request.
#[derive(Clone)]
pub(crate) enum Reply {
    /// A client's write.
    Write(Arc<WriteState>),
    /// A new primary's resync (or a global checkpoint sync): nobody waits, but a failed copy
    /// is still removed.
    Resync,
    /// A peer recovery's operations: their answer finishes the recovery.
    Recovery,
}

/// A request in flight from one copy to another.
#[derive(Clone)]
pub(crate) struct Message {
    pub(crate) from: CopyId,
    pub(crate) to: CopyId,
    pub(crate) request: Arc<ReplicationRequest>,
    pub(crate) reply: Reply,
}

/// The master's answer to "fail this copy" from a primary.
pub(crate) type FailShard = Result<(), TermTooOld>;

impl ShardGroup {
    /// Replicate the primary `from`'s outcome to the copies it believes in sync.
    pub(crate) fn replicate(&self, from: CopyId, outcome: WriteOutcome) -> PendingWrite {
        let primary = &self.copies[from];
        // Before any replica can have it, so no global checkpoint passes it unrecorded.
        primary.log_own(&outcome.ops);
        let targets = primary.targets();
        let request = (!outcome.ops.is_empty()).then(|| ReplicationRequest {
            primary_term: primary.with_engine(|engine| engine.primary_term()),
            // `ReplicationOperation.handlePrimaryResult` samples the global checkpoint before
            // the primary's own local checkpoint counts this write (`updateCheckPoints` runs
            // after it): what the primary computed so far.
            global_checkpoint: primary.global_checkpoint(),
            ops: outcome.ops.clone(),
            trim_above: None,
        });
        let Some(request) = request else {
            // A conflict decided before any `_seq_no` was taken, or a noop update: nothing
            // was written, nothing to replicate.
            return PendingWrite::concluded(outcome);
        };
        let early = self.knobs.ack_before_replication.then(|| outcome.clone());
        let state = WriteState::new(outcome, targets.clone());
        let request = Arc::new(request);
        for to in targets {
            self.send(Message {
                from,
                to,
                request: request.clone(),
                reply: Reply::Write(state.clone()),
            });
        }
        primary.refresh_global_checkpoint();
        if let Some(tally) = state.ready() {
            state.conclude(self.conclude(from, tally));
        }
        if let Some(outcome) = early {
            return self.acknowledged_early(from, outcome);
        }
        PendingWrite::new(state)
    }

    /// Put a message on its target's link.
    pub(crate) fn send(&self, message: Message) {
        match self.links[message.to].send(message) {
            Dispatch::Now(message) => self.deliver(message),
            Dispatch::Dropped(message) => self.answer(message, Err(Rejected::Closed)),
            Dispatch::Held => {}
        }
    }

    /// Deliver a message to its target and hand the answer to its sender.
    pub(crate) fn deliver(&self, message: Message) {
        let answer = self.copies[message.to].receive(&message.request, &self.knobs);
        self.answer(message, answer);
    }

    /// The sender handles a target's answer: track its checkpoint, or have the master remove
    /// it, or learn that it was demoted.
    pub(crate) fn answer(&self, message: Message, answer: Result<SeqNo, Rejected>) {
        let sender = &self.copies[message.from];
        let answer = match answer {
            // A sender that is no longer primary (it was demoted, and may be recovering as a
            // replica now) closed the operation: a late answer changes nothing, not even the
            // master's view of the copy that answered.
            Ok(_) if sender.role() != Role::Primary => Answer::Applied,
            Err(_) if sender.role() != Role::Primary => Answer::Failed,
            Ok(local_checkpoint) => {
                // In-process, the copy's global checkpoint is read where Elasticsearch's
                // `ReplicaResponse` carries it.
                let global_checkpoint = self.copies[message.to].global_checkpoint();
                sender.record_checkpoint(message.to, local_checkpoint, global_checkpoint);
                if matches!(message.reply, Reply::Recovery) {
                    sender.finish_recovery(message.to);
                }
                self.mark_in_sync_if_caught_up(message.from, message.to);
                Answer::Applied
            }
            Err(_) => match self.fail_shard(message.to, message.request.primary_term) {
                Ok(()) => {
                    sender.drop_from_view(message.to);
                    Answer::Failed
                }
                Err(stale) => {
                    // `NoLongerPrimaryShardException`: the old primary fails itself.
                    sender.set_role(Role::Failed);
                    Answer::Demoted(stale)
                }
            },
        };
        if let Reply::Write(state) = &message.reply {
            if let Some(tally) = state.record(message.to, answer) {
                state.conclude(self.conclude(message.from, tally));
            }
        }
    }

    /// The write's final outcome once every target answered.
    pub(crate) fn conclude(&self, from: CopyId, tally: Tally) -> WriteOutcome {
        let result = self.acknowledge(from, &tally);
        WriteOutcome {
            result,
            ..tally.outcome
        }
    }

    fn acknowledge(&self, from: CopyId, tally: &Tally) -> Result<WriteResponse, EngineError> {
        let mut response = tally.outcome.result.clone()?;
        let primary = &self.copies[from];
        let fail = |kind| Err(primary.with_engine(|engine| engine.error(kind)));
        if let Some(stale) = tally.demoted {
            return fail(ErrorKind::PrimaryDemoted(stale));
        }
        if primary.role() != Role::Primary {
            return fail(ErrorKind::PrimaryInactive);
        }
        let in_sync = tally
            .targets
            .iter()
            .filter(|&&c| primary.believes_in_sync(c));
        if !can_acknowledge(in_sync, |c| tally.applied.contains(c)) {
            return fail(ErrorKind::PrimaryInactive);
        }
        response.shards = ShardsInfo {
            total: 1 + self.number_of_replicas,
            successful: 1 + tally.applied.len() as u32,
            failed: tally.failed.len() as u32,
        };
        Ok(response)
    }
}
