//! A failed replica comes back through ops-based peer recovery (`ShardGroup::recover_replica`):
//! it is sent the history above its local checkpoint, writes go to it while it recovers and
//! their acknowledgements wait for it, it is in sync again only once it reached the global
//! checkpoint, it survives a failover to it with every acknowledged write, and the primary's
//! history release keeps what the recovery needs. Links are scripted, so each window is forced.

use std::sync::Arc;

use esocc::engine::group::Role;
use esocc::engine::{CopyOptions, LinkFault, ShardGroup, ShardId, Source, Write};
use esocc::protocol::{Condition, DocMeta};
use serde_json::{json, Value};

fn source(n: i64) -> Source {
    match json!({ "n": n }) {
        Value::Object(map) => Arc::new(map.into()),
        _ => unreachable!(),
    }
}

/// Three copies, releasing history at every step of the global checkpoint.
fn group() -> ShardGroup {
    let options = CopyOptions {
        release_step: 1,
        ..CopyOptions::default()
    };
    ShardGroup::with_options(ShardId::new("r", "u", 0), 2, 2, options)
}

fn index(g: &ShardGroup, id: &str, n: i64) {
    let outcome = g.index(id, source(n), &Condition::None);
    assert!(outcome.result.is_ok(), "{id}: {:?}", outcome.result);
}

fn docs(g: &ShardGroup, copy: usize) -> Vec<(String, DocMeta, Option<Source>)> {
    g.copy(copy).unwrap().with_engine(|e| e.documents())
}

fn checkpoints(g: &ShardGroup, copy: usize) -> (i64, i64) {
    g.copy(copy)
        .unwrap()
        .with_engine(|e| (e.local_checkpoint(), e.max_seq_no()))
}

#[test]
fn a_recovered_replica_catches_up_rejoins_and_survives_a_failover_to_it() {
    let g = group();
    index(&g, "a", 0);
    g.fail_replica(2).unwrap();
    for n in 1..=5 {
        index(&g, &format!("w{n}"), n);
    }
    assert_eq!(g.in_sync(), [0, 1]);
    assert_eq!(checkpoints(&g, 2).0, 0, "copy 2 missed seq 1..=5");
    // The primary kept the history above copy 2's last local checkpoint (its retention lease),
    // though the global checkpoint passed it and history is released at every step.
    assert!(g.copy(0).unwrap().stats().history_ops >= 5);

    let recovery = g.recover_replica(2).unwrap();
    assert_eq!(
        (
            recovery.from_local_checkpoint,
            recovery.operations,
            recovery.in_sync
        ),
        (0, 5, true)
    );
    assert_eq!(g.in_sync(), [0, 1, 2]);
    assert_eq!(checkpoints(&g, 2), (5, 5));
    assert_eq!(docs(&g, 2), docs(&g, 0));
    // In sync again: the next write needs it, and with the lease gone the history is released.
    let out = g.index("b", source(6), &Condition::None);
    assert_eq!(out.result.unwrap().shards.successful, 3);
    assert!(g.copy(0).unwrap().stats().history_ops <= 1);

    // Fail over twice: copy 1, then the recovered copy 2 becomes primary, with every
    // acknowledged write.
    assert_eq!(g.fail_primary().unwrap().promoted, 1);
    assert_eq!(g.fail_primary().unwrap().promoted, 2);
    let expected: Vec<String> = ["a", "b", "w1", "w2", "w3", "w4", "w5"]
        .map(String::from)
        .to_vec();
    let mut held: Vec<String> = docs(&g, 2).into_iter().map(|(id, ..)| id).collect();
    held.sort();
    assert_eq!(held, expected);
}

#[test]
fn writes_go_to_a_recovering_copy_and_wait_for_it_and_it_is_in_sync_only_once_caught_up() {
    let g = group();
    index(&g, "a", 0);
    g.fail_replica(2).unwrap();
    index(&g, "b", 1);
    // The recovery's operations are held on copy 2's link: copy 2 is tracked, not in sync.
    g.set_link(2, LinkFault::Delay).unwrap();
    let recovery = g.recover_replica(2).unwrap();
    assert!(!recovery.in_sync);
    assert_eq!(g.copy(2).unwrap().role(), Role::Replica);
    assert_eq!(g.in_sync(), [0, 1]);
    // A write goes to the recovering copy too, and its acknowledgement waits for it.
    let pending = g.submit(Write::Index {
        id: "c".into(),
        source: source(2),
        condition: Condition::None,
    });
    assert_eq!(g.held(2), Ok(2));
    assert!(
        !pending.is_done(),
        "the write waits for the recovering copy"
    );
    // The global checkpoint counts only in-sync copies: copy 2's lag does not hold it back.
    assert_eq!(g.copy(0).unwrap().global_checkpoint(), 2);
    assert_eq!(g.release(2), Ok(2));
    let shards = pending.wait().result.unwrap().shards;
    assert_eq!((shards.successful, shards.failed), (3, 0));
    assert_eq!(g.in_sync(), [0, 1, 2], "caught up: marked in sync");
    assert_eq!(docs(&g, 2), docs(&g, 0));
}

#[test]
fn only_a_failed_replica_recovers() {
    let g = group();
    assert!(g.recover_replica(1).is_err(), "copy 1 is in sync");
    assert!(g.recover_replica(0).is_err(), "copy 0 is the primary");
    assert!(g.recover_replica(7).is_err());
}

