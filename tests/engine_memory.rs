//! What a shard group releases as its global checkpoint advances: the history below it, the
//! translog folded into its snapshot, and tombstones once `gc_deletes` has elapsed (or not yet,
//! with Elasticsearch's default of 60 s). Scripted and single-threaded; `tests/soak.rs` is the
//! long concurrent run, `src/engine/loom/tombstone.rs` the race of a write with a prune.

use std::sync::Arc;
use std::time::Duration;

use esocc::engine::{CopyOptions, ShardGroup, ShardId, Source, DEFAULT_GC_DELETES};
use esocc::protocol::{Condition, WriteResult};
use serde_json::{json, Value};

fn source(n: i64) -> Source {
    match json!({ "n": n }) {
        Value::Object(map) => Arc::new(map.into()),
        _ => unreachable!(),
    }
}

/// A primary and one replica releasing at every step of the global checkpoint.
fn group(gc_deletes: Duration) -> ShardGroup {
    let options = CopyOptions {
        release_step: 1,
        gc_deletes,
        ..CopyOptions::default()
    };
    ShardGroup::with_options(ShardId::new("i", "u", 0), 1, 1, options)
}

/// Index and delete `d`, then write other documents until every copy's global checkpoint has
/// passed the delete.
fn delete_and_move_on(group: &ShardGroup) {
    group
        .index("d", source(1), &Condition::None)
        .result
        .unwrap();
    group.delete("d", &Condition::None).result.unwrap();
    for n in 0..4 {
        group.index(&format!("e{n}"), source(n), &Condition::None);
    }
    for copy in 0..2 {
        assert!(group.copy(copy).unwrap().global_checkpoint() >= 1);
    }
}

#[test]
fn a_tombstone_is_pruned_once_the_global_checkpoint_passed_it_and_gc_deletes_elapsed() {
    let group = group(Duration::ZERO);
    delete_and_move_on(&group);
    for copy in 0..2 {
        let stats = group.copy(copy).unwrap().stats();
        assert_eq!(
            (stats.docs, stats.deleted),
            (4, 0),
            "copy {copy}: {stats:?}"
        );
    }
    // The tombstone's version is forgotten, as in Elasticsearch after `index.gc_deletes`.
    let again = group
        .index("d", source(2), &Condition::None)
        .result
        .unwrap();
    assert_eq!((again.result, again.version), (WriteResult::Created, 1));
}

#[test]
fn with_the_default_gc_deletes_the_tombstone_stays() {
    assert_eq!(DEFAULT_GC_DELETES, Duration::from_secs(60));
    let group = group(DEFAULT_GC_DELETES);
    delete_and_move_on(&group);
    let stats = group.copy(0).unwrap().stats();
    assert_eq!(
        (stats.deleted, stats.pending_tombstones),
        (1, 1),
        "{stats:?}"
    );
    let again = group
        .index("d", source(2), &Condition::None)
        .result
        .unwrap();
    assert_eq!((again.result, again.version), (WriteResult::Created, 3));
}

#[test]
fn a_promoted_copy_rebuilt_from_its_translog_snapshot_keeps_every_document() {
    let group = group(Duration::ZERO);
    for n in 0..200 {
        let id = format!("d{}", n % 20);
        match n % 7 {
            3 => group.delete(&id, &Condition::None),
            _ => group.index(&id, source(n), &Condition::None),
        };
    }
    let live = |copy| {
        let mut docs = group.copy(copy).unwrap().with_engine(|e| e.documents());
        docs.retain(|(_, meta, _)| !meta.deleted);
        docs
    };
    let before = live(0);
    let replica = group.copy(1).unwrap().stats();
    assert!(
        replica.history_ops <= 4,
        "replica history not released: {replica:?}"
    );
    assert!(
        replica.translog_entries <= 20 + 4,
        "translog not folded: {replica:?}"
    );
    let failover = group.fail_primary().unwrap();
    assert_eq!(failover.promoted, 1);
    assert_eq!(live(1), before);
    let next = group
        .index("d0", source(999), &Condition::None)
        .result
        .unwrap();
    assert_eq!(next.primary_term, 2);
}
