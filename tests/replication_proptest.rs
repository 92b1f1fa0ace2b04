//! Random schedules of writes, link faults, deliveries, drops and one failover on a shard group
//! of three copies. After quiescence (every link delivers, nothing is held):
//!
//! * `converge_at_quiescence`: all in-sync copies hold identical documents;
//! * `acked_on_in_sync` / `no_lost_acked_write`: every acknowledged write is in every in-sync
//!   copy's history, and each copy's document is at that write or a later one;
//! * `checkpoint_safety`: every in-sync copy's local checkpoint is its max `_seq_no`, its history
//!   has exactly one operation per `_seq_no` up to it, and its global checkpoint is not above it;
//! * `term_fencing`: a write submitted to an isolated old primary after the new term exists is
//!   never acknowledged, and fails indefinitely (never with a 409).
//!
//! The third property adds replica failures and recoveries, with failed copies' retention leases
//! expiring at once so that recoveries copy files (phase 1), recovers every failed copy at the
//! end, and checks the same as the second: every copy is in sync again and agrees.
//!
//! The second property runs the same schedules with the history cut at every step of the global
//! checkpoint and tombstones pruned at once (`release_step` 1, `gc_deletes` 0): rollbacks and
//! promotions then rebuild from the translog's snapshot, copies agree on their live documents,
//! each history is contiguous up to the max `_seq_no` and starts at most one above the global
//! checkpoint, and a document a later delete removed may have left no tombstone.

use std::sync::Arc;

use esocc::engine::group::Role;
use std::time::Duration;

use esocc::engine::{CopyOptions, LinkFault, PendingWrite, ShardGroup, ShardId, Source, Write};
use esocc::protocol::{Condition, Guard};
use esocc::rest::status::Status;
use proptest::prelude::*;
use serde_json::{json, Value};

#[path = "support/schedules.rs"]
mod schedules;

use schedules::{step, step_with_recoveries, Kind, Step, COPIES};

fn source(n: u8) -> Source {
    match json!({ "n": n }) {
        Value::Object(map) => Arc::new(map.into()),
        _ => unreachable!(),
    }
}

struct Run {
    group: ShardGroup,
    writes: Vec<PendingWrite>,
    stale_writes: Vec<PendingWrite>,
    isolated: Option<usize>,
    failed_over: bool,
}

impl Run {
    /// A fresh group with `options` that has run `steps` and then quiesced.
    fn played(options: CopyOptions, steps: &[Step]) -> Run {
        let mut run = Run::new(options);
        for step in steps {
            run.apply(step);
        }
        run.quiesce();
        run
    }

    fn new(options: CopyOptions) -> Run {
        let shard = ShardId::new("idx", "uuid", 0);
        let replicas = COPIES as u32 - 1;
        Run {
            group: ShardGroup::with_options(shard, replicas, replicas, options),
            writes: Vec::new(),
            stale_writes: Vec::new(),
            isolated: None,
            failed_over: false,
        }
    }

    fn apply(&mut self, step: &Step) {
        let g = &self.group;
        match *step {
            Step::Write { doc, n, kind } => {
                let id = format!("d{doc}");
                let write = match kind {
                    Kind::Blind => Write::Index {
                        id,
                        source: source(n),
                        condition: Condition::None,
                    },
                    Kind::Delete => Write::Delete {
                        id,
                        condition: Condition::None,
                    },
                    Kind::Guarded => {
                        let read = g.get(&id).ok().and_then(|r| r.meta());
                        Write::Index {
                            id,
                            source: source(n),
                            condition: Guard::SeqNoAndTerm.condition(read),
                        }
                    }
                };
                self.writes.push(g.submit(write));
            }
            Step::StaleWrite { doc, n } => {
                if let Some(old) = self.isolated {
                    let write = Write::Index {
                        id: format!("d{doc}"),
                        source: source(n),
                        condition: Condition::None,
                    };
                    self.stale_writes.push(g.submit_at(old, write));
                }
            }
            Step::SetLink { copy, fault } => g.set_link(copy, fault).unwrap(),
            Step::ReleaseOne { copy } => {
                g.release_one(copy).unwrap();
            }
            Step::Release { copy } => {
                g.release(copy).unwrap();
            }
            Step::Failover { isolate } if !self.failed_over => {
                self.failed_over = true;
                let failover = match isolate {
                    true => g.isolate_primary(),
                    false => g.fail_primary(),
                };
                if let (Ok(failover), true) = (failover, isolate) {
                    self.isolated = Some(failover.demoted);
                }
            }
            Step::Failover { .. } => {}
            Step::FailReplica { copy } => {
                let _ = g.fail_replica(copy);
            }
            Step::Recover { copy } => {
                let _ = g.recover_replica(copy);
            }
        }
    }

