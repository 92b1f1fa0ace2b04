//! A `_seq_no` in the hands of the write that took it.
//!
//! Every `_seq_no` the primary assigns must end up processed, or the local checkpoint stops at
//! it forever. A ticket is settled either as the write's operation ([`SeqNoTicket::applied`]) or,
//! when the write loses its compare-and-swap, as a no-op ([`SeqNoTicket::burn`]); dropping an
//! unsettled ticket (an early return, a panic) burns it too.

use super::history::{OpLog, OpRecord};
use super::seqno::LocalCheckpointTracker;
use crate::protocol::{SeqNo, Term};

/// An assigned, not yet processed `_seq_no`.
pub(crate) struct SeqNoTicket<'a> {
    tracker: &'a LocalCheckpointTracker,
    log: &'a OpLog,
    seq_no: SeqNo,
    primary_term: Term,
    settled: bool,
}

impl<'a> SeqNoTicket<'a> {
    /// Assign the next `_seq_no`. Callers take it only after reading the document's slot, so it
    /// is greater than the `_seq_no` they read: per-document `_seq_no`s only grow.
    pub(crate) fn issue(tracker: &'a LocalCheckpointTracker, log: &'a OpLog, term: Term) -> Self {
        SeqNoTicket {
            tracker,
            log,
            seq_no: tracker.allocate(),
            primary_term: term,
            settled: false,
        }
    }

    pub(crate) fn seq_no(&self) -> SeqNo {
        self.seq_no
    }

    /// The write went in as `op`: record it in the history, then mark it processed (in that
    /// order, so the history holds every operation at or below the checkpoint).
    pub(crate) fn applied(mut self, op: &OpRecord) {
        debug_assert_eq!(op.seq_no, self.seq_no);
        self.settled = true;
        if self.log.enabled() {
            self.log.push(op.clone());
        }
        self.tracker.mark_processed(self.seq_no);
    }

    /// The write did not go in: record the `_seq_no` as a no-op and return it, so the primary
    /// can replicate it and the replicas' checkpoints pass it too.
    pub(crate) fn burn(mut self) -> OpRecord {
        self.settled = true;
        self.record_noop()
    }

    fn record_noop(&self) -> OpRecord {
        let noop = OpRecord::noop(self.seq_no, self.primary_term);
        self.log.push(noop.clone());
        self.tracker.mark_processed(self.seq_no);
        noop
    }
}

impl Drop for SeqNoTicket<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.record_noop();
        }
    }
}
