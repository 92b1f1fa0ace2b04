//! `esocc serve --nodes 3`: real replicas over HTTP, and the fault-injection endpoints under
//! `/_esocc/...`: failover with a new term, an isolated primary fenced, delayed and dropped
//! replication, and a failover during concurrent writes that loses no acknowledged write.

mod rest_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use rest_support::{Es, JSON};
use serde_json::json;

#[test]
fn replicas_are_assigned_and_counted() {
    let es = Es::start(3);
    es.call(
        "PUT",
        "/r",
        Some(r#"{"settings":{"number_of_replicas":2}}"#),
    );
    let put = es.call("PUT", "/r/_doc/1", Some("{}")).json();
    assert_eq!(
        put["_shards"],
        json!({"total": 3, "successful": 3, "failed": 0})
    );
    // The default index: one replica, assigned on the second node.
    let put = es.call("PUT", "/d/_doc/1", Some("{}")).json();
    assert_eq!(
        put["_shards"],
        json!({"total": 2, "successful": 2, "failed": 0})
    );
    let health = es.call("GET", "/_cluster/health", None).json();
    assert_eq!(
        (health["status"].as_str(), health["active_shards"].as_u64()),
        (Some("green"), Some(5))
    );
    assert_eq!(health["number_of_nodes"], 3);
    let state = es.call("GET", "/_esocc/r/0", None).json();
    assert_eq!(state["primary"], 0);
    assert_eq!(state["copies"].as_array().unwrap().len(), 3);
    assert!(state["copies"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["local_checkpoint"] == 0));
    assert_eq!(
        es.call("GET", "/_esocc/r/1", None).json()["error"]["type"],
        "shard_not_found_exception"
    );
}

#[test]
fn failover_bumps_the_term_and_fences_the_stale_pair() {
    let es = Es::start(3);
    es.call(
        "PUT",
        "/f",
        Some(r#"{"settings":{"number_of_replicas":2}}"#),
    );
    es.call("PUT", "/f/_doc/1", Some(r#"{"v":0}"#));
    let failover = es.call("POST", "/_esocc/f/0/fail_primary", None);
    assert_eq!(failover.status, 200, "{}", failover.body);
    let failover = failover.json();
    assert_eq!(failover["primary_term"], 2);
    assert_eq!(failover["demoted"], 0);
    let get = es.call("GET", "/f/_doc/1", None).json();
    assert_eq!(
        (get["_seq_no"].as_i64(), get["_primary_term"].as_i64()),
        (Some(0), Some(1))
    );
    let write = es
        .call(
            "PUT",
            "/f/_doc/1?if_seq_no=0&if_primary_term=1",
            Some(r#"{"v":1}"#),
        )
        .json();
    assert_eq!(write["_primary_term"], 2);
    assert_eq!(
        write["_shards"],
        json!({"total": 3, "successful": 2, "failed": 0})
    );
    let stale = es.call(
        "PUT",
        "/f/_doc/1?if_seq_no=0&if_primary_term=1",
        Some(r#"{"v":2}"#),
    );
    assert_eq!(stale.status, 409);
    assert_eq!(
        es.call("GET", "/_cluster/health", None).json()["status"],
        "yellow"
    );
    // A second failover leaves no replica to promote.
    es.call("POST", "/_esocc/f/0/fail_primary", None);
    let none_left = es.call("POST", "/_esocc/f/0/fail_primary", None);
    assert_eq!(none_left.status, 400);
}

#[test]
fn an_isolated_primary_serves_dirty_reads_and_its_fenced_write_is_rerouted() {
    let es = Es::start(2);
    es.call("PUT", "/i/_doc/1", Some(r#"{"v":"old"}"#));
    let isolated = es.call("POST", "/_esocc/i/0/isolate_primary", None).json();
    assert_eq!(
        (
            isolated["promoted"].as_u64(),
            isolated["primary_term"].as_u64()
        ),
        (Some(1), Some(2))
    );
    // The new primary takes a write.
    let new = es.call("PUT", "/i/_doc/1", Some(r#"{"v":"new"}"#));
    assert_eq!(
        (new.status, new.json()["_primary_term"].as_i64()),
        (200, Some(2))
    );
    // A client still talking to the old primary's node reads the old value (a dirty read) …
    let dirty = es.call_on(0, "GET", "/i/_doc/1", None).json();
    assert_eq!(dirty["_source"], json!({"v": "old"}));
    // … and its write is fenced by the replica's term check: the old primary never
    // acknowledges it. The coordinating node re-routes it to the new primary, which does.
    let rerouted = es.call_on(0, "PUT", "/i/_doc/2", Some(r#"{"v":"rerouted"}"#));
    assert_eq!(
        (rerouted.status, rerouted.json()["_primary_term"].as_i64()),
        (201, Some(2)),
        "{}",
        rerouted.body
    );
    let state = es.call("GET", "/_esocc/i/0", None).json();
    assert_eq!(
        (
            state["reroutes"].as_u64(),
            state["copies"][0]["role"].as_str()
        ),
        (Some(1), Some("failed"))
    );
    let found = es.call("GET", "/i/_doc/2", None).json();
    assert_eq!(
        (found["_source"].clone(), found["_primary_term"].as_i64()),
        (json!({"v": "rerouted"}), Some(2))
    );
    assert_eq!(
        es.call("GET", "/i/_doc/1", None).json()["_source"],
        json!({"v": "new"})
    );
}

#[test]
fn delayed_and_dropped_replication() {
    let es = Es::start(3);
    es.call(
        "PUT",
        "/l",
        Some(r#"{"settings":{"number_of_replicas":2}}"#),
    );
    assert_eq!(
        es.call("POST", "/_esocc/l/0/link/1/delay", None).status,
        200
    );
    std::thread::scope(|s| {
        let writer = s.spawn(|| es.call("PUT", "/l/_doc/1", Some("{}")));
        // The write waits for copy 1, whose link holds the request.
        let mut held = 0;
        for _ in 0..200 {
            held = es.call("GET", "/_esocc/l/0", None).json()["copies"][1]["held"]
                .as_u64()
                .unwrap();
            if held == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(held, 1);
        assert!(
            !writer.is_finished(),
            "not acknowledged before every in-sync copy applied it"
        );
        assert_eq!(
            es.call("POST", "/_esocc/l/0/release/1", None).json()["released"],
            1
        );
        let answer = writer.join().unwrap();
        assert_eq!(
            answer.json()["_shards"],
            json!({"total": 3, "successful": 3, "failed": 0})
        );
    });
    es.call("POST", "/_esocc/l/0/link/1/deliver", None);
    es.call("POST", "/_esocc/l/0/link/2/drop", None);
    let dropped = es.call("PUT", "/l/_doc/2", Some("{}")).json();
    assert_eq!(
        dropped["_shards"],
        json!({"total": 3, "successful": 2, "failed": 1})
    );
    let state = es.call("GET", "/_esocc/l/0", None).json();
    assert_eq!(
        state["copies"][2]["in_sync"], false,
        "the failed copy left the in-sync set"
    );
    assert_eq!(
        es.call("POST", "/_esocc/l/0/link/1/sideways", None).json()["error"]["reason"],
        "unknown link fault [sideways]: expected deliver, delay, reorder or drop"
    );
}

/// Writers index distinct documents and increment a counter with `if_seq_no` while the primary
/// fails: every acknowledged write is there afterwards, and no client sees a 5xx, because the
/// coordinating node re-routes a write whose primary failed. A 409 is not definite under
/// failover (a re-routed increment can meet its own change), so the counter lies between the
/// acknowledged increments and those plus the 409s.
#[test]
fn failover_during_concurrent_writes_loses_no_acknowledged_write() {
    let es = Es::start(3);
    es.call(
        "PUT",
        "/w",
        Some(r#"{"settings":{"number_of_replicas":2}}"#),
    );
    es.call("PUT", "/w/_doc/counter", Some(r#"{"n":0}"#));
    let acked: Mutex<BTreeMap<String, i64>> = Mutex::new(BTreeMap::new());
    let (increments_acked, increments_conflicted) = (Mutex::new(0i64), Mutex::new(0i64));
    let failed: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..3 {
            let (es, acked, stop, failed) = (&es, &acked, &stop, &failed);
            s.spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let id = format!("t{t}-{i}");
                    let put = es.call(
                        "PUT",
                        &format!("/w/_doc/{id}"),
                        Some(&format!(r#"{{"v":{i}}}"#)),
                    );
                    // 200 is a re-routed PUT that met its own first execution on the
                    // promoted replica: Elasticsearch indexes it again, `updated`, version 2.
                    match put.status {
                        200 | 201 => drop(acked.lock().unwrap().insert(id, i)),
                        _ => failed.lock().unwrap().push(put.body),
                    }
                    i += 1;
                }
            });
        }
        for _ in 0..2 {
            let (es, stop, ok, conflicts, failed) = (
                &es,
                &stop,
                &increments_acked,
                &increments_conflicted,
                &failed,
            );
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let read = es.call("GET", "/w/_doc/counter", None);
                    if read.status != 200 {
                        continue;
                    }
                    let read = read.json();
                    let n = read["_source"]["n"].as_i64().unwrap();
                    let path = format!(
                        "/w/_doc/counter?if_seq_no={}&if_primary_term={}",
                        read["_seq_no"], read["_primary_term"]
                    );
                    let write = es.call("PUT", &path, Some(&format!(r#"{{"n":{}}}"#, n + 1)));
                    match write.status {
                        200 => *ok.lock().unwrap() += 1,
                        409 => *conflicts.lock().unwrap() += 1,
                        _ => failed.lock().unwrap().push(write.body),
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(300));
        let failover = es.call("POST", "/_esocc/w/0/fail_primary", None);
        assert_eq!(failover.status, 200, "{}", failover.body);
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
    });
    let acked = acked.into_inner().unwrap();
    assert!(
        acked.len() > 10,
        "writes were acknowledged on both sides of the failover"
    );
    let mut terms = BTreeMap::new();
    for (id, v) in &acked {
        let get = es.call("GET", &format!("/w/_doc/{id}"), None);
        assert_eq!(get.status, 200, "acknowledged {id} lost");
        let get = get.json();
        assert_eq!(get["_source"]["v"].as_i64(), Some(*v));
        *terms
            .entry(get["_primary_term"].as_u64().unwrap())
            .or_insert(0) += 1;
    }
    assert_eq!(
        terms.keys().copied().collect::<Vec<_>>(),
        [1, 2],
        "acknowledged before and after the failover: {terms:?}"
    );
    let n = es.call("GET", "/w/_doc/counter", None).json()["_source"]["n"]
        .as_i64()
        .unwrap();
    let (ok, conflicts) = (
        increments_acked.into_inner().unwrap(),
        increments_conflicted.into_inner().unwrap(),
    );
    assert_eq!(
        failed.into_inner().unwrap(),
        Vec::<String>::new(),
        "no write failed"
    );
    assert!(ok > 0);
    assert!(
        n >= ok && n <= ok + conflicts,
        "counter {n}: {ok} acknowledged, {conflicts} conflicts"
    );
    let terms: Vec<u64> = (0..3)
        .map(|_| {
            es.call("GET", "/_esocc/w/0", None).json()["primary_term"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(terms[0], 2);
}

#[test]
fn a_server_stops_even_with_a_write_held_on_a_delayed_link() {
    let es = Es::start(2);
    es.call("PUT", "/h/_doc/0", Some("{}"));
    es.call("POST", "/_esocc/h/0/link/1/delay", None);
    let url = es.server.url();
    let writer = std::thread::spawn(move || {
        reqwest::blocking::Client::new()
            .put(format!("{url}/h/_doc/1"))
            .header("content-type", JSON)
            .body("{}")
            .send()
            .map(|r| r.status().as_u16())
    });
    while es.call("GET", "/_esocc/h/0", None).json()["copies"][1]["held"] != 1 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let started = std::time::Instant::now();
    drop(es);
    assert!(started.elapsed() < Duration::from_secs(10));
    // The held write was never acknowledged: its connection was closed.
    assert!(writer.join().unwrap().is_err());
}
