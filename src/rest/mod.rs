//! An Elasticsearch-compatible REST API over the engine: `esocc serve`.
//!
//! Elasticsearch 8's paths, parameters, status codes and bodies for the document API (index,
//! create, get, delete, update, bulk) and the little index management around it, so that curl or
//! an official client sees the engine's optimistic concurrency control exactly as on
//! Elasticsearch. Every concurrency decision is made by [`crate::protocol`] (validation) and the
//! engine (conflicts, versions); this module only speaks HTTP. See `docs/rest.md`.
//!
//! The line: [`crate::protocol`] and [`crate::engine`] answer with typed results and typed errors
//! that carry Elasticsearch's exception type and reason text, and nothing HTTP. Every HTTP shape
//! of those answers is here, once: the status codes ([`status`]), the error envelope
//! ([`envelope`]), an engine error's metadata and causes ([`exception`]) and the write and get
//! bodies ([`responses`]), and the bodies of esocc's own fault endpoints ([`group_reports`]).
//!
//! | module | what it does |
//! | --- | --- |
//! | [`args`] | `esocc serve`'s arguments and the blocking [`serve`] entry point |
//! | [`server`] | the router and what Elasticsearch's `RestController` adds around handlers |
//! | [`connections`] | accepting and serving connections: cap, timeouts, `TCP_NODELAY`, draining |
//! | [`breaker`] | circuit breakers: the memory requests hold and will leave behind (429) |
//! | [`limits`] | values and machine-dependent defaults of the limit flags |
//! | [`strict_json`] | sources parsed as Elasticsearch does: duplicate keys, field names, depth |
//! | [`handlers`] | one module per family of endpoints |
//! | [`params`] | query parameters: typed readers and the unrecognized-parameter check |
//! | [`suggest`] | "did you mean" suggestions for unknown parameters and body fields |
//! | [`envelope`] | Elasticsearch's exception envelope (`root_cause`, metadata, `caused_by`, `status`) |
//! | [`error`] | error answers: exceptions in the envelope and the plain bodies |
//! | [`exception`] | the engine's errors as Elasticsearch's exceptions (metadata, causes) |
//! | [`status`] | the HTTP status of every protocol and engine answer |
//! | [`responses`] | the bodies of writes and gets in Elasticsearch 8's field order |
//! | [`group_reports`] | the bodies of the `/_esocc` fault endpoints: the shard group's reports |
//! | [`json`] | JSON replies, `?pretty` as Elasticsearch lays it out |
//! | [`registry`] | indices: settings and shards, auto-creation |
//! | [`index_name`] | index name validation texts |
//! | [`ingest_and_aliases`] | `pipeline` and `require_alias`: esocc has neither pipelines nor aliases |
//! | [`autoid`] | auto-generated ids and uuids |
//! | [`shard`] | a shard: the engine's copies behind one routing slot |
//! | [`bulk_request`] | parsing `_bulk` NDJSON |
//! | [`source_filter`] | `_source` filtering of GETs, updates and `_mget` |
//! | [`script_request`] | the `script` of a request body |
//! | [`search_request`] | `_search` bodies and parameters: the query DSL, sort, `from`, `size` |
//! | [`wait_for_active`] | the `wait_for_active_shards` pre-check |

pub mod args;
pub mod autoid;
pub mod breaker;
pub mod bulk_request;
pub mod connections;
pub mod envelope;
pub mod error;
pub mod exception;
pub mod group_reports;
pub mod handlers;
pub mod index_expression;
pub mod index_name;
pub mod ingest_and_aliases;
pub mod json;
pub mod limits;
pub mod params;
pub mod registry;
pub mod responses;
pub mod script_request;
pub mod search_request;
pub mod server;
pub mod shard;
pub mod source_filter;
pub mod status;
pub mod strict_json;
pub mod suggest;
pub mod wait_for_active;

pub use args::{serve, ServeArgs, ServeOptions};
pub use server::RunningServer;
