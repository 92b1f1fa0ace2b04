//! Every error path of the REST API answers with Elasticsearch 8's status and body.

mod rest_support;

use rest_support::Es;

/// `{"error":{"root_cause":[{cause}],cause},"status":N}` for an exception without `caused_by`.
fn envelope(cause: &str, status: u16) -> String {
    format!(r#"{{"error":{{"root_cause":[{{{cause}}}],{cause}}},"status":{status}}}"#)
}

fn simple(kind: &str, reason: &str) -> String {
    format!(r#""type":"{kind}","reason":"{reason}""#)
}

#[test]
fn validation_errors() {
    let es = Es::start(1);
    let cases = [
        ("PUT", "/i/_doc/1?if_seq_no=1", "Validation Failed: 1: ifSeqNo is set, but primary term is [0];"),
        ("PUT", "/i/_doc/1?if_primary_term=2", "Validation Failed: 1: ifSeqNo is unassigned, but primary term is [2];"),
        (
            "PUT",
            "/i/_doc/1?version=2",
            "Validation Failed: 1: internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead;",
        ),
        (
            "PUT",
            "/i/_doc/1?if_seq_no=1&version=2",
            "Validation Failed: 1: internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead;2: compare and write operations can not use versioning;3: ifSeqNo is set, but primary term is [0];",
        ),
        (
            "PUT",
            "/i/_create/1?if_seq_no=1&if_primary_term=1",
            "Validation Failed: 1: create operations do not support compare and set. use index instead;",
        ),
        (
            "POST",
            "/i/_update/1?if_seq_no=1&if_primary_term=1&retry_on_conflict=2",
            "Validation Failed: 1: compare and write operations can not be retried;",
        ),
        (
            "POST",
            "/i/_update/1?version=3",
            "Validation Failed: 1: internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead;",
        ),
    ];
    for (method, path, reason) in cases {
        let answer = es.call(method, path, Some(r#"{"doc":{"a":1}}"#));
        assert_eq!(answer.status, 400, "{path}");
        assert_eq!(
            answer.body,
            envelope(&simple("action_request_validation_exception", reason), 400),
            "{path}"
        );
    }
    let no_doc = es.call("POST", "/i/_update/1", Some("{}"));
    assert_eq!(
        no_doc.json()["error"]["reason"],
        "Validation Failed: 1: script or doc is missing;"
    );
}

#[test]
fn parameter_errors() {
    let es = Es::start(1);
    let abc = es.call("PUT", "/i/_doc/1?if_seq_no=abc", Some("{}"));
    assert_eq!(
        abc.body,
        r#"{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"Failed to parse long parameter [if_seq_no] with value [abc]"}],"type":"illegal_argument_exception","reason":"Failed to parse long parameter [if_seq_no] with value [abc]","caused_by":{"type":"number_format_exception","reason":"For input string: \"abc\""}},"status":400}"#
    );
    let negative = es.call(
        "PUT",
        "/i/_doc/1?if_seq_no=-5&if_primary_term=1",
        Some("{}"),
    );
    assert_eq!(
        negative.json()["error"]["reason"],
        "sequence numbers must be non negative. got [-5]."
    );
    let term = es.call(
        "PUT",
        "/i/_doc/1?if_seq_no=1&if_primary_term=-1",
        Some("{}"),
    );
    assert_eq!(
        term.json()["error"]["reason"],
        "primary term must be non negative. got [-1]"
    );
    let version_type = es.call("PUT", "/i/_doc/1?version_type=force", Some("{}"));
    assert_eq!(
        version_type.json()["error"]["reason"],
        "No version type match [force]"
    );
    let op_type = es.call("PUT", "/i/_doc/1?op_type=upsert", Some("{}"));
    assert_eq!(
        op_type.json()["error"]["reason"],
        "opType must be 'create' or 'index', found: [upsert]"
    );
    let create = es.call("PUT", "/i/_create/1?op_type=index", Some("{}"));
    assert_eq!(
        create.json()["error"]["reason"],
        "opType must be 'create', found: [index]"
    );
    let unknown = es.call("PUT", "/i/_doc/1?x=1", Some("{}"));
    assert_eq!(
        unknown.body,
        envelope(
            &simple(
                "illegal_argument_exception",
                "request [/i/_doc/1] contains unrecognized parameter: [x]"
            ),
            400
        )
    );
    let typo = es.call("PUT", "/i/_doc/1?if_seqno=1", Some("{}"));
    assert_eq!(
        typo.json()["error"]["reason"],
        "request [/i/_doc/1] contains unrecognized parameter: [if_seqno] -> did you mean [if_seq_no]?"
    );
    // Parse errors come before the unrecognized-parameter check, and that before validation.
    let order = es.call("PUT", "/i/_doc/1?x=1&if_seq_no=zz", Some("{}"));
    assert_eq!(
        order.json()["error"]["reason"],
        "Failed to parse long parameter [if_seq_no] with value [zz]"
    );
    let order = es.call("PUT", "/i/_doc/1?x=1&if_seq_no=1", Some("{}"));
    assert_eq!(order.json()["error"]["type"], "illegal_argument_exception");
    let refresh = es.call("PUT", "/i/_doc/1?refresh=maybe", Some("{}"));
    assert_eq!(
        refresh.json()["error"]["reason"],
        "Unknown value for refresh: [maybe]."
    );
}

#[test]
fn body_and_content_type_errors() {
    let es = Es::start(1);
    let no_body = es.call("PUT", "/i/_doc/1", None);
    assert_eq!(
        no_body.body,
        envelope(&simple("parse_exception", "request body is required"), 400)
    );
    let missing = es.send("PUT", "/i/_doc/1", None, Some("{}"));
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (
            406,
            r#"{"error":"Content-Type header is missing","status":406}"#
        )
    );
    let text = es.send("PUT", "/i/_doc/1", Some("text/plain"), Some("{}"));
    assert_eq!(
        text.body,
        r#"{"error":"Content-Type header [text/plain] is not supported","status":406}"#
    );
    let compat = es.send(
        "PUT",
        "/i/_doc/1",
        Some("application/vnd.elasticsearch+json; compatible-with=8"),
        Some("{}"),
    );
    assert_eq!(compat.status, 201);
    let not_json = es.call("PUT", "/i/_doc/2", Some("{\"a\":"));
    assert_eq!(not_json.status, 400);
    assert_eq!(
        not_json.json()["error"]["type"],
        "document_parsing_exception"
    );
    let array = es.call("PUT", "/i/_doc/2", Some("[1]"));
    assert_eq!(
        array.json()["error"]["reason"],
        "[1:1] Malformed content, must start with an object"
    );
    let bad_update = es.call("POST", "/i/_update/1", Some(r#"{"dco":{}}"#));
    assert_eq!(
        bad_update.body,
        envelope(
            &simple(
                "x_content_parse_exception",
                "[1:2] [UpdateRequest] unknown field [dco]"
            ),
            400
        )
    );
    // `ObjectParser`'s suggestions (`SuggestingErrorOnUnknown`), in the update body and in its
    // script.
    let suggested = es.call("POST", "/i/_update/1", Some(r#"{"docs":{}}"#));
    assert_eq!(
        suggested.body,
        envelope(
            &simple(
                "x_content_parse_exception",
                "[1:2] [UpdateRequest] unknown field [docs] did you mean [doc]?"
            ),
            400
        )
    );
    let script = es.call(
        "POST",
        "/i/_update/1",
        Some(r#"{"script":{"sorce":"ctx.op = 'noop'"}}"#),
    );
    assert_eq!(
        script.json()["error"]["caused_by"]["reason"],
        "[script] unknown field [sorce] did you mean [source]?"
    );
    let huge = "x".repeat(100 * 1024 * 1024 + 1);
    let too_large = es.call("PUT", "/i/_doc/3", Some(&huge));
    assert_eq!((too_large.status, too_large.body.as_str()), (413, ""));
    assert_eq!(too_large.header("x-elastic-product"), Some("Elasticsearch"));
}

#[test]
fn index_errors() {
    let es = Es::start(1);
    let missing = es.call("GET", "/nope/_doc/1", None);
    assert_eq!(
        missing.body,
        r#"{"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [nope]","resource.type":"index_or_alias","resource.id":"nope","index_uuid":"_na_","index":"nope"}],"type":"index_not_found_exception","reason":"no such index [nope]","resource.type":"index_or_alias","resource.id":"nope","index_uuid":"_na_","index":"nope"},"status":404}"#
    );
    assert_eq!(es.call("DELETE", "/nope/_doc/1", None).status, 404);
    let upper = es.call("PUT", "/Movies/_doc/1", Some("{}"));
    let cause = simple(
        "invalid_index_name_exception",
        "Invalid index name [Movies], must be lowercase",
    );
    assert_eq!(
        upper.body,
        envelope(
            &format!(r#"{cause},"index_uuid":"_na_","index":"Movies""#),
            400
        )
    );
    let underscore = es.call("PUT", "/_x", None);
    assert_eq!(
        underscore.json()["error"]["reason"],
        "Invalid index name [_x], must not start with '_', '-', or '+'"
    );
    let shards = es.call("PUT", "/s", Some(r#"{"settings":{"number_of_shards":0}}"#));
    assert_eq!(
        shards.json()["error"]["reason"],
        "Failed to parse value [0] for setting [index.number_of_shards] must be >= 1"
    );
    let doc_missing = es.call("POST", "/i/_update/1", Some(r#"{"doc":{"a":1}}"#));
    assert_eq!(doc_missing.status, 404);
    let uuid = doc_missing.json()["error"]["index_uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let cause = format!(
        r#"{},"index_uuid":"{uuid}","shard":"0","index":"i""#,
        simple("document_missing_exception", "[1]: document missing")
    );
    assert_eq!(doc_missing.body, envelope(&cause, 404));
}

#[test]
fn routing_errors_of_the_router() {
    let es = Es::start(1);
    let no_handler = es.call("GET", "/a/b/c/d?x=1", None);
    assert_eq!(
        (no_handler.status, no_handler.body.as_str()),
        (
            400,
            r#"{"error":"no handler found for uri [/a/b/c/d?x=1] and method [GET]"}"#
        )
    );
    let method = es.call("PATCH", "/i/_doc/1", None);
    assert_eq!(method.status, 405);
    assert_eq!(
        method.body,
        r#"{"error":"Incorrect HTTP method for uri [/i/_doc/1] and method [PATCH], allowed: [GET, POST, PUT, DELETE, HEAD]","status":405}"#
    );
    assert_eq!(method.header("allow"), Some("GET,POST,PUT,DELETE,HEAD"));
}

#[test]
fn wait_for_active_shards_fails_with_unavailable_shards() {
    let es = Es::start(1);
    let answer = es.call(
        "PUT",
        "/w/_doc/1?wait_for_active_shards=all&timeout=100ms",
        Some(r#"{"f":1}"#),
    );
    assert_eq!(answer.status, 503);
    assert_eq!(
        answer.body,
        envelope(
            &simple(
                "unavailable_shards_exception",
                r#"[w][0] Not enough active copies to meet shard count of [ALL] (have 1, needed 2). Timeout: [100ms], request: [BulkShardRequest [[w][0]] containing [index {[w][1], source[{\"f\":1}]}]]"#
            ),
            503
        )
    );
    assert_eq!(
        es.call("GET", "/w/_doc/1", None).status,
        404,
        "nothing was written"
    );
    assert_eq!(
        es.call("PUT", "/w/_doc/1?wait_for_active_shards=1", Some("{}"))
            .status,
        201
    );
}

#[test]
fn odd_requests_never_break_the_server() {
    let es = Es::start(1);
    let id_513 = format!("/i/_doc/{}", "x".repeat(513));
    let odd: Vec<(&str, &str, Option<&str>)> = vec![
        ("PUT", "/i/_doc/%FF", Some("{}")),
        (
            "PUT",
            "/i/_doc/1?if_seq_no=99999999999999999999",
            Some("{}"),
        ),
        ("PUT", "/i/_doc/1?timeout=99999999999d", Some("{}")),
        ("PUT", "/i/_doc/1?timeout=1e400s", Some("{}")),
        (
            "PUT",
            "/i/_doc/1?wait_for_active_shards=99999999999",
            Some("{}"),
        ),
        ("PUT", "/i/_doc/1?retry_on_conflict=-1", Some("{}")),
        (
            "POST",
            "/i/_update/1?retry_on_conflict=-1",
            Some(r#"{"doc":{}}"#),
        ),
        ("POST", "/i/_update/1", Some(r#"{"doc":5}"#)),
        ("POST", "/i/_update/1", Some("[]")),
        (
            "POST",
            "/i/_update/1",
            Some(r#"{"script":"ctx._source.n++"}"#),
        ),
        ("PUT", &id_513, Some("{}")),
        (
            "PUT",
            "/i",
            Some(r#"{"settings":{"number_of_shards":"many"}}"#),
        ),
        (
            "PUT",
            "/j",
            Some(r#"{"settings":{"number_of_shards":100000}}"#),
        ),
        ("PUT", "/k", Some("[]")),
        (
            "POST",
            "/_bulk",
            Some("{\"index\":{\"_index\":\"i\",\"version\":\"abc\"}}\n{}\n"),
        ),
        ("POST", "/_bulk", Some("{\"index\":5}\n")),
        ("POST", "/_bulk", Some("not json\n")),
        (
            "POST",
            "/_bulk",
            Some("{\"update\":{\"_index\":\"i\",\"_id\":\"1\"}}\n[1]\n"),
        ),
        ("GET", "/i/_doc/1?_source=a,,b&pretty=false", None),
        ("DELETE", "/i/_doc/1?version=-7&version_type=external", None),
    ];
    for (method, path, body) in odd {
        let answer = es.call(method, path, body);
        assert!(
            answer.status < 500,
            "{method} {path}: {} {}",
            answer.status,
            answer.body
        );
    }
    assert_eq!(es.call("GET", "/", None).status, 200, "still serving");
}
