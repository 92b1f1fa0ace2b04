//! The error answers of the REST layer: Elasticsearch exceptions (rendered by the engine's
//! envelope builder) for parameter parsing, missing indices, index names, bodies and the
//! protocol's validation, plus the plain bodies of `RestController` (`{"error":"…","status":N}`,
//! `no handler found`, and the empty 413).

use serde_json::{Map, Value};

use super::breaker::CircuitBreaking;
use super::envelope::{simple_error_body, EsError};
use super::status::ExceptionStatus;
use crate::protocol::ValidationErrors;

/// An error answer of the REST layer.
#[derive(Clone, Debug, PartialEq)]
pub enum RestError {
    /// An exception rendered in the full envelope with this HTTP status.
    Exception {
        status: u16,
        exception: Box<EsError>,
    },
    /// `{"error":"<message>","status":N}` (405, 406 and a few header errors).
    Simple { status: u16, message: String },
    /// `{"error":"no handler found for uri [..] and method [..]"}`: 400 without a `status` field.
    NoHandler { message: String },
    /// 413 with an empty body, as Netty's aggregator answers.
    TooLarge,
    /// 429 `circuit_breaking_exception`: a breaker refused the memory a request needs.
    CircuitBreaking(CircuitBreaking),
}

impl From<CircuitBreaking> for RestError {
    fn from(error: CircuitBreaking) -> RestError {
        RestError::CircuitBreaking(error)
    }
}

impl RestError {
    pub fn exception(status: u16, exception: EsError) -> RestError {
        RestError::Exception {
            status,
            exception: Box::new(exception),
        }
    }

    /// 400 `illegal_argument_exception`.
    pub fn illegal_argument(reason: impl Into<String>) -> RestError {
        RestError::exception(400, EsError::new("illegal_argument_exception", reason))
    }

    /// 400 `parse_exception` (`ElasticsearchParseException`).
    pub fn parse(reason: impl Into<String>) -> RestError {
        RestError::exception(400, EsError::new("parse_exception", reason))
    }

    /// 400 `x_content_parse_exception`: a request body that is not the JSON the API expects.
    pub fn x_content_parse(reason: impl Into<String>) -> RestError {
        RestError::exception(400, EsError::new("x_content_parse_exception", reason))
    }

    /// 400 `action_request_validation_exception`.
    pub fn validation(errors: &ValidationErrors) -> RestError {
        RestError::exception(
            ValidationErrors::STATUS,
            EsError::new(ValidationErrors::TYPE, errors.reason()),
        )
    }

    /// 404 `index_not_found_exception` for an index the cluster does not know.
    pub fn index_not_found(index: &str) -> RestError {
        RestError::exception(
            404,
            EsError::new(
                "index_not_found_exception",
                format!("no such index [{index}]"),
            )
            .with_index(index, "_na_")
            .with_resource("index_or_alias", index),
        )
    }

    /// 400 `invalid_index_name_exception`: `Invalid index name [<name>], <why>`.
    pub fn invalid_index_name(index: &str, why: &str) -> RestError {
        RestError::exception(
            400,
            EsError::new(
                "invalid_index_name_exception",
                format!("Invalid index name [{index}], {why}"),
            )
            .with_index(index, "_na_"),
        )
    }

    /// 400 `resource_already_exists_exception`: `index [<name>/<uuid>] already exists`.
    pub fn index_exists(index: &str, uuid: &str) -> RestError {
        RestError::exception(
            400,
            EsError::new(
                "resource_already_exists_exception",
                format!("index [{index}/{uuid}] already exists"),
            )
            .with_index(index, uuid),
        )
    }

    pub fn status(&self) -> u16 {
        match self {
            RestError::Exception { status, .. } | RestError::Simple { status, .. } => *status,
            RestError::NoHandler { .. } => 400,
            RestError::TooLarge => 413,
            RestError::CircuitBreaking(_) => CircuitBreaking::STATUS,
        }
    }

    /// The exception object a bulk item failure carries (`None`: not an exception).
    pub fn exception_object(&self) -> Option<Map<String, Value>> {
        match self {
            RestError::Exception { exception, .. } => Some(exception.to_object(true)),
            RestError::CircuitBreaking(error) => Some(error.to_object()),
            _ => None,
        }
    }

    /// The response body (`None`: empty).
    pub fn body(&self) -> Option<Value> {
        match self {
            RestError::Exception { status, exception } => Some(exception.body(*status)),
            RestError::Simple { status, message } => Some(simple_error_body(message, *status)),
            RestError::NoHandler { message } => {
                let mut out = Map::new();
                out.insert("error".into(), Value::from(message.as_str()));
                Some(Value::Object(out))
            }
            RestError::TooLarge => None,
            RestError::CircuitBreaking(error) => Some(error.body()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_root_cause_without_cause_and_status_last() {
        let error = RestError::exception(
            400,
            EsError::new(
                "illegal_argument_exception",
                "Failed to parse long parameter [if_seq_no] with value [abc]",
            )
            .caused_by(EsError::new(
                "number_format_exception",
                "For input string: \"abc\"",
            )),
        );
        assert_eq!(
            serde_json::to_string(&error.body().unwrap()).unwrap(),
            r#"{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"Failed to parse long parameter [if_seq_no] with value [abc]"}],"type":"illegal_argument_exception","reason":"Failed to parse long parameter [if_seq_no] with value [abc]","caused_by":{"type":"number_format_exception","reason":"For input string: \"abc\""}},"status":400}"#
        );
    }

    #[test]
    fn index_not_found_metadata_order() {
        assert_eq!(
            serde_json::to_string(&RestError::index_not_found("x").body().unwrap()).unwrap(),
            r#"{"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [x]","resource.type":"index_or_alias","resource.id":"x","index_uuid":"_na_","index":"x"}],"type":"index_not_found_exception","reason":"no such index [x]","resource.type":"index_or_alias","resource.id":"x","index_uuid":"_na_","index":"x"},"status":404}"#
        );
    }

    #[test]
    fn simple_and_no_handler_bodies() {
        let e = RestError::Simple {
            status: 406,
            message: "Content-Type header is missing".into(),
        };
        assert_eq!(
            serde_json::to_string(&e.body().unwrap()).unwrap(),
            r#"{"error":"Content-Type header is missing","status":406}"#
        );
        let e = RestError::NoHandler {
            message: "no handler found for uri [/a/b/c] and method [GET]".into(),
        };
        assert_eq!(
            serde_json::to_string(&e.body().unwrap()).unwrap(),
            r#"{"error":"no handler found for uri [/a/b/c] and method [GET]"}"#
        );
        assert_eq!(RestError::TooLarge.body(), None);
    }
}
