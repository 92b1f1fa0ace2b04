//! A copy's engine behind a swappable pointer, so the copy can roll back to its global checkpoint
//! or rebuild itself at promotion by building a new engine and switching to it, as
//! Elasticsearch's `resetEngineToGlobalCheckpoint` does.
//!
//! Each engine generation has a gate: a delivery enters it (a counter) before its term check and
//! leaves after applying. A rebuild seals the gate (one bit in the same word as the counter, so
//! entering and sealing cannot miss each other), waits for the deliveries inside to leave,
//! snapshots the translog and publishes the next generation. A delivery that finds the gate
//! sealed backs off until the next generation is published. That wait, while a copy adopts a new
//! primary term, is the only one on the replica path; Elasticsearch blocks every operation
//! permit at the same moment. Everything else (the term check, the applies, the checkpoint) is
//! the engine's lock-free path.

use crate::engine::sync::{backoff, epoch, flush_retired, AtomicU64, Ordering};
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

    /// Close the gate and wait until every delivery inside has left. `false` when another
    /// caller sealed it first (that caller rebuilds; this one retries on the next generation).
    pub(crate) fn seal(&self) -> bool {
        if self.gate.fetch_or(SEALED, Ordering::AcqRel) & SEALED != 0 {
            return false;
        }
        while self.gate.load(Ordering::Acquire) != SEALED {
            backoff();
        }
        true
    }
}

/// A delivery inside a generation's gate; leaving is dropping it.
pub(crate) struct Entered<'g> {
    pub(crate) generation: &'g Generation,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.generation.gate.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The current engine generation of a copy.
pub(crate) struct EngineCell {
    current: epoch::Atomic<Generation>,
}

impl EngineCell {
    pub(crate) fn new(engine: ShardCopy) -> Self {
        EngineCell {
            current: epoch::Atomic::new(Generation::new(engine)),
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

    /// Enter the current generation's gate, or back off and retry while it is sealed.
    pub(crate) fn enter<'g>(&self, guard: &'g epoch::Guard) -> Entered<'g> {
        loop {
            let generation = self.load(guard);
            if generation.gate.fetch_add(1, Ordering::AcqRel) & SEALED == 0 {
                return Entered { generation };
            }
            generation.gate.fetch_sub(1, Ordering::AcqRel);
            backoff();
        }
    }

    /// Publish `next` in place of the generation the caller sealed.
    pub(crate) fn replace(&self, next: ShardCopy, guard: &epoch::Guard) {
        let old = self.current.swap(
            epoch::Owned::new(Generation::new(next)),
            Ordering::AcqRel,
            guard,
        );
        // SAFETY: `old` is unlinked; guards that still hold it keep it alive.
        unsafe { guard.defer_destroy(old) };
        flush_retired(guard);
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
