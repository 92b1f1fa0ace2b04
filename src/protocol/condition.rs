//! The conditions a write carries (`if_seq_no` + `if_primary_term`, `version` + `version_type`,
//! `op_type=create`), and the guards a client builds from what it read.

use serde::{Deserialize, Serialize};

use super::error::Explanation;
use super::ids::{ChangeId, DocMeta, SeqNo, Version, MATCH_ANY, MATCH_DELETED, NOT_FOUND};

/// `VersionType`: how a supplied `version` is compared with the document's current one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionType {
    /// The document's own counter. Since 7.0 only the sentinels may be supplied with it.
    Internal,
    /// `external` (alias `external_gt`): the supplied version must be greater than the current one.
    External,
    /// `external_gte`: the supplied version must be greater than or equal to the current one.
    ExternalGte,
}

impl VersionType {
    /// `VersionType.fromString`, with its exception text.
    pub fn parse(s: &str) -> Result<VersionType, String> {
        match s {
            "internal" => Ok(VersionType::Internal),
            "external" | "external_gt" => Ok(VersionType::External),
            "external_gte" => Ok(VersionType::ExternalGte),
            other => Err(format!("No version type match [{other}]")),
        }
    }

    /// The Java enum's `name()`, used in validation texts.
    pub fn java_name(self) -> &'static str {
        match self {
            VersionType::Internal => "INTERNAL",
            VersionType::External => "EXTERNAL",
            VersionType::ExternalGte => "EXTERNAL_GTE",
        }
    }

    /// `validateVersionForWrites`: is `version` a value this type accepts on a write?
    pub fn valid_for_writes(self, version: Version) -> bool {
        match self {
            VersionType::Internal => {
                version > 0 || version == MATCH_ANY || version == MATCH_DELETED
            }
            VersionType::External | VersionType::ExternalGte => version >= 0,
        }
    }

    /// `validateVersionForReads`: is `version` a value this type accepts on a get?
    /// (`NOT_FOUND` and `MATCH_DELETED` are no input values for a read.)
    pub fn valid_for_reads(self, version: Version) -> bool {
        match self {
            VersionType::Internal => version > 0 || version == MATCH_ANY,
            VersionType::External | VersionType::ExternalGte => {
                version >= 0 || version == MATCH_ANY
            }
        }
    }

    /// `isVersionConflictForReads` for a found document (a get of a missing or deleted document
    /// answers not found, never a conflict: `InternalEngine.get`). Every type asks for the same
    /// version exactly.
    pub fn conflict_for_reads(self, current: Version, expected: Version) -> Option<Explanation> {
        (expected != MATCH_ANY && current != expected)
            .then_some(Explanation::Different { current, expected })
    }

    /// `isVersionConflictForWrites`: why the write conflicts, or `None` when it does not.
    pub fn conflict_for_writes(
        self,
        current: Version,
        expected: Version,
        deleted: bool,
    ) -> Option<Explanation> {
        match self {
            VersionType::Internal => {
                if expected == MATCH_ANY || (expected == MATCH_DELETED && deleted) {
                    None
                } else if expected == MATCH_DELETED {
                    Some(Explanation::AlreadyExists { current })
                } else if current == expected {
                    None
                } else if current == NOT_FOUND {
                    Some(Explanation::DoesNotExist { expected })
                } else {
                    Some(Explanation::Different { current, expected })
                }
            }
            VersionType::External | VersionType::ExternalGte => {
                if current == NOT_FOUND {
                    None
                } else if expected == MATCH_ANY {
                    Some(Explanation::AlreadyExists { current })
                } else if self == VersionType::External && current >= expected {
                    Some(Explanation::HigherOrEqual { current, expected })
                } else if self == VersionType::ExternalGte && current > expected {
                    Some(Explanation::Higher { current, expected })
                } else {
                    None
                }
            }
        }
    }

    /// `updateVersion`: the `_version` a successful write gives the document; `None` when an
    /// internal version would overflow (Elasticsearch wraps to a negative version there).
    pub fn next_version(self, current: Version, expected: Version) -> Option<Version> {
        match self {
            VersionType::Internal if current == NOT_FOUND => Some(1),
            VersionType::Internal => current.checked_add(1),
            VersionType::External | VersionType::ExternalGte => Some(expected),
        }
    }
}

