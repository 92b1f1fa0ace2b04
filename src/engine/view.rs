//! The refreshed view of a shard copy: what search sees, as Lucene's last opened reader is what
//! Elasticsearch searches (`InternalEngine.refresh`), while a realtime GET reads the live slots.
//!
//! A [`SearchView`] is immutable: a refresh builds a new one and publishes it, and a search (or
//! an update-by-query's whole pass) keeps the one it started with. It holds two maps of shared
//! versions, like a shard's segments: a large `base` and a small `delta` of what changed since
//! the base was built (a live version, or `None` for a document deleted since). A refresh copies
//! the delta and applies the documents changed since the last refresh; once the delta outgrows
//! an eighth of the base it is folded into a new base. Sources are never copied, only their
//! `Arc`s, so a refresh costs O(delta + changed documents), and a fold O(documents) amortised
//! over at least an eighth of them changing.
//!
//! Which documents changed is [`ChangedIds`]: a write that finds its slot's `changed` flag clear
//! sets it and pushes the id on a lock-free stack; a refresh takes the whole stack, clears each
//! slot's flag and then loads its current version. A write whose flag was already set needs no
//! push: the refresh that clears the flag loads the slot after it, so it sees that write. The
//! stack thus holds at most one entry per document (however long no refresh runs).
//!
//! Visible difference from Elasticsearch: a refresh shows every write acknowledged before it
//! started, and may show a write to one document that ran concurrently with it while missing a
//! concurrent write to another; a Lucene reader is a point in time of the whole shard.

use std::collections::HashMap;
use std::sync::Arc;

use super::history::Source;
use super::sync::{epoch, Ordering};
use crate::protocol::DocMeta;

/// A live document as the view holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Visible {
    pub meta: DocMeta,
    pub source: Source,
}

/// The documents of a copy as its last refresh saw them.
#[derive(Clone, Debug, Default)]
pub struct SearchView {
    base: Arc<HashMap<Arc<str>, Visible>>,
    delta: Arc<HashMap<Arc<str>, Option<Visible>>>,
    live: usize,
}

impl SearchView {
    /// Live documents.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The document `id` as the view shows it.
    pub fn get(&self, id: &str) -> Option<&Visible> {
        match self.delta.get(id) {
            Some(changed) => changed.as_ref(),
            None => self.base.get(id),
        }
    }

    /// Every live document, in no particular order.
    pub fn docs(&self) -> impl Iterator<Item = (&str, &Visible)> {
        let changed = self
            .delta
            .iter()
            .filter_map(|(id, doc)| Some((&**id, doc.as_ref()?)));
        let unchanged = self
            .base
            .iter()
            .filter(|(id, _)| !self.delta.contains_key(*id))
            .map(|(id, doc)| (&**id, doc));
        changed.chain(unchanged)
    }

    /// The view with `changes` applied (each id's state now: live, or `None` when deleted).
    fn with_changes(&self, changes: Vec<(Arc<str>, Option<Visible>)>) -> SearchView {
        let mut delta = (*self.delta).clone();
        let mut live = self.live;
        for (id, now) in changes {
            let before = self.get(&id).is_some();
            live = live + usize::from(now.is_some()) - usize::from(before);
            if now.is_none() && !self.base.contains_key(&id) {
                delta.remove(&id);
            } else {
                delta.insert(id, now);
            }
        }
        if delta.len() <= self.base.len() / 8 + 64 {
            return SearchView {
                base: self.base.clone(),
                delta: Arc::new(delta),
                live,
            };
        }
        let mut base = (*self.base).clone();
        for (id, now) in delta {
            match now {
                Some(doc) => base.insert(id, doc),
                None => base.remove(&id),
            };
        }
        SearchView {
            base: Arc::new(base),
            delta: Arc::default(),
            live,
        }
    }
}

struct Node {
    id: Arc<str>,
    next: epoch::Atomic<Node>,
}

/// The ids written since the last refresh: a Treiber stack that is only pushed and taken whole.
/// Taking swaps the head out, so no pusher can reach a taken node (pushers never dereference the
/// head they read, which also makes the stack immune to ABA).
pub(crate) struct ChangedIds {
    head: epoch::Atomic<Node>,
}

