//! A copy's engine behind a swappable pointer, so the copy can roll back to its global checkpoint
//! or rebuild itself at promotion by building a new engine and switching to it, as
//! Elasticsearch's `resetEngineToGlobalCheckpoint` does.
//!
//! Each engine generation has a gate: a delivery enters it (a counter) before its term check and
//! leaves after applying. A rebuild seals the gate (one bit in the same word as the counter, so
//! entering and sealing cannot miss each other), waits for the deliveries inside to leave,
//! rebuilds and publishes the next generation. A delivery that finds the gate sealed waits for
//! the next generation. Both waits block on the cell's condition variable; nobody spins. The
//! delivery that leaves a sealed gate last, a publication and an abandoned rebuild notify it.
//! Notifiers take the cell's mutex after changing the gate word or the pointer and waiters
//! re-check under it, so no wake-up is lost.
//!
//! The waits happen only while a copy adopts a new primary term, when Elasticsearch blocks every
//! operation permit too. Entering and leaving an open gate is one atomic add each; the term
//! check, the applies and the checkpoint are the engine's lock-free path.

use crate::engine::sync::{epoch, flush_retired, AtomicU64, Condvar, Mutex, Ordering};
use crate::engine::ShardCopy;

/// The gate bit that closes a generation to new deliveries.
const SEALED: u64 = 1 << 63;

/// One engine of a copy, with the gate deliveries pass through.
pub(crate) struct Generation {
    pub(crate) engine: ShardCopy,
    gate: AtomicU64,
}

impl Generation {
    fn new(engine: ShardCopy) -> Self {
        Generation {
            engine,
            gate: AtomicU64::new(0),
        }
    }
}

/// A delivery inside a generation's gate; leaving is dropping it.
pub(crate) struct Entered<'g> {
    pub(crate) generation: &'g Generation,
    cell: &'g EngineCell,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.cell.leave(self.generation);
    }
}

/// A generation sealed with nobody inside: the holder rebuilds and then [`Sealed::publish`]es the
/// next one. Dropping it unpublished abandons the copy: the cell closes and its waiters return.
pub(crate) struct Sealed<'g> {
    pub(crate) generation: &'g Generation,
    cell: &'g EngineCell,
    guard: &'g epoch::Guard,
    published: bool,
}

impl Sealed<'_> {
    /// Publish `next` in place of the sealed generation and wake every waiter.
    pub(crate) fn publish(mut self, next: ShardCopy) {
        let old = self.cell.current.swap(
            epoch::Owned::new(Generation::new(next)),
            Ordering::AcqRel,
            self.guard,
        );
        // SAFETY: `old` is unlinked; guards that still hold it keep it alive.
        unsafe { self.guard.defer_destroy(old) };
        flush_retired(self.guard);
        self.published = true;
        self.cell.notify();
    }
}

impl Drop for Sealed<'_> {
    fn drop(&mut self) {
        if !self.published {
            *self.cell.closed.lock() = true;
            self.cell.changed.notify_all();
        }
    }
}

/// The current engine generation of a copy.
pub(crate) struct EngineCell {
    current: epoch::Atomic<Generation>,
    /// Set when a rebuild was abandoned (the copy failed): nothing will be published again.
    closed: Mutex<bool>,
    /// Notified when a sealed gate empties, a generation is published or the cell closes.
    changed: Condvar,
}

impl EngineCell {
    pub(crate) fn new(engine: ShardCopy) -> Self {
        EngineCell {
            current: epoch::Atomic::new(Generation::new(engine)),
            closed: Mutex::new(false),
            changed: Condvar::new(),
        }
    }

    /// The current generation, for the primary's writes and for reads (no gate: a primary's
    /// engine is never rebuilt).
    pub(crate) fn load<'g>(&self, guard: &'g epoch::Guard) -> &'g Generation {
        let current = self.current.load(Ordering::Acquire, guard);
        // SAFETY: never null (set in `new`, swapped for non-null values only); a replaced
        // generation is destroyed through the epoch, after every guard that could see it.
        unsafe { current.deref() }
    }

    /// Enter the current generation's gate, waiting while it is sealed. `None` once the cell
    /// is closed.
    pub(crate) fn enter<'g>(&'g self, guard: &'g epoch::Guard) -> Option<Entered<'g>> {
        loop {
            let generation = self.load(guard);
            if generation.gate.fetch_add(1, Ordering::AcqRel) & SEALED == 0 {
                return Some(Entered {
                    generation,
                    cell: self,
                });
            }
            self.leave(generation);
            if !self.wait_past(generation, guard) {
                return None;
            }
        }
    }

    /// Seal `generation` and wait until every delivery inside has left. `None` when another
    /// caller sealed it first: that caller rebuilds, and this one waits for what it publishes
    /// ([`EngineCell::wait_past`]).
    pub(crate) fn seal<'g>(
        &'g self,
        generation: &'g Generation,
        guard: &'g epoch::Guard,
    ) -> Option<Sealed<'g>> {
        if generation.gate.fetch_or(SEALED, Ordering::AcqRel) & SEALED != 0 {
            return None;
        }
        let mut closed = self.closed.lock();
        while generation.gate.load(Ordering::Acquire) != SEALED {
            closed = self.changed.wait(closed);
        }
        drop(closed);
        Some(Sealed {
            generation,
            cell: self,
            guard,
            published: false,
        })
    }

    /// Wait until `generation` is no longer current. `false` when the cell closed instead.
    pub(crate) fn wait_past(&self, generation: &Generation, guard: &epoch::Guard) -> bool {
        let mut closed = self.closed.lock();
        loop {
            if *closed {
                return false;
            }
            if !std::ptr::eq(self.load(guard), generation) {
                return true;
            }
            closed = self.changed.wait(closed);
        }
    }

    /// Leave `generation`'s gate; the last delivery out of a sealed gate wakes its sealer.
    fn leave(&self, generation: &Generation) {
        if generation.gate.fetch_sub(1, Ordering::AcqRel) == SEALED + 1 {
            self.notify();
        }
    }

    /// Wake the waiters after a change they re-check under the mutex.
    fn notify(&self) {
        drop(self.closed.lock());
        self.changed.notify_all();
    }
}

impl Drop for EngineCell {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: nothing else can reach the generation any more.
        unsafe {
            let guard = epoch::unprotected();
            drop(self.current.load(Ordering::Relaxed, guard).into_owned());
        }
    }
}
