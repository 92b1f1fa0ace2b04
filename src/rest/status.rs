//! The HTTP status of every answer the protocol and the engine give, in one place.
//!
//! The protocol and the engine answer with typed results and typed errors; Elasticsearch's
//! status for each comes from the class that carries it (`ElasticsearchException.status()`,
//! `ExceptionsHelper.status` for the Java exceptions, `DocWriteResponse.status()`), and is
//! written down here:
//!
//! | answer | status | Elasticsearch |
//! | --- | --- | --- |
//! | [`VersionConflict`] | 409 | `VersionConflictEngineException.status()`: `CONFLICT` |
//! | [`ValidationErrors`] | 400 | `ActionRequestValidationException` is an `IllegalArgumentException` |
//! | [`DocumentMissing`] | 404 | `DocumentMissingException.status()`: `NOT_FOUND` |
//! | [`TermTooOld`] | 500 | an `IllegalStateException` |
//! | [`PrimaryDemoted`] | 500 | `RetryOnPrimaryException` keeps `ElasticsearchException`'s default |
//! | [`PrimaryInactive`] | 503 | `UnavailableShardsException.status()`: `SERVICE_UNAVAILABLE` |
//! | [`PreferenceError`] | 400, 500, 503 | by its exception, as below |
//! | [`WriteResult`] | 201 created, 404 not found, else 200 | `IndexResponse.status()`, `DeleteResponse.status()` |
//! | [`GetResponse`] | 200 found, else 404 | `RestGetAction`: `isExists() ? OK : NOT_FOUND` |
//!
//! [`Status`] is the status of a value; [`ExceptionStatus`] the status of an exception class,
//! for the code (and the models' traces) that names the class rather than holds one.

use crate::engine::{EngineError, ErrorKind, GetResponse, WriteResponse};
use crate::protocol::preference::PreferenceError;
use crate::protocol::{
    DocumentMissing, PrimaryDemoted, PrimaryInactive, TermTooOld, ValidationErrors,
    VersionConflict, WriteResult,
};

/// The HTTP status Elasticsearch answers an exception class with.
pub trait ExceptionStatus {
    const STATUS: u16;
}

/// One `impl ExceptionStatus` per class, as the table in the module doc lists them.
macro_rules! exception_statuses {
    ($($class:ty => $status:literal,)*) => {
        $(impl ExceptionStatus for $class {
            const STATUS: u16 = $status;
        })*
    };
}

exception_statuses! {
    VersionConflict => 409,
    ValidationErrors => 400,
    DocumentMissing => 404,
    TermTooOld => 500,
    PrimaryDemoted => 500,
    PrimaryInactive => 503,
}

/// `UpdateHelper.executeScript`'s `IllegalArgumentException` around a script's failure.
const SCRIPT_FAILED: u16 = 400;

/// The HTTP status of an answer.
pub trait Status {
    fn status(&self) -> u16;
}

impl Status for WriteResult {
    /// 201 for `created`, 404 for a delete that found nothing, 200 otherwise.
    fn status(&self) -> u16 {
        match self {
            WriteResult::Created => 201,
            WriteResult::NotFound => 404,
            WriteResult::Updated | WriteResult::Deleted | WriteResult::Noop => 200,
        }
    }
}

impl Status for WriteResponse {
    fn status(&self) -> u16 {
        self.result.status()
    }
}

impl Status for GetResponse {
    fn status(&self) -> u16 {
        if self.found {
            200
        } else {
            404
        }
    }
}

impl Status for EngineError {
    fn status(&self) -> u16 {
        match self.kind {
            ErrorKind::Conflict { .. } => VersionConflict::STATUS,
            ErrorKind::DocumentMissing { .. } => DocumentMissing::STATUS,
            ErrorKind::TermTooOld(_) | ErrorKind::AheadOfCheckpoint { .. } => TermTooOld::STATUS,
            ErrorKind::PrimaryDemoted(_) => PrimaryDemoted::STATUS,
            ErrorKind::PrimaryInactive => PrimaryInactive::STATUS,
            ErrorKind::Script { .. } => SCRIPT_FAILED,
        }
    }
}

impl Status for PreferenceError {
    /// 400 for the `IllegalArgumentException`s, 500 for the `StringIndexOutOfBoundsException`
    /// of a node list without its colon, 503 for `NoShardAvailableActionException`.
    fn status(&self) -> u16 {
        match self {
            PreferenceError::Unknown(_) | PreferenceError::NoMatchingNode { .. } => 400,
            PreferenceError::NoNodeList { .. } => 500,
            PreferenceError::NoCopy => 503,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_results_have_their_response_classes_statuses() {
        let statuses = [
            WriteResult::Created,
            WriteResult::Updated,
            WriteResult::Deleted,
            WriteResult::NotFound,
            WriteResult::Noop,
        ]
        .map(|result| result.status());
        assert_eq!(statuses, [201, 200, 200, 404, 200]);
    }

    #[test]
    fn preference_errors_have_their_exceptions_statuses() {
        let statuses = [
            PreferenceError::Unknown("_primary".into()),
            PreferenceError::NoNodeList {
                preference: "_only_nodes".into(),
            },
            PreferenceError::NoMatchingNode {
                criteria: vec!["x".into()],
            },
            PreferenceError::NoCopy,
        ]
        .map(|error| error.status());
        assert_eq!(statuses, [400, 500, 400, 503]);
    }
}
