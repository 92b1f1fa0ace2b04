//! The errors a shard copy answers with, rendered as Elasticsearch's error bodies.

use std::sync::Arc;

use serde::{Serialize, Serializer};

use super::es_json::EsError;
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
    /// The HTTP status Elasticsearch answers with.
    pub fn status(&self) -> u16 {
        match self.kind {
            ErrorKind::Conflict { .. } => VersionConflict::STATUS,
            ErrorKind::DocumentMissing { .. } => DocumentMissing::STATUS,
            ErrorKind::TermTooOld(_) | ErrorKind::AheadOfCheckpoint { .. } => TermTooOld::STATUS,
            ErrorKind::PrimaryDemoted(_) => PrimaryDemoted::STATUS,
            ErrorKind::PrimaryInactive => PrimaryInactive::STATUS,
            ErrorKind::Script { .. } => 400,
        }
    }

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

    /// The exception as Elasticsearch renders it (type, reason, shard metadata).
    pub fn to_es_error(&self) -> EsError {
        let s = &self.shard;
        let on_shard = |error_type, reason| {
            EsError::new(error_type, reason).with_shard(&s.index, &s.index_uuid, s.shard)
        };
        match &self.kind {
            ErrorKind::Conflict { id, conflict } => {
                on_shard(VersionConflict::TYPE, conflict.reason(id))
            }
            ErrorKind::DocumentMissing { id } => {
                on_shard(DocumentMissing::TYPE, DocumentMissing.reason(id))
            }
            ErrorKind::TermTooOld(too_old) => {
                EsError::new(TermTooOld::TYPE, too_old.reason(&s.display()))
            }
            ErrorKind::AheadOfCheckpoint { seq_no, checkpoint } => EsError::new(
                TermTooOld::TYPE,
                format!(
                    "{} operation seq_no [{seq_no}] is too far above the local checkpoint [{checkpoint}]",
                    s.display()
                ),
            ),
            ErrorKind::PrimaryDemoted(too_old) => {
                on_shard(PrimaryDemoted::TYPE, PrimaryDemoted.reason(&s.display())).caused_by(
                    EsError::new(TermTooOld::TYPE, too_old.reason(&s.display())),
                )
            }
            ErrorKind::PrimaryInactive => {
                EsError::new(PrimaryInactive::TYPE, PrimaryInactive.reason(&s.display()))
            }
            ErrorKind::Script { source, error } => {
                EsError::new("illegal_argument_exception", "failed to execute script")
                    .caused_by(script_exception(source, error))
            }
        }
    }

    /// The whole response body: `{"error":{..},"status":N}`.
    pub fn body(&self) -> serde_json::Value {
        self.to_es_error().body(self.status())
    }
}

/// `ScriptException.toXContent`: `script_stack`, `script`, `lang`, `position`, then the Java
/// exception that caused it.
pub fn script_exception(source: &str, error: &crate::script::ScriptError) -> EsError {
    let position = error.position(source);
    EsError::new("script_exception", error.reason())
        .with_detail("script_stack", serde_json::json!(error.stack(source)))
        .with_detail("script", source.into())
        .with_detail("lang", crate::script::PAINLESS.into())
        .with_detail(
            "position",
            serde_json::json!({
                "offset": position.offset,
                "start": position.start,
                "end": position.end
            }),
        )
        .caused_by(EsError::new(error.cause_type, error.cause_reason.clone()))
}

impl Serialize for EngineError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.body().serialize(s)
    }
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let error = self.to_es_error();
        write!(f, "{}: {}", error.error_type, error.reason)
    }
}

impl std::error::Error for EngineError {}
