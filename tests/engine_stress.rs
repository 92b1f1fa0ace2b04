//! Threaded stress test: N threads × M read-modify-write increments on a few hot documents,
//! each guarded by `if_seq_no`/`if_primary_term` and retried on 409, while readers check that
//! every version they see is whole. At quiescence: each document's value equals the increments
//! acknowledged on it, the local checkpoint equals the max `_seq_no`, and a replica that applies
//! every shipped operation (no-ops included) in reverse order ends identical to the primary.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use esocc::engine::{OpKind, OpRecord, ShardCopy, ShardId, UpdateOptions};
use esocc::protocol::{Condition, VersionType};
use serde_json::{json, Value};

const WRITERS: usize = 4;
const INCREMENTS: usize = 1000;
const DOCS: [&str; 2] = ["hot", "warm"];

fn counter(n: i64) -> esocc::engine::Source {
    match json!({ "n": n }) {
        Value::Object(m) => Arc::new(m.into()),
        _ => unreachable!(),
    }
}

/// One increment by get + conditional index, retried until it is acknowledged.
fn increment_with_if_seq_no(copy: &ShardCopy, id: &str, shipped: &mut Vec<OpRecord>) -> u32 {
    let mut conflicts = 0;
    loop {
        let read = copy.get(id);
        let (meta, n) = (
            read.meta().unwrap(),
            read.source.unwrap()["n"].as_i64().unwrap(),
        );
        // Widen the read-to-write window so writers interleave even on a busy machine.
        thread::yield_now();
        let out = copy.index(id, counter(n + 1), &Condition::IfSeqNo(meta.change_id()));
        shipped.extend(out.ops);
        match out.result {
            Ok(_) => return conflicts,
            Err(e) => {
                assert!(e.conflict().is_some(), "{e}");
                conflicts += 1;
            }
        }
    }
}

/// One increment through the update API with a generous `retry_on_conflict`.
fn increment_with_update(copy: &ShardCopy, id: &str, shipped: &mut Vec<OpRecord>) -> u32 {
    let options = UpdateOptions {
        retry_on_conflict: 1000,
        ..UpdateOptions::default()
    };
    let out = copy.update_with(id, &options, |doc| {
        let n = doc["n"].as_i64().unwrap_or(0);
        thread::yield_now();
        Some(counter(n + 1).fields().clone())
    });
    shipped.extend(out.ops);
    assert!(out.result.is_ok(), "{:?}", out.result);
    assert!(out.attempts <= 1001);
    out.attempts - 1
}

#[test]
fn concurrent_increments_lose_nothing_and_the_checkpoint_catches_up() {
    let copy = Arc::new(ShardCopy::new(ShardId::new("idx", "uuid", 0)));
    let mut shipped: Vec<OpRecord> = Vec::new();
    for id in DOCS {
        shipped.extend(copy.index(id, counter(0), &Condition::None).ops);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (copy, stop) = (copy.clone(), stop.clone());
            thread::spawn(move || {
                let mut reads = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for id in DOCS {
                        let r = copy.get(id);
                        // Every write is an increment, so a whole version has n == _version - 1.
                        assert_eq!(r.source.unwrap()["n"].as_i64(), r.version.map(|v| v - 1));
                        reads += 1;
                    }
                    thread::yield_now();
                }
                reads
            })
        })
        .collect();
    let start = Arc::new(Barrier::new(WRITERS));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (copy, start) = (copy.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                let mut shipped = Vec::new();
                let mut acked = [0i64; DOCS.len()];
                let mut conflicts = 0;
                for i in 0..INCREMENTS {
                    let d = (w + i) % DOCS.len();
                    conflicts += if w % 2 == 0 {
                        increment_with_if_seq_no(&copy, DOCS[d], &mut shipped)
                    } else {
                        increment_with_update(&copy, DOCS[d], &mut shipped)
                    };
                    acked[d] += 1;
                }
                (acked, conflicts, shipped)
            })
        })
        .collect();
    let mut acked = [0i64; DOCS.len()];
    let mut conflicts = 0;
    for w in writers {
        let (a, c, ops) = w.join().unwrap();
        for (total, n) in acked.iter_mut().zip(a) {
            *total += n;
        }
        conflicts += c;
        shipped.extend(ops);
    }
    stop.store(true, Ordering::Relaxed);
    let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(reads > 0);
    assert!(
        conflicts > 0,
        "the writers never raced; the test proves nothing"
    );

    for (id, expected) in DOCS.iter().zip(acked) {
        let doc = copy.get(id);
        assert_eq!(doc.source.unwrap()["n"].as_i64(), Some(expected), "{id}");
        assert_eq!(doc.version, Some(expected + 1));
    }
    assert_eq!(copy.local_checkpoint(), copy.max_seq_no());
    // Every _seq_no was shipped exactly once, as the write or as a burned no-op.
    let mut seq_nos: Vec<_> = shipped.iter().map(|op| op.seq_no).collect();
    seq_nos.sort_unstable();
    assert_eq!(seq_nos, (0..=copy.max_seq_no()).collect::<Vec<_>>());
    let writes = shipped
        .iter()
        .filter(|op| !matches!(op.kind, OpKind::NoOp))
        .count() as i64;
    assert_eq!(writes, DOCS.len() as i64 + acked.iter().sum::<i64>());
    eprintln!(
        "{} increments, {conflicts} conflicts, {} burned _seq_nos, {reads} reads",
        acked.iter().sum::<i64>(),
        shipped.len() as i64 - writes
    );

    let replica = ShardCopy::new(ShardId::new("idx", "uuid", 0));
    for op in shipped.iter().rev() {
        replica.apply_replica(op).unwrap();
    }
    assert_eq!(replica.documents(), copy.documents());
    assert_eq!(replica.local_checkpoint(), copy.local_checkpoint());
}

#[test]
fn concurrent_external_versions_keep_the_highest() {
    let copy = Arc::new(ShardCopy::new(ShardId::new("idx", "uuid", 0)));
    let writers: Vec<_> = (0..WRITERS as i64)
        .map(|w| {
            let copy = copy.clone();
            thread::spawn(move || {
                for v in (w..200).step_by(WRITERS) {
                    let cond = Condition::Version {
                        version: v,
                        version_type: VersionType::External,
                    };
                    let out = copy.index("doc", counter(v), &cond);
                    if let Err(e) = out.result {
                        assert!(e.conflict().is_some(), "{e}");
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let doc = copy.get("doc");
    assert_eq!(doc.version, Some(199));
    assert_eq!(doc.source.unwrap()["n"], json!(199));
    assert_eq!(copy.local_checkpoint(), copy.max_seq_no());
}
