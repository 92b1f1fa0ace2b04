//! Every decision of Elasticsearch's optimistic concurrency and replication protocol, as pure
//! functions.
//!
//! This module is the single home of the rules. The lock-free engine and the stateright models
//! both call these functions and keep no copy of their own, so a bug in a rule shows up in the
//! model checker and in the engine at once. Nothing here touches atomics, threads or I/O.
//!
//! Nor HTTP: the rules answer with typed results and typed errors, each error carrying what
//! Elasticsearch's exception class carries (its snake_case type and its reason text, byte for
//! byte). Which HTTP status an answer gets and how it is written as JSON (the
//! `{"error":{"root_cause":[..],..},"status":N}` envelope, the response bodies) is decided in
//! `rest` (`rest::status`, `rest::envelope`, `rest::exception`, `rest::responses`), never here.
//! The serde derives on ids and conditions are for the catalogue and the models' traces.
//!
//! | module | decides |
//! | --- | --- |
//! | [`active_shards`] | `wait_for_active_shards`: enough active copies to start a write |
//! | [`coordinator`] | the coordinating node: is a write whose primary failed re-routed |
//! | [`ids`] | identity of a change: `_seq_no`, `_primary_term`, `_version`, the sentinels |
//! | [`condition`] | the write conditions a request carries, and the guards clients build from a read |
//! | [`validate`] | request validation with Elasticsearch's texts |
//! | [`primary`] | planning a write on the primary: conflict or the next `_version` and result |
//! | [`update`] | the update API: partial-document merge, noop detection, upsert, retries |
//! | [`routing`] | document → shard (`IndexRouting`, murmur3 as Elasticsearch hashes) |
//! | [`preference`] | realtime read → shard copy (`preference`, `OperationRouting`) |
//! | [`recovery`] | peer recovery of a failed replica: what it is sent, when it is in sync again |
//! | [`replica`] | planning a replicated operation on a replica, and primary-term fencing |
//! | [`checkpoint`] | local and global checkpoints, promotion, resync and trim |
//! | [`recovery`] | ops-based peer recovery: what the primary sends, when a copy is in sync again |
//! | [`error`] | the Elasticsearch errors the rules produce (exception type, reason text) |

pub mod active_shards;
pub mod checkpoint;
pub mod condition;
pub mod coordinator;
pub mod error;
pub mod ids;
pub mod preference;
pub mod primary;
pub mod recovery;
pub mod replica;
pub mod routing;
pub mod update;
pub mod validate;

pub use condition::{Condition, Guard, OpType, VersionType};
pub use error::{
    DocumentMissing, PrimaryDemoted, PrimaryInactive, TermTooOld, ValidationErrors, VersionConflict,
};
pub use ids::{ChangeId, DocMeta, SeqNo, Term, Version};
pub use primary::{plan_as_primary, WriteKind, WritePlan, WriteResult};
pub use replica::{check_operation_term, plan_as_replica, ReplicaOrder, ReplicaPlan, TermCheck};
