//! Stateright models of the protocol and the machinery that checks them.
//!
//! | module | what it is |
//! | --- | --- |
//! | [`single_shard`] | clients and one shard copy, every operation atomic on the shard |
//! | [`replication`] | clients, a primary and replicas, a master that fails the primary, a reordering network |
//! | [`catalogue`] | `models/*.json`: checked configurations with their expected verdicts |
//! | [`check`] | exhaustive checking of a catalogue entry, shortest counterexamples, the Explorer |
//! | [`parallel`] | a parallel exhaustive search with symmetry reduction, from any roots |
//! | [`part`] | a partitioned check: a deterministic 1/N of the state space per process, and the merge |
//! | [`shortest`] | a breadth-first search that guarantees shortest counterexamples, for any model |
//! | [`simulate`] | random walks, bounded by their count, for configurations too big to exhaust |
//! | [`trace`] | counterexamples as numbered steps in the protocol's own terms |
//! | [`svg`] | a trace drawn as a sequence diagram |
//!
//! Every model decides through [`crate::protocol`]; the models only keep the state the rules
//! read and write. Properties carry the names of [`Invariant`], which the catalogue, the
//! command and the generated documentation share.
//!
//! Adding a model: implement [`stateright::Model`] (property names from [`Invariant::name`]),
//! [`trace::Describe`] and [`Checkable`]; then give [`catalogue::ModelSpec`] a variant with the
//! parameters type (`Deserialize`, `deny_unknown_fields`), and add its arms to the catalogue's
//! `ModelKind`, [`catalogue::ModelSpec::kind`], [`catalogue::ModelSpec::validate`] and
//! [`catalogue::ModelSpec::with_model`]. Checking, shortest traces and the Explorer then work
//! for it unchanged.

pub mod catalogue;
pub mod check;
pub mod parallel;
pub mod part;
pub mod replication;
pub mod shortest;
pub mod simulate;
pub mod single_shard;
pub mod svg;
pub mod trace;

use std::fmt::{self, Debug};
use std::hash::Hash;

use serde::{Deserialize, Serialize};
use stateright::Model;

use shortest::RepresentativeFn;
use trace::Describe;

/// A model the checker can run, explore and tell: it describes its steps in the protocol's
/// terms and says whether symmetry reduction is sound for it.
pub trait Checkable:
    Model<
        State: Clone + Debug + Hash + PartialEq + Send + Sync + 'static,
        Action: Clone + Debug + PartialEq + Send + Sync + 'static,
    > + Describe
    + Clone
    + Send
    + Sync
    + 'static
{
    /// The representative function for symmetry reduction, or `None` when it would be unsound.
    fn symmetry(&self) -> Option<RepresentativeFn<Self::State>>;
}

/// The invariants of `design.md`, plus the ranking measure that makes termination provable.
/// The variant order is the order of every listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Invariant {
    NoLostAckedWrite,
    RmwSerializable,
    CasLinearizable,
    ReadsLinearizable,
    ChangeIdUnique,
    SeqNoMonotonic,
    TermFencing,
    AckedOnInSync,
    CheckpointSafety,
    ConvergeAtQuiescence,
    HistoryTermsMonotonic,
    AppliedAtMostOnce,
    NoStaleAckedRead,
    RetryBound,
    UpdateTerminates,
    RetrySizing,
    RankIncreases,
    ByQueryStopsAtFirstConflict,
    ReachAckedWrite,
    ReachConflict,
    ReachFailover,
    ReachResyncApplied,
    ReachReadOfEachWrite,
    ReachUpdateRetry,
    ReachReroute,
    ReachRecovery,
    ReachByQuerySkipped,
    ReachByQueryAborted,
}

impl Invariant {
    /// Every invariant, in listing order.
    pub const ALL: [Invariant; 28] = [
        Invariant::NoLostAckedWrite,
        Invariant::RmwSerializable,
        Invariant::CasLinearizable,
        Invariant::ReadsLinearizable,
        Invariant::ChangeIdUnique,
        Invariant::SeqNoMonotonic,
        Invariant::TermFencing,
        Invariant::AckedOnInSync,
        Invariant::CheckpointSafety,
        Invariant::ConvergeAtQuiescence,
        Invariant::HistoryTermsMonotonic,
        Invariant::AppliedAtMostOnce,
        Invariant::NoStaleAckedRead,
        Invariant::RetryBound,
        Invariant::UpdateTerminates,
        Invariant::RetrySizing,
        Invariant::RankIncreases,
        Invariant::ByQueryStopsAtFirstConflict,
        Invariant::ReachAckedWrite,
        Invariant::ReachConflict,
        Invariant::ReachFailover,
        Invariant::ReachResyncApplied,
        Invariant::ReachReadOfEachWrite,
        Invariant::ReachUpdateRetry,
        Invariant::ReachReroute,
        Invariant::ReachRecovery,
        Invariant::ReachByQuerySkipped,
        Invariant::ReachByQueryAborted,
    ];

