//! loom models of the engine's internals, inside the crate so they can reach `pub(crate)` items
//! (the public API's models are in `tests/loom_engine.rs`). Built only under
//! `--cfg esocc_loom` (see `sync/mod.rs`):
//!
//! ```sh
//! RUSTFLAGS="--cfg esocc_loom --cfg crossbeam_loom --cfg crossbeam_sanitize" \
//!   CARGO_TARGET_DIR=target/loom cargo test --release --no-default-features --lib engine::loom
//! ```
//!
//! Every model is bounded by preemptions (and loom's branch limit) only, never by time, and
//! runs to completion. Each names the bug it catches; each bug was seeded once and seen to fail.
//!
//! | module | what races |
//! | --- | --- |
//! | `checkpoint` | markers of the local checkpoint ring |
//! | `replica` | deliveries to one replica: one document, a term bump with its rollback |
//! | `pending` | a write's acknowledgement against a replica failure |
//! | `tombstone` | a write against the prune of the tombstone it replaces |
//! | `refresh` | writes against a refresh of the search view (`changed` flags, changed-id stack) |

mod checkpoint;
mod pending;
mod refresh;
mod replica;
mod tombstone;

/// Explore every interleaving with at most `preemption_bound` preemptions (`None`: all).
fn model(preemption_bound: Option<usize>, f: impl Fn() + Send + Sync + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.max_branches = 20_000;
    builder.preemption_bound = preemption_bound;
    builder.check(f);
}
