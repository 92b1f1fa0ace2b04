//! The `script` of a request body (`Script.parse`): a string (inline Painless source) or
//! `{"source": .., "lang": .., "params": {..}}`. Stored scripts (`id`) and other languages are
//! refused with Elasticsearch's texts; the source is compiled by [`crate::script`].

use serde_json::{Map, Value};

use super::error::RestError;
use super::suggest::unknown_field;
use crate::rest::envelope::EsError;
use crate::script::{Script, PAINLESS};

/// The fields `Script.PARSER` declares.
const SCRIPT_FIELDS: [&str; 5] = ["source", "id", "lang", "options", "params"];

/// Parse a `script` value; `failed` is the error of the field it is in
/// (`[UpdateRequest] failed to parse field [script]`), which wraps the cause.
pub fn parse_script(value: &Value, failed: impl Fn() -> EsError) -> Result<Script, RestError> {
    let wrapped = |cause: EsError| RestError::exception(400, failed().caused_by(cause));
    let object = match value {
        Value::String(source) => return Ok(Script::new(source.clone(), Map::new())),
        Value::Object(object) => object,
        _ => return Err(RestError::exception(400, failed())),
    };
    let mut source = None;
    let mut params = Map::new();
    let mut lang = None;
    for (key, value) in object {
        match (key.as_str(), value) {
            ("source", Value::String(text)) => source = Some(text.clone()),
            ("source", Value::Object(_)) => {
                return Err(wrapped(EsError::new(
                    "illegal_argument_exception",
                    "esocc runs Painless scripts only: a template [source] object is not supported",
                )))
            }
            ("params", Value::Object(given)) => params = given.clone(),
            ("params", Value::Null) => {}
            ("lang", Value::String(given)) => lang = Some(given.clone()),
            ("options", Value::Object(_)) => {}
            ("id", Value::String(id)) => {
                return Err(RestError::exception(
                    404,
                    EsError::new(
                        "resource_not_found_exception",
                        format!("unable to find script [{id}] in cluster state"),
                    ),
                ))
            }
            ("source" | "params" | "lang" | "id" | "options", _) => {
                return Err(wrapped(EsError::new(
                    "x_content_parse_exception",
                    format!("[script] failed to parse field [{key}]"),
                )))
            }
            (other, _) => {
                return Err(wrapped(EsError::new(
                    "x_content_parse_exception",
                    unknown_field("script", other, &SCRIPT_FIELDS),
                )))
            }
        }
    }
    if let Some(lang) = lang.filter(|lang| lang != PAINLESS) {
        return Err(RestError::illegal_argument(format!(
            "script_lang not supported [{lang}]"
        )));
    }
    match source {
        Some(source) => Ok(Script::new(source, params)),
        None => Err(wrapped(EsError::new(
            "illegal_argument_exception",
            "must specify either [source] for an inline script or [id] for a stored script",
        ))),
    }
}
