//! Conformance: the engine replays the replication model. "The model mirrors the
//! implementation" is tested here, step by step, not only argued from both calling `protocol`.
//!
//! For every catalogue entry with `"ci": true` whose model the engine can be driven through
//! ([`replayable`]), model paths are walked ([`walk`]: every path of the depth-first tree over
//! `actions` / `next_state`, each distinct state entered once, up to [`BOUND`]'s state count,
//! then a seeded sample of random paths to terminal states) and each is replayed on a fresh
//! `ShardGroup` with the same copies and knobs, seeded like the model's initial state (the
//! document at `_seq_no` 0 on every copy, global checkpoint 0 everywhere through a global
//! checkpoint sync), every link holding its requests. One model action is one engine call:
//!
//! | model | engine |
//! | --- | --- |
//! | `Get { client, copy }` | `get_at(copy)` |
//! | `Write { client, copy }` | `submit_at(copy, write)`: the guard's condition from the read, the value as `{"chain": [...]}`; a re-routed write re-sends the same request |
//! | `Deliver` / `Duplicate` / `Drop` of a request | `deliver_held` / `duplicate_held` / `drop_held` of the matching held request (sender, term, piggybacked global checkpoint, `_seq_no`s, trim) |
//! | `Deliver` / `Drop` of an answer | `answer_held` of the engine's answer to that request / `HeldAnswer::lost` |
//! | `FailPrimary { promote }` | `isolate_primary_promoting(promote)` (the model's old primary is isolated) |
//! | `FailReplica { copy }` | `fail_replica_holding(copy)` |
//! | `Recover { copy }` | `recover_replica(copy)` |
//! | `PruneTombstone { copy, doc }` | `prune_tombstone(copy, id)`, which must prune |
//!
//! After every step the test compares each client-visible answer (an acknowledgement's result,
//! `_seq_no`, `_primary_term`, `_version`; a 409's `VersionConflict`, which carries the reason;
//! a GET's value and metadata; a write the model fails indefinitely must never be acknowledged
//! by the engine), the master's primary, term and in-sync set, and every live copy's role, term,
//! local and global checkpoint and document (metadata and value). The first divergence fails the
//! test with the model's numbered trace, the expected and the actual value. Each entry prints a
//! coverage line: paths replayed, steps, distinct model states, transitions left out.
//!
//! Where the model abstracts, the comparison is made where both agree:
//! * A copy the master removed from the in-sync set, or a demoted primary, keeps running in the
//!   model and is closed in the engine (as Elasticsearch closes a failed shard). Its documents
//!   and checkpoints are not compared, and the model's transitions in which it processes a
//!   request are left out (it still loses them: a drop is replayed).
//! * The model acknowledges a write once every copy still in its primary's view has it;
//!   the engine, as `ReplicationOperation` (`pendingActions`), waits for each target's own
//!   answer. When the model has acknowledged a write the engine still waits for, the answers
//!   to that write are handed to the primary at once, as copies (the originals stay in flight).
//! * The model's 409 on a stale primary whose replication round would be fenced demotes it and
//!   re-routes the request (`TransportShardBulkAction` replicates a shard request whose item
//!   failed, so `ReplicationOperation` meets the fence); the engine answers a 409 decided before
//!   any `_seq_no` was taken without a round. Those transitions are left out.
//! * A copy that recovers in the primary term it failed in keeps what it holds in the engine
//!   (a shortcut of `GroupCopy::reset_for_recovery`); the model, as Elasticsearch's
//!   `recoverLocallyUpToGlobalCheckpoint`, keeps what is at or below its global checkpoint and
//!   is sent the rest. Until the recovery arrives its local checkpoint and document are not
//!   compared, and the engine's recovery sends a suffix of the model's operations.
//! * With `promote_stale_copy` or without term fencing, a resync may trim an operation the
//!   receiving copy holds processed (at or below its global checkpoint, or of an older term taken
//!   in the new one); the model drops it from its history and lowers its local checkpoint,
//!   Elasticsearch (`trimOperationsFromTranslog`) and the engine trim only the translog. Not
//!   reachable in the safe protocol (the trim bound is at least every copy's global checkpoint);
//!   those transitions are left out.
//!
//! * Deletes: the engines' `index.gc_deletes` never elapses, so they never prune a tombstone on
//!   their own; the replay prunes where the model takes `PruneTombstone` (Elasticsearch prunes
//!   only after `gc_deletes` and once the local checkpoint passed the delete,
//!   `pruneDeletedTombstones`; with `prune_tombstones_early` before), and a pruned tombstone is
//!   compared as no document (it left the engine's id map).
//!   A write over a tombstone or nothing answers `created` / `not_found` (`InternalEngine`'s
//!   `currentNotFoundOrDeleted`). A re-routed `op_type=create` carries the value the model
//!   wrote (the model's value is a witness chain extending the tombstone it replaces).
//! * The update API: a script appending the writer; a re-route re-sends the primary's
//!   translation (`UpdateHelper.prepare`), and on its 409 `retry_on_conflict` prepares the
//!   update again (`protocol::coordinator::translated_conflict`).
//!
//! Engine → model: the 1024 schedules of `tests/replication_proptest.rs` (same generators, same
//! fixed seed) run on the engine, each step mapped to model actions that must be enabled, then
//! compared by the same replay ([`conformance::schedule`]). Skipped, counted: writes of the kind
//! the model's one guard does not have (two models: guarded; blind with a deleter), deletes the
//! model's single deleter cannot make, deletes of a missing document (an operation in
//! Elasticsearch, nothing in the model), writes beyond the model's eight clients, stale writes
//! to a copy that knows it was demoted. A crash of the primary is replayed as an isolation; the
//! schedule's third document is renamed onto the first (the model holds two).
//!
//! The unsafe entries replay too (the engine has each model knob: `ack_before_replication`,
//! `term_fencing: false`, `promote_stale_copy`, `replica_order: arrival`, `mark_in_sync_early`,
//! `prune_tombstones_early`), and the engine must break the same invariant,
//! `no_lost_acked_write`, on the model's shortest counterexample; and an engine deviating from
//! the model (a knob the entry does not have) must be caught.

