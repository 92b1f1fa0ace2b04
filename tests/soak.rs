//! Soak: a shard group of three copies takes a long stream of writes (indexes, deletes and
//! updates over a fixed set of documents, from two threads) with a primary failover in the
//! middle and the other replica's failure three quarters in, and what it holds must stay
//! bounded: the operations each copy retains (engine history and translog) and the process's
//! live heap allocations, counted by a global allocator (not RSS). The failed replica's retention
//! lease expires at once, so from then on the primary keeps nothing for it. Bounded by a write
//! count, not by time (about 30 s in release mode on a busy 2-core box):
//! `cargo test --release --test soak`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use esocc::engine::{CopyOptions, ShardGroup, ShardId, Source, UpdateRequest};
use esocc::protocol::Condition;
use serde_json::{json, Value};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::live_bytes;

/// Writes in all, over both threads.
const WRITES: usize = 3_000_000;
/// Distinct documents written.
const DOCS: usize = 1_000;
const THREADS: usize = 2;
/// Writes between two measurements.
const SAMPLE_EVERY: usize = 100_000;
/// `CopyOptions::release_step` (the default) and the checkpoint window: 8 times the default, so
/// that a writer descheduled while holding a `_seq_no` on a loaded 2-core machine does not push
/// both replicas past it (`AheadOfCheckpoint`) and leave the failover nothing to promote.
const RELEASE_STEP: usize = 256;
const WINDOW: usize = 1 << 17;

fn source(n: usize) -> Source {
    match json!({ "n": n, "pad": "x".repeat(n % 64) }) {
        Value::Object(map) => Arc::new(map.into()),
        _ => unreachable!(),
    }
}

/// Operations retained by the in-sync copies (history + translog entries), the largest copy's.
fn retained(group: &ShardGroup) -> usize {
    group
        .in_sync()
        .into_iter()
        .map(|c| {
            let stats = group.copy(c).unwrap().stats();
            stats.history_ops + stats.translog_entries
        })
        .max()
        .unwrap_or(0)
}

/// One writer: `count` writes, a tenth of them deletes and a tenth updates, over all documents.
fn write(group: &ShardGroup, thread: usize, count: usize, done: &AtomicUsize) -> usize {
    let mut acknowledged = 0;
    for i in 0..count {
        let n = i * THREADS + thread;
        let id = format!("d{}", (n * 7919) % DOCS);
        let outcome = match n % 10 {
            0 => group.delete(&id, &Condition::None),
            1 => {
                let request = UpdateRequest {
                    doc_as_upsert: true,
                    retry_on_conflict: 3,
                    ..UpdateRequest::doc(source(n).fields().clone())
                };
                group.update(&id, &request)
            }
            _ => group.index(&id, source(n), &Condition::None),
        };
        // 503s are possible only for writes in flight during the failover.
        acknowledged += outcome.result.is_ok() as usize;
        done.fetch_add(1, Ordering::Relaxed);
    }
    acknowledged
}

#[test]
fn soak_writes_with_a_failover_keep_retained_operations_and_memory_bounded() {
    // A failed replica's retention lease expires at once (the default, 12 h, would keep its
    // history for the rest of the run).
    let options = CopyOptions {
        gc_deletes: Duration::ZERO,
        retention_lease_period: Duration::ZERO,
        checkpoint_window: WINDOW,
        ..CopyOptions::default()
    };
    let group = ShardGroup::with_options(ShardId::new("soak", "u", 0), 2, 2, options);
    let done = AtomicUsize::new(0);
    let mut samples: Vec<(usize, isize, usize)> = Vec::new();
    let mut failover = None;
    let mut replica_failed = false;
    let acknowledged: usize = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (group, done) = (&group, &done);
                scope.spawn(move || write(group, t, WRITES / THREADS, done))
            })
            .collect();
        // Sample by write count: the thread waits on the writers' progress, not on a clock.
        let mut next = SAMPLE_EVERY;
        while next <= WRITES {
            if done.load(Ordering::Relaxed) < next {
                // Polling, not spinning: a third busy thread on two cores would deschedule the
                // writers and hold the checkpoint back.
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            if failover.is_none() && next >= WRITES / 2 {
                let promoted = group.fail_primary();
                failover = Some(promoted.unwrap_or_else(|e| panic!("{e}: {:?}", group.state())));
            }
            if !replica_failed && next >= WRITES * 3 / 4 {
                // Copy 2 may have been failed already (see below); either way it is failed now.
                let _ = group.fail_replica(2);
                replica_failed = true;
            }
            samples.push((next, live_bytes(), retained(&group)));
            next += SAMPLE_EVERY;
        }
        writers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    let failover = failover.expect("the failover happened");
    // The first candidate's rebuild from its translog (snapshot + operations above it) worked.
    assert_eq!(failover.promoted, 1, "copy 1's promotion failed");
    assert_eq!(group.primary(), Some(failover.promoted));
    // Copy 2 was failed three quarters in, if not before: on a heavily loaded machine a writer
    // descheduled while holding a `_seq_no` holds the global checkpoint back, the replica rolls
    // back to it on the new term, and a new write arriving before the resync is more than the
    // checkpoint window above it (`AheadOfCheckpoint`: replicas refuse, never wait).
    assert_eq!(group.in_sync(), [failover.promoted], "{:?}", group.state());
    assert!(
        acknowledged >= WRITES - 2 * THREADS,
        "{acknowledged} of {WRITES} acknowledged"
    );

    // After the warm-up every document exists; from then on nothing may grow with the writes.
    let (_, warm_bytes, _) = samples[1];
    let (_, max_bytes, max_retained) = samples[1..]
        .iter()
        .fold((0, 0, 0), |m, s| (0, m.1.max(s.1), m.2.max(s.2)));
    eprintln!("samples (writes, live bytes, retained ops): {samples:?}");
    // A copy retains its documents (the translog snapshot) plus the operations above the global
    // checkpoint, which trails the newest `_seq_no` by at most the checkpoint window (a writer
    // descheduled while holding a `_seq_no` holds it back), plus up to two release steps or
    // twice that lag before a cut. Without releasing, a copy retains every one of the
    // 3 million operations and the heap grows by gigabytes; with the failed replica's lease
    // kept, the primary retains every operation of the last quarter.
    let bound = DOCS + 2 * (WINDOW + RELEASE_STEP);
    assert!(
        max_retained <= bound,
        "a copy retains {max_retained} operations (bound {bound})"
    );
    assert!(
        max_bytes - warm_bytes <= 32 << 20,
        "live heap grew from {warm_bytes} to {max_bytes} bytes"
    );
    let stats = group.copy(failover.promoted).unwrap().stats();
    assert!(stats.docs + stats.deleted <= DOCS, "{stats:?}");
}
