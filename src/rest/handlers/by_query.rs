//! `POST /{index}/_update_by_query` and `POST /{index}/_delete_by_query`: one pass over the
//! refreshed views of the index's shards, in `_doc` order and batches of `scroll_size`, each
//! hit written back (or deleted) through the document write path with `if_seq_no` /
//! `if_primary_term` of the version the view showed, so a document written since the refresh
//! is a version conflict. Counting and stopping follow [`crate::search::by_query`]; the answer
//! is `BulkByScrollResponse`'s.
//!
//! Differences from Elasticsearch: the pass runs to the end before answering
//! (`wait_for_completion=false`, tasks, `slices` other than 1 and throttling are not supported;
//! `requests_per_second` is accepted and ignored, and reported as `-1.0`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Response;
use serde_json::{json, Map, Value};

use super::search::{body_query, searched_indices, Searched};
use super::{reply, EsBody, EsPath, Node};
use crate::engine::update::now_millis;
use crate::engine::{Document, EngineError, Write};
use crate::protocol::coordinator::DEFAULT_TIMEOUT;
use crate::protocol::Guard;
use crate::rest::envelope::EsError;
use crate::rest::error::RestError;
use crate::rest::index_expression::IndicesOptions;
use crate::rest::params::Params;
use crate::rest::script_request::parse_script;
use crate::rest::search_request::QueryParser;
use crate::rest::server::ClusterState;
use crate::rest::status::Status;
use crate::script::{DocContext, Script, ScriptOp};
use crate::search::by_query::{Conflicts, HitOutcome, Progress};
use crate::search::{matching, Hit, Query, SortField, SortKey};

/// `AbstractBulkByScrollRequest.DEFAULT_SCROLL_SIZE`.
const DEFAULT_SCROLL_SIZE: usize = 1000;

/// Which API runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    Update,
    Delete,
}

/// A parsed by-query request.
struct ByQuery {
    query: Query,
    script: Option<Script>,
    conflicts: Conflicts,
    max_docs: Option<usize>,
    scroll_size: usize,
    refresh: bool,
    timeout: Duration,
}

fn read_request(api: Api, params: &mut Params, body: &EsBody) -> Result<ByQuery, RestError> {
    let allowed: &[&str] = match api {
        Api::Update => &["script", "max_docs", "conflicts", "size"],
        Api::Delete => &["max_docs", "conflicts", "size"],
    };
    let object = body_query(body, allowed)?.unwrap_or_default();
    let parser = QueryParser::new(&body.0);
    let query = match object.get("query") {
        Some(query) => parser.query(query)?,
        None => Query::MatchAll { boost: 1.0 },
    };
    let script = object
        .get("script")
        .map(|value| {
            parse_script(value, || {
                EsError::new(
                    "x_content_parse_exception",
                    "[UpdateByQueryRequest] failed to parse field [script]",
                )
            })
        })
        .transpose()?;
    let mut conflicts = match object.get("conflicts") {
        Some(Value::String(c)) => Conflicts::parse(c).map_err(RestError::illegal_argument)?,
        _ => Conflicts::default(),
    };
    if let Some(c) = params.str("conflicts") {
        conflicts = Conflicts::parse(&c).map_err(RestError::illegal_argument)?;
    }
    let mut max_docs = object
        .get("max_docs")
        .or_else(|| object.get("size"))
        .and_then(Value::as_u64)
        .map(|n| n as usize);
    if let Some(n) = params.long("max_docs")? {
        max_docs = Some(usize::try_from(n).map_err(|_| {
            RestError::illegal_argument(format!(
                "[max_docs] parameter cannot be negative, found [{n}]"
            ))
        })?);
    }
    let scroll_size = match params.long("scroll_size")? {
        None => DEFAULT_SCROLL_SIZE,
        Some(n) if n > 0 => n as usize,
        Some(n) => {
            return Err(RestError::illegal_argument(format!(
                "[size] parameter cannot be negative, found [{n}]"
            )))
        }
    };
    let refresh = params.boolean("refresh")?.unwrap_or(false);
    let timeout = params.time("timeout")?.unwrap_or(DEFAULT_TIMEOUT);
    if params.boolean("wait_for_completion")? == Some(false) {
        return Err(RestError::illegal_argument(
            "esocc runs by-query requests to completion: wait_for_completion=false is not supported",
        ));
    }
    params.accept(&[
        "preference",
        "requests_per_second",
        "routing",
        "scroll",
        "search_timeout",
        "slices",
        "wait_for_active_shards",
    ]);
    Ok(ByQuery {
        query,
        script,
        conflicts,
        max_docs,
        scroll_size,
        refresh,
        timeout,
    })
}

/// `BulkItemResponse.Failure.toXContent`.
fn failure_json(index: &str, id: &str, error: &EngineError) -> Value {
    json!({
        "index": index,
        "id": id,
        "cause": Value::Object(EsError::from(error).to_object(true)),
        "status": error.status(),
    })
}