#[path = "support/conformance/mod.rs"]
mod conformance;

use std::time::Instant;

use esocc::engine::group::{Unsafe, UnsafeKnob};
use esocc::model::catalogue::{self, Entry, ModelSpec};
use esocc::model::check::{self, Options};
use esocc::model::replication::{Action, Config, ReplicationModel};
use esocc::model::trace::Trace;
use esocc::model::Invariant;
use esocc::protocol::Guard;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config as ProptestConfig, RngSeed, TestRunner};
use stateright::Model;

use conformance::replay::{abstracted, knobs_of, replayable, walkable, Divergence};
use conformance::schedule::{map_schedule, Mapped};
use conformance::schedules::{step, step_with_recoveries, Step, COPIES};
use conformance::walk::{replay_path, walk, Bound};

/// States entered depth-first per entry, then random paths (seeded) if that was not all.
const BOUND: Bound = Bound {
    dfs_states: 60_000,
    random_paths: 500,
    random_depth: 60,
    seed: 11,
};

fn ci_replication_entries() -> Vec<(Entry, ReplicationModel)> {
    let models = concat!(env!("CARGO_MANIFEST_DIR"), "/models");
    catalogue::load(&[models])
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|e| e.ci)
        .filter_map(|e| match &e.model {
            ModelSpec::Replication(config) => {
                let model = config.clone().into_model().expect("valid");
                Some((e, model))
            }
            ModelSpec::SingleShard(_) => None,
        })
        .collect()
}

fn report(model: &ReplicationModel, d: &Divergence) -> String {
    let init = model.init_states().remove(0);
    let trace = Trace::replay(model, init, &d.path);
    format!("diverges at step {}: {}\n{trace}", d.path.len(), d.what)
}

