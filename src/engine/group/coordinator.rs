//! The coordinating node of a client's write: route it to the primary, and when that attempt
//! fails because the primary failed or was demoted mid-write, re-route the same write (same
//! document, same condition) to the master's current primary, as Elasticsearch's
//! `TransportReplicationAction.ReroutePhase` does. Whether an attempt's failure is re-routed is
//! [`crate::protocol::coordinator::reroute`]'s decision: bounded by count and by the request's
//! `timeout`.
//!
//! Elasticsearch's `ReroutePhase.retry` waits for the next cluster state before it re-routes.
//! Here the master's state changes before the writes it affects conclude (a failover holds the
//! master while it demotes and promotes, and only then fails the old primary's writes), so a
//! re-route always finds the new primary already there. When there is none (no in-sync copy was
//! left to promote) no later state can bring one, and the write answers its last failure at
//! once instead of waiting out the timeout.
//!
//! A re-routed conditional write that reached the promoted copy meets its own change there: the
//! client gets a 409 for a write that happened. That is Elasticsearch's behaviour, kept.
//!
//! An update is re-routed as the `_update` API does it (`TransportUpdateAction`; see
//! `docs/replication.md`): the coordinating node re-sends the write the old primary translated
//! it into (the new source, conditional on the change it read). If that conflicts on the new
//! primary, [`crate::protocol::coordinator::translated_conflict`] decides: with
//! `retry_on_conflict >= 1` the whole update is sent again and re-applied on what the new
//! primary holds (a non-idempotent transformation applies twice; a partial document merged
//! again is a noop), with `0` the client gets the 409 for an update that was applied.
//!
//! An update item of `_bulk` ([`UpdateApi::Bulk`] in its [`Route`]) is re-routed as Elasticsearch
//! re-routes its `BulkShardRequest` ([`resends_translation`]): a coordinating node on the node of
//! the primary that translated it re-sends the translation, whose conflict is final whatever
//! `retry_on_conflict` says, and the item answers as the index or delete it became
//! ([`CoordinatedWrite::answered_by_translation`]); a coordinating node elsewhere re-sends the
//! update, translated afresh on the new primary.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::copy::CopyId;
use super::pending::PendingWrite;
use super::{ShardGroup, Write};
use crate::engine::sync::Ordering;
use crate::engine::WriteOutcome;
use crate::protocol::coordinator::{
    reroute, resends_translation, translated_conflict_in, UpdateApi, DEFAULT_TIMEOUT,
};

/// Where the coordinating node sends a write first, and how long it may keep re-routing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// The copy the first attempt goes to (the node a client sent the request to, if that copy
    /// believes it is primary); `None`: the master's primary.
    pub via: Option<CopyId>,
    /// The request's `timeout` (default 1m): no re-route starts after it.
    pub timeout: Duration,
    /// The API an update came through (what a conflict of its re-routed translation means).
    pub update_api: UpdateApi,
}

impl Default for Route {
    fn default() -> Self {
        Route {
            via: None,
            timeout: DEFAULT_TIMEOUT,
            update_api: UpdateApi::Update,
        }
    }
}

/// A client's write on its way through the coordinating node: `.await` it or [`wait`] for it.
///
/// [`wait`]: CoordinatedWrite::wait
pub struct CoordinatedWrite<'g> {
    group: &'g ShardGroup,
    /// The client's write.
    request: Write,
    /// What the current attempt sent: the client's write, or an update's translation.
    current: Write,
    /// The copy the current attempt went to (`None`: there was no primary).
    target: Option<CopyId>,
    timeout: Duration,
    update_api: UpdateApi,
    started: Instant,
    reroutes: u32,
    attempt: PendingWrite,
}

impl ShardGroup {
    /// Send `write` through the coordinating node: to `route.via` (or the master's primary),
    /// re-routed to the current primary while [`reroute`] allows.
    pub fn coordinate(&self, write: Write, route: Route) -> CoordinatedWrite<'_> {
        let target = route.via.or_else(|| self.primary());
        let attempt = match target {
            Some(copy) => self.submit_at(copy, write.clone()),
            None => self.refused(),
        };
        CoordinatedWrite {
            group: self,
            current: write.clone(),
            target,
            request: write,
            timeout: route.timeout,
            update_api: route.update_api,
            started: Instant::now(),
            reroutes: 0,
            attempt,
        }
    }

    /// How many writes the coordinating node re-routed so far.
    pub fn reroutes(&self) -> u64 {
        self.reroutes.load(Ordering::Acquire)
    }
}

impl CoordinatedWrite<'_> {
    /// The attempt concluded with `outcome`: the client's answer, or `None` when the write was
    /// re-routed and the next attempt is under way.
    fn settle(&mut self, outcome: WriteOutcome) -> Option<WriteOutcome> {
        let error = match &outcome.result {
            Ok(_) => return Some(outcome),
            Err(error) => error,
        };
        let (failure, next) = match &self.request {
            Write::Update { request, .. }
                if self.current != self.request && error.conflict().is_some() =>
            {
                let failure = translated_conflict_in(self.update_api, request.retry_on_conflict);
                (failure, self.request.clone())
            }
            _ => (error.primary_failure(), self.translation()),
        };
        let again = reroute(failure, self.reroutes, self.started.elapsed(), self.timeout);
        let Some(primary) = self.group.primary().filter(|_| again) else {
            return Some(outcome);
        };
        self.reroutes += 1;
        self.group.reroutes.fetch_add(1, Ordering::AcqRel);
        self.attempt = self.group.submit_at(primary, next.clone());
        self.target = Some(primary);
        self.current = next;
        None
    }

    /// What a re-route of the current attempt sends: the write the primary translated an update
    /// into (where [`resends_translation`] says so), or what the attempt sent.
    fn translation(&self) -> Write {
        let translated = self.attempt.translated().filter(|_| {
            self.target
                .is_some_and(|copy| resends_translation(self.update_api, copy))
        });
        let (Write::Update { id, .. }, Some(translated)) = (&self.request, translated) else {
            return self.current.clone();
        };
        let (id, condition) = (id.clone(), translated.condition);
        match &translated.source {
            Some(source) => Write::Index {
                id,
                source: source.clone(),
                condition,
            },
            None => Write::Delete { id, condition },
        }
    }

    /// The update's translation (the index or delete a re-route of an executed update re-sends)
    /// when the attempt that answered sent it, not the client's write.
    pub fn answered_by_translation(&self) -> Option<&Write> {
        let translated =
            matches!(self.request, Write::Update { .. }) && self.current != self.request;
        translated.then_some(&self.current)
    }

    /// Block until the client's answer.
    pub fn wait(mut self) -> WriteOutcome {
        loop {
            let outcome = self.attempt.wait();
            if let Some(answer) = self.settle(outcome) {
                return answer;
            }
        }
    }
}

impl Future for CoordinatedWrite<'_> {
    type Output = WriteOutcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<WriteOutcome> {
        let this = self.get_mut();
        loop {
            let outcome = std::task::ready!(Pin::new(&mut this.attempt).poll(cx));
            if let Some(answer) = this.settle(outcome) {
                return Poll::Ready(answer);
            }
        }
    }
}