    /// Is this a reachability goal (a stateright `sometimes` property: some reachable state
    /// shows it, which proves the model is not vacuous) rather than an invariant?
    pub const fn is_reachability(self) -> bool {
        matches!(
            self,
            Invariant::ReachAckedWrite
                | Invariant::ReachConflict
                | Invariant::ReachFailover
                | Invariant::ReachResyncApplied
                | Invariant::ReachReadOfEachWrite
                | Invariant::ReachUpdateRetry
                | Invariant::ReachReroute
                | Invariant::ReachRecovery
                | Invariant::ReachByQuerySkipped
                | Invariant::ReachByQueryAborted
        )
    }

    /// The name shared by the code, the catalogue and the docs (the stateright property name).
    pub const fn name(self) -> &'static str {
        match self {
            Invariant::NoLostAckedWrite => "no_lost_acked_write",
            Invariant::RmwSerializable => "rmw_serializable",
            Invariant::CasLinearizable => "cas_linearizable",
            Invariant::ReadsLinearizable => "reads_linearizable",
            Invariant::ChangeIdUnique => "change_id_unique",
            Invariant::SeqNoMonotonic => "seq_no_monotonic",
            Invariant::TermFencing => "term_fencing",
            Invariant::AckedOnInSync => "acked_on_in_sync",
            Invariant::CheckpointSafety => "checkpoint_safety",
            Invariant::ConvergeAtQuiescence => "converge_at_quiescence",
            Invariant::HistoryTermsMonotonic => "history_terms_monotonic",
            Invariant::AppliedAtMostOnce => "applied_at_most_once",
            Invariant::NoStaleAckedRead => "no_stale_acked_read",
            Invariant::RetryBound => "retry_bound",
            Invariant::UpdateTerminates => "update_terminates",
            Invariant::RetrySizing => "retry_sizing",
            Invariant::RankIncreases => "rank_increases",
            Invariant::ByQueryStopsAtFirstConflict => "by_query_stops_at_first_conflict",
            Invariant::ReachAckedWrite => "reach_acked_write",
            Invariant::ReachConflict => "reach_conflict",
            Invariant::ReachFailover => "reach_failover",
            Invariant::ReachResyncApplied => "reach_resync_applied",
            Invariant::ReachReadOfEachWrite => "reach_read_of_each_write",
            Invariant::ReachUpdateRetry => "reach_update_retry",
            Invariant::ReachReroute => "reach_reroute",
            Invariant::ReachRecovery => "reach_recovery",
            Invariant::ReachByQuerySkipped => "reach_by_query_skipped",
            Invariant::ReachByQueryAborted => "reach_by_query_aborted",
        }
    }

    /// The invariant with this property name.
    pub fn from_name(name: &str) -> Option<Invariant> {
        Invariant::ALL.into_iter().find(|i| i.name() == name)
    }

    /// What the invariant states (design.md's wording). `update_terminates` is checked as
    /// `rank_increases` (no cycles) plus "every terminal state has every update answered".
    pub const fn statement(self) -> &'static str {
        match self {
            Invariant::NoLostAckedWrite => "every acknowledged write is contained in the current value of its document on the master's current primary (values are write chains, so an overwrite that did not see a write drops it)",
            Invariant::RmwSerializable => "each write in a document's effective history (the processed operations of every copy, in _seq_no order, promotion replay included) was based on exactly the value it replaced",
            Invariant::CasLinearizable => "the conditional writes of one document, taken alone and closed by a final read of the master's current primary once the run has ended, form a history linearizable against the CAS-register spec (a write whose (_seq_no, _primary_term) came from a read expects the value that read returned)",
            Invariant::ReadsLinearizable => "the whole history, GETs, 409s and the final read included, is linearizable; Elasticsearch does not promise this under failover (dirty reads), so the real protocol with a failover is expected to refute it",
            Invariant::ChangeIdUnique => "no two different changes share the identity the clients' guard compares ((_seq_no, _primary_term) for the real guard)",
            Invariant::SeqNoMonotonic => "on every copy, a document's _seq_no is at least that of every write the copy has processed, so applying an operation never lowers it; the rollback to the global checkpoint on a newer primary term (which un-processes the operations above it) is the one decrease, and is excluded",
            Invariant::TermFencing => "no copy applies an operation delivered by a request whose primary term is older than the copy's own term at that moment (checked on the request's term, not the operation's: resync and promotion replay legitimately apply older-term operations)",
            Invariant::AckedOnInSync => "every acknowledged write is in the document of every in-sync copy, or, on a copy that rolled back to the global checkpoint on a newer term and awaits the resync, in its operation history at the write's _seq_no",
            Invariant::CheckpointSafety => "global checkpoint <= every in-sync local checkpoint; every op <= a local checkpoint was processed",
            Invariant::ConvergeAtQuiescence => "with no messages in flight, all in-sync copies hold identical documents and have processed every operation up to the primary's highest _seq_no (replication; no gap stalls the checkpoints)",
            Invariant::HistoryTermsMonotonic => "on every copy, among processed index operations, a higher _seq_no never carries a lower primary term than a lower _seq_no (the no-ops a promotion writes to fill gaps carry the new term below older operations, as Elasticsearch's InternalEngine.fillSeqNoGaps does, and are left out)",
            Invariant::AppliedAtMostOnce => "no write's id appears twice in any copy's document value: a write re-executed by the coordinating node's re-route is applied at most once",
            Invariant::NoStaleAckedRead => "no realtime GET returns a value that lacks a write acknowledged before the GET began; Elasticsearch does not promise this under failover: a primary that has not learned of its demotion still serves GETs, and with reads from any copy (TransportGetAction) a replica that rolled back to the global checkpoint serves them until the resync arrives",
            Invariant::RetryBound => "an update performs at most retry_on_conflict + 1 write attempts",
            Invariant::UpdateTerminates => "every update eventually answers: success, noop or 409 (liveness)",
            Invariant::RetrySizing => "with retry_on_conflict >= (clients - 1) * ops_per_client, no update answers 409",
            Invariant::RankIncreases => "every action strictly increases a ranking measure (each client's progress), so the model has no cycles and every path ends",
            Invariant::ByQueryStopsAtFirstConflict => "an update-by-query writes no hit after a hit that answered 409: what conflicts=abort promises with each hit its own batch (scroll_size=1; AbstractAsyncBulkByScrollAction.onBulkResponse finishes on a batch's failures); conflicts=proceed counts the conflict and goes on, so there it is expected to fail, and its counterexample is the trace of the skipped document",
            Invariant::ReachAckedWrite => "reachable: some write is acknowledged",
            Invariant::ReachConflict => "reachable: some write is answered 409",
            Invariant::ReachFailover => "reachable: the master failed the primary and promoted a copy",
            Invariant::ReachResyncApplied => "reachable: a replica applied a new primary's resync",
            Invariant::ReachReadOfEachWrite => "reachable: for every client, a read (a GET, or the final read once the run has ended) returns a value containing one of its writes",
            Invariant::ReachUpdateRetry => "reachable: an update retried after a 409",
            Invariant::ReachReroute => "reachable: the coordinating node re-routed a write whose primary failed to the new primary",
            Invariant::ReachRecovery => "reachable: a failed replica recovered from the primary and was marked in sync again",
            Invariant::ReachByQuerySkipped => "reachable: an update-by-query with conflicts=proceed skipped a document a writer changed after the view (its write answered 409, counted in version_conflicts) and went on to write a later hit",
            Invariant::ReachByQueryAborted => "reachable: an update-by-query with conflicts=abort answered at a document a writer changed after the view (409 in failures) with hits left unwritten",
        }
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Is `state` a discovery of `property`: a counterexample of an `always`, an example of a
/// `sometimes`? An `eventually` is never judged on one state.
pub(crate) fn discovered_at<M: Model>(
    property: &stateright::Property<M>,
    model: &M,
    state: &M::State,
) -> bool {
    let holds = (property.condition)(model, state);
    match property.expectation {
        stateright::Expectation::Always => !holds,
        stateright::Expectation::Sometimes => holds,
        stateright::Expectation::Eventually => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for invariant in Invariant::ALL {
            assert_eq!(Invariant::from_name(invariant.name()), Some(invariant));
            assert_eq!(
                serde_json::to_value(invariant).unwrap(),
                serde_json::Value::String(invariant.name().into())
            );
        }
        assert_eq!(Invariant::from_name("no_such"), None);
    }
}
