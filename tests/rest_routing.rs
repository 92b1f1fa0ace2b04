//! A document's `_routing` and the non-realtime GET, as Elasticsearch 8.15 answers them.
//!
//! `_routing` is stored with the document (`RoutingFieldMapper`) and shown wherever a document is
//! shown: GET and `_mget` between `_primary_term` and `found` (`GetResult.toXContentEmbedded`),
//! search hits after `_score` (`SearchHit.toInnerXContent`); an update keeps the stored routing
//! and an upsert stores the request's (`UpdateHelper.calculateRouting`, `prepareUpsert`); it is
//! replicated with the document. `realtime=false` reads what the last refresh made visible;
//! `refresh=true` refreshes first, and only then (`TransportGetAction.asyncGet`,
//! `TransportShardMultiGetAction`). Indices use `refresh_interval: -1`, so only the refreshes a
//! test asks for happen.

mod rest_support;

use rest_support::Es;

#[test]
fn a_routed_document_shows_its_routing_in_get_mget_and_search_but_not_in_write_answers() {
    let es = Es::start(1);
    es.create_unrefreshed_index("r");
    let indexed = es.call(
        "PUT",
        "/r/_doc/1?routing=u1&refresh=true",
        Some(r#"{"x":1}"#),
    );
    assert_eq!(
        indexed.body,
        r#"{"_index":"r","_id":"1","_version":1,"result":"created","forced_refresh":true,"_shards":{"total":1,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1}"#
    );
    let get = es.call("GET", "/r/_doc/1?routing=u1", None);
    assert_eq!(
        get.body,
        r#"{"_index":"r","_id":"1","_version":1,"_seq_no":0,"_primary_term":1,"_routing":"u1","found":true,"_source":{"x":1}}"#
    );
    let stored = es.call("GET", "/r/_doc/1?routing=u1&stored_fields=_routing", None);
    assert_eq!(
        stored.body,
        r#"{"_index":"r","_id":"1","_version":1,"_seq_no":0,"_primary_term":1,"_routing":"u1","found":true}"#
    );
    let mget = es.call(
        "POST",
        "/_mget",
        Some(r#"{"docs":[{"_index":"r","_id":"1","routing":"u1"}]}"#),
    );
    assert_eq!(
        mget.body,
        r#"{"docs":[{"_index":"r","_id":"1","_version":1,"_seq_no":0,"_primary_term":1,"_routing":"u1","found":true,"_source":{"x":1}}]}"#
    );
    let search = es.call(
        "POST",
        "/r/_search",
        Some(r#"{"query":{"ids":{"values":["1"]}}}"#),
    );
    let hit = &search.json()["hits"]["hits"][0];
    assert_eq!(
        hit.to_string(),
        r#"{"_index":"r","_id":"1","_score":1.0,"_routing":"u1","_source":{"x":1}}"#
    );
    // A document indexed without routing shows none.
    es.call("PUT", "/r/_doc/2", Some(r#"{"x":2}"#));
    let plain = es.call("GET", "/r/_doc/2", None);
    assert!(!plain.body.contains("_routing"), "{}", plain.body);
}

#[test]
fn an_update_keeps_the_stored_routing_an_upsert_stores_the_requests_and_a_script_reads_it() {
    let es = Es::start(1);
    es.create_unrefreshed_index("r");
    es.call("PUT", "/r/_doc/1?routing=u1", Some(r#"{"x":1}"#));
    // One shard: an update without routing reaches the document and keeps its routing.
    let updated = es.call("POST", "/r/_update/1", Some(r#"{"doc":{"x":2}}"#));
    assert_eq!(updated.status, 200, "{}", updated.body);
    let get = es.call("GET", "/r/_doc/1", None).json();
    assert_eq!(
        (get["_routing"].as_str(), get["_source"]["x"].as_i64()),
        (Some("u1"), Some(2))
    );
    let scripted = es.call(
        "POST",
        "/r/_update/1",
        Some(r#"{"script":"ctx._source.seen = ctx._routing"}"#),
    );
    assert_eq!(scripted.status, 200, "{}", scripted.body);
    let get = es.call("GET", "/r/_doc/1", None).json();
    assert_eq!(get["_source"]["seen"], "u1");
    let upserted = es.call(
        "POST",
        "/r/_update/2?routing=u2",
        Some(r#"{"doc":{"y":1},"doc_as_upsert":true}"#),
    );
    assert_eq!(upserted.status, 201, "{}", upserted.body);
    let get = es.call("GET", "/r/_doc/2?routing=u2", None).json();
    assert_eq!(get["_routing"], "u2");
    // Bulk index and update items store and keep routing the same way.
    let bulk = "{\"index\":{\"_index\":\"r\",\"_id\":\"3\",\"routing\":\"u3\"}}\n{\"z\":1}\n\
                {\"update\":{\"_index\":\"r\",\"_id\":\"3\"}}\n{\"doc\":{\"z\":2}}\n";
    let answer = es.send("POST", "/_bulk", Some("application/x-ndjson"), Some(bulk));
    assert_eq!(answer.json()["errors"], false, "{}", answer.body);
    let get = es.call("GET", "/r/_doc/3?routing=u3", None).json();
    assert_eq!(
        (get["_routing"].as_str(), get["_source"]["z"].as_i64()),
        (Some("u3"), Some(2))
    );
}

#[test]
fn update_by_query_keeps_each_hits_routing() {
    let es = Es::start(1);
    es.create_unrefreshed_index("r");
    es.call(
        "PUT",
        "/r/_doc/1?routing=u1&refresh=true",
        Some(r#"{"x":1}"#),
    );
    let by_query = es.call(
        "POST",
        "/r/_update_by_query",
        Some(r#"{"script":"ctx._source.x += 1"}"#),
    );
    assert_eq!(by_query.json()["updated"], 1, "{}", by_query.body);
    let get = es.call("GET", "/r/_doc/1", None).json();
    assert_eq!(
        (get["_routing"].as_str(), get["_version"].as_i64()),
        (Some("u1"), Some(2))
    );
}

#[test]
fn the_routing_is_replicated_and_survives_a_failover() {
    let es = Es::start(2);
    let created = es.call(
        "PUT",
        "/f",
        Some(r#"{"settings":{"number_of_replicas":1}}"#),
    );
    assert_eq!(created.status, 200, "{}", created.body);
    es.call("PUT", "/f/_doc/1?routing=u1", Some(r#"{"x":1}"#));
    let failover = es.call("POST", "/_esocc/f/0/fail_primary", None);
    assert_eq!(failover.status, 200, "{}", failover.body);
    // Only the promoted replica is left to answer.
    let get = es.call("GET", "/f/_doc/1?routing=u1", None).json();
    assert_eq!(get["_routing"], "u1", "{get}");
    assert_eq!(get["_source"]["x"], 1);
}

#[test]
fn realtime_false_reads_the_refreshed_view_and_refresh_true_refreshes_it_first() {
    let es = Es::start(1);
    es.create_unrefreshed_index("q");
    es.call("PUT", "/q/_doc/1", Some(r#"{"v":1}"#));
    let unrefreshed = es.call("GET", "/q/_doc/1?realtime=false", None);
    assert_eq!(
        (unrefreshed.status, unrefreshed.body.as_str()),
        (404, r#"{"_index":"q","_id":"1","found":false}"#)
    );
    // A realtime GET sees the write, and `refresh=true` on it refreshes nothing.
    let realtime = es.call("GET", "/q/_doc/1?refresh=true", None);
    assert_eq!(realtime.status, 200);
    let still = es.call("GET", "/q/_doc/1?realtime=false", None);
    assert_eq!(still.status, 404, "{}", still.body);
    let refreshed = es.call("GET", "/q/_doc/1?realtime=false&refresh=true", None);
    assert_eq!(
        refreshed.body,
        r#"{"_index":"q","_id":"1","_version":1,"_seq_no":0,"_primary_term":1,"found":true,"_source":{"v":1}}"#
    );
    // A second write is not shown until the next refresh: the non-realtime read is the old one.
    es.call("PUT", "/q/_doc/1", Some(r#"{"v":2}"#));
    let old = es.call("GET", "/q/_doc/1?realtime=false", None).json();
    assert_eq!(
        (old["_version"].as_i64(), old["_source"]["v"].as_i64()),
        (Some(1), Some(1))
    );
    let source = es.call("GET", "/q/_source/1?realtime=false", None);
    assert_eq!(source.body, r#"{"v":1}"#);
    // A version check reads the refreshed version too.
    let conflict = es.call("GET", "/q/_doc/1?realtime=false&version=2", None);
    assert_eq!(conflict.status, 409, "{}", conflict.body);
    let mget = |query: &str| {
        let answer = es.call(
            "POST",
            &format!("/q/_mget?{query}"),
            Some(r#"{"ids":["1"]}"#),
        );
        answer.json()["docs"][0]["_version"].as_i64()
    };
    assert_eq!(mget(""), Some(2));
    assert_eq!(mget("realtime=false"), Some(1));
    assert_eq!(mget("realtime=true&refresh=true"), Some(2));
    assert_eq!(mget("realtime=false"), Some(1), "a realtime mget refreshed");
    assert_eq!(mget("realtime=false&refresh=true"), Some(2));
    // The refresh a GET made is the shard's: search shows the write now.
    let count = es.call("GET", "/q/_search", None).json();
    assert_eq!(count["hits"]["hits"][0]["_source"]["v"], 2, "{count}");
}
