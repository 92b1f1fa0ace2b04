//! Engine → model: a random schedule of `tests/replication_proptest.rs` ([`Step`]s) run on the
//! engine, each engine step mapped to the model actions it is, each of which must be an
//! enabled model transition; the step is then taken through [`Replay::step`], which runs the
//! engine call and compares answers and copies with the model's (the same comparison as the
//! model → engine direction).
//!
//! The engine decides: which held request a link lets through next (the oldest, the newest for
//! `reorder`), which copy the master promotes ([`ShardGroup::promotion_candidate`]), that a
//! request to a closed copy fails. The schedule's links are emulated on links that all hold
//! their requests: `deliver` and `drop` let each new request through (or lose it) right after
//! the step that sent it, with its answer, as a link does in the sender's thread.
//!
//! [`ShardGroup::promotion_candidate`]: esocc::engine::ShardGroup::promotion_candidate

use std::collections::BTreeMap;

use esocc::engine::group::{Role, Unsafe};
use esocc::engine::LinkFault;
use esocc::model::replication::state::Phase;
use esocc::model::replication::{Action, ReplicationModel};
use esocc::protocol::Guard;
use stateright::Model;

use super::replay::{abstracted, matches, Divergence, Replay};
use super::schedules::{Kind, Step};

/// What mapping one schedule did.
#[derive(Clone, Debug, Default)]
pub struct Mapped {
    /// Schedule steps (and the final quiescence's deliveries) the model took.
    pub steps: usize,
    /// Model transitions those steps were.
    pub transitions: usize,
    /// Schedule steps the model has no action for, by kind (not run on the engine either).
    pub skipped: BTreeMap<&'static str, usize>,
}

impl Mapped {
    pub fn add(&mut self, other: &Mapped) {
        self.steps += other.steps;
        self.transitions += other.transitions;
        for (kind, n) in &other.skipped {
            *self.skipped.entry(kind).or_default() += n;
        }
    }

    pub fn skips(&self) -> usize {
        self.skipped.values().sum()
    }
}

struct Driver<'m> {
    model: &'m ReplicationModel,
    replay: Replay<'m>,
    /// The schedule's link faults (the engine's links all hold).
    links: Vec<LinkFault>,
    /// Per link, how many of the oldest held requests the schedule's link holds; the ones
    /// after them were sent while it delivers or drops.
    holding: Vec<usize>,
    isolated: Option<usize>,
    failed_over: bool,
    mapped: Mapped,
}

/// Why a schedule step is not run.
type Skip = &'static str;

/// What a schedule step is, before the deliveries it causes.
enum Plan {
    Actions(Vec<Action>),
    /// Let up to this many requests the schedule's link to the copy holds through.
    Release {
        copy: usize,
        limit: usize,
    },
}

/// Why a schedule stops early.
enum Stop {
    Diverged(Divergence),
    /// The engine's next step is a model transition the replay leaves out (module doc).
    LeftOut,
}

impl From<Divergence> for Stop {
    fn from(d: Divergence) -> Stop {
        Stop::Diverged(d)
    }
}

/// The most deliveries one quiescence makes (a bound by count, not time).
const QUIESCENCE_DELIVERIES: usize = 1_000;

impl<'m> Driver<'m> {
    fn new(model: &'m ReplicationModel, knobs: Unsafe) -> Self {
        let copies = usize::from(model.config.copies);
        Driver {
            model,
            replay: Replay::new(model, knobs),
            links: vec![LinkFault::Deliver; copies],
            holding: vec![0; copies],
            isolated: None,
            failed_over: false,
            mapped: Mapped::default(),
        }
    }

    /// Take `action` if it is an enabled model transition the replay does not leave out.
    fn take(&mut self, action: Action) -> Result<(), Stop> {
        let state = self.replay.state();
        let mut enabled = Vec::new();
        self.model.actions(state, &mut enabled);
        if !enabled.contains(&action) {
            let path = self.replay.path().to_vec();
            let what = format!(
                "the engine's step is {action:?}, not an enabled model transition; enabled: {enabled:?}"
            );
            return Err(Stop::Diverged(Divergence { path, what }));
        }
        if self.left_out(&action) {
            return Err(Stop::LeftOut);
        }
        self.replay.step(action)?;
        self.mapped.transitions += 1;
        Ok(())
    }

