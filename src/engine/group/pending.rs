//! A write that ran on the primary and waits for its replicas' answers.
//!
//! The primary records each in-sync target's answer (applied, failed and removed by the master,
//! or "you were demoted"); the last answer concludes the write. Callers wait for it blocking
//! ([`PendingWrite::wait`]), poll it ([`PendingWrite::outcome`]) or `.await` it: an async server
//! can hold many writes that wait for a delayed replica without holding a thread each.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::copy::CopyId;
use crate::engine::sync::{Arc, Condvar, Mutex, MutexGuard};
use crate::engine::{Translated, WriteOutcome};
use crate::protocol::TermTooOld;

/// A replica's answer to one write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The replica applied the write.
    Applied,
    /// The replica failed and the master removed it from the in-sync set.
    Failed,
    /// The master answered that a newer primary exists.
    Demoted(TermTooOld),
}

/// Everything known about a write's replication so far.
#[derive(Clone, Debug)]
pub(crate) struct Tally {
    /// The primary's outcome, before replication.
    pub(crate) outcome: WriteOutcome,
    pub(crate) targets: Vec<CopyId>,
    pub(crate) applied: Vec<CopyId>,
    pub(crate) failed: Vec<CopyId>,
    pub(crate) demoted: Option<TermTooOld>,
}

struct Progress {
    tally: Tally,
    /// Targets whose answer was recorded: a target answers once (Elasticsearch's transport
    /// calls a request's response handler once); a second answer, to a duplicated request, is
    /// ignored.
    answered: Vec<CopyId>,
    awaiting: usize,
    concluded: Option<WriteOutcome>,
    wakers: Vec<Waker>,
}

/// The shared state of one write in flight.
pub(crate) struct WriteState {
    progress: Mutex<Progress>,
    concluded: Condvar,
}

impl WriteState {
    pub(crate) fn new(outcome: WriteOutcome, targets: Vec<CopyId>) -> Arc<WriteState> {
        let awaiting = targets.len();
        Arc::new(WriteState {
            progress: Mutex::new(Progress {
                tally: Tally {
                    outcome,
                    targets,
                    applied: Vec::new(),
                    failed: Vec::new(),
                    demoted: None,
                },
                answered: Vec::new(),
                awaiting,
                concluded: None,
                wakers: Vec::new(),
            }),
            concluded: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock()
    }

    /// Record `target`'s answer. Returns the tally when this was the last awaited answer.
    pub(crate) fn record(&self, target: CopyId, answer: Answer) -> Option<Tally> {
        let mut progress = self.lock();
        if progress.answered.contains(&target) {
            return None;
        }
        progress.answered.push(target);
        match answer {
            Answer::Applied => progress.tally.applied.push(target),
            Answer::Failed => progress.tally.failed.push(target),
            Answer::Demoted(stale) => {
                progress.tally.demoted.get_or_insert(stale);
            }
        }
        progress.awaiting = progress.awaiting.saturating_sub(1);
        (progress.awaiting == 0).then(|| progress.tally.clone())
    }

    /// The tally, if no target is awaited (a write with no replicas to wait for).
    pub(crate) fn ready(&self) -> Option<Tally> {
        let progress = self.lock();
        (progress.awaiting == 0).then(|| progress.tally.clone())
    }

    /// Conclude the write with `outcome`, unless it was concluded already.
    pub(crate) fn conclude(&self, outcome: WriteOutcome) {
        let wakers = {
            let mut progress = self.lock();
            if progress.concluded.is_some() {
                return;
            }
            progress.concluded = Some(outcome);
            std::mem::take(&mut progress.wakers)
        };
        self.concluded.notify_all();
        wakers.into_iter().for_each(Waker::wake);
    }

    /// The answers so far (to conclude a write whose primary failed before they all came).
    pub(crate) fn tally(&self) -> Tally {
        self.lock().tally.clone()
    }
}

/// A write submitted to a [`super::ShardGroup`], concluded once every in-sync replica answered.
#[derive(Clone)]
pub struct PendingWrite {
    state: Arc<WriteState>,
    translated: Option<Translated>,
}

impl PendingWrite {
    pub(crate) fn new(state: Arc<WriteState>) -> Self {
        PendingWrite {
            state,
            translated: None,
        }
    }

    /// A write concluded without replication (refused, a conflict, a noop update).
    pub(crate) fn concluded(outcome: WriteOutcome) -> Self {
        let state = WriteState::new(outcome.clone(), Vec::new());
        state.conclude(outcome);
        PendingWrite::new(state)
    }

    /// The same write, telling which write an update translated into on the primary.
    pub(crate) fn translated_into(self, translated: Option<Translated>) -> Self {
        PendingWrite { translated, ..self }
    }

    /// For an update: the write its primary translated it into (what a re-route re-sends).
    pub fn translated(&self) -> Option<&Translated> {
        self.translated.as_ref()
    }

    /// The outcome, once concluded.
    pub fn outcome(&self) -> Option<WriteOutcome> {
        self.state.lock().concluded.clone()
    }

    pub fn is_done(&self) -> bool {
        self.state.lock().concluded.is_some()
    }

    /// Block until the write is concluded. A write waiting for a delayed link concludes only
    /// once the link is released or the replica is failed.
    pub fn wait(&self) -> WriteOutcome {
        let mut progress = self.state.lock();
        loop {
            if let Some(outcome) = &progress.concluded {
                return outcome.clone();
            }
            progress = self.state.concluded.wait(progress);
        }
    }
}

impl Future for PendingWrite {
    type Output = WriteOutcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<WriteOutcome> {
        let mut progress = self.state.lock();
        match &progress.concluded {
            Some(outcome) => Poll::Ready(outcome.clone()),
            None => {
                if !progress.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    progress.wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}
