//! `GET|POST /{index}/_search`, `/_search`, `GET|POST /{index}/_count`, `/_count`: the query
//! over each shard's refreshed view (never the live documents a realtime GET reads), hits in
//! Elasticsearch's `SearchResponse` shape.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::Response;
use serde_json::{json, Map, Value};

use super::{reply, EsBody, EsPath};
use crate::engine::SearchView;
use crate::rest::error::RestError;
use crate::rest::index_expression::{resolve, IndicesOptions};
use crate::rest::params::Params;
use crate::rest::registry::{Index, Registry};
use crate::rest::search_request::{apply_search_params, QueryParser, SearchRequest};
use crate::rest::server::ClusterState;
use crate::search::{matching, Hit, SortField};

/// The indices a search-like request reads: the path's expression under `SearchRequest`'s
/// default `IndicesOptions` and the URL's (read by [`IndicesOptions::from_params`]).
pub fn searched_indices(
    registry: &Registry,
    expression: Option<&str>,
    options: IndicesOptions,
) -> Result<Vec<Arc<Index>>, RestError> {
    resolve(&registry.all(), expression, options)
}

/// The searched shards: each one's refreshed view and the index it belongs to.
pub struct Searched {
    pub views: Vec<SearchView>,
    pub indices: Vec<Arc<Index>>,
    /// For each view, its index's position in `indices` and its shard number.
    owner: Vec<(usize, usize)>,
}

impl Searched {
    pub fn take(indices: Vec<Arc<Index>>) -> Result<Searched, RestError> {
        let mut views = Vec::new();
        let mut owner = Vec::new();
        for (n, index) in indices.iter().enumerate() {
            for (number, shard) in index.shards().iter().enumerate() {
                views.push(shard.search_view()?);
                owner.push((n, number));
            }
        }
        Ok(Searched {
            views,
            indices,
            owner,
        })
    }

    /// The index of a hit.
    pub fn index_of(&self, hit: &Hit) -> &Arc<Index> {
        &self.indices[self.owner[hit.shard].0]
    }

    /// The shard a hit was found on.
    pub fn shard_of(&self, hit: &Hit) -> &crate::rest::shard::Shard {
        let (index, number) = self.owner[hit.shard];
        &self.indices[index].shards()[number]
    }

    /// `_shards` of a search response: every searched shard succeeded.
    pub fn shards(&self) -> Value {
        let n = self.views.len();
        json!({"total": n, "successful": n, "skipped": 0, "failed": 0})
    }
}

/// Parse the body and parameters of a search.
fn search_request(params: &mut Params, body: &EsBody) -> Result<SearchRequest, RestError> {
    let mut request = SearchRequest::default();
    if let Some(object) = body.object()? {
        QueryParser::new(&body.0).search_body(&object, &mut request)?;
    }
    apply_search_params(params, &mut request)?;
    Ok(request)
}

fn hit_json(searched: &Searched, request: &SearchRequest, hit: &Hit, scored: bool) -> Value {
    let mut out = Map::new();
    out.insert("_index".into(), json!(searched.index_of(hit).name));
    out.insert("_id".into(), json!(hit.id));
    if request.version {
        out.insert("_version".into(), json!(hit.doc.meta.version));
    }
    if request.seq_no_primary_term {
        out.insert("_seq_no".into(), json!(hit.doc.meta.seq_no));
        out.insert("_primary_term".into(), json!(hit.doc.meta.primary_term));
    }
    out.insert(
        "_score".into(),
        if scored {
            json!(hit.score)
        } else {
            Value::Null
        },
    );
    if let Some(routing) = hit.doc.source.routing() {
        out.insert("_routing".into(), json!(routing));
    }
    if let Some(source) = request.source.apply(Some(hit.doc.source.clone())) {
        out.insert("_source".into(), Value::Object(source.fields().clone()));
    }
    if !request.sort.is_empty() {
        out.insert("sort".into(), Value::Array(hit.sort.clone()));
    }
    Value::Object(out)
}

