//! The update API: `POST /{index}/_update/{id}` and the 6.x form `POST /{index}/_doc/{id}/_update`.
//! A partial `doc` merged into the source, `upsert`, `doc_as_upsert`, `detect_noop`, and
//! `retry_on_conflict` (the engine re-runs get → merge → conditional write).

use axum::body::Body;
use axum::http::Response;
use serde_json::{Map, Value};

use super::documents::write_reply;
use super::{EsBody, EsPath, Node};
use crate::engine::{UpdateRequest, Write};
use crate::protocol::validate::{
    check_retry_on_conflict, reject_update_versioning, validate_update, UpdateParams,
};
use crate::rest::breaker::Child;
use crate::rest::error::RestError;
use crate::rest::params::Params;
use crate::rest::server::ClusterState;
use crate::rest::strict_json::{field_location, object_heap_size};
use crate::rest::wait_for_active::WaitForActive;

/// The body of an update (`UpdateRequest.fromXContent`).
#[derive(Debug, Default)]
pub struct UpdateBody {
    pub doc: Option<Map<String, Value>>,
    pub upsert: Option<Map<String, Value>>,
    pub doc_as_upsert: bool,
    pub detect_noop: bool,
}

fn boolean_field(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

impl UpdateBody {
    /// Elasticsearch's defaults (`detect_noop` on), with `doc_as_upsert` as the URL says.
    pub fn defaults(doc_as_upsert: bool) -> UpdateBody {
        UpdateBody {
            doc_as_upsert,
            detect_noop: true,
            ..UpdateBody::default()
        }
    }

    /// Apply an update body's fields; `bytes` is the raw text, for error locations.
    pub fn parse(self, object: &Map<String, Value>, bytes: &[u8]) -> Result<UpdateBody, RestError> {
        let mut body = self;
        let field_error = |key: &str| {
            RestError::x_content_parse(format!(
                "{} [UpdateRequest] failed to parse field [{key}]",
                field_location(bytes, key)
            ))
        };
        for (key, value) in object {
            match (key.as_str(), value) {
                ("doc", Value::Object(doc)) => body.doc = Some(doc.clone()),
                ("upsert", Value::Object(upsert)) => body.upsert = Some(upsert.clone()),
                ("doc_as_upsert", v) => {
                    body.doc_as_upsert = boolean_field(v).ok_or_else(|| field_error(key))?
                }
                ("detect_noop", v) => {
                    body.detect_noop = boolean_field(v).ok_or_else(|| field_error(key))?
                }
                ("doc" | "upsert", _) => return Err(field_error(key)),
                ("script" | "scripted_upsert", _) => {
                    return Err(RestError::illegal_argument(
                        "esocc does not run scripts: use a partial document (`doc`)",
                    ))
                }
                (other, _) => {
                    return Err(RestError::x_content_parse(format!(
                        "{} [UpdateRequest] unknown field [{other}]",
                        field_location(bytes, other)
                    )))
                }
            }
        }
        Ok(body)
    }
}

/// The URL parameters of an update, in `RestUpdateAction` order.
pub struct UpdateUrl {
    pub routing: Option<String>,
    pub refresh: crate::rest::params::Refresh,
    pub wait: WaitForActive,
    pub doc_as_upsert: bool,
    pub retry_on_conflict: u32,
    pub if_seq_no: Option<i64>,
    pub if_primary_term: Option<u64>,
}

fn read_update_params(p: &mut Params) -> Result<UpdateUrl, RestError> {
    let routing = p.str("routing");
    let timeout_text = p.str("timeout");
    let timeout = p.time("timeout")?;
    let refresh = p.refresh()?;
    let active = p.active_shards()?;
    let doc_as_upsert = p.boolean("doc_as_upsert")?.unwrap_or(false);
    let retry_on_conflict = match p.int("retry_on_conflict")? {
        None => 0,
        Some(n) => check_retry_on_conflict(n).map_err(RestError::illegal_argument)?,
    };
    if p.str("version").is_some() || p.str("version_type").is_some() {
        return Err(RestError::validation(&reject_update_versioning()));
    }
    let if_seq_no = p.if_seq_no()?;
    let if_primary_term = p.if_primary_term()?;
    p.boolean("require_alias")?;
    Ok(UpdateUrl {
        routing,
        refresh,
        wait: WaitForActive::new(active, timeout_text, timeout),
        doc_as_upsert,
        retry_on_conflict,
        if_seq_no,
        if_primary_term,
    })
}

/// `POST /{index}/_update/{id}`, `POST /{index}/_doc/{id}/_update`.
pub async fn update(
    state: ClusterState,
    Node(node): Node,
    EsPath((index, id)): EsPath<(String, String)>,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    let mut params = params.path_params(&["index", "id"]);
    let url = read_update_params(&mut params)?;
    let defaults = UpdateBody::defaults(url.doc_as_upsert);
    let parsed = match body.object()? {
        Some(object) => defaults.parse(&object, &body.0)?,
        None => defaults,
    };
    params.finish()?;
    let validated = validate_update(
        &id,
        &UpdateParams {
            if_seq_no: url.if_seq_no,
            if_primary_term: url.if_primary_term,
            retry_on_conflict: url.retry_on_conflict,
            has_doc: parsed.doc.is_some(),
            has_upsert: parsed.upsert.is_some(),
            doc_as_upsert: parsed.doc_as_upsert,
        },
    )
    .map_err(|e| RestError::validation(&e))?;
    let index = state.0.indices.get_or_create(&index)?;
    let (number, shard) = index.route(&id, url.routing.as_deref());
    // The merge copies the current document: the result is what the engine will keep.
    let current = shard
        .get(node, &id)
        .ok()
        .and_then(|found| found.source)
        .map_or(0, |source| object_heap_size(&source));
    let partial: u64 = [&parsed.doc, &parsed.upsert]
        .iter()
        .map(|o| o.as_ref().map_or(0, object_heap_size))
        .sum();
    let _held = state.0.breakers.reserve(
        Child::Request,
        current + partial,
        "indices:data/write/update",
    )?;
    let doc = parsed.doc.unwrap_or_default();
    let describe = || {
        format!(
            "index {{[{}][{id}], source[{}]}}",
            index.name,
            Value::Object(doc.clone())
        )
    };
    url.wait
        .check(&index, number, url.refresh, describe)
        .await?;
    let request = UpdateRequest {
        doc,
        upsert: parsed.upsert,
        doc_as_upsert: parsed.doc_as_upsert,
        detect_noop: parsed.detect_noop,
        retry_on_conflict: url.retry_on_conflict,
        if_seq_no: validated,
    };
    let response = shard
        .write(node, Write::Update { id, request }, url.wait.timeout())
        .await?;
    Ok(write_reply(&response, url.refresh, url.routing.as_deref()))
}
