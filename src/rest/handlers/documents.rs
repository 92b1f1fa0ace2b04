//! The single-document API: index (`PUT|POST /{index}/_doc/{id}`, auto id with
//! `POST /{index}/_doc`), create (`PUT|POST /{index}/_create/{id}`), realtime get
//! (`GET|HEAD /{index}/_doc/{id}`, `GET|HEAD /{index}/_source/{id}`) and delete.
//!
//! Each handler follows Elasticsearch's order: read the parameters (parse errors first), require
//! the body, reject unrecognized parameters, validate through [`crate::protocol::validate`],
//! resolve (or auto-create) the index, then route to the shard and let the engine decide.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderValue, Response};
use serde_json::{Map, Value};

use super::{reply, EsBody, EsPath, Node};
use crate::engine::Document;
use crate::engine::{GetResponse, Write, WriteResponse};
use crate::protocol::validate::{validate_delete, validate_get, validate_index, WriteParams};
use crate::protocol::{OpType, VersionType};
use crate::rest::breaker::{Child, Reservation};
use crate::rest::envelope::EsError;
use crate::rest::error::RestError;
use crate::rest::ingest_and_aliases::IngestAndAliases;
use crate::rest::params::{Params, Refresh};
use crate::rest::responses::{GetBody, WriteBody};
use crate::rest::server::ClusterState;
use crate::rest::source_filter::SourceFilter;
use crate::rest::status::Status;
use crate::rest::strict_json::{self, DocumentProblem, ParseFailure};

/// `IndexAction`'s name, the label of its breaker reservation.
const INDEX_ACTION: &str = "indices:data/write/index";
use crate::rest::wait_for_active::WaitForActive;

/// The parameters of a document write, as given.
pub struct DocWrite {
    pub routing: Option<String>,
    /// `pipeline` and `require_alias` (index requests only).
    pub checks: IngestAndAliases,
    pub refresh: Refresh,
    pub wait: WaitForActive,
    pub params: WriteParams,
}

/// Read the write parameters in `RestIndexAction` / `RestDeleteAction` order; `op_type` is read
/// last and only for index requests (`default_op_type`).
pub fn read_write_params(
    p: &mut Params,
    default_op_type: Option<OpType>,
) -> Result<DocWrite, RestError> {
    let routing = p.str("routing");
    let pipeline = default_op_type.and_then(|_| p.str("pipeline"));
    let timeout = p.str("timeout");
    let timeout_value = p.time("timeout")?;
    let refresh = p.refresh()?;
    let version = p.long("version")?;
    let version_type = p
        .str("version_type")
        .map(|v| VersionType::parse(&v).map_err(RestError::illegal_argument))
        .transpose()?;
    let if_seq_no = p.if_seq_no()?;
    let if_primary_term = p.if_primary_term()?;
    let require_alias = match default_op_type {
        Some(_) => p.boolean("require_alias")?.unwrap_or(false),
        None => false,
    };
    let active = p.active_shards()?;
    let op_type = match default_op_type {
        None => OpType::Index,
        Some(default) => match p.str("op_type") {
            None => default,
            Some(raw) => OpType::parse(&raw.to_lowercase()).map_err(|_| {
                RestError::illegal_argument(format!(
                    "opType must be 'create' or 'index', found: [{raw}]"
                ))
            })?,
        },
    };
    Ok(DocWrite {
        routing,
        checks: IngestAndAliases {
            pipeline,
            require_alias,
        },
        refresh,
        wait: WaitForActive::new(active, timeout, timeout_value),
        params: WriteParams {
            op_type,
            if_seq_no,
            if_primary_term,
            version,
            version_type,
        },
    })
}

/// `DocumentParser`: the source must be one JSON object without repeated keys, with valid field
/// names, no metadata fields at its root and objects no deeper than the mapping depth limit. What
/// the parsed source takes is reserved on `held` as it is parsed: it is what the engine will keep.
pub fn parse_source(
    bytes: &[u8],
    held: &mut Reservation,
    action: &'static str,
) -> Result<Map<String, Value>, RestError> {
    let failure = |reason: String| {
        RestError::exception(400, EsError::new("document_parsing_exception", reason))
    };
    let source = match strict_json::from_slice_reserving(bytes, held, action) {
        Ok(Value::Object(source)) => source,
        Ok(_) => {
            return Err(failure(
                "[1:1] Malformed content, must start with an object".into(),
            ))
        }
        Err(ParseFailure::Refused(refused)) => return Err(refused.into()),
        Err(ParseFailure::Json(e)) => {
            return Err(failure(format!(
                "[{}:{}] failed to parse: {}",
                e.line(),
                e.column(),
                super::json_message(&e)
            )))
        }
    };
    strict_json::check_document(&source).map_err(|problem| {
        let at = strict_json::field_location(bytes, problem.field());
        match problem {
            DocumentProblem::Metadata(field) => failure(format!(
                "{at} Field [{field}] is a metadata field and cannot be added inside a document. Use the index API request parameters."
            )),
            DocumentProblem::Blank { path, .. } => failure(format!(
                "{at} Field name cannot contain only whitespace: [{path}]"
            )),
            DocumentProblem::Illegal { message, .. } => RestError::exception(
                400,
                EsError::new(
                    "document_parsing_exception",
                    format!("{at} failed to parse: {message}"),
                )
                .caused_by(EsError::new("illegal_argument_exception", message)),
            ),
        }
    })?;
    Ok(source)
}

