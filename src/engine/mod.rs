//! The lock-free shard engine: one copy of a shard, Elasticsearch's per-document optimistic
//! concurrency control without locks.
//!
//! | module | what it holds |
//! | --- | --- |
//! | `sync` | the std / loom shim: atomics, `Arc`, `Mutex`, `Condvar`, epoch, the id → slot map |
//! | `seqno` | the `_seq_no` allocator and the lock-free local checkpoint tracker (stamp ring) |
//! | `ticket` | a taken `_seq_no` that must end as the write or as a no-op |
//! | `slot` | per-document slot: atomic pointer to an immutable version, CAS, epoch reclamation |
//! | [`document`] | a stored document: its source and its `_routing` |
//! | [`history`] | operation records (what replicas receive) and the append-only history |
//! | [`shard`] | [`ShardCopy`]: get, index, create, delete on the primary |
//! | [`update`] | the update API: get → transform → conditional write, bounded retries |
//! | [`replica`] | applying replicated operations and no-ops |
//! | [`view`] | the refreshed view search reads, and the ids written since the last refresh |
//! | [`response`] | write and get responses: what a write did, what a get found |
//! | [`error`] | the copy's errors: Elasticsearch's exception types and reason texts |
//! | [`group`] | [`ShardGroup`]: primary + replicas, replication, failover, fault injection |
//!
//! Every decision (conflict, next `_version`, result, stale replica op, term fencing,
//! checkpoint walk, retry bound) is a call into [`crate::protocol`]. The engine adds only what
//! the protocol abstracts away: atomics, memory reclamation and the order of the steps. Its
//! answers are typed values; their HTTP statuses and JSON bodies are [`crate::rest`]'s.
//! `docs/engine.md` walks through the design; `tests/loom_engine.rs` and the crate's `loom`
//! module (under `--cfg esocc_loom`) check its concurrency.

pub mod document;
pub mod error;
pub mod group;
pub mod history;
#[cfg(all(test, esocc_loom))]
mod loom;
pub mod replica;
pub mod response;
pub(crate) mod seqno;
pub mod shard;
mod slot;
pub(crate) mod sync;
mod ticket;
pub mod update;
pub mod view;

pub use document::Document;
pub use error::{EngineError, ErrorKind};
pub use group::{CopyId, Failover, FaultError, LinkFault, PendingWrite, ShardGroup, Write};
pub use history::{OpKind, OpRecord, Source};
pub use replica::ReplicaApplied;
pub use response::{GetResponse, ShardsInfo, WriteResponse};
pub use shard::{CopyOptions, CopyStats, ShardCopy, ShardId, WriteOutcome, DEFAULT_GC_DELETES};
pub use update::{FetchedSource, Translated, UpdateOptions, UpdateRequest};
pub use view::{SearchView, Visible};
