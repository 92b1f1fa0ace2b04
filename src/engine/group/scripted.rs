//! Message-by-message control of the replication network, for tests that replay a model's
//! paths on a [`ShardGroup`] (`tests/conformance.rs`). The model delivers, loses or duplicates
//! any one message in flight, a request or its answer; a link (see [`super::faults`]) only
//! releases its oldest or newest request and hands the answer to the sender at once. Here:
//!
//! * [`ShardGroup::held_requests`] lists the requests a link holds, as [`HeldRequest`]s;
//! * [`ShardGroup::deliver_held`], [`ShardGroup::duplicate_held`] and [`ShardGroup::drop_held`]
//!   deliver one of them (keeping a copy held, for a duplicate) or lose it, and return the
//!   answer as a [`HeldAnswer`] instead of handing it to the sender;
//! * [`ShardGroup::answer_held`] hands an answer to its sender; [`HeldAnswer::lost`] turns it
//!   into the failure its sender sees when the network loses it.
//!
//! Nothing here decides anything: deliveries and answers run the same code as a link's.
//! Also the control-plane steps a replay needs to be explicit about: the failover to a chosen
//! copy ([`ShardGroup::isolate_primary_promoting`]), a replica failure that leaves its link's
//! requests in flight ([`ShardGroup::fail_replica_holding`]) and the global checkpoint sync
//! (`GlobalCheckpointSyncAction`, [`ShardGroup::sync_global_checkpoint`]), and the master's
//! own choice of the copy to promote ([`ShardGroup::promotion_candidate`]), which a test mapping
//! the engine's failovers to model actions needs to know before it fails the primary; and the
//! prune of a tombstone at a moment the replay chooses ([`ShardGroup::prune_tombstone`]: the
//! engine's own pruning waits for `index.gc_deletes`).

use super::copy::CopyId;
use super::failover::{Failover, FaultError};
use super::replication::{Message, Rejected, ReplicationRequest, Reply};
use super::ShardGroup;
use crate::engine::sync::Arc;
use crate::protocol::{SeqNo, Term};

/// What a held request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeldKind {
    /// A client write's operations.
    Write,
    /// A new primary's resync (it carries the trim).
    Resync,
    /// A peer recovery's operations.
    Recovery,
    /// A global checkpoint sync (no operations).
    CheckpointSync,
}

/// One request a link holds, as the sender built it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldRequest {
    pub from: CopyId,
    pub to: CopyId,
    pub kind: HeldKind,
    pub primary_term: Term,
    pub global_checkpoint: SeqNo,
    /// The `_seq_no`s of its operations, in order.
    pub seq_nos: Vec<SeqNo>,
    pub trim_above: Option<SeqNo>,
}

/// A copy's answer to a delivered (or lost) request, not yet handed to the sender. A clone is
/// the same answer arriving twice (the sender's second handling of it changes nothing but what
/// the master answers then).
#[derive(Clone)]
pub struct HeldAnswer {
    message: Message,
    answer: Result<SeqNo, Rejected>,
}

impl HeldAnswer {
    /// The copy that answers (the request's target).
    pub fn answering(&self) -> CopyId {
        self.message.to
    }

    /// The copy the answer goes to.
    pub fn sender(&self) -> CopyId {
        self.message.from
    }

    /// The `_seq_no`s of the request's operations.
    pub fn seq_nos(&self) -> Vec<SeqNo> {
        self.message
            .request
            .ops
            .iter()
            .map(|op| op.seq_no)
            .collect()
    }

    /// The local checkpoint the copy answered, `None` for a failure.
    pub fn local_checkpoint(&self) -> Option<SeqNo> {
        self.answer.as_ref().ok().copied()
    }

    /// The answer as its sender sees it when the network loses it: the request failed.
    pub fn lost(self) -> HeldAnswer {
        HeldAnswer {
            answer: Err(Rejected::Closed),
            ..self
        }
    }
}

fn describe(message: &Message) -> HeldRequest {
    let request = &message.request;
    let kind = match (&message.reply, request.trim_above) {
        (Reply::Write(_), _) => HeldKind::Write,
        (Reply::Resync, Some(_)) => HeldKind::Resync,
        (Reply::Resync, None) => HeldKind::CheckpointSync,
        (Reply::Recovery, _) => HeldKind::Recovery,
    };
    HeldRequest {
        from: message.from,
        to: message.to,
        kind,
        primary_term: request.primary_term,
        global_checkpoint: request.global_checkpoint,
        seq_nos: request.ops.iter().map(|op| op.seq_no).collect(),
        trim_above: request.trim_above,
    }
}

