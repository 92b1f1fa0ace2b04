//! Scripts on the update API over HTTP: the documented Painless forms, `ctx.op`, scripted
//! upserts, `_bulk` update actions, Elasticsearch's `script_exception` bodies, `_source` on
//! updates (`get`), and `retry_on_conflict` re-running the script on the fresh document.

mod rest_support;

use rest_support::Es;
use serde_json::{json, Value};

fn source(es: &Es, path: &str) -> Value {
    es.call("GET", path, None).json()
}

#[test]
fn documented_script_forms_change_the_source() {
    let es = Es::start(1);
    es.call(
        "PUT",
        "/s/_doc/1",
        Some(r#"{"counter":1,"tags":["red"],"gone":true}"#),
    );
    let counted = es.call(
        "POST",
        "/s/_update/1",
        Some(r#"{"script":{"source":"ctx._source.counter += params.count","lang":"painless","params":{"count":4}}}"#),
    );
    assert_eq!(
        (counted.status, counted.body.as_str()),
        (
            200,
            r#"{"_index":"s","_id":"1","_version":2,"result":"updated","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":1,"_primary_term":1}"#
        )
    );
    for script in [
        r#"{"script":{"source":"ctx._source.tags.add(params['tag'])","params":{"tag":"blue"}}}"#,
        r#"{"script":"ctx._source.remove('gone')"}"#,
        r#"{"script":"ctx._source.new_field = 'value_of_new_field'"}"#,
        r#"{"script":{"source":"if (ctx._source.tags.contains(params.tag)) { ctx._source.tags.remove(ctx._source.tags.indexOf(params.tag)) }","params":{"tag":"red"}}}"#,
    ] {
        let answer = es.call("POST", "/s/_update/1", Some(script));
        assert_eq!(
            answer.json()["result"],
            "updated",
            "{script}: {}",
            answer.body
        );
    }
    assert_eq!(
        source(&es, "/s/_source/1"),
        json!({"counter": 5, "tags": ["blue"], "new_field": "value_of_new_field"})
    );
}

#[test]
fn ctx_op_noop_and_delete() {
    let es = Es::start(1);
    es.call("PUT", "/s/_doc/1", Some(r#"{"tags":["x"]}"#));
    let script = |tag: &str| {
        format!(
            r#"{{"script":{{"source":"if (ctx._source.tags.contains(params.tag)) {{ ctx.op = 'delete' }} else {{ ctx.op = 'noop' }}","params":{{"tag":"{tag}"}}}}}}"#
        )
    };
    let noop = es.call("POST", "/s/_update/1", Some(&script("y")));
    assert_eq!(
        noop.body,
        r#"{"_index":"s","_id":"1","_version":1,"result":"noop","_shards":{"total":0,"successful":0,"failed":0},"_seq_no":0,"_primary_term":1}"#
    );
    // `detect_noop` does not apply to scripts: an unchanged source is still written.
    let unchanged = es.call(
        "POST",
        "/s/_update/1",
        Some(r#"{"script":"ctx._source.tags = ['x']"}"#),
    );
    assert_eq!(unchanged.json()["result"], "updated");
    let deleted = es.call("POST", "/s/_update/1", Some(&script("x")));
    assert_eq!(
        (deleted.status, deleted.body.as_str()),
        (
            200,
            r#"{"_index":"s","_id":"1","_version":3,"result":"deleted","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":2,"_primary_term":1}"#
        )
    );
    assert_eq!(es.call("GET", "/s/_doc/1", None).status, 404);
    let missing = es.call("POST", "/s/_update/1", Some(&script("x")));
    assert_eq!(
        (missing.status, missing.json()["error"]["type"].as_str()),
        (404, Some("document_missing_exception"))
    );
}

#[test]
fn upserts_with_scripts() {
    let es = Es::start(1);
    // Without scripted_upsert the upsert document is indexed as it is; the script runs after.
    let body = r#"{"script":{"source":"ctx._source.counter += params.count","params":{"count":4}},"upsert":{"counter":1}}"#;
    let created = es.call("POST", "/s/_update/1", Some(body));
    assert_eq!(created.status, 201);
    assert_eq!(source(&es, "/s/_source/1"), json!({"counter": 1}));
    es.call("POST", "/s/_update/1", Some(body));
    assert_eq!(source(&es, "/s/_source/1"), json!({"counter": 5}));
    // With scripted_upsert the script builds the new document (ctx.op starts as `create`).
    let scripted = r#"{"scripted_upsert":true,"script":{"source":"if (ctx.op == 'create') { ctx._source.counter = params.count } else { ctx._source.counter += params.count }","params":{"count":3}},"upsert":{}}"#;
    assert_eq!(es.call("POST", "/s/_update/2", Some(scripted)).status, 201);
    assert_eq!(source(&es, "/s/_source/2"), json!({"counter": 3}));
    es.call("POST", "/s/_update/2", Some(scripted));
    assert_eq!(source(&es, "/s/_source/2"), json!({"counter": 6}));
    // A scripted upsert that decides `noop` writes nothing: the missing document's answer.
    let noop = es.call(
        "POST",
        "/s/_update/3",
        Some(r#"{"scripted_upsert":true,"script":"ctx.op = 'noop'","upsert":{}}"#),
    );
    assert_eq!(
        noop.body,
        r#"{"_index":"s","_id":"3","_version":-1,"result":"noop","_shards":{"total":0,"successful":0,"failed":0},"get":{"found":false}}"#
    );
    assert_eq!(es.call("GET", "/s/_doc/3", None).status, 404);
}

#[test]
fn script_errors_are_script_exceptions() {
    let es = Es::start(1);
    es.call("PUT", "/s/_doc/1", Some(r#"{"a":1}"#));
    let runtime = es.call(
        "POST",
        "/s/_update/1",
        Some(r#"{"script":{"source":"ctx._source.counter += params.count","params":{"count":1}}}"#),
    );
    assert_eq!(runtime.status, 400);
    assert_eq!(
        runtime.body,
        r#"{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"failed to execute script"}],"type":"illegal_argument_exception","reason":"failed to execute script","caused_by":{"type":"script_exception","reason":"runtime error","script_stack":["ctx._source.counter += params.count","                    ^---- HERE"],"script":"ctx._source.counter += params.count","lang":"painless","position":{"offset":20,"start":0,"end":35},"caused_by":{"type":"null_pointer_exception","reason":"Cannot invoke \"Object.getClass()\" because \"left\" is null"}}},"status":400}"#
    );
    let unsupported = es.call(
        "POST",
        "/s/_update/1",
        Some(r#"{"script":"for (int i = 0; i < 3; i++) { ctx._source.a += i }"}"#),
    );
    assert_eq!(unsupported.status, 400);
    let cause = &unsupported.json()["error"]["caused_by"];
    assert_eq!(cause["type"], "script_exception");
    assert_eq!(cause["reason"], "compile error");
    assert_eq!(
        cause["script_stack"],
        json!(["for (int i = 0; i < 3; i+ ...", "^---- HERE"])
    );
    assert_eq!(
        cause["position"],
        json!({"offset": 0, "start": 0, "end": 25})
    );
    assert_eq!(
        cause["caused_by"],
        json!({"type": "illegal_argument_exception", "reason": "esocc runs a subset of Painless: [for] loops is not supported"})
    );
    // Nothing was written by either.
    assert_eq!(es.call("GET", "/s/_doc/1", None).json()["_version"], 1);
    let both = es.call(
        "POST",
        "/s/_update/1",
        Some(r#"{"script":"ctx._source.a = 2","doc":{"a":2}}"#),
    );
    assert_eq!(
        both.json()["error"]["reason"],
        "Validation Failed: 1: can't provide both script and doc;"
    );
    let stored = es.call(
        "POST",
        "/s/_update/1",
        Some(r#"{"script":{"id":"my-script"}}"#),
    );
    assert_eq!(
        (stored.status, stored.json()["error"]["reason"].as_str()),
        (
            404,
            Some("unable to find script [my-script] in cluster state")
        )
    );
    let bad_op = es.call(
        "POST",
        "/s/_update/1",
        Some(r#"{"script":"ctx.op = 'create'"}"#),
    );
    assert_eq!(
        bad_op.json()["error"]["caused_by"]["caused_by"]["reason"],
        "[op] must be one of delete, index, none, noop, not [create]"
    );
}

#[test]
fn update_responses_carry_the_source_when_asked() {
    let es = Es::start(1);
    es.call("PUT", "/s/_doc/1", Some(r#"{"a":1,"b":{"c":2,"d":3}}"#));
    let url = es.call(
        "POST",
        "/s/_update/1?_source_includes=b.c",
        Some(r#"{"script":"ctx._source.a++"}"#),
    );
    assert_eq!(
        url.body,
        r#"{"_index":"s","_id":"1","_version":2,"result":"updated","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":1,"_primary_term":1,"get":{"_seq_no":1,"_primary_term":1,"found":true,"_source":{"b":{"c":2}}}}"#
    );
    let body = es.call(
        "POST",
        "/s/_update/1",
        Some(r#"{"doc":{"a":5},"_source":true}"#),
    );
    assert_eq!(
        body.json()["get"],
        json!({"_seq_no": 2, "_primary_term": 1, "found": true, "_source": {"a": 5, "b": {"c": 2, "d": 3}}})
    );
    // The body's `_source` wins over the URL's; `false` leaves `get` out.
    let off = es.call(
        "POST",
        "/s/_update/1?_source=true",
        Some(r#"{"doc":{"a":6},"_source":false}"#),
    );
    assert!(off.json().get("get").is_none(), "{}", off.body);
    let noop = es.call("POST", "/s/_update/1?_source=a", Some(r#"{"doc":{"a":6}}"#));
    assert_eq!(noop.json()["result"], "noop");
    assert_eq!(
        noop.json()["get"],
        json!({"_seq_no": 3, "_primary_term": 1, "found": true, "_source": {"a": 6}})
    );
}

#[test]
fn bulk_update_actions_run_scripts() {
    let es = Es::start(1);
    es.call("PUT", "/s/_doc/1", Some(r#"{"n":1,"l":[]}"#));
    let body = concat!(
        "{\"update\":{\"_index\":\"s\",\"_id\":\"1\",\"_source\":{\"includes\":[\"n\"]}}}\n",
        "{\"script\":{\"source\":\"ctx._source.n += params.by; ctx._source.l.add(params.by)\",\"params\":{\"by\":2}}}\n",
        "{\"update\":{\"_index\":\"s\",\"_id\":\"2\"}}\n",
        "{\"script\":\"ctx._source.n++\",\"scripted_upsert\":true,\"upsert\":{\"n\":10}}\n",
        "{\"update\":{\"_index\":\"s\",\"_id\":\"1\"}}\n",
        "{\"script\":\"ctx._source.missing.add(1)\"}\n",
        "{\"update\":{\"_index\":\"s\",\"_id\":\"1\"}}\n",
        "{\"script\":\"ctx.op = 'delete'\"}\n",
    );
    let answer = es.call("POST", "/_bulk", Some(body)).json();
    let items = answer["items"].as_array().unwrap();
    assert_eq!(answer["errors"], true);
    assert_eq!(
        items[0]["update"]["get"],
        json!({"_seq_no": 1, "_primary_term": 1, "found": true, "_source": {"n": 3}})
    );
    assert_eq!(items[1]["update"]["result"], "created");
    assert_eq!(items[2]["update"]["status"], 400);
    assert_eq!(
        items[2]["update"]["error"]["caused_by"]["type"],
        "script_exception"
    );
    assert_eq!(items[3]["update"]["result"], "deleted");
    assert_eq!(source(&es, "/s/_source/2"), json!({"n": 11}));
    assert_eq!(es.call("GET", "/s/_doc/1", None).status, 404);
}

/// Clients that increment one counter at once: those with `retry_on_conflict` re-run the script
/// on the fresh document until it applies, so no increment is lost; those without it are
/// answered 409 on a conflict, which shows that the updates did race. The document carries a
/// long list, so that the script's copy of the source holds the read → write window open long
/// enough for races to be common. Bounded by counts: every client sends `UPDATES` requests.
#[test]
fn retry_on_conflict_reruns_the_script_and_loses_no_increment() {
    const RETRYING: usize = 2;
    const BARE: usize = 2;
    const UPDATES: usize = 150;
    let es = Es::start(1);
    let padding: Vec<u32> = (0..20_000).collect();
    let doc = json!({"counter": 0, "padding": padding}).to_string();
    es.call("PUT", "/s/_doc/c", Some(&doc));
    let script = r#"{"script":{"source":"ctx._source.counter += params.by","params":{"by":1}}}"#;
    let (applied, conflicts) = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..RETRYING + BARE)
            .map(|client| {
                let es = &es;
                scope.spawn(move || {
                    let path = if client < RETRYING {
                        "/s/_update/c?retry_on_conflict=1000"
                    } else {
                        "/s/_update/c"
                    };
                    let (mut applied, mut conflicts) = (0, 0);
                    for _ in 0..UPDATES {
                        match es.call("POST", path, Some(script)).status {
                            200 => applied += 1,
                            409 => conflicts += 1,
                            other => panic!("unexpected {other}"),
                        }
                    }
                    (client < RETRYING, applied, conflicts)
                })
            })
            .collect();
        let results: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
        for (retrying, applied, conflicts) in &results {
            if *retrying {
                assert_eq!((*applied, *conflicts), (UPDATES, 0));
            }
        }
        let applied: usize = results.iter().map(|r| r.1).sum();
        let conflicts: usize = results.iter().map(|r| r.2).sum();
        (applied, conflicts)
    });
    assert!(conflicts > 0, "the updates never raced");
    let counter = source(&es, "/s/_source/c?_source=counter")["counter"]
        .as_u64()
        .unwrap();
    assert_eq!(counter as usize, applied);
}
