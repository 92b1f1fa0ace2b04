//! A shard of an index as the handlers see it: the engine's replicated [`ShardGroup`] (a primary
//! and the replicas placed on other nodes), and which copy serves a request.
//!
//! With one node the index's replicas exist in its settings but are unassigned: the group has
//! the primary alone and reports `"_shards":{"total":2,"successful":1,"failed":0}` with the
//! default one replica, as a single-node Elasticsearch does. With N nodes, copy `k` of every
//! shard lives on node `k` (copy 0, the first primary, on node 0).
//!
//! A write is served by the copy its node believes is primary: normally the master's primary,
//! but a request sent to the node of an isolated old primary (header `X-Esocc-Node`) reaches
//! that copy, which keeps serving reads and accepting writes until it is fenced, as in
//! Elasticsearch. A realtime GET is served by any in-sync copy, as its `preference` chooses
//! ([`crate::protocol::preference`]), round-robin without one; only a GET sent to the node of
//! an isolated old primary stays on that copy (its node's cluster state still names it primary). A write whose primary fails or is fenced mid-write is re-routed to the master's
//! primary by the engine's coordinating node (`engine::group::coordinator`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::envelope::EsError;
use super::error::RestError;
use super::params::Refresh;
use super::status::Status;
use crate::engine::group::{CopyId, Role, Route, Unsafe};
use crate::engine::{
    EngineError, ErrorKind, GetResponse, SearchView, ShardCopy, ShardGroup, ShardId, Write,
    WriteResponse,
};
use crate::protocol::coordinator::UpdateApi;
use crate::protocol::preference::{choose_copy, parse, PreferenceError};
use crate::protocol::{Version, VersionConflict, VersionType};

/// One shard: its group of copies.
pub struct Shard {
    group: ShardGroup,
    /// Reads so far that spread over the copies: the round-robin position.
    turn: AtomicU64,
    refreshes: Refreshes,
}

/// The shard's refreshes in order, for `refresh=wait_for`: refresh `n` takes every change
/// made before `started` became `n`, and `done` announces it finished.
struct Refreshes {
    one_at_a_time: Mutex<()>,
    started: AtomicU64,
    done: tokio::sync::watch::Sender<u64>,
}

impl Shard {
    /// A shard with `replicas` replicas in its settings, `assigned` of them on a node, without
    /// the safeguards `knobs` switches off.
    pub fn new(id: ShardId, replicas: u32, assigned: u32, knobs: Unsafe) -> Shard {
        Shard {
            group: ShardGroup::new(id, replicas, assigned).with_unsafe(knobs),
            turn: AtomicU64::new(0),
            refreshes: Refreshes {
                one_at_a_time: Mutex::new(()),
                started: AtomicU64::new(0),
                done: tokio::sync::watch::Sender::new(0),
            },
        }
    }

    /// Refresh every copy of the shard.
    pub fn refresh(&self) {
        let _one = self
            .refreshes
            .one_at_a_time
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let number = self.refreshes.started.fetch_add(1, Ordering::AcqRel) + 1;
        self.group.refresh();
        self.refreshes.done.send_replace(number);
    }

    /// Apply a write's `refresh` policy once the write is acknowledged: `true` refreshes now
    /// (on tokio's blocking pool: a refresh walks what changed and may wait for another one),
    /// `wait_for` waits for the next refresh that starts after it (Elasticsearch's
    /// `RefreshListeners`; with `refresh_interval: -1` that is the next explicit one).
    pub async fn refreshed(self: &Arc<Self>, policy: Refresh) {
        match policy {
            Refresh::None => {}
            Refresh::Immediate => {
                let shard = Arc::clone(self);
                off_runtime(move || shard.refresh()).await;
            }
            Refresh::WaitUntil => {
                let target = self.refreshes.started.load(Ordering::Acquire) + 1;
                let mut done = self.refreshes.done.subscribe();
                let _ = done.wait_for(|&finished| finished >= target).await;
            }
        }
    }

    /// What a search of the shard reads: its primary's last refreshed view.
    pub fn search_view(&self) -> Result<SearchView, EngineError> {
        self.group.search_view()
    }

    /// The group, for fault injection and state.
    pub fn group(&self) -> &ShardGroup {
        &self.group
    }

    /// The copy on `node` when it believes it is primary; otherwise the request goes to the
    /// master's primary (`None`).
    fn primary_on(&self, node: Option<usize>) -> Option<CopyId> {
        node.filter(|&n| {
            self.group
                .copy(n)
                .is_some_and(|c| c.role() == Role::Primary)
        })
    }

    /// Realtime get from the primary that serves `node` (what an update will read).
    pub fn get(&self, node: Option<usize>, id: &str) -> Result<GetResponse, EngineError> {
        match self.primary_on(node) {
            Some(copy) => self.group.get_at(copy, id),
            None => self.group.get(id),
        }
    }

