//! The coordinating node's rule for a write whose primary failed: re-route it to the current
//! primary, or answer the client.
//!
//! Elasticsearch: `TransportReplicationAction.ReroutePhase.performAction` retries a primary
//! action that failed with `retryPrimaryException` (`ReplicationOperation.RetryOnPrimaryException`,
//! what a primary demoted mid-write answers; `TransportActions.isShardNotAvailableException`,
//! what a copy that is no longer an active primary answers; retryable cluster blocks) or with
//! `ConnectTransportException` / `NodeClosedException` (the primary's node went away).
//! `ReroutePhase.retry` waits for the next cluster state (`ClusterStateObserver.waitForNextChange`)
//! and runs the reroute again with the *same request*: same document, same condition. It gives up
//! once the request's `timeout` has passed (`ReplicationRequest.DEFAULT_TIMEOUT`, 1m;
//! `observer.isTimedOut()` ends it with the last failure). Any other failure (a version conflict,
//! a missing document) is the primary's decision and goes to the client as it is.
//!
//! So a conditional write that took effect on the old primary and reached the promoted copy is
//! executed again there and meets its own change: the client gets a version conflict for a
//! write that happened (`ConcurrentSeqNoVersioningIT`: a version conflict "might or might not have taken
//! place"). Elasticsearch bounds the retries by time only; esocc bounds them by count too
//! ([`MAX_REROUTES`]), so a request never re-routes without end whatever the clock does.
//!
//! An update is re-routed as the `_update` API does it when the primary's shard fails or is
//! fenced (`TransportUpdateAction`): the primary translated it (`UpdateHelper.prepare`) into an
//! index request conditional on the change it read, and that translated request is what the
//! one-item bulk's reroute re-sends. If it conflicts on the new primary (the first execution got
//! there), `handleUpdateFailureWithRetry` re-prepares the update on the old node, where the shard
//! is gone: a shard-not-available failure, so with `retry_on_conflict >= 1` the coordinating
//! node re-sends the *whole* update to the new primary, which re-reads the document (the first
//! application is in it) and applies the update again; with `retry_on_conflict = 0` the client
//! gets the version conflict of an update that was applied ([`translated_conflict`]).
//!
//! An update item of `_bulk` is re-routed inside its `BulkShardRequest`
//! (`TransportShardBulkAction`), and what the reroute re-sends depends on where the coordinating
//! node holds that request. The primary that executed the item replaced it by its translation
//! (`BulkPrimaryExecutionContext.markAsCompleted`: the index request conditional on the change it
//! read) in the request object it executed. A coordinating node on the primary's own node shares
//! that object (a local transport request is not serialized), so its reroute re-sends the
//! translation, an index request: a conflict there is not an update's conflict any more
//! (`onComplete` retries only an `UpdateRequest`), and the client gets the conflict whatever
//! `retry_on_conflict` says, under the item's `index` action. A coordinating node elsewhere still
//! holds the untouched update, so its reroute re-sends the update, which the new primary
//! translates afresh (`UpdateHelper.prepare`) with `retry_on_conflict` in force
//! ([`resends_translation`]).

use std::time::Duration;

use super::update::may_retry;

/// How a primary's attempt at a write failed, as the coordinating node classifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrimaryFailure {
    /// The copy the write reached is not, or is no longer, an active primary (it failed, or it
    /// was never the primary): `isShardNotAvailableException`, `NodeClosedException`.
    Unavailable,
    /// A replica's term check told the primary a newer one exists and the master confirmed it
    /// (`RetryOnPrimaryException`, `retry_on_primary_exception`).
    Demoted,
    /// The primary decided (a version conflict, a missing document): final.
    Decided,
}

/// `ReplicationRequest.DEFAULT_TIMEOUT`: how long a write may wait for a primary.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// At most this many re-routes per request (Elasticsearch has no count bound, only the timeout).
/// Every re-route follows a change of primary, so a group of `n` copies needs at most `n - 1`.
pub const MAX_REROUTES: u32 = 4;

/// Is a write whose attempt failed with `failure` re-routed to the current primary, after
/// `reroutes` re-routes and `elapsed` since the coordinating node first routed it?
pub fn reroute(
    failure: PrimaryFailure,
    reroutes: u32,
    elapsed: Duration,
    timeout: Duration,
) -> bool {
    failure != PrimaryFailure::Decided && reroutes < MAX_REROUTES && elapsed < timeout
}

