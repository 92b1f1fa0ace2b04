//! GET and HEAD of one document with Elasticsearch 8.15's details: `version` + `version_type`
//! (`GetRequest.validate`, `VersionType.isVersionConflictForReads`), `stored_fields`
//! (`ShardGetService.normalizeFetchSourceContent`) and the parameters `RestGetAction` refuses.

mod rest_support;

use rest_support::Es;

fn seeded() -> Es {
    let es = Es::start(1);
    es.call("PUT", "/a/_doc/1", Some(r#"{"x":1}"#));
    es.call("PUT", "/a/_doc/1", Some(r#"{"x":2}"#));
    es
}

const FOUND: &str = r#"{"_index":"a","_id":"1","_version":2,"_seq_no":1,"_primary_term":1,"found":true,"_source":{"x":2}}"#;

#[test]
fn a_matching_version_reads_the_document_whatever_its_type() {
    let es = seeded();
    for query in [
        "version=2",
        "version=2&version_type=internal",
        "version=2&version_type=external",
        "version=2&version_type=external_gt",
        "version=2&version_type=external_gte",
        "version=-3",
    ] {
        let answer = es.call("GET", &format!("/a/_doc/1?{query}"), None);
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, FOUND),
            "{query}"
        );
        let head = es.call("HEAD", &format!("/a/_doc/1?{query}"), None);
        assert_eq!((head.status, head.body.as_str()), (200, ""), "{query}");
    }
}

#[test]
fn another_version_is_a_409_for_every_type_and_a_bodiless_409_on_head() {
    let es = seeded();
    let uuid = index_uuid(&es);
    let conflict = |provided: u64| {
        let cause = format!(
            r#""type":"version_conflict_engine_exception","reason":"[1]: version conflict, current version [2] is different than the one provided [{provided}]","index_uuid":"{uuid}","shard":"0","index":"a""#
        );
        format!(r#"{{"error":{{"root_cause":[{{{cause}}}],{cause}}},"status":409}}"#)
    };
    // External versions above and below the current one conflict too: a read asks for the
    // version exactly (unlike a write, where external means "greater than").
    for (query, provided) in [
        ("version=1", 1),
        ("version=3&version_type=external", 3),
        ("version=1&version_type=external_gte", 1),
        ("version=5&version_type=external_gt", 5),
    ] {
        let answer = es.call("GET", &format!("/a/_doc/1?{query}"), None);
        assert_eq!(answer.status, 409, "{query}");
        assert_eq!(answer.body, conflict(provided), "{query}");
        let head = es.call("HEAD", &format!("/a/_doc/1?{query}"), None);
        assert_eq!((head.status, head.body.as_str()), (409, ""), "{query}");
        let source = es.call("GET", &format!("/a/_source/1?{query}"), None);
        assert_eq!(source.status, 409, "{query}");
    }
}

/// The index's uuid, from the conflict of a write that changes nothing.
fn index_uuid(es: &Es) -> String {
    let answer = es.call("PUT", "/a/_doc/1?if_seq_no=0&if_primary_term=1", Some("{}"));
    answer.json()["error"]["index_uuid"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_missing_document_is_not_found_whatever_version_is_asked() {
    let es = seeded();
    for query in ["version=7", "version=7&version_type=external"] {
        let answer = es.call("GET", &format!("/a/_doc/2?{query}"), None);
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (404, r#"{"_index":"a","_id":"2","found":false}"#)
        );
    }
    es.call("DELETE", "/a/_doc/1", None);
    let answer = es.call("GET", "/a/_doc/1?version=2", None);
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (404, r#"{"_index":"a","_id":"1","found":false}"#)
    );
}

#[test]
fn versions_a_get_cannot_take_fail_validation_before_the_index_is_looked_up() {
    let es = seeded();
    let validation = |reason: &str| {
        format!(
            r#"{{"error":{{"root_cause":[{{"type":"action_request_validation_exception","reason":"Validation Failed: 1: {reason};"}}],"type":"action_request_validation_exception","reason":"Validation Failed: 1: {reason};"}},"status":400}}"#
        )
    };
    for (path, reason) in [
        (
            "/a/_doc/1?version=0",
            "illegal version value [0] for version type [INTERNAL]",
        ),
        (
            "/missing/_doc/1?version=-4",
            "illegal version value [-4] for version type [INTERNAL]",
        ),
        (
            "/a/_doc/1?version=-1&version_type=external",
            "illegal version value [-1] for version type [EXTERNAL]",
        ),
    ] {
        let answer = es.call("GET", path, None);
        assert_eq!(
            (answer.status, answer.body),
            (400, validation(reason)),
            "{path}"
        );
    }
    let answer = es.call("GET", "/a/_doc/1?version_type=force", None);
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.json()["error"]["reason"],
        "No version type match [force]"
    );
    let answer = es.call("GET", "/a/_doc/1?version=x", None);
    assert_eq!(
        answer.json()["error"]["reason"],
        "Failed to parse long parameter [version] with value [x]"
    );
}

#[test]
fn stored_fields_leave_the_source_out_unless_source_is_named_or_asked_for() {
    let es = seeded();
    let without =
        r#"{"_index":"a","_id":"1","_version":2,"_seq_no":1,"_primary_term":1,"found":true}"#;
    for query in [
        "stored_fields=x",
        "stored_fields=x,_routing",
        "stored_fields=",
        "stored_fields=_none_",
    ] {
        let answer = es.call("GET", &format!("/a/_doc/1?{query}"), None);
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, without),
            "{query}"
        );
    }
    for query in [
        "stored_fields=x,_source",
        "stored_fields=x&_source=true",
        "stored_fields=x&_source_includes=x",
    ] {
        let answer = es.call("GET", &format!("/a/_doc/1?{query}"), None);
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, FOUND),
            "{query}"
        );
    }
    let answer = es.call("GET", "/a/_doc/1?fields=x", None);
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (
            400,
            r#"{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"the parameter [fields] is no longer supported, please use [stored_fields] to retrieve stored fields or [_source] to load the field from _source"}],"type":"illegal_argument_exception","reason":"the parameter [fields] is no longer supported, please use [stored_fields] to retrieve stored fields or [_source] to load the field from _source"},"status":400}"#
        )
    );
    let answer = es.call("GET", "/a/_doc/1?force_synthetic_source=false", None);
    assert_eq!((answer.status, answer.body.as_str()), (200, FOUND));
}
