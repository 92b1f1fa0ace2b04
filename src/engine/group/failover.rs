//! Failures the master handles: the primary fails ([`ShardGroup::fail_primary`]) or is cut off
//! from the master while it keeps running ([`ShardGroup::isolate_primary`]), and a replica
//! fails ([`ShardGroup::fail_replica`]).
//!
//! On a primary failure the master bumps the term and promotes an in-sync replica. The new
//! primary restores its translog, fills the gaps up to its max `_seq_no` with no-ops of the new
//! term, and resyncs every operation above its global checkpoint to the other in-sync copies
//! under the new term, with `trimAboveSeqNo` = its max `_seq_no`. A replica that receives the
//! new term first rolls back to its global checkpoint, then applies the resync and trims
//! operations of older terms above the new primary's history.

use std::fmt;

use super::copy::{CopyId, Role};
use super::replication::{FailShard, Message, ReplicationRequest, Reply};
use super::ShardGroup;
use crate::engine::sync::Arc;
use crate::engine::EngineError;
use crate::protocol::checkpoint::Promotion;
use crate::protocol::Term;

/// What a failover did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failover {
    /// The primary the master gave up on.
    pub demoted: CopyId,
    /// The in-sync replica it promoted.
    pub promoted: CopyId,
    /// The new primary term.
    pub primary_term: Term,
}

/// Why a fault could not be injected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultError {
    /// There is no such copy.
    NoSuchCopy { copy: CopyId, copies: usize },
    /// `fail_replica` on the primary (use `fail_primary`).
    IsPrimary(CopyId),
    /// The shard has no primary left.
    NoPrimary,
    /// No in-sync replica is left to promote; the primary stays.
    NoPromotableReplica,
    /// Every candidate failed to rebuild its engine for promotion (or a recovering copy its
    /// engine for recovery).
    Promotion(EngineError),
    /// `recover_replica` on a copy that has not failed.
    NotFailed(CopyId),
}

impl fmt::Display for FaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultError::NoSuchCopy { copy, copies } => {
                write!(f, "no copy [{copy}]: the shard has copies 0..{copies}")
            }
            FaultError::IsPrimary(copy) => {
                write!(f, "copy [{copy}] is the primary; fail the primary instead")
            }
            FaultError::NoPrimary => write!(f, "the shard has no primary"),
            FaultError::NoPromotableReplica => {
                write!(f, "no in-sync replica to promote; the primary stays")
            }
            FaultError::Promotion(e) => write!(f, "promotion failed: {e}"),
            FaultError::NotFailed(copy) => {
                write!(
                    f,
                    "copy [{copy}] has not failed: only a failed replica recovers"
                )
            }
        }
    }
}

impl std::error::Error for FaultError {}

impl ShardGroup {
    pub(crate) fn check_copy(&self, copy: CopyId) -> Result<(), FaultError> {
        match copy < self.copies.len() {
            true => Ok(()),
            false => Err(FaultError::NoSuchCopy {
                copy,
                copies: self.copies.len(),
            }),
        }
    }

    /// A primary asks the master to remove `copy` from the in-sync set; granted only if the
    /// primary's term is still the master's. A removed copy is shut down.
    pub(crate) fn fail_shard(&self, copy: CopyId, requester_term: Term) -> FailShard {
        self.master().fail_shard(copy, requester_term)?;
        self.copies[copy].set_role(Role::Failed);
        Ok(())
    }

    /// The replica `copy` fails: the master removes it from the in-sync set and tells the
    /// primary; requests held on its link fail when released, which this does at once.
    pub fn fail_replica(&self, copy: CopyId) -> Result<(), FaultError> {
        self.remove_replica(copy)?;
        self.release(copy)?;
        Ok(())
    }

    /// The master removes the replica `copy` from the in-sync set and shuts it down; the primary
    /// stops counting it. What its link holds stays there.
    pub(crate) fn remove_replica(&self, copy: CopyId) -> Result<(), FaultError> {
        self.check_copy(copy)?;
        let mut master = self.master();
        if master.primary == Some(copy) {
            return Err(FaultError::IsPrimary(copy));
        }
        master.in_sync.remove(&copy);
        self.copies[copy].set_role(Role::Failed);
        if let Some(primary) = master.primary {
            self.copies[primary].drop_from_view(copy);
        }
        Ok(())
    }

