//! The state of the replication model: the master, the shard copies, the clients, the network
//! (a sorted multiset of messages) and the recorded history. Facts that are only visible during
//! a transition (under which terms a copy received an operation, that a resync was applied, what
//! a client saw) are recorded as data here and judged by the properties. Everything is small
//! integers and short sorted vectors so that hashing stays cheap.

use crate::protocol::{Condition, DocMeta, SeqNo, Term, TermTooOld, Version, VersionConflict};

/// Index of a shard copy (`n0`, `n1`, ...).
pub type CopyId = u8;
/// Index of a client.
pub type ClientId = u8;
/// A set of copies as a bitmask (bit `i` = copy `i`).
pub type CopySet = u8;

/// One write's identity in a value chain: `1 + client * ops_per_client + op`.
pub type WriterId = u8;
/// Index of a document (`_id` `1`, `2`, ... in the protocol lines).
pub type DocId = u8;

/// The document a client's operation `op` targets: the clients are split into `docs` groups of
/// consecutive clients, group `g` starts on document `g`, and each further operation moves to
/// the next document. The assignment never decreases with the client's index, which keeps the
/// symmetry reduction's renaming within clients of the same documents.
pub fn doc_of(clients: u8, docs: u8, client: ClientId, op: u8) -> DocId {
    let group = u16::from(client) * u16::from(docs) / u16::from(clients.max(1));
    ((group + u16::from(op)) % u16::from(docs.max(1))) as DocId
}

/// A document value: the chain of writers whose writes it contains, oldest first. Each write
/// appends its own writer to the value it read, so an overwrite that did not see a write visibly
/// drops it. Packed 4 bits per writer; the seed value is the empty chain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Chain(u32);

impl Chain {
    /// The value of the seed document.
    pub const EMPTY: Chain = Chain(0);
    /// The most writers a chain holds.
    pub const CAPACITY: usize = 8;

    /// The value a write by `writer` produces from the value it read.
    pub fn append(self, writer: WriterId) -> Chain {
        debug_assert!(writer > 0 && writer < 16 && self.len() < Self::CAPACITY);
        Chain(self.0 | (u32::from(writer) << (4 * self.len())))
    }

    /// The writers in order.
    pub fn writers(self) -> impl Iterator<Item = WriterId> {
        (0..Self::CAPACITY)
            .map(move |i| ((self.0 >> (4 * i)) & 0xf) as WriterId)
            .take_while(|w| *w != 0)
    }

    fn len(self) -> usize {
        self.writers().count()
    }

    pub fn contains(self, writer: WriterId) -> bool {
        self.writers().any(|w| w == writer)
    }

    /// Some writer appears more than once: a write was applied twice.
    pub fn repeats_a_writer(self) -> bool {
        let mut seen = 0u16;
        self.writers().any(|w| {
            let again = seen & (1 << w) != 0;
            seen |= 1 << w;
            again
        })
    }

    /// The writer of the last write in the chain (`None` for the seed value).
    pub fn last(self) -> Option<WriterId> {
        self.writers().last()
    }
}

/// What a logged operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// Index document `doc` (or, `deleted`, delete it, leaving a tombstone) with the `_version` the
    /// primary decided and this value (a tombstone keeps the chain as the delete's witness).
    Write {
        doc: DocId,
        version: Version,
        value: Chain,
        deleted: bool,
    },
    /// A no-op: fills a `_seq_no` (gap filling on promotion).
    Noop,
}

/// One slot of a copy's operation history (its translog), at index `_seq_no`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Entry {
    /// The term the operation was assigned under (`sterm` in replication.tla).
    pub term: Term,
    pub op: Op,
    /// Rolled back above the global checkpoint on a new term and not re-confirmed yet (the `pc`
    /// mark of replication.tla): kept in the history, absent from the document.
    pub pending: bool,
    /// How the copy received it from another copy (`None`: it assigned the operation itself, or
    /// the entry is on the wire).
    pub receipt: Option<Receipt>,
}

impl Entry {
    /// The entry as a message carries it: the operation, without the sender's bookkeeping.
    pub fn on_the_wire(self) -> Entry {
        Entry {
            pending: false,
            receipt: None,
            ..self
        }
    }

    /// Processed: present and not rolled back.
    pub fn processed(self) -> bool {
        !self.pending
    }
}

/// Under which primary terms a copy processed an operation that a request delivered: what term
/// fencing (Elasticsearch's replica operation permit) compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Receipt {
    /// The primary term of the request that delivered it (`rterm` in replication.tla).
    pub request_term: Term,
    /// The copy's own term when it processed it (after adopting a newer request term).
    pub own_term: Term,
}

/// A document as a copy holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Doc {
    pub meta: DocMeta,
    pub value: Chain,
    /// A tombstone whose version information the copy has pruned (`index.gc_deletes`): it no
    /// longer orders late operations. Its metadata and chain stay as the model's witness.
    pub pruned: bool,
}

