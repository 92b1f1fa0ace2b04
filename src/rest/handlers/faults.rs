//! Fault injection over HTTP, under `/_esocc/...` where no Elasticsearch API lives: fail or
//! isolate a shard's primary, fail a replica, set what a copy's replication link does (deliver,
//! delay, reorder, drop) and release what it holds, and see the shard group's state.
//!
//! | endpoint | effect |
//! | --- | --- |
//! | `GET /_esocc/{index}/{shard}` | the group: primary term, primary, and per copy its role, in-sync, term, checkpoints, link |
//! | `POST /_esocc/{index}/{shard}/fail_primary` | the primary fails; an in-sync replica is promoted with a new term |
//! | `POST /_esocc/{index}/{shard}/isolate_primary` | the master promotes a replica; the old primary keeps serving until fenced |
//! | `POST /_esocc/{index}/{shard}/fail_replica/{copy}` | a replica fails and leaves the in-sync set |
//! | `POST /_esocc/{index}/{shard}/recover_replica?copy=N` | the failed replica `N` (default: the lowest failed one) recovers from the primary and rejoins the in-sync set |
//! | `POST /_esocc/{index}/{shard}/link/{copy}/{fault}` | `deliver`, `delay`, `reorder` or `drop` replication to a copy |
//! | `POST /_esocc/{index}/{shard}/release/{copy}` | deliver what the link holds (`?one` for the next one only) |

use std::sync::Arc;

use axum::body::Body;
use axum::http::Response;
use serde_json::json;

use crate::rest::group_reports;

use super::{reply, EsPath};
use crate::engine::group::{CopyId, FaultError, LinkFault, Role};
use crate::rest::envelope::EsError;
use crate::rest::error::RestError;
use crate::rest::params::Params;
use crate::rest::registry::Index;
use crate::rest::server::ClusterState;

fn fault_error(error: FaultError) -> RestError {
    RestError::illegal_argument(error.to_string())
}

/// The index and shard a fault names (`shard_not_found_exception` for a shard it does not have).
fn shard_of(state: &ClusterState, index: &str, shard: usize) -> Result<Arc<Index>, RestError> {
    let index = state.0.indices.get(index)?;
    if shard >= index.shards().len() {
        return Err(RestError::exception(
            404,
            EsError::new("shard_not_found_exception", "no such shard").with_shard(
                &index.name,
                &index.uuid,
                u32::try_from(shard).unwrap_or(u32::MAX),
            ),
        ));
    }
    Ok(index)
}

/// `GET /_esocc/{index}/{shard}`.
pub async fn state(
    state: ClusterState,
    EsPath((index, shard)): EsPath<(String, usize)>,
    params: Params,
) -> Result<Response<Body>, RestError> {
    params.path_params(&["index", "shard"]).finish()?;
    let index = shard_of(&state, &index, shard)?;
    Ok(reply(
        200,
        &group_reports::group_state(&index.shards()[shard].group().state()),
    ))
}

/// `POST /_esocc/{index}/{shard}/fail_primary` and `.../isolate_primary`.
async fn fail_over(
    state: ClusterState,
    index: String,
    shard: usize,
    params: Params,
    crash: bool,
) -> Result<Response<Body>, RestError> {
    params.path_params(&["index", "shard"]).finish()?;
    let index = shard_of(&state, &index, shard)?;
    let group = index.shards()[shard].group();
    let failover = if crash {
        group.fail_primary()
    } else {
        group.isolate_primary()
    };
    Ok(reply(
        200,
        &group_reports::failover(&failover.map_err(fault_error)?),
    ))
}

pub async fn fail_primary(
    state: ClusterState,
    EsPath((index, shard)): EsPath<(String, usize)>,
    params: Params,
) -> Result<Response<Body>, RestError> {
    fail_over(state, index, shard, params, true).await
}

pub async fn isolate_primary(
    state: ClusterState,
    EsPath((index, shard)): EsPath<(String, usize)>,
    params: Params,
) -> Result<Response<Body>, RestError> {
    fail_over(state, index, shard, params, false).await
}

/// `POST /_esocc/{index}/{shard}/fail_replica/{copy}`.
pub async fn fail_replica(
    state: ClusterState,
    EsPath((index, shard, copy)): EsPath<(String, usize, CopyId)>,
    params: Params,
) -> Result<Response<Body>, RestError> {
    params.path_params(&["index", "shard", "copy"]).finish()?;
    let index = shard_of(&state, &index, shard)?;
    index.shards()[shard]
        .group()
        .fail_replica(copy)
        .map_err(fault_error)?;
    Ok(reply(200, &json!({"acknowledged": true})))
}

/// `POST /_esocc/{index}/{shard}/recover_replica?copy=N`.
pub async fn recover_replica(
    state: ClusterState,
    EsPath((index, shard)): EsPath<(String, usize)>,
    mut params: Params,
) -> Result<Response<Body>, RestError> {
    let copy = params.long("copy")?;
    params.path_params(&["index", "shard"]).finish()?;
    let index = shard_of(&state, &index, shard)?;
    let group = index.shards()[shard].group();
    let copy = match copy {
        Some(copy) => usize::try_from(copy).map_err(|_| {
            RestError::illegal_argument(format!("copy must be a copy number, got [{copy}]"))
        })?,
        None => (0..group.copies())
            .find(|&c| group.copy(c).is_some_and(|c| c.role() == Role::Failed))
            .ok_or_else(|| RestError::illegal_argument("no failed replica to recover"))?,
    };
    let recovery = group.recover_replica(copy).map_err(fault_error)?;
    Ok(reply(200, &group_reports::recovery(&recovery)))
}

/// `POST /_esocc/{index}/{shard}/link/{copy}/{fault}`.
pub async fn link(
    state: ClusterState,
    EsPath((index, shard, copy, fault)): EsPath<(String, usize, CopyId, String)>,
    params: Params,
) -> Result<Response<Body>, RestError> {
    params
        .path_params(&["index", "shard", "copy", "fault"])
        .finish()?;
    let index = shard_of(&state, &index, shard)?;
    let fault = LinkFault::parse(&fault).ok_or_else(|| {
        RestError::illegal_argument(format!(
            "unknown link fault [{fault}]: expected deliver, delay, reorder or drop"
        ))
    })?;
    index.shards()[shard]
        .group()
        .set_link(copy, fault)
        .map_err(fault_error)?;
    Ok(reply(
        200,
        &json!({"acknowledged": true, "link": fault.as_str()}),
    ))
}

/// `POST /_esocc/{index}/{shard}/release/{copy}`.
pub async fn release(
    state: ClusterState,
    EsPath((index, shard, copy)): EsPath<(String, usize, CopyId)>,
    mut params: Params,
) -> Result<Response<Body>, RestError> {
    let one = params.boolean("one")?.unwrap_or(false);
    params.path_params(&["index", "shard", "copy"]).finish()?;
    let index = shard_of(&state, &index, shard)?;
    let group = index.shards()[shard].group();
    let released = if one {
        usize::from(group.release_one(copy).map_err(fault_error)?)
    } else {
        group.release(copy).map_err(fault_error)?
    };
    Ok(reply(200, &json!({"released": released})))
}