/// The API an update came through: it decides what a re-route of its translation means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum UpdateApi {
    /// `POST /{index}/_update/{id}` (`TransportUpdateAction`, which runs on the primary's node).
    #[default]
    Update,
    /// An update item of `_bulk` (`TransportShardBulkAction`), coordinated by the node of copy
    /// `coordinating_node` (copy `k` lives on node `k`).
    Bulk { coordinating_node: usize },
}

/// An update was translated by the primary on node `translated_on`, and its attempt failed with
/// the primary: does the re-route re-send the translation (otherwise the update itself)? The
/// `_update` API always re-sends it; a `_bulk` item only when its coordinating node is the
/// translating primary's node, the one that shares the request the primary rewrote.
pub fn resends_translation(api: UpdateApi, translated_on: usize) -> bool {
    match api {
        UpdateApi::Update => true,
        UpdateApi::Bulk { coordinating_node } => coordinating_node == translated_on,
    }
}

/// A re-routed update's translated write conflicted on the new primary: how the coordinating
/// node sees it, for an update of the `_update` API. With `retry_on_conflict >= 1` the update's
/// own retry re-prepares it on the old primary's node, whose shard is gone
/// ([`PrimaryFailure::Unavailable`]: the whole update is re-routed); with `0` the conflict is
/// final.
pub fn translated_conflict(retry_on_conflict: u32) -> PrimaryFailure {
    translated_conflict_in(UpdateApi::Update, retry_on_conflict)
}

/// [`translated_conflict`] for an update sent through `api`: a `_bulk` item's re-sent
/// translation had replaced the item, an index request, so its conflict is final.
pub fn translated_conflict_in(api: UpdateApi, retry_on_conflict: u32) -> PrimaryFailure {
    match api {
        UpdateApi::Update if may_retry(1, retry_on_conflict) => PrimaryFailure::Unavailable,
        UpdateApi::Update | UpdateApi::Bulk { .. } => PrimaryFailure::Decided,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Duration = Duration::ZERO;

    #[test]
    fn a_failed_or_demoted_primary_is_rerouted() {
        assert!(reroute(
            PrimaryFailure::Unavailable,
            0,
            NOW,
            DEFAULT_TIMEOUT
        ));
        assert!(reroute(PrimaryFailure::Demoted, 0, NOW, DEFAULT_TIMEOUT));
    }

    #[test]
    fn the_primarys_decision_is_final() {
        assert!(!reroute(PrimaryFailure::Decided, 0, NOW, DEFAULT_TIMEOUT));
    }

    #[test]
    fn a_translated_update_that_conflicts_is_rerun_only_with_retry_on_conflict() {
        assert_eq!(translated_conflict(0), PrimaryFailure::Decided);
        assert_eq!(translated_conflict(1), PrimaryFailure::Unavailable);
        assert_eq!(translated_conflict(3), PrimaryFailure::Unavailable);
    }

    #[test]
    fn a_bulk_items_translation_is_resent_only_by_the_translating_node_and_its_conflict_is_final() {
        let bulk = UpdateApi::Bulk {
            coordinating_node: 0,
        };
        assert!(resends_translation(UpdateApi::Update, 1));
        assert!(resends_translation(bulk, 0));
        assert!(!resends_translation(bulk, 1));
        for retry_on_conflict in [0, 1, 3] {
            assert_eq!(
                translated_conflict_in(bulk, retry_on_conflict),
                PrimaryFailure::Decided
            );
        }
    }

    #[test]
    fn rerouting_is_bounded_by_count_and_by_the_timeout() {
        assert!(reroute(
            PrimaryFailure::Demoted,
            MAX_REROUTES - 1,
            NOW,
            DEFAULT_TIMEOUT
        ));
        assert!(!reroute(
            PrimaryFailure::Demoted,
            MAX_REROUTES,
            NOW,
            DEFAULT_TIMEOUT
        ));
        let just_before = DEFAULT_TIMEOUT - Duration::from_millis(1);
        assert!(reroute(
            PrimaryFailure::Unavailable,
            0,
            just_before,
            DEFAULT_TIMEOUT
        ));
        assert!(!reroute(
            PrimaryFailure::Unavailable,
            0,
            DEFAULT_TIMEOUT,
            DEFAULT_TIMEOUT
        ));
        assert!(!reroute(
            PrimaryFailure::Unavailable,
            0,
            NOW,
            Duration::ZERO
        ));
    }
}
