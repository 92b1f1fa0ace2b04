//! loom model of the refreshed view (`view.rs`, `ShardCopy::refresh`): writes racing a refresh
//! through the slot's `changed` flag and the stack of changed ids.

use std::collections::BTreeSet;
use std::sync::{Arc as StdArc, Mutex as StdMutex};

use loom::sync::Arc;
use serde_json::{json, Value};

use super::model;
use crate::engine::{ShardCopy, ShardId, Source};
use crate::protocol::Condition;

fn source(n: i64) -> Source {
    match json!({ "n": n }) {
        Value::Object(map) => StdArc::new(map.into()),
        _ => unreachable!(),
    }
}

fn shown(copy: &ShardCopy) -> Option<i64> {
    copy.search_view().get("d")?.source["n"].as_i64()
}

/// `d` is indexed and refreshed; then one thread indexes `d` twice (the second write may find
/// the flag already set and push nothing) while another refreshes. Whatever the interleaving,
/// a refresh after both shows the last write: no write is lost from every later view.
///
/// Catches: a refresh that clears a slot's flag after loading its version (seeded by moving
/// `clear_changed` after `load` in `ShardCopy::refresh`: a write between the load and the clear
/// finds the flag set, pushes nothing, and no later refresh looks at the slot; failed with "the
/// last write is shown"). The concurrent refresh is asserted to have shown more than one of
/// the versions over the explored interleavings. Preemption bound 2.
#[test]
fn a_write_racing_a_refresh_is_shown_by_the_next_one() {
    static SEEN: StdMutex<BTreeSet<Option<i64>>> = StdMutex::new(BTreeSet::new());
    model(Some(2), || {
        let copy = Arc::new(ShardCopy::new(ShardId::new("i", "u", 0)));
        copy.index("d", source(1), &Condition::None);
        copy.refresh();
        let writer = {
            let copy = copy.clone();
            loom::thread::spawn(move || {
                for n in [2, 3] {
                    assert!(copy.index("d", source(n), &Condition::None).result.is_ok());
                }
            })
        };
        copy.refresh();
        let during = shown(&copy);
        writer.join().unwrap();
        copy.refresh();
        assert_eq!(shown(&copy), Some(3), "the last write is shown");
        SEEN.lock().unwrap().insert(during);
    });
    let seen = SEEN.lock().unwrap().clone();
    assert!(seen.len() > 1, "the refresh raced the writes: {seen:?}");
}