    /// Recover every failed copy (a fenced old primary too), then quiesce again. Every copy
    /// but an isolated old primary that was never fenced is then in sync.
    fn recover_all(&self) -> Result<(), TestCaseError> {
        let g = &self.group;
        for copy in 0..COPIES {
            if g.copy(copy).unwrap().role() == Role::Failed {
                g.recover_replica(copy).unwrap();
            }
        }
        self.quiesce();
        for copy in 0..COPIES {
            let unfenced =
                g.primary() != Some(copy) && g.copy(copy).unwrap().role() == Role::Primary;
            prop_assert!(
                unfenced || g.in_sync().contains(&copy),
                "copy {} is not in sync",
                copy
            );
        }
        Ok(())
    }

    fn quiesce(&self) {
        for copy in 0..COPIES {
            self.group.set_link(copy, LinkFault::Deliver).unwrap();
        }
        while self.group.release_all() > 0 {}
    }

    /// `pruned`: the history was cut below the global checkpoint and tombstones pruned.
    fn check(&self, pruned: bool) -> Result<(), TestCaseError> {
        let g = &self.group;
        for pending in self.writes.iter().chain(&self.stale_writes) {
            prop_assert!(
                pending.is_done(),
                "a write is still waiting after quiescence"
            );
        }
        let in_sync = g.in_sync();
        let primary = g.primary().expect("the shard keeps a primary");
        prop_assert!(in_sync.contains(&primary));
        prop_assert_eq!(g.copy(primary).unwrap().role(), Role::Primary);

        let copy = |c: usize| g.copy(c).unwrap();
        // Copies prune tombstones at their own global checkpoints, so only live documents agree.
        let documents = |c: usize| {
            let mut docs = copy(c).with_engine(|e| e.documents());
            if pruned {
                docs.retain(|(_, meta, _)| !meta.deleted);
            }
            docs
        };
        let reference = documents(primary);
        for &c in &in_sync {
            let (docs, lcp, max, history) = copy(c).with_engine(|e| {
                (
                    documents(c),
                    e.local_checkpoint(),
                    e.max_seq_no(),
                    e.history_above(-1),
                )
            });
            prop_assert_eq!(&docs, &reference, "copy {} diverged from the primary", c);
            prop_assert_eq!(lcp, max, "copy {} has a gap", c);
            let seq_nos: Vec<i64> = history.iter().map(|op| op.seq_no).collect();
            let first = match pruned {
                true => seq_nos.first().copied().unwrap_or(max + 1),
                false => 0,
            };
            prop_assert!(
                first <= copy(c).global_checkpoint() + 1,
                "copy {} released too much",
                c
            );
            prop_assert_eq!(
                seq_nos,
                (first..=max).collect::<Vec<_>>(),
                "copy {} history",
                c
            );
            prop_assert!(copy(c).global_checkpoint() <= lcp);

            for pending in &self.writes {
                let Some(Ok(ack)) = pending.outcome().map(|o| o.result) else {
                    continue;
                };
                let op = history.iter().find(|op| op.seq_no == ack.seq_no);
                prop_assert!(
                    ack.seq_no < first
                        || op.is_some_and(|op| op.primary_term == ack.primary_term
                            && op.id() == Some(ack.id.as_str())),
                    "acknowledged {:?} is not in copy {}'s history",
                    ack,
                    c
                );
                // A pruned tombstone leaves no document: then a later delete removed it.
                let current = docs.iter().find(|(id, _, _)| *id == ack.id);
                prop_assert!(
                    current.map_or(pruned, |(_, meta, _)| meta.seq_no >= ack.seq_no),
                    "acknowledged {:?} is not in copy {}'s documents",
                    ack,
                    c
                );
            }
        }
        for pending in &self.stale_writes {
            let result = pending.outcome().unwrap().result;
            let error = result.expect_err("a stale primary's write was acknowledged");
            prop_assert!(
                error.conflict().is_none() && error.status() >= 500,
                "{}",
                error
            );
        }
        Ok(())
    }
}

