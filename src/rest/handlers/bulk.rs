//! `POST /_bulk` and `POST /{index}/_bulk`: NDJSON index, create, update and delete actions, each
//! with its own `if_seq_no`, `if_primary_term`, `version`, `version_type`, `retry_on_conflict`;
//! one result per item, in order, under `{"errors","took","items"}` (always 200).
//!
//! As in Elasticsearch, a malformed line or an item that fails validation fails the whole request
//! with 400; conflicts, missing documents and unparseable sources fail only their item.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::Response;
use serde_json::{Map, Value};

use super::documents::{parse_source, response_object};
use super::update::{engine_request, update_params, update_response_object};
use super::{EsBody, EsPath, Node};
use crate::engine::{Document, FetchedSource};
use crate::engine::{Write, WriteResponse};
use crate::protocol::validate::{check_given_id, validate_delete, validate_index, validate_update};
use crate::protocol::{ChangeId, Condition, ValidationErrors};
use crate::rest::breaker::{Child, CircuitBreaking, Reservation};
use crate::rest::bulk_request::{self, BulkItem, BulkOp};
use crate::rest::error::RestError;
use crate::rest::ingest_and_aliases::IngestAndAliases;
use crate::rest::json;
use crate::rest::params::{Params, Refresh};
use crate::rest::server::{Cluster, ClusterState};
use crate::rest::source_filter::SourceFilter;
use crate::rest::status::Status;
use crate::rest::strict_json::object_heap_size;
use crate::rest::wait_for_active::WaitForActive;

/// What validation decided for an item (kept beside the items, so that they are not moved into
/// a second vector of their size).
struct Decided {
    index: String,
    condition: Condition,
    if_seq_no: Option<ChangeId>,
}

/// `BulkRequest.validate`: every item's errors, in order, fail the request together; otherwise
/// one decision per item.
fn validate(items: &[BulkItem], default_index: Option<&str>) -> Result<Vec<Decided>, RestError> {
    let mut errors = ValidationErrors::default();
    if items.is_empty() {
        errors.add("no requests added");
    }
    let mut decided = Vec::with_capacity(items.len());
    for item in items {
        let index = item
            .index
            .clone()
            .or_else(|| default_index.map(String::from));
        if index.is_none() {
            errors.add("index is missing");
        }
        let id = item.id.as_deref().unwrap_or("");
        if matches!(item.op, BulkOp::Delete | BulkOp::Update(_)) && id.is_empty() {
            errors.add("id is missing");
        }
        let (condition, if_seq_no) = match &item.op {
            BulkOp::Index(_) => match validate_index(item.id.as_deref(), &item.params) {
                Ok(condition) => (condition, None),
                Err(e) => {
                    errors.0.extend(e.0);
                    continue;
                }
            },
            BulkOp::Delete => match validate_delete(id, &item.params) {
                Ok(condition) => (condition, None),
                Err(e) => {
                    errors.0.extend(e.0);
                    continue;
                }
            },
            BulkOp::Update(body) => {
                let params = update_params(
                    item.params.if_seq_no,
                    item.params.if_primary_term,
                    item.retry_on_conflict,
                    body,
                );
                match validate_update(id, &params) {
                    Ok(if_seq_no) => (Condition::None, if_seq_no),
                    Err(e) => {
                        errors.0.extend(e.0);
                        continue;
                    }
                }
            }
        };
        if let Some(index) = index {
            decided.push(Decided {
                index,
                condition,
                if_seq_no,
            });
        }
    }
    errors
        .into_result()
        .map_err(|e| RestError::validation(&e))?;
    Ok(decided)
}

/// What an update item's response shows of the updated document.
type Fetch = Option<(SourceFilter, FetchedSource)>;

/// The result of one item: its write response (with what an update fetched) or the exception
/// and status it failed with.
fn item_result(
    action: &str,
    index: &str,
    id: Option<&str>,
    result: Result<(WriteResponse, Fetch), RestError>,
    refresh: Refresh,
) -> (bool, Value) {
    let mut body = Map::new();
    let failed = match result {
        Ok((response, fetch)) => {
            body = match action {
                "update" => update_response_object(&response, refresh, fetch.as_ref()),
                _ => response_object(&response, refresh),
            };
            body.insert("status".into(), Value::from(response.status()));
            false
        }
        Err(error) => {
            body.insert("_index".into(), Value::from(index));
            body.insert("_id".into(), Value::from(id));
            body.insert("status".into(), Value::from(error.status()));
            if let Some(exception) = error.exception_object() {
                body.insert("error".into(), Value::Object(exception));
            }
            true
        }
    };
    let mut item = Map::new();
    item.insert(action.into(), Value::Object(body));
    (failed, Value::Object(item))
}

