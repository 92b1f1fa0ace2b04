//! The lock-free engine against two baselines with the same semantics, measured in the same run
//! (`engine_support/baseline.rs`): per-document locks (what Elasticsearch does) and a sharded
//! `RwLock<HashMap>` (what a Rust user would pick instead).
//!
//! Cases: realtime get and conditional index on one thread; conditional index on two threads
//! with disjoint documents; two threads incrementing one document (get + `if_seq_no` index,
//! retried on 409); gets while another thread keeps writing the same documents. criterion
//! measures each; afterwards a summary prints the ratios against each baseline and against the
//! better of the two, which is what the targets are set on.
//!
//! `cargo bench --bench engine` (about two minutes). The stores run without an operation history.
//!
//! The allocator is mimalloc, for all three stores. Under glibc's malloc the engine's profile is
//! malloc's: a replaced version is freed by crossbeam-epoch a few hundred writes later, in a
//! batch, which overflows glibc's per-thread cache (7 chunks a size) into its bins and sets off
//! `malloc_consolidate` whenever the epoch's 2 KiB garbage bag is allocated, while the locked
//! baselines free each old version at once, into a warm cache. A server keeping versions for
//! lock-free readers wants an allocator built for deferred and cross-thread frees; docs/engine.md
//! has the figures under both.

#[path = "engine_support/baseline.rs"]
mod baseline;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use baseline::{LockedStore, ShardedStore};
use criterion::Criterion;
use esocc::engine::{CopyOptions, GetResponse, ShardCopy, ShardId, Source, WriteOutcome};
use esocc::protocol::{ChangeId, Condition};
use serde_json::{json, Value};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DOCS: usize = 1024;

/// What both stores offer the benchmarks.
trait Store: Send + Sync + 'static {
    fn get(&self, id: &str) -> GetResponse;
    fn index(&self, id: &str, source: Source, condition: &Condition) -> WriteOutcome;
}

impl Store for ShardCopy {
    fn get(&self, id: &str) -> GetResponse {
        ShardCopy::get(self, id)
    }
    fn index(&self, id: &str, source: Source, condition: &Condition) -> WriteOutcome {
        ShardCopy::index(self, id, source, condition)
    }
}

impl Store for LockedStore {
    fn get(&self, id: &str) -> GetResponse {
        LockedStore::get(self, id)
    }
    fn index(&self, id: &str, source: Source, condition: &Condition) -> WriteOutcome {
        LockedStore::index(self, id, source, condition)
    }
}

impl Store for ShardedStore {
    fn get(&self, id: &str) -> GetResponse {
        ShardedStore::get(self, id)
    }
    fn index(&self, id: &str, source: Source, condition: &Condition) -> WriteOutcome {
        ShardedStore::index(self, id, source, condition)
    }
}

fn shard() -> ShardId {
    ShardId::new("bench", "uuid", 0)
}

fn lock_free() -> Arc<ShardCopy> {
    let options = CopyOptions {
        keep_history: false,
        ..CopyOptions::default()
    };
    Arc::new(ShardCopy::with_options(shard(), options))
}

fn locked() -> Arc<LockedStore> {
    Arc::new(LockedStore::new(shard()))
}

fn sharded() -> Arc<ShardedStore> {
    Arc::new(ShardedStore::new(shard()))
}

fn doc(n: i64) -> Source {
    match json!({ "n": n, "title": "a small document" }) {
        Value::Object(map) => Arc::new(map.into()),
        _ => unreachable!(),
    }
}

fn ids() -> Vec<String> {
    (0..DOCS).map(|i| format!("doc-{i}")).collect()
}

/// Fill the store; returns each document's change id.
fn fill(store: &dyn Store, ids: &[String]) -> Vec<ChangeId> {
    ids.iter()
        .map(|id| change(&store.index(id, doc(0), &Condition::None)))
        .collect()
}

