//! `GET|POST /_mget` and `GET|POST /{index}/_mget` (`RestMultiGetAction`, `MultiGetRequest`,
//! `TransportMultiGetAction`): many realtime gets in one request, each answered in its place.
//!
//! The body is `{"docs": [{"_index", "_id", "routing", "_source", "stored_fields", "version",
//! "version_type"}, ..]}` or `{"ids": [..]}` (with the path's index). A malformed body fails the
//! request (`parse_exception`, `parsing_exception`, `illegal_argument_exception`), and so does a
//! missing index or id (`action_request_validation_exception`, numbered per doc); a missing
//! index, a version conflict or a bad preference fails only its item
//! (`MultiGetResponse.Failure`: `_index`, `_id`, `error`).

use std::collections::HashSet;

use axum::body::Body;
use axum::http::Response;
use serde_json::{Map, Value};

use super::{reply, EsBody, EsPath, Node};
use crate::protocol::{ValidationErrors, VersionType};
use crate::rest::bulk_request::{text, token};
use crate::rest::envelope::EsError;
use crate::rest::error::RestError;
use crate::rest::params::{Params, Refresh};
use crate::rest::responses::GetBody;
use crate::rest::server::ClusterState;
use crate::rest::source_filter::SourceFilter;
use crate::rest::strict_json::{self, field_location};

/// One document to get.
#[derive(Debug, Default)]
struct Item {
    index: Option<String>,
    id: Option<String>,
    routing: Option<String>,
    /// `stored_fields`: with no `_source` asked for, the source is left out (esocc maps no
    /// stored fields, so `fields` never appears).
    stored_fields: Option<Vec<String>>,
    source: Option<SourceFilter>,
    version: Option<(i64, VersionType)>,
}

/// What the URL gives every item.
struct Defaults {
    index: Option<String>,
    routing: Option<String>,
    stored_fields: Option<Vec<String>>,
    source: Option<SourceFilter>,
}

fn parse_error(reason: String) -> RestError {
    RestError::exception(400, EsError::new("parse_exception", reason))
}

/// `ParsingException`: the reason and where (`line`, `col`), at the value of `key`.
fn parsing_error(bytes: &[u8], key: &str, reason: String) -> RestError {
    let at = field_location(bytes, key);
    let (line, col) = at
        .trim_matches(|c| c == '[' || c == ']')
        .split_once(':')
        .map(|(l, c)| (l.parse().unwrap_or(1), c.parse::<u64>().unwrap_or(1)))
        .unwrap_or((1, 1));
    let col = col + key.len() as u64 + 3;
    RestError::exception(
        400,
        EsError::new("parsing_exception", reason)
            .with_detail("line", line.into())
            .with_detail("col", col.into()),
    )
}

/// A scalar's text (`parser.text()`); `null` is no value.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::Null | Value::Array(_) | Value::Object(_) => None,
        other => Some(text(other)),
    }
}

/// One element of `docs` (`MultiGetRequest.parseDocuments`).
fn parse_doc(value: &Value, defaults: &Defaults, bytes: &[u8]) -> Result<Item, RestError> {
    let Value::Object(fields) = value else {
        return Err(RestError::illegal_argument(
            "docs array element should include an object",
        ));
    };
    let mut item = Item {
        index: defaults.index.clone(),
        routing: defaults.routing.clone(),
        ..Item::default()
    };
    let mut version = None;
    let mut version_type = VersionType::Internal;
    for (key, value) in fields {
        let unknown = || {
            parse_error(format!(
                "failed to parse multi get request. unknown field [{key}]"
            ))
        };
        match (key.as_str(), value) {
            ("fields", _) => {
                return Err(parsing_error(
                    bytes,
                    key,
                    "Unsupported field [fields] used, expected [stored_fields] instead".into(),
                ))
            }
            ("_source", value) => {
                item.source = Some(SourceFilter::from_body(value).ok_or_else(|| {
                    parse_error(format!("illegal type for _source: [{}]", token(value)))
                })?)
            }
            ("stored_fields", Value::Array(names)) => {
                item.stored_fields = Some(names.iter().filter_map(scalar).collect())
            }
            (_, Value::Array(_) | Value::Object(_) | Value::Null) => {}
            ("_index", v) => item.index = scalar(v),
            ("_id", v) => item.id = scalar(v),
            ("routing", v) => item.routing = scalar(v),
            ("stored_fields", v) => item.stored_fields = scalar(v).map(|f| vec![f]),
            ("version", v) => {
                version = Some(v.as_i64().ok_or_else(|| {
                    RestError::illegal_argument(format!("For input string: \"{}\"", text(v)))
                })?)
            }
            ("version_type", v) => {
                version_type = VersionType::parse(&text(v)).map_err(RestError::illegal_argument)?
            }
            _ => return Err(unknown()),
        }
    }
    item.version = version.map(|v| (v, version_type));
    if item.stored_fields.is_none() {
        item.stored_fields = defaults.stored_fields.clone();
    }
    if item.source.is_none() {
        item.source = defaults.source.clone();
    }
    Ok(item)
}

