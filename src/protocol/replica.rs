//! Planning a replicated operation on a replica: Elasticsearch's `planIndexingAsNonPrimary` /
//! `planDeletionAsNonPrimary`, and primary-term fencing (`acquireReplicaOperationPermit`).
//!
//! Replicas never check versions or conditions: the primary already decided. Per document, the
//! operation with the higher `_seq_no` wins and an older one is stale history, so operations that
//! arrive out of order converge. Operations from a primary term older than the copy's are
//! rejected, which is what fences a demoted primary.

use serde::{Deserialize, Serialize};

use super::error::TermTooOld;
use super::ids::{DocMeta, SeqNo, Term};

/// What a replica does with an operation for one document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReplicaPlan {
    /// The operation is newer than the document's last change: install it.
    Apply,
    /// The document already reflects this or a later operation: keep it as history only (its
    /// `_seq_no` still counts as processed for the local checkpoint).
    Stale,
}

/// Decide an operation with `_seq_no` `op_seq_no` against the document's last change on this copy.
pub fn plan_as_replica(current: Option<DocMeta>, op_seq_no: SeqNo) -> ReplicaPlan {
    match current {
        Some(meta) if meta.seq_no >= op_seq_no => ReplicaPlan::Stale,
        _ => ReplicaPlan::Apply,
    }
}

/// How a replica orders each document's operations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaOrder {
    /// Elasticsearch: the operation with the higher `_seq_no` wins ([`plan_as_replica`]).
    #[default]
    SeqNo,
    /// Bug: the last operation to arrive wins (replicas before sequence numbers). The model's
    /// `replica_order: arrival` and the engine's `arrival-order` knob.
    Arrival,
}

impl ReplicaOrder {
    /// Plan an operation with `_seq_no` `op_seq_no` against the document's last change.
    pub fn plan(self, current: Option<DocMeta>, op_seq_no: SeqNo) -> ReplicaPlan {
        match self {
            ReplicaOrder::SeqNo => plan_as_replica(current, op_seq_no),
            ReplicaOrder::Arrival => ReplicaPlan::Apply,
        }
    }
}

/// How an operation's primary term relates to the copy's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TermCheck {
    /// Same term: proceed.
    Current,
    /// A newer primary exists: the copy adopts the term, and first rolls its documents back to
    /// the global checkpoint (see [`crate::protocol::checkpoint::survives_rollback`]).
    Newer,
}

/// Term fencing: reject an operation from a primary term older than the copy's.
pub fn check_operation_term(
    operation_term: Term,
    copy_term: Term,
) -> Result<TermCheck, TermTooOld> {
    if operation_term < copy_term {
        Err(TermTooOld {
            operation_term,
            current_term: copy_term,
        })
    } else if operation_term > copy_term {
        Ok(TermCheck::Newer)
    } else {
        Ok(TermCheck::Current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seq_no: SeqNo) -> Option<DocMeta> {
        Some(DocMeta {
            seq_no,
            primary_term: 1,
            version: 1,
            deleted: false,
        })
    }

    #[test]
    fn higher_seq_no_wins() {
        assert_eq!(plan_as_replica(None, 0), ReplicaPlan::Apply);
        assert_eq!(plan_as_replica(at(3), 5), ReplicaPlan::Apply);
        assert_eq!(plan_as_replica(at(5), 3), ReplicaPlan::Stale);
        assert_eq!(plan_as_replica(at(5), 5), ReplicaPlan::Stale);
    }

    #[test]
    fn in_arrival_order_every_operation_is_installed() {
        assert_eq!(ReplicaOrder::SeqNo.plan(at(5), 3), ReplicaPlan::Stale);
        assert_eq!(ReplicaOrder::Arrival.plan(at(5), 3), ReplicaPlan::Apply);
        assert_eq!(ReplicaOrder::SeqNo.plan(at(3), 5), ReplicaPlan::Apply);
    }

    #[test]
    fn old_terms_are_fenced_with_elasticsearch_text() {
        let err = check_operation_term(1, 2).unwrap_err();
        assert_eq!(
            err.reason("[idx][0]"),
            "[idx][0] operation primary term [1] is too old (current [2])"
        );
        assert_eq!(check_operation_term(2, 2), Ok(TermCheck::Current));
        assert_eq!(check_operation_term(3, 2), Ok(TermCheck::Newer));
    }
}
