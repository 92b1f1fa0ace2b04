//! Per-document slots: an atomic pointer to an immutable version, replaced by compare-and-swap.
//!
//! A version is never modified after it is published; a write builds a new one and swaps it in
//! only if the slot still points at the version the write planned against. The replaced version
//! is handed to crossbeam-epoch, which frees it once no pinned reader can still hold it. An
//! empty slot (null) is a document that was never written; a delete installs a tombstone
//! version, it never empties the slot.
//!
//! A tombstone that every in-sync copy has passed and that is older than `gc_deletes` is pruned
//! by [`DocSlot::kill_tombstone`]: a compare-and-swap that tags the slot's pointer dead. A dead
//! slot is never written again (every swap expects an untagged pointer), so a write that finds
//! it dead, or loses its swap to the kill, removes the slot from the id map and starts over on a
//! fresh one, where the document was never written (Elasticsearch forgets a pruned tombstone's
//! version the same way).

use std::sync::Arc;

use super::history::Source;
use super::sync::{epoch, flush_retired, AtomicBool, Ordering, ReclaimProbe};
use crate::protocol::{DocMeta, SeqNo};

/// One immutable state of a document: its metadata and, unless it is a tombstone, its source.
pub(crate) struct DocVersion {
    pub(crate) meta: DocMeta,
    pub(crate) source: Option<Source>,
    probe: ReclaimProbe,
}

impl DocVersion {
    pub(crate) fn new(meta: DocMeta, source: Option<Source>) -> Self {
        DocVersion {
            meta,
            source: if meta.deleted { None } else { source },
            probe: ReclaimProbe::new(),
        }
    }
}

/// The pointer tag of a dead slot.
const DEAD: usize = 1;

/// A version as loaded from a slot, valid while the guard it was loaded under is pinned.
#[derive(Clone, Copy)]
pub(crate) struct Loaded<'g>(epoch::Shared<'g, DocVersion>);

impl<'g> Loaded<'g> {
    /// The version, `None` for a document that was never written.
    pub(crate) fn version(self) -> Option<&'g DocVersion> {
        // SAFETY: the pointer was loaded under a pinned guard that outlives 'g, and versions are
        // only destroyed through `defer_destroy` after being unlinked.
        let version = unsafe { self.0.as_ref() };
        if let Some(v) = version {
            v.probe.check();
        }
        version
    }

    /// The document's last change as this copy knows it.
    pub(crate) fn meta(self) -> Option<DocMeta> {
        self.version().map(|v| v.meta)
    }

    /// Whether the slot was pruned: writes must go to a fresh slot.
    pub(crate) fn is_dead(self) -> bool {
        self.0.tag() == DEAD
    }
}

/// The slot of one document id.
pub(crate) struct DocSlot {
    /// The id, shared with the id map's key and with every operation written through the slot
    /// (a write clones it rather than allocating a copy).
    id: Arc<str>,
    current: epoch::Atomic<DocVersion>,
    /// Written since the last refresh took the slot's id (`view.rs`).
    changed: AtomicBool,
}

impl DocSlot {
    pub(crate) fn new(id: &Arc<str>) -> Self {
        DocSlot {
            id: id.clone(),
            current: epoch::Atomic::null(),
            changed: AtomicBool::new(false),
        }
    }

    pub(crate) fn id(&self) -> &Arc<str> {
        &self.id
    }

    /// Note a write installed after it: true when the id must be pushed for the next refresh
    /// (the flag was clear), false when a push is already pending.
    pub(crate) fn mark_changed(&self) -> bool {
        !self.changed.swap(true, Ordering::AcqRel)
    }

    /// A refresh took the slot's id: writes from now on push it again. Called before the
    /// refresh loads the slot, so a write that found the flag set is one it sees.
    pub(crate) fn clear_changed(&self) {
        self.changed.swap(false, Ordering::AcqRel);
    }

    /// The current version. Acquire pairs with the release of the swap that published it, so
    /// everything its writer did before (including taking its `_seq_no`) is visible.
    pub(crate) fn load<'g>(&self, guard: &'g epoch::Guard) -> Loaded<'g> {
        Loaded(self.current.load(Ordering::Acquire, guard))
    }

    /// Install `new` if the slot still holds `expected`; hand `new` back otherwise. The
    /// replaced version is retired, never freed while a reader may hold it.
    pub(crate) fn replace(
        &self,
        expected: Loaded<'_>,
        new: DocVersion,
        guard: &epoch::Guard,
    ) -> Result<(), DocVersion> {
        match self.current.compare_exchange(
            expected.0,
            epoch::Owned::new(new),
            Ordering::AcqRel,
            Ordering::Acquire,
            guard,
        ) {
            // crossbeam hands back the new pointer on success; the replaced one is `expected`.
            Ok(_installed) => {
                let old = expected.0;
                if !old.is_null() {
                    // SAFETY: `old` is unlinked; readers that still hold it are pinned.
                    unsafe { guard.defer_destroy(old) };
                    flush_retired(guard);
                }
                Ok(())
            }
            Err(failed) => Err(*failed.new.into_box()),
        }
    }

    /// Mark the slot dead if it still holds the tombstone the delete at `seq_no` left. The
    /// tombstone stays in the slot (readers see a deleted document) until the slot is freed.
    pub(crate) fn kill_tombstone(&self, seq_no: SeqNo) -> bool {
        let guard = epoch::pin();
        let current = self.load(&guard);
        let is_it = current
            .meta()
            .is_some_and(|meta| meta.deleted && meta.seq_no == seq_no);
        is_it
            && !current.is_dead()
            && self
                .current
                .compare_exchange(
                    current.0,
                    current.0.with_tag(DEAD),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                    &guard,
                )
                .is_ok()
    }
}

impl Drop for DocSlot {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no reader or writer can reach the slot any more.
        unsafe {
            let guard = epoch::unprotected();
            let current = self.current.load(Ordering::Relaxed, guard).with_tag(0);
            if !current.is_null() {
                drop(current.into_owned());
            }
        }
    }
}
