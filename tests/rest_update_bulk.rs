//! The update API (merge, upsert, doc_as_upsert, noop, retry_on_conflict) and `_bulk` with mixed
//! outcomes, over HTTP.

mod rest_support;

use rest_support::Es;
use serde_json::json;

#[test]
fn update_merge_upsert_noop() {
    let es = Es::start(1);
    let upsert = es.call(
        "POST",
        "/u/_update/1",
        Some(r#"{"doc":{"a":1},"upsert":{"a":0,"n":{"x":1}}}"#),
    );
    assert_eq!(
        (upsert.status, upsert.json()["result"].as_str()),
        (201, Some("created"))
    );
    assert_eq!(
        es.call("GET", "/u/_source/1", None).body,
        r#"{"a":0,"n":{"x":1}}"#
    );
    let merged = es.call(
        "POST",
        "/u/_update/1",
        Some(r#"{"doc":{"n":{"y":2},"b":[1]}}"#),
    );
    assert_eq!(
        (merged.status, merged.json()["_version"].as_i64()),
        (200, Some(2))
    );
    assert_eq!(
        es.call("GET", "/u/_source/1", None).body,
        r#"{"a":0,"n":{"x":1,"y":2},"b":[1]}"#
    );
    let noop = es.call("POST", "/u/_update/1", Some(r#"{"doc":{"a":0}}"#));
    assert_eq!(noop.status, 200);
    assert_eq!(
        noop.body,
        r#"{"_index":"u","_id":"1","_version":2,"result":"noop","_shards":{"total":0,"successful":0,"failed":0},"_seq_no":1,"_primary_term":1}"#
    );
    let forced = es.call(
        "POST",
        "/u/_update/1",
        Some(r#"{"doc":{"a":0},"detect_noop":false}"#),
    );
    assert_eq!(forced.json()["result"], "updated");
    let doc_as_upsert = es.call(
        "POST",
        "/u/_update/2",
        Some(r#"{"doc":{"z":1},"doc_as_upsert":true}"#),
    );
    assert_eq!(doc_as_upsert.status, 201);
    assert_eq!(es.call("GET", "/u/_source/2", None).json(), json!({"z": 1}));
    // With both `upsert` and `doc_as_upsert`, Elasticsearch indexes `doc`
    // (`UpdateHelper.prepareUpsert`).
    let both = es.call(
        "POST",
        "/u/_update/9",
        Some(r#"{"doc":{"from":"doc"},"upsert":{"from":"upsert"},"doc_as_upsert":true}"#),
    );
    assert_eq!(both.status, 201);
    assert_eq!(
        es.call("GET", "/u/_source/9", None).json(),
        json!({"from": "doc"})
    );
    // A stale if_seq_no on update is a 409; the current one applies.
    let stale = es.call(
        "POST",
        "/u/_update/2?if_seq_no=0&if_primary_term=1",
        Some(r#"{"doc":{"z":2}}"#),
    );
    assert_eq!(stale.status, 409);
    assert_eq!(
        stale.json()["error"]["reason"],
        "[2]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [3] and primary term [1]"
    );
    let current = es.call(
        "POST",
        "/u/_update/2?if_seq_no=3&if_primary_term=1",
        Some(r#"{"doc":{"z":2}}"#),
    );
    assert_eq!(current.status, 200);
}

#[test]
fn retry_on_conflict_under_contention() {
    let es = Es::start(1);
    es.call("PUT", "/c/_doc/n", Some(r#"{"v":0}"#));
    let (threads, per_thread) = (4, 25);
    std::thread::scope(|s| {
        for t in 0..threads {
            let es = &es;
            s.spawn(move || {
                for i in 0..per_thread {
                    // Distinct values so each update really changes the document.
                    let body = format!(r#"{{"doc":{{"last":"{t}-{i}"}}}}"#);
                    let answer = es.call("POST", "/c/_update/n?retry_on_conflict=100", Some(&body));
                    assert_eq!(answer.status, 200, "{}", answer.body);
                }
            });
        }
    });
    // Every update went in: the version counts them all.
    let doc = es.call("GET", "/c/_doc/n", None).json();
    assert_eq!(doc["_version"].as_i64(), Some(1 + threads * per_thread));
}

#[test]
fn bulk_with_mixed_outcomes() {
    let es = Es::start(1);
    let body = concat!(
        "{\"index\":{\"_index\":\"b\",\"_id\":\"1\"}}\n{\"a\":1}\n",
        "{\"create\":{\"_index\":\"b\",\"_id\":\"1\"}}\n{\"a\":2}\n",
        "{\"update\":{\"_index\":\"b\",\"_id\":\"1\",\"retry_on_conflict\":3}}\n{\"doc\":{\"c\":3}}\n",
        "{\"index\":{\"_index\":\"b\",\"_id\":\"1\",\"if_seq_no\":0,\"if_primary_term\":1}}\n{\"a\":3}\n",
        "{\"delete\":{\"_index\":\"b\",\"_id\":\"9\"}}\n",
        "{\"update\":{\"_index\":\"b\",\"_id\":\"8\"}}\n{\"doc\":{\"c\":3}}\n",
        "{\"index\":{\"_index\":\"b\",\"_id\":\"2\"}}\n{\"a\":\n",
        "{\"delete\":{\"_index\":\"gone\",\"_id\":\"1\"}}\n",
    );
    let answer = es.send("POST", "/_bulk", Some("application/x-ndjson"), Some(body));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let result = answer.json();
    assert_eq!(result["errors"], true);
    assert!(result["took"].is_u64());
    let items = result["items"].as_array().unwrap();
    let uuid = items[1]["create"]["error"]["index_uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let shards = json!({"total": 2, "successful": 1, "failed": 0});
    assert_eq!(
        items[0],
        json!({"index": {"_index": "b", "_id": "1", "_version": 1, "result": "created", "_shards": shards, "_seq_no": 0, "_primary_term": 1, "status": 201}})
    );
    assert_eq!(
        serde_json::to_string(&items[1]).unwrap(),
        format!(
            r#"{{"create":{{"_index":"b","_id":"1","status":409,"error":{{"type":"version_conflict_engine_exception","reason":"[1]: version conflict, document already exists (current version [1])","index_uuid":"{uuid}","shard":"0","index":"b"}}}}}}"#
        )
    );
    assert_eq!(items[2]["update"]["result"], "updated");
    assert_eq!(items[2]["update"]["status"], 200);
    assert_eq!(items[3]["index"]["status"], 409);
    assert_eq!(
        items[3]["index"]["error"]["reason"],
        "[1]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [1] and primary term [1]"
    );
    assert_eq!(items[4]["delete"]["result"], "not_found");
    assert_eq!(items[4]["delete"]["status"], 404);
    assert_eq!(
        items[5]["update"]["error"]["type"],
        "document_missing_exception"
    );
    assert_eq!(
        items[6]["index"]["error"]["type"],
        "document_parsing_exception"
    );
    assert_eq!(
        items[7]["delete"]["error"]["type"],
        "index_not_found_exception"
    );
    assert_eq!(items[7]["delete"]["status"], 404);
    // Items without `_index` take the path's index; auto ids are generated.
    let auto = es.send(
        "POST",
        "/b/_bulk",
        Some("application/x-ndjson"),
        Some("{\"index\":{}}\n{\"q\":1}\n"),
    );
    let item = &auto.json()["items"][0]["index"];
    assert_eq!(
        (item["_index"].as_str(), item["status"].as_u64()),
        (Some("b"), Some(201))
    );
    assert_eq!(item["_id"].as_str().unwrap().len(), 20);
}

#[test]
fn bulk_request_errors() {
    let es = Es::start(1);
    let ndjson = Some("application/x-ndjson");
    let unterminated = es.send(
        "POST",
        "/_bulk",
        ndjson,
        Some("{\"index\":{\"_index\":\"b\"}}\n{}"),
    );
    assert_eq!(unterminated.status, 400);
    assert_eq!(
        unterminated.json()["error"]["reason"],
        "The bulk request must be terminated by a newline [\\n]"
    );
    let invalid = es.send(
        "POST",
        "/_bulk",
        ndjson,
        Some("{\"index\":{\"_index\":\"b\",\"_id\":\"1\",\"if_seq_no\":1}}\n{}\n{\"delete\":{\"_index\":\"b\"}}\n"),
    );
    assert_eq!(
        invalid.json()["error"]["reason"],
        "Validation Failed: 1: ifSeqNo is set, but primary term is [0];2: id is missing;"
    );
    assert_eq!(
        es.call("GET", "/b/_doc/1", None).status,
        404,
        "nothing of an invalid bulk is applied"
    );
    let unknown_action = es.send("POST", "/_bulk", ndjson, Some("{\"upsert\":{}}\n"));
    assert_eq!(
        unknown_action.json()["error"]["reason"],
        "Malformed action/metadata line [1], expected field [create], [delete], [index] or [update] but found [upsert]"
    );
    let empty = es.send("POST", "/_bulk", ndjson, Some("\n"));
    assert_eq!(
        empty.json()["error"]["reason"],
        "Validation Failed: 1: no requests added;"
    );
}

#[test]
fn if_seq_no_in_an_update_body_overrides_the_url_and_the_action_line() {
    let es = Es::start(1);
    es.call("PUT", "/u/_doc/1", Some(r#"{"a":1}"#));
    let conflict = es.call(
        "POST",
        "/u/_update/1?if_seq_no=0&if_primary_term=1",
        Some(r#"{"doc":{"a":2},"if_seq_no":7,"if_primary_term":1}"#),
    );
    assert_eq!(conflict.status, 409);
    assert_eq!(
        conflict.json()["error"]["reason"],
        "[1]: version conflict, required seqNo [7], primary term [1]. current document has seqNo [0] and primary term [1]"
    );
    let applied = es.call(
        "POST",
        "/u/_update/1",
        Some(r#"{"doc":{"a":2},"if_seq_no":0,"if_primary_term":1}"#),
    );
    assert_eq!(applied.json()["result"], "updated");
    let bulk = es.call(
        "POST",
        "/_bulk",
        Some("{\"update\":{\"_index\":\"u\",\"_id\":\"1\",\"if_seq_no\":9,\"if_primary_term\":1}}\n{\"doc\":{\"a\":3},\"if_seq_no\":1,\"if_primary_term\":1}\n"),
    );
    assert_eq!(bulk.json()["items"][0]["update"]["result"], "updated");
    let negative = es.call(
        "POST",
        "/u/_update/1",
        Some(r#"{"doc":{"a":2},"if_seq_no":-5}"#),
    );
    assert_eq!(
        negative.json()["error"],
        json!({
            "root_cause":[{"type":"x_content_parse_exception","reason":"[1:16] [UpdateRequest] failed to parse field [if_seq_no]"}],
            "type":"x_content_parse_exception",
            "reason":"[1:16] [UpdateRequest] failed to parse field [if_seq_no]",
            "caused_by":{"type":"illegal_argument_exception","reason":"sequence numbers must be non negative. got [-5]."}
        })
    );
}
