//! The single-shard model: clients and one shard copy (`n0`), every operation atomic on the shard.
//!
//! Each client performs `ops_per_client` read-modify-writes, each on a document it picks:
//! either a GET followed by an index request guarded by `guard` (path `rmw`, the client retries a
//! 409 itself), or the update API (path `update`: the shard's get, then a write conditioned on the
//! `(_seq_no, _primary_term)` it got, retried up to `retry_on_conflict` times). Every decision —
//! the condition a guard builds, conflict or next `_version`, the next `_seq_no`, whether to retry —
//! is a call into [`crate::protocol`].
//!
//! Values are write chains: a write appends its own id (`c<client>.<op>`) to the value it read, so
//! an overwrite that did not see a write visibly drops it.
//!
//! A single shard has no failover, so the `_seq_no`-only and internal-`_version` guards are safe
//! here; their counterexamples come from the replication model.
//!
//! Properties are pure predicates over a state. What a transition alone shows is recorded as
//! data: each document keeps its effective history (the change every write made), and each
//! client its last write attempt (the value it expected, the value the shard held, and the
//! change or conflict that came of it).
//!
//! The update-by-query (parameter `by_query`, its `conflicts`): one more client, besides the
//! writers, that sends `POST /idx/_update_by_query` once. It takes a refreshed view of the shard
//! (`ScrollableHitSource`'s scroll over one point-in-time searcher), then writes each hit back,
//! in `_doc` order, with the value it saw plus its own id (`ubq.<hit>`), guarded by
//! `Guard::SeqNoAndTerm` of the version the view showed (`TransportUpdateByQueryAction`'s
//! `buildRequest`: `setIfSeqNo(doc.getSeqNo())`, `setIfPrimaryTerm(doc.getPrimaryTerm())`; the
//! REST handler builds the same condition with the same call). Each hit's outcome is counted by
//! [`crate::search::by_query::Progress::record`], whose answer (a listed failure) is what stops
//! the pass under `conflicts=abort`. The model's pass is `scroll_size=1`: each hit is its own
//! batch, so abort stops at the first conflict (with bigger batches the rest of that batch is
//! still written, `AbstractAsyncBulkByScrollAction.onBulkResponse`; the engine follows that).
//!
//! The refreshed view is one atomic step that reads every live document of the shard (a missing
//! one is no hit). A real view may be older than the request: it shows the shard as of the last
//! refresh. That is the same abstraction for every property here: nothing the by-query does
//! depends on when its request was sent, only on which version each hit shows and on what the
//! writers do between the view and each hit's write; a view refreshed at an earlier point is the
//! model's view step taken at that earlier point of the interleaving, which the checker explores
//! too. Reading the documents one at a time at different points would add views no single
//! refresh can show, so the atomic step is the exact one, not an approximation.
//!
//! Linearizability: operations are atomic, so every history is sequential, and a sequential
//! history is linearizable exactly when it is a valid run of the sequential spec
//! ([`Document`]). Every state is judged, so judging each client's last attempt as one step of
//! that spec judges every write of every path, without storing the whole history (which would
//! multiply the states by the interleavings); a GET returns the register's own value, so only
//! writes can break it. A test replays whole paths through stateright's
//! `LinearizabilityTester` and checks that both agree.

mod describe;
mod symmetry;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use stateright::semantics::SequentialSpec;
use stateright::{Model, Property};

use super::svg::sequence_diagram;
use super::trace::{Describe, Trace};
use super::Invariant;
use crate::protocol::checkpoint::next_seq_no;
use crate::protocol::ids::{FIRST_PRIMARY_TERM, NO_OPS_PERFORMED};
use crate::protocol::update::{may_retry, write_condition};
use crate::protocol::{
    plan_as_primary, Condition, DocMeta, Guard, SeqNo, VersionConflict, WriteKind, WriteResult,
};
use crate::search::by_query::{Conflicts, HitOutcome, Progress};
use crate::spec::{DocOp, DocRet, Document};
use describe::doc_id;

