//! Input Elasticsearch refuses is refused with its texts: repeated keys, metadata fields and
//! invalid field names in a source, objects deeper than `index.mapping.depth.limit`, bulk action
//! lines with two actions, and bulk metadata numbers out of their Java type's range. A refused
//! document is not stored.

mod rest_support;

use rest_support::Es;

/// The `document_parsing_exception` body, with an `illegal_argument_exception` cause when given.
fn document_parsing(reason: &str, cause: Option<&str>) -> String {
    let own = format!(r#""type":"document_parsing_exception","reason":"{reason}""#);
    match cause {
        None => format!(r#"{{"error":{{"root_cause":[{{{own}}}],{own}}},"status":400}}"#),
        Some(cause) => format!(
            r#"{{"error":{{"root_cause":[{{{own}}}],{own},"caused_by":{{"type":"illegal_argument_exception","reason":"{cause}"}}}},"status":400}}"#
        ),
    }
}

#[test]
fn sources_are_parsed_as_elasticsearchs_document_parser_does() {
    let es = Es::start(1);
    let metadata = |field: &str| {
        format!("Field [{field}] is a metadata field and cannot be added inside a document. Use the index API request parameters.")
    };
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        (
            r#"{"a":1,"a":2}"#,
            "[1:10] failed to parse: Duplicate field 'a'".into(),
            None,
        ),
        (
            r#"{"o":{"b":1,"b":2}}"#,
            "[1:15] failed to parse: Duplicate field 'b'".into(),
            None,
        ),
        (r#"{"_id":"x"}"#, format!("[1:2] {}", metadata("_id")), None),
        (
            r#"{"n":1,"_source":{}}"#,
            format!("[1:8] {}", metadata("_source")),
            None,
        ),
        (
            r#"{"_seq_no":3}"#,
            format!("[1:2] {}", metadata("_seq_no")),
            None,
        ),
        (
            r#"{"":1}"#,
            "[1:2] failed to parse: field name cannot be an empty string".into(),
            Some("field name cannot be an empty string"),
        ),
        (
            r#"{".":1}"#,
            "[1:2] failed to parse: field name cannot contain only dots".into(),
            Some("field name cannot contain only dots"),
        ),
        (
            r#"{".a":1}"#,
            "[1:2] failed to parse: field name cannot contain only whitespace: ['.a']".into(),
            Some("field name cannot contain only whitespace: ['.a']"),
        ),
        (
            r#"{"o":{"  ":1}}"#,
            "[1:7] Field name cannot contain only whitespace: [o.  ]".into(),
            None,
        ),
    ];
    for (body, reason, cause) in cases {
        let answer = es.call("PUT", "/s/_doc/1", Some(body));
        assert_eq!(answer.status, 400, "{body}");
        assert_eq!(answer.body, document_parsing(&reason, cause), "{body}");
    }
    assert_eq!(
        es.call("GET", "/s/_doc/1", None).status,
        404,
        "nothing was stored"
    );
    // Metadata names below the root and a trailing dot (dropped, as Elasticsearch does) are fine.
    let fine = es.call("PUT", "/s/_doc/2", Some(r#"{"o":{"_id":1},"a.":2}"#));
    assert_eq!(fine.status, 201, "{}", fine.body);
}

#[test]
fn objects_deeper_than_the_mapping_depth_limit_are_refused() {
    let es = Es::start(1);
    let nest = |n: usize| format!("{}1{}", r#"{"a":"#.repeat(n), "}".repeat(n));
    assert_eq!(es.call("PUT", "/d/_doc/1", Some(&nest(20))).status, 201);
    let answer = es.call("PUT", "/d/_doc/2", Some(&nest(21)));
    assert_eq!(answer.status, 400);
    let message = format!(
        "Limit of mapping depth [20] has been exceeded due to object field [{}]",
        vec!["a"; 20].join(".")
    );
    assert_eq!(
        answer.body,
        document_parsing(&format!("[1:2] failed to parse: {message}"), Some(&message))
    );
    // Through _bulk the item fails alone.
    let bulk = format!(
        "{{\"index\":{{\"_index\":\"d\",\"_id\":\"3\"}}}}\n{}\n",
        nest(21)
    );
    let answer = es.send("POST", "/_bulk", Some("application/x-ndjson"), Some(&bulk));
    let item = &answer.json()["items"][0]["index"];
    assert_eq!(item["status"], 400);
    assert_eq!(item["error"]["type"], "document_parsing_exception");
}

#[test]
fn bulk_metadata_is_read_as_elasticsearchs_bulk_request_parser_reads_it() {
    let es = Es::start(1);
    let cases = [
        (
            "{\"index\":{\"_index\":\"b\",\"_id\":\"1\"},\"delete\":{\"_index\":\"b\",\"_id\":\"1\"}}\n{}\n",
            "illegal_argument_exception",
            "Malformed action/metadata line [1], expected END_OBJECT but found [FIELD_NAME]",
        ),
        (
            "{\"index\":{\"_index\":\"b\",\"_id\":\"1\",\"version\":9223372036854775808,\"version_type\":\"external\"}}\n{}\n",
            "x_content_parse_exception",
            "Numeric value (9223372036854775808) out of range of long (-9223372036854775808 - 9223372036854775807)",
        ),
        (
            "{\"index\":{\"_index\":\"b\",\"_id\":\"1\",\"if_seq_no\":\"99999999999999999999\",\"if_primary_term\":1}}\n{}\n",
            "illegal_argument_exception",
            "Value [99999999999999999999] is out of range for a long",
        ),
        (
            "{\"update\":{\"_index\":\"b\",\"_id\":\"1\",\"retry_on_conflict\":4294967296}}\n{\"doc\":{}}\n",
            "x_content_parse_exception",
            "Numeric value (4294967296) out of range of int (-2147483648 - 2147483647)",
        ),
        (
            "{\"update\":{\"_index\":\"b\",\"_id\":\"1\"}}\n{\"doc\":{},\"doc\":{}}\n",
            "x_content_parse_exception",
            "[1:15] Duplicate field 'doc'",
        ),
    ];
    for (body, kind, reason) in cases {
        let answer = es.send("POST", "/_bulk", Some("application/x-ndjson"), Some(body));
        assert_eq!(answer.status, 400, "{body}");
        let json = answer.json();
        assert_eq!(json["error"]["type"], kind, "{body}");
        assert_eq!(json["error"]["reason"], reason, "{body}");
    }
    assert_eq!(es.call("HEAD", "/b", None).status, 404, "no item ran");
}

#[test]
fn an_internal_write_after_the_largest_external_version_is_refused_not_wrapped() {
    let es = Es::start(1);
    let max = i64::MAX;
    let put = |query: &str| es.call("PUT", &format!("/v/_doc/1{query}"), Some(r#"{"n":1}"#));
    let first = put(&format!("?version={max}&version_type=external"));
    assert_eq!(first.status, 201, "{}", first.body);
    let next = put("");
    assert_eq!(next.status, 409, "{}", next.body);
    let error = &next.json()["error"];
    assert_eq!(error["type"], "version_conflict_engine_exception");
    assert_eq!(
        error["reason"],
        format!("[1]: version conflict, current version [{max}] is the largest a document can have, so no internal version can follow it")
    );
    let doc = es.call("GET", "/v/_doc/1", None).json();
    assert_eq!(doc["_version"].as_i64(), Some(max), "nothing was written");
}