/// What the request's URL gives every item: `routing`, `pipeline`, `require_alias`.
struct RequestDefaults {
    routing: Option<String>,
    pipeline: Option<String>,
    require_alias: bool,
}

impl RequestDefaults {
    /// An item's pipeline (index and create items only) and alias flag (not for deletes), its
    /// action line's over the request's (`BulkRequestParser`).
    fn checks(&self, item: &BulkItem) -> IngestAndAliases {
        IngestAndAliases {
            pipeline: match item.op {
                BulkOp::Index(_) => item.pipeline.clone().or_else(|| self.pipeline.clone()),
                _ => None,
            },
            require_alias: match item.op {
                BulkOp::Delete => false,
                _ => item.require_alias.unwrap_or(self.require_alias),
            },
        }
    }
}

/// Run one validated item against its shard, after what `TransportBulkAction` checks before
/// routing it: pipeline and alias flags, the index (auto-created), a given `_id` not empty.
async fn execute(
    cluster: &Cluster,
    node: Option<usize>,
    (item, decided): (BulkItem, Decided),
    defaults: &RequestDefaults,
    wait: &WaitForActive,
    refresh: Refresh,
    unavailable: &mut HashSet<(String, usize)>,
) -> (bool, Value) {
    let Decided {
        index: index_name,
        condition,
        if_seq_no,
    } = decided;
    // An auto id is generated once the index is resolved; a failure before shows none.
    let mut shown_id = item.id.clone();
    let routing = item.routing.as_deref().or(defaults.routing.as_deref());
    let mut action = item.action;
    let checks = defaults.checks(&item);
    let result = async {
        checks.check(&index_name)?;
        let index = match item.op {
            BulkOp::Delete => cluster.indices.get(&index_name)?,
            _ => cluster.indices.get_or_create(&index_name)?,
        };
        if let (BulkOp::Index(_), Some(given)) = (&item.op, &item.id) {
            check_given_id(given).map_err(RestError::illegal_argument)?;
        }
        let id = shown_id
            .get_or_insert_with(|| cluster.ids.next_id())
            .clone();
        let (number, shard) = index.route(&id, routing);
        // A shard found short of copies once fails its other items without waiting again.
        let describe = || format!("{} {{[{index_name}][{id}]}}", item.action);
        let key = (index_name.clone(), number);
        if unavailable.contains(&key) {
            if let Some(error) = wait.shortfall(&index, number, refresh, describe) {
                return Err(error);
            }
        } else if let Err(error) = wait.check(&index, number, refresh, describe).await {
            unavailable.insert(key);
            return Err(error);
        }
        match item.op {
            BulkOp::Index(source) => {
                // Each item's parsed source is held until the engine has it.
                let mut held = cluster.breakers.reserve(Child::Request, 0, BULK_ACTION)?;
                let source = parse_source(&source, &mut held, BULK_ACTION)?;
                let source = Arc::new(Document::routed(source, routing));
                let id = id.clone();
                let response = shard
                    .write(
                        node,
                        Write::Index {
                            id,
                            source,
                            condition,
                        },
                        wait.timeout(),
                    )
                    .await?;
                Ok((response, None))
            }
            BulkOp::Delete => {
                let id = id.clone();
                let response = shard
                    .write(node, Write::Delete { id, condition }, wait.timeout())
                    .await?;
                Ok((response, None))
            }
            BulkOp::Update(body) => {
                let (request, fetch) = engine_request(
                    *body,
                    item.source.as_ref(),
                    item.retry_on_conflict,
                    if_seq_no,
                    routing,
                );
                let id = id.clone();
                let write = Write::Update { id, request };
                let (result, translated) = shard.write_bulk_item(node, write, wait.timeout()).await;
                match translated {
                    Some(Write::Delete { .. }) => action = "delete",
                    Some(_) => action = "index",
                    None => {}
                }
                Ok((result?, fetch))
            }
        }
    }
    .await;
    item_result(action, &index_name, shown_id.as_deref(), result, refresh)
}

