//! Planning a write on the primary: Elasticsearch's `InternalEngine.planIndexingAsPrimary` and
//! `planDeletionAsPrimary`.
//!
//! The primary checks the request's condition against the document's last change and either
//! rejects it with a [`VersionConflict`] (consuming no `_seq_no`) or decides the new `_version`
//! and the result. The caller then assigns the next `_seq_no` and installs the new state.

use serde::{Deserialize, Serialize};

use super::condition::Condition;
use super::error::{Explanation, VersionConflict};
use super::ids::{DocMeta, SeqNo, Term, Version, NOT_FOUND};

/// What the write does to the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WriteKind {
    /// Index (create or replace) a source.
    Index,
    /// Delete: leaves a tombstone.
    Delete,
}

/// `DocWriteResponse.Result`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WriteResult {
    Created,
    Updated,
    Deleted,
    NotFound,
    Noop,
}

impl WriteResult {
    /// The lowercase name in responses.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteResult::Created => "created",
            WriteResult::Updated => "updated",
            WriteResult::Deleted => "deleted",
            WriteResult::NotFound => "not_found",
            WriteResult::Noop => "noop",
        }
    }
}

/// The primary's decision for a write that does not conflict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WritePlan {
    /// The `_version` the document gets.
    pub version: Version,
    /// What the response reports.
    pub result: WriteResult,
    /// Whether the new state is a tombstone.
    pub deleted: bool,
}

impl WritePlan {
    /// The document's metadata once the write is applied with the `_seq_no` the primary assigned.
    pub fn applied(&self, seq_no: SeqNo, primary_term: Term) -> DocMeta {
        DocMeta {
            seq_no,
            primary_term,
            version: self.version,
            deleted: self.deleted,
        }
    }
}

