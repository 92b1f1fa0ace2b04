//! The transitions of the replication model: client requests, message deliveries, losses and
//! duplicates, and the master's failovers. Decisions are `protocol` calls; the code here routes
//! messages and keeps the books (pending writes, acknowledgements, history).

use std::time::Duration;

use crate::protocol::checkpoint::{can_acknowledge, global_checkpoint, next_seq_no};
use crate::protocol::coordinator::{reroute, translated_conflict, PrimaryFailure, DEFAULT_TIMEOUT};
use crate::protocol::recovery::{may_mark_in_sync, recovery_range};
use crate::protocol::{
    check_operation_term, plan_as_primary, Condition, Guard, SeqNo, Term, TermCheck, WriteKind,
};

use super::state::{
    bit, copies_in, ClientId, CopyId, Doc, DocId, Entry, Event, Msg, Op, PendingWrite, Phase, Role,
    State, Tracker,
};
use super::{Action, Api, ReplicationModel};

impl ReplicationModel {
    /// Apply `action` to `state`; `None` when the action is not enabled.
    pub(super) fn step(&self, state: &mut State, action: Action) -> Option<()> {
        match action {
            Action::Get { client, copy } => self.get(state, client, copy),
            Action::Write { client, copy } => self.write(state, client, copy),
            Action::Deliver(msg) => {
                state.take(&msg).then_some(())?;
                self.deliver(state, msg);
                Some(())
            }
            Action::Duplicate(msg) => {
                state.take(&msg).then_some(())?;
                state.send(msg.clone().duplicated());
                self.deliver(state, msg);
                Some(())
            }
            Action::Drop(msg) => {
                state.take(&msg).then_some(())?;
                state.send(failure_of(&msg)?);
                Some(())
            }
            Action::FailPrimary { promote } => self.fail_primary(state, promote),
            Action::FailReplica { copy } => {
                let master = &mut state.master;
                master.replica_failures_left = master.replica_failures_left.checked_sub(1)?;
                self.remove_from_in_sync(state, copy);
                Some(())
            }
            Action::Recover { copy } => self.start_recovery(state, copy),
            Action::PruneTombstone { copy, doc } => self.prune_tombstone(state, copy, doc),
        }
    }

    /// The copy drops a tombstone's version information (`LiveVersionMap.pruneTombstones`).
    fn prune_tombstone(&self, state: &mut State, copy: CopyId, doc: DocId) -> Option<()> {
        let c = &mut state.copies[usize::from(copy)];
        if !self.may_prune(c, doc) {
            return None;
        }
        c.docs[usize::from(doc)].as_mut()?.pruned = true;
        Some(())
    }

    fn get(&self, state: &mut State, client: ClientId, copy: CopyId) -> Option<()> {
        let c = state.clients[usize::from(client)];
        if c.phase != Phase::Idle || !self.serves_reads(state, copy) {
            return None;
        }
        let doc = state.copies[usize::from(copy)].doc(self.doc_of(client, c.op));
        state.history.push(Event::Read {
            op: self.thread(client, c.op),
            value: Doc::found(doc),
        });
        state.clients[usize::from(client)].phase = Phase::Read(doc);
        Some(())
    }

    /// A client's write reaches the copy `at`: an index request conditioned on what the client
    /// read, an update (the primary reads its own document and indexes conditioned on it, as
    /// `UpdateHelper.prepare` translates it), or the same request again, re-routed.
    fn write(&self, state: &mut State, client: ClientId, at: CopyId) -> Option<()> {
        let c = state.clients[usize::from(client)];
        if !state.copies[usize::from(at)].is_primary() {
            return None;
        }
        let (read, invoked) = match (c.phase, self.config.api) {
            (Phase::Read(read), Api::Index) => (read, false),
            (Phase::Idle, Api::Update) => {
                let doc = self.doc_of(client, c.op);
                (state.copies[usize::from(at)].doc(doc), false)
            }
            (Phase::Rerouted(read), _) if at == state.master.primary => (read, true),
            _ => return None,
        };
        if self.deletes(client) && !invoked && Doc::found(read).is_none() {
            // The deleter read 404: there is nothing to delete, and it sends nothing.
            self.finish_operation(state, client);
            return Some(());
        }
        self.execute(state, client, at, read, invoked)
    }

