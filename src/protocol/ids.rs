//! Identity of a change to a document: `_seq_no`, `_primary_term` and `_version`, with
//! Elasticsearch's sentinel values (`SequenceNumbers.java`, `Versions.java`).

use serde::{Deserialize, Serialize};

/// A shard-wide sequence number, assigned by the primary. The first operation gets 0.
pub type SeqNo = i64;
/// A primary term: 1 for the first primary, bumped by the master at every promotion.
pub type Term = u64;
/// A document's `_version`: a per-document counter (internal) or a client-supplied number (external).
pub type Version = i64;

/// `SequenceNumbers.UNASSIGNED_SEQ_NO`: no sequence number was given or assigned.
pub const UNASSIGNED_SEQ_NO: SeqNo = -2;
/// `SequenceNumbers.NO_OPS_PERFORMED`: the checkpoint of a shard that processed nothing yet.
pub const NO_OPS_PERFORMED: SeqNo = -1;
/// The term of the first primary of a new shard.
pub const FIRST_PRIMARY_TERM: Term = 1;

/// `Versions.MATCH_ANY`: no version check.
pub const MATCH_ANY: Version = -3;
/// `Versions.NOT_FOUND`: the document has no version (never written, or its tombstone is gone).
pub const NOT_FOUND: Version = -1;
/// `Versions.MATCH_DELETED`: the internal expectation of `op_type=create`: the document must not exist.
pub const MATCH_DELETED: Version = -4;

/// `(_seq_no, _primary_term)`: the pair that uniquely identifies a change to a shard.
///
/// Terms strictly increase across primaries and a primary never reuses a `_seq_no`, so two
/// different changes never share a `ChangeId`. `_seq_no` alone and `_version` do not have this
/// property after a failover (Elasticsearch issue #19269).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
pub struct ChangeId {
    pub seq_no: SeqNo,
    pub primary_term: Term,
}

impl ChangeId {
    pub const fn new(seq_no: SeqNo, primary_term: Term) -> Self {
        ChangeId {
            seq_no,
            primary_term,
        }
    }
}

/// What a shard copy knows of a document's last change: its identity, its `_version`, and
/// whether that change was a delete (a tombstone).
///
/// A document that was never written, or whose tombstone was garbage-collected, has no `DocMeta`
/// at all (`Option::None` wherever one is expected).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DocMeta {
    pub seq_no: SeqNo,
    pub primary_term: Term,
    pub version: Version,
    pub deleted: bool,
}

impl DocMeta {
    /// The change that produced this state.
    pub fn change_id(&self) -> ChangeId {
        ChangeId::new(self.seq_no, self.primary_term)
    }

    /// The metadata of a live document: `None` for a missing document and for a tombstone.
    pub fn live(meta: Option<DocMeta>) -> Option<DocMeta> {
        meta.filter(|m| !m.deleted)
    }
}