    /// Would the model take `action` only in a transition the replay leaves out?
    fn left_out(&self, action: &Action) -> bool {
        let before = self.replay.state();
        self.model
            .next_state(before, action.clone())
            .is_some_and(|after| abstracted(before, action, &after))
    }

    fn step(&mut self, step: &Step) -> Result<(), Stop> {
        let plan = match self.plan(step) {
            Ok(plan) => plan,
            Err(kind) => {
                *self.mapped.skipped.entry(kind).or_default() += 1;
                return Ok(());
            }
        };
        match plan {
            Plan::Actions(actions) => {
                if actions.iter().any(|a| self.left_out(a)) {
                    *self
                        .mapped
                        .skipped
                        .entry("left out (module doc)")
                        .or_default() += 1;
                    return Ok(());
                }
                for action in actions {
                    self.take(action)?;
                }
            }
            Plan::Release { copy, limit } => self.release(copy, limit)?,
        }
        if let Step::FailReplica { copy } = *step {
            // `fail_replica` fails what the copy's link holds at once.
            self.release(copy, usize::MAX)?;
        }
        self.mapped.steps += 1;
        self.settle()
    }

    /// The model actions a schedule step starts with (deliveries follow in `settle`).
    fn plan(&mut self, step: &Step) -> Result<Plan, Skip> {
        let group = self.replay.group();
        let primary = group.primary().ok_or("no primary")?;
        let none = Ok(Plan::Actions(Vec::new()));
        match *step {
            Step::Write { doc, kind, .. } => self.client_write(doc, kind, primary),
            Step::StaleWrite { doc, .. } => {
                let Some(old) = self.isolated else {
                    return none; // the proptest sends nothing either
                };
                if !self.replay.state().copies[old].is_primary() {
                    return Err("stale write to a copy that knows it was demoted");
                }
                self.client_write(doc, Kind::Blind, old)
            }
            Step::SetLink { copy, fault } => {
                self.links[copy] = fault;
                none
            }
            Step::ReleaseOne { copy } => Ok(Plan::Release { copy, limit: 1 }),
            Step::Release { copy } => Ok(Plan::Release {
                copy,
                limit: usize::MAX,
            }),
            Step::Failover { .. } if self.failed_over => none,
            Step::Failover { isolate } => {
                self.failed_over = true;
                let Some(promote) = group.promotion_candidate() else {
                    return none;
                };
                // The model's old primary keeps running: a crash is replayed as an isolation.
                self.isolated = isolate.then_some(primary);
                Ok(Plan::Actions(vec![Action::FailPrimary {
                    promote: promote as u8,
                }]))
            }
            Step::FailReplica { copy } if copy == primary || !group.in_sync().contains(&copy) => {
                none
            }
            Step::FailReplica { copy } => Ok(Plan::Actions(vec![Action::FailReplica {
                copy: copy as u8,
            }])),
            Step::Recover { copy } => match group.copy(copy).map(|c| c.role()) {
                Some(Role::Failed) => Ok(Plan::Actions(vec![Action::Recover { copy: copy as u8 }])),
                _ => none,
            },
        }
    }

    /// A client's GET and write of `doc` on copy `at`, as the model's next unused client of
    /// that document and kind writes it.
    fn client_write(&self, doc: u8, kind: Kind, at: usize) -> Result<Plan, Skip> {
        let c = &self.model.config;
        let doc = doc % c.docs; // the model holds fewer documents: a renaming
        let guard_fits = match kind {
            Kind::Guarded => c.guard == Guard::SeqNoAndTerm,
            Kind::Blind | Kind::Delete => c.guard == Guard::Blind,
        };
        if !guard_fits {
            return Err(match kind {
                Kind::Guarded => "guarded write (the model's clients write blind)",
                Kind::Blind => "blind write (the model's clients write guarded)",
                Kind::Delete => "delete (the model's deleter is guarded)",
            });
        }
        let state = self.replay.state();
        let client = (0..c.clients)
            .find(|&client| {
                state.clients[usize::from(client)].phase == Phase::Idle
                    && self.model.doc_of(client, 0) == doc
                    && self.model.deletes(client) == (kind == Kind::Delete)
            })
            .ok_or(match kind {
                Kind::Delete => {
                    "delete (the model's one deleter is used, or deletes the other document)"
                }
                _ => "write (the model's clients of the document are used up)",
            })?;
        let read = state.copies[at].doc(doc);
        if kind == Kind::Delete && read.is_none_or(|d| d.meta.deleted) {
            // Elasticsearch's delete of a missing document is an operation (`not_found`); the
            // model's deleter reads 404 and sends nothing.
            return Err("delete of a missing document");
        }
        let copy = at as u8;
        Ok(Plan::Actions(vec![
            Action::Get { client, copy },
            Action::Write { client, copy },
        ]))
    }