    /// The primary `at` executes a client's write based on `read`. `invoked`: the client's
    /// history already holds the request (it is re-routed), so only its answer is recorded.
    fn execute(
        &self,
        state: &mut State,
        client: ClientId,
        at: CopyId,
        read: Option<Doc>,
        invoked: bool,
    ) -> Option<()> {
        let c = state.clients[usize::from(client)];
        let guard = match self.config.api {
            Api::Index => self.config.guard,
            Api::Update => Guard::SeqNoAndTerm,
        };
        let op = self.thread(client, c.op);
        let writer = self.writer(client, c.op);
        let doc = self.doc_of(client, c.op);
        let delete = self.deletes(client);
        let kind = if delete {
            WriteKind::Delete
        } else {
            WriteKind::Index
        };
        // What the client saw (a tombstone reads as missing), and the chain its write extends.
        // `op_type=create` asserts only that the document is missing, so a re-create extends the
        // witness of whichever tombstone it replaces on the primary.
        let read_value = Doc::found(read);
        let condition = guard.condition(read.map(|d| d.meta));
        let base = match state.copies[usize::from(at)].doc(doc) {
            Some(tombstone) if condition == Condition::Create && tombstone.meta.deleted => {
                Some(tombstone)
            }
            _ => read,
        };
        let new = base.map(|d| d.value).unwrap_or_default().append(writer);
        let invoke = Event::Invoke {
            op,
            expected: (guard != Guard::Blind).then_some(read_value),
            new,
            delete,
            condition,
        };
        let copy = &mut state.copies[usize::from(at)];
        let plan = match plan_as_primary(Doc::known(copy.doc(doc)), kind, &condition) {
            Ok(plan) => plan,
            Err(_) if self.fenced(state, at) => {
                // The 409 leaves the primary only after its replication round (the bulk shard
                // request is replicated even when its item failed): a copy that knows a newer
                // term fences it, the master confirms, the primary fails itself and the
                // coordinating node re-routes the request (`ReplicationOperation.onNoLongerPrimary`).
                if !invoked {
                    state.history.push(invoke);
                }
                self.demote(state, at);
                self.reroute_or_fail(state, client, read);
                return Some(());
            }
            Err(_)
                if invoked
                    && self.config.api == Api::Update
                    && translated_conflict(u32::from(self.config.retry_on_conflict))
                        == PrimaryFailure::Unavailable =>
            {
                // `retry_on_conflict`: the update is prepared again on the current primary, from
                // the document it holds now (`TransportUpdateAction.handleUpdateFailureWithRetry`,
                // then the coordinating node's re-send of the whole `UpdateRequest`).
                let fresh = state.copies[usize::from(at)].doc(doc);
                return self.execute(state, client, at, fresh, true);
            }
            Err(conflict) if invoked => {
                state.history.push(Event::Rejected { op, conflict });
                self.finish_operation(state, client);
                return Some(());
            }
            Err(conflict) => {
                state.history.push(Event::Conflict {
                    op,
                    expected: read_value,
                    new,
                    condition,
                    conflict,
                });
                self.finish_operation(state, client);
                return Some(());
            }
        };
        let seq_no = next_seq_no(copy.max_seq_no());
        let meta = plan.applied(seq_no, copy.term);
        let entry = Entry {
            term: copy.term,
            op: Op::Write {
                doc,
                version: meta.version,
                value: new,
                deleted: meta.deleted,
            },
            pending: false,
            receipt: None,
        };
        copy.log.push(Some(entry));
        copy.docs[usize::from(doc)] = Some(Doc {
            meta,
            value: new,
            pruned: false,
        });
        copy.recompute_local_checkpoint();
        let (term, gcp) = (copy.term, copy.global_checkpoint);
        let Role::Primary(tracker) = &mut copy.role else {
            return None;
        };
        if !self.config.ack_before_replication {
            tracker.pending.push(PendingWrite {
                seq_no,
                client,
                applied: bit(at),
            });
        }
        for to in copies_in(tracker.targets()).filter(|c| *c != at) {
            state.send(Msg::Replicate {
                from: at,
                to,
                term,
                global_checkpoint: gcp,
                seq_no,
                entry,
                duplicate: false,
            });
        }
        state.changes[usize::from(writer - 1)] = Some(meta);
        if !invoked {
            state.history.push(invoke);
        }
        if self.config.ack_before_replication {
            self.acknowledge(state, client);
        } else {
            state.clients[usize::from(client)].phase = Phase::Waiting(read);
        }
        self.settle(state, at);
        Some(())
    }

