//! One model path replayed on a fresh [`ShardGroup`], one model action = one engine call, and
//! the comparison after every step (see `tests/conformance.rs` for what is compared and why).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use esocc::engine::group::scripted::{HeldAnswer, HeldKind, HeldRequest};
use esocc::engine::group::{Role, Unsafe};
use esocc::engine::{
    CopyOptions, ErrorKind, LinkFault, PendingWrite, ShardGroup, ShardId, Source, UpdateRequest,
    Write, WriteOutcome,
};
use esocc::model::replication::state::{
    bit, copies_in, Chain, ClientId, CopyId, Doc, DocId, Event, Msg, Phase, Role as ModelRole,
    State,
};
use esocc::model::replication::{Action, Api, ReplicaOrder, ReplicationModel};
use esocc::protocol::coordinator::{translated_conflict, PrimaryFailure};
use esocc::protocol::{Condition, DocMeta, SeqNo, WriteResult};
use esocc::script::Script;
use serde_json::{json, Value};
use stateright::Model;

/// The engine `_id` of the model's document `doc`.
pub fn doc_id(doc: DocId) -> String {
    format!("d{doc}")
}

/// The engine source of a model value: `{"chain": [writer, ...]}`.
pub fn source(chain: Chain) -> Source {
    let writers: Vec<u8> = chain.writers().collect();
    match json!({ "chain": writers }) {
        Value::Object(map) => Arc::new(map.into()),
        _ => unreachable!("a JSON object"),
    }
}

/// The model value an engine source holds (`None` when it is not one this test wrote).
pub fn chain_of(source: &Source) -> Option<Chain> {
    source
        .get("chain")?
        .as_array()?
        .iter()
        .try_fold(Chain::EMPTY, |chain, w| {
            let w = u8::try_from(w.as_u64()?).ok()?;
            Some(chain.append(w))
        })
}

/// The engine's safeguards switched off as the model's knobs are.
pub fn knobs_of(model: &ReplicationModel) -> Unsafe {
    let c = &model.config;
    Unsafe {
        ack_before_replication: c.ack_before_replication,
        no_term_fencing: !c.term_fencing,
        promote_stale_copy: c.promote_stale_copy,
        arrival_order: c.replica_order == ReplicaOrder::Arrival,
        mark_in_sync_early: c.mark_in_sync_early,
        prune_tombstones_early: c.prune_tombstones_early,
    }
}

/// The engines' `index.gc_deletes`: they never prune a tombstone on their own; the replay prunes
/// where the model takes `PruneTombstone` (see `tests/conformance.rs`).
const NEVER_PRUNED: Duration = Duration::MAX;

/// A client's write as the engine runs it: the request (re-sent as is when re-routed) and the
/// engine's answer to its latest attempt.
struct ClientWrite {
    request: Write,
    pending: PendingWrite,
    /// The model failed this attempt indefinitely and re-routes the request.
    given_up: bool,
    /// The model's writer id of the operation.
    writer: u8,
    /// The copy that executed its latest attempt held no live document: Elasticsearch answers
    /// an index `created` and a delete `not_found` (`InternalEngine`'s
    /// `currentNotFoundOrDeleted`), whatever the request.
    over_nothing: bool,
}

/// The first step where the engine and the model disagree.
#[derive(Debug)]
pub struct Divergence {
    /// The model's actions up to and including the step that diverged.
    pub path: Vec<Action>,
    pub what: String,
}

/// A path being replayed.
pub struct Replay<'m> {
    model: &'m ReplicationModel,
    group: ShardGroup,
    state: State,
    path: Vec<Action>,
    /// The engine's answers not yet handed to their senders, by the model's answer message.
    answers: Vec<(Msg, HeldAnswer)>,
    writes: HashMap<ClientId, ClientWrite>,
    /// Writes the model failed indefinitely: the engine must never acknowledge them.
    abandoned: Vec<PendingWrite>,
    /// The writers whose writes the engine acknowledged.
    acked: Vec<u8>,
}

type Checked = Result<(), String>;

