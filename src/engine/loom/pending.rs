//! loom model of a write waiting for its replicas (`group/pending.rs`): the acknowledgement
//! waits for every copy in the in-sync set, while a replica it waits for fails.

use std::sync::Arc as StdArc;

use loom::sync::Arc;
use serde_json::{json, Value};

use super::model;
use crate::engine::{LinkFault, ShardGroup, ShardId, Source, Write};
use crate::protocol::Condition;

fn source() -> Source {
    match json!({ "n": 1 }) {
        Value::Object(map) => StdArc::new(map.into()),
        _ => unreachable!(),
    }
}

/// A primary and two replicas; replica 1's link holds the write while replica 2 applies it at
/// once. Then, racing: one thread releases replica 1's link, another fails replica 1, and the
/// client blocks in `PendingWrite::wait`. Whatever the interleaving, the write concludes
/// (loom reports a client blocked forever as a deadlock), it is acknowledged, and its
/// `_shards` tell the truth: `successful` 3 exactly when replica 1 holds the document, otherwise
/// 2 with `failed` 1, and replica 1 is out of the in-sync set.
///
/// Catches: a lost wake-up in `PendingWrite::wait` (seeded by checking `concluded` under one
/// lock and waiting under another: the conclusion lands in between and the client sleeps
/// forever; failed with "deadlock"), and concluding before every target answered (seeded as
/// `awaiting <= 1` in `WriteState::record`; failed with "the write waits for replica 1": it was
/// concluded when replica 2 answered).
/// Preemption bound 1.
#[test]
fn an_acknowledgement_waits_for_every_in_sync_copy_while_one_fails() {
    model(Some(1), || {
        let group = Arc::new(ShardGroup::new(ShardId::new("i", "u", 0), 2, 2));
        group.set_link(1, LinkFault::Delay).unwrap();
        let pending = group.submit(Write::Index {
            id: "d".into(),
            source: source(),
            condition: Condition::None,
        });
        assert!(!pending.is_done(), "the write waits for replica 1");
        let releaser = {
            let group = group.clone();
            loom::thread::spawn(move || group.release(1).unwrap())
        };
        let failer = {
            let group = group.clone();
            loom::thread::spawn(move || group.fail_replica(1).unwrap())
        };
        let outcome = pending.wait();
        releaser.join().unwrap();
        failer.join().unwrap();
        let response = outcome.result.expect("acknowledged");
        let on_replica = group
            .copy(1)
            .unwrap()
            .with_engine(|e| e.doc_meta("d").is_some());
        let shards = response.shards;
        assert_eq!(shards.total, 3);
        match on_replica {
            true => assert_eq!((shards.successful, shards.failed), (3, 0)),
            false => assert_eq!((shards.successful, shards.failed), (2, 1)),
        }
        assert_eq!(group.in_sync(), vec![0, 2]);
    });
}