    fn deliver(&self, state: &mut State, msg: Msg) {
        match msg {
            Msg::Replicate {
                from,
                to,
                term,
                global_checkpoint,
                seq_no,
                entry,
                ..
            } => {
                if self.accept_request(state, from, to, term, global_checkpoint) {
                    self.apply(state, to, seq_no, entry, term);
                    self.reply_applied(state, to, from, term, Some(seq_no));
                }
            }
            Msg::Resync {
                from,
                to,
                term,
                global_checkpoint,
                ops,
                trim_above,
                ..
            } => {
                if self.accept_request(state, from, to, term, global_checkpoint) {
                    for (seq_no, entry) in ops {
                        self.apply(state, to, seq_no, entry, term);
                    }
                    let copy = &mut state.copies[usize::from(to)];
                    copy.trim(trim_above, term);
                    copy.resynced = true;
                    self.reply_applied(state, to, from, term, None);
                }
            }
            Msg::Recover {
                from,
                to,
                term,
                global_checkpoint,
                ops,
            } => {
                if self.accept_request(state, from, to, term, global_checkpoint) {
                    for (seq_no, entry) in ops {
                        self.apply(state, to, seq_no, entry, term);
                    }
                    let local_checkpoint = state.copies[usize::from(to)].local_checkpoint;
                    state.send(Msg::Recovered {
                        from: to,
                        to: from,
                        term,
                        local_checkpoint,
                    });
                }
            }
            Msg::Recovered {
                from,
                to,
                local_checkpoint,
                ..
            } => {
                let Role::Primary(tracker) = &mut state.copies[usize::from(to)].role else {
                    return; // the recovery died with its primary
                };
                if tracker.recovering & bit(from) == 0 {
                    return;
                }
                let known = &mut tracker.checkpoints[usize::from(from)];
                *known = Some(known.map_or(local_checkpoint, |k| k.max(local_checkpoint)));
                tracker.finalizing |= bit(from);
                // A write sent before the copy's recovery started reached it through the recovery.
                for p in tracker
                    .pending
                    .iter_mut()
                    .filter(|p| p.seq_no <= local_checkpoint)
                {
                    p.applied |= bit(from);
                }
                self.settle(state, to);
            }
            Msg::Applied {
                from,
                to,
                seq_no,
                local_checkpoint,
                ..
            } => {
                let Role::Primary(tracker) = &mut state.copies[usize::from(to)].role else {
                    return; // a demoted primary ignores late answers
                };
                let known = &mut tracker.checkpoints[usize::from(from)];
                *known = Some(known.map_or(local_checkpoint, |k| k.max(local_checkpoint)));
                if let Some(seq_no) = seq_no {
                    for p in tracker.pending.iter_mut().filter(|p| p.seq_no == seq_no) {
                        p.applied |= bit(from);
                    }
                }
                self.settle(state, to);
            }
            Msg::Failed { from, to, term, .. } => {
                if !state.copies[usize::from(to)].is_primary() {
                    return;
                }
                if check_operation_term(term, state.master.term).is_err() {
                    // The master answers "no longer primary" (`ShardStateAction`, as the engine's
                    // `Master::fail_shard`): the copy fails itself.
                    self.demote(state, to);
                } else {
                    self.remove_from_in_sync(state, from);
                }
            }
        }
    }

    /// Term fencing and the piggybacked global checkpoint, before a copy processes a request.
    /// Returns false when the request was rejected (a failure answer is sent).
    fn accept_request(
        &self,
        state: &mut State,
        from: CopyId,
        to: CopyId,
        term: Term,
        gcp: SeqNo,
    ) -> bool {
        let copy = &state.copies[usize::from(to)];
        match check_operation_term(term, copy.term) {
            Err(too_old) if self.config.term_fencing => {
                state.send(Msg::Failed {
                    from: to,
                    to: from,
                    term,
                    rejected: Some(too_old),
                });
                return false;
            }
            Err(_) | Ok(TermCheck::Current) => {}
            Ok(TermCheck::Newer) => {
                if copy.is_primary() {
                    self.demote(state, to);
                }
                let copy = &mut state.copies[usize::from(to)];
                copy.role = Role::Replica;
                copy.learn_global_checkpoint(gcp);
                copy.roll_back(term, self.config.replica_order);
                return true;
            }
        }
        state.copies[usize::from(to)].learn_global_checkpoint(gcp);
        true
    }

    fn apply(&self, state: &mut State, to: CopyId, seq_no: SeqNo, entry: Entry, term: Term) {
        let order = self.config.replica_order;
        state.copies[usize::from(to)].apply(seq_no, entry, term, order);
    }

