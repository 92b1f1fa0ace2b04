//! The history checker of `esocc torture` on generated histories, and against a plain
//! Wing & Gong search (no split per document, no memoisation, no forced steps, no indefinite
//! write left out or moved) in the same run.
//!
//! Histories come from a simulated endpoint that applies each operation at its completion (so
//! they are linearizable by construction): clients GET, index conditionally on the version they
//! last saw, create when they saw none; with `indefinite`, 5% of writes time out (`info`), half of
//! them taking effect. The matrix: 1k, 100k, 1M operations × 16, 64 clients × 1, 100, 10k keys ×
//! with and without indefinite results; then the plain search on 10k operations (its step budget,
//! 50k steps per operation on one key, 1k on 100, bounds it: when spent, the ratio is a lower
//! bound). The checker's time there is the median of five runs (one run takes milliseconds).
//! `cargo bench --bench torture`; under `cargo test --all-targets` (no `--bench` argument) it is
//! a smoke test on 1k operations.

use std::collections::HashMap;
use std::time::Instant;

use esocc::torture::check;
use esocc::torture::history::{ChangeId, Completion, History, Invoke, Kind, Op, Outcome};
use esocc::torture::wgl::{self, Budget};
use esocc::torture::Verdict;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Pending {
    invoke: Invoke,
    key: usize,
}

/// A linearizable history of `ops` operations.
fn generate(ops: usize, clients: usize, keys: usize, indefinite: bool, seed: u64) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut docs: Vec<Option<(ChangeId, String)>> = vec![None; keys];
    let mut seen: Vec<HashMap<usize, Option<ChangeId>>> = vec![HashMap::new(); clients];
    let mut process: Vec<u64> = (0..clients as u64).collect();
    let mut pending: Vec<Option<Pending>> = (0..clients).map(|_| None).collect();
    let (mut seq, mut time, mut next_op, mut tokens) = (0u64, 0u64, 0u64, 0u64);
    let mut out = Vec::with_capacity(ops);
    while out.len() < ops {
        let c = rng.random_range(0..clients);
        time += 1;
        let Some(p) = pending[c].take() else {
            let key = rng.random_range(0..keys);
            let known = seen[c].get(&key).copied();
            let (f, condition) = match known {
                _ if rng.random_bool(0.4) => (Kind::Read, None),
                None => (Kind::Read, None),
                Some(None) => (Kind::Create, None),
                Some(Some(change)) => (Kind::Index, Some(change)),
            };
            tokens += 1;
            pending[c] = Some(Pending {
                invoke: Invoke {
                    op: next_op,
                    process: process[c],
                    f,
                    key: format!("k{key}"),
                    token: (f != Kind::Read).then(|| format!("t{tokens}")),
                    condition,
                    node: None,
                    final_read: false,
                    bulk: None,
                    time_ns: time,
                },
                key,
            });
            next_op += 1;
            continue;
        };
        let doc = &mut docs[p.key];
        let lost = indefinite && p.invoke.f != Kind::Read && rng.random_bool(0.05);
        let applies = !lost || rng.random_bool(0.5);
        let holds = match p.invoke.f {
            Kind::Read => true,
            Kind::Create => doc.is_none(),
            _ => doc.as_ref().map(|d| d.0) == p.invoke.condition,
        };
        let mut completion = Completion {
            op: p.invoke.op,
            time_ns: time,
            ..Completion::default()
        };
        let outcome = if p.invoke.f == Kind::Read {
            completion.status = Some(if doc.is_some() { 200 } else { 404 });
            completion.change = doc.as_ref().map(|d| d.0);
            completion.tokens = doc.as_ref().map(|d| vec![d.1.clone()]);
            seen[c].insert(p.key, completion.change);
            Outcome::Ok
        } else if holds && applies {
            seq += 1;
            let change = ChangeId {
                seq_no: seq,
                primary_term: 1,
            };
            *doc = Some((change, p.invoke.token.clone().unwrap_or_default()));
            completion.status = Some(200);
            completion.change = Some(change);
            if lost {
                Outcome::Info
            } else {
                seen[c].insert(p.key, Some(change));
                Outcome::Ok
            }
        } else if lost {
            Outcome::Info
        } else {
            completion.status = Some(409);
            seen[c].remove(&p.key);
            Outcome::Fail
        };
        if outcome == Outcome::Info {
            completion = Completion {
                op: p.invoke.op,
                time_ns: time,
                error: Some("timeout".into()),
                ..Completion::default()
            };
            seen[c].remove(&p.key);
            process[c] += clients as u64;
        }
        out.push(Op {
            invoke: p.invoke,
            outcome,
            complete_ns: (outcome != Outcome::Info).then_some(time),
            completion,
        });
    }
    History {
        params: None,
        ops: out,
        nemesis: Vec::new(),
    }
}

