//! [`ShardGroup`]: a primary and its replicas in one process, replicating every operation with
//! `(_seq_no, _primary_term, global checkpoint)`, with failover and deterministic fault
//! injection. `docs/replication.md` walks through it.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`coordinator`] | the coordinating node: route a client's write, re-route it when its primary fails |
//! | [`copy`] | [`GroupCopy`]: one copy's engine, translog, checkpoints, role; the replica side |
//! | `engine_cell` | the copy's engine behind a swappable pointer with a gate (rollback, promotion) |
//! | `translog` | what a replica accepted, kept across rollbacks, trimmed by resyncs |
//! | `replication` | the primary side: send, answer, acknowledge |
//! | [`pending`] | a write waiting for its replicas: wait, poll or await it |
//! | `master` | the master's view: primary term, primary, in-sync set |
//! | [`failover`] | fail or isolate the primary (promotion, resync), fail a replica |
//! | [`recovery`] | a failed replica comes back: ops-based peer recovery |
//! | [`faults`] | per-copy links: deliver, delay, reorder, drop; release |
//! | [`scripted`] | one held message at a time, answers held too: for tests that replay the model |
//! | `unsafe_knobs` | [`Unsafe`]: the model's bug knobs, off by default (`esocc serve --unsafe`) |
//!
//! Every decision is a [`crate::protocol`] call: term fencing (replicas and the master),
//! per-document replica planning (inside the engine), global checkpoints, acknowledgement,
//! promotion, trim and rollback.
//!
//! The group is `Send + Sync` and every method takes `&self`, so an async server can share it
//! between tasks. Writes come in two forms: blocking ([`ShardGroup::index`] and friends, which
//! wait for the replicas and are re-routed by the coordinating node, [`coordinator`]) and
//! submitted ([`ShardGroup::submit`], one attempt on the primary, a [`PendingWrite`] to wait on,
//! poll or `.await`), which tests use to script deliveries deterministically.

pub mod coordinator;
pub mod copy;
mod engine_cell;
pub mod failover;
pub mod faults;
mod master;
pub mod pending;
pub mod recovery;
pub(crate) mod replication;
pub mod scripted;
mod translog;
mod unsafe_knobs;

use std::sync::Arc;

pub use coordinator::{CoordinatedWrite, Route};
pub use copy::{CopyId, GroupCopy, Role};
pub use failover::{Failover, FaultError};
pub use faults::LinkFault;
pub use pending::PendingWrite;
pub use recovery::Recovery;
pub use unsafe_knobs::{Unsafe, UnsafeKnob};

use self::faults::Link;
use self::master::Master;
use crate::engine::sync::{AtomicU64, Mutex, MutexGuard};
use crate::engine::{
    CopyOptions, EngineError, ErrorKind, GetResponse, SearchView, ShardCopy, ShardId, Source,
    UpdateRequest, WriteOutcome,
};
use crate::protocol::{Condition, SeqNo, Term};

/// A write of the document API, as [`ShardGroup::submit`] takes it.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    Index {
        id: String,
        source: Source,
        condition: Condition,
    },
    Create {
        id: String,
        source: Source,
    },
    Delete {
        id: String,
        condition: Condition,
    },
    Update {
        id: String,
        request: UpdateRequest,
    },
}

/// One copy as [`ShardGroup::state`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyState {
    pub copy: CopyId,
    pub role: Role,
    /// In the master's in-sync set.
    pub in_sync: bool,
    pub primary_term: Term,
    pub local_checkpoint: SeqNo,
    pub max_seq_no: SeqNo,
    pub global_checkpoint: SeqNo,
    pub link: LinkFault,
    /// Requests held on the copy's link.
    pub held: usize,
    /// Realtime GETs this copy served.
    pub reads: u64,
}

/// The group as [`ShardGroup::state`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupState {
    /// The master's primary term.
    pub primary_term: Term,
    /// The master's primary (`None` when none is left).
    pub primary: Option<CopyId>,
    pub number_of_replicas: u32,
    /// Writes the coordinating node re-routed to a new primary.
    pub reroutes: u64,
    pub copies: Vec<CopyState>,
}

