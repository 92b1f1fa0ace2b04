//! `model::replication`: clients, shard copies (one primary and its replicas), a master that may
//! fail the primary, and a network that reorders (and optionally drops and duplicates)
//! replication messages. A hand-written stateright [`Model`] mirroring Elasticsearch's
//! replication (and elastic's `replication.tla`) with the optimistic concurrency control on top.
//!
//! * Clients run read-modify-writes: a realtime GET from any copy that believes it is primary,
//!   then a write guarded by what they read ([`Guard::condition`]) to any copy that believes it is
//!   primary. Values are write chains, so an overwrite that did not see a write drops it.
//! * The primary plans with [`plan_as_primary`], assigns [`next_seq_no`], replicates
//!   `(_seq_no, _primary_term, global checkpoint)` to its in-sync group and acknowledges when
//!   [`can_acknowledge`] holds. A failed replica is removed from the in-sync set by the master
//!   before the write proceeds; a primary that hears of a newer term fails itself and its pending
//!   writes fail indefinitely (never acknowledged, never a 409).
//! * Replicas fence old terms ([`check_operation_term`]), roll back to the global checkpoint on a
//!   newer term, and apply operations with [`plan_as_replica`] (see [`copy`]).
//! * The master fails the primary up to `failovers` times: it promotes an in-sync copy, which
//!   fills gaps with no-ops, resyncs above its global checkpoint and trims ([`promote`]).
//!
//! The knobs of [`Config`] switch on one realistic bug each, for the catalogue's counterexamples.
//!
//! Modelling choices (each one keeps every behaviour that matters to the invariants):
//! * A GET and a write's execution on the primary are atomic steps of the client; the client
//!   sees the acknowledgement in the step that completes it. This narrows the real-time windows
//!   of the history, so a linearizability violation found is one a real client can observe.
//! * The promoted copy applies the master's decision at once; every other copy learns the new
//!   term from the new primary's messages. The old primary is isolated: it learns of its
//!   demotion only when a copy fences one of its requests and the master answers.
//! * A resync is one message carrying every operation above the new primary's global checkpoint
//!   and the trim (Elasticsearch's first resync request carries `trimAboveSeqNo`).
//! * [`Config::docs`] documents (default one), document `d` seeded at `_seq_no` `d` on every
//!   copy; each client operation targets one document ([`state::doc_of`]), so writes to
//!   different documents share the shard's `_seq_no`s, checkpoints and resyncs.
//!
//! [`plan_as_primary`]: crate::protocol::plan_as_primary
//! [`next_seq_no`]: crate::protocol::checkpoint::next_seq_no
//! [`can_acknowledge`]: crate::protocol::checkpoint::can_acknowledge
//! [`check_operation_term`]: crate::protocol::check_operation_term
//! [`plan_as_replica`]: crate::protocol::plan_as_replica
//! [`promote`]: crate::protocol::checkpoint::promote

mod copy;
mod history;
mod properties;
pub mod state;
mod step;
mod symmetry;
mod trace;

use serde::{Deserialize, Serialize};
use stateright::{Model, Property};

use crate::model::shortest::RepresentativeFn;
use crate::model::svg::sequence_diagram;
use crate::model::trace::{Describe, Trace};
use crate::model::Checkable;
use crate::protocol::checkpoint::{promotable, tombstone_prunable_unless_early};
use crate::protocol::ids::FIRST_PRIMARY_TERM;
/// How a replica installs an operation on its document (a `protocol` rule the engine shares).
pub use crate::protocol::ReplicaOrder;
use crate::protocol::{DocMeta, Guard, SeqNo};

use state::{
    Chain, Client, ClientId, CopyId, Doc, DocId, Entry, Master, Msg, Op, Phase, Role, ShardCopy,
    State, Tracker, WriterId,
};

