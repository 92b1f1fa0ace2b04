//! The shard group's write path, acknowledgement, `_shards` counts and failover, one behaviour
//! per test, with faults scripted on the replication links.

use std::sync::Arc;

use esocc::engine::group::Role;
use esocc::engine::{LinkFault, ShardGroup, ShardId, Source, Write, WriteOutcome, WriteResponse};
use esocc::protocol::{ChangeId, Condition, DocMeta};
use serde_json::{json, Value};

#[path = "support/answers.rs"]
mod answers;
use answers::{error_answer, write_answer};

fn group(replicas: u32) -> ShardGroup {
    ShardGroup::new(ShardId::new("movies", "kjpb", 0), replicas, replicas)
}

fn src(n: i64) -> Source {
    match json!({ "n": n }) {
        Value::Object(map) => Arc::new(map.into()),
        _ => unreachable!(),
    }
}

fn index(id: &str, n: i64) -> Write {
    Write::Index {
        id: id.into(),
        source: src(n),
        condition: Condition::None,
    }
}

fn ok(outcome: &WriteOutcome) -> &WriteResponse {
    match &outcome.result {
        Ok(response) => response,
        Err(e) => panic!("write failed: {e}"),
    }
}

fn shards(outcome: &WriteOutcome) -> (u32, u32, u32) {
    let s = ok(outcome).shards;
    (s.total, s.successful, s.failed)
}

fn docs(g: &ShardGroup, copy: usize) -> Vec<(String, DocMeta, Option<Source>)> {
    g.copy(copy).unwrap().with_engine(|e| e.documents())
}

fn n_at(g: &ShardGroup, copy: usize, id: &str) -> Option<i64> {
    g.copy(copy)
        .unwrap()
        .with_engine(|e| e.get(id).source)
        .and_then(|s| s["n"].as_i64())
}

/// Every in-sync copy holds the same documents and has processed everything it has seen.
fn assert_converged(g: &ShardGroup) {
    let in_sync = g.in_sync();
    let reference = docs(g, in_sync[0]);
    for &copy in &in_sync {
        assert_eq!(docs(g, copy), reference, "copy {copy} diverged");
        let (lcp, max) = g
            .copy(copy)
            .unwrap()
            .with_engine(|e| (e.local_checkpoint(), e.max_seq_no()));
        assert_eq!(lcp, max, "copy {copy} has a gap below its max _seq_no");
    }
}

