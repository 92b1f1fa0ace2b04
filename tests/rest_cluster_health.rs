//! `GET /_cluster/health/{index}` and `index.auto_expand_replicas` over HTTP, with the bodies
//! Elasticsearch 8.15 answers (`TransportClusterHealthAction`, `ClusterStateHealth`,
//! `AutoExpandReplicas`).

mod rest_support;

use rest_support::Es;

/// A health body with `ClusterHealthResponse.toXContent`'s fields and order.
fn health(status: &str, timed_out: bool, counts: [u64; 3], percent: &str) -> String {
    let [primaries, active, unassigned] = counts;
    format!(
        r#"{{"cluster_name":"esocc","status":"{status}","timed_out":{timed_out},"number_of_nodes":1,"number_of_data_nodes":1,"active_primary_shards":{primaries},"active_shards":{active},"relocating_shards":0,"initializing_shards":0,"unassigned_shards":{unassigned},"delayed_unassigned_shards":0,"number_of_pending_tasks":0,"number_of_in_flight_fetch":0,"task_max_waiting_in_queue_millis":0,"active_shards_percent_as_number":{percent}}}"#
    )
}

#[test]
fn the_health_of_named_indices_counts_only_them_and_a_missing_one_is_red_then_408() {
    let es = Es::start(1);
    // `y` has its default replica unassigned; `g` expands to the one node: no replica.
    es.call("PUT", "/y", None);
    let created = es.call(
        "PUT",
        "/g",
        Some(r#"{"settings":{"number_of_shards":2,"auto_expand_replicas":"0-1"}}"#),
    );
    assert_eq!(created.status, 200);
    let answer = es.call("GET", "/_cluster/health", None);
    assert_eq!(answer.body, health("yellow", false, [3, 3, 1], "75.0"));
    let answer = es.call("GET", "/_cluster/health/g", None);
    assert_eq!(
        (answer.status, answer.body),
        (200, health("green", false, [2, 2, 0], "100.0"))
    );
    // Not green: the percentage is over every shard of the cluster (`ClusterStateHealth`).
    let answer = es.call("GET", "/_cluster/health/y", None);
    assert_eq!(answer.body, health("yellow", false, [1, 1, 1], "75.0"));
    let answer = es.call("GET", "/_cluster/health/g,y", None);
    assert_eq!(answer.body, health("yellow", false, [3, 3, 1], "75.0"));
    let answer = es.call("GET", "/_cluster/health/g*,nothing*", None);
    assert_eq!(answer.body, health("green", false, [2, 2, 0], "100.0"));
    let answer = es.call("GET", "/_cluster/health/g?wait_for_status=green", None);
    assert_eq!(answer.status, 200);
    // A missing index: red, and the request waits for it until its timeout.
    let answer = es.call("GET", "/_cluster/health/missing?timeout=50ms", None);
    assert_eq!(
        (answer.status, answer.body),
        (408, health("red", true, [0, 0, 0], "100.0"))
    );
    let answer = es.call("GET", "/_cluster/health/y,missing?timeout=0s", None);
    assert_eq!(
        (answer.status, answer.body),
        (408, health("red", true, [1, 1, 1], "75.0"))
    );
}

#[test]
fn auto_expand_replicas_sets_the_copies_writes_report() {
    let es = Es::start(1);
    es.call(
        "PUT",
        "/a",
        Some(r#"{"settings":{"index.auto_expand_replicas":"0-all","number_of_replicas":3}}"#),
    );
    let write = es.call("PUT", "/a/_doc/1", Some("{}")).json();
    assert_eq!(
        write["_shards"],
        serde_json::json!({"total":1,"successful":1,"failed":0})
    );
    // At least one replica, which one node cannot place: number_of_replicas stays.
    es.call(
        "PUT",
        "/b",
        Some(r#"{"settings":{"auto_expand_replicas":"1-2","number_of_replicas":0}}"#),
    );
    let write = es.call("PUT", "/b/_doc/1", Some("{}")).json();
    assert_eq!(write["_shards"]["total"], 1);
    let bad = es.call(
        "PUT",
        "/c",
        Some(r#"{"settings":{"auto_expand_replicas":"all"}}"#),
    );
    assert_eq!(
        (bad.status, bad.body.as_str()),
        (
            400,
            r#"{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"failed to parse [index.auto_expand_replicas] from value: [all] at index -1"}],"type":"illegal_argument_exception","reason":"failed to parse [index.auto_expand_replicas] from value: [all] at index -1"},"status":400}"#
        )
    );
    assert_eq!(es.call("HEAD", "/c", None).status, 404);
}

#[test]
fn auto_expand_replicas_follows_the_nodes() {
    let es = Es::start(3);
    es.call(
        "PUT",
        "/a",
        Some(r#"{"settings":{"auto_expand_replicas":"0-all"}}"#),
    );
    let write = es.call("PUT", "/a/_doc/1", Some("{}")).json();
    assert_eq!(
        write["_shards"],
        serde_json::json!({"total":3,"successful":3,"failed":0})
    );
    let answer = es.call("GET", "/_cluster/health/a", None).json();
    assert_eq!(answer["status"], "green");
    assert_eq!(answer["active_shards"], 3);
}