/// Parameters of a replication model, as a catalogue entry states them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub clients: u8,
    /// Documents in the shard (at most [`MAX_DOCS`]): document `d` is seeded at `_seq_no` `d`.
    pub docs: u8,
    /// Read-modify-writes each client runs, one after the other.
    pub ops_per_client: u8,
    /// Shard copies: `n0` starts as primary, the others as in-sync replicas.
    pub copies: u8,
    /// How many times the master may fail the primary.
    pub failovers: u8,
    /// How many times the master may remove a replica from the in-sync set (it missed a write).
    pub replica_failures: u8,
    pub guard: Guard,
    /// The network may lose replication requests and responses.
    pub drops: bool,
    /// The network may deliver a replication request twice.
    pub duplicates: bool,
    /// Replicas reject operations from an older primary term. `false` is a bug.
    pub term_fencing: bool,
    /// Bug: the primary acknowledges before the replicas applied the write.
    pub ack_before_replication: bool,
    /// Bug: the master may promote a copy that is not in the in-sync set.
    pub promote_stale_copy: bool,
    pub replica_order: ReplicaOrder,
    /// The coordinating node re-sends a write whose primary failed to the new primary
    /// (Elasticsearch's `ReroutePhase`). `false`: the write fails indefinitely.
    pub coordinator_retry: bool,
    /// Which copies serve a client's realtime GET.
    pub reads_from: ReadsFrom,
    /// How many times a copy that is not in sync may recover from the primary.
    pub recoveries: u8,
    /// Which API the clients write through.
    pub api: Api,
    /// The update API's `retry_on_conflict` (with `api: update`).
    pub retry_on_conflict: u8,
    /// The last client deletes (a GET, then a DELETE conditioned on what it read); the others
    /// index, and re-create the document after a delete (`op_type=create`). Copies may prune a
    /// tombstone once their local checkpoint has passed it (`index.gc_deletes`).
    pub deletes: bool,
    /// Bug: a copy may prune a tombstone before its local checkpoint has passed it, so a late,
    /// older index operation resurrects the document (elastic's `ReplicaEngine.tla`).
    pub prune_tombstones_early: bool,
    /// Bug: the master marks a recovering copy in sync as soon as its recovery starts, before
    /// its local checkpoint reached the global checkpoint.
    pub mark_in_sync_early: bool,
}

/// The API clients write through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// A GET, then an index request guarded by what it returned ([`Config::guard`]).
    Index,
    /// The update API: the primary reads its own document and indexes the client's change
    /// conditioned on that read's `_seq_no` and `_primary_term` (`UpdateHelper.prepare`); values
    /// are write chains, so the update is a non-idempotent append, like a script.
    Update,
}

/// Which copies serve a realtime GET.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadsFrom {
    /// Only a copy that believes it is primary (`preference=_primary` of Elasticsearch 6).
    Primary,
    /// Any active copy: one that believes it is primary, or an in-sync replica
    /// (Elasticsearch 7+: `TransportGetAction` routes to any active copy of the shard).
    Any,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            clients: 2,
            docs: 1,
            ops_per_client: 1,
            copies: 3,
            failovers: 1,
            replica_failures: 0,
            guard: Guard::SeqNoAndTerm,
            drops: false,
            duplicates: false,
            term_fencing: true,
            ack_before_replication: false,
            promote_stale_copy: false,
            replica_order: ReplicaOrder::SeqNo,
            coordinator_retry: true,
            reads_from: ReadsFrom::Primary,
            api: Api::Index,
            retry_on_conflict: 0,
            recoveries: 0,
            mark_in_sync_early: false,
            deletes: false,
            prune_tombstones_early: false,
        }
    }
}

impl Config {
    /// Every writer must fit in a value chain and a copy set in its bitmask.
    pub fn validate(&self) -> Result<(), String> {
        let writers = usize::from(self.clients) * usize::from(self.ops_per_client);
        if self.clients == 0 || self.ops_per_client == 0 {
            return Err("clients and ops_per_client must be at least 1".into());
        }
        if writers > Chain::CAPACITY {
            return Err(format!(
                "clients × ops_per_client must be at most {} (got {writers})",
                Chain::CAPACITY
            ));
        }
        if !(1..=MAX_DOCS).contains(&self.docs) {
            return Err(format!(
                "docs must be between 1 and {MAX_DOCS} (got {})",
                self.docs
            ));
        }
        if !(1..=8).contains(&self.copies) {
            return Err(format!(
                "copies must be between 1 and 8 (got {})",
                self.copies
            ));
        }
        Ok(())
    }

    pub fn into_model(self) -> Result<ReplicationModel, String> {
        self.validate()?;
        Ok(ReplicationModel { config: self })
    }
}

/// The checked model; build it with [`Config::into_model`].
#[derive(Clone, Debug)]
pub struct ReplicationModel {
    pub config: Config,
}

/// A step of the model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// A client GETs the document from a copy that serves reads ([`Config::reads_from`]).
    Get { client: ClientId, copy: CopyId },
    /// A client sends its write (guarded index, update, or the same request re-routed) to a
    /// copy that believes it is primary.
    Write { client: ClientId, copy: CopyId },
    /// The network delivers a message.
    Deliver(Msg),
    /// The network delivers a request and keeps a duplicate of it.
    Duplicate(Msg),
    /// The network loses a message: the sender sees the request fail.
    Drop(Msg),
    /// The master fails the primary and promotes `promote`.
    FailPrimary { promote: CopyId },
    /// The master removes a replica from the in-sync set.
    FailReplica { copy: CopyId },
    /// A copy that is not in sync starts a peer recovery from the current primary.
    Recover { copy: CopyId },
    /// A copy prunes a tombstone's version information.
    PruneTombstone { copy: CopyId, doc: DocId },
}