    /// Let up to `limit` of the requests the schedule's link to `copy` holds through, as the
    /// link is set: in order, newest first for `reorder`, lost for `drop`.
    fn release(&mut self, copy: usize, limit: usize) -> Result<(), Stop> {
        for _ in 0..limit {
            if self.holding[copy] == 0 {
                break;
            }
            self.holding[copy] -= 1;
            let index = match self.links[copy] {
                LinkFault::Reorder => self.holding[copy],
                _ => 0,
            };
            self.let_through(copy, index, self.links[copy] == LinkFault::Drop)?;
        }
        Ok(())
    }

    /// The `index`-th request held for `copy` is delivered (lost when `drop`, or when the
    /// engine closed the copy), and its answer reaches the sender.
    fn let_through(&mut self, copy: usize, index: usize, drop: bool) -> Result<(), Stop> {
        let held = self.replay.group().held_requests(copy).unwrap_or_default();
        let Some(request) = held.get(index) else {
            return Ok(());
        };
        let Some(msg) = self
            .replay
            .state()
            .network
            .iter()
            .find(|m| matches(request, m))
            .cloned()
        else {
            let path = self.replay.path().to_vec();
            let what = format!(
                "the engine lets {request:?} through; the model has no such message in flight: {:?}",
                self.replay.state().network
            );
            return Err(Stop::Diverged(Divergence { path, what }));
        };
        let closed = self.replay.group().copy(copy).map(|c| c.role()) == Some(Role::Failed);
        match drop || closed {
            true => self.take(Action::Drop(msg))?,
            false => self.take(Action::Deliver(msg))?,
        }
        let answer = self.replay.last_answer().cloned().expect("an answer");
        self.take(Action::Deliver(answer))
    }

    /// After a step: the links that deliver or drop let the requests sent since through, and a
    /// re-routed write goes to the master's primary (the coordinating node's re-route).
    fn settle(&mut self) -> Result<(), Stop> {
        for _ in 0..QUIESCENCE_DELIVERIES {
            let mut moved = false;
            for copy in 0..self.links.len() {
                let held = self.replay.group().held(copy).unwrap_or(0);
                self.holding[copy] = self.holding[copy].min(held);
                match self.links[copy] {
                    LinkFault::Delay | LinkFault::Reorder => self.holding[copy] = held,
                    fault if held > self.holding[copy] => {
                        self.let_through(copy, self.holding[copy], fault == LinkFault::Drop)?;
                        moved = true;
                    }
                    _ => {}
                }
            }
            let state = self.replay.state();
            let primary = state.master.primary;
            let rerouted = (0..state.clients.len() as u8)
                .find(|&c| matches!(state.clients[usize::from(c)].phase, Phase::Rerouted(_)));
            if let Some(client) =
                rerouted.filter(|_| state.copies[usize::from(primary)].is_primary())
            {
                self.take(Action::Write {
                    client,
                    copy: primary,
                })?;
                moved = true;
            }
            if !moved {
                return Ok(());
            }
        }
        panic!("no quiescence after {QUIESCENCE_DELIVERIES} deliveries");
    }

    /// The schedule's end: every link delivers and everything held is let through.
    fn quiesce(&mut self) -> Result<(), Stop> {
        for copy in 0..self.links.len() {
            self.links[copy] = LinkFault::Deliver;
            self.holding[copy] = 0;
        }
        self.settle()
    }
}

/// Run `steps` on an engine with `knobs`, mapping each step to `model`'s actions.
pub fn map_schedule(
    model: &ReplicationModel,
    knobs: Unsafe,
    steps: &[Step],
) -> Result<Mapped, Divergence> {
    let mut driver = Driver::new(model, knobs);
    let ran = steps
        .iter()
        .try_for_each(|step| driver.step(step))
        .and_then(|()| driver.quiesce());
    match ran {
        Ok(()) => {}
        Err(Stop::Diverged(d)) => return Err(d),
        Err(Stop::LeftOut) => {
            *driver
                .mapped
                .skipped
                .entry("a left-out transition (module doc): the schedule ends there")
                .or_default() += 1;
        }
    }
    Ok(driver.mapped)
}