/// Elasticsearch's `URLEncoder` form of a path segment or parameter.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// A write's reply: its status, `forced_refresh` after `result` when `refresh=true` made one, and
/// the `Location` of a created document.
pub fn write_reply(
    response: &WriteResponse,
    refresh: Refresh,
    routing: Option<&str>,
) -> Response<Body> {
    reply_with_body(response, response_object(response, refresh), routing)
}

/// [`write_reply`] with the body already built.
pub fn reply_with_body(
    response: &WriteResponse,
    body: Map<String, Value>,
    routing: Option<&str>,
) -> Response<Body> {
    let mut reply = reply(response.status(), &Value::Object(body));
    if response.status() == 201 {
        let mut location = format!(
            "/{}/_doc/{}",
            url_encode(&response.index),
            url_encode(&response.id)
        );
        if let Some(routing) = routing {
            location.push_str(&format!("?routing={}", url_encode(routing)));
        }
        if let Ok(value) = HeaderValue::from_str(&location) {
            reply.headers_mut().insert(header::LOCATION, value);
        }
    }
    reply
}

/// The write response as a JSON object, with `forced_refresh` where Elasticsearch puts it.
pub fn response_object(response: &WriteResponse, refresh: Refresh) -> Map<String, Value> {
    let fields = WriteBody::from(response).to_object();
    if refresh != Refresh::Immediate || response.result == crate::protocol::WriteResult::Noop {
        return fields;
    }
    let mut out = Map::new();
    for (key, value) in fields {
        let after_result = key == "result";
        out.insert(key, value);
        if after_result {
            out.insert("forced_refresh".into(), Value::Bool(true));
        }
    }
    out
}

async fn write_document(
    state: ClusterState,
    Node(node): Node,
    index: String,
    id: Option<String>,
    mut params: Params,
    body: EsBody,
    default_op_type: OpType,
) -> Result<Response<Body>, RestError> {
    let bytes = body.required()?;
    let write = read_write_params(&mut params, Some(default_op_type))?;
    params.finish()?;
    let condition =
        validate_index(id.as_deref(), &write.params).map_err(|e| RestError::validation(&e))?;
    write.checks.check(&index)?;
    let cluster = &state.0;
    let index = cluster.indices.get_or_create(&index)?;
    let id = id.unwrap_or_else(|| cluster.ids.next_id());
    // The document the engine will keep, reserved until the engine has it.
    let mut held = cluster.breakers.reserve(Child::Request, 0, INDEX_ACTION)?;
    let source = parse_source(bytes, &mut held, INDEX_ACTION)?;
    let source = Arc::new(Document::routed(source, write.routing.as_deref()));
    let (number, shard) = index.route(&id, write.routing.as_deref());
    let describe = || {
        format!(
            "index {{[{}][{id}], source[{}]}}",
            index.name,
            Value::Object(source.fields().clone())
        )
    };
    write
        .wait
        .check(&index, number, write.refresh, describe)
        .await?;
    let response = shard
        .write(
            node,
            Write::Index {
                id,
                source,
                condition,
            },
            write.wait.timeout(),
        )
        .await?;
    shard.refreshed(write.refresh).await;
    Ok(write_reply(
        &response,
        write.refresh,
        write.routing.as_deref(),
    ))
}

/// `PUT|POST /{index}/_doc/{id}`.
pub async fn index(
    state: ClusterState,
    Node(node): Node,
    EsPath((index, id)): EsPath<(String, String)>,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    let params = params.path_params(&["index", "id"]);
    write_document(
        state,
        Node(node),
        index,
        Some(id),
        params,
        body,
        OpType::Index,
    )
    .await
}

/// `POST /{index}/_doc`: an auto-generated id, `op_type` defaulting to `create`.
pub async fn index_auto_id(
    state: ClusterState,
    Node(node): Node,
    EsPath(index): EsPath<String>,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    let params = params.path_params(&["index"]);
    write_document(state, Node(node), index, None, params, body, OpType::Create).await
}

