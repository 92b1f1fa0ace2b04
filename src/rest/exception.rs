//! The engine's errors as Elasticsearch renders them: the exception's type and reason (the
//! engine's and the protocol's texts), the metadata its class sets and the exceptions it wraps.
//!
//! | error | metadata | `caused_by` |
//! | --- | --- | --- |
//! | version conflict, document missing | the shard (`EngineException(ShardId, ..)`) | |
//! | term too old, ahead of the checkpoint | | |
//! | primary demoted | the shard (`RetryOnPrimaryException(ShardId, ..)`) | the replica's `illegal_state_exception` |
//! | primary inactive | | |
//! | script | | the `script_exception` (`ScriptException.toXContent`), caused by its Java exception |

use serde_json::json;

use super::envelope::EsError;
use super::error::RestError;
use super::status::Status;
use crate::engine::{EngineError, ErrorKind};
use crate::protocol::TermTooOld;
use crate::script::{ScriptError, PAINLESS};

impl From<&EngineError> for EsError {
    fn from(error: &EngineError) -> EsError {
        let s = &error.shard;
        let exception = EsError::new(error.error_type(), error.reason());
        match &error.kind {
            ErrorKind::Conflict { .. } | ErrorKind::DocumentMissing { .. } => {
                exception.with_shard(&s.index, &s.index_uuid, s.shard)
            }
            ErrorKind::PrimaryDemoted(too_old) => exception
                .with_shard(&s.index, &s.index_uuid, s.shard)
                .caused_by(EsError::new(TermTooOld::TYPE, too_old.reason(&s.display()))),
            ErrorKind::Script { source, error } => {
                exception.caused_by(script_exception(source, error))
            }
            ErrorKind::TermTooOld(_)
            | ErrorKind::AheadOfCheckpoint { .. }
            | ErrorKind::PrimaryInactive => exception,
        }
    }
}

impl From<EngineError> for RestError {
    fn from(error: EngineError) -> RestError {
        RestError::exception(error.status(), EsError::from(&error))
    }
}

/// `ScriptException.toXContent`: `script_stack`, `script`, `lang`, `position`, then the Java
/// exception that caused it.
fn script_exception(source: &str, error: &ScriptError) -> EsError {
    let position = error.position(source);
    EsError::new("script_exception", error.reason())
        .with_detail("script_stack", json!(error.stack(source)))
        .with_detail("script", source.into())
        .with_detail("lang", PAINLESS.into())
        .with_detail(
            "position",
            json!({
                "offset": position.offset,
                "start": position.start,
                "end": position.end
            }),
        )
        .caused_by(EsError::new(error.cause_type, error.cause_reason.clone()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::engine::ShardId;
    use crate::protocol::error::Explanation;
    use crate::protocol::VersionConflict;

    fn body(kind: ErrorKind) -> String {
        let error = EngineError {
            kind,
            shard: Arc::new(ShardId::new("idx", "u1", 0)),
        };
        RestError::from(error).body().unwrap().to_string()
    }

    const TOO_OLD: TermTooOld = TermTooOld {
        operation_term: 1,
        current_term: 2,
    };

    #[test]
    fn errors_on_a_shard_carry_its_metadata() {
        let conflict = VersionConflict(Explanation::AlreadyExists { current: 3 });
        assert_eq!(
            body(ErrorKind::Conflict {
                id: "7".into(),
                conflict
            }),
            r#"{"error":{"root_cause":[{"type":"version_conflict_engine_exception","reason":"[7]: version conflict, document already exists (current version [3])","index_uuid":"u1","shard":"0","index":"idx"}],"type":"version_conflict_engine_exception","reason":"[7]: version conflict, document already exists (current version [3])","index_uuid":"u1","shard":"0","index":"idx"},"status":409}"#
        );
        assert_eq!(
            body(ErrorKind::DocumentMissing { id: "7".into() }),
            r#"{"error":{"root_cause":[{"type":"document_missing_exception","reason":"[7]: document missing","index_uuid":"u1","shard":"0","index":"idx"}],"type":"document_missing_exception","reason":"[7]: document missing","index_uuid":"u1","shard":"0","index":"idx"},"status":404}"#
        );
    }

    #[test]
    fn a_demoted_primary_is_caused_by_the_replicas_term_check() {
        assert_eq!(
            body(ErrorKind::PrimaryDemoted(TOO_OLD)),
            r#"{"error":{"root_cause":[{"type":"retry_on_primary_exception","reason":"primary shard [[idx][0]] was demoted while failing replica shard","index_uuid":"u1","shard":"0","index":"idx"}],"type":"retry_on_primary_exception","reason":"primary shard [[idx][0]] was demoted while failing replica shard","index_uuid":"u1","shard":"0","index":"idx","caused_by":{"type":"illegal_state_exception","reason":"[idx][0] operation primary term [1] is too old (current [2])"}},"status":500}"#
        );
    }

    #[test]
    fn shard_state_errors_carry_no_metadata() {
        assert_eq!(
            body(ErrorKind::TermTooOld(TOO_OLD)),
            r#"{"error":{"root_cause":[{"type":"illegal_state_exception","reason":"[idx][0] operation primary term [1] is too old (current [2])"}],"type":"illegal_state_exception","reason":"[idx][0] operation primary term [1] is too old (current [2])"},"status":500}"#
        );
        assert_eq!(
            body(ErrorKind::AheadOfCheckpoint {
                seq_no: 9000,
                checkpoint: 4
            }),
            r#"{"error":{"root_cause":[{"type":"illegal_state_exception","reason":"[idx][0] operation seq_no [9000] is too far above the local checkpoint [4]"}],"type":"illegal_state_exception","reason":"[idx][0] operation seq_no [9000] is too far above the local checkpoint [4]"},"status":500}"#
        );
        assert_eq!(
            body(ErrorKind::PrimaryInactive),
            r#"{"error":{"root_cause":[{"type":"unavailable_shards_exception","reason":"[idx][0] primary shard is not active"}],"type":"unavailable_shards_exception","reason":"[idx][0] primary shard is not active"},"status":503}"#
        );
    }
}