proptest! {
    // A fixed seed: the same 512 schedules on every run, so CI's verdict does not depend on luck.
    // Random runs found the schedules kept as named tests below; set PROPTEST_RNG_SEED to
    // explore others.
    #![proptest_config(ProptestConfig {
        cases: 512,
        rng_seed: proptest::test_runner::RngSeed::Fixed(
            std::env::var("PROPTEST_RNG_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1),
        ),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_schedules_converge_and_keep_every_acknowledged_write(
        steps in prop::collection::vec(step(), 1..48)
    ) {
        let run = Run::played(CopyOptions::default(), &steps);
                run.check(false)?;
    }

    #[test]
    fn with_history_released_at_every_step_the_same_schedules_hold(
        steps in prop::collection::vec(step(), 1..48)
    ) {
        let options = CopyOptions {
            release_step: 1,
            gc_deletes: Duration::ZERO,
            ..CopyOptions::default()
        };
        let run = Run::played(options, &steps);
                run.check(true)?;
    }

    #[test]
    fn with_replicas_failed_and_recovered_from_released_history_the_copies_converge(
        steps in prop::collection::vec(step_with_recoveries(), 1..48)
    ) {
        let options = CopyOptions {
            release_step: 1,
            gc_deletes: Duration::ZERO,
            retention_lease_period: Duration::ZERO,
            ..CopyOptions::default()
        };
        let run = Run::played(options, &steps);
                run.recover_all()?;
        run.check(true)?;
    }
}

/// Found by a random run of the test above (session 3): with the history released at every
/// step, `d1`'s write at `_seq_no` 1 is delayed on copy 2's link and arrives after 3, so copy 2's
/// translog records it after a higher operation. The global checkpoint then passes 1 and the
/// translog folds everything at or below it into its snapshot; the failover rolls copy 2 back to
/// that snapshot. The log's cut used to release only its oldest stretch (0) while reporting 1
/// released, so the rollback lost `d1`'s write and copy 2 kept `d1` at `_seq_no` 0. A cut now
/// releases every operation at or below the bound (`OpLog::release_through`), as Elasticsearch
/// keeps every translog generation holding an operation above the safe commit's local checkpoint
/// (`Translog.getMinReferencedGen`, `minGenerationForSeqNo`).
#[test]
fn a_delayed_write_recorded_after_higher_ones_survives_the_fold_and_a_failover() {
    let options = CopyOptions {
        release_step: 1,
        gc_deletes: Duration::ZERO,
        ..CopyOptions::default()
    };
    let steps = [
        Step::Write {
            doc: 1,
            n: 0,
            kind: Kind::Guarded,
        },
        Step::SetLink {
            copy: 2,
            fault: LinkFault::Delay,
        },
        Step::StaleWrite { doc: 0, n: 0 },
        Step::Write {
            doc: 1,
            n: 0,
            kind: Kind::Blind,
        },
        Step::Write {
            doc: 0,
            n: 0,
            kind: Kind::Blind,
        },
        Step::SetLink {
            copy: 2,
            fault: LinkFault::Deliver,
        },
        Step::Write {
            doc: 2,
            n: 0,
            kind: Kind::Blind,
        },
        Step::ReleaseOne { copy: 2 },
        Step::Write {
            doc: 0,
            n: 0,
            kind: Kind::Blind,
        },
        Step::Failover { isolate: false },
    ];
    let run = Run::played(options, &steps);
    run.check(true).unwrap();
}

/// Found by the third property: the primary wrote `d0`, failed over, and recovered as a replica.
/// Its translog held only what it had received as a replica (nothing) but was folded through its
/// global checkpoint all the same, so the recovery restored it (`reset_for_recovery`) with the
/// checkpoint at 0 and no `d0`, and nothing above 0 was sent. A primary now records its own
/// operations in its translog as it replicates them, as Elasticsearch's primary writes its
/// translog (`recoverLocallyUpToGlobalCheckpoint` restores from there).
#[test]
fn an_old_primary_recovers_the_writes_it_made_as_primary() {
    let options = CopyOptions {
        release_step: 1,
        gc_deletes: Duration::ZERO,
        retention_lease_period: Duration::ZERO,
        ..CopyOptions::default()
    };
    let steps = [
        Step::Write {
            doc: 0,
            n: 0,
            kind: Kind::Blind,
        },
        Step::Failover { isolate: false },
        Step::FailReplica { copy: 0 },
    ];
    let run = Run::played(options, &steps);
    run.recover_all().unwrap();
    run.check(true).unwrap();
}

/// Found by the third property (seeds 4 to 6): copy 2 fails, the lease expires, `d0` is written
/// at 1 and then at 2 while copy 1's link holds 2, and copy 2 recovers by copying files. A copy
/// of the primary's live documents gave it `d0` at 2 with nothing for `d0` at the global
/// checkpoint 1, so the failover's rollback to 1 left it without `d0`. Phase 1 now copies the
/// primary's translog (its snapshot at most at the global checkpoint, and the operations above).
#[test]
fn a_file_copy_keeps_the_state_at_the_checkpoint_a_later_rollback_returns_to() {
    let options = CopyOptions {
        release_step: 1,
        gc_deletes: Duration::ZERO,
        retention_lease_period: Duration::ZERO,
        ..CopyOptions::default()
    };
    let write = Step::Write {
        doc: 0,
        n: 0,
        kind: Kind::Blind,
    };
    let steps = [
        write.clone(),
        Step::FailReplica { copy: 2 },
        write.clone(),
        Step::SetLink {
            copy: 1,
            fault: LinkFault::Delay,
        },
        write,
        Step::Recover { copy: 2 },
        Step::Failover { isolate: false },
    ];
    let run = Run::played(options, &steps);
    run.recover_all().unwrap();
    run.check(true).unwrap();
}
