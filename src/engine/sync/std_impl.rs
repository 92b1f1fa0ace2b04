//! The standard-library half of the shim (see the module above): std's atomics, `Arc`, mutex and
//! condition variable, papaya's lock-free map, and a zero-sized reclamation probe.

pub(crate) use std::{
    hint::spin_loop,
    sync::{
        atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering},
        Arc, MutexGuard,
    },
    thread::yield_now,
};

/// What [`super::Mutex`] and [`super::Condvar`] wrap.
pub(super) mod inner {
    pub(crate) use std::sync::{Condvar, Mutex, PoisonError, TryLockError};
}

/// Detects use after free of a document version under loom; zero-sized and free here.
pub(crate) struct ReclaimProbe;

impl ReclaimProbe {
    pub(crate) fn new() -> Self {
        ReclaimProbe
    }

    #[inline(always)]
    pub(crate) fn check(&self) {}
}

/// The id → slot index: papaya's lock-free map, hashing ids with foldhash (randomly seeded per
/// map, several times cheaper than std's SipHash on short ids; SipHash was the second-largest
/// engine frame of a conditional write's profile after malloc). An entry is removed only when its slot is dead
/// (a pruned tombstone, `slot.rs`), and a dead slot is never written again, so the map still
/// decides nothing: every decision is a compare-and-swap on a slot.
pub(crate) struct IdMap<V> {
    inner: papaya::HashMap<Arc<str>, V, foldhash::fast::RandomState>,
}

impl<V> IdMap<V> {
    pub(crate) fn new() -> Self {
        IdMap {
            inner: papaya::HashMap::builder()
                .hasher(foldhash::fast::RandomState::default())
                .resize_mode(papaya::ResizeMode::Blocking)
                .build(),
        }
    }

    /// Run `f` on the value for `id`, if there is one.
    pub(crate) fn get<R>(&self, id: &str, f: impl FnOnce(&V) -> R) -> Option<R> {
        self.inner.pin().get(id).map(f)
    }

    /// Run `f` on the value for `id`, inserting `new(key)` first if there is none (`key` is the
    /// map's own copy of `id`, which the value may share instead of allocating another).
    pub(crate) fn get_or_insert<R>(
        &self,
        id: &str,
        new: impl FnOnce(&Arc<str>) -> V,
        f: impl FnOnce(&V) -> R,
    ) -> R {
        let map = self.inner.pin();
        match map.get(id) {
            Some(value) => f(value),
            None => {
                let key: Arc<str> = Arc::from(id);
                let value = new(&key);
                f(map.get_or_insert(key, value))
            }
        }
    }

    /// Remove the entry for `id` if it is `value` (the same object, not an equal one).
    pub(crate) fn remove_exact(&self, id: &str, value: &V) {
        let _ = self
            .inner
            .pin()
            .remove_if(id, |_, current| std::ptr::eq(current, value));
    }

    pub(crate) fn for_each(&self, mut f: impl FnMut(&str, &V)) {
        for (id, value) in self.inner.pin().iter() {
            f(id, value);
        }
    }
}