    /// A realtime GET sent to `node` (node 0 without one), from the in-sync copy `preference`
    /// chooses; from an isolated old primary on `node` that still believes it is primary. A
    /// found document whose `_version` is not the `version` asked for is a 409
    /// `version_conflict_engine_exception` (`InternalEngine.get`); a missing one is not found.
    pub fn read(
        &self,
        node: Option<usize>,
        preference: Option<&str>,
        id: &str,
        version: Option<(Version, VersionType)>,
        realtime: bool,
    ) -> Result<GetResponse, RestError> {
        let preference = parse(preference).map_err(|e| self.preference_error(&e, id))?;
        let stale = self
            .primary_on(node)
            .filter(|&copy| self.group.primary() != Some(copy));
        let copy = match stale {
            Some(copy) => copy,
            None => {
                let turn = self.turn.fetch_add(1, Ordering::Relaxed);
                let active = self.group.in_sync();
                choose_copy(&preference, &active, node.unwrap_or(0), turn)
                    .map_err(|e| self.preference_error(&e, id))?
            }
        };
        let response = if realtime {
            self.group.get_at(copy, id)?
        } else {
            self.refreshed_get(copy, id)?
        };
        let conflict = version
            .zip(response.meta())
            .and_then(|((expected, version_type), meta)| {
                version_type.conflict_for_reads(meta.version, expected)
            });
        match conflict {
            None => Ok(response),
            Some(explanation) => Err(EngineError {
                kind: ErrorKind::Conflict {
                    id: id.to_owned(),
                    conflict: VersionConflict(explanation),
                },
                shard: Arc::new(self.group.shard_id().clone()),
            }
            .into()),
        }
    }

    /// `realtime=false`: the document as `copy`'s last refresh shows it, what Elasticsearch's
    /// get through the searcher reads (`ShardGetService.get` with `realtime` false).
    fn refreshed_get(&self, copy: CopyId, id: &str) -> Result<GetResponse, EngineError> {
        let shard = self.group.shard_id();
        match self.group.copy(copy).filter(|c| c.role() != Role::Failed) {
            Some(active) => {
                let view = active.with_engine(ShardCopy::search_view);
                let doc = view.get(id).map(|v| (v.meta, v.source.clone()));
                Ok(GetResponse::new(&shard.index, id, doc))
            }
            None => Err(EngineError {
                kind: ErrorKind::PrimaryInactive,
                shard: Arc::new(shard.clone()),
            }),
        }
    }

    fn preference_error(&self, error: &PreferenceError, id: &str) -> RestError {
        let shard = self.group.shard_id();
        let exception = EsError::new(
            error.error_type(),
            error.reason(&shard.index, &shard.display(), id),
        );
        let exception = match error {
            PreferenceError::NoCopy => {
                exception.with_shard(&shard.index, &shard.index_uuid, shard.shard)
            }
            _ => exception,
        };
        RestError::exception(error.status(), exception)
    }

    /// A write through the coordinating node: first on the primary that serves `node`,
    /// re-routed to the current primary if that one fails or is demoted mid-write, for at most
    /// `timeout`; answered once every in-sync replica has answered (or was removed from the
    /// in-sync set).
    pub async fn write(
        &self,
        node: Option<usize>,
        write: Write,
        timeout: Duration,
    ) -> Result<WriteResponse, EngineError> {
        self.coordinate(node, write, timeout, UpdateApi::Update)
            .await
            .0
    }

    /// An item of `_bulk` sent to `node` (node 0 without one), as [`Shard::write`], and the
    /// update's translation when a re-route answered the item with it: then the item answers as
    /// the `index` or `delete` action it became (Elasticsearch's old primary replaced the item by
    /// its translation in the request its node shares, `engine::group::coordinator`).
    pub async fn write_bulk_item(
        &self,
        node: Option<usize>,
        write: Write,
        timeout: Duration,
    ) -> (Result<WriteResponse, EngineError>, Option<Write>) {
        let api = UpdateApi::Bulk {
            coordinating_node: node.unwrap_or(0),
        };
        self.coordinate(node, write, timeout, api).await
    }

    async fn coordinate(
        &self,
        node: Option<usize>,
        write: Write,
        timeout: Duration,
        update_api: UpdateApi,
    ) -> (Result<WriteResponse, EngineError>, Option<Write>) {
        let route = Route {
            via: self.primary_on(node),
            timeout,
            update_api,
        };
        let mut coordinated = self.group.coordinate(write, route);
        let outcome = (&mut coordinated).await;
        (
            outcome.result,
            coordinated.answered_by_translation().cloned(),
        )
    }

    /// Copies active for `wait_for_active_shards`: the master's in-sync set.
    pub fn active_copies(&self) -> u32 {
        self.group.in_sync().len() as u32
    }
}

/// Run `work` on tokio's blocking pool and wait for it, so that a refresh never holds up one of
/// the runtime's worker threads. A panic in `work` goes on in the caller.
pub async fn off_runtime(work: impl FnOnce() + Send + 'static) {
    if let Err(failed) = tokio::task::spawn_blocking(work).await {
        if failed.is_panic() {
            std::panic::resume_unwind(failed.into_panic());
        }
    }
}
