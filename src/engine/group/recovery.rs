//! A failed replica comes back: ops-based peer recovery, as Elasticsearch's
//! `RecoverySourceHandler` runs it, with the two decisions in [`crate::protocol::recovery`].
//!
//! 1. The copy keeps what it holds (up to its global checkpoint if a failover happened since it
//!    failed: `recoverLocallyUpToGlobalCheckpoint`) and answers its local checkpoint.
//! 2. The primary starts tracking it (`initiateTracking`): every write from then on is sent to it
//!    too, and waits for its answer, but it is not in sync, so it counts in neither the global
//!    checkpoint nor the acknowledgement decision.
//! 3. The primary sends it its history above the copy's local checkpoint
//!    ([`recovery_range`], `phase2`) over the copy's link, so a delayed link holds the recovery
//!    as it holds writes (tests script the window in which the copy recovers). The primary has
//!    kept that history while a failed copy holds a retention lease at its last local checkpoint
//!    (`GroupCopy`'s membership), as Elasticsearch's peer-recovery retention leases do.
//!    When it has not (the lease expired, or the copy failed under an older primary, which held
//!    the lease), the recovery is file-based first (`phase1`): the copy's engine and translog
//!    are replaced by the primary's translog, its snapshot (per document the state at its bound,
//!    at most the global checkpoint, with `_seq_no`, term and version) and every operation above
//!    it (`GroupCopy::file_copy`, `restore_files`), as Elasticsearch copies the safe commit's
//!    files and the primary's history above them, and the history sent is the one above the
//!    copy's new local checkpoint. [`Recovery::files`] counts the entries copied.
//! 4. Once the copy answered the recovery (`finalizeRecovery`), the master marks it in sync as
//!    soon as an answer shows its local checkpoint at the global checkpoint ([`may_mark_in_sync`],
//!    `markAllocationIdAsInSync`): the recovery's own answer, or a later write's. An answer to a
//!    write sent before the recovery finished does not: the copy may still lack operations below
//!    it (and an answer from before its reset reports a checkpoint it no longer has).
//!    With the `mark-in-sync-early` knob the master marks it in sync as the recovery starts,
//!    its local checkpoint not known yet (the model's `mark_in_sync_early`).

use super::copy::{CopyId, Role};
use super::failover::FaultError;
use super::replication::{Message, ReplicationRequest, Reply};
use super::ShardGroup;
use crate::engine::sync::Arc;
use crate::protocol::recovery::{may_mark_in_sync, recovery_range};
use crate::protocol::SeqNo;

/// What a recovery did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recovery {
    pub copy: CopyId,
    /// The copy's local checkpoint when the primary started tracking it (after the file copy,
    /// if there was one).
    pub from_local_checkpoint: SeqNo,
    /// Translog entries a file-based recovery copied (`phase1`: snapshot documents, deletes
    /// included, and operations above them); 0 when the recovery was ops-based only.
    pub files: usize,
    /// Operations the primary sent it.
    pub operations: usize,
    /// Whether the master marked it in sync already: the operations were delivered and brought
    /// it to the global checkpoint. If its link holds them, it is marked once they arrive.
    pub in_sync: bool,
}

impl ShardGroup {
    /// Recover the failed replica `copy` from the primary.
    pub fn recover_replica(&self, copy: CopyId) -> Result<Recovery, FaultError> {
        self.check_copy(copy)?;
        let _serial = self.failover.lock();
        let (primary, term) = {
            let master = self.master();
            (master.primary.ok_or(FaultError::NoPrimary)?, master.term)
        };
        if primary == copy {
            return Err(FaultError::IsPrimary(copy));
        }
        let target = &self.copies[copy];
        if target.role() != Role::Failed {
            return Err(FaultError::NotFailed(copy));
        }
        let source = &self.copies[primary];
        let local = target
            .reset_for_recovery(term)
            .map_err(FaultError::Promotion)?;
        // Tracked from here on: the primary sends it every write and releases no history above
        // `local` (which also keeps everything above its global checkpoint, read below).
        source.start_tracking(copy, local);
        let (from, files) = match source.with_engine(|e| e.retains_history_above(local)) {
            true => (local, 0),
            false => {
                let files = source.file_copy();
                let copied = files.snapshot.len() + files.ops.len();
                let from = target
                    .restore_files(term, files)
                    .map_err(FaultError::Promotion)?;
                source.start_tracking(copy, from);
                (from, copied)
            }
        };
        if self.knobs.mark_in_sync_early {
            // The bug: in sync before its local checkpoint reached the global checkpoint.
            self.master().in_sync.insert(copy);
            source.mark_in_sync_untracked(copy);
        }
        let range = recovery_range(from, source.with_engine(|e| e.max_seq_no()));
        let mut ops = source.history_above(from);
        ops.retain(|op| range.contains(&op.seq_no));
        target.set_role(Role::Replica);
        let operations = ops.len();
        let request = ReplicationRequest {
            primary_term: term,
            global_checkpoint: source.global_checkpoint(),
            ops,
            trim_above: None,
        };
        self.send(Message {
            from: primary,
            to: copy,
            request: Arc::new(request),
            reply: Reply::Recovery,
        });
        Ok(Recovery {
            copy,
            from_local_checkpoint: from,
            files,
            operations,
            in_sync: source.believes_in_sync(copy),
        })
    }

    /// The master marks the recovering `copy` of `primary` in sync if its local checkpoint has
    /// reached the global checkpoint. Returns whether it is in sync.
    pub(crate) fn mark_in_sync_if_caught_up(&self, primary: CopyId, copy: CopyId) -> bool {
        let source = &self.copies[primary];
        if !source.is_finalizing(copy) {
            return source.believes_in_sync(copy);
        }
        let caught_up = may_mark_in_sync(
            source.tracked_checkpoint(copy),
            source.refresh_global_checkpoint(),
        );
        if caught_up {
            let mut master = self.master();
            if master.primary != Some(primary) {
                return false;
            }
            master.in_sync.insert(copy);
            source.mark_in_sync(copy);
        }
        caught_up
    }
}
