//! The one switch between the standard library and loom.
//!
//! Everything else in the engine takes its atomics, its spin hints, its epoch-based reclamation
//! and its id → slot map from here and never names `std::sync::atomic` or `loom`. Build with
//! `RUSTFLAGS="--cfg esocc_loom --cfg crossbeam_loom --cfg crossbeam_sanitize"` to get the loom
//! side (a crate-specific name: a plain `--cfg loom` would also switch tokio into loom mode):
//!
//! * atomics and `yield_now` come from loom, so every interleaving of them is explored;
//! * crossbeam-epoch (its `loom` feature, switched on by `crossbeam_loom`) runs on loom's atomics,
//!   and `crossbeam_sanitize` makes it collect garbage eagerly, so a version freed too early is
//!   actually freed inside the model;
//! * [`ReclaimProbe`] turns "a reader touched a freed version" into a loom causality error;
//! * [`IdMap`] is a `loom::sync::Mutex<HashMap>` stand-in for the production papaya map. The map
//!   is insert-once and makes no concurrency decision, so swapping it does not change what loom
//!   checks: every decision is a compare-and-swap on a document slot.

#[cfg(esocc_loom)]
pub(crate) use loom::{
    hint::spin_loop,
    sync::atomic::{AtomicI64, AtomicPtr, AtomicU64, Ordering},
    thread::yield_now,
};
#[cfg(not(esocc_loom))]
pub(crate) use std::{
    hint::spin_loop,
    sync::atomic::{AtomicI64, AtomicPtr, AtomicU64, Ordering},
    thread::yield_now,
};

pub(crate) use crossbeam_epoch as epoch;

/// Give up the processor inside a wait loop (loom needs the yield to see progress).
pub(crate) fn backoff() {
    spin_loop();
    yield_now();
}

/// Test aid for crossbeam-epoch under loom: without `crossbeam_sanitize` a retired version sits
/// in the writer's thread-local bag until the collector is torn down, so a premature free could
/// never be observed. With it, push the bag to the global queue right after retiring, so a later
/// `epoch::pin().flush()` on any thread (the loom tests do this) can advance the epoch and run
/// the destructor inside the model. A no-op in production.
pub(crate) fn flush_retired(guard: &epoch::Guard) {
    #[cfg(crossbeam_sanitize)]
    guard.flush();
    #[cfg(not(crossbeam_sanitize))]
    let _ = guard;
}

/// Detects use after free of a document version under loom: the destructor writes the cell,
/// every reader reads it, so a reader racing with the free is a causality violation. Zero-sized
/// and free in production.
#[cfg(esocc_loom)]
pub(crate) struct ReclaimProbe(loom::cell::UnsafeCell<bool>);

#[cfg(esocc_loom)]
impl ReclaimProbe {
    pub(crate) fn new() -> Self {
        ReclaimProbe(loom::cell::UnsafeCell::new(true))
    }

    pub(crate) fn check(&self) {
        // SAFETY: loom's cell checks this read against the destructor's write.
        let alive = self.0.with(|p| unsafe { *p });
        assert!(alive, "read a document version after it was freed");
    }
}

#[cfg(esocc_loom)]
impl Drop for ReclaimProbe {
    fn drop(&mut self) {
        // SAFETY: loom's cell checks this write against concurrent readers.
        self.0.with_mut(|p| unsafe { *p = false });
    }
}

#[cfg(not(esocc_loom))]
pub(crate) struct ReclaimProbe;

#[cfg(not(esocc_loom))]
impl ReclaimProbe {
    pub(crate) fn new() -> Self {
        ReclaimProbe
    }

    #[inline(always)]
    pub(crate) fn check(&self) {}
}

/// The id → slot index: insert-once, never removed while the shard copy lives (deletes are
/// tombstone versions inside the slot). Production: papaya's lock-free map.
#[cfg(not(esocc_loom))]
pub(crate) struct IdMap<V> {
    inner: papaya::HashMap<String, V>,
}

#[cfg(not(esocc_loom))]
impl<V> IdMap<V> {
    pub(crate) fn new() -> Self {
        IdMap {
            inner: papaya::HashMap::builder()
                .resize_mode(papaya::ResizeMode::Blocking)
                .build(),
        }
    }

    /// Run `f` on the value for `id`, if there is one.
    pub(crate) fn get<R>(&self, id: &str, f: impl FnOnce(&V) -> R) -> Option<R> {
        self.inner.pin().get(id).map(f)
    }

    /// Run `f` on the value for `id`, inserting `new()` first if there is none.
    pub(crate) fn get_or_insert<R>(
        &self,
        id: &str,
        new: impl FnOnce() -> V,
        f: impl FnOnce(&V) -> R,
    ) -> R {
        let map = self.inner.pin();
        match map.get(id) {
            Some(value) => f(value),
            None => f(map.get_or_insert_with(id.to_owned(), new)),
        }
    }

    /// Visit every entry (no particular order).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&str, &V)) {
        for (id, value) in self.inner.pin().iter() {
            f(id, value);
        }
    }
}

/// The id → slot index under loom: a mutex-guarded map of shared slots, visible to loom.
#[cfg(esocc_loom)]
pub(crate) struct IdMap<V> {
    inner: loom::sync::Mutex<std::collections::HashMap<String, loom::sync::Arc<V>>>,
}

#[cfg(esocc_loom)]
impl<V> IdMap<V> {
    pub(crate) fn new() -> Self {
        IdMap {
            inner: loom::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    pub(crate) fn get<R>(&self, id: &str, f: impl FnOnce(&V) -> R) -> Option<R> {
        let value = self.inner.lock().unwrap().get(id).cloned();
        value.map(|v| f(&v))
    }

    pub(crate) fn get_or_insert<R>(
        &self,
        id: &str,
        new: impl FnOnce() -> V,
        f: impl FnOnce(&V) -> R,
    ) -> R {
        let value = self
            .inner
            .lock()
            .unwrap()
            .entry(id.to_owned())
            .or_insert_with(|| loom::sync::Arc::new(new()))
            .clone();
        f(&value)
    }

    pub(crate) fn for_each(&self, mut f: impl FnMut(&str, &V)) {
        let entries: Vec<_> = self
            .inner
            .lock()
            .unwrap()
            .iter()
            .map(|(id, v)| (id.clone(), v.clone()))
            .collect();
        for (id, value) in entries {
            f(&id, &value);
        }
    }
}
