//! loom models of the shard copy's concurrent core: conditional and unconditional writes racing
//! on one document, `retry_on_conflict` under contention, and epoch reclamation under a reader.
//!
//! Run with `RUSTFLAGS="--cfg esocc_loom --cfg crossbeam_loom --cfg crossbeam_sanitize"
//! cargo test --release --test loom_engine` (scripts/test-all.sh does). Every model builds one
//! shard copy, lets two loom threads race on it, and checks the outcome against what
//! Elasticsearch's per-document lock would allow. Each test names the bug it catches and the
//! preemption bound it is explored under; each bug was seeded once in the engine during
//! development and seen to fail the test.
#![cfg(esocc_loom)]

use std::sync::Arc as StdArc;

use esocc::engine::{CopyOptions, ShardCopy, ShardId, Source, UpdateOptions, WriteOutcome};
use esocc::protocol::{ChangeId, Condition};
use loom::sync::Arc;
use serde_json::{json, Value};

fn model(preemption_bound: usize, f: impl Fn() + Send + Sync + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemption_bound);
    builder.check(f);
}

fn copy() -> Arc<ShardCopy> {
    let options = CopyOptions {
        keep_history: false,
        ..CopyOptions::default()
    };
    Arc::new(ShardCopy::with_options(ShardId::new("i", "u", 0), options))
}

fn source(n: i64) -> Source {
    match json!({ "n": n }) {
        Value::Object(map) => StdArc::new(map.into()),
        _ => unreachable!(),
    }
}

fn n_of(copy: &ShardCopy) -> Option<i64> {
    copy.get("d").source.and_then(|s| s["n"].as_i64())
}

/// Run `f(copy, 1)` on a loom thread and `f(copy, 2)` on the model's main thread, racing.
fn race_two(
    copy: &Arc<ShardCopy>,
    f: impl Fn(&ShardCopy, i64) -> WriteOutcome + Send + Sync + 'static,
) -> [WriteOutcome; 2] {
    let f = Arc::new(f);
    let other = {
        let (copy, f) = (copy.clone(), f.clone());
        loom::thread::spawn(move || f(&copy, 1))
    };
    let mine = f(copy, 2);
    [other.join().unwrap(), mine]
}

/// Two conditional writes based on the same read: exactly one wins; the other gets the exact
/// 409 naming the winner's `_seq_no`, and a `_seq_no` it burned (if it lost the swap rather than
/// the plan) is processed as a no-op, so the checkpoint reaches the max.
///
/// Catches: installing with an unconditional swap instead of a compare-and-swap (seeded in
/// `DocSlot::replace`; failed with "exactly one conditional write wins", 2 winners). Preemption
/// bound 3 (6 s here).
#[test]
fn conditional_writes_from_one_read_have_exactly_one_winner() {
    model(3, || {
        let copy = copy();
        copy.index("d", source(0), &Condition::None);
        let read = copy.get("d").meta().unwrap().change_id();
        let outcomes = race_two(&copy, move |c, n| {
            c.index("d", source(n), &Condition::IfSeqNo(read))
        });
        let winners: Vec<_> = outcomes
            .iter()
            .filter_map(|o| o.result.as_ref().ok())
            .collect();
        assert_eq!(winners.len(), 1, "exactly one conditional write wins");
        let winner = winners[0];
        let loser = outcomes
            .iter()
            .find_map(|o| o.result.as_ref().err())
            .unwrap();
        assert_eq!(
            loser.reason(),
            format!(
                "[d]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [{}] and primary term [1]",
                winner.seq_no
            )
        );
        assert_eq!(
            copy.get("d").meta().unwrap().change_id(),
            ChangeId::new(winner.seq_no, 1)
        );
        assert_eq!(copy.local_checkpoint(), copy.max_seq_no());
    });
}

