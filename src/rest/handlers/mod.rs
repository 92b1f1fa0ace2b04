//! The endpoint handlers, and the request pieces they share: query parameters, the body
//! (Elasticsearch's "request body is required" and parse errors) and JSON replies.

pub mod bulk;
pub mod cluster;
pub mod documents;
pub mod indices;
pub mod update;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::Response;
use serde::Serialize;
use serde_json::Value;

use super::error::RestError;
use super::json;
use super::params::{decode_component, Params};

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let path = decode_component(parts.uri.path(), false);
        Ok(Params::parse(&path, parts.uri.query()))
    }
}

/// A request body, at most `http.max_content_length` (413 otherwise).
pub struct EsBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for EsBody {
    type Rejection = RestError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(EsBody(bytes)),
            Err(rejection) if rejection.status().as_u16() == 413 => Err(RestError::TooLarge),
            Err(rejection) => Err(RestError::parse(rejection.body_text())),
        }
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
    pub fn object(&self) -> Result<Option<Value>, RestError> {
        if self.0.is_empty() {
            return Ok(None);
        }
        parse_request_object(&self.0).map(Some)
    }
}

/// A request body parsed by an `ObjectParser`: malformed JSON is an `x_content_parse_exception`
/// `[line:col] <message>`, a body that is not an object a `parse_exception`.
pub fn parse_request_object(bytes: &[u8]) -> Result<Value, RestError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value @ Value::Object(_)) => Ok(value),
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