impl Doc {
    /// What the copy's version map knows when it plans an operation: nothing for a pruned
    /// tombstone.
    pub fn known(doc: Option<Doc>) -> Option<DocMeta> {
        doc.filter(|d| !d.pruned).map(|d| d.meta)
    }

    /// What a GET returns: the value of a live document, nothing for a tombstone.
    pub fn found(doc: Option<Doc>) -> Option<Chain> {
        doc.filter(|d| !d.meta.deleted).map(|d| d.value)
    }

    /// The document as copies compare it: the pruning of a tombstone is local bookkeeping.
    pub fn content(doc: Option<Doc>) -> Option<(DocMeta, Chain)> {
        doc.map(|d| (d.meta, d.value))
    }
}

/// A write the primary executed and waits to acknowledge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PendingWrite {
    pub seq_no: SeqNo,
    pub client: ClientId,
    /// Copies that applied it (the primary itself included).
    pub applied: CopySet,
}

/// What a copy that believes it is primary tracks (`ReplicationTracker`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tracker {
    /// The in-sync copies it replicates to, as of the cluster state it applied.
    pub group: CopySet,
    /// The local checkpoint each copy last reported (`None`: not known yet).
    pub checkpoints: Vec<Option<SeqNo>>,
    pub pending: Vec<PendingWrite>,
    /// Copies it tracks while they recover (`ReplicationTracker.initiateTracking`): writes go
    /// to them and wait for them, but they are not in sync and do not hold the global
    /// checkpoint back.
    pub recovering: CopySet,
    /// Recovering copies whose recovery finished (`RecoverySourceHandler.finalizeRecovery`):
    /// they are marked in sync once their local checkpoint reaches the global checkpoint.
    pub finalizing: CopySet,
}

impl Tracker {
    /// The copies a new write is sent to and waits for (`ReplicationGroup.getReplicationTargets`).
    pub fn targets(&self) -> CopySet {
        self.group | self.recovering
    }
}

/// A copy's own belief about its role.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Believes it is primary: serves reads and accepts writes (even when the master has already
    /// promoted another copy and it has not noticed yet).
    Primary(Tracker),
    Replica,
    /// Learned from the master that it was demoted; it failed itself and serves nothing.
    Demoted,
}

/// A shard copy.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShardCopy {
    pub role: Role,
    /// The highest primary term it has seen.
    pub term: Term,
    /// Operation history indexed by `_seq_no`.
    pub log: Vec<Option<Entry>>,
    /// Each document as the copy holds it, by [`DocId`].
    pub docs: Vec<Option<Doc>>,
    pub local_checkpoint: SeqNo,
    pub global_checkpoint: SeqNo,
    /// It applied a new primary's resync (recorded for the reachability goal).
    pub resynced: bool,
    /// It was marked in sync again after a recovery (recorded for the reachability goal).
    pub recovered: bool,
}

impl ShardCopy {
    pub fn is_primary(&self) -> bool {
        matches!(self.role, Role::Primary(_))
    }

    /// The highest `_seq_no` it has assigned or seen.
    pub fn max_seq_no(&self) -> SeqNo {
        self.log.len() as SeqNo - 1
    }

    pub fn entry(&self, seq_no: SeqNo) -> Option<Entry> {
        usize::try_from(seq_no)
            .ok()
            .and_then(|i| self.log.get(i).copied().flatten())
    }

    /// The processed operations, in `_seq_no` order.
    pub fn processed(&self) -> impl Iterator<Item = (SeqNo, Entry)> + '_ {
        self.log
            .iter()
            .enumerate()
            .filter_map(|(s, e)| e.filter(|e| e.processed()).map(|e| (s as SeqNo, e)))
    }

    pub fn doc(&self, doc: DocId) -> Option<Doc> {
        self.docs[usize::from(doc)]
    }

    /// Some operation is rolled back and waits for the new primary's resync.
    pub fn awaits_resync(&self) -> bool {
        self.log.iter().flatten().any(|e| e.pending)
    }
}

/// The master's cluster state for the shard.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Master {
    pub term: Term,
    pub primary: CopyId,
    pub in_sync: CopySet,
    pub failovers_left: u8,
    pub replica_failures_left: u8,
    /// How many more times a failed copy may start a peer recovery.
    pub recoveries_left: u8,
}

/// Where a client is in its current read-modify-write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// About to GET.
    Idle,
    /// Read this document; about to write.
    Read(Option<Doc>),
    /// Its write, based on this read, was accepted by a primary and awaits acknowledgement.
    Waiting(Option<Doc>),
    /// Its write's primary failed (demoted) before acknowledging it: the coordinating node
    /// re-sends the same request, with the same condition, to the current primary
    /// (`TransportReplicationAction.ReroutePhase` on a `RetryOnPrimaryException`).
    Rerouted(Option<Doc>),
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Client {
    /// Index of the current operation.
    pub op: u8,
    pub phase: Phase,
}