/// The most clients a configuration may have (client ids are small integers in the state).
pub const MAX_CLIENTS: u8 = 16;
/// The client id of the update-by-query's writes (`ubq.<hit>`); writers are numbered from 0.
pub const BY_QUERY: u8 = u8::MAX;
/// The most documents and operations per client a configuration may have.
pub const MAX_DOCS_OR_OPS: u8 = 8;

/// How a client performs its read-modify-write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Path {
    /// GET, then an index request guarded by the configuration's `guard`.
    Rmw,
    /// `POST /_update` with `retry_on_conflict`: the write is guarded by what the shard's get saw.
    Update,
}

/// Deliberately broken variants, each the negative control of the property that must catch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Retry every conflict, ignoring `retry_on_conflict` (caught by `retry_bound`).
    RetryLimitIgnored,
    /// The last conflict is never answered (caught by `update_terminates`).
    FinalConflictUnanswered,
    /// A client may drop what it read and read again without counting an attempt, which makes
    /// the model cyclic (caught by `rank_increases`; `update_terminates` becomes unproven).
    ReadsAbandoned,
    /// The shard numbers a write after the change the client read instead of after the highest
    /// `_seq_no` it assigned (caught by `change_id_unique` and `seq_no_monotonic`).
    SeqNoFromRead,
    /// The update-by-query goes on after a conflict under `conflicts=abort` (caught by
    /// `by_query_stops_at_first_conflict`).
    ByQueryIgnoresAbort,
}

/// The parameters of a single-shard configuration, as the catalogue spells them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub clients: u8,
    #[serde(default = "one")]
    pub docs: u8,
    #[serde(default = "one")]
    pub ops_per_client: u8,
    /// Path `rmw` only: how the client guards its write. The update API always guards with the
    /// `(_seq_no, _primary_term)` its get saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<Guard>,
    pub path: Path,
    /// Update: `retry_on_conflict`. Rmw: how many times a client re-reads and retries after a 409.
    #[serde(default)]
    pub retry_on_conflict: u8,
    /// Every document starts indexed once (value `[]`, `_seq_no` 0, 1, ...) instead of missing,
    /// so the first conditional writes carry `if_seq_no` rather than `op_type=create`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub initially_indexed: bool,
    /// One update-by-query besides the writers, with this `conflicts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_query: Option<Conflicts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
}

fn one() -> u8 {
    1
}

impl Params {
    /// Check the ranges and combinations; the message names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_CLIENTS).contains(&self.clients) {
            return Err(format!("`clients` must be 1..={MAX_CLIENTS}"));
        }
        if !(1..=MAX_DOCS_OR_OPS).contains(&self.docs) {
            return Err(format!("`docs` must be 1..={MAX_DOCS_OR_OPS}"));
        }
        if !(1..=MAX_DOCS_OR_OPS).contains(&self.ops_per_client) {
            return Err(format!("`ops_per_client` must be 1..={MAX_DOCS_OR_OPS}"));
        }
        if self.fault == Some(Fault::ByQueryIgnoresAbort) && self.by_query != Some(Conflicts::Abort)
        {
            return Err("fault `by_query_ignores_abort` needs `by_query` `abort`".into());
        }
        match (self.path, self.guard) {
            (Path::Rmw, None) => Err("path `rmw` needs a `guard`".into()),
            (Path::Update, Some(_)) => Err("`guard` applies to path `rmw` only: the update API guards its write with the (_seq_no, _primary_term) its get saw".into()),
            _ => Ok(()),
        }
    }
}

/// The id of a write: client and the client's operation number. Shown as `c<client>.<op>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WriteId {
    pub client: u8,
    pub op: u8,
}

/// A document's value: the ids of the writes it contains, oldest first.
pub type Chain = Vec<WriteId>;

/// The shard's copy of one document.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Doc {
    /// `None`: never written.
    pub meta: Option<DocMeta>,
    pub value: Chain,
    /// Its effective history: the change each write made (the initial indexing included), oldest
    /// first.
    pub changes: Vec<DocMeta>,
}

