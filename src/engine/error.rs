//! The errors a shard copy answers with: what went wrong, with Elasticsearch's exception type and
//! reason text. Their HTTP statuses and error envelopes are `rest`'s (`rest::exception`).

use std::sync::Arc;

use super::shard::ShardId;
use crate::protocol::coordinator::PrimaryFailure;
use crate::protocol::{
    DocumentMissing, PrimaryDemoted, PrimaryInactive, SeqNo, TermTooOld, VersionConflict,
};

/// What went wrong, independent of where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// 409 `version_conflict_engine_exception`: a definite failure, nothing was written.
    Conflict {
        id: String,
        conflict: VersionConflict,
    },
    /// 404 `document_missing_exception`: an update of a missing document without an upsert.
    DocumentMissing { id: String },
    /// An operation from an older primary term (500 `illegal_state_exception`).
    TermTooOld(TermTooOld),
    /// A replicated operation too far above the local checkpoint for the tracker's window
    /// (500 `illegal_state_exception`); the sender must retry after the gap below it fills.
    AheadOfCheckpoint { seq_no: SeqNo, checkpoint: SeqNo },
    /// A replica rejected the write's primary term and the master confirmed a newer primary
    /// (500 `retry_on_primary_exception`, caused by the replica's `illegal_state_exception`).
    /// Indefinite: the write may survive on copies that applied it, but it is never acknowledged.
    PrimaryDemoted(TermTooOld),
    /// No active primary ran the write to the end (503 `unavailable_shards_exception`): the copy
    /// is not the primary, or it failed while the write was in flight (then indefinite).
    PrimaryInactive,
    /// An update script failed to compile or to run (400 `illegal_argument_exception` "failed
    /// to execute script", caused by the `script_exception`; `UpdateHelper.executeScript`).
    Script {
        source: String,
        error: crate::script::ScriptError,
    },
}

/// An error of one shard copy: what went wrong and on which shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineError {
    pub kind: ErrorKind,
    pub shard: Arc<ShardId>,
}

impl EngineError {
    /// How the coordinating node classifies this failure of a primary's attempt
    /// ([`crate::protocol::coordinator::reroute`] decides what it does with it).
    pub fn primary_failure(&self) -> PrimaryFailure {
        match self.kind {
            ErrorKind::PrimaryInactive => PrimaryFailure::Unavailable,
            ErrorKind::PrimaryDemoted(_) => PrimaryFailure::Demoted,
            ErrorKind::Conflict { .. }
            | ErrorKind::DocumentMissing { .. }
            | ErrorKind::TermTooOld(_)
            | ErrorKind::Script { .. }
            | ErrorKind::AheadOfCheckpoint { .. } => PrimaryFailure::Decided,
        }
    }

    /// The version conflict, if this is one.
    pub fn conflict(&self) -> Option<&VersionConflict> {
        match &self.kind {
            ErrorKind::Conflict { conflict, .. } => Some(conflict),
            _ => None,
        }
    }

    /// Elasticsearch's exception type (the snake_case name of its exception class).
    pub fn error_type(&self) -> &'static str {
        match self.kind {
            ErrorKind::Conflict { .. } => VersionConflict::TYPE,
            ErrorKind::DocumentMissing { .. } => DocumentMissing::TYPE,
            ErrorKind::TermTooOld(_) | ErrorKind::AheadOfCheckpoint { .. } => TermTooOld::TYPE,
            ErrorKind::PrimaryDemoted(_) => PrimaryDemoted::TYPE,
            ErrorKind::PrimaryInactive => PrimaryInactive::TYPE,
            ErrorKind::Script { .. } => SCRIPT_FAILED_TYPE,
        }
    }

    /// Elasticsearch's reason text for this exception on this shard.
    pub fn reason(&self) -> String {
        let shard = self.shard.display();
        match &self.kind {
            ErrorKind::Conflict { id, conflict } => conflict.reason(id),
            ErrorKind::DocumentMissing { id } => DocumentMissing.reason(id),
            ErrorKind::TermTooOld(too_old) => too_old.reason(&shard),
            ErrorKind::AheadOfCheckpoint { seq_no, checkpoint } => format!(
                "{shard} operation seq_no [{seq_no}] is too far above the local checkpoint [{checkpoint}]"
            ),
            ErrorKind::PrimaryDemoted(_) => PrimaryDemoted.reason(&shard),
            ErrorKind::PrimaryInactive => PrimaryInactive.reason(&shard),
            ErrorKind::Script { .. } => SCRIPT_FAILED_REASON.to_owned(),
        }
    }
}

/// `UpdateHelper.executeScript` wraps a script's failure in an `IllegalArgumentException`.
const SCRIPT_FAILED_TYPE: &str = "illegal_argument_exception";
const SCRIPT_FAILED_REASON: &str = "failed to execute script";

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error_type(), self.reason())
    }
}

impl std::error::Error for EngineError {}
