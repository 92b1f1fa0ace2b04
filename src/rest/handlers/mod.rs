//! The endpoint handlers, and the request pieces they share: query parameters, the body
//! (Elasticsearch's "request body is required" and parse errors) and JSON replies.

pub mod bulk;
pub mod by_query;
pub mod cluster;
pub mod documents;
pub mod faults;
pub mod indices;
pub mod mget;
pub mod search;
pub mod update;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::Response;
use serde::Serialize;
use serde_json::{Map, Value};

use std::sync::Arc;

use super::breaker::{Child, Reservation};
use super::error::RestError;
use super::json;
use super::params::Params;
use super::server::Cluster;
use super::strict_json;

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Params::parse(parts.uri.path(), parts.uri.query()))
    }
}

/// Path parameters (`{index}`, `{id}`), percent-decoded; a path that does not decode is an
/// `illegal_argument_exception` rather than axum's plain-text answer.
pub struct EsPath<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for EsPath<T> {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(EsPath(value)),
            Err(rejection) => Err(RestError::illegal_argument(rejection.body_text())),
        }
    }
}

/// The node a request was sent to (header `X-Esocc-Node`, esocc's own): a request reaches the
/// copy on that node when it believes it is primary, as a client connected to an isolated old
/// primary's node would. Without it, requests go to the master's primary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Node(pub Option<usize>);

impl<S: Send + Sync> FromRequestParts<S> for Node {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get("x-esocc-node") else {
            return Ok(Node(None));
        };
        let text = String::from_utf8_lossy(value.as_bytes());
        text.trim().parse().map(|n| Node(Some(n))).map_err(|_| {
            RestError::illegal_argument(format!("X-Esocc-Node must be a node number, got [{text}]"))
        })
    }
}

/// A request body, at most `http.max_content_length` (413 otherwise), held on the
/// `inflight_requests` breaker until the handler is done with it (`RestController` reserves the
/// content length of every request it dispatches).
pub struct EsBody(pub Bytes, pub Reservation);

impl FromRequest<Arc<Cluster>> for EsBody {
    type Rejection = RestError;

    async fn from_request(request: Request, state: &Arc<Cluster>) -> Result<Self, Self::Rejection> {
        let bytes = match Bytes::from_request(request, state).await {
            Ok(bytes) => bytes,
            Err(rejection) if rejection.status().as_u16() == 413 => {
                return Err(RestError::TooLarge)
            }
            Err(rejection) => return Err(RestError::parse(rejection.body_text())),
        };
        let held = state.breakers.reserve(
            Child::InflightRequests,
            bytes.len() as u64,
            "<http_request>",
        )?;
        Ok(EsBody(bytes, held))
    }
}

impl EsBody {
    /// `RestRequest.requiredContent()`.
    pub fn required(&self) -> Result<&[u8], RestError> {
        if self.0.is_empty() {
            Err(RestError::parse("request body is required"))
        } else {
            Ok(&self.0)
        }
    }

    /// The body parsed as a JSON request object (`None` when empty).
    pub fn object(&self) -> Result<Option<Map<String, Value>>, RestError> {
        if self.0.is_empty() {
            return Ok(None);
        }
        parse_request_object(&self.0).map(Some)
    }
}

/// A request body parsed by an `ObjectParser`: malformed JSON (a repeated key too) is an
/// `x_content_parse_exception` `[line:col] <message>`, a body that is not an object a
/// `parse_exception`.
pub fn parse_request_object(bytes: &[u8]) -> Result<Map<String, Value>, RestError> {
    match strict_json::from_slice(bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(RestError::parse("request body must be a JSON object")),
        Err(e) => Err(RestError::x_content_parse(format!(
            "[{}:{}] {}",
            e.line(),
            e.column(),
            json_message(&e)
        ))),
    }
}

/// serde_json's message without its " at line L column C" suffix.
pub fn json_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// A JSON reply.
pub fn reply<T: Serialize + ?Sized>(status: u16, body: &T) -> Response<Body> {
    json::response(status, json::to_bytes(body))
}