/// What a read (a client's GET or the update's get) returned.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Read {
    /// `None`: 404.
    pub meta: Option<DocMeta>,
    pub value: Chain,
}

/// Where a client is in its current operation.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Next: read (the GET, or the update's get).
    Reading,
    /// Next: the conditional write based on this read.
    Writing(Read),
    /// Waits for an answer that never comes (fault `final_conflict_unanswered`).
    Unanswered,
    /// Every operation answered.
    Done,
}

/// The answer a client got for one operation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Answer {
    pub doc: u8,
    /// `true`: written (200/201); `false`: 409.
    pub written: bool,
}

/// A write attempt, as the shard executed it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Attempt {
    pub client: u8,
    pub doc: u8,
    /// The value the write expected: what its read returned (`None`: 404).
    pub expected: Option<Chain>,
    /// The value the document held when the shard executed the write.
    pub found: Option<Chain>,
    /// The value the write carried.
    pub new: Chain,
    /// The change it made and how the shard answered, or the conflict it met.
    pub outcome: Result<(DocMeta, WriteResult), VersionConflict>,
}

/// One hit of the update-by-query's view.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Hit {
    pub doc: u8,
    pub read: Read,
}

/// The update-by-query's pass.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Pass {
    /// The hits of its refreshed view, in `_doc` order; `None` until it took the view.
    pub hits: Option<Vec<Hit>>,
    /// What each hit's write did, in hit order: `true` written, `false` 409.
    pub written: Vec<bool>,
    /// The response's counters.
    pub progress: Progress,
    /// The hits whose outcome the response lists as a failure (`Progress::record`).
    pub failures: u8,
    /// The response was sent: every hit written, or the pass stopped.
    pub answered: bool,
}

impl Pass {
    /// The next hit to write, while the pass is under way.
    fn next_hit(&self) -> Option<&Hit> {
        match &self.hits {
            Some(hits) if !self.answered => hits.get(self.written.len()),
            _ => None,
        }
    }

    /// The hit numbers written after the first hit that answered 409.
    fn after_first_conflict(&self) -> impl Iterator<Item = usize> + '_ {
        let first = self.written.iter().position(|w| !w);
        first.map_or(self.written.len(), |f| f + 1)..self.written.len()
    }

    /// Progress for the ranking measure: view taken, hits written, answered.
    fn progress(&self) -> (bool, usize, bool) {
        (self.hits.is_some(), self.written.len(), self.answered)
    }
}

/// One client.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Client {
    /// The document of the current operation, once chosen.
    pub doc: Option<u8>,
    /// Write attempts made in the current operation.
    pub attempts: u8,
    pub stage: Stage,
    /// One answer per finished operation; the next operation's number is `answers.len()`.
    pub answers: Vec<Answer>,
}

/// The whole system: the shard copy and the clients.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct State {
    pub docs: Vec<Doc>,
    /// The highest `_seq_no` the shard assigned.
    pub max_seq_no: SeqNo,
    pub clients: Vec<Client>,
    /// The update-by-query, when the configuration has one.
    pub pass: Option<Pass>,
    /// The write attempt the step into this state made, if it was one (only the last step's, so
    /// that states differ by no more than what the properties judge).
    pub last: Option<Attempt>,
}

/// One atomic step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// The client's GET (rmw) or the update's get (update) of a document.
    Read { client: u8, doc: u8 },
    /// The conditional write based on the client's read.
    Write { client: u8 },
    /// Fault `reads_abandoned`: the client drops its read.
    Abandon { client: u8 },
    /// The update-by-query's request: it takes its refreshed view.
    Scroll,
    /// The update-by-query writes its next hit.
    WriteHit,
}

/// The single-shard model for one configuration.
#[derive(Clone, Debug)]
pub struct SingleShard {
    pub params: Params,
}

/// The update API's upsert: a missing document is created.
const UPSERT: bool = true;

impl SingleShard {
    pub fn new(params: Params) -> Result<SingleShard, String> {
        params.validate()?;
        Ok(SingleShard { params })
    }

    fn ops(&self) -> usize {
        usize::from(self.params.ops_per_client)
    }