/// The search response (`SearchResponse.toXContent`).
fn respond(searched: &Searched, request: &SearchRequest, started: Instant) -> Value {
    let hits = matching(&searched.views, &request.query, &request.sort);
    let scored =
        request.sort.is_empty() || request.sort.iter().any(|k| k.field == SortField::Score);
    let max_score = hits
        .iter()
        .map(|h| h.score)
        .reduce(f64::max)
        .filter(|_| scored);
    let page: Vec<Value> = hits
        .iter()
        .skip(request.from)
        .take(request.size)
        .map(|hit| hit_json(searched, request, hit, scored))
        .collect();
    let mut hits_object = Map::new();
    if let Some(track) = request.track_total_hits {
        let (value, relation) = if hits.len() > track {
            (track, "gte")
        } else {
            (hits.len(), "eq")
        };
        hits_object.insert(
            "total".into(),
            json!({"value": value, "relation": relation}),
        );
    }
    hits_object.insert("max_score".into(), json!(max_score));
    hits_object.insert("hits".into(), Value::Array(page));
    json!({
        "took": started.elapsed().as_millis() as u64,
        "timed_out": false,
        "_shards": searched.shards(),
        "hits": Value::Object(hits_object),
    })
}

async fn run_search(
    state: ClusterState,
    indices: Option<&str>,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    let started = Instant::now();
    let mut params = params.path_params(&["index"]);
    let options = IndicesOptions::STRICT_EXPAND.from_params(&mut params)?;
    let request = search_request(&mut params, &body)?;
    params.finish()?;
    let searched = Searched::take(searched_indices(&state.0.indices, indices, options)?)?;
    Ok(reply(200, &respond(&searched, &request, started)))
}

/// `GET|POST /{index}/_search`.
pub async fn search(
    state: ClusterState,
    EsPath(index): EsPath<String>,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    run_search(state, Some(&index), params, body).await
}

/// `GET|POST /_search`: every index.
pub async fn search_all(
    state: ClusterState,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    run_search(state, None, params, body).await
}

/// The query of a `_count` or by-query body (only `query` is allowed in it, as
/// `RestActions.getQueryContent` parses it).
pub fn body_query(
    body: &EsBody,
    allowed: &[&str],
) -> Result<Option<Map<String, Value>>, RestError> {
    let Some(object) = body.object()? else {
        return Ok(None);
    };
    let parser = QueryParser::new(&body.0);
    for key in object.keys() {
        if key != "query" && !allowed.contains(&key.as_str()) {
            return Err(RestError::exception(
                400,
                crate::rest::envelope::EsError::new(
                    "parsing_exception",
                    format!("request does not support [{key}]"),
                ),
            ));
        }
    }
    if let Some(query) = object.get("query") {
        parser.query(query)?;
    }
    Ok(Some(object))
}

async fn run_count(
    state: ClusterState,
    indices: Option<&str>,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    let mut params = params.path_params(&["index"]);
    let options = IndicesOptions::STRICT_EXPAND.from_params(&mut params)?;
    let object = body_query(&body, &[])?;
    let query = match object.as_ref().and_then(|o| o.get("query")) {
        Some(query) => QueryParser::new(&body.0).query(query)?,
        None => SearchRequest::default().query,
    };
    params.accept(&[
        "ignore_throttled",
        "min_score",
        "preference",
        "routing",
        "terminate_after",
    ]);
    params.finish()?;
    let searched = Searched::take(searched_indices(&state.0.indices, indices, options)?)?;
    let count = matching(&searched.views, &query, &[]).len();
    Ok(reply(
        200,
        &json!({"count": count, "_shards": searched.shards()}),
    ))
}

/// `GET|POST /{index}/_count`.
pub async fn count(
    state: ClusterState,
    EsPath(index): EsPath<String>,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    run_count(state, Some(&index), params, body).await
}

/// `GET|POST /_count`: every index.
pub async fn count_all(
    state: ClusterState,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    run_count(state, None, params, body).await
}
