//! The shard copy's public API, one behaviour per test: responses and errors compared as exact
//! Elasticsearch 8 JSON text, and the replica side driven with the primary's operation records.

use std::sync::Arc;

use esocc::engine::{
    OpKind, ReplicaApplied, ShardCopy, ShardId, Source, UpdateOptions, UpdateRequest, WriteOutcome,
};
use esocc::protocol::{ChangeId, Condition, VersionType};
use serde_json::{json, Map, Value};

#[path = "support/answers.rs"]
mod answers;
use answers::{error_answer, get_answer, write_answer};

fn copy() -> ShardCopy {
    ShardCopy::new(ShardId::new("movies", "kjpb", 0))
}

fn src(v: Value) -> Source {
    Arc::new(obj(v).into())
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// The response or error body as compact JSON, with the HTTP status.
fn answer(outcome: &WriteOutcome) -> (u16, String) {
    write_answer(&outcome.result)
}

fn if_seq_no(seq_no: i64, term: u64) -> Condition {
    Condition::IfSeqNo(ChangeId::new(seq_no, term))
}

#[test]
fn index_then_get_have_elasticsearch_shapes() {
    let c = copy();
    let out = c.index("1", src(json!({"title": "x", "n": 1})), &Condition::None);
    assert_eq!(
        answer(&out),
        (201, r#"{"_index":"movies","_id":"1","_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1}"#.into())
    );
    assert_eq!(
        get_answer(&c.get("1")),
        (200, r#"{"_index":"movies","_id":"1","_version":1,"_seq_no":0,"_primary_term":1,"found":true,"_source":{"title":"x","n":1}}"#.into())
    );
    assert_eq!(
        get_answer(&c.get("2")),
        (404, r#"{"_index":"movies","_id":"2","found":false}"#.into())
    );
    let again = c.index("1", src(json!({"n": 2})), &Condition::None);
    assert_eq!(again.result.as_ref().unwrap().result.as_str(), "updated");
    assert_eq!(again.result.as_ref().unwrap().version, 2);
    assert_eq!(answer(&again).0, 200);
}

#[test]
fn stale_if_seq_no_is_an_exact_409_and_takes_no_seq_no() {
    let c = copy();
    c.index("109487", src(json!({"a": 1})), &Condition::None);
    c.index("109487", src(json!({"a": 2})), &Condition::None);
    let out = c.index("109487", src(json!({"a": 3})), &if_seq_no(0, 1));
    assert_eq!(
        answer(&out),
        (409, r#"{"error":{"root_cause":[{"type":"version_conflict_engine_exception","reason":"[109487]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [1] and primary term [1]","index_uuid":"kjpb","shard":"0","index":"movies"}],"type":"version_conflict_engine_exception","reason":"[109487]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [1] and primary term [1]","index_uuid":"kjpb","shard":"0","index":"movies"},"status":409}"#.into())
    );
    assert!(out.ops.is_empty());
    assert_eq!((c.max_seq_no(), c.local_checkpoint()), (1, 1));
    let ok = c.index("109487", src(json!({"a": 3})), &if_seq_no(1, 1));
    assert_eq!(ok.result.unwrap().seq_no, 2);
}

#[test]
fn create_conflicts_on_a_live_document_and_recreates_over_a_tombstone() {
    let c = copy();
    assert_eq!(answer(&c.create("1", src(json!({})))).0, 201);
    let out = c.create("1", src(json!({})));
    assert_eq!(
        out.result.unwrap_err().reason(),
        "[1]: version conflict, document already exists (current version [1])"
    );
    let deleted = c.delete("1", &Condition::None);
    assert_eq!(
        answer(&deleted),
        (200, r#"{"_index":"movies","_id":"1","_version":2,"result":"deleted","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":1,"_primary_term":1}"#.into())
    );
    assert!(!c.get("1").found);
    let recreated = c.create("1", src(json!({"b": 1}))).result.unwrap();
    assert_eq!(
        (recreated.version, recreated.result.as_str()),
        (3, "created")
    );
}

#[test]
fn delete_of_a_missing_document_is_404_not_found_and_consumes_a_seq_no() {
    let c = copy();
    let out = c.delete("9", &Condition::None);
    assert_eq!(
        answer(&out),
        (404, r#"{"_index":"movies","_id":"9","_version":1,"result":"not_found","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1}"#.into())
    );
    assert!(matches!(out.ops[0].kind, OpKind::Delete { version: 1, .. }));
    let cas = c.index("9", src(json!({})), &if_seq_no(0, 1));
    assert_eq!(
        cas.result.unwrap_err().reason(),
        "[9]: version conflict, required seqNo [0], primary term [1]. but no document was found"
    );
}

#[test]
fn external_versions_follow_the_version_type() {
    let c = copy();
    let ext = |version| Condition::Version {
        version,
        version_type: VersionType::External,
    };
    assert_eq!(
        c.index("1", src(json!({})), &ext(45))
            .result
            .unwrap()
            .version,
        45
    );
    assert_eq!(
        c.index("1", src(json!({})), &ext(43))
            .result
            .unwrap_err()
            .reason(),
        "[1]: version conflict, current version [45] is higher or equal to the one provided [43]"
    );
    let gte = Condition::Version {
        version: 45,
        version_type: VersionType::ExternalGte,
    };
    assert_eq!(
        c.index("1", src(json!({})), &gte).result.unwrap().version,
        45
    );
}

#[test]
fn update_merges_detects_noops_and_reports_missing_documents() {
    let c = copy();
    let missing = c.update("1", &UpdateRequest::doc(obj(json!({"a": 1}))));
    assert_eq!(
        answer(&missing),
        (404, r#"{"error":{"root_cause":[{"type":"document_missing_exception","reason":"[1]: document missing","index_uuid":"kjpb","shard":"0","index":"movies"}],"type":"document_missing_exception","reason":"[1]: document missing","index_uuid":"kjpb","shard":"0","index":"movies"},"status":404}"#.into())
    );
    let upsert = UpdateRequest {
        doc_as_upsert: true,
        ..UpdateRequest::doc(obj(json!({"a": {"b": 1}})))
    };
    assert_eq!(answer(&c.update("1", &upsert)).0, 201);
    let merged = c.update("1", &UpdateRequest::doc(obj(json!({"a": {"c": 2}}))));
    assert_eq!(merged.result.unwrap().result.as_str(), "updated");
    assert_eq!(
        c.get("1").source.map(|s| Value::Object(s.fields().clone())),
        Some(json!({"a": {"b": 1, "c": 2}}))
    );
    let noop = c.update("1", &UpdateRequest::doc(obj(json!({"a": {"c": 2}}))));
    assert_eq!(
        answer(&noop),
        (200, r#"{"_index":"movies","_id":"1","_version":2,"result":"noop","_shards":{"total":0,"successful":0,"failed":0},"_seq_no":1,"_primary_term":1}"#.into())
    );
    assert!(noop.ops.is_empty());
    assert_eq!(noop.attempts, 0);
    let forced = UpdateRequest {
        detect_noop: false,
        ..UpdateRequest::doc(obj(json!({"a": {"c": 2}})))
    };
    assert_eq!(c.update("1", &forced).result.unwrap().version, 3);
}

#[test]
fn update_with_a_stale_if_seq_no_conflicts_at_the_read() {
    let c = copy();
    c.index("1", src(json!({"n": 0})), &Condition::None);
    c.index("1", src(json!({"n": 1})), &Condition::None);
    let request = UpdateRequest {
        if_seq_no: Some(ChangeId::new(0, 1)),
        ..UpdateRequest::doc(obj(json!({"n": 2})))
    };
    let out = c.update("1", &request);
    assert_eq!(
        out.result.unwrap_err().reason(),
        "[1]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [1] and primary term [1]"
    );
    assert_eq!(out.attempts, 0);
}

#[test]
fn update_retries_on_conflict_at_most_retry_on_conflict_plus_one_times() {
    let c = copy();
    c.index("1", src(json!({"n": 0})), &Condition::None);
    let options = UpdateOptions {
        retry_on_conflict: 2,
        ..UpdateOptions::default()
    };
    // A transformation that sneaks in a concurrent write every time it runs: every attempt
    // conflicts, so the update gives up after 3 attempts with the 409.
    let mut runs = 0;
    let out = c.update_with("1", &options, |source| {
        runs += 1;
        c.index("1", src(json!({"n": runs})), &Condition::None);
        Some(source.clone())
    });
    assert_eq!((out.attempts, runs), (3, 3));
    assert_eq!(error_answer(&out.result.unwrap_err()).0, 409);
    // Increment without interference succeeds at the first attempt.
    let out = c.update_with("1", &options, |source| {
        let n = source["n"].as_i64().unwrap_or(0);
        Some(obj(json!({"n": n + 1})))
    });
    assert_eq!(out.attempts, 1);
    assert_eq!(c.get("1").source.unwrap()["n"], json!(4));
}

#[test]
fn replica_applies_the_primary_ops_in_any_order_and_converges() {
    let primary = copy();
    let mut ops = Vec::new();
    ops.extend(
        primary
            .index("a", src(json!({"v": 1})), &Condition::None)
            .ops,
    );
    ops.extend(
        primary
            .index("b", src(json!({"v": 1})), &Condition::None)
            .ops,
    );
    ops.extend(
        primary
            .index("a", src(json!({"v": 2})), &Condition::None)
            .ops,
    );
    ops.extend(primary.delete("b", &Condition::None).ops);
    let replica = copy();
    let results: Vec<_> = ops
        .iter()
        .rev()
        .map(|op| replica.apply_replica(op).unwrap())
        .collect();
    assert_eq!(
        results,
        [
            ReplicaApplied::Installed,
            ReplicaApplied::Installed,
            ReplicaApplied::Stale,
            ReplicaApplied::Stale
        ]
    );
    assert_eq!(
        replica.apply_replica(&ops[0]),
        Ok(ReplicaApplied::AlreadyProcessed)
    );
    assert_eq!(replica.documents(), primary.documents());
    assert_eq!((replica.local_checkpoint(), replica.max_seq_no()), (3, 3));
    assert_eq!(replica.history_above(1), primary.history_above(1));
}

#[test]
fn replica_checkpoint_waits_for_noops_and_fences_old_terms() {
    let replica = copy();
    let op = esocc::engine::OpRecord::noop(1, 1);
    assert_eq!(replica.apply_replica(&op), Ok(ReplicaApplied::NoOp));
    assert_eq!((replica.local_checkpoint(), replica.max_seq_no()), (-1, 1));
    replica.apply_noop(0, 2).unwrap();
    assert_eq!((replica.local_checkpoint(), replica.primary_term()), (1, 2));
    let err = replica.apply_noop(2, 1).unwrap_err();
    assert_eq!(
        error_answer(&err),
        (500, r#"{"error":{"root_cause":[{"type":"illegal_state_exception","reason":"[movies][0] operation primary term [1] is too old (current [2])"}],"type":"illegal_state_exception","reason":"[movies][0] operation primary term [1] is too old (current [2])"},"status":500}"#.into())
    );
    let far = replica.apply_noop(1 << 20, 2).unwrap_err();
    assert_eq!(error_answer(&far).0, 500);
}

#[test]
fn a_promoted_replica_continues_the_primary_sequence() {
    let primary = copy();
    let replica = copy();
    for op in primary.index("a", src(json!({})), &Condition::None).ops {
        replica.apply_replica(&op).unwrap();
    }
    replica.adopt_term(2);
    let next = replica
        .index("a", src(json!({"x": 1})), &if_seq_no(0, 1))
        .result
        .unwrap();
    assert_eq!((next.seq_no, next.primary_term, next.version), (1, 2, 2));
}

/// Two threads run `ctx._source.counter += 1` with `retry_on_conflict` on one copy: the engine
/// re-runs the script on the fresh document after a conflict (an outcome with more than one
/// attempt), and no increment is lost. A long list in the document keeps the script's read →
/// write window open. Bounded by counts: `UPDATES` per thread.
#[test]
fn scripted_updates_retry_on_the_fresh_document() {
    const UPDATES: usize = 400;
    let c = copy();
    let padding: Vec<u32> = (0..5_000).collect();
    c.index(
        "1",
        src(json!({"counter": 0, "padding": padding})),
        &Condition::None,
    );
    let script = esocc::script::Script::new("ctx._source.counter += 1", Map::new());
    let request = UpdateRequest {
        retry_on_conflict: 1_000,
        ..UpdateRequest::script(script)
    };
    let retries: u32 = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    (0..UPDATES)
                        .map(|_| {
                            let outcome = c.update("1", &request);
                            assert_eq!(outcome.result.unwrap().result.as_str(), "updated");
                            outcome.attempts - 1
                        })
                        .sum::<u32>()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    });
    assert!(retries > 0, "no update ever conflicted");
    let counter = c.get("1").source.unwrap()["counter"].as_u64();
    assert_eq!(counter, Some(2 * UPDATES as u64));
}