    /// The condition the write carries: the client's guard (rmw) or the update's own.
    fn condition(&self, read: &Read) -> Option<Condition> {
        match (self.params.path, self.params.guard) {
            (Path::Rmw, Some(guard)) => Some(guard.condition(read.meta)),
            (Path::Update, _) => write_condition(read.meta, UPSERT).ok(),
            (Path::Rmw, None) => None,
        }
    }

    /// After a conflict with `attempts` attempts made: retry?
    fn retries(&self, attempts: u8) -> bool {
        self.params.fault == Some(Fault::RetryLimitIgnored)
            || may_retry(
                u32::from(attempts),
                u32::from(self.params.retry_on_conflict),
            )
    }

    fn finish(&self, client: &mut Client, written: bool) {
        let doc = client.doc.take().unwrap_or_default();
        client.answers.push(Answer { doc, written });
        client.attempts = 0;
        client.stage = if client.answers.len() == self.ops() {
            Stage::Done
        } else {
            Stage::Reading
        };
    }

    /// The shard executes write `id` on document `doc_index`, based on `read` and guarded by
    /// `condition`, and records the attempt in `state.last`; true when it wrote.
    fn execute(
        &self,
        state: &mut State,
        id: WriteId,
        doc_index: usize,
        read: &Read,
        condition: &Condition,
    ) -> bool {
        let mut value = read.value.clone();
        value.push(id);
        let doc = &state.docs[doc_index];
        let found = register(doc.meta, &doc.value);
        let outcome = plan_as_primary(doc.meta, WriteKind::Index, condition).map(|plan| {
            let seq_no = next_seq_no(match self.params.fault {
                Some(Fault::SeqNoFromRead) => read.meta.map_or(NO_OPS_PERFORMED, |m| m.seq_no),
                _ => state.max_seq_no,
            });
            (plan.applied(seq_no, FIRST_PRIMARY_TERM), plan.result)
        });
        if let Ok((meta, _)) = outcome {
            let doc = &mut state.docs[doc_index];
            doc.meta = Some(meta);
            doc.value = value.clone();
            doc.changes.push(meta);
            state.max_seq_no = state.max_seq_no.max(meta.seq_no);
        }
        state.last = Some(Attempt {
            client: id.client,
            doc: doc_index as u8,
            expected: register(read.meta, &read.value),
            found,
            new: value,
            outcome,
        });
        outcome.is_ok()
    }

    fn write(&self, state: &mut State, client_index: usize) -> Option<()> {
        let client = &state.clients[client_index];
        let Stage::Writing(read) = &client.stage else {
            return None;
        };
        let doc_index = usize::from(client.doc?);
        let condition = self.condition(read)?;
        let id = WriteId {
            client: client_index as u8,
            op: client.answers.len() as u8,
        };
        let read = read.clone();
        let attempts = client.attempts + 1;
        match self.execute(state, id, doc_index, &read, &condition) {
            true => self.finish(&mut state.clients[client_index], true),
            false => {
                let client = &mut state.clients[client_index];
                client.attempts = attempts;
                if self.retries(attempts) {
                    client.stage = Stage::Reading;
                } else if self.params.fault == Some(Fault::FinalConflictUnanswered) {
                    client.stage = Stage::Unanswered;
                } else {
                    self.finish(client, false);
                }
            }
        }
        Some(())
    }

    /// The update-by-query writes its next hit, guarded by what its view showed, as the REST
    /// handler does; `Progress::record` says whether the outcome stops the pass.
    fn write_hit(&self, state: &mut State) -> Option<()> {
        let pass = state.pass.as_ref()?;
        let hit = pass.next_hit()?.clone();
        let id = WriteId {
            client: BY_QUERY,
            op: pass.written.len() as u8,
        };
        let condition = Guard::SeqNoAndTerm.condition(hit.read.meta);
        let written = self.execute(state, id, usize::from(hit.doc), &hit.read, &condition);
        let conflicts = self.params.by_query?;
        let pass = state.pass.as_mut()?;
        let outcome = match written {
            true => HitOutcome::Updated,
            false => HitOutcome::VersionConflict,
        };
        let failed = pass.progress.record(outcome, conflicts);
        pass.failures += u8::from(failed);
        pass.written.push(written);
        let stops = failed && self.params.fault != Some(Fault::ByQueryIgnoresAbort);
        pass.answered = stops || pass.next_hit().is_none();
        Some(())
    }