/// The most documents a model holds.
pub const MAX_DOCS: u8 = 2;

/// Document `doc` as every copy starts with it: `_seq_no` `doc` in term 1, `_version` 1, the
/// empty chain.
pub fn seed(doc: DocId) -> Doc {
    Doc {
        meta: DocMeta {
            seq_no: SeqNo::from(doc),
            primary_term: FIRST_PRIMARY_TERM,
            version: 1,
            deleted: false,
        },
        value: Chain::EMPTY,
        pruned: false,
    }
}

impl ReplicationModel {
    /// The writer id of a client's current operation.
    pub fn writer(&self, client: ClientId, op: u8) -> WriterId {
        1 + client * self.config.ops_per_client + op
    }

    /// The history thread of a client's current operation (one per operation, so an operation
    /// that never returned does not block the client's next one).
    pub fn thread(&self, client: ClientId, op: u8) -> u8 {
        self.writer(client, op) - 1
    }

    /// The document a client's operation targets.
    pub fn doc_of(&self, client: ClientId, op: u8) -> DocId {
        state::doc_of(self.config.clients, self.config.docs, client, op)
    }

    /// The document a writer id (or history thread `writer - 1`) writes.
    pub fn doc_of_writer(&self, writer: WriterId) -> DocId {
        let (client, op) = self.writer_of(writer);
        self.doc_of(client, op)
    }

    /// The client and operation of a writer id.
    pub fn writer_of(&self, writer: WriterId) -> (ClientId, u8) {
        let index = writer - 1;
        (
            index / self.config.ops_per_client,
            index % self.config.ops_per_client,
        )
    }

    /// Does this client delete ([`Config::deletes`])?
    pub fn deletes(&self, client: ClientId) -> bool {
        self.config.deletes && client + 1 == self.config.clients
    }

    /// May `copy` prune document `doc`'s tombstone now ([`Config::prune_tombstones_early`])?
    pub fn may_prune(&self, copy: &ShardCopy, doc: DocId) -> bool {
        copy.doc(doc).is_some_and(|d| {
            d.meta.deleted
                && !d.pruned
                && tombstone_prunable_unless_early(
                    self.config.prune_tombstones_early,
                    d.meta.seq_no,
                    copy.local_checkpoint,
                )
        })
    }

    /// Does `copy` serve a client's realtime GET ([`Config::reads_from`])?
    pub fn serves_reads(&self, state: &State, copy: CopyId) -> bool {
        let c = &state.copies[usize::from(copy)];
        match self.config.reads_from {
            ReadsFrom::Primary => c.is_primary(),
            ReadsFrom::Any => {
                c.is_primary()
                    || (c.role == Role::Replica && state.master.in_sync & state::bit(copy) != 0)
            }
        }
    }

    fn initial_copy(&self, id: CopyId) -> ShardCopy {
        let copies = self.config.copies;
        let docs: Vec<Doc> = (0..self.config.docs).map(seed).collect();
        let log = docs
            .iter()
            .enumerate()
            .map(|(doc, seed)| {
                Some(Entry {
                    term: FIRST_PRIMARY_TERM,
                    op: Op::Write {
                        doc: doc as DocId,
                        version: seed.meta.version,
                        value: seed.value,
                        deleted: false,
                    },
                    pending: false,
                    receipt: None,
                })
            })
            .collect();
        let checkpoint = SeqNo::from(self.config.docs) - 1;
        ShardCopy {
            role: if id == 0 {
                Role::Primary(Tracker {
                    group: all_copies(copies),
                    checkpoints: vec![Some(checkpoint); usize::from(copies)],
                    pending: Vec::new(),
                    recovering: 0,
                    finalizing: 0,
                })
            } else {
                Role::Replica
            },
            term: FIRST_PRIMARY_TERM,
            log,
            docs: docs.into_iter().map(Some).collect(),
            local_checkpoint: checkpoint,
            global_checkpoint: checkpoint,
            resynced: false,
            recovered: false,
        }
    }
}

fn all_copies(copies: u8) -> u8 {
    ((1u16 << copies) - 1) as u8
}

