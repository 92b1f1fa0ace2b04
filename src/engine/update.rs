//! The update API on a shard copy: get, transform, conditional write, bounded retry.
//!
//! [`ShardCopy::update_with`] is the loop (Elasticsearch's `TransportUpdateAction` with
//! `UpdateHelper`): read the document, transform its source (the role a script plays), write it
//! back with `if_seq_no`/`if_primary_term` of what was read (or as a create for an upsert), and
//! on a 409 start over, at most `retry_on_conflict + 1` write attempts in all.
//! [`ShardCopy::update`] is the partial-document or scripted update built on it (`doc`, `upsert`,
//! `doc_as_upsert`, `detect_noop`; `script`, `scripted_upsert`, [`crate::script`]); a script's
//! `ctx.op = 'delete'` makes the conditional write a delete. Each form also tells what its last write attempt was
//! ([`Translated`], `UpdateHelper.prepare`'s index request), which is what the coordinating node
//! re-sends when the primary fails mid-update (`group::coordinator`).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::document::{Document, Source};
use super::error::ErrorKind;
use super::shard::{ShardCopy, WriteOutcome};
use super::sync::{epoch, Mutex};
use crate::protocol::ids::UNASSIGNED_SEQ_NO;
use crate::protocol::update::{
    check_read, is_noop, may_retry, merge, upsert_from, write_condition, UpsertFrom,
};
use crate::protocol::{ChangeId, Condition, DocMeta, WriteKind};
use crate::script::{DocContext, Script, ScriptOp};

/// The update loop's parameters.
struct LoopOptions {
    retry_on_conflict: u32,
    if_seq_no: Option<ChangeId>,
    upsert_allowed: bool,
    /// The `_routing` a created document (an upsert) is stored with; an existing document keeps
    /// its own (`UpdateHelper.calculateRouting`).
    upsert_routing: Option<Arc<str>>,
}

/// A missing document's `GetResult` (`UNASSIGNED_SEQ_NO`, term 0, version -1): what a scripted
/// upsert's noop answers with.
const NOT_FOUND: DocMeta = DocMeta {
    seq_no: UNASSIGNED_SEQ_NO,
    primary_term: 0,
    version: -1,
    deleted: false,
};

/// The write an update translated into on the primary (`UpdateHelper.prepare`): the new source
/// (`None`: a delete, a script's `ctx.op = 'delete'`), conditional on the change it was computed
/// from (`if_seq_no` + `if_primary_term`), or a create for an upsert.
#[derive(Clone, Debug, PartialEq)]
pub struct Translated {
    pub source: Option<Source>,
    pub condition: Condition,
}

/// A partial-document or scripted update (`POST /{index}/_update/{id}`), validated by
/// [`crate::protocol::validate::validate_update`].
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateRequest {
    /// The partial document merged into the source (empty with a script).
    pub doc: Map<String, Value>,
    /// The document to create when none exists.
    pub upsert: Option<Map<String, Value>>,
    /// Create the document from `doc` when none exists.
    pub doc_as_upsert: bool,
    /// Answer `noop` (no write, no `_seq_no`) when the merge changes nothing. Default true.
    /// Scripts decide noops themselves (`ctx.op`).
    pub detect_noop: bool,
    /// How many times to start over after a conflict. Default 0.
    pub retry_on_conflict: u32,
    /// The user's `if_seq_no` + `if_primary_term`.
    pub if_seq_no: Option<ChangeId>,
    /// The script that transforms the source, instead of `doc`.
    pub script: Option<Arc<Script>>,
    /// With a script: run it over `upsert` when the document is missing.
    pub scripted_upsert: bool,
    /// Where the update records the source it left, when the response is to show it.
    pub fetched: Option<FetchedSource>,
    /// The request's `routing`, stored with the document an upsert creates.
    pub routing: Option<Arc<str>>,
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
            script: None,
            scripted_upsert: false,
            fetched: None,
            routing: None,
        }
    }

    /// An update running `script`, with Elasticsearch's defaults for everything else.
    pub fn script(script: Script) -> Self {
        UpdateRequest {
            script: Some(Arc::new(script)),
            ..UpdateRequest::doc(Map::new())
        }
    }

    /// The document created when none exists (`UpdateHelper.prepareUpsert`).
    fn upsert_source(&self) -> Option<&Map<String, Value>> {
        match upsert_from(self.upsert.is_some(), self.doc_as_upsert)? {
            UpsertFrom::Doc => Some(&self.doc),
            UpsertFrom::Upsert => self.upsert.as_ref(),
        }
    }

    /// What the update does with the document it read (`None`: missing, an upsert is allowed).
    fn decide(&self, index: &str, id: &str, current: Option<(DocMeta, &Source)>) -> Change {
        let empty = Map::new();
        let upsert = self.upsert_source().unwrap_or(&empty);
        let Some(script) = &self.script else {
            return match current {
                Some((_, source)) => {
                    let mut merged = source.fields().clone();
                    let modified = merge(&mut merged, &self.doc);
                    if is_noop(self.detect_noop, modified) {
                        Change::Noop(Some(merged))
                    } else {
                        Change::Index(merged)
                    }
                }
                None => Change::Index(upsert.clone()),
            };
        };
        let failed = |error| {
            let source = script.source.clone();
            Change::Failed(ErrorKind::Script { source, error })
        };
        let ran = match current {
            Some((meta, source)) => {
                let doc = DocContext {
                    index: index.to_owned(),
                    id: id.to_owned(),
                    version: meta.version,
                    routing: source.routing().map(str::to_owned),
                    now: now_millis(),
                };
                script.run_update(source.fields().clone(), &doc)
            }
            None if self.scripted_upsert => script.run_upsert(upsert.clone(), now_millis()),
            None => return Change::Index(upsert.clone()),
        };
        match ran {
            Ok((ScriptOp::Index | ScriptOp::Create, source)) => Change::Index(source),
            Ok((ScriptOp::Delete, source)) => Change::Delete(source),
            Ok((ScriptOp::Noop, source)) => Change::Noop(Some(source)),
            Err(error) => failed(error),
        }
    }
}

