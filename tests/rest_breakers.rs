//! Bounded request cost: the circuit breakers answer 429 `circuit_breaking_exception` with
//! Elasticsearch's body before a request takes the memory, a refused request leaves nothing
//! reserved, the parent breaker stops writes once the process holds what the limit allows, and
//! `_bulk` is capped in items and in the response it builds. Sizes are small (a few MB) and
//! counts bounded.

mod rest_support;

use esocc::rest::bulk_request::BulkItem;
use esocc::rest::limits::{resident_memory, MemoryLimit};
use esocc::rest::ServeArgs;
use rest_support::Es;
use serde_json::Value;

/// `{"a":"xx…"}` of exactly `len` bytes.
fn document_of(len: usize) -> String {
    format!(r#"{{"a":"{}"}}"#, "x".repeat(len - 8))
}

fn breaker_error(answer: &Value) -> (&str, u64, u64) {
    let error = &answer["error"];
    assert_eq!(error["type"], "circuit_breaking_exception", "{answer}");
    assert_eq!(error["durability"], "TRANSIENT");
    assert_eq!(error["root_cause"][0]["reason"], error["reason"]);
    (
        error["reason"].as_str().unwrap(),
        error["bytes_wanted"].as_u64().unwrap(),
        error["bytes_limit"].as_u64().unwrap(),
    )
}

#[test]
fn a_body_over_the_inflight_limit_is_refused_with_elasticsearchs_body() {
    let es = Es::start_with(ServeArgs {
        inflight_requests_limit: MemoryLimit::Bytes(1 << 20),
        ..ServeArgs::default()
    });
    let answer = es.call("PUT", "/i/_doc/1", Some(&document_of(2 << 20)));
    assert_eq!(answer.status, 429);
    let reason = "[inflight_requests] Data too large, data for [<http_request>] would be [2097152/2mb], which is larger than the limit of [1048576/1mb]";
    let cause = format!(
        r#""type":"circuit_breaking_exception","reason":"{reason}","bytes_wanted":2097152,"bytes_limit":1048576,"durability":"TRANSIENT""#
    );
    assert_eq!(
        answer.body,
        format!(r#"{{"error":{{"root_cause":[{{{cause}}}],{cause}}},"status":429}}"#)
    );
    // Nothing stayed reserved: a body under the limit goes through, twice.
    for id in 1..=2 {
        let path = format!("/i/_doc/{id}");
        assert_eq!(
            es.call("PUT", &path, Some(&document_of(1 << 19))).status,
            201
        );
    }
}

#[test]
fn a_document_that_parses_to_more_than_the_request_limit_is_refused() {
    let es = Es::start_with(ServeArgs {
        request_limit: MemoryLimit::Bytes(1 << 20),
        ..ServeArgs::default()
    });
    // 40 000 small fields: about 500 KB of JSON, several MB once parsed.
    let fields: Vec<String> = (0..40_000).map(|i| format!(r#""k{i}":0"#)).collect();
    let body = format!("{{{}}}", fields.join(","));
    let answer = es.call("PUT", "/i/_doc/1", Some(&body));
    assert_eq!(answer.status, 429, "{}", answer.body);
    let json = answer.json();
    let (reason, wanted, limit) = breaker_error(&json);
    assert!(
        reason.starts_with(
            "[request] Data too large, data for [indices:data/write/index] would be ["
        ),
        "{reason}"
    );
    assert!(
        reason.ends_with("which is larger than the limit of [1048576/1mb]"),
        "{reason}"
    );
    assert!(wanted > limit && limit == 1 << 20);
    assert_eq!(
        es.call("GET", "/i/_doc/1", None).status,
        404,
        "nothing was stored"
    );
    assert_eq!(es.call("PUT", "/i/_doc/2", Some(r#"{"k":0}"#)).status, 201);
}

#[test]
fn an_update_reserves_the_document_the_merge_produces() {
    let es = Es::start_with(ServeArgs {
        request_limit: MemoryLimit::Bytes(3 << 20),
        ..ServeArgs::default()
    });
    // 2 MB stored: under the 3 MB limit alone.
    assert_eq!(
        es.call("PUT", "/u/_doc/1", Some(&document_of(2 << 20)))
            .status,
        201
    );
    let small = es.call("POST", "/u/_update/1", Some(r#"{"doc":{"n":1}}"#));
    assert_eq!(small.status, 200, "{}", small.body);
    // 1.5 MB more: the merged document would be 3.5 MB.
    let grow = format!(r#"{{"doc":{{"b":"{}"}}}}"#, "y".repeat(3 << 19));
    let answer = es.call("POST", "/u/_update/1", Some(&grow));
    assert_eq!(answer.status, 429);
    let json = answer.json();
    let (reason, wanted, limit) = breaker_error(&json);
    assert!(
        reason.starts_with(
            "[request] Data too large, data for [indices:data/write/update] would be ["
        ),
        "{reason}"
    );
    assert!(wanted > 3 << 20 && limit == 3 << 20);
    let stored = es.call("GET", "/u/_doc/1", None).json();
    assert_eq!(stored["_version"], 2, "the refused update changed nothing");
    assert!(stored["_source"].get("b").is_none());
}

#[test]
fn the_parent_breaker_stops_writes_once_stored_documents_reach_the_limit() {
    const DOC: usize = 1 << 20;
    const ATTEMPTS: usize = 300;
    let before = resident_memory().expect("VmRSS is readable on Linux");
    let limit = before + (96 << 20);
    let es = Es::start_with(ServeArgs {
        total_limit: MemoryLimit::Bytes(limit),
        ..ServeArgs::default()
    });
    let body = document_of(DOC);
    let mut stored = 0;
    let refusal = (0..ATTEMPTS).find_map(|id| {
        let answer = es.call("PUT", &format!("/big/_doc/{id}"), Some(&body));
        match answer.status {
            201 => {
                stored += 1;
                None
            }
            429 => Some(answer.json()),
            other => panic!("{other}: {}", answer.body),
        }
    });
    // 300 MB would have been stored without the breaker; it stopped well before.
    let refusal = refusal.expect("the parent breaker tripped");
    let (reason, wanted, bytes_limit) = breaker_error(&refusal);
    // The body (`<http_request>`) or the parsed document (`indices:data/write/index`) is the
    // reservation that finds the process over the limit, depending on when memory was read.
    let labels = ["<http_request>", "indices:data/write/index"];
    assert!(
        labels.iter().any(|label| reason.starts_with(&format!(
            "[parent] Data too large, data for [{label}] would be ["
        ))),
        "{reason}"
    );
    assert!(reason.contains(", real usage: ["), "{reason}");
    assert!(reason.contains(", new bytes reserved: ["), "{reason}");
    assert!(reason.contains("], usages [inflight_requests="), "{reason}");
    assert_eq!(bytes_limit, limit);
    assert!(wanted > limit);
    assert!(stored > 0 && stored < ATTEMPTS, "stored {stored}");
    let after = resident_memory().unwrap();
    assert!(
        after < limit + (64 << 20),
        "resident memory {after} went far past the limit {limit}"
    );
    // Reads take no new memory and are still served.
    assert_eq!(es.call("GET", "/big/_doc/0", None).status, 200);
}

#[test]
fn bulk_items_are_capped() {
    let es = Es::start_with(ServeArgs {
        max_bulk_items: 10,
        ..ServeArgs::default()
    });
    let body = "{\"delete\":{\"_index\":\"b\",\"_id\":\"1\"}}\n".repeat(11);
    let answer = es.send("POST", "/_bulk", Some("application/x-ndjson"), Some(&body));
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.json()["error"]["reason"],
        "bulk request has more than [10] items (line [11]); send at most [10] per request (esocc serve --max-bulk-items)"
    );
    let ten = "{\"index\":{\"_index\":\"b\",\"_id\":\"1\"}}\n{}\n".repeat(10);
    let answer = es.send("POST", "/_bulk", Some("application/x-ndjson"), Some(&ten));
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["items"].as_array().unwrap().len(), 10);
}

#[test]
fn a_bulk_response_over_the_request_limit_fails_the_remaining_items() {
    const ITEMS: usize = 3000;
    let lines: String = (0..ITEMS)
        .map(|i| format!("{{\"delete\":{{\"_index\":\"b\",\"_id\":\"{i}\"}}}}\n"))
        .collect();
    // Room for the parsed items and about 100 KB of response (3000 answers take about 500 KB).
    let items: usize = (0..ITEMS)
        .map(|i| std::mem::size_of::<BulkItem>() + 1 + i.to_string().len())
        .sum();
    let es = Es::start_with(ServeArgs {
        request_limit: MemoryLimit::Bytes((items + 100_000) as u64),
        ..ServeArgs::default()
    });
    assert_eq!(es.call("PUT", "/b", None).status, 200);
    let answer = es.send("POST", "/_bulk", Some("application/x-ndjson"), Some(&lines));
    assert_eq!(answer.status, 200);
    let json = answer.json();
    assert_eq!(json["errors"], true);
    let results = json["items"].as_array().unwrap();
    assert_eq!(results.len(), ITEMS);
    let statuses: Vec<u64> = results
        .iter()
        .map(|r| r["delete"]["status"].as_u64().unwrap())
        .collect();
    let executed = statuses.iter().take_while(|s| **s == 404).count();
    assert!(executed > 0 && executed < ITEMS, "executed {executed}");
    assert!(statuses[executed..].iter().all(|s| *s == 429));
    let refused = &results[ITEMS - 1]["delete"];
    assert_eq!(refused["_id"], (ITEMS - 1).to_string());
    assert_eq!(refused["error"]["type"], "circuit_breaking_exception");
    let reason = refused["error"]["reason"].as_str().unwrap();
    assert!(
        reason
            .starts_with("[request] Data too large, data for [indices:data/write/bulk] would be ["),
        "{reason}"
    );
    // The refused deletes never ran: their documents' _seq_no were not taken.
    let next = es.call("PUT", "/b/_doc/x", Some("{}")).json();
    assert_eq!(next["_seq_no"], executed as u64);
}