async fn run_bulk(
    state: ClusterState,
    Node(node): Node,
    default_index: Option<String>,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    let started = Instant::now();
    let mut params = params;
    let routing = params.str("routing");
    let active = params.active_shards()?;
    let pipeline = params.str("pipeline");
    let require_alias = params.boolean("require_alias")?.unwrap_or(false);
    let timeout_text = params.str("timeout");
    let timeout = params.time("timeout")?;
    let refresh = params.refresh()?;
    let items = bulk_request::parse(body.required()?, state.0.max_bulk_items)?;
    params.finish()?;
    let held = state
        .0
        .breakers
        .reserve(Child::Request, items_heap_size(&items), BULK_ACTION)?;
    let decided = validate(&items, default_index.as_deref())?;
    let wait = WaitForActive::new(active, timeout_text, timeout);
    let cluster = &state.0;
    let mut response = BulkResponse::new(held);
    let mut unavailable = HashSet::new();
    let defaults = RequestDefaults {
        routing,
        pipeline,
        require_alias,
    };
    let mut written = std::collections::BTreeSet::new();
    for (item, decided) in items.into_iter().zip(decided) {
        written.insert(decided.index.clone());
        let (failed, result) = match &response.refused {
            // The response would take the request breaker over its limit: the remaining items
            // fail with the breaker's exception, unexecuted, as a shard's breaker fails its items.
            Some(refused) => {
                let error = Err(RestError::CircuitBreaking(refused.clone()));
                let id = item.id.as_deref().or(Some(""));
                item_result(item.action, &decided.index, id, error, refresh)
            }
            None => {
                execute(
                    cluster,
                    node,
                    (item, decided),
                    &defaults,
                    &wait,
                    refresh,
                    &mut unavailable,
                )
                .await
            }
        };
        response.push(failed, &result);
    }
    // The request's refresh policy, once for every shard of the indices it wrote to.
    for index in written
        .iter()
        .filter_map(|name| cluster.indices.get(name).ok())
    {
        for shard in index.shards() {
            shard.refreshed(refresh).await;
        }
    }
    Ok(response.finish(started))
}

/// `BulkRequest`'s action name, the label of its breaker reservations.
const BULK_ACTION: &str = "indices:data/write/bulk";

/// What parsed items hold on the heap: the items, their sources, ids and names.
fn items_heap_size(items: &[BulkItem]) -> u64 {
    let strings = |item: &BulkItem| {
        [&item.index, &item.id, &item.routing]
            .iter()
            .map(|s| s.as_ref().map_or(0, String::len))
            .sum::<usize>()
    };
    items
        .iter()
        .map(|item| {
            let op = match &item.op {
                BulkOp::Index(source) => source.len() as u64,
                BulkOp::Delete => 0,
                BulkOp::Update(body) => {
                    [&body.doc, &body.upsert]
                        .iter()
                        .map(|o| o.as_ref().map_or(0, object_heap_size))
                        .sum::<u64>()
                        + body
                            .script
                            .as_ref()
                            .map_or(0, |s| s.source.len() as u64 + object_heap_size(&s.params))
                }
            };
            std::mem::size_of::<BulkItem>() as u64 + strings(item) as u64 + op
        })
        .sum()
}

/// Room at the start of the response for `{"errors":false,"took":<u64>,"items":[`, written last.
const HEAD_ROOM: usize = 64;

/// The bulk response, serialized item by item as it grows (a tree of JSON values would take
/// several times the bytes), each item's bytes reserved on the request breaker. The head, known
/// only at the end, goes into room left before the items, so the body is never copied.
struct BulkResponse {
    buffer: Vec<u8>,
    errors: bool,
    held: Reservation,
    /// Set once the breaker refused to hold more: the remaining items fail with it.
    refused: Option<CircuitBreaking>,
}

impl BulkResponse {
    fn new(held: Reservation) -> BulkResponse {
        BulkResponse {
            buffer: vec![b' '; HEAD_ROOM],
            errors: false,
            held,
            refused: None,
        }
    }

    fn push(&mut self, failed: bool, result: &Value) {
        let bytes = json::to_bytes(result);
        if self.refused.is_none() {
            if let Err(refused) = self.held.grow(bytes.len() as u64 + 1, BULK_ACTION) {
                self.refused = Some(refused);
            }
        }
        if self.buffer.len() > HEAD_ROOM {
            self.buffer.push(b',');
        }
        self.buffer.extend_from_slice(&bytes);
        self.errors |= failed;
    }

    /// `{"errors":..,"took":..,"items":[..]}`.
    fn finish(mut self, started: Instant) -> Response<Body> {
        let took = started.elapsed().as_millis() as u64;
        let head = format!(r#"{{"errors":{},"took":{took},"items":["#, self.errors);
        let start = HEAD_ROOM - head.len();
        self.buffer[start..HEAD_ROOM].copy_from_slice(head.as_bytes());
        self.buffer.extend_from_slice(b"]}");
        let body = axum::body::Bytes::from(self.buffer).slice(start..);
        json::response(200, body)
    }
}

/// `POST|PUT /_bulk`.
pub async fn bulk(
    state: ClusterState,
    Node(node): Node,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    run_bulk(state, Node(node), None, params, body).await
}

/// `POST|PUT /{index}/_bulk`: items without `_index` go to `{index}`.
pub async fn bulk_index(
    state: ClusterState,
    Node(node): Node,
    EsPath(index): EsPath<String>,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    let params = params.path_params(&["index"]);
    run_bulk(state, Node(node), Some(index), params, body).await
}
