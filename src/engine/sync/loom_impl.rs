//! The loom half of the shim (see the module above): loom's atomics, `Arc`, mutex and condition
//! variable, a mutex-guarded map, and a reclamation probe loom checks.

pub(crate) use loom::{
    hint::spin_loop,
    sync::{
        atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering},
        Arc, MutexGuard,
    },
    thread::yield_now,
};

/// What [`super::Mutex`] and [`super::Condvar`] wrap.
pub(super) mod inner {
    pub(crate) use loom::sync::{Condvar, Mutex};
    pub(crate) use std::sync::{PoisonError, TryLockError};
}

/// Detects use after free of a document version: the destructor writes the cell, every reader
/// reads it, so a reader racing with the free is a causality violation.
pub(crate) struct ReclaimProbe(loom::cell::UnsafeCell<bool>);

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

impl Drop for ReclaimProbe {
    fn drop(&mut self) {
        // SAFETY: loom's cell checks this write against concurrent readers.
        self.0.with_mut(|p| unsafe { *p = false });
    }
}

type Entries<V> = std::collections::HashMap<std::sync::Arc<str>, Arc<V>>;

/// The id → slot index under loom: a mutex-guarded map of shared slots, visible to loom.
pub(crate) struct IdMap<V> {
    inner: super::Mutex<Entries<V>>,
}

impl<V> IdMap<V> {
    pub(crate) fn new() -> Self {
        IdMap {
            inner: super::Mutex::new(Entries::new()),
        }
    }

    pub(crate) fn get<R>(&self, id: &str, f: impl FnOnce(&V) -> R) -> Option<R> {
        let value = self.inner.lock().get(id).cloned();
        value.map(|v| f(&v))
    }

    pub(crate) fn get_or_insert<R>(
        &self,
        id: &str,
        new: impl FnOnce(&std::sync::Arc<str>) -> V,
        f: impl FnOnce(&V) -> R,
    ) -> R {
        let key: std::sync::Arc<str> = std::sync::Arc::from(id);
        let value = self
            .inner
            .lock()
            .entry(key.clone())
            .or_insert_with(|| Arc::new(new(&key)))
            .clone();
        f(&value)
    }

    pub(crate) fn remove_exact(&self, id: &str, value: &V) {
        let mut entries = self.inner.lock();
        if entries.get(id).is_some_and(|v| std::ptr::eq(&**v, value)) {
            entries.remove(id);
        }
    }

    pub(crate) fn for_each(&self, mut f: impl FnMut(&str, &V)) {
        let entries: Vec<_> = self
            .inner
            .lock()
            .iter()
            .map(|(id, v)| (id.clone(), v.clone()))
            .collect();
        for (id, value) in entries {
            f(&id, &value);
        }
    }
}
