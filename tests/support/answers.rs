//! An engine answer as the REST layer writes it: its HTTP status and its compact JSON body
//! (`esocc::rest`'s shapes), for the engine tests that pin Elasticsearch's exact bodies. Each
//! test crate uses a part of it.
#![allow(dead_code)]

use esocc::engine::{EngineError, GetResponse, WriteResponse};
use esocc::rest::error::RestError;
use esocc::rest::responses::{GetBody, WriteBody};
use esocc::rest::status::Status;

/// A write's status and body, or its error's.
pub fn write_answer(result: &Result<WriteResponse, EngineError>) -> (u16, String) {
    match result {
        Ok(response) => {
            let body = serde_json::to_string(&WriteBody::from(response)).unwrap();
            (response.status(), body)
        }
        Err(error) => error_answer(error),
    }
}

/// A get's status and body.
pub fn get_answer(response: &GetResponse) -> (u16, String) {
    let body = serde_json::to_string(&GetBody::from(response)).unwrap();
    (response.status(), body)
}

/// An engine error's status and envelope.
pub fn error_answer(error: &EngineError) -> (u16, String) {
    let rest = RestError::from(error.clone());
    let body = rest.body().map(|body| body.to_string()).unwrap_or_default();
    (rest.status(), body)
}
