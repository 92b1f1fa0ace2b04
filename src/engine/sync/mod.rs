//! The one switch between the standard library and loom, laid out like tokio's `src/loom/`:
//! [`std_impl`] and [`loom_impl`] export the same names, and everything else in the engine takes
//! its atomics, `Arc`, `Mutex`, `Condvar`, epoch reclamation, id → slot map and checkpoint window
//! from here. No other engine file names `std::sync::{atomic, Mutex, Condvar}` or `loom`.
//!
//! Build with `RUSTFLAGS="--cfg esocc_loom --cfg crossbeam_loom --cfg crossbeam_sanitize"` to get
//! the loom half (a crate-specific name: a plain `--cfg loom` would also switch tokio into loom
//! mode):
//!
//! * atomics, `Arc`, `Mutex`, `Condvar` and `yield_now` come from loom, so every interleaving of
//!   them is explored, and a thread blocked on a `Condvar` nobody will notify is a deadlock loom
//!   reports;
//! * crossbeam-epoch (its `loom` feature, switched on by `crossbeam_loom`) runs on loom's atomics,
//!   and `crossbeam_sanitize` makes it collect garbage eagerly, so a version freed too early is
//!   actually freed inside the model;
//! * [`ReclaimProbe`] turns "a reader touched a freed version" into a loom causality error;
//! * [`IdMap`] is a mutex-guarded `HashMap` stand-in for the production papaya map; every
//!   decision the engine makes is a compare-and-swap on a document slot, never the map's.
//!
//! [`Mutex`] does not poison: a panic while it is held leaves the data as the panicking thread
//! left it (every critical section in the engine keeps its data consistent at each step), as
//! `parking_lot` and tokio's shim do. This is the one place that says so.

#[cfg(esocc_loom)]
mod loom_impl;
#[cfg(not(esocc_loom))]
mod std_impl;

#[cfg(esocc_loom)]
pub(crate) use loom_impl::*;
#[cfg(not(esocc_loom))]
pub(crate) use std_impl::*;

pub(crate) use crossbeam_epoch as epoch;
pub(crate) use crossbeam_utils::CachePadded;

/// Give up the processor inside a wait loop (loom needs the yield to see progress). Only the
/// checkpoint window's back-pressure waits this way (`seqno.rs`); everything else that waits
/// blocks on a [`Condvar`].
pub(crate) fn backoff() {
    spin_loop();
    yield_now();
}

/// Test aid for crossbeam-epoch under loom: without `crossbeam_sanitize` a retired object sits
/// in the retiring thread's bag until the collector is torn down, so a premature free could
/// never be observed. With it, push the bag to the global queue right after retiring, so a later
/// `epoch::pin().flush()` on any thread (the loom tests do this) can advance the epoch and run
/// the destructor inside the model. A no-op in production.
pub(crate) fn flush_retired(guard: &epoch::Guard) {
    #[cfg(crossbeam_sanitize)]
    guard.flush();
    #[cfg(not(crossbeam_sanitize))]
    let _ = guard;
}

/// A mutex that does not poison (see the module doc). `lock` and `try_lock` hand out the
/// half's own guard type, which [`Condvar::wait`] takes back.
pub(crate) struct Mutex<T>(inner::Mutex<T>);

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Mutex(inner::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(inner::PoisonError::into_inner)
    }

    /// The lock if nobody holds it (control-plane work that can be skipped when busy).
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        match self.0.try_lock() {
            Ok(guard) => Some(guard),
            Err(inner::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(inner::TryLockError::WouldBlock) => None,
        }
    }
}

/// A condition variable for [`Mutex`]; waiting never reports poisoning either.
pub(crate) struct Condvar(inner::Condvar);

impl Condvar {
    pub(crate) fn new() -> Self {
        Condvar(inner::Condvar::new())
    }

    /// Release `guard`, block until notified, take the lock back. Wake-ups may be spurious:
    /// callers re-check their condition in a loop.
    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0
            .wait(guard)
            .unwrap_or_else(inner::PoisonError::into_inner)
    }

    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}

/// How many `_seq_no`s may be in flight above a copy's local checkpoint by default: 16 384 in
/// production, 4 under loom (so a model's ring wraps after a few operations).
pub(crate) const CHECKPOINT_WINDOW: usize = if cfg!(esocc_loom) { 4 } else { 1 << 14 };
