//! What the engine holds after many writes: live heap bytes (counted by a global allocator) per
//! live document, and the process's RSS, after N = 100 000 and N = 1 000 000 writes to a shard
//! group of a primary and one replica with the default options (history released at the global
//! checkpoint, `gc_deletes` 60 s).
//!
//! Two workloads: every write a new document (the heap grows with the documents, so bytes per
//! document is the figure), and every write an overwrite of one of 1 000 documents (the heap
//! must not grow with the writes at all). `cargo bench --bench engine_memory` (about 20 seconds);
//! a command to run by hand, not a CI step (`cargo test --all-targets` runs it with 2 000 and
//! 20 000 writes as a smoke test).

use std::sync::Arc;

use esocc::engine::{ShardGroup, ShardId, Source};
use esocc::protocol::Condition;
use serde_json::{json, Value};

#[path = "../tests/support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::live_bytes;

/// Resident set size in MiB, from `/proc/self/statm` (0 where there is none).
fn rss_mib() -> f64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1 << 20) as f64
}

fn source(n: usize) -> Source {
    match json!({ "n": n, "user": format!("user-{}", n % 977), "tags": ["a", "b"] }) {
        Value::Object(map) => Arc::new(map.into()),
        _ => unreachable!(),
    }
}

/// Let crossbeam-epoch free what earlier runs retired, so it is not counted against this one.
fn settle() {
    for _ in 0..256 {
        crossbeam_epoch::pin().flush();
    }
}

/// Which document the n-th write goes to.
type IdOf = fn(usize) -> usize;

/// `writes` index operations, document `id_of(n)` for the n-th; returns the live documents, the
/// heap bytes the group holds and the RSS, measured while the group is alive.
fn run(writes: usize, id_of: impl Fn(usize) -> usize) -> (usize, isize, f64) {
    settle();
    let before = live_bytes();
    let group = ShardGroup::new(ShardId::new("mem", "u", 0), 1, 1);
    for n in 0..writes {
        let outcome = group.index(&id_of(n).to_string(), source(n), &Condition::None);
        assert!(outcome.result.is_ok());
    }
    settle();
    let docs = group.copy(0).unwrap().stats().docs;
    let bytes = live_bytes() - before;
    let rss = rss_mib();
    drop(group);
    (docs, bytes, rss)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this as a short smoke test.
    let sizes = match std::env::args().any(|a| a == "--bench") {
        true => [100_000, 1_000_000],
        false => [2_000, 20_000],
    };
    println!(
        "{:<28} {:>9} {:>10} {:>12} {:>14} {:>9}",
        "workload (primary + replica)",
        "writes",
        "live docs",
        "heap MiB",
        "bytes/live doc",
        "RSS MiB"
    );
    // Overwrites first: RSS only grows (the allocator keeps freed pages), so the flat workload is
    // measured before the growing one.
    let cases: [(&str, IdOf); 2] = [
        ("overwrites of 1 000 documents", |n| n % 1_000),
        ("every write a new document", |n| n),
    ];
    for (name, id_of) in cases {
        for writes in sizes {
            let (docs, bytes, rss) = run(writes, id_of);
            println!(
                "{name:<28} {writes:>9} {docs:>10} {:>12.1} {:>14.0} {:>9.1}",
                bytes as f64 / (1 << 20) as f64,
                bytes as f64 / docs as f64,
                rss
            );
        }
    }
}