    fn reply_applied(
        &self,
        state: &mut State,
        from: CopyId,
        to: CopyId,
        term: Term,
        seq_no: Option<SeqNo>,
    ) {
        let local_checkpoint = state.copies[usize::from(from)].local_checkpoint;
        state.send(Msg::Applied {
            from,
            to,
            term,
            seq_no,
            local_checkpoint,
        });
    }

    /// The master removes `copy` from the in-sync set (or fails its recovery); the current
    /// primary stops waiting for it.
    fn remove_from_in_sync(&self, state: &mut State, copy: CopyId) {
        state.master.in_sync &= !bit(copy);
        let primary = state.master.primary;
        if let Role::Primary(tracker) = &mut state.copies[usize::from(primary)].role {
            tracker.group &= !bit(copy);
            tracker.recovering &= !bit(copy);
            tracker.finalizing &= !bit(copy);
        }
        self.settle(state, primary);
    }

    /// A copy that is not in sync recovers from the master's primary: it resets to its global
    /// checkpoint and adopts the primary's term; the primary tracks it (new writes go to it and
    /// wait for it) and sends it every operation above its local checkpoint.
    fn start_recovery(&self, state: &mut State, copy: CopyId) -> Option<()> {
        let master = &mut state.master;
        master.recoveries_left = master.recoveries_left.checked_sub(1)?;
        let primary = master.primary;
        let term = master.term;
        if copy == primary || master.in_sync & bit(copy) != 0 {
            return None;
        }
        if self.config.mark_in_sync_early {
            master.in_sync |= bit(copy);
        }
        let recovering = &mut state.copies[usize::from(copy)];
        if recovering.is_primary() {
            return None;
        }
        recovering.reset_for_recovery(term, self.config.replica_order);
        recovering.recovered = self.config.mark_in_sync_early;
        let from = recovering.local_checkpoint;
        let source = &mut state.copies[usize::from(primary)];
        let ops = source.operations(recovery_range(from, source.max_seq_no()));
        let global_checkpoint = source.global_checkpoint;
        let Role::Primary(tracker) = &mut source.role else {
            return None;
        };
        if tracker.targets() & bit(copy) != 0 {
            return None;
        }
        if self.config.mark_in_sync_early {
            tracker.group |= bit(copy);
        } else {
            tracker.recovering |= bit(copy);
        }
        tracker.checkpoints[usize::from(copy)] = None;
        // A write already sent to the others reaches the copy through the recovery.
        for p in &mut tracker.pending {
            p.applied |= bit(copy);
        }
        state.send(Msg::Recover {
            from: primary,
            to: copy,
            term,
            global_checkpoint,
            ops,
        });
        Some(())
    }

    /// Recompute the primary's global checkpoint and acknowledge every write that can be.
    fn settle(&self, state: &mut State, primary: CopyId) {
        // Only the master's current primary gets a recovered copy marked in sync (the master
        // checks the request's primary term, as for every shard-state request).
        let master_agrees = primary == state.master.primary
            && check_operation_term(state.copies[usize::from(primary)].term, state.master.term)
                .is_ok();
        let copy = &mut state.copies[usize::from(primary)];
        let own = copy.local_checkpoint;
        let previous = copy.global_checkpoint;
        let Role::Primary(tracker) = &mut copy.role else {
            return;
        };
        tracker.checkpoints[usize::from(primary)] = Some(own);
        let in_sync = copies_in(tracker.group).map(|c| tracker.checkpoints[usize::from(c)]);
        let gcp = global_checkpoint(previous, in_sync);
        copy.global_checkpoint = gcp;
        let caught_up: Vec<_> = copies_in(tracker.finalizing)
            .filter(|_| master_agrees)
            .filter(|&c| {
                tracker.checkpoints[usize::from(c)].is_some_and(|lcp| may_mark_in_sync(lcp, gcp))
            })
            .collect();
        for &c in &caught_up {
            tracker.finalizing &= !bit(c);
            tracker.recovering &= !bit(c);
            tracker.group |= bit(c);
        }
        let targets = tracker.targets();
        let (done, waiting): (Vec<_>, Vec<_>) = tracker
            .pending
            .iter()
            .partition(|p| can_acknowledge(copies_in(targets), |c| p.applied & bit(*c) != 0));
        tracker.pending = waiting;
        for c in caught_up {
            state.master.in_sync |= bit(c);
            state.copies[usize::from(c)].recovered = true;
        }
        for p in done {
            self.acknowledge(state, p.client);
        }
    }