fn peak_rss_mb() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or("?".into(), |kb| format!("{}", kb / 1024))
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this as a short smoke test.
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if benchmarking {
        &[1_000, 100_000, 1_000_000]
    } else {
        &[1_000]
    };
    let compared = if benchmarking { 10_000 } else { 1_000 };
    println!(
        "checker on generated histories (OCC-aware checker, then the WGL search per document)"
    );
    println!(
        "{:>9} {:>7} {:>6} {:>10} {:>9} {:>9} {:>8}",
        "ops", "clients", "keys", "indefinite", "seconds", "verdict", "peak MB"
    );
    for &ops in sizes {
        for clients in [16, 64] {
            for keys in [1, 100, 10_000] {
                for indefinite in [false, true] {
                    let h = generate(ops, clients, keys, indefinite, 7);
                    let start = Instant::now();
                    let report = check(&h, Budget::default());
                    let seconds = start.elapsed().as_secs_f64();
                    assert_ne!(report.verdict, Verdict::Anomalies, "{:?}", report.anomalies);
                    println!(
                        "{ops:>9} {clients:>7} {keys:>6} {indefinite:>10} {seconds:>9.3} {:>9} {:>8}",
                        format!("{:?}", report.verdict).to_lowercase(),
                        peak_rss_mb()
                    );
                }
            }
        }
    }
    println!();
    println!(
        "against the plain WGL search (no split, no memoisation, no forced steps, nothing left out), {compared} operations"
    );
    println!(
        "{:>7} {:>6} {:>10} {:>12} {:>12} {:>10}",
        "clients", "keys", "indefinite", "checker s", "plain s", "ratio"
    );
    for clients in [16, 64] {
        for keys in [1, 100] {
            // A step of the plain search copies every document's state: fewer steps with more.
            let plain_budget = Budget {
                steps_per_op: match (benchmarking, keys) {
                    (false, _) => 100,
                    (true, 1) => 50_000,
                    (true, _) => 1_000,
                },
                memory: usize::MAX,
            };
            for indefinite in [false, true] {
                let h = generate(compared, clients, keys, indefinite, 7);
                let mut runs: Vec<f64> = (0..5)
                    .map(|_| {
                        let start = Instant::now();
                        let report = check(&h, Budget::default());
                        assert_ne!(report.verdict, Verdict::Anomalies);
                        start.elapsed().as_secs_f64()
                    })
                    .collect();
                runs.sort_by(f64::total_cmp);
                let ours = runs[runs.len() / 2];
                let mut by_key: std::collections::BTreeMap<&str, Vec<&Op>> = Default::default();
                for op in &h.ops {
                    by_key.entry(op.invoke.key.as_str()).or_default().push(op);
                }
                let documents: Vec<Vec<&Op>> = by_key.into_values().collect();
                let start = Instant::now();
                let plain = wgl::check_plain(&documents, plain_budget);
                let theirs = start.elapsed().as_secs_f64();
                let ratio = theirs / ours.max(1e-9);
                let ratio = match plain {
                    wgl::Outcome::Unknown => format!(">= {ratio:.0}x"),
                    wgl::Outcome::Linearizable => format!("{ratio:.0}x"),
                    wgl::Outcome::Violation(_) => {
                        panic!("the plain search refuted a linearizable history")
                    }
                };
                let plain_s = match plain {
                    wgl::Outcome::Unknown => format!("{theirs:.3} (out)"),
                    _ => format!("{theirs:.3}"),
                };
                println!(
                    "{clients:>7} {keys:>6} {indefinite:>10} {ours:>12.4} {plain_s:>12} {ratio:>10}"
                );
            }
        }
    }
}
