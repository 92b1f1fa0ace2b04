//! `esocc serve` where Elasticsearch's real anomalies live (issue 9): the coordinating node
//! re-routes a write whose primary failed mid-write (and answers a 409 for a conditional write
//! that happened), reads are served by any active copy (`preference`), and a failed replica
//! comes back through peer recovery. Faults are scripted with the `/_esocc` endpoints and held
//! links, so every race the tests name is forced, not hoped for.

mod rest_support;

use rest_support::{Answer, Es};
use serde_json::{json, Value};

/// An index of one shard with two replicas on a 3-node server.
fn three_copies(index: &str) -> Es {
    let es = Es::start(3);
    let created = es.call(
        "PUT",
        &format!("/{index}"),
        Some(r#"{"settings":{"number_of_replicas":2}}"#),
    );
    assert_eq!(created.status, 200, "{}", created.body);
    es
}

fn group_state(es: &Es, index: &str) -> Value {
    es.call("GET", &format!("/_esocc/{index}/0"), None).json()
}

fn post(es: &Es, path: &str) {
    let answer = es.call("POST", path, None);
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
}

/// Wait until `copy`'s link holds `held` requests (a request thread got that far).
fn await_held(es: &Es, index: &str, copy: usize, held: u64) {
    es.await_state(&format!("/_esocc/{index}/0"), 500, |s| {
        s["copies"][copy]["held"] == held
    });
}

/// Send a write while copy 2's link holds it (copy 1 applies it at once), fail the primary once
/// the write waits for copy 2, and return the client's answer. Copy 1, which has the write, is
/// promoted; the first attempt fails with the old primary and the coordinating node re-routes.
fn write_across_a_failover(es: &Es, index: &str, method: &str, path: &str, body: &str) -> Answer {
    write_on_node_across_a_failover(es, 0, index, method, path, body)
}

/// [`write_across_a_failover`] with the request sent to `node` (its coordinating node).
fn write_on_node_across_a_failover(
    es: &Es,
    node: usize,
    index: &str,
    method: &str,
    path: &str,
    body: &str,
) -> Answer {
    post(es, &format!("/_esocc/{index}/0/link/2/delay"));
    let answer = std::thread::scope(|s| {
        let writer = s.spawn(|| es.call_on(node, method, path, Some(body)));
        await_held(es, index, 2, 1);
        let failover = es
            .call("POST", &format!("/_esocc/{index}/0/fail_primary"), None)
            .json();
        assert_eq!(
            (
                failover["promoted"].as_u64(),
                failover["primary_term"].as_u64()
            ),
            (Some(1), Some(2))
        );
        writer.join().unwrap()
    });
    post(es, &format!("/_esocc/{index}/0/release/2"));
    answer
}

const MET_ITS_OWN_CHANGE: &str = "[1]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [1] and primary term [1]";

#[test]
fn a_conditional_write_that_reached_the_promoted_copy_is_rerouted_and_meets_its_own_change() {
    let es = three_copies("c");
    es.call("PUT", "/c/_doc/1", Some(r#"{"token":"t0"}"#));
    let answer = write_across_a_failover(
        &es,
        "c",
        "PUT",
        "/c/_doc/1?if_seq_no=0&if_primary_term=1",
        r#"{"token":"w"}"#,
    );
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(answer.json()["error"]["reason"], MET_ITS_OWN_CHANGE);
    // The 409 is for a write that happened: its token is in the document.
    let doc = es.call("GET", "/c/_doc/1", None).json();
    assert_eq!(
        (doc["_source"].clone(), doc["_seq_no"].as_i64()),
        (json!({"token": "w"}), Some(1))
    );
    assert_eq!(group_state(&es, "c")["reroutes"], 1);
}

#[test]
fn an_update_rerouted_without_retry_on_conflict_answers_409_for_an_update_that_was_applied() {
    let es = three_copies("u");
    es.call("PUT", "/u/_doc/1", Some(r#"{"token":"t0"}"#));
    // The coordinating node re-sends the translated write (the merged source, conditional on
    // seq 0): it meets the update's own change on the promoted copy.
    let answer =
        write_across_a_failover(&es, "u", "POST", "/u/_update/1", r#"{"doc":{"token":"u"}}"#);
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(answer.json()["error"]["reason"], MET_ITS_OWN_CHANGE);
    let doc = es.call("GET", "/u/_doc/1", None).json();
    assert_eq!(doc["_source"], json!({"token": "u"}));
    assert_eq!(group_state(&es, "u")["reroutes"], 1);
}

#[test]
fn an_update_rerouted_with_retry_on_conflict_is_rerun_whole_on_the_new_primary() {
    let es = three_copies("r");
    es.call("PUT", "/r/_doc/1", Some(r#"{"token":"t0"}"#));
    // The translated write conflicts as above; the update's own retry sends the whole update
    // again, which re-reads the document: the partial document is already in it, a noop.
    let answer = write_across_a_failover(
        &es,
        "r",
        "POST",
        "/r/_update/1?retry_on_conflict=1",
        r#"{"doc":{"token":"r"}}"#,
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = answer.json();
    assert_eq!(
        (answer["result"].as_str(), answer["_seq_no"].as_i64()),
        (Some("noop"), Some(1))
    );
    assert_eq!(group_state(&es, "r")["reroutes"], 2);
}

const BULK_UPDATE: &str = "{\"update\":{\"_index\":\"k\",\"_id\":\"1\",\"retry_on_conflict\":1}}\n{\"doc\":{\"token\":\"k\"}}\n";

#[test]
fn a_bulk_update_rerouted_by_its_primarys_node_answers_as_the_index_it_became() {
    let es = three_copies("k");
    es.call("PUT", "/k/_doc/1", Some(r#"{"token":"t0"}"#));
    // The update above as a `_bulk` item sent to the primary's node: the primary replaced the
    // item by its translation in the request its node shares
    // (`BulkPrimaryExecutionContext.markAsCompleted`), so the re-route sends an index conditional
    // on seq 0, which meets the update's own change; an index is not retried on conflict, so
    // `retry_on_conflict` does not re-run the update, and the item is an `index`.
    let answer = write_across_a_failover(&es, "k", "POST", "/_bulk", BULK_UPDATE);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = answer.json();
    let item = &answer["items"][0]["index"];
    assert_eq!(
        (answer["errors"].as_bool(), item["status"].as_u64()),
        (Some(true), Some(409)),
        "{answer}"
    );
    assert_eq!(item["error"]["reason"], MET_ITS_OWN_CHANGE);
    let doc = es.call("GET", "/k/_doc/1", None).json();
    assert_eq!(doc["_source"], json!({"token": "k"}));
    assert_eq!(group_state(&es, "k")["reroutes"], 1);
}

#[test]
fn a_bulk_update_rerouted_by_another_node_is_translated_again_on_the_new_primary() {
    let es = three_copies("k");
    es.call("PUT", "/k/_doc/1", Some(r#"{"token":"t0"}"#));
    // Sent to node 1, which forwards it to the primary on node 0: node 1 still holds the
    // untouched update, so the re-route sends the update, which the new primary translates
    // afresh on a document that already holds it: a noop, answered as an update.
    let answer = write_on_node_across_a_failover(&es, 1, "k", "POST", "/_bulk", BULK_UPDATE);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = answer.json();
    let item = &answer["items"][0]["update"];
    assert_eq!(
        (
            answer["errors"].as_bool(),
            item["status"].as_u64(),
            item["result"].as_str(),
            item["_seq_no"].as_i64()
        ),
        (Some(false), Some(200), Some("noop"), Some(1)),
        "{answer}"
    );
    assert_eq!(group_state(&es, "k")["reroutes"], 1);
}

/// A 409 for a delete conditioned on seq 0 that meets its own tombstone at seq 1.
const DELETE_MET_ITS_OWN_TOMBSTONE: &str =
    "[1]: version conflict, required seqNo [0], primary term [1]. but no document was found";

#[test]
fn a_scripted_delete_rerouted_by_its_primarys_node_resends_the_delete_it_became() {
    let es = three_copies("sd");
    es.call("PUT", "/sd/_doc/1", Some(r#"{"token":"t0"}"#));
    // The script deletes; the primary replaced the item by that delete (conditional on seq 0,
    // `BulkPrimaryExecutionContext.markAsCompleted`), so the re-route sends the delete, which
    // meets its own tombstone on the promoted copy: a 409 answered under `delete`. The script is
    // not run again (on the missing document it would answer `document_missing_exception`).
    let bulk =
        "{\"update\":{\"_index\":\"sd\",\"_id\":\"1\"}}\n{\"script\":\"ctx.op = 'delete'\"}\n";
    let answer = write_across_a_failover(&es, "sd", "POST", "/_bulk", bulk);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = answer.json();
    let item = &answer["items"][0]["delete"];
    assert_eq!(
        (answer["errors"].as_bool(), item["status"].as_u64()),
        (Some(true), Some(409)),
        "{answer}"
    );
    assert_eq!(
        item["error"]["reason"], DELETE_MET_ITS_OWN_TOMBSTONE,
        "{answer}"
    );
    assert_eq!(es.call("GET", "/sd/_doc/1", None).status, 404);
    assert_eq!(group_state(&es, "sd")["reroutes"], 1);
}

#[test]
fn a_scripted_delete_rerouted_on_the_update_api_answers_409_for_the_delete_that_happened() {
    let es = three_copies("su");
    es.call("PUT", "/su/_doc/1", Some(r#"{"token":"t0"}"#));
    let answer = write_across_a_failover(
        &es,
        "su",
        "POST",
        "/su/_update/1",
        r#"{"script":"ctx.op = 'delete'"}"#,
    );
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(
        answer.json()["error"]["reason"],
        DELETE_MET_ITS_OWN_TOMBSTONE
    );
    assert_eq!(es.call("GET", "/su/_doc/1", None).status, 404);
    assert_eq!(group_state(&es, "su")["reroutes"], 1);
}

#[test]
fn a_bulk_item_whose_primary_failed_before_any_replica_had_it_is_rerouted_and_succeeds() {
    let es = three_copies("b");
    post(&es, "/_esocc/b/0/link/1/delay");
    post(&es, "/_esocc/b/0/link/2/delay");
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            es.call(
                "POST",
                "/_bulk",
                Some("{\"index\":{\"_index\":\"b\",\"_id\":\"x\"}}\n{\"token\":\"x\"}\n"),
            )
        });
        await_held(&es, "b", 1, 1);
        await_held(&es, "b", 2, 1);
        // Copy 1 is promoted without the item (its request is still held); the item is re-run
        // there, and its replication to copy 2 waits behind the old request and the resync.
        post(&es, "/_esocc/b/0/link/1/deliver");
        post(&es, "/_esocc/b/0/fail_primary");
        await_held(&es, "b", 2, 3);
        post(&es, "/_esocc/b/0/release/2");
        let answer = writer.join().unwrap().json();
        let item = &answer["items"][0]["index"];
        assert_eq!(
            (
                answer["errors"].as_bool(),
                item["status"].as_u64(),
                item["_primary_term"].as_u64()
            ),
            (Some(false), Some(201), Some(2)),
            "{answer}"
        );
    });
    assert_eq!(group_state(&es, "b")["reroutes"], 1);
    // The old primary's request still held for copy 1 is fenced by copy 1's term.
    post(&es, "/_esocc/b/0/release/1");
    let state = group_state(&es, "b");
    for copy in [1, 2] {
        assert_eq!(state["copies"][copy]["local_checkpoint"], 0, "copy {copy}");
    }
}

fn reads_served(es: &Es, index: &str) -> Vec<u64> {
    group_state(es, index)["copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["reads"].as_u64().unwrap())
        .collect()
}

#[test]
fn reads_spread_over_the_in_sync_copies_and_honour_preference() {
    let es = three_copies("p");
    es.call("PUT", "/p/_doc/1", Some(r#"{"v":1}"#));
    for _ in 0..6 {
        let get = es.call("GET", "/p/_doc/1", None);
        assert_eq!(get.json()["_source"], json!({"v": 1}));
    }
    assert_eq!(
        reads_served(&es, "p"),
        [2, 2, 2],
        "round-robin over 3 copies"
    );
    let only = es.call("GET", "/p/_doc/1?preference=_only_nodes:esocc-node-2", None);
    assert_eq!(only.status, 200, "{}", only.body);
    assert_eq!(reads_served(&es, "p"), [2, 2, 3]);
    // `_local`: the coordinating node's copy (the request went to node 1).
    es.call_on(1, "GET", "/p/_doc/1?preference=_local", None);
    assert_eq!(reads_served(&es, "p"), [2, 3, 3]);
    // A custom string sticks to one copy.
    let before = reads_served(&es, "p");
    for _ in 0..3 {
        es.call("GET", "/p/_doc/1?preference=session-7", None);
    }
    let grown: Vec<u64> = reads_served(&es, "p")
        .iter()
        .zip(&before)
        .map(|(after, before)| after - before)
        .collect();
    assert_eq!(grown.iter().filter(|&&g| g == 3).count(), 1, "{grown:?}");
    // Removed in 7.0, answered as Elasticsearch 8 does.
    let primary = es.call("GET", "/p/_doc/1?preference=_primary", None);
    assert_eq!(primary.status, 400);
    assert_eq!(
        primary.json()["error"]["root_cause"][0],
        json!({"type": "illegal_argument_exception", "reason": "no Preference for [_primary]"})
    );
    let nowhere = es.call("GET", "/p/_doc/1?preference=_only_nodes:esocc-node-9", None);
    assert_eq!(
        (nowhere.status, nowhere.json()["error"]["reason"].clone()),
        (
            400,
            json!("no data nodes with criteria [esocc-node-9] found for shard: [p][0]")
        )
    );
}

#[test]
fn a_replica_that_rolled_back_serves_a_stale_read_until_the_resync_reaches_it() {
    let es = three_copies("s");
    // Acknowledged by every copy; the replicas learn the global checkpoint only with the next
    // request, so theirs is still -1.
    assert_eq!(
        es.call("PUT", "/s/_doc/x", Some(r#"{"v":"x"}"#)).status,
        201
    );
    post(&es, "/_esocc/s/0/link/2/reorder");
    post(&es, "/_esocc/s/0/fail_primary"); // copy 1 promoted; its resync to copy 2 is held
    std::thread::scope(|s| {
        let y = s.spawn(|| es.call("PUT", "/s/_doc/y", Some(r#"{"v":"y"}"#)));
        await_held(&es, "s", 2, 2);
        // Newest first: y reaches copy 2 before the resync. Copy 2 adopts term 2 and rolls back
        // to its global checkpoint (-1): x is gone from it until the resync arrives.
        post(&es, "/_esocc/s/0/release/2?one=true");
        assert_eq!(y.join().unwrap().status, 201);
    });
    let stale = es.call("GET", "/s/_doc/x?preference=_only_nodes:esocc-node-2", None);
    assert_eq!(
        (stale.status, stale.json()["found"].as_bool()),
        (404, Some(false)),
        "x was acknowledged before this read began: {}",
        stale.body
    );
    let primary = es.call("GET", "/s/_doc/x?preference=_only_nodes:esocc-node-1", None);
    assert_eq!(primary.status, 200);
    post(&es, "/_esocc/s/0/release/2"); // the resync
    let caught_up = es.call("GET", "/s/_doc/x?preference=_only_nodes:esocc-node-2", None);
    assert_eq!(caught_up.json()["_source"], json!({"v": "x"}));
}

#[test]
fn a_failed_replica_recovers_and_serves_every_acknowledged_write_after_failovers() {
    let es = three_copies("v");
    es.call("PUT", "/v/_doc/a", Some(r#"{"v":"a"}"#));
    post(&es, "/_esocc/v/0/fail_replica/2");
    for id in ["b", "c"] {
        let put = es.call("PUT", &format!("/v/_doc/{id}"), Some(r#"{"v":1}"#));
        assert_eq!(put.json()["_shards"]["successful"], 2);
    }
    let recovery = es.call("POST", "/_esocc/v/0/recover_replica?copy=2", None);
    assert_eq!(recovery.status, 200, "{}", recovery.body);
    assert_eq!(
        recovery.json(),
        json!({"copy": 2, "from_local_checkpoint": 0, "files": 0, "operations": 2, "in_sync": true})
    );
    assert_eq!(group_state(&es, "v")["copies"][2]["in_sync"], true);
    let again = es.call("POST", "/_esocc/v/0/recover_replica", None);
    assert_eq!(
        (again.status, again.json()["error"]["reason"].clone()),
        (400, json!("no failed replica to recover"))
    );
    post(&es, "/_esocc/v/0/fail_primary");
    post(&es, "/_esocc/v/0/fail_primary");
    assert_eq!(group_state(&es, "v")["primary"], 2);
    for id in ["a", "b", "c"] {
        let get = es.call("GET", &format!("/v/_doc/{id}"), None);
        assert_eq!(get.status, 200, "{id} lost: {}", get.body);
    }
}
