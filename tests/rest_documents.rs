//! The document API over HTTP against a real server on a loopback port: the seed walkthrough
//! step by step, then each endpoint's answers, byte for byte where Elasticsearch 8's are known.

mod rest_support;

use rest_support::Es;
use serde_json::json;

const SHARDS_1_OF_2: &str = r#""_shards":{"total":2,"successful":1,"failed":0}"#;

#[test]
fn seed_walkthrough() {
    let es = Es::start(1);
    // The document exists (created by a first write).
    let put = es.call("PUT", "/movies/_doc/1", Some(r#"{"title":"Up","views":0}"#));
    assert_eq!(put.status, 201);
    assert_eq!(
        put.body,
        format!(
            r#"{{"_index":"movies","_id":"1","_version":1,"result":"created",{SHARDS_1_OF_2},"_seq_no":0,"_primary_term":1}}"#
        )
    );
    assert_eq!(put.header("location"), Some("/movies/_doc/1"));

    // 1. GET the document, read `_seq_no` / `_primary_term`.
    let get = es.call("GET", "/movies/_doc/1", None);
    assert_eq!(get.status, 200);
    assert_eq!(
        get.body,
        r#"{"_index":"movies","_id":"1","_version":1,"_seq_no":0,"_primary_term":1,"found":true,"_source":{"title":"Up","views":0}}"#
    );
    let read = get.json();
    let (seq_no, term) = (
        read["_seq_no"].as_i64().unwrap(),
        read["_primary_term"].as_i64().unwrap(),
    );

    // 2. PUT with the pair that was read: accepted.
    let cas = es.call(
        "PUT",
        &format!("/movies/_doc/1?if_seq_no={seq_no}&if_primary_term={term}"),
        Some(r#"{"title":"Up","views":1}"#),
    );
    assert_eq!(cas.status, 200);
    assert_eq!(
        cas.body,
        format!(
            r#"{{"_index":"movies","_id":"1","_version":2,"result":"updated",{SHARDS_1_OF_2},"_seq_no":1,"_primary_term":1}}"#
        )
    );

    // 3. The same (now stale) pair again: 409 with Elasticsearch's exact body.
    let stale = es.call(
        "PUT",
        &format!("/movies/_doc/1?if_seq_no={seq_no}&if_primary_term={term}"),
        Some(r#"{"title":"Up","views":100}"#),
    );
    assert_eq!(stale.status, 409);
    let uuid = stale.json()["error"]["index_uuid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(uuid.len(), 22);
    let reason = "[1]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [1] and primary term [1]";
    let cause = format!(
        r#""type":"version_conflict_engine_exception","reason":"{reason}","index_uuid":"{uuid}","shard":"0","index":"movies""#
    );
    assert_eq!(
        stale.body,
        format!(r#"{{"error":{{"root_cause":[{{{cause}}}],{cause}}},"status":409}}"#)
    );

    // 4. `_update` with retry_on_conflict: a partial document merged in.
    let update = es.call(
        "POST",
        "/movies/_update/1?retry_on_conflict=5",
        Some(r#"{"doc":{"views":2}}"#),
    );
    assert_eq!(update.status, 200);
    assert_eq!(
        update.body,
        format!(
            r#"{{"_index":"movies","_id":"1","_version":3,"result":"updated",{SHARDS_1_OF_2},"_seq_no":2,"_primary_term":1}}"#
        )
    );
    // 5. The 6.x form used in the seed.
    let legacy = es.call(
        "POST",
        "/movies/_doc/1/_update?retry_on_conflict=5",
        Some(r#"{"doc":{"views":3}}"#),
    );
    assert_eq!(legacy.status, 200);
    assert_eq!(legacy.json()["_version"], 4);
    let get = es.call("GET", "/movies/_doc/1", None);
    assert_eq!(get.json()["_source"], json!({"title": "Up", "views": 3}));
}

#[test]
fn get_head_source_and_delete() {
    let es = Es::start(1);
    es.call(
        "PUT",
        "/idx/_doc/1?refresh=true",
        Some(r#"{"a":{"b":1,"c":2},"d":3}"#),
    );
    let missing = es.call("GET", "/idx/_doc/2", None);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body, r#"{"_index":"idx","_id":"2","found":false}"#);
    assert_eq!(es.call("HEAD", "/idx/_doc/1", None).status, 200);
    let head = es.call("HEAD", "/idx/_doc/2", None);
    assert_eq!((head.status, head.body.as_str()), (404, ""));
    assert_eq!(
        es.call("GET", "/idx/_source/1", None).body,
        r#"{"a":{"b":1,"c":2},"d":3}"#
    );
    assert_eq!(
        es.call("GET", "/idx/_source/1?_source=a.b", None).body,
        r#"{"a":{"b":1}}"#
    );
    assert_eq!(
        es.call("GET", "/idx/_doc/1?_source=false", None).body,
        r#"{"_index":"idx","_id":"1","_version":1,"_seq_no":0,"_primary_term":1,"found":true}"#
    );
    let no_source = es.call("GET", "/idx/_source/2", None);
    assert_eq!(no_source.status, 404);
    assert_eq!(
        no_source.body,
        r#"{"error":{"root_cause":[{"type":"resource_not_found_exception","reason":"Document not found [idx]/[2]"}],"type":"resource_not_found_exception","reason":"Document not found [idx]/[2]"},"status":404}"#
    );
    let deleted = es.call("DELETE", "/idx/_doc/1", None);
    assert_eq!(deleted.status, 200);
    assert_eq!(
        deleted.body,
        format!(
            r#"{{"_index":"idx","_id":"1","_version":2,"result":"deleted",{SHARDS_1_OF_2},"_seq_no":1,"_primary_term":1}}"#
        )
    );
    let again = es.call("DELETE", "/idx/_doc/1", None);
    assert_eq!(again.status, 404);
    assert_eq!(again.json()["result"], "not_found");
    assert_eq!(again.json()["_version"], 3);
    // Re-create over the tombstone: the version continues.
    let recreated = es.call("PUT", "/idx/_create/1", Some("{}"));
    assert_eq!(
        (recreated.status, recreated.json()["_version"].as_i64()),
        (201, Some(4))
    );
}

#[test]
fn create_auto_id_and_refresh() {
    let es = Es::start(1);
    let first = es.call("PUT", "/idx/_create/1", Some(r#"{"x":1}"#));
    assert_eq!(first.status, 201);
    let dup = es.call("POST", "/idx/_create/1", Some(r#"{"x":1}"#));
    assert_eq!(dup.status, 409);
    assert_eq!(
        dup.json()["error"]["reason"],
        "[1]: version conflict, document already exists (current version [1])"
    );
    let op_type = es.call("PUT", "/idx/_doc/1?op_type=create", Some("{}"));
    assert_eq!(op_type.status, 409);
    let auto = es.call("POST", "/idx/_doc", Some(r#"{"x":2}"#));
    assert_eq!(auto.status, 201);
    let auto = auto.json();
    let id = auto["_id"].as_str().unwrap();
    assert_eq!(id.len(), 20);
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(
        (auto["result"].as_str(), auto["_version"].as_i64()),
        (Some("created"), Some(1))
    );
    assert_eq!(
        es.call("GET", &format!("/idx/_doc/{id}"), None).json()["_source"],
        json!({"x": 2})
    );
    let forced = es.call("PUT", "/idx/_doc/3?refresh=true", Some("{}"));
    assert_eq!(
        forced.body,
        format!(
            r#"{{"_index":"idx","_id":"3","_version":1,"result":"created","forced_refresh":true,{SHARDS_1_OF_2},"_seq_no":2,"_primary_term":1}}"#
        )
    );
    assert_eq!(
        es.call("POST", "/idx/_refresh", None).body,
        r#"{"_shards":{"total":2,"successful":1,"failed":0}}"#
    );
}

#[test]
fn external_versions() {
    let es = Es::start(1);
    let v5 = es.call(
        "PUT",
        "/idx/_doc/1?version=5&version_type=external",
        Some("{}"),
    );
    assert_eq!((v5.status, v5.json()["_version"].as_i64()), (201, Some(5)));
    let stale = es.call(
        "PUT",
        "/idx/_doc/1?version=5&version_type=external",
        Some("{}"),
    );
    assert_eq!(stale.status, 409);
    assert_eq!(
        stale.json()["error"]["reason"],
        "[1]: version conflict, current version [5] is higher or equal to the one provided [5]"
    );
    let gte = es.call(
        "PUT",
        "/idx/_doc/1?version=5&version_type=external_gte",
        Some("{}"),
    );
    assert_eq!(
        (gte.status, gte.json()["_version"].as_i64()),
        (200, Some(5))
    );
}

#[test]
fn routing_places_documents_on_elasticsearch_shards() {
    let es = Es::start(1);
    let created = es.call(
        "PUT",
        "/r",
        Some(r#"{"settings":{"number_of_shards":3,"number_of_replicas":0}}"#),
    );
    assert_eq!(
        created.body,
        r#"{"acknowledged":true,"shards_acknowledged":true,"index":"r"}"#
    );
    // Shard numbers of these ids with 3 shards, as Elasticsearch computes them (murmur3).
    for (id, shard) in [("1", 2), ("2", 1), ("5", 0), ("a", 0), ("b", 2)] {
        let put = es.call("PUT", &format!("/r/_doc/{id}"), Some("{}"));
        assert_eq!(
            put.json()["_shards"],
            json!({"total": 1, "successful": 1, "failed": 0})
        );
        // Each shard has its own `_seq_no` sequence: a conflict names the shard.
        let conflict = es.call("PUT", &format!("/r/_create/{id}"), Some("{}"));
        assert_eq!(
            conflict.json()["error"]["shard"],
            shard.to_string(),
            "id {id}"
        );
    }
    // `routing` overrides the id: "a" routes to shard 0, so `x` lands there.
    es.call("PUT", "/r/_doc/x?routing=a", Some("{}"));
    let conflict = es.call("PUT", "/r/_create/x?routing=a", Some("{}"));
    assert_eq!(conflict.json()["error"]["shard"], "0");
    assert_eq!(
        es.call("GET", "/r/_doc/x", None).status,
        404,
        "x without routing hashes elsewhere"
    );
    assert_eq!(es.call("GET", "/r/_doc/x?routing=a", None).status, 200);
}

#[test]
fn index_management_and_health() {
    let es = Es::start(1);
    let root = es.call("GET", "/", None);
    let info = root.json();
    assert_eq!(info["tagline"], "You Know, for Search");
    assert_eq!(info["version"]["build_flavor"], "default");
    assert!(info["version"]["number"]
        .as_str()
        .unwrap()
        .starts_with("8."));
    assert_eq!(es.call("HEAD", "/", None).status, 200);
    let green = es.call("GET", "/_cluster/health", None).json();
    assert_eq!(green["status"], "green");
    assert_eq!(es.call("HEAD", "/i", None).status, 404);
    es.call("PUT", "/i", None);
    assert_eq!(es.call("HEAD", "/i", None).status, 200);
    let exists = es.call("PUT", "/i", None);
    assert_eq!(exists.status, 400);
    let uuid = exists.json()["error"]["index_uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let cause = format!(
        r#""type":"resource_already_exists_exception","reason":"index [i/{uuid}] already exists","index_uuid":"{uuid}","index":"i""#
    );
    assert_eq!(
        exists.body,
        format!(r#"{{"error":{{"root_cause":[{{{cause}}}],{cause}}},"status":400}}"#)
    );
    let health = es.call("GET", "/_cluster/health", None);
    assert_eq!(
        health.body,
        r#"{"cluster_name":"esocc","status":"yellow","timed_out":false,"number_of_nodes":1,"number_of_data_nodes":1,"active_primary_shards":1,"active_shards":1,"relocating_shards":0,"initializing_shards":0,"unassigned_shards":1,"delayed_unassigned_shards":0,"number_of_pending_tasks":0,"number_of_in_flight_fetch":0,"task_max_waiting_in_queue_millis":0,"active_shards_percent_as_number":50.0}"#
    );
    let timed_out = es.call(
        "GET",
        "/_cluster/health?wait_for_status=green&timeout=50ms",
        None,
    );
    assert_eq!(
        (timed_out.status, timed_out.json()["timed_out"].as_bool()),
        (408, Some(true))
    );
    assert_eq!(
        es.call("DELETE", "/i", None).body,
        r#"{"acknowledged":true}"#
    );
    assert_eq!(es.call("DELETE", "/i", None).status, 404);
}

#[test]
fn pretty_output_and_headers() {
    let es = Es::start(1);
    es.call("PUT", "/p/_doc/1", Some(r#"{"a":[1,2],"e":{}}"#));
    let pretty = es.call("GET", "/p/_doc/1?pretty", None);
    assert_eq!(
        pretty.body,
        "{\n  \"_index\" : \"p\",\n  \"_id\" : \"1\",\n  \"_version\" : 1,\n  \"_seq_no\" : 0,\n  \"_primary_term\" : 1,\n  \"found\" : true,\n  \"_source\" : {\n    \"a\" : [\n      1,\n      2\n    ],\n    \"e\" : { }\n  }\n}\n"
    );
    for answer in [
        pretty,
        es.call("GET", "/nope/_doc/1", None),
        es.call("GET", "/", None),
    ] {
        assert_eq!(answer.header("x-elastic-product"), Some("Elasticsearch"));
        assert_eq!(
            answer.header("content-type"),
            Some("application/json; charset=UTF-8")
        );
    }
}