impl<'m> Replay<'m> {
    /// A group like the model's initial state: every copy holds the seed document at `_seq_no`
    /// 0 and knows global checkpoint 0; every link then holds its requests for explicit delivery.
    pub fn new(model: &'m ReplicationModel, knobs: Unsafe) -> Replay<'m> {
        let copies = u32::from(model.config.copies);
        let group = ShardGroup::with_options(
            ShardId::new("conformance", "uuid", 0),
            copies - 1,
            copies - 1,
            CopyOptions {
                gc_deletes: NEVER_PRUNED,
                ..CopyOptions::default()
            },
        )
        .with_unsafe(knobs);
        for doc in 0..model.config.docs {
            let seeded = group.index(&doc_id(doc), source(Chain::EMPTY), &Condition::None);
            assert!(seeded.result.is_ok(), "seed: {:?}", seeded.result);
        }
        group.sync_global_checkpoint().expect("a primary");
        for copy in 0..group.copies() {
            group.set_link(copy, LinkFault::Delay).expect("a copy");
        }
        let state = model.init_states().remove(0);
        let replay = Replay {
            model,
            group,
            state,
            path: Vec::new(),
            answers: Vec::new(),
            writes: HashMap::new(),
            abandoned: Vec::new(),
            acked: Vec::new(),
        };
        if let Err(what) = replay.compare_copies() {
            panic!("the seeded group differs from the model's initial state: {what}");
        }
        replay
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// The model actions taken so far.
    pub fn path(&self) -> &[Action] {
        &self.path
    }

    pub fn group(&self) -> &ShardGroup {
        &self.group
    }

    /// The model's answer message to the request the last step delivered or lost, while the
    /// replay holds the engine's answer to it.
    pub fn last_answer(&self) -> Option<&Msg> {
        self.answers.last().map(|(msg, _)| msg)
    }

    /// `no_lost_acked_write` on the engine: a document of the master's primary lacks a write
    /// the engine acknowledged.
    pub fn engine_lost_an_acked_write(&self) -> bool {
        let chain = |doc| {
            self.group
                .primary()
                .and_then(|p| self.group.copy(p))
                .and_then(|copy| copy.with_engine(|e| e.get(&doc_id(doc))).source)
                .and_then(|source| chain_of(&source))
        };
        self.acked
            .iter()
            .any(|&w| !chain(self.model.doc_of_writer(w)).is_some_and(|c| c.contains(w)))
    }

    /// Take `action` on the model and the engine, then compare.
    pub fn step(&mut self, action: Action) -> Result<(), Divergence> {
        let before = self.state.clone();
        let next = self
            .model
            .next_state(&before, action.clone())
            .expect("walks take enabled actions");
        self.path.push(action.clone());
        let checked = self
            .engine_step(&before, &action, &next)
            .and_then(|()| {
                self.state = next;
                self.close_abstracted_waits();
                self.compare_answers(&before)
            })
            .and_then(|()| self.compare_copies());
        checked.map_err(|what| Divergence {
            path: self.path.clone(),
            what,
        })
    }

    fn engine_step(&mut self, before: &State, action: &Action, next: &State) -> Checked {
        let fault = |e: esocc::engine::FaultError| format!("engine: {e}");
        match action {
            Action::Get { client, copy } => {
                let c = before.clients[usize::from(*client)];
                let doc = self.model.doc_of(*client, c.op);
                let got = self.group.get_at(usize::from(*copy), &doc_id(doc));
                let expected = before.copies[usize::from(*copy)].doc(doc);
                compare_get(expected, got.map_err(|e| format!("{:?}", e.kind)))
            }
            Action::Write { client, copy } => {
                self.write(before, next, *client, *copy);
                Ok(())
            }
            Action::Deliver(msg) => self.network(before, next, msg, Network::Deliver),
            Action::Duplicate(msg) => self.network(before, next, msg, Network::Duplicate),
            Action::Drop(msg) => self.network(before, next, msg, Network::Drop),
            Action::FailPrimary { promote } => self
                .group
                .isolate_primary_promoting(usize::from(*promote))
                .map(drop)
                .map_err(fault),
            Action::FailReplica { copy } => self
                .group
                .fail_replica_holding(usize::from(*copy))
                .map_err(fault),
            Action::Recover { copy } => self
                .group
                .recover_replica(usize::from(*copy))
                .map(drop)
                .map_err(fault),
            Action::PruneTombstone { copy, doc } => {
                match self
                    .group
                    .prune_tombstone(usize::from(*copy), &doc_id(*doc))
                {
                    Ok(true) => Ok(()),
                    Ok(false) => Err("the model prunes the tombstone, the engine keeps it".into()),
                    Err(e) => Err(fault(e)),
                }
            }
        }
    }

    /// A client's write reaches copy `at` (which believes it is primary).
    fn write(&mut self, before: &State, next: &State, client: ClientId, at: CopyId) {
        let c = before.clients[usize::from(client)];
        let writer = self.model.writer(client, c.op);
        let id = doc_id(self.model.doc_of(client, c.op));
        let request = match c.phase {
            Phase::Rerouted(_) => self.rerouted(next, client, at),
            Phase::Idle if self.model.config.api == Api::Update => Write::Update {
                id,
                request: self.appending_update(writer),
            },
            Phase::Read(read) => {
                let thread = self.model.thread(client, c.op);
                let invoked = next.history[before.history.len()..]
                    .iter()
                    .find_map(|e| match *e {
                        Event::Invoke { op, new, .. } | Event::Conflict { op, new, .. }
                            if op == thread =>
                        {
                            Some(new)
                        }
                        _ => None,
                    });
                let Some(new) = invoked else {
                    return; // the deleter read 404 and sends nothing
                };
                let condition = self.model.config.guard.condition(read.map(|d| d.meta));
                match (self.model.deletes(client), condition) {
                    (true, condition) => Write::Delete { id, condition },
                    (false, Condition::Create) => Write::Create {
                        id,
                        source: source(new),
                    },
                    (false, condition) => Write::Index {
                        id,
                        source: source(new),
                        condition,
                    },
                }
            }
            phase => unreachable!("a write from {phase:?} (api {:?})", self.model.config.api),
        };
        let mut pending = self.group.submit_at(usize::from(at), request.clone());
        let conflicted = pending
            .outcome()
            .is_some_and(|o| o.result.is_err_and(|e| e.conflict().is_some()));
        let retry = u32::from(self.model.config.retry_on_conflict);
        if matches!(c.phase, Phase::Rerouted(_))
            && self.model.config.api == Api::Update
            && conflicted
            && translated_conflict(retry) == PrimaryFailure::Unavailable
        {
            // `retry_on_conflict`: the update is prepared again on the current primary
            // (`TransportUpdateAction.handleUpdateFailureWithRetry`).
            let update = Write::Update {
                id: doc_id(self.model.doc_of(client, c.op)),
                request: self.appending_update(writer),
            };
            pending = self.group.submit_at(usize::from(at), update);
        }
        let doc = self.model.doc_of(client, c.op);
        let over_nothing = Doc::found(before.copies[usize::from(at)].doc(doc)).is_none();
        self.writes.insert(
            client,
            ClientWrite {
                request,
                pending,
                given_up: false,
                writer,
                over_nothing,
            },
        );
    }

    /// What the coordinating node re-sends for a client's write whose primary failed: the same
    /// request, or for an update the write its primary translated it into (`UpdateHelper.prepare`).
    fn rerouted(&self, next: &State, client: ClientId, at: CopyId) -> Write {
        let write = &self.writes[&client];
        let (id, translated) = match (&write.request, write.pending.translated()) {
            (Write::Update { id, .. }, Some(t)) => (id.clone(), t.clone()),
            // The model's create extends the witness of the tombstone it replaces now (see the
            // module doc): the re-sent create carries the value the model wrote.
            (Write::Create { id, .. }, _) => {
                let change = next.changes[usize::from(write.writer - 1)];
                let doc = self.model.doc_of_writer(write.writer);
                let written = next.copies[usize::from(at)].doc(doc);
                return match written.filter(|d| Some(d.meta) == change) {
                    Some(d) => Write::Create {
                        id: id.clone(),
                        source: source(d.value),
                    },
                    None => write.request.clone(),
                };
            }
            (request, _) => return request.clone(),
        };
        match translated.source {
            Some(source) => Write::Index {
                id,
                source,
                condition: translated.condition,
            },
            None => Write::Delete {
                id,
                condition: translated.condition,
            },
        }
    }

    /// The model's update as the engine runs it: a script appending the writer to the chain
    /// (a non-idempotent change), with the model's `retry_on_conflict`.
    fn appending_update(&self, writer: u8) -> UpdateRequest {
        let params = match json!({ "w": writer }) {
            Value::Object(map) => map,
            _ => unreachable!("a JSON object"),
        };
        UpdateRequest {
            retry_on_conflict: u32::from(self.model.config.retry_on_conflict),
            ..UpdateRequest::script(Script::new("ctx._source.chain.add(params.w)", params))
        }
    }

    /// A message of the model's network: a request the engine holds on a link, or an answer the
    /// replay holds.
    fn network(&mut self, before: &State, next: &State, msg: &Msg, how: Network) -> Checked {
        let reply = || sent(before, next, msg, how).into_iter().next();
        if let Some(to) = request_target(msg) {
            let to = usize::from(to);
            let held = self.group.held_requests(to).map_err(|e| e.to_string())?;
            let Some(index) = held.iter().position(|h| matches(h, msg)) else {
                if self.group.copy(to).map(|c| c.role()) == Some(Role::Failed) {
                    // The engine failed the copy and its link failed what it held; the model's
                    // copy is removed from the in-sync set but still receives (see the module doc).
                    return Ok(());
                }
                return Err(format!(
                    "the model delivers {msg:?}; the engine's link to n{to} holds {held:?}"
                ));
            };
            let answer = match how {
                Network::Deliver => self.group.deliver_held(to, index),
                Network::Duplicate => self.group.duplicate_held(to, index),
                Network::Drop => self.group.drop_held(to, index),
            }
            .map_err(|e| e.to_string())?
            .expect("the request listed");
            let reply = reply().ok_or_else(|| format!("the model answered nothing to {msg:?}"))?;
            self.answers.push((reply, answer));
            return Ok(());
        }
        let Some(index) = self.answers.iter().position(|(m, _)| m == msg) else {
            return Ok(()); // handed over already (see `close_abstracted_waits`)
        };
        let (_, answer) = self.answers.remove(index);
        match how {
            Network::Deliver => self.group.answer_held(answer),
            Network::Drop => {
                let failed = reply().ok_or("the model lost an answer without a failure")?;
                self.answers.push((failed, answer.lost()));
            }
            Network::Duplicate => return Err("the model duplicated an answer".into()),
        }
        Ok(())
    }

    /// The model acknowledges a write as soon as every copy still in its primary's view has
    /// it: a copy the master removed is no longer waited for, and a recovered copy counts once
    /// its recovery's answer covers the write. The engine, as Elasticsearch's
    /// `ReplicationOperation` (`pendingActions`), waits for every target's own answer. When the
    /// model has concluded a write the engine still waits for, the answers to that write reach
    /// the primary now, as copies: held requests to closed copies are delivered (they fail),
    /// and held answers handed over (only successes, or failures to the master's primary: the
    /// master answers an older primary that it was demoted), while the originals stay in
    /// flight for the model's later steps.
    fn close_abstracted_waits(&mut self) {
        let seq_nos: Vec<SeqNo> = self
            .writes
            .iter()
            .filter(|(_, w)| !w.pending.is_done() && self.state.acked & (1 << w.writer) != 0)
            .filter_map(|(_, w)| self.state.changes[usize::from(w.writer - 1)])
            .map(|change| change.seq_no)
            .collect();
        if seq_nos.is_empty() {
            return;
        }
        let primary = self.group.primary();
        let of_write = |ops: &[SeqNo]| ops.iter().any(|s| seq_nos.contains(s));
        for copy in 0..self.group.copies() {
            if self.group.copy(copy).map(|c| c.role()) != Some(Role::Failed) {
                continue;
            }
            let held = self.group.held_requests(copy).unwrap_or_default();
            for index in (0..held.len()).filter(|&i| of_write(&held[i].seq_nos)) {
                if let Ok(Some(answer)) = self.group.duplicate_held(copy, index) {
                    if answer.local_checkpoint().is_some() || Some(answer.sender()) == primary {
                        self.group.answer_held(answer);
                    }
                }
            }
        }
        let late: Vec<HeldAnswer> = self
            .answers
            .iter()
            .map(|(_, a)| a)
            .filter(|a| of_write(&a.seq_nos()))
            .filter(|a| a.local_checkpoint().is_some() || Some(a.sender()) == primary)
            .cloned()
            .collect();
        for answer in late {
            self.group.answer_held(answer);
        }
    }

    /// Every client-visible answer of the step: acknowledgements, 409s, indefinite failures.
    fn compare_answers(&mut self, before: &State) -> Checked {
        for abandoned in &self.abandoned {
            if let Some(Ok(r)) = abandoned.outcome().map(|o| o.result) {
                return Err(format!(
                    "the engine acknowledged a write the model failed indefinitely: {r:?}"
                ));
            }
        }
        for client in 0..self.state.clients.len() as ClientId {
            match self.compare_answer(before, client)? {
                Answered::No => {}
                Answered::Conflict => {
                    self.writes.remove(&client);
                }
                Answered::Acked(writer) => {
                    self.acked.push(writer);
                    self.writes.remove(&client);
                }
                Answered::GivenUp => {
                    let write = self.writes.get_mut(&client).expect("compared");
                    write.given_up = true;
                    self.abandoned.push(write.pending.clone());
                }
            }
        }
        Ok(())
    }

    fn compare_answer(&self, before: &State, client: ClientId) -> Result<Answered, String> {
        let Some(write) = self.writes.get(&client).filter(|w| !w.given_up) else {
            return Ok(Answered::No);
        };
        let next = &self.state;
        let thread = self
            .model
            .thread(client, before.clients[usize::from(client)].op);
        let answer = next.history[before.history.len()..]
            .iter()
            .find(|e| match **e {
                Event::Acked { op } | Event::Rejected { op, .. } | Event::Conflict { op, .. } => {
                    op == thread
                }
                _ => false,
            });
        let outcome = write.pending.outcome();
        let waiting = matches!(next.clients[usize::from(client)].phase, Phase::Waiting(_));
        match (answer, outcome) {
            (Some(Event::Acked { .. }), Some(outcome)) => {
                let change = next.changes[usize::from(thread)].expect("an acked change");
                compare_ack(change, write.over_nothing, outcome)?;
                Ok(Answered::Acked(write.writer))
            }
            (
                Some(Event::Rejected { conflict, .. } | Event::Conflict { conflict, .. }),
                Some(outcome),
            ) => match outcome.result.map_err(|e| e.kind) {
                Err(ErrorKind::Conflict { conflict: got, .. }) if got == *conflict => {
                    Ok(Answered::Conflict)
                }
                got => Err(format!(
                    "client {client}: the model answers 409 {conflict:?}, the engine {got:?}"
                )),
            },
            (Some(answer), None) => Err(format!(
                "client {client}: the model answers {answer:?}, the engine's write still waits"
            )),
            (None, Some(outcome)) if waiting => Err(format!(
                "client {client}: the engine answered {:?}, the model's write still waits",
                outcome.result
            )),
            (None, None) if waiting => Ok(Answered::No),
            (None, outcome) => match outcome.map(|o| o.result) {
                // The model failed the write indefinitely (its primary was demoted): the
                // engine's answer, now or later, must not be an acknowledgement.
                Some(Ok(r)) => Err(format!(
                    "client {client}: the model failed the write indefinitely, the engine acknowledged {r:?}"
                )),
                _ => Ok(Answered::GivenUp),
            },
            (Some(other), _) => unreachable!("not an answer: {other:?}"),
        }
    }

    /// The master's view and every copy's state.
    fn compare_copies(&self) -> Checked {
        let model = &self.state;
        let g = &self.group;
        let master = &model.master;
        let engine_in_sync: Vec<usize> = g.in_sync();
        let model_in_sync: Vec<usize> = copies_in(master.in_sync).map(usize::from).collect();
        same("the master's in-sync set", &model_in_sync, &engine_in_sync)?;
        same(
            "the master's primary",
            &Some(usize::from(master.primary)),
            &g.primary(),
        )?;
        same("the master's primary term", &master.term, &g.primary_term())?;
        for (i, copy) in model.copies.iter().enumerate() {
            let engine = g.copy(i).expect("as many copies");
            let role = engine_role(model, i as CopyId);
            same(&format!("n{i}'s role"), &role, &engine.role())?;
            if role == Role::Failed {
                continue; // closed in the engine (see the module doc)
            }
            let (term, lcp, docs) = engine.with_engine(|e| {
                let documents = e.documents();
                let docs: Vec<_> = (0..self.model.config.docs)
                    .map(|doc| {
                        documents
                            .iter()
                            .find(|(id, _, _)| *id == doc_id(doc))
                            .map(|(_, meta, source)| (*meta, source.as_ref().and_then(chain_of)))
                    })
                    .collect();
                (e.primary_term(), e.local_checkpoint(), docs)
            });
            same(&format!("n{i}'s term"), &copy.term, &term)?;
            same(
                &format!("n{i}'s global checkpoint"),
                &copy.global_checkpoint,
                &engine.global_checkpoint(),
            )?;
            if awaits_recovery(model, i as CopyId) {
                continue; // the engine's same-term recovery kept more (see the module doc)
            }
            same(
                &format!("n{i}'s local checkpoint"),
                &copy.local_checkpoint,
                &lcp,
            )?;
            // A pruned tombstone left the engine's id map.
            let expected: Vec<_> = copy
                .docs
                .iter()
                .map(|d| d.filter(|d| !d.pruned))
                .map(|d| d.map(|d| (d.meta, (!d.meta.deleted).then_some(d.value))))
                .collect();
            same(&format!("n{i}'s documents"), &expected, &docs)?;
        }
        Ok(())
    }
}

/// Has `copy` a recovery in flight, or one that failed (lost or fenced) while its primary has
/// not heard yet? Until the recovery applies, the engine's same-term shortcut holds more.
fn awaits_recovery(state: &State, copy: CopyId) -> bool {
    let sent = state
        .network
        .iter()
        .any(|m| matches!(*m, Msg::Recover { to, .. } if to == copy));
    let answered = state
        .network
        .iter()
        .any(|m| matches!(*m, Msg::Recovered { from, .. } if from == copy));
    let tracked = match &state.copies[usize::from(state.master.primary)].role {
        ModelRole::Primary(t) => (t.recovering & !t.finalizing) & bit(copy) != 0,
        _ => false,
    };
    sent || (tracked && !answered)
}

/// The engine role of a model copy: a copy the master removed from the in-sync set (and does
/// not recover) or demoted is closed in the engine, while the model's keeps running.
pub fn engine_role(state: &State, copy: CopyId) -> Role {
    let master = &state.master;
    let recovering = match &state.copies[usize::from(master.primary)].role {
        ModelRole::Primary(tracker) => tracker.recovering,
        _ => 0,
    };
    match state.copies[usize::from(copy)].role {
        ModelRole::Primary(_) => Role::Primary,
        ModelRole::Demoted => Role::Failed,
        ModelRole::Replica if (master.in_sync | recovering) & bit(copy) != 0 => Role::Replica,
        ModelRole::Replica => Role::Failed,
    }
}

/// The model's transitions the engine does not take (see the module doc).
pub fn abstracted(before: &State, action: &Action, after: &State) -> bool {
    match action {
        Action::Write { copy, .. } => after.copies[usize::from(*copy)].role == ModelRole::Demoted,
        Action::Deliver(msg) | Action::Duplicate(msg) => match *msg {
            Msg::Resync {
                to,
                term,
                trim_above,
                ..
            } => {
                // Would the model's trim drop an operation the copy keeps processed (one at or
                // below its global checkpoint, or one of an older term it took in the new term)?
                let copy = &before.copies[usize::from(to)];
                let trims_processed = copy.processed().any(|(seq_no, e)| {
                    seq_no > trim_above
                        && e.term < term
                        && (copy.term >= term || seq_no <= copy.global_checkpoint)
                });
                trims_processed || engine_role(before, to) == Role::Failed
            }
            Msg::Replicate { to, .. } | Msg::Recover { to, .. } => {
                engine_role(before, to) == Role::Failed
            }
            _ => false,
        },
        _ => false,
    }
}

/// What a step did to a client's write.
enum Answered {
    No,
    /// A 409.
    Conflict,
    Acked(u8),
    GivenUp,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Network {
    Deliver,
    Duplicate,
    Drop,
}

fn same<T: PartialEq + std::fmt::Debug>(what: &str, model: &T, engine: &T) -> Checked {
    match model == engine {
        true => Ok(()),
        false => Err(format!("{what}: model {model:?}, engine {engine:?}")),
    }
}

/// The copy a request goes to (`None` for an answer).
pub fn request_target(msg: &Msg) -> Option<CopyId> {
    match *msg {
        Msg::Replicate { to, .. } | Msg::Resync { to, .. } | Msg::Recover { to, .. } => Some(to),
        Msg::Applied { .. } | Msg::Recovered { .. } | Msg::Failed { .. } => None,
    }
}

/// Is `held` the engine's form of the model's request `msg`?
pub fn matches(held: &HeldRequest, msg: &Msg) -> bool {
    let (kind, from, term, gcp, seq_nos, trim) = match msg {
        Msg::Replicate {
            from,
            term,
            global_checkpoint,
            seq_no,
            ..
        } => (
            HeldKind::Write,
            from,
            term,
            global_checkpoint,
            vec![*seq_no],
            None,
        ),
        Msg::Resync {
            from,
            term,
            global_checkpoint,
            ops,
            trim_above,
            ..
        } => (
            HeldKind::Resync,
            from,
            term,
            global_checkpoint,
            ops.iter().map(|(s, _)| *s).collect(),
            Some(*trim_above),
        ),
        Msg::Recover {
            from,
            term,
            global_checkpoint,
            ops,
            ..
        } => (
            HeldKind::Recovery,
            from,
            term,
            global_checkpoint,
            ops.iter().map(|(s, _)| *s).collect(),
            None,
        ),
        _ => return false,
    };
    // A copy that recovers in the term it failed in keeps what it holds (the engine's shortcut,
    // see the module doc): it is sent a suffix of what the model sends.
    let ops_match = match kind {
        HeldKind::Recovery => seq_nos.ends_with(&held.seq_nos),
        _ => held.seq_nos == seq_nos,
    };
    held.kind == kind
        && held.from == usize::from(*from)
        && held.primary_term == *term
        && held.global_checkpoint == *gcp
        && ops_match
        && held.trim_above == trim
}

/// The messages the model's step put on the network (the answer to a delivery, the failure a
/// loss causes).
fn sent(before: &State, next: &State, msg: &Msg, how: Network) -> Vec<Msg> {
    let mut remaining = before.network.clone();
    if let Some(i) = remaining.iter().position(|m| m == msg) {
        remaining.remove(i);
    }
    if how == Network::Duplicate {
        remaining.push(msg.clone().duplicated());
    }
    let mut added = Vec::new();
    for m in &next.network {
        match remaining.iter().position(|r| r == m) {
            Some(i) => {
                remaining.remove(i);
            }
            None => added.push(m.clone()),
        }
    }
    added
}

fn compare_get(expected: Option<Doc>, got: Result<esocc::engine::GetResponse, String>) -> Checked {
    let got = got.map_err(|e| format!("GET: the model reads, the engine answers {e}"))?;
    let expected = Doc::found(expected).zip(expected.map(|d| d.meta));
    let engine = got.found.then(|| {
        let chain = got.source.as_ref().and_then(chain_of);
        (chain, got.seq_no, got.primary_term, got.version)
    });
    let model = expected.map(|(value, m)| {
        (
            Some(value),
            Some(m.seq_no),
            Some(m.primary_term),
            Some(m.version),
        )
    });
    same(
        "GET (value, _seq_no, _primary_term, _version)",
        &model,
        &engine,
    )
}

/// `over_nothing`: the write found no live document (missing, or a tombstone) on its primary.
fn compare_ack(change: DocMeta, over_nothing: bool, outcome: WriteOutcome) -> Checked {
    let response = outcome
        .result
        .map_err(|e| format!("the model acknowledges, the engine answers {:?}", e.kind))?;
    let result = match (change.deleted, over_nothing) {
        (true, true) => WriteResult::NotFound,
        (true, false) => WriteResult::Deleted,
        (false, true) => WriteResult::Created,
        (false, false) => WriteResult::Updated,
    };
    same(
        "acknowledgement (result, _seq_no, _primary_term, _version)",
        &(result, change.seq_no, change.primary_term, change.version),
        &(
            response.result,
            response.seq_no,
            response.primary_term,
            response.version,
        ),
    )
}

/// Is this model configuration one the engine can be driven through?
pub fn replayable(model: &ReplicationModel) -> Result<(), &'static str> {
    if model.config.failovers > 1 {
        return Err("a second failover may promote a copy that still believes it is primary");
    }
    Ok(())
}

/// Are all of this model's paths replayable, not only its shortest counterexamples? Not with
/// `mark_in_sync_early`: a copy counted in sync before its recovery arrived may be promoted,
/// and the engine's recovering copy keeps its translog above the global checkpoint (where the
/// model drops those operations, `recoverLocallyUpToGlobalCheckpoint`), so its promotion
/// restores operations the model's does not.
pub fn walkable(model: &ReplicationModel) -> Result<(), &'static str> {
    match model.config.mark_in_sync_early {
        true => Err("a copy in sync before its recovery arrived is promoted with the translog the engine kept"),
        false => Ok(()),
    }
}