/// A primary and its replicas.
pub struct ShardGroup {
    shard: Arc<ShardId>,
    number_of_replicas: u32,
    copies: Vec<GroupCopy>,
    links: Vec<Link>,
    master: Mutex<Master>,
    /// Serialises failovers (control plane only).
    failover: Mutex<()>,
    /// The safeguards switched off (`esocc serve --unsafe`); none by default.
    knobs: Unsafe,
    /// Writes the coordinating node re-routed ([`coordinator`]).
    reroutes: AtomicU64,
}

impl ShardGroup {
    /// A shard with `number_of_replicas` replicas in its settings, `assigned_replicas` of them
    /// allocated (fewer on a cluster with fewer nodes; the others count in `_shards.total`).
    pub fn new(shard: ShardId, number_of_replicas: u32, assigned_replicas: u32) -> Self {
        Self::with_options(
            shard,
            number_of_replicas,
            assigned_replicas,
            CopyOptions::default(),
        )
    }

    pub fn with_options(
        shard: ShardId,
        number_of_replicas: u32,
        assigned_replicas: u32,
        options: CopyOptions,
    ) -> Self {
        let copies = 1 + assigned_replicas.min(number_of_replicas) as usize;
        ShardGroup {
            copies: (0..copies)
                .map(|id| {
                    let role = if id == 0 {
                        Role::Primary
                    } else {
                        Role::Replica
                    };
                    GroupCopy::new(id, copies, shard.clone(), options, role)
                })
                .collect(),
            links: (0..copies).map(|_| Link::new()).collect(),
            master: Mutex::new(Master::new(options.primary_term, copies)),
            failover: Mutex::new(()),
            knobs: Unsafe::default(),
            reroutes: AtomicU64::new(0),
            shard: Arc::new(shard),
            number_of_replicas,
        }
    }

    pub fn shard_id(&self) -> &ShardId {
        &self.shard
    }

    pub fn number_of_replicas(&self) -> u32 {
        self.number_of_replicas
    }

    /// How many copies are allocated (the primary and the assigned replicas).
    pub fn copies(&self) -> usize {
        self.copies.len()
    }

    /// One copy, to inspect its engine, checkpoints and role.
    pub fn copy(&self, copy: CopyId) -> Option<&GroupCopy> {
        self.copies.get(copy)
    }