/// `ctx._now`.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The source an update left (or found, for a noop; or deleted), recorded for the `get` of its
/// response (`UpdateHelper.extractGetResult`). The last attempt's is kept: what a retry or a
/// re-routed attempt decided replaces what an earlier one did. Two are equal when they are the
/// same recorder.
#[derive(Clone)]
pub struct FetchedSource(Arc<Mutex<Option<Map<String, Value>>>>);

impl Default for FetchedSource {
    fn default() -> Self {
        FetchedSource(Arc::new(Mutex::new(None)))
    }
}

impl std::fmt::Debug for FetchedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("FetchedSource").field(&self.get()).finish()
    }
}

impl PartialEq for FetchedSource {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl FetchedSource {
    fn record(&self, source: Option<&Map<String, Value>>) {
        *self.0.lock() = source.cloned();
    }

    /// What the last attempt recorded.
    pub fn get(&self) -> Option<Map<String, Value>> {
        self.0.lock().clone()
    }
}

/// What an update does with the document it read (`UpdateHelper.Result`): index a new source,
/// delete the document (a script's `ctx.op = 'delete'`, with the source it left), nothing (with
/// the source it found or left), or fail (a script's error).
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    Index(Map<String, Value>),
    Delete(Map<String, Value>),
    Noop(Option<Map<String, Value>>),
    Failed(ErrorKind),
}

impl Change {
    fn source(&self) -> Option<&Map<String, Value>> {
        match self {
            Change::Index(source) | Change::Delete(source) | Change::Noop(Some(source)) => {
                Some(source)
            }
            Change::Noop(None) | Change::Failed(_) => None,
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
    /// Partial-document or scripted update.
    pub fn update(&self, id: &str, request: &UpdateRequest) -> WriteOutcome {
        self.update_translated(id, request).0
    }

    /// [`ShardCopy::update`], and the write its last attempt translated into (none when it
    /// wrote nothing: a noop, a 404, a conflict at the read; and for a script's delete, which a
    /// re-route sends again as the update).
    pub fn update_translated(
        &self,
        id: &str,
        request: &UpdateRequest,
    ) -> (WriteOutcome, Option<Translated>) {
        let loop_options = LoopOptions {
            retry_on_conflict: request.retry_on_conflict,
            if_seq_no: request.if_seq_no,
            upsert_allowed: request.upsert_source().is_some(),
            upsert_routing: request.routing.clone(),
        };
        self.update_loop(id, &loop_options, |current| {
            let change = request.decide(&self.shard.index, id, current);
            if let Some(fetched) = &request.fetched {
                fetched.record(change.source());
            }
            change
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
        let loop_options = LoopOptions {
            retry_on_conflict: options.retry_on_conflict,
            if_seq_no: options.if_seq_no,
            upsert_allowed: options.upsert.is_some(),
            upsert_routing: options
                .upsert
                .as_ref()
                .and_then(|u| u.routing())
                .map(Arc::from),
        };
        self.update_loop(id, &loop_options, |current| match current {
            Some((_, source)) => transform(source).map_or(Change::Noop(None), Change::Index),
            None => {
                let upsert = options.upsert.as_ref().map(|u| u.fields().clone());
                let upsert = upsert.unwrap_or_default();
                Change::Index(upsert)
            }
        })
    }

    /// Read, decide, write conditionally; on a conflict start over, at most
    /// `retry_on_conflict + 1` write attempts in all.
    fn update_loop(
        &self,
        id: &str,
        options: &LoopOptions,
        mut decide: impl FnMut(Option<(DocMeta, &Source)>) -> Change,
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
            let condition = match write_condition(meta, options.upsert_allowed) {
                Ok(condition) => condition,
                Err(_) => {
                    let id = id.to_owned();
                    return failed(ErrorKind::DocumentMissing { id }, ops, attempts, translated);
                }
            };
            // `write_condition` only lets a missing document through with an upsert.
            let live = DocMeta::live(meta).zip(source);
            let routing = match &live {
                Some((_, stored)) => stored.routing(),
                None => options.upsert_routing.as_deref(),
            };
            let routed = |fields| Some(Arc::new(Document::routed(fields, routing)));
            let (kind, new_source) = match decide(live.as_ref().map(|(m, s)| (*m, s))) {
                Change::Index(source) => (WriteKind::Index, routed(source)),
                Change::Delete(_) => (WriteKind::Delete, None),
                Change::Noop(_) => {
                    let response = match live {
                        Some((meta, _)) => self.noop_response(id, meta),
                        None => self.noop_response(id, NOT_FOUND),
                    };
                    let noop = WriteOutcome {
                        result: Ok(response),
                        ops,
                        attempts,
                    };
                    return (noop, None);
                }
                Change::Failed(kind) => return failed(kind, ops, attempts, translated),
            };
            attempts += 1;
            translated = Some(Translated {
                source: new_source.clone(),
                condition,
            });
            let outcome = self.write(id, kind, &condition, new_source);
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