#[test]
fn a_write_is_applied_on_every_copy_before_it_is_acknowledged() {
    let g = group(2);
    let out = g.index("1", src(1), &Condition::None);
    assert_eq!(shards(&out), (3, 3, 0));
    assert_eq!(
        write_answer(&out.result),
        (201, r#"{"_index":"movies","_id":"1","_version":1,"result":"created","_shards":{"total":3,"successful":3,"failed":0},"_seq_no":0,"_primary_term":1}"#.into())
    );
    for copy in 0..3 {
        assert_eq!(n_at(&g, copy, "1"), Some(1));
    }
    assert_converged(&g);
}

#[test]
fn unassigned_replicas_count_in_total_only() {
    let g = ShardGroup::new(ShardId::new("movies", "kjpb", 0), 2, 1);
    assert_eq!(g.copies(), 2);
    assert_eq!(shards(&g.index("1", src(1), &Condition::None)), (3, 2, 0));
    let single = ShardGroup::new(ShardId::new("movies", "kjpb", 0), 1, 0);
    assert_eq!(
        shards(&single.index("1", src(1), &Condition::None)),
        (2, 1, 0)
    );
}

#[test]
fn a_delayed_replica_holds_the_acknowledgement_until_released() {
    let g = group(2);
    g.set_link(2, LinkFault::Delay).unwrap();
    let pending = g.submit(index("1", 1));
    assert!(!pending.is_done());
    assert_eq!(n_at(&g, 1, "1"), Some(1));
    assert_eq!(n_at(&g, 2, "1"), None);
    assert_eq!(g.held(2), Ok(1));
    assert_eq!(g.release(2), Ok(1));
    assert_eq!(shards(&pending.wait()), (3, 3, 0));
    assert_converged(&g);
}

#[test]
fn a_dropped_request_removes_the_replica_before_the_write_is_acknowledged() {
    let g = group(2);
    g.set_link(1, LinkFault::Drop).unwrap();
    let out = g.index("1", src(1), &Condition::None);
    assert_eq!(shards(&out), (3, 2, 1));
    assert_eq!(g.in_sync(), vec![0, 2]);
    assert_eq!(g.copy(1).unwrap().role(), Role::Failed);
    // Later writes no longer wait for it, and still count it in `total`.
    assert_eq!(shards(&g.index("2", src(2), &Condition::None)), (3, 2, 0));
    assert_converged(&g);
}

#[test]
fn failing_a_replica_concludes_the_writes_waiting_for_it() {
    let g = group(2);
    g.set_link(1, LinkFault::Delay).unwrap();
    let pending = g.submit(index("1", 1));
    assert!(!pending.is_done());
    g.fail_replica(1).unwrap();
    assert_eq!(shards(&pending.wait()), (3, 2, 1));
    assert_eq!(g.in_sync(), vec![0, 2]);
    assert!(g.fail_replica(0).is_err());
    assert!(g.fail_replica(7).is_err());
}

#[test]
fn out_of_order_delivery_on_one_document_converges() {
    let g = group(2);
    g.set_link(1, LinkFault::Reorder).unwrap();
    g.set_link(2, LinkFault::Delay).unwrap();
    let pending: Vec<_> = (1..=4).map(|n| g.submit(index("doc", n))).collect();
    let delete = g.submit(Write::Delete {
        id: "doc".into(),
        condition: Condition::None,
    });
    let last = g.submit(index("doc", 5));
    assert_eq!(g.release(1), Ok(6)); // newest first: the last index, then the delete, ...
    assert_eq!(g.release(2), Ok(6));
    for p in pending.iter().chain([&delete, &last]) {
        assert_eq!(shards(&p.wait()), (3, 3, 0));
    }
    for copy in 0..3 {
        assert_eq!(n_at(&g, copy, "doc"), Some(5));
    }
    assert_converged(&g);
}

#[test]
fn fail_primary_promotes_an_in_sync_replica_with_a_new_term() {
    let g = group(2);
    g.index("1", src(1), &Condition::None);
    let failover = g.fail_primary().unwrap();
    assert_eq!(
        (failover.demoted, failover.promoted, failover.primary_term),
        (0, 1, 2)
    );
    assert_eq!(
        (g.primary(), g.primary_term(), g.in_sync()),
        (Some(1), 2, vec![1, 2])
    );
    let out = g.index("1", src(2), &Condition::None);
    let response = ok(&out);
    assert_eq!(
        (response.seq_no, response.primary_term, response.version),
        (1, 2, 2)
    );
    // The failed primary still counts in `total`.
    assert_eq!(shards(&out), (3, 2, 0));
    assert_eq!(n_at(&g, 2, "1"), Some(2));
    assert!(g.get_at(0, "1").is_err());
    assert_converged(&g);
}

fn error_body(outcome: &WriteOutcome) -> (u16, String) {
    match &outcome.result {
        Ok(r) => panic!("expected a failure, got {r:?}"),
        Err(e) => error_answer(e),
    }
}

fn history(g: &ShardGroup, copy: usize) -> Vec<(i64, u64, Option<String>)> {
    g.copy(copy)
        .unwrap()
        .with_engine(|e| e.history_above(-1))
        .into_iter()
        .map(|op| (op.seq_no, op.primary_term, op.id().map(str::to_owned)))
        .collect()
}

#[test]
fn promotion_fills_gaps_with_noops_resyncs_and_trims_what_the_new_primary_never_had() {
    let g = group(2);
    g.index("a", src(0), &Condition::None); // seq 0 everywhere
    g.set_link(1, LinkFault::Delay).unwrap();
    g.set_link(2, LinkFault::Delay).unwrap();
    let b = g.submit(index("b", 1)); // seq 1: held for both replicas
    g.set_link(1, LinkFault::Deliver).unwrap();
    let c = g.submit(index("c", 2)); // seq 2: copy 1 now, copy 2 held
    g.set_link(1, LinkFault::Delay).unwrap();
    let d = g.submit(index("d", 3)); // seq 3: held for both
    g.set_link(2, LinkFault::Deliver).unwrap();
    assert_eq!(g.release(2), Ok(3)); // copy 2 has 0..=3, copy 1 has 0 and 2
    assert_eq!(n_at(&g, 2, "d"), Some(3));

    let failover = g.fail_primary().unwrap();
    assert_eq!((failover.promoted, failover.primary_term), (1, 2));
    // c reached both replicas before the failover: acknowledged. b and d were waiting for
    // copy 1 when the primary failed: they fail, indefinitely (both are on copy 2).
    assert_eq!(shards(&c.wait()), (3, 3, 0));
    for pending in [&b, &d] {
        assert_eq!(error_body(&pending.wait()).0, 503);
    }
    // Copy 1 filled seq 1 with a no-op of term 2; copy 2 rolled back to its global checkpoint,
    // took the resync and trimmed seq 3 (term 1, above the new primary's max _seq_no 2).
    let expected = vec![
        (0, 1, Some("a".to_owned())),
        (1, 2, None),
        (2, 1, Some("c".to_owned())),
    ];
    assert_eq!(history(&g, 1), expected);
    assert_eq!(history(&g, 2), expected);
    assert_eq!(
        (n_at(&g, 2, "b"), n_at(&g, 2, "c"), n_at(&g, 2, "d")),
        (None, Some(2), None)
    );
    // The old primary's requests still held for copy 1 are fenced by its term.
    assert_eq!(g.release(1), Ok(2));
    assert_eq!(history(&g, 1), expected);
    // seq 3 is reused by the new primary, under its term, on both copies.
    let e = g.index("e", src(4), &Condition::None);
    assert_eq!((ok(&e).seq_no, ok(&e).primary_term), (3, 2));
    assert_eq!(n_at(&g, 2, "e"), Some(4));
    assert_converged(&g);
}

#[test]
fn an_isolated_primary_serves_dirty_reads_and_its_writes_are_fenced_never_acknowledged() {
    let g = group(2);
    g.index("a", src(0), &Condition::None);
    let failover = g.isolate_primary().unwrap();
    assert_eq!((failover.demoted, failover.promoted), (0, 1));
    assert_eq!(g.copy(0).unwrap().role(), Role::Primary);

    g.set_link(1, LinkFault::Delay).unwrap();
    g.set_link(2, LinkFault::Delay).unwrap();
    let stale = g.submit_at(0, index("a", 99));
    // Until it is fenced the old primary accepts the write and serves it: a dirty read.
    assert_eq!(g.get_at(0, "a").unwrap().source.unwrap()["n"], 99);
    assert_eq!(g.get("a").unwrap().source.unwrap()["n"], 0);
    assert!(!stale.is_done());
    assert_eq!(g.release_all(), 2);
    assert_eq!(
        error_body(&stale.wait()),
        (500, r#"{"error":{"root_cause":[{"type":"retry_on_primary_exception","reason":"primary shard [[movies][0]] was demoted while failing replica shard","index_uuid":"kjpb","shard":"0","index":"movies"}],"type":"retry_on_primary_exception","reason":"primary shard [[movies][0]] was demoted while failing replica shard","index_uuid":"kjpb","shard":"0","index":"movies","caused_by":{"type":"illegal_state_exception","reason":"[movies][0] operation primary term [1] is too old (current [2])"}},"status":500}"#.into())
    );
    // Fenced: it failed itself, later writes are refused, and the master's view is unchanged.
    assert_eq!(g.copy(0).unwrap().role(), Role::Failed);
    assert_eq!(error_body(&g.submit_at(0, index("a", 100)).wait()).0, 503);
    assert_eq!((g.primary(), g.in_sync()), (Some(1), vec![1, 2]));
    for copy in [1, 2] {
        assert_eq!(n_at(&g, copy, "a"), Some(0));
    }
    assert_converged(&g);
}

#[test]
fn a_stale_write_applied_by_a_replica_that_missed_the_new_term_is_rolled_back() {
    let g = group(2);
    g.index("a", src(0), &Condition::None);
    g.set_link(2, LinkFault::Reorder).unwrap();
    g.isolate_primary().unwrap(); // the resync to copy 2 is held
    let stale = g.submit_at(0, index("a", 99)); // copy 1 rejects it at once...
    assert_eq!(g.copy(0).unwrap().role(), Role::Failed);
    assert!(!stale.is_done()); // ...but the write still waits for copy 2
                               // Newest first: copy 2 applies the stale write under term 1, then the resync rolls it back.
    assert_eq!(g.release_one(2), Ok(true));
    assert_eq!(n_at(&g, 2, "a"), Some(99));
    assert_eq!(g.release(2), Ok(1));
    assert_eq!(n_at(&g, 2, "a"), Some(0));
    assert_eq!(error_body(&stale.wait()).0, 500);
    assert_converged(&g);
}

#[test]
fn an_acknowledged_write_above_the_global_checkpoint_survives_a_promotion_during_resync() {
    // elastic's replication.tla, commit 95f5ef1: a replica that rolls back must keep the
    // operations above its global checkpoint in its translog, or a second failover loses them.
    let g = group(2);
    let x = g.index("x", src(1), &Condition::None);
    assert_eq!(shards(&x), (3, 3, 0)); // acknowledged; the replicas' global checkpoint is still -1
    g.set_link(2, LinkFault::Reorder).unwrap();
    g.fail_primary().unwrap(); // copy 1 promoted; its resync of x to copy 2 is held
    let y = g.submit(index("y", 2)); // held for copy 2 too
    assert_eq!(g.release_one(2), Ok(true)); // y first: copy 2 adopts term 2, rolls back to -1
    assert_eq!(n_at(&g, 2, "x"), None);
    assert!(y.wait().result.is_ok());
    let second = g.fail_primary().unwrap(); // copy 1 fails before its resync reached copy 2
    assert_eq!((second.promoted, second.primary_term), (2, 3));
    assert_eq!(n_at(&g, 2, "x"), Some(1));
    assert_eq!(n_at(&g, 2, "y"), Some(2));
    assert_eq!(g.release(2), Ok(1)); // the old resync arrives late and is fenced
    assert_eq!(n_at(&g, 2, "x"), Some(1));
}

#[test]
fn seq_no_only_guard_accepts_across_a_failover_what_seq_no_and_term_reject() {
    // Elasticsearch #19269: `_seq_no` alone does not identify a change after a failover.
    let g = group(2);
    g.index("a", src(0), &Condition::None);
    g.set_link(1, LinkFault::Delay).unwrap();
    let unacked = g.submit(index("a", 1)); // seq 1 on the primary (and copy 2), not on copy 1
    let read = g.get("a").unwrap().meta().unwrap();
    assert_eq!((read.seq_no, read.primary_term), (1, 1));
    g.fail_primary().unwrap();
    assert!(unacked.wait().result.is_err());
    // The new primary never had seq 1; its next write to the document takes seq 1 again.
    let other = g.index("a", src(2), &Condition::None);
    assert_eq!((ok(&other).seq_no, ok(&other).primary_term), (1, 2));

    let with_term = g.index("a", src(3), &Condition::IfSeqNo(ChangeId::new(1, 1)));
    assert_eq!(
        with_term.result.unwrap_err().reason(),
        "[a]: version conflict, required seqNo [1], primary term [1]. current document has seqNo [1] and primary term [2]"
    );
    let seq_no_only = g.index("a", src(3), &Condition::IfSeqNoOnly(1));
    assert!(
        seq_no_only.result.is_ok(),
        "the unsafe guard overwrote a write it never read"
    );
    assert_converged(&g);
}

#[test]
fn no_promotable_replica_leaves_the_primary_in_place() {
    let g = group(0);
    assert!(g.fail_primary().is_err());
    assert_eq!(g.primary(), Some(0));
    assert_eq!(shards(&g.index("a", src(0), &Condition::None)), (1, 1, 0));
}

#[test]
fn the_group_is_shared_between_threads_and_concurrent_writes_converge() {
    fn shared<T: Send + Sync>(_: &T) {}
    let g = Arc::new(group(2));
    shared(&*g);
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let g = g.clone();
            std::thread::spawn(move || {
                for n in 0..50 {
                    let out = g.index(&format!("d{}", n % 5), src(t * 100 + n), &Condition::None);
                    assert_eq!(shards(&out), (3, 3, 0));
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    assert_converged(&g);
    let state = g.state();
    assert!(state.copies.iter().all(|c| c.max_seq_no >= 199));
}