    fn acknowledge(&self, state: &mut State, client: ClientId) {
        let c = state.clients[usize::from(client)];
        state.acked |= 1 << self.writer(client, c.op);
        state.history.push(Event::Acked {
            op: self.thread(client, c.op),
        });
        self.finish_operation(state, client);
    }

    /// Would the primary's replication round be fenced: does a copy it replicates to hold a
    /// newer term?
    fn fenced(&self, state: &State, at: CopyId) -> bool {
        let copy = &state.copies[usize::from(at)];
        let Role::Primary(tracker) = &copy.role else {
            return false;
        };
        self.config.term_fencing
            && copies_in(tracker.targets()).any(|c| {
                check_operation_term(copy.term, state.copies[usize::from(c)].term).is_err()
            })
    }

    /// A client's write failed with its demoted primary: re-routed, or failed indefinitely.
    /// Every re-route follows a demotion, so the failovers so far bound the write's re-routes;
    /// the model has no clock, and its writes never outlive the request's timeout.
    fn reroute_or_fail(&self, state: &mut State, client: ClientId, read: Option<Doc>) {
        let reroutes = u32::from(self.config.failovers - state.master.failovers_left);
        if self.config.coordinator_retry
            && reroute(
                PrimaryFailure::Demoted,
                reroutes,
                Duration::ZERO,
                DEFAULT_TIMEOUT,
            )
        {
            state.clients[usize::from(client)].phase = Phase::Rerouted(read);
        } else {
            self.finish_operation(state, client);
        }
    }

    /// The copy learns it is no longer primary: its pending writes fail with
    /// `RetryOnPrimaryException`, which the coordinating node re-routes to the new primary
    /// (or, without [`Config::coordinator_retry`], they fail indefinitely).
    ///
    /// [`Config::coordinator_retry`]: super::Config::coordinator_retry
    fn demote(&self, state: &mut State, copy: CopyId) {
        let role = std::mem::replace(&mut state.copies[usize::from(copy)].role, Role::Demoted);
        if let Role::Primary(tracker) = role {
            for p in tracker.pending {
                match state.clients[usize::from(p.client)].phase {
                    Phase::Waiting(read) => self.reroute_or_fail(state, p.client, read),
                    _ => self.finish_operation(state, p.client),
                }
            }
        }
    }

    fn finish_operation(&self, state: &mut State, client: ClientId) {
        let c = &mut state.clients[usize::from(client)];
        c.op += 1;
        c.phase = if c.op < self.config.ops_per_client {
            Phase::Idle
        } else {
            Phase::Done
        };
    }

    fn fail_primary(&self, state: &mut State, promote: CopyId) -> Option<()> {
        let master = &mut state.master;
        master.failovers_left = master.failovers_left.checked_sub(1)?;
        let old = master.primary;
        master.in_sync = (master.in_sync & !bit(old)) | bit(promote);
        master.primary = promote;
        let master_term = master.term;
        let in_sync = master.in_sync;
        if state.copies[usize::from(promote)].is_primary() {
            self.demote(state, promote);
        }
        let copies = state.copies.len();
        let copy = &mut state.copies[usize::from(promote)];
        let plan = copy.promote(master_term, self.config.replica_order);
        let mut checkpoints = vec![None; copies];
        checkpoints[usize::from(promote)] = Some(copy.local_checkpoint);
        copy.role = Role::Primary(Tracker {
            group: in_sync,
            checkpoints,
            pending: Vec::new(),
            recovering: 0,
            finalizing: 0,
        });
        let ops = copy.operations(plan.resync_range());
        let gcp = copy.global_checkpoint;
        state.master.term = plan.new_term;
        for to in copies_in(in_sync).filter(|c| *c != promote) {
            state.send(Msg::Resync {
                from: promote,
                to,
                term: plan.new_term,
                global_checkpoint: gcp,
                ops: ops.clone(),
                trim_above: plan.trim_above,
                duplicate: false,
            });
        }
        self.settle(state, promote);
        Some(())
    }
}

/// What the sender of a lost message sees: its request failed (a lost answer fails it too).
fn failure_of(msg: &Msg) -> Option<Msg> {
    match *msg {
        Msg::Replicate { from, to, term, .. }
        | Msg::Resync { from, to, term, .. }
        | Msg::Recover { from, to, term, .. } => Some(Msg::Failed {
            from: to,
            to: from,
            term,
            rejected: None,
        }),
        Msg::Applied { from, to, term, .. } | Msg::Recovered { from, to, term, .. } => {
            Some(Msg::Failed {
                from,
                to,
                term,
                rejected: None,
            })
        }
        Msg::Failed { .. } => None,
    }
}