impl ShardGroup {
    /// The requests `copy`'s link holds, oldest first.
    pub fn held_requests(&self, copy: CopyId) -> Result<Vec<HeldRequest>, FaultError> {
        self.check_copy(copy)?;
        Ok(self.links[copy].map_held(describe))
    }

    /// Deliver the `index`-th request held on `copy`'s link (as [`Self::held_requests`] lists
    /// them) and return the copy's answer; `None` if there is no such request.
    pub fn deliver_held(
        &self,
        copy: CopyId,
        index: usize,
    ) -> Result<Option<HeldAnswer>, FaultError> {
        self.check_copy(copy)?;
        Ok(self.links[copy]
            .take_at(index)
            .map(|message| self.receive_held(message)))
    }

    /// Deliver the `index`-th held request and keep a copy of it held in its place (the network
    /// duplicated it).
    pub fn duplicate_held(
        &self,
        copy: CopyId,
        index: usize,
    ) -> Result<Option<HeldAnswer>, FaultError> {
        self.check_copy(copy)?;
        let Some(message) = self.links[copy].take_at(index) else {
            return Ok(None);
        };
        self.links[copy].hold_at(index, message.clone());
        Ok(Some(self.receive_held(message)))
    }

    /// Lose the `index`-th held request: the answer is the failure its sender sees.
    pub fn drop_held(&self, copy: CopyId, index: usize) -> Result<Option<HeldAnswer>, FaultError> {
        self.check_copy(copy)?;
        Ok(self.links[copy].take_at(index).map(|message| HeldAnswer {
            message,
            answer: Err(Rejected::Closed),
        }))
    }

    /// Hand an answer to the request's sender (as a link does right after a delivery).
    pub fn answer_held(&self, answer: HeldAnswer) {
        self.answer(answer.message, answer.answer);
    }

    fn receive_held(&self, message: Message) -> HeldAnswer {
        let answer = self.copies[message.to].receive(&message.request, &self.knobs);
        HeldAnswer { message, answer }
    }

    /// [`Self::fail_replica`] as the model's network sees it: the master's primary learns at
    /// once that its requests held for the copy failed (the master removed the copy already),
    /// but every request stays held, to be delivered (and fail) later; an older primary's
    /// requests fail only then, when their sender asks the master.
    pub fn fail_replica_holding(&self, copy: CopyId) -> Result<(), FaultError> {
        self.remove_replica(copy)?;
        let primary = self.primary();
        let failing: Vec<Message> = self.links[copy]
            .map_held(|message| (Some(message.from) == primary).then(|| message.clone()))
            .into_iter()
            .flatten()
            .collect();
        for message in failing {
            self.deliver(message);
        }
        Ok(())
    }

    /// The copy [`Self::fail_primary`] or [`Self::isolate_primary`] would promote now: the
    /// master's own choice (`None`: no copy is promotable).
    pub fn promotion_candidate(&self) -> Option<CopyId> {
        self.master().candidate(&self.knobs, self.copies.len(), &[])
    }

    /// [`Self::isolate_primary`], promoting `copy` (it must be promotable) instead of the
    /// master's own choice.
    pub fn isolate_primary_promoting(&self, copy: CopyId) -> Result<Failover, FaultError> {
        self.check_copy(copy)?;
        self.fail_over(false, Some(copy))
    }

    /// The model's `PruneTombstone` transition: `copy` drops `id`'s tombstone now, as its
    /// `index.gc_deletes` had elapsed, if its local checkpoint passed the delete (or with
    /// `prune-tombstones-early`, whatever it is). Returns whether it was pruned.
    pub fn prune_tombstone(&self, copy: CopyId, id: &str) -> Result<bool, FaultError> {
        self.check_copy(copy)?;
        let early = self.knobs.prune_tombstones_early;
        Ok(self.copies[copy].with_engine(|engine| engine.prune_tombstone(id, early)))
    }

    /// `GlobalCheckpointSyncAction`: the master's primary sends its global checkpoint, with no
    /// operations, to the copies it replicates to.
    pub fn sync_global_checkpoint(&self) -> Result<(), FaultError> {
        let primary = self.primary().ok_or(FaultError::NoPrimary)?;
        let source = &self.copies[primary];
        let request = Arc::new(ReplicationRequest {
            primary_term: source.with_engine(|engine| engine.primary_term()),
            global_checkpoint: source.refresh_global_checkpoint(),
            ops: Vec::new(),
            trim_above: None,
        });
        for to in source.targets() {
            self.send(Message {
                from: primary,
                to,
                request: request.clone(),
                reply: Reply::Resync,
            });
        }
        Ok(())
    }
}
