//! The errors the protocol's rules produce, each with Elasticsearch's exception type and reason
//! text. Their HTTP statuses and Elasticsearch's JSON envelope are `rest`'s (`rest::status`,
//! `rest::envelope`).

use std::fmt;

use super::ids::{ChangeId, SeqNo, Term, Version};

/// Why a conditional write conflicts, with the numbers Elasticsearch puts in the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Explanation {
    /// `if_seq_no` + `if_primary_term` did not match (`current` is `None` for a missing or
    /// deleted document).
    SeqNo {
        required: ChangeId,
        current: Option<ChangeId>,
    },
    /// The unsafe `_seq_no`-only guard did not match. Elasticsearch has no such check; the text
    /// mirrors the seq-no one without the term.
    SeqNoOnly {
        required: SeqNo,
        current: Option<SeqNo>,
    },
    /// `op_type=create` (or an external write with no version) on a live document.
    AlreadyExists { current: Version },
    /// Internal version check on a missing document.
    DoesNotExist { expected: Version },
    /// Internal version check on a different version.
    Different { current: Version, expected: Version },
    /// `version_type=external`: the supplied version is not greater.
    HigherOrEqual { current: Version, expected: Version },
    /// `version_type=external_gte`: the supplied version is smaller.
    Higher { current: Version, expected: Version },
    /// An internal-versioned write on a document whose `_version` is already the largest
    /// (reachable through an external version of `i64::MAX`). Elasticsearch's
    /// `VersionType.INTERNAL.updateVersion` overflows to a negative version there; esocc refuses
    /// the write instead, with its own text.
    Exhausted { current: Version },
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Explanation::SeqNo { required, current } => {
                write!(
                    f,
                    "required seqNo [{}], primary term [{}].",
                    required.seq_no, required.primary_term
                )?;
                match current {
                    None => write!(f, " but no document was found"),
                    Some(c) => write!(
                        f,
                        " current document has seqNo [{}] and primary term [{}]",
                        c.seq_no, c.primary_term
                    ),
                }
            }
            Explanation::SeqNoOnly { required, current } => {
                write!(f, "required seqNo [{required}].")?;
                match current {
                    None => write!(f, " but no document was found"),
                    Some(c) => write!(f, " current document has seqNo [{c}]"),
                }
            }
            Explanation::AlreadyExists { current } => {
                write!(f, "document already exists (current version [{current}])")
            }
            Explanation::DoesNotExist { expected } => {
                write!(f, "document does not exist (expected version [{expected}])")
            }
            Explanation::Different { current, expected } => write!(
                f,
                "current version [{current}] is different than the one provided [{expected}]"
            ),
            Explanation::HigherOrEqual { current, expected } => write!(
                f,
                "current version [{current}] is higher or equal to the one provided [{expected}]"
            ),
            Explanation::Higher { current, expected } => write!(
                f,
                "current version [{current}] is higher than the one provided [{expected}]"
            ),
            Explanation::Exhausted { current } => write!(
                f,
                "current version [{current}] is the largest a document can have, so no internal version can follow it"
            ),
        }
    }
}

/// `version_conflict_engine_exception`: the primary found the condition false and did not write.
/// Definite for one execution only: a write the coordinating node re-routed after a failover may
/// have taken effect on the old primary and meet its own change (`protocol::coordinator`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionConflict(pub Explanation);

impl VersionConflict {
    pub const TYPE: &'static str = "version_conflict_engine_exception";

    /// `"[<id>]: version conflict, <explanation>"`, byte-identical to Elasticsearch 8.
    pub fn reason(&self, id: &str) -> String {
        format!("[{id}]: version conflict, {}", self.0)
    }
}

/// `action_request_validation_exception`: every validation message, in Elasticsearch's order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ValidationErrors(pub Vec<String>);

impl ValidationErrors {
    pub const TYPE: &'static str = "action_request_validation_exception";

    pub fn add(&mut self, message: impl Into<String>) {
        self.0.push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was added, the errors otherwise.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// `"Validation Failed: 1: first;2: second;"`.
    pub fn reason(&self) -> String {
        let mut out = String::from("Validation Failed: ");
        for (i, message) in self.0.iter().enumerate() {
            out.push_str(&format!("{}: {message};", i + 1));
        }
        out
    }
}

/// `document_missing_exception`: an update of a missing document without an upsert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DocumentMissing;

impl DocumentMissing {
    pub const TYPE: &'static str = "document_missing_exception";

    /// `"[<id>]: document missing"`.
    pub fn reason(&self, id: &str) -> String {
        format!("[{id}]: document missing")
    }
}

/// A replica (or an old primary) received an operation from a primary term older than its own.
/// Elasticsearch throws an `IllegalStateException`; the write is failed, never acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TermTooOld {
    pub operation_term: Term,
    pub current_term: Term,
}

impl TermTooOld {
    pub const TYPE: &'static str = "illegal_state_exception";

    /// `"[<index>][<shard>] operation primary term [X] is too old (current [Y])"`.
    pub fn reason(&self, shard: &str) -> String {
        format!(
            "{shard} operation primary term [{}] is too old (current [{}])",
            self.operation_term, self.current_term
        )
    }
}

/// A primary asked the master to remove a replica that rejected its write, and the master
/// answered that a newer primary exists (`NoLongerPrimaryShardException`): the old primary fails
/// itself and the write fails with `RetryOnPrimaryException`. An indefinite failure, never
/// acknowledged, and not a version conflict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PrimaryDemoted;

impl PrimaryDemoted {
    pub const TYPE: &'static str = "retry_on_primary_exception";

    /// `"primary shard [<shard>] was demoted while failing replica shard"`.
    pub fn reason(&self, shard: &str) -> String {
        format!("primary shard [{shard}] was demoted while failing replica shard")
    }
}

/// The shard has no active primary to run a write on (`UnavailableShardsException`): the
/// copy that received it failed, or was never or is no longer the primary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PrimaryInactive;

impl PrimaryInactive {
    pub const TYPE: &'static str = "unavailable_shards_exception";

    /// `"<shard> primary shard is not active"` (Elasticsearch appends the request's timeout and
    /// description after waiting for it).
    pub fn reason(&self, shard: &str) -> String {
        format!("{shard} primary shard is not active")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failover_errors_have_elasticsearch_texts() {
        assert_eq!(
            PrimaryDemoted.reason("[idx][0]"),
            "primary shard [[idx][0]] was demoted while failing replica shard"
        );
        assert_eq!(
            PrimaryInactive.reason("[idx][0]"),
            "[idx][0] primary shard is not active"
        );
    }
}
