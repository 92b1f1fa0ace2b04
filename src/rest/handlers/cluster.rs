//! `GET /` (the node's identity, what clients probe) and `GET /_cluster/health`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::Response;
use serde_json::json;

use std::sync::Arc;

use super::{reply, EsPath};
use crate::rest::error::RestError;
use crate::rest::index_expression::{resolve, IndicesOptions};
use crate::rest::params::Params;
use crate::rest::registry::Index;
use crate::rest::server::ClusterState;
use crate::rest::source_filter::glob;

/// The Elasticsearch version esocc answers as.
pub const ES_VERSION: &str = "8.15.0";
const LUCENE_VERSION: &str = "9.11.1";

/// `YYYY-MM-DDTHH:MM:SS.000Z` for a Unix time in seconds (Howard Hinnant's civil-from-days).
fn iso8601(unix_seconds: u64) -> String {
    let days = unix_seconds / 86_400;
    let secs = unix_seconds % 86_400;
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// `GET /` and `HEAD /`.
pub async fn root(state: ClusterState, params: Params) -> Result<Response<Body>, RestError> {
    params.finish()?;
    let cluster = &state.0;
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(reply(
        200,
        &json!({
            "name": cluster.node_name,
            "cluster_name": cluster.cluster_name,
            "cluster_uuid": cluster.cluster_uuid,
            "version": {
                "number": ES_VERSION,
                "build_flavor": "default",
                "build_type": "esocc",
                "build_hash": concat!("esocc-", env!("CARGO_PKG_VERSION")),
                "build_date": iso8601(started),
                "build_snapshot": false,
                "lucene_version": LUCENE_VERSION,
                "minimum_wire_compatibility_version": "7.17.0",
                "minimum_index_compatibility_version": "7.0.0"
            },
            "tagline": "You Know, for Search"
        }),
    ))
}

/// Cluster health colours, worst last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Health {
    Green,
    Yellow,
    Red,
}

impl Health {
    fn parse(s: &str) -> Result<Health, RestError> {
        match s {
            "green" => Ok(Health::Green),
            "yellow" => Ok(Health::Yellow),
            "red" => Ok(Health::Red),
            other => Err(RestError::illegal_argument(format!(
                "unknown cluster health status [{other}]"
            ))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Health::Green => "green",
            Health::Yellow => "yellow",
            Health::Red => "red",
        }
    }
}

/// The shard counts of some indices (`ClusterStateHealth`), and their worst colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ShardCounts {
    primaries: u64,
    active: u64,
    unassigned: u64,
    status: Health,
}

impl Default for ShardCounts {
    fn default() -> Self {
        ShardCounts {
            primaries: 0,
            active: 0,
            unassigned: 0,
            status: Health::Green,
        }
    }
}

impl ShardCounts {
    fn of(indices: &[Arc<Index>]) -> ShardCounts {
        let mut counts = ShardCounts::default();
        for index in indices {
            let copies = 1 + u64::from(index.settings.number_of_replicas);
            for shard in index.shards() {
                let has_primary = shard.group().primary().is_some();
                let active_copies = u64::from(shard.active_copies());
                counts.primaries += u64::from(has_primary);
                counts.active += active_copies;
                counts.unassigned += copies.saturating_sub(active_copies);
                counts.status = counts
                    .status
                    .max(match (has_primary, active_copies < copies) {
                        (false, _) => Health::Red,
                        (true, true) => Health::Yellow,
                        (true, false) => Health::Green,
                    });
            }
        }
        counts
    }

    /// `active_shards_percent_as_number`: 100 when green, else over every shard of the cluster.
    fn percent(self, cluster: ShardCounts) -> f64 {
        let total = cluster.active + cluster.unassigned;
        if self.status == Health::Green || total == 0 {
            100.0
        } else {
            cluster.active as f64 / total as f64 * 100.0
        }
    }
}

/// `GET /_cluster/health`.
pub async fn health(state: ClusterState, params: Params) -> Result<Response<Body>, RestError> {
    cluster_health(state, None, params).await
}

/// `GET /_cluster/health/{index}`: the health of those indices. One that does not exist makes
/// the health `red` and the request wait for it until `timeout`, then 408 with
/// `timed_out: true` (`TransportClusterHealthAction.prepareResponse`), never a 404.
pub async fn health_of(
    state: ClusterState,
    EsPath(index): EsPath<String>,
    params: Params,
) -> Result<Response<Body>, RestError> {
    let params = params.path_params(&["index"]);
    cluster_health(state, Some(index), params).await
}

/// `ClusterHealthResponse.toXContent` order. `wait_for_status` (and named indices) wait up to
/// `timeout` (default 30s); not reached, the answer is 408 with `timed_out: true`.
async fn cluster_health(
    state: ClusterState,
    names: Option<String>,
    mut params: Params,
) -> Result<Response<Body>, RestError> {
    let wait_for = params
        .str("wait_for_status")
        .map(|s| Health::parse(&s))
        .transpose()?;
    let timeout = params.time("timeout")?.unwrap_or(Duration::from_secs(30));
    params.accept(&[
        "level",
        "local",
        "master_timeout",
        "expand_wildcards",
        "wait_for_events",
        "wait_for_no_relocating_shards",
        "wait_for_no_initializing_shards",
    ]);
    params.finish()?;
    let cluster = &state.0;
    let deadline = Instant::now().checked_add(timeout);
    loop {
        let all = cluster.indices.all();
        let everything = ShardCounts::of(&all);
        let (counts, found) = match names.as_deref() {
            None => (everything, true),
            // `prepareResponse` checks the names with `IndicesOptions.strictExpand()`.
            Some(names) => match resolve(&all, Some(names), IndicesOptions::STRICT_EXPAND).ok() {
                Some(chosen) => (ShardCounts::of(&chosen), true),
                // The lenient count over the indices that exist, then red (`clusterHealth`,
                // `prepareResponse`).
                None => {
                    let existing: Vec<Arc<Index>> = all
                        .iter()
                        .filter(|index| names.split(',').any(|n| glob(n, &index.name)))
                        .cloned()
                        .collect();
                    (ShardCounts::of(&existing), false)
                }
            },
        };
        let percent = counts.percent(everything);
        let status = if found { counts.status } else { Health::Red };
        let reached = found && wait_for.is_none_or(|w| status <= w);
        let timed_out = !reached && deadline.is_some_and(|d| Instant::now() >= d);
        if reached || timed_out {
            return Ok(reply(
                if timed_out { 408 } else { 200 },
                &json!({
                    "cluster_name": cluster.cluster_name,
                    "status": status.as_str(),
                    "timed_out": timed_out,
                    "number_of_nodes": cluster.nodes,
                    "number_of_data_nodes": cluster.nodes,
                    "active_primary_shards": counts.primaries,
                    "active_shards": counts.active,
                    "relocating_shards": 0,
                    "initializing_shards": 0,
                    "unassigned_shards": counts.unassigned,
                    "delayed_unassigned_shards": 0,
                    "number_of_pending_tasks": 0,
                    "number_of_in_flight_fetch": 0,
                    "task_max_waiting_in_queue_millis": 0,
                    "active_shards_percent_as_number": percent
                }),
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_722_852_334), "2024-08-05T10:05:34.000Z");
    }
}