/// Write one hit back as the API asks; the outcome and the error of a failure.
async fn write_hit(
    api: Api,
    request: &ByQuery,
    searched: &Searched,
    hit: &Hit,
    node: Option<usize>,
) -> (HitOutcome, Option<EngineError>) {
    let index = searched.index_of(hit);
    let shard = searched.shard_of(hit);
    // What the hit read guards its write, as a client's read-modify-write does.
    let condition = Guard::SeqNoAndTerm.condition(Some(hit.doc.meta));
    let id = hit.id.clone();
    let (write, done) = match (api, &request.script) {
        (Api::Delete, _) => (Write::Delete { id, condition }, HitOutcome::Deleted),
        (Api::Update, None) => {
            let source = hit.doc.source.clone();
            let write = Write::Index {
                id,
                source,
                condition,
            };
            (write, HitOutcome::Updated)
        }
        (Api::Update, Some(script)) => {
            let doc = DocContext {
                index: index.name.clone(),
                id: hit.id.clone(),
                version: hit.doc.meta.version,
                routing: hit.doc.source.routing().map(str::to_owned),
                now: now_millis(),
            };
            match script.run_update(hit.doc.source.fields().clone(), &doc) {
                Ok((ScriptOp::Noop, _)) => return (HitOutcome::Noop, None),
                Ok((ScriptOp::Delete, _)) => (Write::Delete { id, condition }, HitOutcome::Deleted),
                Ok((ScriptOp::Index | ScriptOp::Create, source)) => {
                    let source = Arc::new(Document::routed(source, hit.doc.source.routing()));
                    let write = Write::Index {
                        id,
                        source,
                        condition,
                    };
                    (write, HitOutcome::Updated)
                }
                Err(error) => {
                    let kind = crate::engine::ErrorKind::Script {
                        source: script.source.clone(),
                        error,
                    };
                    let shard_id = Arc::new(shard.group().shard_id().clone());
                    let error = EngineError {
                        kind,
                        shard: shard_id,
                    };
                    return (HitOutcome::Failed, Some(error));
                }
            }
        }
    };
    match shard.write(node, write, request.timeout).await {
        Ok(_) => (done, None),
        Err(error) if error.conflict().is_some() => (HitOutcome::VersionConflict, Some(error)),
        Err(error) => (HitOutcome::Failed, Some(error)),
    }
}

async fn run(
    api: Api,
    state: ClusterState,
    node: Option<usize>,
    index: String,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    let started = Instant::now();
    let mut params = params.path_params(&["index"]);
    let options = IndicesOptions::STRICT_EXPAND.from_params(&mut params)?;
    let request = read_request(api, &mut params, &body)?;
    params.finish()?;
    let indices = searched_indices(&state.0.indices, Some(&index), options)?;
    let searched = Searched::take(indices)?;
    let order = [SortKey::default_order(SortField::Doc)];
    let mut hits = matching(&searched.views, &request.query, &order);
    if let Some(max) = request.max_docs {
        hits.truncate(max);
    }
    let mut progress = Progress {
        total: hits.len() as u64,
        ..Progress::default()
    };
    let mut failures = Vec::new();
    for batch in hits.chunks(request.scroll_size) {
        progress.batches += 1;
        for hit in batch {
            let (outcome, error) = write_hit(api, &request, &searched, hit, node).await;
            if progress.record(outcome, request.conflicts) {
                if let Some(error) = error {
                    failures.push((searched.index_of(hit).name.clone(), hit.id.clone(), error));
                }
            }
        }
        if !failures.is_empty() {
            break;
        }
    }
    if request.refresh {
        for index in &searched.indices {
            index.refreshed().await;
        }
    }
    let status = failures.iter().map(|f| f.2.status()).max().unwrap_or(200);
    let mut out = Map::new();
    out.insert("took".into(), json!(started.elapsed().as_millis() as u64));
    out.insert("timed_out".into(), json!(false));
    out.insert("total".into(), json!(progress.total));
    if api == Api::Update {
        out.insert("updated".into(), json!(progress.updated));
    }
    out.insert("deleted".into(), json!(progress.deleted));
    out.insert("batches".into(), json!(progress.batches));
    out.insert(
        "version_conflicts".into(),
        json!(progress.version_conflicts),
    );
    out.insert("noops".into(), json!(progress.noops));
    out.insert("retries".into(), json!({"bulk": 0, "search": 0}));
    out.insert("throttled_millis".into(), json!(0));
    out.insert("requests_per_second".into(), json!(-1.0));
    out.insert("throttled_until_millis".into(), json!(0));
    let failures: Vec<Value> = failures
        .iter()
        .map(|(index, id, error)| failure_json(index, id, error))
        .collect();
    out.insert("failures".into(), Value::Array(failures));
    Ok(reply(status, &Value::Object(out)))
}

/// `POST /{index}/_update_by_query`.
pub async fn update_by_query(
    state: ClusterState,
    Node(node): Node,
    EsPath(index): EsPath<String>,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    run(Api::Update, state, node, index, params, body).await
}

/// `POST /{index}/_delete_by_query`.
pub async fn delete_by_query(
    state: ClusterState,
    Node(node): Node,
    EsPath(index): EsPath<String>,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    run(Api::Delete, state, node, index, params, body).await
}