/// Decide a write on the primary, given the document's last change as the primary knows it
/// (`None`: never written, or its tombstone is gone).
///
/// The order of checks is Elasticsearch's: the `if_seq_no` checks first (a deleted document never
/// matches, issue #50526), then the version type's check. A conflict consumes no `_seq_no`.
pub fn plan_as_primary(
    current: Option<DocMeta>,
    kind: WriteKind,
    condition: &Condition,
) -> Result<WritePlan, VersionConflict> {
    let not_found_or_deleted = current.is_none_or(|m| m.deleted);
    let current_version = current.map_or(NOT_FOUND, |m| m.version);
    let live = DocMeta::live(current);

    match *condition {
        Condition::IfSeqNo(required) if live.map(|m| m.change_id()) != Some(required) => {
            return Err(VersionConflict(Explanation::SeqNo {
                required,
                current: live.map(|m| m.change_id()),
            }));
        }
        Condition::IfSeqNoOnly(required) if live.map(|m| m.seq_no) != Some(required) => {
            return Err(VersionConflict(Explanation::SeqNoOnly {
                required,
                current: live.map(|m| m.seq_no),
            }));
        }
        _ => {}
    }

    let (expected, version_type) = condition.version_check();
    if let Some(explanation) =
        version_type.conflict_for_writes(current_version, expected, not_found_or_deleted)
    {
        return Err(VersionConflict(explanation));
    }

    let version = version_type
        .next_version(current_version, expected)
        .ok_or(VersionConflict(Explanation::Exhausted {
            current: current_version,
        }))?;
    let (result, deleted) = match (kind, not_found_or_deleted) {
        (WriteKind::Index, true) => (WriteResult::Created, false),
        (WriteKind::Index, false) => (WriteResult::Updated, false),
        (WriteKind::Delete, true) => (WriteResult::NotFound, true),
        (WriteKind::Delete, false) => (WriteResult::Deleted, true),
    };
    Ok(WritePlan {
        version,
        result,
        deleted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::condition::VersionType;
    use crate::protocol::ids::{ChangeId, MATCH_ANY};

    fn live(seq_no: SeqNo, primary_term: Term, version: Version) -> Option<DocMeta> {
        Some(DocMeta {
            seq_no,
            primary_term,
            version,
            deleted: false,
        })
    }

    fn tombstone(seq_no: SeqNo, version: Version) -> Option<DocMeta> {
        Some(DocMeta {
            seq_no,
            primary_term: 1,
            version,
            deleted: true,
        })
    }

    fn reason(r: Result<WritePlan, VersionConflict>) -> String {
        r.unwrap_err().reason("1")
    }

    #[test]
    fn an_internal_write_after_the_largest_external_version_is_refused_not_wrapped() {
        let at_max = live(4, 1, Version::MAX);
        assert_eq!(
            reason(plan_as_primary(at_max, WriteKind::Index, &Condition::None)),
            "[1]: version conflict, current version [9223372036854775807] is the largest a document can have, so no internal version can follow it"
        );
        let external_gte = Condition::Version {
            version: Version::MAX,
            version_type: VersionType::ExternalGte,
        };
        let plan = plan_as_primary(at_max, WriteKind::Index, &external_gte).unwrap();
        assert_eq!(plan.version, Version::MAX);
    }

    #[test]
    fn first_index_creates_version_one() {
        let plan = plan_as_primary(None, WriteKind::Index, &Condition::None).unwrap();
        assert_eq!((plan.version, plan.result), (1, WriteResult::Created));
    }

    #[test]
    fn overwrite_increments_version() {
        let plan = plan_as_primary(live(4, 1, 3), WriteKind::Index, &Condition::None).unwrap();
        assert_eq!((plan.version, plan.result), (4, WriteResult::Updated));
    }

    #[test]
    fn stale_if_seq_no_conflicts_with_exact_reason() {
        let cond = Condition::IfSeqNo(ChangeId::new(6, 1));
        assert_eq!(
            reason(plan_as_primary(live(8, 1, 3), WriteKind::Index, &cond)),
            "[1]: version conflict, required seqNo [6], primary term [1]. current document has seqNo [8] and primary term [1]"
        );
    }

    #[test]
    fn if_seq_no_on_missing_or_deleted_document_finds_no_document() {
        let cond = Condition::IfSeqNo(ChangeId::new(6, 1));
        let expected = "[1]: version conflict, required seqNo [6], primary term [1]. but no document was found";
        assert_eq!(
            reason(plan_as_primary(None, WriteKind::Index, &cond)),
            expected
        );
        // A tombstone with the very same seq_no still does not match (issue #50526).
        assert_eq!(
            reason(plan_as_primary(tombstone(6, 2), WriteKind::Delete, &cond)),
            expected
        );
    }

    #[test]
    fn matching_if_seq_no_applies() {
        let cond = Condition::IfSeqNo(ChangeId::new(8, 2));
        let plan = plan_as_primary(live(8, 2, 5), WriteKind::Index, &cond).unwrap();
        assert_eq!((plan.version, plan.result), (6, WriteResult::Updated));
        let wrong_term = Condition::IfSeqNo(ChangeId::new(8, 1));
        assert!(plan_as_primary(live(8, 2, 5), WriteKind::Index, &wrong_term).is_err());
    }

    #[test]
    fn seq_no_only_ignores_the_term() {
        let cond = Condition::IfSeqNoOnly(8);
        assert!(plan_as_primary(live(8, 2, 5), WriteKind::Index, &cond).is_ok());
        assert_eq!(
            reason(plan_as_primary(live(9, 2, 5), WriteKind::Index, &cond)),
            "[1]: version conflict, required seqNo [8]. current document has seqNo [9]"
        );
    }

    #[test]
    fn create_conflicts_on_live_document_and_succeeds_over_tombstone() {
        assert_eq!(
            reason(plan_as_primary(
                live(0, 1, 1),
                WriteKind::Index,
                &Condition::Create
            )),
            "[1]: version conflict, document already exists (current version [1])"
        );
        let plan = plan_as_primary(tombstone(3, 2), WriteKind::Index, &Condition::Create).unwrap();
        assert_eq!((plan.version, plan.result), (3, WriteResult::Created));
    }

    #[test]
    fn delete_of_missing_document_is_not_found_with_version_one() {
        let plan = plan_as_primary(None, WriteKind::Delete, &Condition::None).unwrap();
        assert_eq!(
            (plan.version, plan.result, plan.deleted),
            (1, WriteResult::NotFound, true)
        );
        let again = plan_as_primary(tombstone(1, 1), WriteKind::Delete, &Condition::None).unwrap();
        assert_eq!((again.version, again.result), (2, WriteResult::NotFound));
    }

    #[test]
    fn delete_of_live_document_bumps_version() {
        let plan = plan_as_primary(live(1, 1, 2), WriteKind::Delete, &Condition::None).unwrap();
        assert_eq!((plan.version, plan.result), (3, WriteResult::Deleted));
    }

    #[test]
    fn external_versions() {
        let external = |version| Condition::Version {
            version,
            version_type: VersionType::External,
        };
        let gte = |version| Condition::Version {
            version,
            version_type: VersionType::ExternalGte,
        };
        assert_eq!(
            reason(plan_as_primary(live(0, 1, 45), WriteKind::Index, &external(43))),
            "[1]: version conflict, current version [45] is higher or equal to the one provided [43]"
        );
        assert!(plan_as_primary(live(0, 1, 45), WriteKind::Index, &external(45)).is_err());
        assert_eq!(
            reason(plan_as_primary(live(0, 1, 45), WriteKind::Index, &gte(43))),
            "[1]: version conflict, current version [45] is higher than the one provided [43]"
        );
        let plan = plan_as_primary(live(0, 1, 45), WriteKind::Index, &gte(45)).unwrap();
        assert_eq!(plan.version, 45);
        let plan = plan_as_primary(None, WriteKind::Index, &external(7)).unwrap();
        assert_eq!((plan.version, plan.result), (7, WriteResult::Created));
        // A tombstone keeps its version: an older external version still conflicts (#36992).
        assert!(plan_as_primary(tombstone(2, 9), WriteKind::Index, &external(8)).is_err());
    }

    #[test]
    fn internal_version_checks_of_the_legacy_guard() {
        let internal = |version| Condition::Version {
            version,
            version_type: VersionType::Internal,
        };
        assert!(plan_as_primary(live(0, 1, 2), WriteKind::Index, &internal(2)).is_ok());
        assert_eq!(
            reason(plan_as_primary(
                live(0, 1, 3),
                WriteKind::Index,
                &internal(2)
            )),
            "[1]: version conflict, current version [3] is different than the one provided [2]"
        );
        assert_eq!(
            reason(plan_as_primary(None, WriteKind::Index, &internal(2))),
            "[1]: version conflict, document does not exist (expected version [2])"
        );
        assert!(plan_as_primary(live(0, 1, 3), WriteKind::Index, &internal(MATCH_ANY)).is_ok());
    }
}