    /// Whether the client has an action (a state where no client has one is terminal).
    fn enabled(client: &Client) -> bool {
        matches!(client.stage, Stage::Reading | Stage::Writing(_))
    }
}

/// The register value the spec sees for a document state.
fn register(meta: Option<DocMeta>, value: &Chain) -> Option<Chain> {
    DocMeta::live(meta).map(|_| value.clone())
}

/// A client's progress: operations answered, attempts made, stage. The ranking measure is the
/// vector of these, ordered pointwise.
fn progress(client: &Client) -> (usize, u8, u8) {
    let stage = match client.stage {
        Stage::Reading => 0,
        Stage::Writing(_) => 1,
        Stage::Unanswered => 2,
        Stage::Done => 3,
    };
    (client.answers.len(), client.attempts, stage)
}

/// Did the ranking measure strictly increase: no client went back, and one went forward?
fn rank_increased(before: &State, after: &State) -> bool {
    let clients = || {
        before
            .clients
            .iter()
            .zip(&after.clients)
            .map(|(b, a)| (progress(b), progress(a)))
    };
    let passes = || {
        before
            .pass
            .iter()
            .zip(&after.pass)
            .map(|(b, a)| (b.progress(), a.progress()))
    };
    clients().all(|(b, a)| a >= b)
        && passes().all(|(b, a)| a >= b)
        && (clients().any(|(b, a)| a > b) || passes().any(|(b, a)| a > b))
}