    pub(crate) fn master(&self) -> MutexGuard<'_, Master> {
        self.master.lock()
    }

    /// The master's primary.
    pub fn primary(&self) -> Option<CopyId> {
        self.master().primary
    }

    /// The master's primary term.
    pub fn primary_term(&self) -> Term {
        self.master().term
    }

    /// The master's in-sync set.
    pub fn in_sync(&self) -> Vec<CopyId> {
        self.master().in_sync.iter().copied().collect()
    }

    fn inactive(&self) -> EngineError {
        EngineError {
            kind: ErrorKind::PrimaryInactive,
            shard: self.shard.clone(),
        }
    }

    /// Realtime GET from the master's primary.
    pub fn get(&self, id: &str) -> Result<GetResponse, EngineError> {
        match self.primary() {
            Some(primary) => self.get_at(primary, id),
            None => Err(self.inactive()),
        }
    }

    /// Realtime GET from `copy`, primary or replica, as it holds the document now: a replica
    /// that rolled back to its global checkpoint on a newer term lacks what is above it until the
    /// resync arrives, and an isolated old primary serves dirty reads until it is fenced. A
    /// failed copy answers `unavailable_shards_exception`.
    pub fn get_at(&self, copy: CopyId, id: &str) -> Result<GetResponse, EngineError> {
        match self.copies.get(copy) {
            Some(c) if c.role() != Role::Failed => Ok(c.read(id)),
            _ => Err(self.inactive()),
        }
    }

    /// Refresh every copy that is not failed (`POST /{index}/_refresh` reaches every active
    /// copy of a shard).
    pub fn refresh(&self) {
        for copy in self.copies.iter().filter(|c| c.role() != Role::Failed) {
            copy.with_engine(ShardCopy::refresh);
        }
    }

    /// The refreshed view of the master's primary, what a search of the shard reads.
    pub fn search_view(&self) -> Result<SearchView, EngineError> {
        match self.primary().and_then(|p| self.copies.get(p)) {
            Some(primary) => Ok(primary.with_engine(ShardCopy::search_view)),
            None => Err(self.inactive()),
        }
    }

    /// Run `write` on the master's primary and replicate it; the write concludes once every
    /// in-sync replica answered.
    pub fn submit(&self, write: Write) -> PendingWrite {
        match self.primary() {
            Some(primary) => self.submit_at(primary, write),
            None => self.refused(),
        }
    }

    /// Run `write` on `copy`, which runs it while it believes it is primary (an isolated old
    /// primary accepts writes until a replica's term check fences it).
    pub fn submit_at(&self, copy: CopyId, write: Write) -> PendingWrite {
        let Some(primary) = self.copies.get(copy).filter(|c| c.role() == Role::Primary) else {
            return self.refused();
        };
        let (outcome, translated) = primary.with_engine(|engine| match &write {
            Write::Index {
                id,
                source,
                condition,
            } => (engine.index(id, source.clone(), condition), None),
            Write::Create { id, source } => (engine.create(id, source.clone()), None),
            Write::Delete { id, condition } => (engine.delete(id, condition), None),
            Write::Update { id, request } => engine.update_translated(id, request),
        });
        self.replicate(copy, outcome).translated_into(translated)
    }

    fn refused(&self) -> PendingWrite {
        let outcome = WriteOutcome {
            result: Err(self.inactive()),
            ops: Vec::new(),
            attempts: 0,
        };
        PendingWrite::concluded(outcome)
    }

    /// Index (create or replace) through the coordinating node; waits for the replicas.
    pub fn index(&self, id: &str, source: Source, condition: &Condition) -> WriteOutcome {
        let id = id.to_owned();
        let condition = *condition;
        self.coordinate(
            Write::Index {
                id,
                source,
                condition,
            },
            Route::default(),
        )
        .wait()
    }

    /// `op_type=create` through the coordinating node; waits for the replicas.
    pub fn create(&self, id: &str, source: Source) -> WriteOutcome {
        let id = id.to_owned();
        self.coordinate(Write::Create { id, source }, Route::default())
            .wait()
    }

    /// Delete through the coordinating node; waits for the replicas.
    pub fn delete(&self, id: &str, condition: &Condition) -> WriteOutcome {
        let id = id.to_owned();
        let condition = *condition;
        self.coordinate(Write::Delete { id, condition }, Route::default())
            .wait()
    }

    /// Partial-document update through the coordinating node; waits for the replicas.
    pub fn update(&self, id: &str, request: &UpdateRequest) -> WriteOutcome {
        let id = id.to_owned();
        let request = request.clone();
        self.coordinate(Write::Update { id, request }, Route::default())
            .wait()
    }

    /// Every copy's role, term, checkpoints and link.
    pub fn state(&self) -> GroupState {
        let master = self.master().clone();
        GroupState {
            primary_term: master.term,
            primary: master.primary,
            number_of_replicas: self.number_of_replicas,
            reroutes: self.reroutes(),
            copies: self
                .copies
                .iter()
                .zip(&self.links)
                .map(|(copy, link)| {
                    let (primary_term, local_checkpoint, max_seq_no) = copy
                        .with_engine(|e| (e.primary_term(), e.local_checkpoint(), e.max_seq_no()));
                    CopyState {
                        copy: copy.id(),
                        role: copy.role(),
                        in_sync: master.in_sync.contains(&copy.id()),
                        primary_term,
                        local_checkpoint,
                        max_seq_no,
                        global_checkpoint: copy.global_checkpoint(),
                        link: link.fault(),
                        held: link.held(),
                        reads: copy.reads(),
                    }
                })
                .collect(),
        }
    }
}
