//! Elasticsearch's error envelope: the one place an exception becomes JSON.
//!
//! The protocol and the engine name their exceptions (type and reason texts); this module and its
//! callers in `rest` add the metadata, the causes and the envelope around them.
//! `ElasticsearchException.generateFailureXContent` renders
//! `{"error":{"root_cause":[{type, reason, metadata}], type, reason, metadata, caused_by}, "status":N}`.
//! Metadata keys come out in Java `HashMap` order, which for the keys that exist here is
//! `resource.type, resource.id, index_uuid, shard, index`; `shard` is a string. A root cause
//! never carries `caused_by`. [`simple_error_body`] is the other shape Elasticsearch uses
//! (`{"error":"<message>","status":N}`, for 405/406 and a few header errors).

use serde_json::{json, Map, Value};

/// One Elasticsearch exception: its snake_case type, its reason, its metadata and its cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EsError {
    pub error_type: String,
    pub reason: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub index_uuid: Option<String>,
    pub shard: Option<String>,
    pub index: Option<String>,
    /// Fields a subclass adds after the metadata (`metadataToXContent`: a `script_exception`'s
    /// `script_stack`, `script`, `lang`, `position`).
    pub details: Vec<(String, Value)>,
    pub caused_by: Option<Box<EsError>>,
}

impl EsError {
    /// An exception without metadata.
    pub fn new(error_type: impl Into<String>, reason: impl Into<String>) -> Self {
        EsError {
            error_type: error_type.into(),
            reason: reason.into(),
            resource_type: None,
            resource_id: None,
            index_uuid: None,
            shard: None,
            index: None,
            details: Vec::new(),
            caused_by: None,
        }
    }

    /// `setIndex(Index)`: `index` and `index_uuid` (`"_na_"` when the index is not known).
    pub fn with_index(mut self, index: &str, index_uuid: &str) -> Self {
        self.index = Some(index.to_owned());
        self.index_uuid = Some(index_uuid.to_owned());
        self
    }

    /// `setShard(ShardId)`: `index`, `index_uuid` and `shard`.
    pub fn with_shard(self, index: &str, index_uuid: &str, shard: u32) -> Self {
        let mut with = self.with_index(index, index_uuid);
        with.shard = Some(shard.to_string());
        with
    }

    /// `setResources(type, id)`: `resource.type` and `resource.id`.
    pub fn with_resource(mut self, resource_type: &str, resource_id: &str) -> Self {
        self.resource_type = Some(resource_type.to_owned());
        self.resource_id = Some(resource_id.to_owned());
        self
    }

    /// The exception this one wraps (rendered as `caused_by`).
    pub fn caused_by(mut self, cause: EsError) -> Self {
        self.caused_by = Some(Box::new(cause));
        self
    }

    /// A field the exception's class adds after the metadata.
    pub fn with_detail(mut self, key: &str, value: Value) -> Self {
        self.details.push((key.to_owned(), value));
        self
    }

    /// `type`, `reason`, then the metadata in Elasticsearch's order, then `caused_by`.
    pub fn to_object(&self, with_cause: bool) -> Map<String, Value> {
        let mut object = Map::new();
        object.insert("type".into(), self.error_type.clone().into());
        object.insert("reason".into(), self.reason.clone().into());
        let metadata = [
            ("resource.type", &self.resource_type),
            ("resource.id", &self.resource_id),
            ("index_uuid", &self.index_uuid),
            ("shard", &self.shard),
            ("index", &self.index),
        ];
        for (key, value) in metadata {
            if let Some(value) = value {
                object.insert(key.into(), value.clone().into());
            }
        }
        for (key, value) in &self.details {
            object.insert(key.clone(), value.clone());
        }
        if let (true, Some(cause)) = (with_cause, &self.caused_by) {
            object.insert("caused_by".into(), Value::Object(cause.to_object(true)));
        }
        object
    }

    /// The whole response body: `{"error":{"root_cause":[..], ..}, "status": status}`.
    pub fn body(&self, status: u16) -> Value {
        let mut error = Map::new();
        error.insert(
            "root_cause".into(),
            Value::Array(vec![Value::Object(self.to_object(false))]),
        );
        error.extend(self.to_object(true));
        json!({ "error": error, "status": status })
    }
}

/// `{"error":"<message>","status":N}`.
pub fn simple_error_body(message: &str, status: u16) -> Value {
    json!({ "error": message, "status": status })
}

#[cfg(all(test, not(esocc_loom)))]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_elasticsearch_key_order() {
        let err = EsError::new(
            "version_conflict_engine_exception",
            "[1]: version conflict, x",
        )
        .with_shard("movies", "kjpb", 0);
        assert_eq!(
            serde_json::to_string(&err.body(409)).unwrap(),
            r#"{"error":{"root_cause":[{"type":"version_conflict_engine_exception","reason":"[1]: version conflict, x","index_uuid":"kjpb","shard":"0","index":"movies"}],"type":"version_conflict_engine_exception","reason":"[1]: version conflict, x","index_uuid":"kjpb","shard":"0","index":"movies"},"status":409}"#
        );
    }

    #[test]
    fn resources_come_first_and_causes_stay_out_of_the_root_cause() {
        let err = EsError::new("index_not_found_exception", "no such index [x]")
            .with_index("x", "_na_")
            .with_resource("index_or_alias", "x");
        assert_eq!(
            serde_json::to_string(&err.to_object(true)).unwrap(),
            r#"{"type":"index_not_found_exception","reason":"no such index [x]","resource.type":"index_or_alias","resource.id":"x","index_uuid":"_na_","index":"x"}"#
        );
        let err = EsError::new("illegal_argument_exception", "Failed to parse").caused_by(
            EsError::new("number_format_exception", "For input string: \"abc\""),
        );
        assert_eq!(
            serde_json::to_string(&err.body(400)).unwrap(),
            r#"{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"Failed to parse"}],"type":"illegal_argument_exception","reason":"Failed to parse","caused_by":{"type":"number_format_exception","reason":"For input string: \"abc\""}},"status":400}"#
        );
        assert_eq!(
            simple_error_body("Content-Type header is missing", 406).to_string(),
            r#"{"error":"Content-Type header is missing","status":406}"#
        );
    }
}