fn change(outcome: &WriteOutcome) -> ChangeId {
    let r = outcome.result.as_ref().expect("benchmark writes succeed");
    ChangeId::new(r.seq_no, r.primary_term)
}

/// Median nanoseconds per iteration of every measurement, by case and store.
static RESULTS: Mutex<BTreeMap<(&'static str, &'static str), Vec<f64>>> =
    Mutex::new(BTreeMap::new());

fn record(case: &'static str, store: &'static str, iters: u64, elapsed: Duration) -> Duration {
    let per_iter = elapsed.as_nanos() as f64 / iters.max(1) as f64;
    let mut results = RESULTS.lock().unwrap();
    results.entry((case, store)).or_default().push(per_iter);
    elapsed
}

fn median(case: &'static str, store: &'static str) -> Option<f64> {
    let results = RESULTS.lock().unwrap();
    let mut v = results.get(&(case, store))?.clone();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// One thread: each iteration is one conditional index with the document's current change id.
fn conditional_indexing(store: &dyn Store, ids: &[String], changes: &mut [ChangeId], iters: u64) {
    for i in 0..iters as usize {
        let k = i % ids.len();
        let out = store.index(&ids[k], doc(i as i64), &Condition::IfSeqNo(changes[k]));
        changes[k] = change(&out);
    }
}

/// One acknowledged increment: get, conditional index, retry on 409.
fn increment(store: &dyn Store, id: &str) {
    loop {
        let read = store.get(id);
        let (meta, n) = (
            read.meta().unwrap(),
            read.source.unwrap()["n"].as_i64().unwrap(),
        );
        let out = store.index(id, doc(n + 1), &Condition::IfSeqNo(meta.change_id()));
        if out.result.is_ok() {
            return;
        }
    }
}

/// What one of two benchmark threads does: `work(store, thread_index, iters)`.
type Work<S> = Arc<dyn Fn(&S, usize, u64) + Send + Sync>;

/// Run `work(store, thread_index, iters)` on two threads started together; the wall time of both.
fn two_threads<S: Store>(store: &Arc<S>, iters: u64, work: &Work<S>) -> Duration {
    let start = Arc::new(Barrier::new(3));
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let (store, start, work) = (store.clone(), start.clone(), work.clone());
            thread::spawn(move || {
                start.wait();
                work(&store, t, iters);
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    for h in handles {
        h.join().unwrap();
    }
    began.elapsed()
}

fn bench_store<S: Store>(c: &mut Criterion, name: &'static str, make: fn() -> Arc<S>) {
    let ids = Arc::new(ids());

    let store = make();
    fill(store.as_ref(), &ids);
    c.bench_function(&format!("get/{name}"), |b| {
        b.iter_custom(|iters| {
            let began = Instant::now();
            for i in 0..iters as usize {
                std::hint::black_box(store.get(&ids[i % DOCS]));
            }
            record("get", name, iters, began.elapsed())
        })
    });

    let store = make();
    let mut changes = fill(store.as_ref(), &ids);
    c.bench_function(&format!("conditional_index_1t/{name}"), |b| {
        b.iter_custom(|iters| {
            let began = Instant::now();
            conditional_indexing(store.as_ref(), &ids, &mut changes, iters);
            record("cond_1t", name, iters, began.elapsed())
        })
    });

    // Two threads, disjoint halves of the documents; an iteration is one write per thread.
    let store = make();
    let halves: Vec<Vec<String>> = ids.chunks(DOCS / 2).map(<[String]>::to_vec).collect();
    let changes: Arc<Vec<Mutex<Vec<ChangeId>>>> = Arc::new(
        halves
            .iter()
            .map(|half| Mutex::new(fill(store.as_ref(), half)))
            .collect(),
    );
    let halves = Arc::new(halves);
    let work: Work<S> = Arc::new(move |s, t, iters| {
        let mut changes = changes[t].lock().unwrap();
        conditional_indexing(s, &halves[t], &mut changes, iters);
    });
    c.bench_function(&format!("conditional_index_2t_disjoint/{name}"), |b| {
        b.iter_custom(|iters| record("cond_2t", name, iters, two_threads(&store, iters, &work)))
    });

    // Two threads incrementing one document; an iteration is one acknowledged increment each.
    let store = make();
    store.index("hot", doc(0), &Condition::None);
    let work: Work<S> = Arc::new(|s, _, iters| {
        for _ in 0..iters {
            increment(s, "hot");
        }
    });
    c.bench_function(&format!("contended_increment_2t/{name}"), |b| {
        b.iter_custom(|iters| record("contended", name, iters, two_threads(&store, iters, &work)))
    });

    // Gets on 64 documents while another thread keeps overwriting them; only the reader is timed.
    let store = make();
    fill(store.as_ref(), &ids);
    c.bench_function(&format!("get_under_writer/{name}"), |b| {
        b.iter_custom(|iters| {
            let stop = Arc::new(AtomicBool::new(false));
            let writer = {
                let (store, stop, ids) = (store.clone(), stop.clone(), ids.clone());
                thread::spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        store.index(&ids[n % 64], doc(n as i64), &Condition::None);
                        n += 1;
                    }
                })
            };
            let began = Instant::now();
            for i in 0..iters as usize {
                std::hint::black_box(store.get(&ids[i % 64]));
            }
            let elapsed = began.elapsed();
            stop.store(true, Ordering::Relaxed);
            writer.join().unwrap();
            record("reads_under_writer", name, iters, elapsed)
        })
    });
}