#[test]
fn the_engine_replays_every_ci_replication_entry() {
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (entry, model) in ci_replication_entries() {
        let name = &entry.name;
        if let Err(why) = replayable(&model).and_then(|()| walkable(&model)) {
            println!("conformance {name}: not replayed ({why})");
            continue;
        }
        let entry_started = Instant::now();
        match walk(&model, knobs_of(&model), BOUND, &abstracted) {
            Ok(c) => {
                replayed += 1;
                assert!(c.paths > 0 && c.states > 1, "{name}: nothing replayed");
                println!(
                    "conformance {name}: {} paths, {} steps, {} distinct model states ({}), {} transitions left out, {:.1?}",
                    c.paths,
                    c.steps,
                    c.states,
                    if c.exhaustive { "every reachable state" } else { "bounded" },
                    c.skipped,
                    entry_started.elapsed()
                )
            }
            Err(d) => {
                println!("conformance {name}: {}", report(&model, &d));
                failures.push(name.clone());
            }
        }
    }
    println!(
        "conformance: {replayed} entries replayed in {:.1?}",
        started.elapsed()
    );
    assert!(replayed >= 10, "only {replayed} entries replayed");
    assert!(failures.is_empty(), "diverging entries: {failures:?}");
}

/// The model's shortest counterexample to `invariant` in `entry`, as actions.
fn counterexample(entry: &Entry, model: &ReplicationModel, invariant: Invariant) -> Vec<Action> {
    let report = check::run(entry, &Options::default()).expect("a valid entry");
    let found = report
        .properties
        .iter()
        .find(|p| p.property == invariant)
        .and_then(|p| p.counterexample.as_ref())
        .unwrap_or_else(|| panic!("{}: no counterexample to {invariant:?}", entry.name));
    let choices = found.path.as_ref().expect("the path's choices");
    let mut state = model.init_states().remove(0);
    choices
        .iter()
        .map(|&choice| {
            let mut actions = Vec::new();
            model.actions(&state, &mut actions);
            let action = actions[choice].clone();
            state = model.next_state(&state, action.clone()).expect("enabled");
            action
        })
        .collect()
}

#[test]
fn the_engine_loses_an_acked_write_on_each_unsafe_entrys_counterexample() {
    let mut reproduced = Vec::new();
    for (entry, model) in ci_replication_entries() {
        let knobs = knobs_of(&model);
        if knobs.is_safe() || replayable(&model).is_err() {
            continue;
        }
        let path = counterexample(&entry, &model, Invariant::NoLostAckedWrite);
        let replay = replay_path(&model, knobs, &path)
            .unwrap_or_else(|d| panic!("{}: {}", entry.name, report(&model, &d)));
        assert!(
            replay.engine_lost_an_acked_write(),
            "{}: the engine kept every acknowledged write on the model's counterexample ({} steps)",
            entry.name,
            path.len()
        );
        println!(
            "conformance {}: the engine loses an acknowledged write on the model's {}-step counterexample",
            entry.name,
            path.len()
        );
        reproduced.push(entry.name);
    }
    reproduced.sort();
    assert_eq!(
        reproduced,
        [
            "replication-ack-before-replication",
            "replication-arrival-order",
            "replication-deletes-pruned-early",
            "replication-mark-in-sync-early",
            "replication-no-term-fencing",
            "replication-promote-stale-copy"
        ]
    );
}

/// The test of the test: an engine that deviates from the model in one place (it acknowledges
/// before its replicas applied the write, its replicas take operations of an old term or
/// install them in arrival order, or its master marks a recovering copy in sync at once) is
/// caught on a safe entry, with the step where it deviates. `prune-tombstones-early` cannot be:
/// the replay prunes only where the model does, where the safe rule allows it too.
#[test]
fn an_engine_that_deviates_is_caught() {
    let entries = ci_replication_entries();
    let model = |name: &str| {
        entries
            .iter()
            .find(|(e, _)| e.name == name)
            .map(|(_, m)| m)
            .unwrap_or_else(|| panic!("no entry {name}"))
    };
    let cases = [
        ("replication-no-failover", UnsafeKnob::AckBeforeReplication),
        ("replication-one-failover", UnsafeKnob::NoTermFencing),
        ("replication-one-failover", UnsafeKnob::ArrivalOrder),
        (
            "replication-recovery-then-failover",
            UnsafeKnob::MarkInSyncEarly,
        ),
    ];
    for (name, knob) in cases {
        let model = model(name);
        assert!(knobs_of(model).is_safe());
        let deviating = Unsafe::of(&[knob]);
        let divergence = walk(model, deviating, BOUND, &abstracted)
            .err()
            .unwrap_or_else(|| panic!("{name} with {knob}: no divergence found"));
        println!(
            "conformance {name} with {knob}: {}",
            report(model, &divergence)
        );
        assert!(!divergence.path.is_empty());
    }
}

