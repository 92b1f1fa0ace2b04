//! `GET /` (the node's identity, what clients probe) and `GET /_cluster/health`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::Response;
use serde_json::json;

use super::reply;
use crate::rest::error::RestError;
use crate::rest::params::Params;
use crate::rest::server::ClusterState;

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

/// `GET /_cluster/health` (`ClusterHealthResponse.toXContent` order). `wait_for_status` waits
/// up to `timeout` (default 30s) and answers 408 with `timed_out: true` if it is not reached.
pub async fn health(state: ClusterState, mut params: Params) -> Result<Response<Body>, RestError> {
    let wait_for = params
        .str("wait_for_status")
        .map(|s| Health::parse(&s))
        .transpose()?;
    let timeout = params.time("timeout")?.unwrap_or(Duration::from_secs(30));
    params.accept(&[
        "level",
        "local",
        "master_timeout",
        "wait_for_events",
        "wait_for_no_relocating_shards",
        "wait_for_no_initializing_shards",
    ]);
    params.finish()?;
    let cluster = &state.0;
    let deadline = Instant::now().checked_add(timeout);
    loop {
        let (mut primaries, mut active, mut unassigned) = (0u64, 0u64, 0u64);
        let mut status = Health::Green;
        for index in cluster.indices.all() {
            let copies = 1 + u64::from(index.settings.number_of_replicas);
            for shard in index.shards() {
                let has_primary = shard.group().primary().is_some();
                let active_copies = u64::from(shard.active_copies());
                primaries += u64::from(has_primary);
                active += active_copies;
                unassigned += copies.saturating_sub(active_copies);
                status = status.max(match (has_primary, active_copies < copies) {
                    (false, _) => Health::Red,
                    (true, true) => Health::Yellow,
                    (true, false) => Health::Green,
                });
            }
        }
        let reached = wait_for.is_none_or(|w| status <= w);
        let timed_out = !reached && deadline.is_some_and(|d| Instant::now() >= d);
        if reached || timed_out {
            let percent = if active + unassigned == 0 {
                100.0
            } else {
                active as f64 / (active + unassigned) as f64 * 100.0
            };
            return Ok(reply(
                if timed_out { 408 } else { 200 },
                &json!({
                    "cluster_name": cluster.cluster_name,
                    "status": status.as_str(),
                    "timed_out": timed_out,
                    "number_of_nodes": cluster.nodes,
                    "number_of_data_nodes": cluster.nodes,
                    "active_primary_shards": primaries,
                    "active_shards": active,
                    "relocating_shards": 0,
                    "initializing_shards": 0,
                    "unassigned_shards": unassigned,
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