/// What a copy holds that a recovery must reproduce: its documents with their seq-no metadata
/// (tombstones included), its local checkpoint and max `_seq_no`, and its global checkpoint.
type Held = (Vec<(String, DocMeta, Option<Source>)>, (i64, i64), i64);

fn held(g: &ShardGroup, copy: usize) -> Held {
    let global = g.copy(copy).unwrap().global_checkpoint();
    (docs(g, copy), checkpoints(g, copy), global)
}

#[test]
fn a_copy_failed_under_an_older_primary_recovers_by_copying_files() {
    let g = group();
    index(&g, "a", 0);
    g.fail_replica(2).unwrap();
    g.fail_primary().unwrap(); // copy 1 promoted: it holds no lease for copy 2
    for n in 1..=3 {
        index(&g, &format!("w{n}"), n);
    }
    assert!(!g
        .copy(1)
        .unwrap()
        .with_engine(|e| e.retains_history_above(-1)));
    let recovery = g.recover_replica(2).unwrap();
    assert_eq!(
        (recovery.files, recovery.in_sync),
        (4, true),
        "{recovery:?}"
    );
    assert_eq!(g.copy(2).unwrap().role(), Role::Replica);
    assert_eq!(g.in_sync(), [1, 2]);
    assert_eq!(held(&g, 2), held(&g, 1));
}

#[test]
fn a_recovery_after_an_expired_lease_copies_files_and_ends_identical_to_the_primary() {
    let options = CopyOptions {
        release_step: 1,
        retention_lease_period: std::time::Duration::ZERO,
        ..CopyOptions::default()
    };
    let g = ShardGroup::with_options(ShardId::new("r", "u", 0), 2, 2, options);
    index(&g, "a", 0);
    g.fail_replica(2).unwrap();
    for n in 1..=5 {
        index(&g, &format!("w{n}"), n);
    }
    index(&g, "w1", 6); // _version 2
    assert!(g.delete("w2", &Condition::None).result.is_ok()); // a tombstone
    assert_eq!(g.in_sync(), [0, 1]);
    // The lease expired at the first release after the failure: nothing above copy 2's local
    // checkpoint is kept for it (the default period keeps all five: the first test above).
    assert!(g.copy(0).unwrap().stats().history_ops <= 1);
    assert!(!g
        .copy(0)
        .unwrap()
        .with_engine(|e| e.retains_history_above(0)));
    // One write above the global checkpoint: applied by the primary, held for copy 1.
    g.set_link(1, LinkFault::Delay).unwrap();
    let pending = g.submit(Write::Index {
        id: "x".into(),
        source: source(8),
        condition: Condition::None,
    });
    assert_eq!(g.copy(0).unwrap().global_checkpoint(), 7);

    // Phase 1 copies the primary's 7 documents (the tombstone too) as of its global checkpoint
    // 7; `x` at 8, above it, arrives as the operation that made it.
    let recovery = g.recover_replica(2).unwrap();
    assert_eq!(
        (
            recovery.files,
            recovery.from_local_checkpoint,
            recovery.operations,
            recovery.in_sync
        ),
        (7, 8, 0, true),
        "{recovery:?}"
    );
    g.set_link(1, LinkFault::Deliver).unwrap();
    g.release(1).unwrap();
    assert!(pending.wait().result.is_ok());
    assert_eq!(g.in_sync(), [0, 1, 2]);
    // Identical to the primary; its global checkpoint is the one the primary last sent, as the
    // other replica's (the primary's moved to 8 with the answer for `x`).
    assert_eq!(held(&g, 2).0, held(&g, 0).0);
    assert_eq!(held(&g, 2).1, held(&g, 0).1);
    assert_eq!(held(&g, 2), held(&g, 1));
    assert_eq!(
        docs(&g, 2)
            .iter()
            .find(|(id, ..)| id == "w2")
            .map(|d| d.1.deleted),
        Some(true)
    );

    // In sync: the next write needs it; and copy 2, promoted twice over, rebuilds from the
    // translog the file copy gave it with every document.
    let out = g.index("b", source(9), &Condition::None);
    assert_eq!(out.result.unwrap().shards.successful, 3);
    let before: Vec<_> = docs(&g, 0)
        .into_iter()
        .filter(|(_, meta, _)| !meta.deleted)
        .collect();
    assert_eq!(g.fail_primary().unwrap().promoted, 1);
    assert_eq!(g.fail_primary().unwrap().promoted, 2);
    let after: Vec<_> = docs(&g, 2)
        .into_iter()
        .filter(|(_, meta, _)| !meta.deleted)
        .collect();
    assert_eq!(after, before);
}

#[test]
fn a_failover_during_a_recovery_fails_the_recovering_copy_which_can_recover_again() {
    let g = group();
    index(&g, "a", 0);
    g.fail_replica(2).unwrap();
    g.set_link(2, LinkFault::Delay).unwrap();
    assert!(!g.recover_replica(2).unwrap().in_sync);
    g.fail_primary().unwrap(); // the recovery source is gone
    assert_eq!(g.copy(2).unwrap().role(), Role::Failed);
    g.set_link(2, LinkFault::Deliver).unwrap();
    g.release(2).unwrap(); // the old recovery request reaches a failed copy: refused
    let again = g.recover_replica(2).unwrap();
    assert!(again.in_sync, "{again:?}");
    assert_eq!(g.in_sync(), [1, 2]);
    assert_eq!(docs(&g, 2), docs(&g, 1));
}