/// Schedules per generator of `tests/replication_proptest.rs` (as many as it runs, from the
/// same fixed seed, so the same schedules).
const SCHEDULES: usize = 512;

/// The proptest's schedules: `SCHEDULES` of its plain generator and as many of the one with
/// replica failures and recoveries.
fn proptest_schedules() -> Vec<Vec<Step>> {
    let mut runner = TestRunner::new(ProptestConfig {
        rng_seed: RngSeed::Fixed(1),
        ..ProptestConfig::default()
    });
    let plain = proptest::collection::vec(step(), 1..48);
    let with_recoveries = proptest::collection::vec(step_with_recoveries(), 1..48);
    let mut draw = |strategy: &dyn Fn(&mut TestRunner) -> Vec<Step>| {
        (0..SCHEDULES)
            .map(|_| strategy(&mut runner))
            .collect::<Vec<_>>()
    };
    let mut schedules = draw(&|r| plain.new_tree(r).expect("a schedule").current());
    schedules.extend(draw(&|r| {
        with_recoveries.new_tree(r).expect("a schedule").current()
    }));
    schedules
}

/// The model configured like the proptest's group: three copies, its documents (two, the
/// model's most: the schedule's third document is renamed onto the first), a client per write
/// (eight, a value chain's capacity), one failover, a lossy network, replica failures and
/// recoveries. The proptest mixes blind and guarded writes and deletes; a model's clients share
/// one guard, so there are two models: guarded, and blind with a (blind) deleter.
fn proptest_models() -> [(&'static str, ReplicationModel); 2] {
    let config = |guard, deletes| {
        Config {
            clients: 8,
            docs: 2,
            ops_per_client: 1,
            copies: COPIES as u8,
            failovers: 1,
            replica_failures: 48,
            recoveries: 48,
            guard,
            drops: true,
            deletes,
            ..Config::default()
        }
        .into_model()
        .expect("a valid model")
    };
    [
        ("guarded", config(Guard::SeqNoAndTerm, false)),
        ("blind with deletes", config(Guard::Blind, true)),
    ]
}

#[test]
fn every_engine_step_of_the_proptest_schedules_is_a_model_transition() {
    let started = Instant::now();
    let schedules = proptest_schedules();
    let mut all = Mapped::default();
    for (name, model) in proptest_models() {
        let mut mapped = Mapped::default();
        for (i, schedule) in schedules.iter().enumerate() {
            match map_schedule(&model, knobs_of(&model), schedule) {
                Ok(m) => mapped.add(&m),
                Err(d) => panic!(
                    "engine → model ({name}), schedule {i} {schedule:?}: {}",
                    report(&model, &d)
                ),
            }
        }
        println!(
            "conformance engine → model ({name}): {} schedules, {} steps mapped to {} model transitions, {} skipped: {:?}",
            schedules.len(),
            mapped.steps,
            mapped.transitions,
            mapped.skips(),
            mapped.skipped
        );
        all.add(&mapped);
    }
    println!(
        "conformance engine → model: {} steps mapped, {} skipped, in {:.1?}",
        all.steps,
        all.skips(),
        started.elapsed()
    );
    // Each write kind is mapped by one of the two models, so a third of the writes are skips
    // of each; two thirds of the steps must map.
    assert!(
        all.steps >= 2 * all.skips(),
        "most steps must map: {} mapped, {} skipped",
        all.steps,
        all.skips()
    );
}

/// The test of the test, engine → model: the engine acknowledging before its replicas applied
/// the write (a knob the guarded model does not have) is caught on the proptest's schedules.
#[test]
fn an_engine_that_deviates_is_caught_on_the_proptest_schedules() {
    let [(_, model), _] = proptest_models();
    let deviating = Unsafe::of(&[UnsafeKnob::AckBeforeReplication]);
    let caught = proptest_schedules()
        .iter()
        .enumerate()
        .find_map(|(i, s)| map_schedule(&model, deviating, s).err().map(|d| (i, d)));
    let (i, divergence) = caught.expect("a schedule on which the deviating engine diverges");
    println!(
        "conformance engine → model with {}: schedule {i}: {}",
        UnsafeKnob::AckBeforeReplication,
        report(&model, &divergence)
    );
    assert!(divergence.what.contains("acknowledge") || divergence.what.contains("answered"));
}
