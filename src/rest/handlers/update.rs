//! The update API: `POST /{index}/_update/{id}` and the 6.x form `POST /{index}/_doc/{id}/_update`.
//! A partial `doc` merged into the source or a `script` ([`crate::script`]), `upsert`,
//! `doc_as_upsert`, `scripted_upsert`, `detect_noop`, `retry_on_conflict` (the engine re-runs
//! get → transform → conditional write), and `_source` (URL or body), which adds the `get` of
//! the updated document to the response (`UpdateResponse`, `UpdateHelper.extractGetResult`).

use std::sync::Arc;

use axum::body::Body;
use axum::http::Response;
use serde_json::{Map, Value};

use super::documents::{reply_with_body, response_object};
use super::{EsBody, EsPath, Node};
use crate::engine::{FetchedSource, UpdateRequest, Write, WriteResponse};
use crate::protocol::validate::{
    check_if_primary_term, check_if_seq_no, check_retry_on_conflict, reject_update_versioning,
    validate_update, UpdateParams,
};
use crate::protocol::{SeqNo, Term};
use crate::rest::breaker::Child;
use crate::rest::envelope::EsError;
use crate::rest::error::RestError;
use crate::rest::ingest_and_aliases::IngestAndAliases;
use crate::rest::params::{Params, Refresh};
use crate::rest::script_request::parse_script;
use crate::rest::server::ClusterState;
use crate::rest::source_filter::SourceFilter;
use crate::rest::strict_json::{field_location, object_heap_size};
use crate::rest::suggest::unknown_field;
use crate::rest::wait_for_active::WaitForActive;
use crate::script::Script;

/// The fields `UpdateRequest.PARSER` declares: what an unknown field is compared with.
const UPDATE_FIELDS: [&str; 9] = [
    "script",
    "scripted_upsert",
    "upsert",
    "doc",
    "doc_as_upsert",
    "detect_noop",
    "_source",
    "if_seq_no",
    "if_primary_term",
];

/// The body of an update (`UpdateRequest.fromXContent`).
#[derive(Debug, Default)]
pub struct UpdateBody {
    pub doc: Option<Map<String, Value>>,
    pub upsert: Option<Map<String, Value>>,
    pub doc_as_upsert: bool,
    pub detect_noop: bool,
    pub script: Option<Arc<Script>>,
    pub scripted_upsert: bool,
    /// `_source` in the body: what the response's `get` shows.
    pub source: Option<SourceFilter>,
    /// `if_seq_no` and `if_primary_term` in the body, over the URL's or the action line's
    /// (`UpdateRequest.PARSER` runs after they are set): `Some(None)` is `-2`, unassigned.
    pub if_seq_no: Option<Option<SeqNo>>,
    pub if_primary_term: Option<Term>,
}

