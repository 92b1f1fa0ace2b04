//! loom model of tombstone pruning (`slot.rs`, `ShardCopy::release_through`): a write racing
//! the prune of the tombstone it replaces.

use std::collections::BTreeSet;
use std::sync::{Arc as StdArc, Mutex as StdMutex};
use std::time::Duration;

use loom::sync::Arc;
use serde_json::{json, Value};

use super::model;
use crate::engine::{CopyOptions, ShardCopy, ShardId, Source};
use crate::protocol::Condition;

fn source(n: i64) -> Source {
    match json!({ "n": n }) {
        Value::Object(map) => StdArc::new(map.into()),
        _ => unreachable!(),
    }
}

/// `d` is indexed and deleted; then one thread releases the history through the delete (with
/// `gc_deletes` 0 this prunes the tombstone: the slot is tagged dead and leaves the id map)
/// while another indexes `d` again. Whatever the interleaving, the write is acknowledged and is
/// the document afterwards, the copy holds `d` once, and the checkpoint reaches the max
/// `_seq_no` (a swap lost to the prune burns its `_seq_no` as a no-op).
///
/// Catches: a write that does not check for a dead slot (seeded by removing the `is_dead` check
/// in `ShardCopy::write`: its swap against the tagged pointer succeeds on the slot the prune
/// already removed from the map, and the acknowledged write is gone; failed with "the
/// acknowledged write is the document"). Both orders are asserted to occur: the write on the
/// tombstone (`_version` 3) and on a fresh slot after the prune (`_version` 1). Preemption
/// bound 2.
#[test]
fn a_write_racing_the_prune_of_its_tombstone_is_never_lost() {
    // Outside the model: the `_version`s the write got, over every explored interleaving.
    static VERSIONS: StdMutex<BTreeSet<i64>> = StdMutex::new(BTreeSet::new());
    model(Some(2), || {
        let options = CopyOptions {
            keep_history: true,
            gc_deletes: Duration::ZERO,
            release_step: 1,
            ..CopyOptions::default()
        };
        let copy = Arc::new(ShardCopy::with_options(ShardId::new("i", "u", 0), options));
        copy.index("d", source(1), &Condition::None);
        copy.delete("d", &Condition::None);
        let pruner = {
            let copy = copy.clone();
            loom::thread::spawn(move || copy.release_through(1))
        };
        let written = copy.index("d", source(2), &Condition::None);
        pruner.join().unwrap();
        let written = written.result.expect("the write is acknowledged");
        let now = copy.get("d");
        assert_eq!(
            (now.seq_no, now.source.and_then(|s| s["n"].as_i64())),
            (Some(written.seq_no), Some(2)),
            "the acknowledged write is the document"
        );
        assert_eq!(copy.documents().len(), 1);
        assert_eq!(copy.local_checkpoint(), copy.max_seq_no());
        VERSIONS.lock().unwrap().insert(written.version);
    });
    let versions = VERSIONS.lock().unwrap().clone();
    assert_eq!(
        versions,
        BTreeSet::from([1, 3]),
        "both orders were explored"
    );
}
