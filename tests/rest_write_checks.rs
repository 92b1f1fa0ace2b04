//! What Elasticsearch 8.15 checks of a write before it reaches its shard, over HTTP:
//! `require_alias=true` (esocc has no aliases: always `index_not_found_exception`,
//! `BulkOperation.addFailureIfRequiresAliasAndAliasIsMissing`, `TransportUpdateAction`), an
//! unknown `pipeline` (`IngestService`), an empty `_id` in a bulk item (`IndexRouting.process`)
//! and an `index` action with `op_type: create`, answered under `create`.

mod rest_support;

use rest_support::Es;

fn require_alias_error(index: &str) -> String {
    let cause = format!(
        r#""type":"index_not_found_exception","reason":"no such index [{index}] and [require_alias] request flag is [true] and [{index}] is not an alias","resource.type":"index_or_alias","resource.id":"{index}","index_uuid":"_na_","index":"{index}""#
    );
    format!(r#"{{"error":{{"root_cause":[{{{cause}}}],{cause}}},"status":404}}"#)
}

const NO_PIPELINE: &str = r#"{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"pipeline with id [p] does not exist"}],"type":"illegal_argument_exception","reason":"pipeline with id [p] does not exist"},"status":400}"#;

#[test]
fn require_alias_fails_index_create_and_update_and_creates_no_index() {
    let es = Es::start(1);
    for (method, path, body) in [
        ("PUT", "/a/_doc/1?require_alias=true", r#"{"x":1}"#),
        ("POST", "/a/_doc?require_alias", r#"{"x":1}"#),
        ("PUT", "/a/_create/1?require_alias=true", r#"{"x":1}"#),
        (
            "POST",
            "/a/_update/1?require_alias=true",
            r#"{"doc":{"x":1},"doc_as_upsert":true}"#,
        ),
    ] {
        let answer = es.call(method, path, Some(body));
        assert_eq!(
            (answer.status, answer.body),
            (404, require_alias_error("a")),
            "{path}"
        );
    }
    assert_eq!(es.call("HEAD", "/a", None).status, 404);
    // An existing index is no alias either.
    es.call("PUT", "/b/_doc/1", Some("{}"));
    let answer = es.call("PUT", "/b/_doc/1?require_alias=true", Some("{}"));
    assert_eq!(
        (answer.status, answer.body),
        (404, require_alias_error("b"))
    );
    // Validation comes first.
    let answer = es.call("PUT", "/b/_doc/1?require_alias=true&version=2", Some("{}"));
    assert_eq!(answer.status, 400);
    let answer = es.call("PUT", "/b/_doc/1?require_alias=false", Some("{}"));
    assert_eq!(answer.status, 200);
}

#[test]
fn an_unknown_pipeline_fails_the_write_before_the_alias_check_and_none_is_none() {
    let es = Es::start(1);
    let answer = es.call("PUT", "/a/_doc/1?pipeline=p&require_alias=true", Some("{}"));
    assert_eq!((answer.status, answer.body.as_str()), (400, NO_PIPELINE));
    let answer = es.call("POST", "/a/_doc?pipeline=p", Some("{}"));
    assert_eq!((answer.status, answer.body.as_str()), (400, NO_PIPELINE));
    assert_eq!(es.call("HEAD", "/a", None).status, 404);
    let answer = es.call("PUT", "/a/_doc/1?pipeline=_none", Some("{}"));
    assert_eq!(answer.status, 201);
}

#[test]
fn bulk_items_fail_alone_on_alias_pipeline_and_empty_id() {
    let es = Es::start(1);
    let body = concat!(
        "{\"index\":{\"_index\":\"a\",\"_id\":\"1\",\"require_alias\":true}}\n{}\n",
        "{\"index\":{\"_index\":\"a\",\"_id\":\"2\",\"pipeline\":\"p\"}}\n{}\n",
        "{\"create\":{\"_index\":\"a\",\"pipeline\":\"p\"}}\n{}\n",
        "{\"index\":{\"_index\":\"a\",\"_id\":\"\"}}\n{}\n",
        "{\"index\":{\"_index\":\"a\",\"_id\":\"3\",\"op_type\":\"create\"}}\n{}\n",
        "{\"index\":{\"_index\":\"a\",\"_id\":\"3\",\"op_type\":\"create\"}}\n{}\n",
        "{\"update\":{\"_index\":\"a\",\"_id\":\"3\",\"pipeline\":\"p\"}}\n{\"doc\":{\"y\":1}}\n",
        "{\"delete\":{\"_index\":\"a\",\"_id\":\"3\",\"require_alias\":true}}\n",
    );
    let answer = es.call("POST", "/_bulk", Some(body));
    assert_eq!(answer.status, 200);
    let items = answer.json()["items"].clone();
    let alias: serde_json::Value = serde_json::from_str(&require_alias_error("a")).unwrap();
    assert_eq!(
        items[0],
        serde_json::json!({"index":{"_index":"a","_id":"1","status":404,"error":{
            "type":"index_not_found_exception",
            "reason":alias["error"]["reason"],
            "resource.type":"index_or_alias","resource.id":"a","index_uuid":"_na_","index":"a"}}})
    );
    let pipeline = serde_json::json!({"type":"illegal_argument_exception","reason":"pipeline with id [p] does not exist"});
    assert_eq!(
        items[1],
        serde_json::json!({"index":{"_index":"a","_id":"2","status":400,"error":pipeline}})
    );
    // An auto id is generated after the pipeline ran: the failure has none.
    assert_eq!(
        items[2],
        serde_json::json!({"create":{"_index":"a","_id":null,"status":400,"error":pipeline}})
    );
    assert_eq!(
        items[3],
        serde_json::json!({"index":{"_index":"a","_id":"","status":400,"error":{"type":"illegal_argument_exception","reason":"if _id is specified it must not be empty"}}})
    );
    assert_eq!(items[4]["create"]["result"], "created");
    assert_eq!(items[4]["create"]["status"], 201);
    assert_eq!(items[5]["create"]["status"], 409);
    assert_eq!(
        items[5]["create"]["error"]["reason"],
        "[3]: version conflict, document already exists (current version [1])"
    );
    // Updates take no pipeline; deletes no alias flag.
    assert_eq!(items[6]["update"]["result"], "updated");
    assert_eq!(items[7]["delete"]["result"], "deleted");
}

#[test]
fn bulk_url_flags_apply_to_items_that_do_not_say() {
    let es = Es::start(1);
    let body = concat!(
        "{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{}\n",
        "{\"index\":{\"_index\":\"a\",\"_id\":\"2\",\"require_alias\":false}}\n{}\n",
    );
    let items = es
        .call("POST", "/_bulk?require_alias=true", Some(body))
        .json()["items"]
        .clone();
    assert_eq!(items[0]["index"]["status"], 404);
    assert_eq!(items[1]["index"]["status"], 201);
    let body = concat!(
        "{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{}\n",
        "{\"index\":{\"_index\":\"a\",\"_id\":\"3\",\"pipeline\":\"_none\"}}\n{}\n",
    );
    let items = es.call("POST", "/_bulk?pipeline=p", Some(body)).json()["items"].clone();
    assert_eq!(
        items[0]["index"]["error"]["reason"],
        "pipeline with id [p] does not exist"
    );
    assert_eq!(items[1]["index"]["status"], 201);
}
