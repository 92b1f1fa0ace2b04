//! Near-real-time search over HTTP: `_refresh`, `refresh=true|wait_for`, `_search` and `_count`
//! with the query DSL subset, sort, paging and hit metadata, answered in Elasticsearch 8's exact
//! shapes. Indices are created with `refresh_interval: -1` so that only the refreshes a test
//! asks for happen (the background refresher has its own test).

mod rest_support;

use rest_support::Es;
use serde_json::{json, Value};

/// The body with `took` set to 0 (the one field that depends on the clock).
fn untimed(body: &str) -> String {
    let mut value: Value = serde_json::from_str(body).unwrap();
    if let Some(took) = value.get_mut("took") {
        *took = json!(0);
    }
    value.to_string()
}

fn seeded() -> Es {
    let es = Es::start(1);
    es.create_unrefreshed_index("s");
    for (id, doc) in [
        ("1", r#"{"n":1,"tag":"red","name":"kim"}"#),
        ("2", r#"{"n":2,"tag":"blue"}"#),
        ("3", r#"{"n":3,"tag":["red","green"],"name":"lee"}"#),
        ("4", r#"{"n":4,"tag":"blue","name":null}"#),
    ] {
        let put = es.call("PUT", &format!("/s/_doc/{id}"), Some(doc));
        assert_eq!(put.status, 201, "{}", put.body);
    }
    assert_eq!(es.call("POST", "/s/_refresh", None).status, 200);
    es
}

fn ids(answer: &Value) -> Vec<String> {
    answer["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["_id"].as_str().unwrap().to_string())
        .collect()
}

fn search(es: &Es, body: &str) -> Value {
    let answer = es.call("POST", "/s/_search", Some(body));
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

#[test]
fn a_write_is_visible_to_get_at_once_and_to_search_after_a_refresh() {
    let es = Es::start(1);
    es.create_unrefreshed_index("nrt");
    es.call("PUT", "/nrt/_doc/1", Some(r#"{"x":1}"#));
    assert_eq!(es.call("GET", "/nrt/_doc/1", None).json()["found"], true);
    let before = es.call("GET", "/nrt/_search", None);
    assert_eq!(
        untimed(&before.body),
        r#"{"took":0,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},"hits":{"total":{"value":0,"relation":"eq"},"max_score":null,"hits":[]}}"#
    );
    assert_eq!(
        es.call("GET", "/nrt/_count", None).body,
        r#"{"count":0,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0}}"#
    );
    assert_eq!(
        es.call("POST", "/nrt/_refresh", None).body,
        r#"{"_shards":{"total":1,"successful":1,"failed":0}}"#
    );
    let after = es.call("GET", "/nrt/_search", None);
    assert_eq!(
        untimed(&after.body),
        r#"{"took":0,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},"hits":{"total":{"value":1,"relation":"eq"},"max_score":1.0,"hits":[{"_index":"nrt","_id":"1","_score":1.0,"_source":{"x":1}}]}}"#
    );
    // A delete is invisible to search until the next refresh too.
    es.call("DELETE", "/nrt/_doc/1", None);
    assert_eq!(es.call("GET", "/nrt/_count", None).json()["count"], 1);
    es.call("POST", "/_refresh", None);
    assert_eq!(es.call("GET", "/nrt/_count", None).json()["count"], 0);
}

#[test]
fn refresh_true_forces_a_refresh_and_wait_for_waits_for_one() {
    let es = Es::start(1);
    es.create_unrefreshed_index("r");
    let forced = es.call("PUT", "/r/_doc/1?refresh=true", Some(r#"{"x":1}"#));
    assert_eq!(
        forced.body,
        r#"{"_index":"r","_id":"1","_version":1,"result":"created","forced_refresh":true,"_shards":{"total":1,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1}"#
    );
    assert_eq!(es.call("GET", "/r/_count", None).json()["count"], 1);
    // `wait_for` with refresh_interval -1 blocks until someone refreshes.
    let url = es.server.url();
    let waiting = std::thread::spawn(move || {
        reqwest::blocking::Client::new()
            .put(format!("{url}/r/_doc/2?refresh=wait_for"))
            .header("content-type", "application/json")
            .body(r#"{"x":2}"#)
            .send()
            .unwrap()
            .text()
            .unwrap()
    });
    // Bounded by count: the write reaches the live engine before it starts waiting.
    let mut polls = 0;
    while es.call("GET", "/r/_doc/2", None).status != 200 {
        polls += 1;
        assert!(polls < 10_000, "the wait_for write never went in");
        std::thread::yield_now();
    }
    // Nothing refreshes this index but the test: the write cannot have been answered yet.
    assert!(
        !waiting.is_finished(),
        "wait_for answered before any refresh"
    );
    assert_eq!(es.call("GET", "/r/_count", None).json()["count"], 1);
    es.call("POST", "/r/_refresh", None);
    let answer = waiting.join().unwrap();
    assert!(!answer.contains("forced_refresh"), "{answer}");
    assert_eq!(es.call("GET", "/r/_count", None).json()["count"], 2);
    // Bulk: one refresh for the request.
    let bulk = es.call(
        "POST",
        "/_bulk?refresh=true",
        Some("{\"index\":{\"_index\":\"r\",\"_id\":\"3\"}}\n{\"x\":3}\n"),
    );
    assert!(
        bulk.body.contains(r#""forced_refresh":true"#),
        "{}",
        bulk.body
    );
    assert_eq!(es.call("GET", "/r/_count", None).json()["count"], 3);
}

#[test]
fn the_background_refresher_makes_writes_visible() {
    let es = Es::start(1);
    es.call(
        "PUT",
        "/bg",
        Some(r#"{"settings":{"refresh_interval":"50ms"}}"#),
    );
    es.call("PUT", "/bg/_doc/1", Some(r#"{"x":1}"#));
    // Bounded by polls, each a round trip: the refresher runs every 50 ms.
    let mut polls = 0;
    while es.call("GET", "/bg/_count", None).json()["count"] != 1 {
        polls += 1;
        assert!(polls < 100_000, "no background refresh happened");
        std::thread::yield_now();
    }
}

#[test]
fn leaf_queries_match_the_source() {
    let es = seeded();
    let cases = [
        (r#"{"query":{"term":{"tag":"red"}}}"#, vec!["1", "3"]),
        (
            r#"{"query":{"term":{"tag.keyword":{"value":"blue"}}}}"#,
            vec!["2", "4"],
        ),
        (r#"{"query":{"terms":{"n":[1,4,9]}}}"#, vec!["1", "4"]),
        (
            r#"{"query":{"range":{"n":{"gt":1,"lte":3}}}}"#,
            vec!["2", "3"],
        ),
        (r#"{"query":{"range":{"name":{"gte":"l"}}}}"#, vec!["3"]),
        (r#"{"query":{"exists":{"field":"name"}}}"#, vec!["1", "3"]),
        (
            r#"{"query":{"ids":{"values":["4","2","9"]}}}"#,
            vec!["2", "4"],
        ),
        (r#"{"query":{"match_none":{}}}"#, vec![]),
    ];
    for (body, expected) in cases {
        assert_eq!(ids(&search(&es, body)), expected, "{body}");
    }
}

#[test]
fn bool_clauses_scores_and_minimum_should_match() {
    let es = seeded();
    let filtered = search(
        &es,
        r#"{"query":{"bool":{"filter":{"term":{"tag":"blue"}},"must_not":[{"term":{"n":4}}]}}}"#,
    );
    assert_eq!(
        filtered["hits"],
        json!({"total":{"value":1,"relation":"eq"},"max_score":0.0,"hits":[{"_index":"s","_id":"2","_score":0.0,"_source":{"n":2,"tag":"blue"}}]})
    );
    let should = search(
        &es,
        r#"{"query":{"bool":{"should":[{"term":{"tag":"red"}},{"term":{"tag":"green"}},{"term":{"n":2}}]}}}"#,
    );
    assert_eq!(
        ids(&should),
        vec!["3", "1", "2"],
        "3 matches two should clauses"
    );
    assert_eq!(should["hits"]["max_score"], json!(2.0));
    let two = search(
        &es,
        r#"{"query":{"bool":{"should":[{"term":{"tag":"red"}},{"term":{"tag":"green"}}],"minimum_should_match":2}}}"#,
    );
    assert_eq!(ids(&two), vec!["3"]);
    // With a filter, should clauses are optional by default.
    let optional = search(
        &es,
        r#"{"query":{"bool":{"filter":[{"range":{"n":{"gte":3}}}],"should":[{"term":{"tag":"nothing"}}]}}}"#,
    );
    assert_eq!(ids(&optional), vec!["3", "4"]);
}

#[test]
fn sort_paging_source_filtering_and_hit_metadata() {
    let es = seeded();
    let answer = es.call(
        "POST",
        "/s/_search?size=2&from=1",
        Some(r#"{"sort":[{"n":{"order":"desc"}}],"_source":["tag"],"version":true,"seq_no_primary_term":true}"#),
    );
    assert_eq!(
        untimed(&answer.body),
        concat!(
            r#"{"took":0,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},"hits":{"total":{"value":4,"relation":"eq"},"max_score":null,"hits":["#,
            r#"{"_index":"s","_id":"3","_version":1,"_seq_no":2,"_primary_term":1,"_score":null,"_source":{"tag":["red","green"]},"sort":[3]},"#,
            r#"{"_index":"s","_id":"2","_version":1,"_seq_no":1,"_primary_term":1,"_score":null,"_source":{"tag":"blue"},"sort":[2]}]}}"#
        )
    );
    let by_seq_no = search(&es, r#"{"sort":[{"_seq_no":"desc"}],"_source":false}"#);
    assert_eq!(ids(&by_seq_no), vec!["4", "3", "2", "1"]);
    assert!(by_seq_no["hits"]["hits"][0].get("_source").is_none());
    let by_name = es.call("GET", "/s/_search?sort=name:asc", None).json();
    assert_eq!(
        ids(&by_name),
        vec!["1", "3", "2", "4"],
        "missing values last"
    );
    assert_eq!(by_name["hits"]["hits"][2]["sort"], json!([null]));
}

#[test]
fn request_errors_are_elasticsearch_s() {
    let es = seeded();
    let unknown = es.call("POST", "/s/_search", Some(r#"{"query":{"foo":{}}}"#));
    assert_eq!(unknown.status, 400);
    assert_eq!(
        unknown.body,
        r#"{"error":{"root_cause":[{"type":"parsing_exception","reason":"unknown query [foo]","line":1,"col":11}],"type":"parsing_exception","reason":"unknown query [foo]","line":1,"col":11,"caused_by":{"type":"named_object_not_found_exception","reason":"[1:11] unknown field [foo]"}},"status":400}"#
    );
    // The suggestion is `SuggestingErrorOnUnknown.suggest` over `SearchModule`'s query names.
    let typo = es.call("POST", "/s/_search", Some(r#"{"query":{"rnage":{}}}"#));
    assert_eq!(
        typo.json()["error"]["reason"],
        "unknown query [rnage] did you mean [range]?"
    );
    let key = es.call("POST", "/s/_search", Some(r#"{"querry":{}}"#));
    assert_eq!(key.status, 400);
    assert_eq!(
        key.json()["error"]["reason"],
        "Unknown key for a START_OBJECT in [querry]."
    );
    let missing = es.call("GET", "/nope/_search", None);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"]["type"], "index_not_found_exception");
    let count = es.call("POST", "/s/_count", Some(r#"{"size":1}"#));
    assert_eq!(count.status, 400);
    assert_eq!(
        count.json()["error"]["reason"],
        "request does not support [size]"
    );
}

#[test]
fn update_by_query_rewrites_each_hit_with_its_script() {
    let es = seeded();
    let answer = es.call(
        "POST",
        "/s/_update_by_query?refresh=true",
        Some(r#"{"query":{"term":{"tag":"blue"}},"script":{"source":"if (ctx._source.n == 4) { ctx.op = 'noop' } else { ctx._source.n += params.by }","params":{"by":10}}}"#),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        untimed(&answer.body),
        r#"{"took":0,"timed_out":false,"total":2,"updated":1,"deleted":0,"batches":1,"version_conflicts":0,"noops":1,"retries":{"bulk":0,"search":0},"throttled_millis":0,"requests_per_second":-1.0,"throttled_until_millis":0,"failures":[]}"#
    );
    let doc = es.call("GET", "/s/_doc/2", None).json();
    assert_eq!(
        (doc["_version"].clone(), doc["_source"]["n"].clone()),
        (json!(2), json!(12))
    );
    assert_eq!(es.call("GET", "/s/_doc/4", None).json()["_version"], 1);
    // refresh=true made the rewrite searchable.
    assert_eq!(
        ids(&search(&es, r#"{"query":{"term":{"n":12}}}"#)),
        vec!["2"]
    );
    // Without a script every hit is indexed again as it is; batches of scroll_size.
    let plain = es
        .call("POST", "/s/_update_by_query?scroll_size=3", None)
        .json();
    assert_eq!(
        (plain["updated"].clone(), plain["batches"].clone()),
        (json!(4), json!(2))
    );
}

#[test]
fn delete_by_query_deletes_what_the_view_matches() {
    let es = seeded();
    let answer = es.call(
        "POST",
        "/s/_delete_by_query",
        Some(r#"{"query":{"range":{"n":{"lt":3}}}}"#),
    );
    assert_eq!(
        untimed(&answer.body),
        r#"{"took":0,"timed_out":false,"total":2,"deleted":2,"batches":1,"version_conflicts":0,"noops":0,"retries":{"bulk":0,"search":0},"throttled_millis":0,"requests_per_second":-1.0,"throttled_until_millis":0,"failures":[]}"#
    );
    assert_eq!(es.call("GET", "/s/_doc/1", None).status, 404);
    assert_eq!(es.call("GET", "/s/_doc/3", None).status, 200);
    let empty = es
        .call(
            "POST",
            "/s/_delete_by_query",
            Some(r#"{"query":{"ids":{"values":["none"]}}}"#),
        )
        .json();
    assert_eq!(
        (empty["total"].clone(), empty["batches"].clone()),
        (json!(0), json!(0))
    );
}

#[test]
fn a_write_since_the_refresh_is_a_version_conflict_that_aborts_or_is_skipped() {
    let es = seeded();
    // Written after the refresh: the view still shows _seq_no 0 for doc 1.
    es.call("PUT", "/s/_doc/1", Some(r#"{"n":100,"tag":"red"}"#));
    let aborted = es.call(
        "POST",
        "/s/_update_by_query",
        Some(r#"{"query":{"term":{"tag":"red"}},"script":"ctx._source.seen = true"}"#),
    );
    assert_eq!(aborted.status, 409, "{}", aborted.body);
    let body = aborted.json();
    assert_eq!(body["version_conflicts"], 1);
    assert_eq!(body["updated"], 1, "the rest of the batch still ran");
    let failure = &body["failures"][0];
    assert_eq!(
        (
            failure["index"].clone(),
            failure["id"].clone(),
            failure["status"].clone()
        ),
        (json!("s"), json!("1"), json!(409))
    );
    assert_eq!(
        failure["cause"]["type"],
        "version_conflict_engine_exception"
    );
    assert_eq!(
        failure["cause"]["reason"],
        "[1]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [4] and primary term [1]"
    );
    // The writer's document is kept as it wrote it.
    assert_eq!(
        es.call("GET", "/s/_doc/1", None).json()["_source"],
        json!({"n":100,"tag":"red"})
    );
    // Refreshed (doc 3's rewrite is seen), then doc 1 written again behind the view's back.
    es.call("POST", "/s/_refresh", None);
    es.call("PUT", "/s/_doc/1", Some(r#"{"n":101,"tag":"red"}"#));
    let proceeded = es.call(
        "POST",
        "/s/_delete_by_query?conflicts=proceed",
        Some(r#"{"query":{"term":{"tag":"red"}}}"#),
    );
    assert_eq!(proceeded.status, 200, "{}", proceeded.body);
    let body = proceeded.json();
    assert_eq!(
        (body["deleted"].clone(), body["version_conflicts"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(body["failures"], json!([]));
    assert_eq!(
        es.call("GET", "/s/_doc/1", None).json()["_source"]["n"],
        101
    );
    let bad = es.call("POST", "/s/_delete_by_query?conflicts=maybe", None);
    assert_eq!(
        bad.json()["error"]["reason"],
        r#"conflicts may only be "proceed" or "abort" but was [maybe]"#
    );
}

/// One resolver for every API that takes indices, with `SearchRequest`'s default
/// `IndicesOptions` (`strictExpandOpenAndForbidClosed`): a missing name fails the request, a
/// wildcard may match nothing; `ignore_unavailable` and `allow_no_indices` change that.
#[test]
fn index_expressions_resolve_with_search_s_indices_options() {
    let es = seeded();
    es.create_unrefreshed_index("t");
    es.call("PUT", "/t/_doc/9?refresh=true", Some(r#"{"n":9}"#));
    let total = |path: &str| {
        let answer = es.call("GET", path, None);
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        answer.json()["hits"]["total"]["value"].as_u64()
    };
    assert_eq!(total("/s*/_search"), Some(4));
    assert_eq!(total("/s,t/_search"), Some(5));
    assert_eq!(total("/*/_search"), Some(5));
    assert_eq!(total("/s,missing/_search?ignore_unavailable=true"), Some(4));
    let empty = es.call("GET", "/nomatch*/_search", None).json();
    assert_eq!(
        (
            empty["hits"]["total"]["value"].as_u64(),
            empty["_shards"]["total"].as_u64()
        ),
        (Some(0), Some(0))
    );
    let missing = es.call("GET", "/s,missing/_search", None);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"]["reason"], "no such index [missing]");
    let strict = es.call("GET", "/nomatch*/_count?allow_no_indices=false", None);
    assert_eq!(strict.status, 404, "{}", strict.body);
    assert_eq!(strict.json()["error"]["reason"], "no such index [nomatch*]");
    let count = es.call("GET", "/t*/_count", None).json();
    assert_eq!(count["count"], 1);
}