    /// The primary fails: the master promotes an in-sync replica with a new term. Writes in
    /// flight on the old primary fail (indefinitely: they may survive on copies that applied them).
    pub fn fail_primary(&self) -> Result<Failover, FaultError> {
        let failover = self.fail_over(true, None)?;
        self.abandon_writes_of(failover.demoted);
        Ok(failover)
    }

    /// The master loses the primary and promotes an in-sync replica, but the old primary keeps
    /// running: it serves reads and accepts writes until a replica's term check fences it. Its
    /// writes are never acknowledged once the new term exists.
    pub fn isolate_primary(&self) -> Result<Failover, FaultError> {
        self.fail_over(false, None)
    }

    /// Fail (`crash`) or isolate the primary and promote the master's candidate, or `only` that
    /// copy when given.
    pub(crate) fn fail_over(
        &self,
        crash: bool,
        only: Option<CopyId>,
    ) -> Result<Failover, FaultError> {
        let _serial = self.failover.lock();
        let (failover, plan) = {
            let mut master = self.master();
            let demoted = master.primary.ok_or(FaultError::NoPrimary)?;
            let copies = self.copies.len();
            // Every other copy counts as tried already when the caller chose one.
            let mut tried: Vec<CopyId> = match only {
                Some(only) => (0..copies).filter(|&c| c != only).collect(),
                None => Vec::new(),
            };
            master
                .candidate(&self.knobs, copies, &tried)
                .ok_or(FaultError::NoPromotableReplica)?;
            master.in_sync.remove(&demoted);
            if crash {
                self.copies[demoted].set_role(Role::Failed);
            }
            let mut failure = None;
            let promoted = loop {
                let Some(candidate) = master.candidate(&self.knobs, copies, &tried) else {
                    master.primary = None;
                    return Err(
                        failure.map_or(FaultError::NoPromotableReplica, FaultError::Promotion)
                    );
                };
                tried.push(candidate);
                // A no-op but under `promote-stale-copy`: the promoted copy is in sync.
                master.in_sync.insert(candidate);
                let in_sync: Vec<CopyId> = master.in_sync.iter().copied().collect();
                match self.copies[candidate].promote(master.term, &in_sync, &self.knobs) {
                    Ok(plan) => break (candidate, plan),
                    Err(e) => {
                        master.in_sync.remove(&candidate);
                        failure = Some(e);
                    }
                }
            };
            let (promoted, plan) = promoted;
            master.term = plan.new_term;
            master.primary = Some(promoted);
            // A recovery in progress ends with its primary: the copy fails, as Elasticsearch
            // fails an initializing replica whose recovery source went away.
            for copy in &self.copies {
                if copy.role() == Role::Replica && !master.in_sync.contains(&copy.id()) {
                    copy.set_role(Role::Failed);
                }
            }
            let failover = Failover {
                demoted,
                promoted,
                primary_term: plan.new_term,
            };
            (failover, plan)
        };
        self.resync(failover.promoted, &plan);
        Ok(failover)
    }

    /// `PrimaryReplicaSyncer.resync`: every operation above the new primary's global
    /// checkpoint, under the new term, with the trim bound.
    fn resync(&self, from: CopyId, plan: &Promotion) {
        let primary = &self.copies[from];
        let request = Arc::new(ReplicationRequest {
            primary_term: plan.new_term,
            global_checkpoint: primary.global_checkpoint(),
            ops: {
                let range = plan.resync_range();
                let mut ops = primary.history_above(range.start() - 1);
                ops.retain(|op| range.contains(&op.seq_no));
                ops
            },
            trim_above: Some(plan.trim_above),
        });
        for to in primary.targets() {
            self.send(Message {
                from,
                to,
                request: request.clone(),
                reply: Reply::Resync,
            });
        }
    }

    /// A failed primary's writes still waiting for held requests conclude now, failed; the
    /// requests stay on their links and may still reach the replicas.
    fn abandon_writes_of(&self, primary: CopyId) {
        for link in &self.links {
            for state in link.waiting_writes_from(primary) {
                state.conclude(self.conclude(primary, state.tally()));
            }
        }
    }
}