impl ChangedIds {
    pub(crate) fn new() -> Self {
        ChangedIds {
            head: epoch::Atomic::null(),
        }
    }

    pub(crate) fn push(&self, id: Arc<str>, guard: &epoch::Guard) {
        let mut node = epoch::Owned::new(Node {
            id,
            next: epoch::Atomic::null(),
        });
        loop {
            let head = self.head.load(Ordering::Acquire, guard);
            node.next.store(head, Ordering::Relaxed);
            match self
                .head
                .compare_exchange(head, node, Ordering::AcqRel, Ordering::Acquire, guard)
            {
                Ok(_) => return,
                Err(failed) => node = failed.new,
            }
        }
    }

    /// Every id pushed so far (newest first, possibly repeated), leaving the stack empty.
    pub(crate) fn take(&self, guard: &epoch::Guard) -> Vec<Arc<str>> {
        let mut ids = Vec::new();
        let mut current = self
            .head
            .swap(epoch::Shared::null(), Ordering::AcqRel, guard);
        while !current.is_null() {
            // SAFETY: the swap unlinked the whole list; no other thread can reach its nodes.
            let node = unsafe { current.into_owned() }.into_box();
            current = node.next.load(Ordering::Relaxed, guard);
            ids.push(node.id);
        }
        ids
    }
}

impl Drop for ChangedIds {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: nobody else can reach the stack.
        self.take(unsafe { epoch::unprotected() });
    }
}

/// Build the next view from `current` and the ids taken from [`ChangedIds`]; `now` tells each
/// id's current live state (called after its slot's `changed` flag was cleared).
pub(crate) fn refreshed(
    current: &SearchView,
    ids: Vec<Arc<str>>,
    mut now: impl FnMut(&str) -> Option<Visible>,
) -> SearchView {
    let mut seen = std::collections::HashSet::new();
    let changes: Vec<_> = ids
        .into_iter()
        .filter(|id| seen.insert(id.clone()))
        .map(|id| {
            let state = now(&id);
            (id, state)
        })
        .collect();
    current.with_changes(changes)
}

#[cfg(all(test, not(esocc_loom)))]
mod tests {
    use super::*;
    use serde_json::Map;

    fn doc(seq_no: i64) -> Visible {
        Visible {
            meta: DocMeta {
                seq_no,
                primary_term: 1,
                version: 1,
                deleted: false,
            },
            source: Arc::new(Map::new().into()),
        }
    }

    #[test]
    fn changes_fold_into_the_base_and_deletes_disappear() {
        let mut view = SearchView::default();
        for round in 0..3i64 {
            let ids = (0..200).map(|n| Arc::from(n.to_string())).collect();
            view = refreshed(&view, ids, |id| {
                let n: i64 = id.parse().unwrap();
                (n % 3 != round).then(|| doc(round * 1000 + n))
            });
            let expected = (0..200).filter(|n| n % 3 != round).count();
            assert_eq!(view.len(), expected);
            assert_eq!(view.docs().count(), expected);
            assert_eq!(
                view.get("1").map(|d| d.meta.seq_no),
                (round != 1).then_some(round * 1000 + 1)
            );
        }
        let before = view.clone();
        let after = refreshed(&view, vec![Arc::from("5")], |_| None);
        assert_eq!(
            after.len(),
            before.len() - usize::from(before.get("5").is_some())
        );
        assert!(after.get("5").is_none());
        assert_eq!(before.len(), view.len(), "a published view never changes");
    }

    #[test]
    fn the_stack_hands_out_every_push_once() {
        let ids = ChangedIds::new();
        let guard = epoch::pin();
        for n in 0..5 {
            ids.push(Arc::from(n.to_string()), &guard);
        }
        let taken: Vec<String> = ids.take(&guard).iter().map(|s| s.to_string()).collect();
        assert_eq!(taken, ["4", "3", "2", "1", "0"]);
        assert!(ids.take(&guard).is_empty());
    }
}