/// `PUT|POST /{index}/_create/{id}`: `op_type` must be (and is) `create`.
pub async fn create(
    state: ClusterState,
    Node(node): Node,
    EsPath((index, id)): EsPath<(String, String)>,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    let mut params = params.path_params(&["index", "id"]);
    if let Some(op_type) = params.str("op_type") {
        if op_type != "create" {
            return Err(RestError::illegal_argument(format!(
                "opType must be 'create', found: [{op_type}]"
            )));
        }
    }
    write_document(
        state,
        Node(node),
        index,
        Some(id),
        params,
        body,
        OpType::Create,
    )
    .await
}

/// `DELETE /{index}/_doc/{id}`. A missing index is `index_not_found_exception`; a missing
/// document answers `not_found` (404) with a normal write response.
pub async fn delete(
    state: ClusterState,
    Node(node): Node,
    EsPath((index, id)): EsPath<(String, String)>,
    params: Params,
) -> Result<Response<Body>, RestError> {
    let mut params = params.path_params(&["index", "id"]);
    let write = read_write_params(&mut params, None)?;
    params.finish()?;
    let condition = validate_delete(&id, &write.params).map_err(|e| RestError::validation(&e))?;
    let index = state.0.indices.get(&index)?;
    let (number, shard) = index.route(&id, write.routing.as_deref());
    let describe = || format!("delete {{[{}][{id}]}}", index.name);
    write
        .wait
        .check(&index, number, write.refresh, describe)
        .await?;
    let response = shard
        .write(node, Write::Delete { id, condition }, write.wait.timeout())
        .await?;
    shard.refreshed(write.refresh).await;
    Ok(write_reply(
        &response,
        write.refresh,
        write.routing.as_deref(),
    ))
}

/// A get with its parameters in `RestGetAction`'s order (`RestGetSourceAction` reads the same
/// ones), validated as `GetRequest.validate` does; realtime by default, from the refreshed view
/// with `realtime=false`, after a refresh when `refresh=true` too (`TransportGetAction.asyncGet`
/// refreshes only then); the source filtered as `_source`, `_source_includes`,
/// `_source_excludes` and `stored_fields` ask ([`SourceFilter::for_get`]).
async fn get_document(
    state: &ClusterState,
    node: Option<usize>,
    index: &str,
    id: &str,
    params: Params,
) -> Result<GetResponse, RestError> {
    let mut params = params.path_params(&["index", "id"]);
    let refresh = params.boolean("refresh")?.unwrap_or(false);
    let routing = params.str("routing");
    let preference = params.str("preference");
    let realtime = params.boolean("realtime")?.unwrap_or(true);
    if params.has("fields") {
        return Err(RestError::illegal_argument(
            "the parameter [fields] is no longer supported, please use [stored_fields] to retrieve stored fields or [_source] to load the field from _source",
        ));
    }
    let stored_fields = params.list("stored_fields");
    let version = params.long("version")?;
    let version_type = params
        .str("version_type")
        .map(|v| VersionType::parse(&v).map_err(RestError::illegal_argument))
        .transpose()?;
    let requested = SourceFilter::requested(&mut params)?;
    params.boolean("force_synthetic_source")?;
    params.finish()?;
    let version = validate_get(version, version_type).map_err(|e| RestError::validation(&e))?;
    let index = state.0.indices.get(index)?;
    let (_, shard) = index.route(id, routing.as_deref());
    if refresh && !realtime {
        shard.refreshed(Refresh::Immediate).await;
    }
    let mut response = shard.read(node, preference.as_deref(), id, version, realtime)?;
    let filter = SourceFilter::for_get(requested, stored_fields.as_deref());
    response.source = filter.apply(response.source.take());
    Ok(response)
}

/// `GET|HEAD /{index}/_doc/{id}`: 200 with the document, 404 `found: false`.
pub async fn get(
    state: ClusterState,
    Node(node): Node,
    EsPath((index, id)): EsPath<(String, String)>,
    params: Params,
) -> Result<Response<Body>, RestError> {
    let response = get_document(&state, node, &index, &id, params).await?;
    Ok(reply(response.status(), &GetBody::from(&response)))
}

/// `GET|HEAD /{index}/_source/{id}`: the source alone, or 404 `resource_not_found_exception`.
pub async fn get_source(
    state: ClusterState,
    Node(node): Node,
    EsPath((index, id)): EsPath<(String, String)>,
    params: Params,
) -> Result<Response<Body>, RestError> {
    let response = get_document(&state, node, &index, &id, params).await?;
    match response.source {
        Some(source) if response.found => Ok(reply(200, source.fields())),
        _ => Err(RestError::exception(
            404,
            EsError::new(
                "resource_not_found_exception",
                format!("Document not found [{index}]/[{id}]"),
            ),
        )),
    }
}