/// `op_type` of an index request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpType {
    /// Create or replace.
    #[default]
    Index,
    /// Create only: fails with a conflict when a live document exists.
    Create,
}

impl OpType {
    /// `OpType.fromString` as used by the REST layer.
    pub fn parse(s: &str) -> Result<OpType, String> {
        match s {
            "index" => Ok(OpType::Index),
            "create" => Ok(OpType::Create),
            other => Err(format!(
                "opType must be 'create' or 'index', found: [{other}]"
            )),
        }
    }
}

/// The condition the primary checks before it applies a write.
///
/// The first four are what Elasticsearch 8 accepts. The last two are the unsafe guards the
/// models and tests use to show why they were abandoned: `_seq_no` without the term, and an
/// explicit internal `_version` (rejected by validation since 7.0, issue #38254).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Condition {
    /// No check: last writer wins.
    None,
    /// `op_type=create`: the document must not exist (internal `MATCH_DELETED`).
    Create,
    /// `if_seq_no` + `if_primary_term`: the document's last change must be exactly this one.
    IfSeqNo(ChangeId),
    /// `version` + `version_type`.
    Version {
        version: Version,
        version_type: VersionType,
    },
    /// Unsafe: `if_seq_no` without the primary term. Not expressible over REST.
    IfSeqNoOnly(SeqNo),
}

impl Condition {
    /// The version and version type the primary's planner compares, as Elasticsearch resolves
    /// them for this condition.
    pub fn version_check(&self) -> (Version, VersionType) {
        match *self {
            Condition::Create => (MATCH_DELETED, VersionType::Internal),
            Condition::Version {
                version,
                version_type,
            } => (version, version_type),
            Condition::None | Condition::IfSeqNo(_) | Condition::IfSeqNoOnly(_) => {
                (MATCH_ANY, VersionType::Internal)
            }
        }
    }
}

/// How a client guards a read-modify-write: which condition it attaches to the write it bases on
/// a read. The models compare these; only [`Guard::SeqNoAndTerm`] is safe across failovers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Guard {
    /// No condition: the write overwrites whatever is there.
    Blind,
    /// `_seq_no` alone.
    SeqNo,
    /// `if_seq_no` + `if_primary_term`.
    SeqNoAndTerm,
    /// `version = read _version + 1`, `version_type=external`.
    ExternalVersion,
    /// `version = read _version`, internal versioning (Elasticsearch before 7.0).
    InternalVersion,
}

impl Guard {
    /// Every guard, for listings and help texts.
    pub const ALL: [Guard; 5] = [
        Guard::Blind,
        Guard::SeqNo,
        Guard::SeqNoAndTerm,
        Guard::ExternalVersion,
        Guard::InternalVersion,
    ];

    /// The condition for a write based on a read that returned `read` (`None`: not found).
    /// A read of a missing document leads to a create, except for blind and external writes.
    pub fn condition(self, read: Option<DocMeta>) -> Condition {
        let read = DocMeta::live(read);
        match (self, read) {
            (Guard::Blind, _) => Condition::None,
            (Guard::ExternalVersion, read) => Condition::Version {
                version: read.map_or(1, |m| m.version + 1),
                version_type: VersionType::External,
            },
            (_, None) => Condition::Create,
            (Guard::SeqNo, Some(m)) => Condition::IfSeqNoOnly(m.seq_no),
            (Guard::SeqNoAndTerm, Some(m)) => Condition::IfSeqNo(m.change_id()),
            (Guard::InternalVersion, Some(m)) => Condition::Version {
                version: m.version,
                version_type: VersionType::Internal,
            },
        }
    }
}