/// The request's items (`MultiGetRequest.add`).
fn parse_items(bytes: &[u8], defaults: &Defaults) -> Result<Vec<Item>, RestError> {
    let body = match strict_json::from_slice(bytes) {
        Ok(Value::Object(body)) => body,
        Ok(other) => {
            return Err(RestError::exception(
                400,
                EsError::new(
                    "parsing_exception",
                    format!(
                        "unexpected token [{}], expected [START_OBJECT]",
                        token(&other)
                    ),
                )
                .with_detail("line", 1.into())
                .with_detail("col", 1.into()),
            ))
        }
        Err(e) => {
            return Err(RestError::x_content_parse(format!(
                "[{}:{}] {}",
                e.line(),
                e.column(),
                super::json_message(&e)
            )))
        }
    };
    let mut items = Vec::new();
    for (key, value) in &body {
        match (key.as_str(), value) {
            ("docs", Value::Array(docs)) => {
                for doc in docs {
                    items.push(parse_doc(doc, defaults, bytes)?);
                }
            }
            ("ids", Value::Array(ids)) => {
                for id in ids {
                    let id = scalar(id).ok_or_else(|| {
                        RestError::illegal_argument("ids array element should only contain ids")
                    })?;
                    items.push(Item {
                        index: defaults.index.clone(),
                        id: Some(id),
                        routing: defaults.routing.clone(),
                        stored_fields: defaults.stored_fields.clone(),
                        source: defaults.source.clone(),
                        version: None,
                    });
                }
            }
            (_, Value::Array(_)) => {
                return Err(parsing_error(
                    bytes,
                    key,
                    format!("unknown key [{key}] for a START_ARRAY, expected [docs] or [ids]"),
                ))
            }
            (_, other) => {
                return Err(parsing_error(
                    bytes,
                    key,
                    format!(
                        "unexpected token [{}], expected [FIELD_NAME] or [START_ARRAY]",
                        token(other)
                    ),
                ))
            }
        }
    }
    Ok(items)
}

/// `MultiGetRequest.validate`.
fn validate(items: &[Item]) -> Result<(), RestError> {
    let mut errors = ValidationErrors::default();
    if items.is_empty() {
        errors.add("no documents to get");
    }
    for (i, item) in items.iter().enumerate() {
        if item.index.is_none() {
            errors.add(format!("index is missing for doc {i}"));
        }
        if item.id.is_none() {
            errors.add(format!("id is missing for doc {i}"));
        }
    }
    errors.into_result().map_err(|e| RestError::validation(&e))
}

/// One item's answer: the get result, or `{_index, _id, error}`.
fn answer(
    state: &ClusterState,
    node: Option<usize>,
    preference: Option<&str>,
    realtime: bool,
    item: Item,
) -> Value {
    let index = item.index.unwrap_or_default();
    let id = item.id.unwrap_or_default();
    let result = state.0.indices.get(&index).and_then(|found| {
        let (_, shard) = found.route(&id, item.routing.as_deref());
        let mut response = shard.read(node, preference, &id, item.version, realtime)?;
        let filter = SourceFilter::for_get(item.source, item.stored_fields.as_deref());
        response.source = filter.apply(response.source.take());
        Ok(response)
    });
    match result {
        Ok(response) => serde_json::to_value(GetBody::from(&response)).unwrap_or(Value::Null),
        Err(error) => {
            let mut failure = Map::new();
            failure.insert("_index".into(), index.into());
            failure.insert("_id".into(), id.into());
            if let Some(Value::Object(mut body)) = error.body() {
                if let Some(error) = body.remove("error") {
                    failure.insert("error".into(), error);
                }
            }
            Value::Object(failure)
        }
    }
}

/// `refresh=true` with `realtime=false`: each shard the items read is refreshed once before
/// any is read (`TransportShardMultiGetAction` refreshes its shard first); a missing index is
/// left to its item's error.
async fn refresh_shards_of(state: &ClusterState, items: &[Item]) {
    let mut refreshed = HashSet::new();
    for item in items {
        let (Some(index), Some(id)) = (&item.index, &item.id) else {
            continue;
        };
        let Ok(found) = state.0.indices.get(index) else {
            continue;
        };
        let (number, shard) = found.route(id, item.routing.as_deref());
        if refreshed.insert((index.clone(), number)) {
            shard.refreshed(Refresh::Immediate).await;
        }
    }
}

async fn multi_get(
    state: ClusterState,
    node: Option<usize>,
    index: Option<String>,
    mut params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    let stored_fields = params.list("stored_fields");
    let routing = params.str("routing");
    let preference = params.str("preference");
    let realtime = params.boolean("realtime")?.unwrap_or(true);
    let refresh = params.boolean("refresh")?.unwrap_or(false);
    params.boolean("force_synthetic_source")?;
    let source = SourceFilter::requested(&mut params)?;
    params.finish()?;
    if body.0.is_empty() {
        return Err(parse_error(
            "request body or source parameter is required".into(),
        ));
    }
    let defaults = Defaults {
        index,
        routing,
        stored_fields,
        source,
    };
    let items = parse_items(&body.0, &defaults)?;
    validate(&items)?;
    if refresh && !realtime {
        refresh_shards_of(&state, &items).await;
    }
    let docs: Vec<Value> = items
        .into_iter()
        .map(|item| answer(&state, node, preference.as_deref(), realtime, item))
        .collect();
    Ok(reply(200, &serde_json::json!({ "docs": docs })))
}

/// `GET|POST /_mget`.
pub async fn mget(
    state: ClusterState,
    Node(node): Node,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    multi_get(state, node, None, params, body).await
}

/// `GET|POST /{index}/_mget`: items without `_index` (and every `ids` item) get `{index}`.
pub async fn mget_index(
    state: ClusterState,
    Node(node): Node,
    EsPath(index): EsPath<String>,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    let params = params.path_params(&["index"]);
    multi_get(state, node, Some(index), params, body).await
}