impl Model for SingleShard {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        let client = Client {
            doc: None,
            attempts: 0,
            stage: Stage::Reading,
            answers: Vec::new(),
        };
        let mut max_seq_no = NO_OPS_PERFORMED;
        let docs = (0..self.params.docs)
            .map(|_| {
                let meta = self.params.initially_indexed.then(|| {
                    max_seq_no = next_seq_no(max_seq_no);
                    plan_as_primary(None, WriteKind::Index, &Condition::None)
                        .ok()
                        .map(|plan| plan.applied(max_seq_no, FIRST_PRIMARY_TERM))
                });
                let meta = meta.flatten();
                Doc {
                    meta,
                    value: Vec::new(),
                    changes: meta.into_iter().collect(),
                }
            })
            .collect();
        vec![State {
            docs,
            max_seq_no,
            clients: vec![client; usize::from(self.params.clients)],
            pass: self.params.by_query.map(|_| Pass {
                hits: None,
                written: Vec::new(),
                progress: Progress::default(),
                failures: 0,
                answered: false,
            }),
            last: None,
        }]
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        for (index, client) in state.clients.iter().enumerate() {
            let client_id = index as u8;
            match (&client.stage, client.doc) {
                (Stage::Reading, Some(doc)) => actions.push(Action::Read {
                    client: client_id,
                    doc,
                }),
                (Stage::Reading, None) => {
                    actions.extend((0..self.params.docs).map(|doc| Action::Read {
                        client: client_id,
                        doc,
                    }))
                }
                (Stage::Writing(_), _) => {
                    actions.push(Action::Write { client: client_id });
                    if self.params.fault == Some(Fault::ReadsAbandoned) {
                        actions.push(Action::Abandon { client: client_id });
                    }
                }
                (Stage::Unanswered | Stage::Done, _) => {}
            }
        }
        match &state.pass {
            Some(Pass { hits: None, .. }) => actions.push(Action::Scroll),
            Some(pass) if pass.next_hit().is_some() => actions.push(Action::WriteHit),
            _ => {}
        }
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut state = last.clone();
        state.last = None;
        match action {
            Action::Read { client, doc } => {
                let shard_doc = state.docs.get(usize::from(doc))?;
                let read = Read {
                    meta: shard_doc.meta,
                    value: shard_doc.value.clone(),
                };
                let client = state.clients.get_mut(usize::from(client))?;
                client.doc = Some(doc);
                client.stage = Stage::Writing(read);
            }
            Action::Write { client } => self.write(&mut state, usize::from(client))?,
            Action::Abandon { client } => {
                state.clients.get_mut(usize::from(client))?.stage = Stage::Reading;
            }
            Action::Scroll => {
                let hits: Vec<Hit> = (0..self.params.docs)
                    .zip(&state.docs)
                    .filter(|(_, doc)| DocMeta::live(doc.meta).is_some())
                    .map(|(doc, shard_doc)| Hit {
                        doc,
                        read: Read {
                            meta: shard_doc.meta,
                            value: shard_doc.value.clone(),
                        },
                    })
                    .collect();
                let pass = state.pass.as_mut()?;
                pass.progress.total = hits.len() as u64;
                pass.answered = hits.is_empty();
                pass.hits = Some(hits);
            }
            Action::WriteHit => self.write_hit(&mut state)?,
        }
        Some(state)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let mut properties = vec![
            Property::<Self>::always(Invariant::NoLostAckedWrite.name(), |_, s| {
                no_lost_acked_write(s)
            }),
            Property::<Self>::always(Invariant::RmwSerializable.name(), |_, s| {
                last_attempts(s).all(|a| a.outcome.is_err() || a.expected == a.found)
            }),
            Property::<Self>::always(Invariant::CasLinearizable.name(), |_, s| {
                last_attempts(s).all(is_valid_cas_step)
            }),
            // GETs return the register's own value, so only writes can break it.
            Property::<Self>::always(Invariant::ReadsLinearizable.name(), |_, s| {
                last_attempts(s).all(is_valid_cas_step)
            }),
            Property::<Self>::always(Invariant::ChangeIdUnique.name(), |_, s| {
                let mut ids: Vec<_> = s
                    .docs
                    .iter()
                    .flat_map(|d| d.changes.iter().map(|m| (m.seq_no, m.primary_term)))
                    .collect();
                let all = ids.len();
                ids.sort_unstable();
                ids.dedup();
                ids.len() == all
            }),
            Property::<Self>::always(Invariant::SeqNoMonotonic.name(), |_, s| {
                s.docs
                    .iter()
                    .all(|d| d.changes.windows(2).all(|w| w[0].seq_no < w[1].seq_no))
            }),
            // A client about to make another attempt has made at most retry_on_conflict.
            Property::<Self>::always(Invariant::RetryBound.name(), |m, s| {
                s.clients
                    .iter()
                    .all(|c| !SingleShard::enabled(c) || c.attempts <= m.params.retry_on_conflict)
            }),
            // Every terminal state (no client has an action) has every operation answered.
            Property::<Self>::always(Invariant::UpdateTerminates.name(), |m, s| {
                let mut actions = Vec::new();
                m.actions(s, &mut actions);
                !actions.is_empty()
                    || (s.clients.iter().all(|c| c.stage == Stage::Done)
                        && s.pass.iter().all(|p| p.answered))
            }),
            Property::<Self>::always(Invariant::RetrySizing.name(), |_, s| {
                s.clients
                    .iter()
                    .all(|c| c.answers.iter().all(|a| a.written))
            }),
            // Every action enabled here strictly increases the ranking measure.
            Property::<Self>::always(Invariant::RankIncreases.name(), |m, s| {
                let mut actions = Vec::new();
                m.actions(s, &mut actions);
                actions.into_iter().all(|a| {
                    m.next_state(s, a)
                        .is_none_or(|next| rank_increased(s, &next))
                })
            }),
            Property::<Self>::sometimes(Invariant::ReachAckedWrite.name(), |_, s| {
                s.clients
                    .iter()
                    .any(|c| c.answers.iter().any(|a| a.written))
            }),
            Property::<Self>::sometimes(Invariant::ReachConflict.name(), |_, s| {
                s.clients
                    .iter()
                    .any(|c| c.attempts > 0 || c.answers.iter().any(|a| !a.written))
            }),
            // A client that met a 409 and reads again to retry.
            Property::<Self>::sometimes(Invariant::ReachUpdateRetry.name(), |_, s| {
                s.clients
                    .iter()
                    .any(|c| c.attempts > 0 && c.stage == Stage::Reading)
            }),
        ];
        if self.params.by_query.is_some() {
            properties.extend(by_query_properties());
        }
        properties
    }

    fn format_action(&self, action: &Action) -> String {
        match *action {
            Action::Read { client, doc } => match self.params.path {
                Path::Rmw => format!("client {client}: GET doc {}", doc_id(doc)),
                Path::Update => format!("n0: get doc {} for client {client}'s update", doc_id(doc)),
            },
            Action::Write { client } => format!("client {client}: conditional write"),
            Action::Abandon { client } => format!("client {client}: abandon read"),
            Action::Scroll => "by-query: POST /idx/_update_by_query".into(),
            Action::WriteHit => "by-query: write the next hit".into(),
        }
    }

    fn format_step(&self, last: &State, action: Action) -> Option<String> {
        let next = self.next_state(last, action)?;
        Some(self.exchange(last, &action, &next).to_string())
    }

    fn as_svg(&self, path: stateright::Path<State, Action>) -> Option<String> {
        Some(sequence_diagram(&Trace::from_path(self, path)))
    }
}