/// A message in flight between copies.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Msg {
    /// A primary replicates one operation (`rterm` = `term`, `sterm` = `entry.term`).
    Replicate {
        from: CopyId,
        to: CopyId,
        term: Term,
        global_checkpoint: SeqNo,
        seq_no: SeqNo,
        entry: Entry,
        duplicate: bool,
    },
    /// A new primary's resync: every operation above its global checkpoint, then the trim.
    Resync {
        from: CopyId,
        to: CopyId,
        term: Term,
        global_checkpoint: SeqNo,
        ops: Vec<(SeqNo, Entry)>,
        trim_above: SeqNo,
        duplicate: bool,
    },
    /// A replica applied a replicated operation (`seq_no`) or a resync (`None`).
    Applied {
        from: CopyId,
        to: CopyId,
        term: Term,
        seq_no: Option<SeqNo>,
        local_checkpoint: SeqNo,
    },
    /// Ops-based peer recovery: the primary sends a recovering copy every operation above the
    /// copy's local checkpoint (`RecoverySourceHandler`, phase 2).
    Recover {
        from: CopyId,
        to: CopyId,
        term: Term,
        global_checkpoint: SeqNo,
        ops: Vec<(SeqNo, Entry)>,
    },
    /// The recovering copy applied the recovery and asks to be marked in sync.
    Recovered {
        from: CopyId,
        to: CopyId,
        term: Term,
        local_checkpoint: SeqNo,
    },
    /// A request failed: rejected by term fencing (with the copy's answer), or lost (`None`).
    Failed {
        from: CopyId,
        to: CopyId,
        term: Term,
        rejected: Option<TermTooOld>,
    },
}

impl Msg {
    /// The same request, marked as the network's duplicate (which is not duplicated again).
    pub fn duplicated(mut self) -> Msg {
        if let Msg::Replicate { duplicate, .. } | Msg::Resync { duplicate, .. } = &mut self {
            *duplicate = true;
        }
        self
    }
}

/// One event of the client history, in real-time order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Event {
    /// A GET and its answer (atomic on the copy that served it).
    Read { op: u8, value: Option<Chain> },
    /// A write was accepted by a primary: invoked, answer pending. `expected: None` = blind.
    Invoke {
        op: u8,
        expected: Option<Option<Chain>>,
        new: Chain,
        /// A delete: the document is absent afterwards (`new` is the tombstone's witness).
        delete: bool,
        /// The condition the request carried (what the guard built from the read).
        condition: Condition,
    },
    /// A write was acknowledged.
    Acked { op: u8 },
    /// A pending write, re-routed after its primary failed, was answered with a 409 by the new
    /// primary: the write may or may not have taken effect (`ConcurrentSeqNoVersioningIT`).
    Rejected { op: u8, conflict: VersionConflict },
    /// A conditional write was rejected with a 409 (invoked and answered at once).
    Conflict {
        op: u8,
        expected: Option<Chain>,
        new: Chain,
        condition: Condition,
        conflict: VersionConflict,
    },
}

impl Event {
    /// The history thread of the operation the event belongs to (its writer id - 1).
    pub fn thread(&self) -> u8 {
        match *self {
            Event::Read { op, .. }
            | Event::Invoke { op, .. }
            | Event::Acked { op }
            | Event::Rejected { op, .. }
            | Event::Conflict { op, .. } => op,
        }
    }
}

/// The whole model state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct State {
    pub master: Master,
    pub copies: Vec<ShardCopy>,
    pub clients: Vec<Client>,
    /// Messages in flight, sorted (a multiset).
    pub network: Vec<Msg>,
    pub history: Vec<Event>,
    /// The change each write made, by writer id - 1 (`None`: not executed by a primary).
    pub changes: Vec<Option<DocMeta>>,
    /// Acknowledged writers, as a bitmask over writer ids.
    pub acked: u16,
}

impl State {
    pub fn send(&mut self, msg: Msg) {
        let at = self.network.partition_point(|m| *m <= msg);
        self.network.insert(at, msg);
    }

    /// Remove one copy of `msg` from the network; false when it is not there.
    pub fn take(&mut self, msg: &Msg) -> bool {
        match self.network.binary_search(msg) {
            Ok(i) => {
                self.network.remove(i);
                true
            }
            Err(_) => false,
        }
    }
}

pub fn copies_in(set: CopySet) -> impl Iterator<Item = CopyId> {
    (0..8).filter(move |c| set & (1 << c) != 0)
}

pub fn bit(copy: CopyId) -> CopySet {
    1 << copy
}