fn summary() {
    let ratio = |case, target: Option<f64>, label: &str| {
        let free = median(case, "lock_free");
        let (locked, sharded) = (median(case, "locked"), median(case, "sharded"));
        let (Some(free), Some(locked), Some(sharded)) = (free, locked, sharded) else {
            return;
        };
        let better = locked.min(sharded);
        let r = better / free;
        let goal = target.map_or(String::new(), |t| {
            let verdict = if r >= t { "met" } else { "NOT met" };
            format!("  target >= {t:.1}x: {verdict}")
        });
        println!(
            "{label:<44} {free:>8.0} {locked:>8.0} {sharded:>8.0} {:>6.2}x {:>6.2}x {r:>6.2}x{goal}",
            locked / free,
            sharded / free
        );
    };
    println!("\nengine vs the baselines (median ns per iteration; ratio = baseline / lock-free)");
    println!(
        "{:<44} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7}",
        "case", "free", "locked", "sharded", "locked", "sharded", "better"
    );
    ratio("get", None, "get, 1 thread");
    ratio("cond_1t", Some(1.0), "conditional index, 1 thread");
    ratio("cond_2t", None, "conditional index, 2 threads disjoint");
    ratio(
        "contended",
        None,
        "increment one doc, 2 threads (get+if_seq_no)",
    );
    ratio("reads_under_writer", Some(1.5), "get while a writer runs");
    for store in ["lock_free", "locked", "sharded"] {
        if let (Some(one), Some(two)) = (median("cond_1t", store), median("cond_2t", store)) {
            // An iteration of the 2-thread case is two writes, one per thread.
            let scaling = 2.0 * one / two;
            let goal = if store == "lock_free" {
                let verdict = if scaling >= 1.6 { "met" } else { "NOT met" };
                format!("  target >= 1.6x: {verdict}")
            } else {
                String::new()
            };
            println!("scaling, 2 threads disjoint vs 1 thread ({store}): {scaling:.2}x{goal}");
        }
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    bench_store(&mut c, "lock_free", lock_free);
    bench_store(&mut c, "locked", locked);
    bench_store(&mut c, "sharded", sharded);
    c.final_summary();
    // Without `--bench` (under `cargo test`) criterion runs each case once: no figures to compare.
    if std::env::args().any(|a| a == "--bench") {
        summary();
    }
}
