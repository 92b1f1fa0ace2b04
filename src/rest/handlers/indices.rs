//! Index management: `PUT /{index}` (with `settings.number_of_shards` / `number_of_replicas`),
//! `HEAD /{index}`, `DELETE /{index}` and `POST|GET /{index}/_refresh`, `POST|GET /_refresh`.

use axum::body::Body;
use axum::http::{Response, StatusCode};
use serde_json::json;

use super::{reply, EsBody, EsPath};
use crate::rest::error::RestError;
use crate::rest::params::Params;
use crate::rest::registry::IndexSettings;
use crate::rest::server::ClusterState;

fn index_params(params: &mut Params) -> Result<(), RestError> {
    params.time("timeout")?;
    params.time("master_timeout")?;
    params.active_shards()?;
    Ok(())
}

/// `PUT /{index}`.
pub async fn create(
    state: ClusterState,
    EsPath(index): EsPath<String>,
    params: Params,
    body: EsBody,
) -> Result<Response<Body>, RestError> {
    let mut params = params.path_params(&["index"]);
    let settings = IndexSettings::from_create_body(body.object()?.as_ref())?;
    index_params(&mut params)?;
    params.finish()?;
    let created = state.0.indices.create(&index, settings)?;
    Ok(reply(
        200,
        &json!({"acknowledged": true, "shards_acknowledged": true, "index": created.name}),
    ))
}

/// `HEAD /{index}`: 200 or 404, no body.
pub async fn exists(
    state: ClusterState,
    EsPath(index): EsPath<String>,
    params: Params,
) -> Result<Response<Body>, RestError> {
    let mut params = params.path_params(&["index"]);
    params.accept(&[
        "local",
        "flat_settings",
        "include_defaults",
        "ignore_unavailable",
        "allow_no_indices",
        "expand_wildcards",
    ]);
    params.finish()?;
    let status = match state.0.indices.get(&index) {
        Ok(_) => StatusCode::OK,
        Err(_) => StatusCode::NOT_FOUND,
    };
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    Ok(response)
}

/// `DELETE /{index}`.
pub async fn delete(
    state: ClusterState,
    EsPath(index): EsPath<String>,
    params: Params,
) -> Result<Response<Body>, RestError> {
    let mut params = params.path_params(&["index"]);
    index_params(&mut params)?;
    params.finish()?;
    state.0.indices.delete(&index)?;
    Ok(reply(200, &json!({"acknowledged": true})))
}

/// `POST|GET /{index}/_refresh`: refresh every active copy of every shard.
pub async fn refresh(
    state: ClusterState,
    EsPath(index): EsPath<String>,
    params: Params,
) -> Result<Response<Body>, RestError> {
    let mut params = params.path_params(&["index"]);
    refresh_params(&mut params)?;
    let index = state.0.indices.get(&index)?;
    Ok(refreshed(&[index]).await)
}

/// `POST|GET /_refresh`: every index.
pub async fn refresh_all(state: ClusterState, params: Params) -> Result<Response<Body>, RestError> {
    let mut params = params;
    refresh_params(&mut params)?;
    Ok(refreshed(&state.0.indices.all()).await)
}

fn refresh_params(params: &mut Params) -> Result<(), RestError> {
    params.accept(&["ignore_unavailable", "allow_no_indices", "expand_wildcards"]);
    params.finish()
}

/// Refresh `indices` and answer with their shard copies (`BroadcastResponse`): every copy of
/// the settings in `total`, the active ones in `successful`.
async fn refreshed(indices: &[std::sync::Arc<crate::rest::registry::Index>]) -> Response<Body> {
    let (mut total, mut successful) = (0u64, 0u64);
    for index in indices {
        index.refreshed().await;
        let copies = 1 + u64::from(index.settings.number_of_replicas);
        total += u64::from(index.settings.number_of_shards) * copies;
        successful += index
            .shards()
            .iter()
            .map(|s| u64::from(s.active_copies()))
            .sum::<u64>();
    }
    reply(
        200,
        &json!({"_shards": {"total": total, "successful": successful, "failed": 0}}),
    )
}
