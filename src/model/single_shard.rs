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
//! Linearizability: operations are atomic, so every history is sequential, and a sequential
//! history is linearizable exactly when it is a valid run of the sequential spec
//! ([`Document`]). The model runs that spec along each path, step by step, instead of storing
//! the history in the state (which would multiply the states by the interleavings); a GET returns
//! the register's own value, so only writes can break it. A test replays whole paths through
//! stateright's `LinearizabilityTester` and checks that both agree.

use std::fmt;

use serde::{Deserialize, Serialize};
use stateright::semantics::SequentialSpec;
use stateright::{Model, Property, Representative};

use super::shortest::RepresentativeFn;
use super::svg::sequence_diagram;
use super::trace::{self, CopyState, Describe, DocMetaView, DocState, Exchange, Trace};
use super::{Broken, Checkable, Invariant};
use crate::protocol::checkpoint::next_seq_no;
use crate::protocol::ids::{FIRST_PRIMARY_TERM, NO_OPS_PERFORMED};
use crate::protocol::update::{may_retry, write_condition};
use crate::protocol::{plan_as_primary, Condition, DocMeta, Guard, SeqNo, WriteKind};
use crate::spec::{DocOp, DocRet, Document};

/// The most clients a configuration may have (client ids are small integers in the state).
pub const MAX_CLIENTS: u8 = 16;
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
    /// Transition-checked invariants broken on the way here.
    pub broken: Broken,
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
        let mut value = read.value.clone();
        value.push(id);
        let expected = register(read.meta, &read.value);
        let doc = &state.docs[doc_index];
        let current = register(doc.meta, &doc.value);
        let plan = plan_as_primary(doc.meta, WriteKind::Index, &condition);

        let cas = DocOp::Cas {
            expected: expected.clone(),
            new: Some(value.clone()),
        };
        let ret = if plan.is_ok() {
            DocRet::CasOk
        } else {
            DocRet::CasFailed
        };
        let linearizable = Document(current.clone()).is_valid_step(&cas, &ret);
        let attempts = client.attempts + 1;
        let broken = &mut state.broken;
        broken.check(Invariant::CasLinearizable, linearizable);
        broken.check(Invariant::ReadsLinearizable, linearizable);
        broken.check(
            Invariant::RetryBound,
            u32::from(attempts) <= u32::from(self.params.retry_on_conflict) + 1,
        );

        match plan {
            Ok(plan) => {
                let seq_no = next_seq_no(state.max_seq_no);
                let meta = plan.applied(seq_no, FIRST_PRIMARY_TERM);
                broken.check(Invariant::RmwSerializable, expected == current);
                broken.check(Invariant::ChangeIdUnique, seq_no > state.max_seq_no);
                broken.check(
                    Invariant::SeqNoMonotonic,
                    doc.meta.is_none_or(|old| meta.seq_no > old.seq_no),
                );
                state.docs[doc_index] = Doc {
                    meta: Some(meta),
                    value,
                };
                state.max_seq_no = seq_no;
                self.finish(&mut state.clients[client_index], true);
            }
            Err(_) => {
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
    let pairs = || {
        before
            .clients
            .iter()
            .zip(&after.clients)
            .map(|(b, a)| (progress(b), progress(a)))
    };
    pairs().all(|(b, a)| a >= b) && pairs().any(|(b, a)| a > b)
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
        vec![State {
            docs: vec![
                Doc {
                    meta: None,
                    value: Vec::new(),
                };
                usize::from(self.params.docs)
            ],
            max_seq_no: NO_OPS_PERFORMED,
            clients: vec![client; usize::from(self.params.clients)],
            broken: Broken::default(),
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
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut state = last.clone();
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
        }
        let increased = rank_increased(last, &state);
        state.broken.check(Invariant::RankIncreases, increased);
        Some(state)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        /// A property checked on transitions: it holds while no step on the way broke it.
        macro_rules! unbroken {
            ($invariant:expr) => {
                Property::<Self>::always($invariant.name(), |_, s| !s.broken.has($invariant))
            };
        }
        vec![
            Property::<Self>::always(Invariant::NoLostAckedWrite.name(), |_, s| {
                no_lost_acked_write(s)
            }),
            unbroken!(Invariant::RmwSerializable),
            unbroken!(Invariant::CasLinearizable),
            unbroken!(Invariant::ReadsLinearizable),
            unbroken!(Invariant::ChangeIdUnique),
            unbroken!(Invariant::SeqNoMonotonic),
            unbroken!(Invariant::RetryBound),
            // Every terminal state (no client has an action) has every operation answered.
            Property::<Self>::always(Invariant::UpdateTerminates.name(), |_, s| {
                s.clients.iter().any(SingleShard::enabled)
                    || s.clients.iter().all(|c| c.stage == Stage::Done)
            }),
            Property::<Self>::always(Invariant::RetrySizing.name(), |_, s| {
                s.clients
                    .iter()
                    .all(|c| c.answers.iter().all(|a| a.written))
            }),
            unbroken!(Invariant::RankIncreases),
        ]
    }

    fn format_action(&self, action: &Action) -> String {
        match *action {
            Action::Read { client, doc } => match self.params.path {
                Path::Rmw => format!("client {client}: GET doc {}", doc_id(doc)),
                Path::Update => format!("n0: get doc {} for client {client}'s update", doc_id(doc)),
            },
            Action::Write { client } => format!("client {client}: conditional write"),
            Action::Abandon { client } => format!("client {client}: abandon read"),
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

/// Every acknowledged write is in its document's current value.
fn no_lost_acked_write(state: &State) -> bool {
    state.clients.iter().enumerate().all(|(client, c)| {
        c.answers.iter().enumerate().all(|(op, answer)| {
            let id = WriteId {
                client: client as u8,
                op: op as u8,
            };
            !answer.written || state.docs[usize::from(answer.doc)].value.contains(&id)
        })
    })
}

/// The `_id` of document `index`: documents are numbered from 1.
fn doc_id(index: u8) -> String {
    (u16::from(index) + 1).to_string()
}

impl fmt::Display for WriteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}.{}", self.client, self.op)
    }
}

impl fmt::Debug for WriteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A write chain as text: `[c0.0 c1.0]`.
fn chain_text(chain: &Chain) -> String {
    let ids: Vec<String> = chain.iter().map(ToString::to_string).collect();
    format!("[{}]", ids.join(" "))
}

/// `_seq_no=.. _primary_term=.. _version=.. [value]`, or `404` for a missing document.
fn found_text(meta: Option<DocMeta>, value: &Chain) -> String {
    match DocMeta::live(meta) {
        None => "404 not found".into(),
        Some(m) => format!(
            "200 _seq_no={} _primary_term={} _version={} {}",
            m.seq_no,
            m.primary_term,
            m.version,
            chain_text(value)
        ),
    }
}

impl Describe for SingleShard {
    fn copies(&self, state: &State) -> Vec<CopyState> {
        let docs = state
            .docs
            .iter()
            .enumerate()
            .map(|(index, doc)| DocState {
                id: doc_id(index as u8),
                meta: doc.meta.map(|m| DocMetaView {
                    seq_no: m.seq_no,
                    primary_term: m.primary_term,
                    version: m.version,
                    deleted: m.deleted,
                }),
                value: chain_text(&doc.value),
            })
            .collect();
        vec![CopyState {
            copy: "n0".into(),
            summary: String::new(),
            docs,
        }]
    }

    fn exchange(&self, before: &State, action: &Action, after: &State) -> Exchange {
        match *action {
            Action::Read { client, doc } => {
                let shard_doc = &before.docs[usize::from(doc)];
                let found = found_text(shard_doc.meta, &shard_doc.value);
                let c = &before.clients[usize::from(client)];
                let id = doc_id(doc);
                match (self.params.path, c.attempts) {
                    (Path::Rmw, _) => Exchange {
                        from: format!("client {client}"),
                        to: "n0".into(),
                        request: format!("GET /idx/_doc/{id}"),
                        response: Some(found),
                    },
                    (Path::Update, 0) => Exchange {
                        from: format!("client {client}"),
                        to: "n0".into(),
                        request: format!(
                            "POST /idx/_update/{id}?retry_on_conflict={} (append c{client}.{}, upsert)",
                            self.params.retry_on_conflict,
                            c.answers.len()
                        ),
                        response: Some(format!("get: {found}")),
                    },
                    (Path::Update, attempt) => Exchange {
                        from: "n0".into(),
                        to: "n0".into(),
                        request: format!("retry {attempt} of client {client}'s update: get /idx/_doc/{id}"),
                        response: Some(found),
                    },
                }
            }
            Action::Write { client } => self.describe_write(before, after, client),
            Action::Abandon { client } => Exchange {
                from: format!("client {client}"),
                to: format!("client {client}"),
                request: "abandons its read (fault reads_abandoned)".into(),
                response: None,
            },
        }
    }
}

impl SingleShard {
    fn describe_write(&self, before: &State, after: &State, client: u8) -> Exchange {
        let index = usize::from(client);
        let (c, c_after) = (&before.clients[index], &after.clients[index]);
        let (Stage::Writing(read), Some(doc)) = (&c.stage, c.doc) else {
            return Exchange {
                from: format!("client {client}"),
                to: "n0".into(),
                request: "write without a read".into(),
                response: None,
            };
        };
        let id = doc_id(doc);
        let condition = self.condition(read).unwrap_or(Condition::None);
        let mut value = read.value.clone();
        value.push(WriteId {
            client,
            op: c.answers.len() as u8,
        });
        let target = format!("/idx/_doc/{id}{}", trace::write_query(&condition));
        let response = match plan_as_primary(
            before.docs[usize::from(doc)].meta,
            WriteKind::Index,
            &condition,
        ) {
            Ok(plan) => {
                let meta = after.docs[usize::from(doc)]
                    .meta
                    .unwrap_or(plan.applied(after.max_seq_no, FIRST_PRIMARY_TERM));
                format!(
                    "{} {} _seq_no={} _primary_term={} _version={}",
                    plan.result.status(),
                    plan.result.as_str(),
                    meta.seq_no,
                    meta.primary_term,
                    meta.version
                )
            }
            Err(conflict) => {
                let next = match c_after.stage {
                    Stage::Reading if c_after.attempts > 0 => ", retry",
                    Stage::Unanswered => ", never answered",
                    _ => ", gives up",
                };
                format!(
                    "409 {}: {}{next}",
                    crate::protocol::VersionConflict::TYPE,
                    conflict.reason(&id)
                )
            }
        };
        match self.params.path {
            Path::Rmw => Exchange {
                from: format!("client {client}"),
                to: "n0".into(),
                request: format!("PUT {target} {}", chain_text(&value)),
                response: Some(response),
            },
            Path::Update => {
                let answered = c_after.answers.len() > c.answers.len();
                Exchange {
                    from: "n0".into(),
                    to: if answered {
                        format!("client {client}")
                    } else {
                        "n0".into()
                    },
                    request: format!("index {target} {}", chain_text(&value)),
                    response: Some(response),
                }
            }
        }
    }
}

impl Checkable for SingleShard {
    /// Clients are interchangeable: same actions, same rules, and every property treats them alike.
    fn symmetry(&self) -> Option<RepresentativeFn<State>> {
        Some(State::representative)
    }
}

impl Representative for State {
    /// Clients are interchangeable: order them by what they did (id-free), then rename the client
    /// ids inside every write chain accordingly.
    fn representative(&self) -> Self {
        let position = |client: usize| {
            self.docs
                .iter()
                .enumerate()
                .find_map(|(d, doc)| {
                    doc.value
                        .iter()
                        .position(|w| usize::from(w.client) == client)
                        .map(|p| (d, p))
                })
                .unwrap_or((usize::MAX, usize::MAX))
        };
        let mut order: Vec<usize> = (0..self.clients.len()).collect();
        order.sort_by_cached_key(|&i| {
            let c = &self.clients[i];
            let read = match &c.stage {
                Stage::Writing(read) => Some((read.meta, read.value.len())),
                _ => None,
            };
            let answers: Vec<(u8, bool)> = c.answers.iter().map(|a| (a.doc, a.written)).collect();
            (progress(c), c.doc, read, answers, position(i))
        });
        let mut renamed = vec![0u8; order.len()];
        for (new, &old) in order.iter().enumerate() {
            renamed[old] = new as u8;
        }
        let rename = |chain: &Chain| -> Chain {
            chain
                .iter()
                .map(|w| WriteId {
                    client: renamed[usize::from(w.client)],
                    op: w.op,
                })
                .collect()
        };
        State {
            docs: self
                .docs
                .iter()
                .map(|d| Doc {
                    meta: d.meta,
                    value: rename(&d.value),
                })
                .collect(),
            max_seq_no: self.max_seq_no,
            clients: order
                .iter()
                .map(|&i| {
                    let c = &self.clients[i];
                    Client {
                        stage: match &c.stage {
                            Stage::Writing(read) => Stage::Writing(Read {
                                meta: read.meta,
                                value: rename(&read.value),
                            }),
                            other => other.clone(),
                        },
                        ..c.clone()
                    }
                })
                .collect(),
            broken: self.broken,
        }
    }
}

impl fmt::Debug for State {
    /// The Explorer's view: the copy's documents, then each client's step and last read.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "n0 (max _seq_no {}):", self.max_seq_no)?;
        for (index, doc) in self.docs.iter().enumerate() {
            let id = doc_id(index as u8);
            match doc.meta {
                None => writeln!(f, "  doc {id}: missing")?,
                Some(_) => writeln!(f, "  doc {id}: {}", found_text(doc.meta, &doc.value))?,
            }
        }
        for (index, client) in self.clients.iter().enumerate() {
            write!(f, "client {index}: op {}", client.answers.len())?;
            if let Some(doc) = client.doc {
                write!(f, " on doc {}", doc_id(doc))?;
            }
            match &client.stage {
                Stage::Reading => write!(f, ", next: read")?,
                Stage::Writing(read) => write!(
                    f,
                    ", next: write; read {}",
                    found_text(read.meta, &read.value)
                )?,
                Stage::Unanswered => write!(f, ", waiting for an answer that never comes")?,
                Stage::Done => write!(f, ", done")?,
            }
            if client.attempts > 0 {
                write!(f, ", {} attempts", client.attempts)?;
            }
            let answers: Vec<String> = client
                .answers
                .iter()
                .map(|a| {
                    format!(
                        "doc {}: {}",
                        doc_id(a.doc),
                        if a.written { "written" } else { "409" }
                    )
                })
                .collect();
            writeln!(f, "; answers [{}]", answers.join(", "))?;
        }
        let broken: Vec<&str> = self.broken.iter().map(Invariant::name).collect();
        if !broken.is_empty() {
            writeln!(f, "broken: {}", broken.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Doc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&found_text(self.meta, &self.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::catalogue;
    use crate::model::check::{self, Options, Verdict};
    use stateright::semantics::{ConsistencyTester, LinearizabilityTester};

    fn params(clients: u8, guard: Option<Guard>, path: Path, retry_on_conflict: u8) -> Params {
        Params {
            clients,
            docs: 1,
            ops_per_client: 1,
            guard,
            path,
            retry_on_conflict,
            fault: None,
        }
    }

    fn report(params: &Params) -> check::Report {
        let text = serde_json::json!({
            "name": "t", "description": "", "model": "single_shard",
            "parameters": params, "expect": {"no_lost_acked_write": "holds"}, "ci": false
        });
        let entry = catalogue::parse(std::path::Path::new("t.json"), &text.to_string()).unwrap();
        check::run(&entry, &Options::default()).unwrap()
    }

    fn trace_text(report: &check::Report, invariant: Invariant) -> String {
        let property = report
            .properties
            .iter()
            .find(|p| p.property == invariant)
            .unwrap();
        assert_eq!(property.verdict, Verdict::Counterexample, "{invariant}");
        property.counterexample.as_ref().unwrap().trace.to_string()
    }

    #[test]
    fn blind_writes_lose_an_update_in_four_steps() {
        let report = report(&params(2, Some(Guard::Blind), Path::Rmw, 0));
        let text = trace_text(&report, Invariant::NoLostAckedWrite);
        println!("{text}");
        let expected = " 1. client 0 → n0: GET /idx/_doc/1 → 404 not found
 2. client 1 → n0: GET /idx/_doc/1 → 404 not found
 3. client 0 → n0: PUT /idx/_doc/1 [c0.0] → 201 created _seq_no=0 _primary_term=1 _version=1
      n0: doc 1: _seq_no=0 _primary_term=1 _version=1 [c0.0]
 4. client 1 → n0: PUT /idx/_doc/1 [c1.0] → 200 updated _seq_no=1 _primary_term=1 _version=2
      n0: doc 1: _seq_no=1 _primary_term=1 _version=2 [c1.0]
";
        assert!(text.ends_with(expected), "{text}");
    }

    #[test]
    fn seq_no_and_term_turns_the_overwrite_into_a_409() {
        let report = report(&params(2, Some(Guard::SeqNoAndTerm), Path::Rmw, 0));
        let text = trace_text(&report, Invariant::RetrySizing);
        println!("{text}");
        assert!(text.contains("PUT /idx/_doc/1?op_type=create [c1.0] → 409 version_conflict_engine_exception: [1]: version conflict, document already exists (current version [1]), gives up"), "{text}");
        assert!(report
            .properties
            .iter()
            .filter(|p| p.property != Invariant::RetrySizing)
            .all(|p| p.verdict == Verdict::Holds));
    }

    #[test]
    fn update_retries_show_the_shards_own_steps() {
        let report = report(&params(3, None, Path::Update, 1));
        let text = trace_text(&report, Invariant::RetrySizing);
        println!("{text}");
        assert!(
            text.contains("n0 → client 1: index /idx/_doc/1?if_seq_no=0&if_primary_term=1"),
            "{text}"
        );
        assert!(text.contains("retry 1 of client"), "{text}");
        assert!(text.contains("409 version_conflict_engine_exception: [1]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [1] and primary term [1], gives up"), "{text}");
    }

    /// Every path of the model, as (state, action, next state) steps.
    fn all_paths(model: &SingleShard) -> Vec<Vec<(State, Action, State)>> {
        fn walk(
            model: &SingleShard,
            state: &State,
            path: &mut Vec<(State, Action, State)>,
            out: &mut Vec<Vec<(State, Action, State)>>,
        ) {
            let mut actions = Vec::new();
            model.actions(state, &mut actions);
            if actions.is_empty() {
                out.push(path.clone());
            }
            for action in actions {
                let next = model.next_state(state, action).unwrap();
                path.push((state.clone(), action, next.clone()));
                walk(model, &next, path, out);
                path.pop();
            }
        }
        let mut out = Vec::new();
        walk(model, &model.init_states()[0], &mut Vec::new(), &mut out);
        out
    }

    /// The whole history of a path, fed to stateright's `LinearizabilityTester`: every GET and
    /// every conditional write, each returning at once (operations are atomic).
    fn tester_verdict(path: &[(State, Action, State)]) -> bool {
        let mut tester = LinearizabilityTester::<u8, Document<Chain>>::new(Document(None));
        for (before, action, after) in path {
            match *action {
                Action::Read { client, doc } => {
                    let d = &before.docs[usize::from(doc)];
                    tester
                        .on_invret(
                            client,
                            DocOp::Read,
                            DocRet::ReadOk(register(d.meta, &d.value)),
                        )
                        .unwrap();
                }
                Action::Write { client } => {
                    let c = &before.clients[usize::from(client)];
                    let Stage::Writing(read) = &c.stage else {
                        unreachable!()
                    };
                    let mut new = read.value.clone();
                    new.push(WriteId {
                        client,
                        op: c.answers.len() as u8,
                    });
                    let ret = if after.max_seq_no > before.max_seq_no {
                        DocRet::CasOk
                    } else {
                        DocRet::CasFailed
                    };
                    let op = DocOp::Cas {
                        expected: register(read.meta, &read.value),
                        new: Some(new),
                    };
                    tester.on_invret(client, op, ret).unwrap();
                }
                Action::Abandon { .. } => {}
            }
        }
        tester.is_consistent()
    }

    #[test]
    fn stepwise_spec_check_agrees_with_the_linearizability_tester() {
        let mut refuted = 0;
        for guard in Guard::ALL {
            let model = SingleShard::new(params(3, Some(guard), Path::Rmw, 1)).unwrap();
            for path in all_paths(&model) {
                let last = &path.last().unwrap().2;
                let model_says = !last.broken.has(Invariant::ReadsLinearizable);
                assert_eq!(model_says, tester_verdict(&path), "{guard:?}: {last:?}");
                refuted += usize::from(!model_says);
            }
        }
        assert!(
            refuted > 0,
            "the blind guard must produce non-linearizable paths"
        );
    }

    #[test]
    fn symmetry_representative_is_a_renaming() {
        let model = SingleShard::new(params(3, Some(Guard::Blind), Path::Rmw, 0)).unwrap();
        for path in all_paths(&model) {
            for (_, _, state) in path {
                let representative = state.representative();
                assert_eq!(representative.representative(), representative);
                assert_eq!(
                    no_lost_acked_write(&representative),
                    no_lost_acked_write(&state)
                );
                assert_eq!(representative.broken, state.broken);
                let mut values: Vec<usize> = state.docs.iter().map(|d| d.value.len()).collect();
                values.extend(representative.docs.iter().map(|d| d.value.len()));
                assert_eq!(values[0], values[1]);
            }
        }
    }

    #[test]
    fn invalid_parameters_are_explained() {
        assert!(
            SingleShard::new(params(0, Some(Guard::Blind), Path::Rmw, 0))
                .unwrap_err()
                .contains("clients")
        );
        assert!(SingleShard::new(params(2, None, Path::Rmw, 0))
            .unwrap_err()
            .contains("guard"));
        assert!(
            SingleShard::new(params(2, Some(Guard::Blind), Path::Update, 0))
                .unwrap_err()
                .contains("`rmw` only")
        );
    }
}