/// The properties of a configuration with an update-by-query.
fn by_query_properties() -> Vec<Property<SingleShard>> {
    vec![
        // What abort promises; under proceed, its counterexample is the skipped document.
        Property::<SingleShard>::always(Invariant::ByQueryStopsAtFirstConflict.name(), |_, s| {
            s.pass
                .iter()
                .all(|p| p.after_first_conflict().next().is_none())
        }),
        // A hit answered 409 and the pass wrote a later hit: the skipped document.
        Property::<SingleShard>::sometimes(Invariant::ReachByQuerySkipped.name(), |_, s| {
            s.pass
                .iter()
                .any(|p| p.after_first_conflict().next().is_some())
        }),
        // The pass answered at a 409 with hits it never wrote.
        Property::<SingleShard>::sometimes(Invariant::ReachByQueryAborted.name(), |_, s| {
            s.pass.iter().any(|p| {
                p.answered
                    && p.written.contains(&false)
                    && p.hits.as_ref().is_some_and(|h| p.written.len() < h.len())
            })
        }),
    ]
}

/// The write attempt of the step into this state.
fn last_attempts(s: &State) -> impl Iterator<Item = &Attempt> {
    s.last.iter()
}

/// Is the attempt one valid step of the CAS-register spec: written exactly when the value it
/// expected was the value the shard held?
fn is_valid_cas_step(attempt: &Attempt) -> bool {
    let cas = DocOp::Cas {
        expected: attempt.expected.clone(),
        new: Some(attempt.new.clone()),
    };
    let ret = match attempt.outcome {
        Ok(_) => DocRet::CasOk,
        Err(_) => DocRet::CasFailed,
    };
    Document(attempt.found.clone()).is_valid_step(&cas, &ret)
}

/// Every acknowledged write is in its document's current value; the update-by-query's hits
/// count as acknowledged once written (their bulk item answered).
fn no_lost_acked_write(state: &State) -> bool {
    let by_query = state.pass.iter().all(|p| {
        let hits = p.hits.iter().flatten();
        p.written
            .iter()
            .zip(hits)
            .enumerate()
            .all(|(op, (written, hit))| {
                let id = WriteId {
                    client: BY_QUERY,
                    op: op as u8,
                };
                !written || state.docs[usize::from(hit.doc)].value.contains(&id)
            })
    });
    by_query
        && state.clients.iter().enumerate().all(|(client, c)| {
            c.answers.iter().enumerate().all(|(op, answer)| {
                let id = WriteId {
                    client: client as u8,
                    op: op as u8,
                };
                !answer.written || state.docs[usize::from(answer.doc)].value.contains(&id)
            })
        })
}
