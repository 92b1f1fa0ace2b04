//! `_mget` over HTTP: `docs` and `ids` bodies, per-doc `_index`, `routing`, `_source` and
//! `stored_fields`, per-item errors (a missing index, a version conflict) and the request
//! errors of a malformed or incomplete body, as Elasticsearch 8 answers them.

mod rest_support;

use rest_support::Es;
use serde_json::json;

fn seeded() -> Es {
    let es = Es::start(1);
    es.call("PUT", "/a/_doc/1", Some(r#"{"x":1,"y":{"z":2}}"#));
    es.call("PUT", "/a/_doc/2?routing=r", Some(r#"{"x":2}"#));
    es.call("PUT", "/b/_doc/1", Some(r#"{"x":3}"#));
    es
}

#[test]
fn docs_across_indices_with_routing_and_source_filtering() {
    let es = seeded();
    let answer = es.call(
        "POST",
        "/_mget",
        Some(r#"{"docs":[{"_index":"a","_id":"1","_source":["y.z"]},{"_index":"a","_id":"2","routing":"r"},{"_index":"b","_id":"1","_source":false},{"_index":"a","_id":"404"},{"_index":"missing","_id":"1"}]}"#),
    );
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        concat!(
            r#"{"docs":[{"_index":"a","_id":"1","_version":1,"_seq_no":0,"_primary_term":1,"found":true,"_source":{"y":{"z":2}}},"#,
            r#"{"_index":"a","_id":"2","_version":1,"_seq_no":1,"_primary_term":1,"_routing":"r","found":true,"_source":{"x":2}},"#,
            r#"{"_index":"b","_id":"1","_version":1,"_seq_no":0,"_primary_term":1,"found":true},"#,
            r#"{"_index":"a","_id":"404","found":false},"#,
            r#"{"_index":"missing","_id":"1","error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [missing]","resource.type":"index_or_alias","resource.id":"missing","index_uuid":"_na_","index":"missing"}],"type":"index_not_found_exception","reason":"no such index [missing]","resource.type":"index_or_alias","resource.id":"missing","index_uuid":"_na_","index":"missing"}}]}"#
        )
    );
}

#[test]
fn ids_with_the_path_index_and_url_defaults() {
    let es = seeded();
    let answer = es
        .call(
            "GET",
            "/a/_mget?_source_excludes=y&routing=r",
            Some(r#"{"ids":["2"]}"#),
        )
        .json();
    assert_eq!(answer["docs"][0]["_source"], json!({"x": 2}));
    let answer = es
        .call(
            "POST",
            "/a/_mget?_source_excludes=y",
            Some(r#"{"ids":["1", 3]}"#),
        )
        .json();
    assert_eq!(answer["docs"][0]["_source"], json!({"x": 1}));
    assert_eq!(answer["docs"][1]["found"], false);
    // A doc's own `_index` wins over the path's; `stored_fields` alone leaves the source out.
    let answer = es
        .call(
            "POST",
            "/a/_mget?stored_fields=x",
            Some(r#"{"docs":[{"_index":"b","_id":"1"},{"_id":"1","_source":true}]}"#),
        )
        .json();
    assert_eq!(
        answer["docs"][0],
        json!({"_index":"b","_id":"1","_version":1,"_seq_no":0,"_primary_term":1,"found":true})
    );
    assert_eq!(answer["docs"][1]["_source"], json!({"x": 1, "y": {"z": 2}}));
    let conflict = es
        .call(
            "POST",
            "/a/_mget",
            Some(r#"{"docs":[{"_id":"1","version":2}]}"#),
        )
        .json();
    assert_eq!(
        conflict["docs"][0]["error"]["reason"],
        "[1]: version conflict, current version [1] is different than the one provided [2]"
    );
}

#[test]
fn malformed_and_incomplete_requests_fail_whole() {
    let es = seeded();
    let cases = [
        (
            "/_mget",
            r#"{"ids":["1"]}"#,
            "action_request_validation_exception",
            "Validation Failed: 1: index is missing for doc 0;",
        ),
        (
            "/a/_mget",
            r#"{"docs":[{"_id":null},{}]}"#,
            "action_request_validation_exception",
            "Validation Failed: 1: id is missing for doc 0;2: id is missing for doc 1;",
        ),
        (
            "/a/_mget",
            r#"{}"#,
            "action_request_validation_exception",
            "Validation Failed: 1: no documents to get;",
        ),
        (
            "/a/_mget",
            r#"{"docs":["1"]}"#,
            "illegal_argument_exception",
            "docs array element should include an object",
        ),
        (
            "/a/_mget",
            r#"{"ids":[null]}"#,
            "illegal_argument_exception",
            "ids array element should only contain ids",
        ),
        (
            "/a/_mget",
            r#"{"docs":[{"_id":"1","_type":"_doc"}]}"#,
            "parse_exception",
            "failed to parse multi get request. unknown field [_type]",
        ),
        (
            "/a/_mget",
            r#"{"foo":[]}"#,
            "parsing_exception",
            "unknown key [foo] for a START_ARRAY, expected [docs] or [ids]",
        ),
        (
            "/a/_mget",
            r#"{"docs":5}"#,
            "parsing_exception",
            "unexpected token [VALUE_NUMBER], expected [FIELD_NAME] or [START_ARRAY]",
        ),
    ];
    for (path, body, error_type, reason) in cases {
        let answer = es.call("POST", path, Some(body));
        let json = answer.json();
        assert_eq!(
            (
                answer.status,
                json["error"]["type"].as_str(),
                json["error"]["reason"].as_str()
            ),
            (400, Some(error_type), Some(reason)),
            "{body}"
        );
    }
    let empty = es.call("POST", "/a/_mget", None);
    assert_eq!(
        empty.json()["error"]["reason"],
        "request body or source parameter is required"
    );
    let unknown = es.call("POST", "/a/_mget?foo=1", Some(r#"{"ids":["1"]}"#));
    assert_eq!(unknown.status, 400);
}