fn boolean_field(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// A numeric body field checked as its URL parameter is (`check`): a value that is no number is
/// the field's parse error, a failed check that error caused by the check's
/// `illegal_argument_exception`.
fn checked_number<T>(
    value: &Value,
    parse_error: impl Fn() -> EsError,
    check: impl Fn(i64) -> Result<T, String>,
) -> Result<T, RestError> {
    let given = value
        .as_i64()
        .ok_or_else(|| RestError::exception(400, parse_error()))?;
    check(given).map_err(|why| {
        let cause = EsError::new("illegal_argument_exception", why);
        RestError::exception(400, parse_error().caused_by(cause))
    })
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
        let field_exception = |key: &str| {
            EsError::new(
                "x_content_parse_exception",
                format!(
                    "{} [UpdateRequest] failed to parse field [{key}]",
                    field_location(bytes, key)
                ),
            )
        };
        let field_error = |key: &str| RestError::exception(400, field_exception(key));
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
                ("scripted_upsert", v) => {
                    body.scripted_upsert = boolean_field(v).ok_or_else(|| field_error(key))?
                }
                ("script", v) => {
                    body.script = Some(Arc::new(parse_script(v, || field_exception(key))?))
                }
                ("_source", v) => {
                    body.source = Some(SourceFilter::from_body(v).ok_or_else(|| field_error(key))?)
                }
                ("if_seq_no", v) => {
                    body.if_seq_no =
                        Some(checked_number(v, || field_exception(key), check_if_seq_no)?)
                }
                ("if_primary_term", v) => {
                    body.if_primary_term = Some(checked_number(
                        v,
                        || field_exception(key),
                        check_if_primary_term,
                    )?)
                }
                ("doc" | "upsert", _) => return Err(field_error(key)),
                (other, _) => {
                    return Err(RestError::x_content_parse(format!(
                        "{} {}",
                        field_location(bytes, other),
                        unknown_field("UpdateRequest", other, &UPDATE_FIELDS)
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
    /// `_source`, `_source_includes`, `_source_excludes`.
    pub source: Option<SourceFilter>,
    /// `require_alias` (`TransportUpdateAction.doExecute` checks it before auto-creating).
    pub require_alias: bool,
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
    let require_alias = p.boolean("require_alias")?.unwrap_or(false);
    let source = SourceFilter::requested(p)?;
    Ok(UpdateUrl {
        routing,
        refresh,
        wait: WaitForActive::new(active, timeout_text, timeout),
        doc_as_upsert,
        retry_on_conflict,
        if_seq_no,
        if_primary_term,
        source,
        require_alias,
    })
}

/// The update parameters [`validate_update`] looks at.
pub fn update_params(
    if_seq_no: Option<i64>,
    if_primary_term: Option<u64>,
    retry_on_conflict: u32,
    body: &UpdateBody,
) -> UpdateParams {
    UpdateParams {
        if_seq_no: body.if_seq_no.unwrap_or(if_seq_no),
        if_primary_term: body.if_primary_term.or(if_primary_term),
        retry_on_conflict,
        has_doc: body.doc.is_some(),
        has_script: body.script.is_some(),
        has_upsert: body.upsert.is_some(),
        doc_as_upsert: body.doc_as_upsert,
    }
}

/// The engine's request for a parsed body, recording the resulting source when the response is
/// to show it (`filter`, the body's `_source` over the URL's); `routing` is stored with the
/// document an upsert creates.
pub fn engine_request(
    body: UpdateBody,
    url_filter: Option<&SourceFilter>,
    retry_on_conflict: u32,
    if_seq_no: Option<crate::protocol::ChangeId>,
    routing: Option<&str>,
) -> (UpdateRequest, Option<(SourceFilter, FetchedSource)>) {
    let filter = body.source.clone().or_else(|| url_filter.cloned());
    let fetch = filter
        .filter(SourceFilter::fetches)
        .map(|filter| (filter, FetchedSource::default()));
    let request = UpdateRequest {
        doc: body.doc.unwrap_or_default(),
        upsert: body.upsert,
        doc_as_upsert: body.doc_as_upsert,
        detect_noop: body.detect_noop,
        retry_on_conflict,
        if_seq_no,
        script: body.script,
        scripted_upsert: body.scripted_upsert,
        fetched: fetch.as_ref().map(|(_, fetched)| fetched.clone()),
        routing: routing.map(Arc::from),
    };
    (request, fetch)
}

/// The update response as a JSON object: the write response, then `get` when `_source` asked
/// for it, and for a scripted upsert's noop, whose `get` is the missing document's.
pub fn update_response_object(
    response: &WriteResponse,
    refresh: Refresh,
    fetch: Option<&(SourceFilter, FetchedSource)>,
) -> Map<String, Value> {
    let mut body = response_object(response, refresh);
    let mut get = Map::new();
    if response.seq_no >= 0 {
        get.insert("_seq_no".into(), response.seq_no.into());
        get.insert("_primary_term".into(), response.primary_term.into());
    }
    if response.version < 0 {
        get.insert("found".into(), false.into());
    } else if let Some((filter, fetched)) = fetch {
        get.insert("found".into(), true.into());
        let source = fetched.get().map(|fields| Arc::new(fields.into()));
        if let Some(source) = filter.apply(source) {
            get.insert("_source".into(), Value::Object(source.fields().clone()));
        }
    } else {
        return body;
    }
    body.insert("get".into(), Value::Object(get));
    body
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
    let params = update_params(
        url.if_seq_no,
        url.if_primary_term,
        url.retry_on_conflict,
        &parsed,
    );
    let validated = validate_update(&id, &params).map_err(|e| RestError::validation(&e))?;
    let checks = IngestAndAliases {
        pipeline: None,
        require_alias: url.require_alias,
    };
    checks.check(&index)?;
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
        .sum::<u64>()
        + parsed
            .script
            .as_ref()
            .map_or(0, |s| s.source.len() as u64 + object_heap_size(&s.params));
    let _held = state.0.breakers.reserve(
        Child::Request,
        current + partial,
        "indices:data/write/update",
    )?;
    let (request, fetch) = engine_request(
        parsed,
        url.source.as_ref(),
        url.retry_on_conflict,
        validated,
        url.routing.as_deref(),
    );
    let describe = || {
        format!(
            "index {{[{}][{id}], source[{}]}}",
            index.name,
            Value::Object(request.doc.clone())
        )
    };
    url.wait
        .check(&index, number, url.refresh, describe)
        .await?;
    let response = shard
        .write(node, Write::Update { id, request }, url.wait.timeout())
        .await?;
    shard.refreshed(url.refresh).await;
    let body = update_response_object(&response, url.refresh, fetch.as_ref());
    Ok(reply_with_body(&response, body, url.routing.as_deref()))
}
