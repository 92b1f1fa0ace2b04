//! esocc: Elasticsearch's optimistic concurrency control, made runnable and provable.
//!
//! The crate has one set of rules and three forms that share it:
//!
//! * [`protocol`]: pure functions, one per decision the protocol makes (is this write a conflict,
//!   which `_version` comes next, is this replicated operation stale, is this term too old, how far
//!   does the checkpoint advance). Nothing else in the crate re-implements a rule.
//! * [`engine`]: a lock-free in-memory shard copy that calls `protocol` on every write.
//! * [`model`]: stateright models that call the same `protocol` functions and are checked
//!   exhaustively against the invariants in `docs/invariants.md`.
//!
//! * [`rest`]: an Elasticsearch-compatible REST API over the engine (`esocc serve`).
//! * [`script`]: the Painless subset that update scripts run in (pure).
//! * [`search`]: the query DSL subset over refreshed views and the order of hits (pure).
//!
//! * [`torture`]: `esocc torture`, a Jepsen-style harness and history checker for any
//!   Elasticsearch-compatible endpoint.
//!
//! [`spec`] is the sequential specification (a compare-and-set register per document) that the
//! linearizability checks of the models and tests compare histories against.

pub mod engine;
#[cfg(not(esocc_loom))] // the model explorer's server, on `model` and axum
pub mod explorer;
#[cfg(not(esocc_loom))] // stateright does not build under loom's cfgs (see Cargo.toml)
pub mod model;
pub mod protocol;
#[cfg(not(esocc_loom))] // a server makes no sense inside loom models
pub mod rest;
pub mod script;
pub mod search;
#[cfg(not(esocc_loom))]
pub mod spec;
#[cfg(not(esocc_loom))] // an HTTP harness, like `rest`
pub mod torture;
