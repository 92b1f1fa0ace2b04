//! What a shard copy does with its operation history: apply an operation as a non-primary, roll
//! back on a newer term, trim after a resync, recompute its local checkpoint, and prepare a
//! promotion. Every decision is a `protocol` call; this file only moves data.

use crate::protocol::checkpoint::{
    advance_local_checkpoint, promote, replica_global_checkpoint, survives_rollback, survives_trim,
    Promotion, INITIAL_CHECKPOINT,
};
use std::ops::RangeInclusive;

use crate::protocol::{DocMeta, ReplicaOrder, ReplicaPlan, SeqNo, Term};

use super::state::{Doc, Entry, Op, Receipt, Role, ShardCopy};

impl ShardCopy {
    /// The local checkpoint: every `_seq_no` up to it is processed (present and not rolled back).
    pub fn recompute_local_checkpoint(&mut self) {
        let log = &self.log;
        self.local_checkpoint = advance_local_checkpoint(INITIAL_CHECKPOINT, |s| {
            usize::try_from(s)
                .ok()
                .and_then(|i| log.get(i).copied().flatten())
                .is_some_and(Entry::processed)
        });
    }

    /// Install an operation's effect on its document as a non-primary.
    fn apply_to_doc(&mut self, seq_no: SeqNo, entry: Entry, order: ReplicaOrder) {
        let Op::Write {
            doc,
            version,
            value,
            deleted,
        } = entry.op
        else {
            return; // a no-op changes no document
        };
        if order.plan(Doc::known(self.doc(doc)), seq_no) != ReplicaPlan::Apply {
            return;
        }
        self.docs[usize::from(doc)] = Some(Doc {
            meta: DocMeta {
                seq_no,
                primary_term: entry.term,
                version,
                deleted,
            },
            value,
            pruned: false,
        });
    }

    /// Apply an operation a request of `request_term` delivered. An operation already processed
    /// is skipped (Elasticsearch's `processButSkipLucene`); a rolled-back slot is overwritten.
    pub fn apply(&mut self, seq_no: SeqNo, entry: Entry, request_term: Term, order: ReplicaOrder) {
        let slot = usize::try_from(seq_no).expect("replicated operations carry assigned seq_nos");
        if self.log.len() <= slot {
            self.log.resize(slot + 1, None);
        }
        if self.log[slot].is_some_and(Entry::processed) {
            return;
        }
        let entry = Entry {
            pending: false,
            receipt: Some(Receipt {
                request_term,
                own_term: self.term,
            }),
            ..entry
        };
        self.log[slot] = Some(entry);
        self.apply_to_doc(seq_no, entry, order);
        self.recompute_local_checkpoint();
    }

    /// Adopt the global checkpoint a primary piggybacked.
    pub fn learn_global_checkpoint(&mut self, received: SeqNo) {
        self.global_checkpoint = replica_global_checkpoint(self.global_checkpoint, received);
    }

    /// Rebuild the documents from the processed operations, in `_seq_no` order.
    fn replay(&mut self, order: ReplicaOrder) {
        self.docs.fill(None);
        let processed: Vec<_> = self.processed().collect();
        for (seq_no, entry) in processed {
            self.apply_to_doc(seq_no, entry, order);
        }
        self.recompute_local_checkpoint();
    }

    /// A newer primary term: roll the documents back to the global checkpoint
    /// (`resetEngineToGlobalCheckpoint`). Operations above it stay in the history, marked
    /// pending, until the new primary's resync confirms or trims them.
    pub fn roll_back(&mut self, new_term: Term, order: ReplicaOrder) {
        let global_checkpoint = self.global_checkpoint;
        for (seq_no, entry) in self.log.iter_mut().enumerate() {
            if let Some(e) = entry {
                if !survives_rollback(seq_no as SeqNo, global_checkpoint) {
                    e.pending = true;
                }
            }
        }
        self.term = new_term;
        self.replay(order);
    }

    /// A copy that is not in sync starts an ops-based peer recovery under the primary's `term`:
    /// it keeps its history up to its global checkpoint (what it recovers locally,
    /// `IndexShard.recoverLocallyUpToGlobalCheckpoint`) and drops the rest, which the recovery
    /// sends again.
    pub fn reset_for_recovery(&mut self, term: Term, order: ReplicaOrder) {
        let global_checkpoint = self.global_checkpoint;
        for (seq_no, entry) in self.log.iter_mut().enumerate() {
            if !survives_rollback(seq_no as SeqNo, global_checkpoint) {
                *entry = None;
            }
        }
        while self.log.last() == Some(&None) {
            self.log.pop();
        }
        self.role = Role::Replica;
        self.term = term;
        self.replay(order);
    }

    /// After a resync: drop operations above the new primary's history from older terms
    /// (`trimOperationsFromTranslog`). The document is not touched, as in Elasticsearch.
    pub fn trim(&mut self, trim_above: SeqNo, new_term: Term) {
        for (seq_no, entry) in self.log.iter_mut().enumerate() {
            if entry.is_some_and(|e| !survives_trim(seq_no as SeqNo, e.term, trim_above, new_term))
            {
                *entry = None;
            }
        }
        while self.log.last() == Some(&None) {
            self.log.pop();
        }
        self.recompute_local_checkpoint();
    }

    /// Promotion by the master to `master_term + 1`: restore the local history
    /// (`InternalEngine.restoreLocalHistoryFromTranslog`: the rolled-back operations in the
    /// translog are applied again, in `_seq_no` order, on top of the document as the copy holds
    /// it, which is not rebuilt), plan the promotion, fill the gaps with no-ops of the new term.
    /// Returns the plan; the caller resyncs and switches the role.
    pub fn promote(&mut self, master_term: Term, order: ReplicaOrder) -> Promotion {
        for seq_no in 0..self.log.len() {
            let Some(entry) = self.log[seq_no].as_mut().filter(|e| e.pending) else {
                continue;
            };
            entry.pending = false;
            let restored = *entry;
            self.apply_to_doc(seq_no as SeqNo, restored, order);
        }
        self.recompute_local_checkpoint();
        let plan = promote(
            master_term,
            self.local_checkpoint,
            self.max_seq_no(),
            self.global_checkpoint,
        );
        for seq_no in plan.fill_gaps.clone() {
            let slot = &mut self.log[seq_no as usize];
            if slot.is_none() {
                *slot = Some(Entry {
                    term: plan.new_term,
                    op: Op::Noop,
                    pending: false,
                    receipt: None,
                });
            }
        }
        self.term = plan.new_term;
        self.recompute_local_checkpoint();
        plan
    }

    /// The operations a resync sends: every one in `range` ([`Promotion::resync_range`]).
    pub fn operations(&self, range: RangeInclusive<SeqNo>) -> Vec<(SeqNo, Entry)> {
        range
            .filter_map(|s| self.entry(s).map(|e| (s, e.on_the_wire())))
            .collect()
    }
}