/// Two unconditional writes: both succeed with distinct `_seq_no`s; per document `_seq_no` and
/// `_version` strictly increase together; the write with the higher `_seq_no` is the final
/// state; the checkpoint reaches the max (burned `_seq_no`s included).
///
/// Catches: taking the `_seq_no` before reading the slot (a write can then install a `_seq_no`
/// lower than the one it replaces; seeded by moving `SeqNoTicket::issue` above `slot.load` in
/// `ShardCopy::write`, failed with versions (3, 2) where (2, 3) was expected). Preemption bound 3
/// (22 s here).
#[test]
fn unconditional_writes_both_succeed_in_seq_no_order() {
    model(3, || {
        let copy = copy();
        copy.index("d", source(0), &Condition::None);
        let outcomes = race_two(&copy, |c, n| c.index("d", source(n), &Condition::None));
        let [one, two] = outcomes.map(|o| o.result.unwrap());
        assert_ne!(one.seq_no, two.seq_no);
        let (first, last, last_n) = if one.seq_no < two.seq_no {
            (one, two, 2)
        } else {
            (two, one, 1)
        };
        assert!(first.seq_no > 0);
        assert_eq!((first.version, last.version), (2, 3));
        let fin = copy.get("d");
        assert_eq!((fin.seq_no, fin.version), (Some(last.seq_no), Some(3)));
        assert_eq!(n_of(&copy), Some(last_n));
        assert_eq!(copy.local_checkpoint(), copy.max_seq_no());
    });
}

/// Two read-modify-write increments through the update API with `retry_on_conflict = 1`: no
/// increment is lost (the document ends at 2) and neither makes more than 2 write attempts.
///
/// Catches: an update that writes back without `if_seq_no`/`if_primary_term` of what it read
/// (seeded as `Condition::None` in `update_with`; failed with n = 1, "both read 0, both write
/// 1"). Preemption bound 2 (10 s here; bound 3 takes 90 s).
#[test]
fn retried_updates_lose_no_increment() {
    model(2, || {
        let copy = copy();
        copy.index("d", source(0), &Condition::None);
        let outcomes = race_two(&copy, |c, _| {
            let options = UpdateOptions {
                retry_on_conflict: 1,
                ..UpdateOptions::default()
            };
            c.update_with("d", &options, |doc| {
                let n = doc["n"].as_i64().unwrap_or(0);
                Some(source(n + 1).fields().clone())
            })
        });
        for outcome in &outcomes {
            assert!(outcome.result.is_ok(), "{:?}", outcome.result);
            assert!((1..=2).contains(&outcome.attempts));
        }
        assert_eq!(n_of(&copy), Some(2));
        assert_eq!(copy.local_checkpoint(), copy.max_seq_no());
    });
}

/// A reader holds a version while a writer replaces it: the reader sees a whole version (the
/// `_version` matches the source) and the replaced version is not freed under it. The engine's
/// `ReclaimProbe` makes a free that races with the read a loom causality error, and
/// `crossbeam_sanitize` makes epoch garbage actually get collected inside the model.
///
/// Catches: freeing the replaced version right after the swap instead of `defer_destroy`
/// (seeded as `drop(old.into_owned())` in `DocSlot::replace`), and a reader that does not pin
/// the epoch (seeded as `epoch::unprotected()` in `ShardCopy::get`); both failed with "Causality
/// violation: Concurrent read and write accesses to `UnsafeCell`". The second one is only
/// visible because the writer's bag is flushed (`crossbeam_sanitize`) and the writer thread then
/// pins and flushes until the epoch has advanced. Preemption bound 4 (2.4 s here).
#[test]
fn reclamation_never_frees_a_version_a_reader_holds() {
    model(4, || {
        let copy = copy();
        copy.index("d", source(1), &Condition::None);
        let writer = {
            let copy = copy.clone();
            loom::thread::spawn(move || {
                let outcome = copy.index("d", source(2), &Condition::None);
                // Let the epoch advance twice so the replaced version is really freed in the
                // model (with crossbeam_sanitize the writer already pushed it to the global queue).
                for _ in 0..3 {
                    crossbeam_epoch::pin().flush();
                }
                outcome
            })
        };
        let seen = copy.get("d");
        let n = seen.source.as_ref().and_then(|s| s["n"].as_i64());
        assert_eq!(n, seen.version, "a reader sees one whole version");
        assert!(writer.join().unwrap().result.is_ok());
        assert_eq!(n_of(&copy), Some(2));
    });
}
