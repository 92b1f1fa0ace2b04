//! The update API on a shard copy: get, transform, conditional write, bounded retry.
//!
//! [`ShardCopy::update_with`] is the loop (Elasticsearch's `TransportUpdateAction` with
//! `UpdateHelper`): read the document, transform its source (the role a script plays), write it
//! back with `if_seq_no`/`if_primary_term` of what was read (or as a create for an upsert), and
//! on a 409 start over, at most `retry_on_conflict + 1` write attempts in all.
//! [`ShardCopy::update`] is the partial-document update built on it (`doc`, `upsert`,
//! `doc_as_upsert`, `detect_noop`). Each form also tells what its last write attempt was
//! ([`Translated`], `UpdateHelper.prepare`'s index request), which is what the coordinating node
//! re-sends when the primary fails mid-update (`group::coordinator`).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::error::ErrorKind;
use super::history::Source;
use super::shard::{ShardCopy, WriteOutcome};
use super::sync::epoch;
use crate::protocol::update::{check_read, is_noop, may_retry, merge, write_condition};
use crate::protocol::{ChangeId, Condition, DocMeta, WriteKind};

/// The write an update translated into on the primary (`UpdateHelper.prepare`): the new source,
/// conditional on the change it was computed from (`if_seq_no` + `if_primary_term`), or a create
/// for an upsert.
#[derive(Clone, Debug, PartialEq)]
pub struct Translated {
    pub source: Source,
    pub condition: Condition,
}

/// A partial-document update (`POST /{index}/_update/{id}`), validated by
/// [`crate::protocol::validate::validate_update`].
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateRequest {
    /// The partial document merged into the source.
    pub doc: Map<String, Value>,
    /// The document to create when none exists.
    pub upsert: Option<Map<String, Value>>,
    /// Create the document from `doc` when none exists.
    pub doc_as_upsert: bool,
    /// Answer `noop` (no write, no `_seq_no`) when the merge changes nothing. Default true.
    pub detect_noop: bool,
    /// How many times to start over after a conflict. Default 0.
    pub retry_on_conflict: u32,
    /// The user's `if_seq_no` + `if_primary_term`.
    pub if_seq_no: Option<ChangeId>,
}

impl UpdateRequest {
    /// An update merging `doc`, with Elasticsearch's defaults for everything else.
    pub fn doc(doc: Map<String, Value>) -> Self {
        UpdateRequest {
            doc,
            upsert: None,
            doc_as_upsert: false,
            detect_noop: true,
            retry_on_conflict: 0,
            if_seq_no: None,
        }
    }
}

/// The parameters of the update loop, whatever the transformation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UpdateOptions {
    pub retry_on_conflict: u32,
    pub if_seq_no: Option<ChangeId>,
    /// The source to create when the document does not exist (none: 404 `document_missing`).
    pub upsert: Option<Source>,
}

impl ShardCopy {
    /// Partial-document update.
    pub fn update(&self, id: &str, request: &UpdateRequest) -> WriteOutcome {
        self.update_translated(id, request).0
    }

    /// [`ShardCopy::update`], and the write its last attempt translated into (none when it
    /// wrote nothing: a noop, a 404, a conflict at the read).
    pub fn update_translated(
        &self,
        id: &str,
        request: &UpdateRequest,
    ) -> (WriteOutcome, Option<Translated>) {
        let upsert = match (&request.upsert, request.doc_as_upsert) {
            (Some(upsert), _) => Some(Arc::new(upsert.clone())),
            (None, true) => Some(Arc::new(request.doc.clone())),
            (None, false) => None,
        };
        let options = UpdateOptions {
            retry_on_conflict: request.retry_on_conflict,
            if_seq_no: request.if_seq_no,
            upsert,
        };
        self.update_with_translated(id, &options, |source| {
            let mut merged = source.clone();
            let modified = merge(&mut merged, &request.doc);
            (!is_noop(request.detect_noop, modified)).then_some(merged)
        })
    }

    /// The update loop with any transformation of the current source; `None` from `transform`
    /// is a noop. `transform` may run once per attempt, so it must not have side effects that
    /// matter (Elasticsearch's scripts may also run more than once).
    pub fn update_with(
        &self,
        id: &str,
        options: &UpdateOptions,
        transform: impl FnMut(&Map<String, Value>) -> Option<Map<String, Value>>,
    ) -> WriteOutcome {
        self.update_with_translated(id, options, transform).0
    }

    /// [`ShardCopy::update_with`], and the write its last attempt translated into.
    pub fn update_with_translated(
        &self,
        id: &str,
        options: &UpdateOptions,
        mut transform: impl FnMut(&Map<String, Value>) -> Option<Map<String, Value>>,
    ) -> (WriteOutcome, Option<Translated>) {
        let mut ops = Vec::new();
        let mut attempts = 0;
        let mut translated = None;
        loop {
            let (meta, source) = self.read_for_update(id);
            let failed = |kind, ops, attempts| WriteOutcome {
                result: Err(self.error(kind)),
                ops,
                attempts,
            };
            let failed =
                |kind, ops, attempts, translated| (failed(kind, ops, attempts), translated);
            if let Some(required) = options.if_seq_no {
                if let Err(conflict) = check_read(meta, required) {
                    let id = id.to_owned();
                    let kind = ErrorKind::Conflict { id, conflict };
                    return failed(kind, ops, attempts, translated);
                }
            }
            let condition = match write_condition(meta, options.upsert.is_some()) {
                Ok(condition) => condition,
                Err(_) => {
                    let id = id.to_owned();
                    return failed(ErrorKind::DocumentMissing { id }, ops, attempts, translated);
                }
            };
            let new_source = match (DocMeta::live(meta), source) {
                (Some(live), Some(source)) => match transform(&source) {
                    Some(updated) => Some(Arc::new(updated)),
                    None => {
                        let noop = WriteOutcome {
                            result: Ok(self.noop_response(id, live)),
                            ops,
                            attempts,
                        };
                        return (noop, None);
                    }
                },
                // `write_condition` only lets a missing document through with an upsert.
                _ => options.upsert.clone(),
            };
            attempts += 1;
            translated = new_source
                .clone()
                .map(|source| Translated { source, condition });
            let outcome = self.write(id, WriteKind::Index, &condition, new_source);
            ops.extend(outcome.ops);
            match outcome.result {
                Err(e)
                    if e.conflict().is_some() && may_retry(attempts, options.retry_on_conflict) => {
                }
                result => {
                    let outcome = WriteOutcome {
                        result,
                        ops,
                        attempts,
                    };
                    return (outcome, translated);
                }
            }
        }
    }

    /// `getForUpdate`: the document's last change and its source.
    fn read_for_update(&self, id: &str) -> (Option<DocMeta>, Option<Source>) {
        let guard = epoch::pin();
        self.docs
            .get(id, |slot| {
                let version = slot.load(&guard).version()?;
                Some((Some(version.meta), version.source.clone()))
            })
            .flatten()
            .unwrap_or((None, None))
    }
}