impl Model for ReplicationModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        let c = &self.config;
        vec![State {
            master: Master {
                term: FIRST_PRIMARY_TERM,
                primary: 0,
                in_sync: all_copies(c.copies),
                failovers_left: c.failovers,
                replica_failures_left: c.replica_failures,
                recoveries_left: c.recoveries,
            },
            copies: (0..c.copies).map(|i| self.initial_copy(i)).collect(),
            clients: vec![
                Client {
                    op: 0,
                    phase: Phase::Idle,
                };
                usize::from(c.clients)
            ],
            network: Vec::new(),
            history: Vec::new(),
            changes: vec![None; usize::from(c.clients) * usize::from(c.ops_per_client)],
            acked: 0,
        }]
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        let primaries = || {
            state
                .copies
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_primary())
                .map(|(i, _)| i as CopyId)
        };
        let readers = (0..self.config.copies).filter(|&c| self.serves_reads(state, c));
        let current_primary = state.master.primary;
        for (client, c) in state.clients.iter().enumerate() {
            let client = client as ClientId;
            match c.phase {
                Phase::Idle if self.config.api == Api::Update => {
                    actions.extend(primaries().map(|copy| Action::Write { client, copy }))
                }
                Phase::Idle => {
                    actions.extend(readers.clone().map(|copy| Action::Get { client, copy }))
                }
                Phase::Read(_) => {
                    actions.extend(primaries().map(|copy| Action::Write { client, copy }))
                }
                Phase::Rerouted(_) if state.copies[usize::from(current_primary)].is_primary() => {
                    actions.push(Action::Write {
                        client,
                        copy: current_primary,
                    })
                }
                Phase::Rerouted(_) | Phase::Waiting(_) | Phase::Done => {}
            }
        }
        for (i, msg) in state.network.iter().enumerate() {
            if i > 0 && state.network[i - 1] == *msg {
                continue; // identical copies are one choice
            }
            actions.push(Action::Deliver(msg.clone()));
            let duplicable = matches!(
                msg,
                Msg::Replicate {
                    duplicate: false,
                    ..
                } | Msg::Resync {
                    duplicate: false,
                    ..
                }
            );
            if self.config.duplicates && duplicable {
                actions.push(Action::Duplicate(msg.clone()));
            }
            if self.config.drops && !matches!(msg, Msg::Failed { .. }) {
                actions.push(Action::Drop(msg.clone()));
            }
        }
        let master = &state.master;
        let in_sync = |c: CopyId| master.in_sync & state::bit(c) != 0;
        let others = (0..self.config.copies).filter(|c| *c != master.primary);
        if master.failovers_left > 0 {
            let candidates = (0..self.config.copies).filter(|&c| {
                let stale_allowed = self.config.promote_stale_copy && c != master.primary;
                stale_allowed || promotable(in_sync(c), c == master.primary)
            });
            actions.extend(candidates.map(|promote| Action::FailPrimary { promote }));
        }
        if master.replica_failures_left > 0 {
            let replicas = others.clone().filter(|&c| in_sync(c));
            actions.extend(replicas.map(|copy| Action::FailReplica { copy }));
        }
        if self.config.deletes {
            for copy in 0..self.config.copies {
                let tombstones = (0..self.config.docs)
                    .filter(|&d| self.may_prune(&state.copies[usize::from(copy)], d));
                actions.extend(tombstones.map(|doc| Action::PruneTombstone { copy, doc }));
            }
        }
        if master.recoveries_left > 0 && state.copies[usize::from(master.primary)].is_primary() {
            let recovering = match &state.copies[usize::from(master.primary)].role {
                Role::Primary(tracker) => tracker.recovering,
                _ => 0,
            };
            let failed = others.filter(|&c| {
                !in_sync(c)
                    && recovering & state::bit(c) == 0
                    && !state.copies[usize::from(c)].is_primary()
            });
            actions.extend(failed.map(|copy| Action::Recover { copy }));
        }
    }

    fn next_state(&self, state: &State, action: Action) -> Option<State> {
        let mut next = state.clone();
        self.step(&mut next, action)?;
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        properties::all()
    }

    /// The Explorer's text for a step: the exchange in the protocol's terms.
    fn format_step(&self, last: &State, action: Action) -> Option<String> {
        let next = self.next_state(last, action.clone())?;
        Some(self.exchange(last, &action, &next).to_string())
    }

    /// The Explorer's picture: the path so far as a sequence diagram.
    fn as_svg(&self, path: stateright::Path<State, Action>) -> Option<String> {
        Some(sequence_diagram(&Trace::from_path(self, path)))
    }
}

impl Checkable for ReplicationModel {
    /// Copies are interchangeable, and so are clients unless one of them deletes
    /// ([`Config::deletes`]: the last client deletes, the others index), see [`symmetry`].
    fn symmetry(&self) -> Option<RepresentativeFn<State>> {
        if self.config.deletes {
            Some(symmetry::representative_of_copies)
        } else {
            Some(symmetry::representative)
        }
    }
}

#[cfg(test)]
mod tests;
