//! [`Unsafe`]: the replication model's bug knobs as configuration of a [`ShardGroup`], for
//! `esocc serve --unsafe KNOB` and the torture tests that must catch each of them. All are off by
//! default; each switches off one safeguard at one decision point:
//!
//! | knob | the safeguard it removes | where |
//! | --- | --- | --- |
//! | `ack-before-replication` | a write is acknowledged only once every in-sync copy applied it | [`ShardGroup::replicate`] |
//! | `no-term-fencing` | a replica rejects operations of an older primary term | [`super::GroupCopy::receive`] |
//! | `promote-stale-copy` | the master promotes only an in-sync copy | `Master::candidate` |
//! | `arrival-order` | a replica orders each document's operations by `_seq_no` ([`ReplicaOrder::plan`]); a promotion keeps the documents as held | `GroupCopy::receive`, `GroupCopy::promote` |
//! | `mark-in-sync-early` | a recovering copy is marked in sync only once its local checkpoint reached the global checkpoint (`markAllocationIdAsInSync`) | [`ShardGroup::recover_replica`] |
//! | `prune-tombstones-early` | a tombstone is pruned only once the copy's local checkpoint passed it ([`tombstone_prunable_unless_early`]) | [`ShardGroup::prune_tombstone`] |
//!
//! They are the model's `ack_before_replication`, `term_fencing: false`, `promote_stale_copy`,
//! `replica_order: arrival`, `mark_in_sync_early` and `prune_tombstones_early`
//! (`src/model/replication.rs`), and break the invariants the catalogue's entries with them
//! refute (`no_lost_acked_write` first). The engine prunes a tombstone on its own only once the
//! global checkpoint passed it and `gc_deletes` elapsed; `prune-tombstones-early` acts where a
//! prune is requested ([`ShardGroup::prune_tombstone`], which the conformance replay drives).

use std::fmt;
use std::str::FromStr;

use super::copy::CopyId;
use super::pending::{PendingWrite, Tally};
use super::ShardGroup;
use crate::engine::WriteOutcome;
use crate::protocol::checkpoint::promotable;
#[cfg(doc)]
use crate::protocol::checkpoint::tombstone_prunable_unless_early;
use crate::protocol::ReplicaOrder;

/// One knob, as `--unsafe` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnsafeKnob {
    AckBeforeReplication,
    NoTermFencing,
    PromoteStaleCopy,
    ArrivalOrder,
    MarkInSyncEarly,
    PruneTombstonesEarly,
}

impl UnsafeKnob {
    pub const ALL: [UnsafeKnob; 6] = [
        UnsafeKnob::AckBeforeReplication,
        UnsafeKnob::NoTermFencing,
        UnsafeKnob::PromoteStaleCopy,
        UnsafeKnob::ArrivalOrder,
        UnsafeKnob::MarkInSyncEarly,
        UnsafeKnob::PruneTombstonesEarly,
    ];

    pub fn name(self) -> &'static str {
        match self {
            UnsafeKnob::AckBeforeReplication => "ack-before-replication",
            UnsafeKnob::NoTermFencing => "no-term-fencing",
            UnsafeKnob::PromoteStaleCopy => "promote-stale-copy",
            UnsafeKnob::ArrivalOrder => "arrival-order",
            UnsafeKnob::MarkInSyncEarly => "mark-in-sync-early",
            UnsafeKnob::PruneTombstonesEarly => "prune-tombstones-early",
        }
    }
}

impl fmt::Display for UnsafeKnob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for UnsafeKnob {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        UnsafeKnob::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = UnsafeKnob::ALL.iter().map(|k| k.name()).collect();
                format!("unknown knob `{s}`, expected one of {}", names.join(", "))
            })
    }
}

/// Which safeguards a group runs without. `Unsafe::default()` is the safe protocol.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unsafe {
    pub ack_before_replication: bool,
    pub no_term_fencing: bool,
    pub promote_stale_copy: bool,
    pub arrival_order: bool,
    pub mark_in_sync_early: bool,
    pub prune_tombstones_early: bool,
}

impl Unsafe {
    /// The knobs in `knobs` switched on.
    pub fn of(knobs: &[UnsafeKnob]) -> Unsafe {
        let on = |k| knobs.contains(&k);
        Unsafe {
            ack_before_replication: on(UnsafeKnob::AckBeforeReplication),
            no_term_fencing: on(UnsafeKnob::NoTermFencing),
            promote_stale_copy: on(UnsafeKnob::PromoteStaleCopy),
            arrival_order: on(UnsafeKnob::ArrivalOrder),
            mark_in_sync_early: on(UnsafeKnob::MarkInSyncEarly),
            prune_tombstones_early: on(UnsafeKnob::PruneTombstonesEarly),
        }
    }

    /// The knobs switched on, in [`UnsafeKnob::ALL`]'s order.
    pub fn knobs(&self) -> Vec<UnsafeKnob> {
        UnsafeKnob::ALL
            .into_iter()
            .filter(|&k| match k {
                UnsafeKnob::AckBeforeReplication => self.ack_before_replication,
                UnsafeKnob::NoTermFencing => self.no_term_fencing,
                UnsafeKnob::PromoteStaleCopy => self.promote_stale_copy,
                UnsafeKnob::ArrivalOrder => self.arrival_order,
                UnsafeKnob::MarkInSyncEarly => self.mark_in_sync_early,
                UnsafeKnob::PruneTombstonesEarly => self.prune_tombstones_early,
            })
            .collect()
    }

    pub fn is_safe(&self) -> bool {
        *self == Unsafe::default()
    }

    /// How a replica orders each document's operations (`arrival-order`).
    pub(crate) fn replica_order(&self) -> ReplicaOrder {
        match self.arrival_order {
            true => ReplicaOrder::Arrival,
            false => ReplicaOrder::SeqNo,
        }
    }

    /// Whether the master may promote `copy` ([`promotable`], or with `promote-stale-copy` any
    /// copy but the failed primary).
    pub(crate) fn promotable(&self, in_sync: bool, is_failed_primary: bool) -> bool {
        (self.promote_stale_copy && !is_failed_primary) || promotable(in_sync, is_failed_primary)
    }

    /// The order the master tries candidates in: with `promote-stale-copy`, copies outside the
    /// in-sync set first (so the bug shows whenever a stale copy exists: Elasticsearch's
    /// `allocate_stale_primary` done by the master itself), else the in-sync ones, lowest id first.
    pub(crate) fn candidates(
        &self,
        copies: usize,
        in_sync: impl Fn(CopyId) -> bool,
    ) -> impl Iterator<Item = CopyId> {
        let stale_first = self.promote_stale_copy;
        let (stale, fresh): (Vec<CopyId>, Vec<CopyId>) = (0..copies).partition(|&c| !in_sync(c));
        let order = match stale_first {
            true => [stale, fresh],
            false => [fresh, stale],
        };
        order.into_iter().flatten()
    }
}

impl ShardGroup {
    /// The group without the safeguards `knobs` switches off.
    pub fn with_unsafe(mut self, knobs: Unsafe) -> Self {
        self.knobs = knobs;
        self
    }

    /// The safeguards this group runs without.
    pub fn unsafe_knobs(&self) -> Unsafe {
        self.knobs
    }

    /// `ack-before-replication`: the client's answer as soon as the primary applied the write,
    /// whatever its replicas do with the requests already sent.
    pub(super) fn acknowledged_early(&self, from: CopyId, outcome: WriteOutcome) -> PendingWrite {
        let tally = Tally {
            outcome,
            targets: Vec::new(),
            applied: Vec::new(),
            failed: Vec::new(),
            demoted: None,
        };
        PendingWrite::concluded(self.conclude(from, tally))
    }
}

#[cfg(all(test, not(esocc_loom)))]
mod tests {
    use super::*;
    use crate::engine::group::Role;
    use crate::engine::{LinkFault, ShardId, Source, Write};
    use crate::protocol::Condition;

    fn group(knobs: Unsafe) -> ShardGroup {
        ShardGroup::new(ShardId::new("i", "u", 0), 2, 2).with_unsafe(knobs)
    }

    fn index(id: &str) -> Write {
        let source: Source = std::sync::Arc::new(serde_json::Map::new().into());
        Write::Index {
            id: id.into(),
            source,
            condition: Condition::None,
        }
    }

    fn found(g: &ShardGroup, id: &str) -> bool {
        g.get(id).is_ok_and(|r| r.found)
    }

    /// Replication to copy 1 (the master's next primary) is held, a write comes, the primary
    /// fails: was the write acknowledged, and does the new primary have it?
    fn write_then_fail_over(knobs: Unsafe) -> (bool, bool) {
        let g = group(knobs);
        g.set_link(1, LinkFault::Delay).unwrap();
        let pending = g.submit(index("1"));
        let acknowledged = pending.outcome().is_some_and(|o| o.result.is_ok());
        assert_eq!(g.fail_primary().unwrap().promoted, 1);
        g.set_link(1, LinkFault::Deliver).unwrap();
        g.release(1).unwrap();
        (acknowledged, found(&g, "1"))
    }

    #[test]
    fn ack_before_replication_acknowledges_a_write_the_failover_loses() {
        assert_eq!(write_then_fail_over(Unsafe::default()), (false, false));
        let knobs = Unsafe::of(&[UnsafeKnob::AckBeforeReplication]);
        assert_eq!(
            write_then_fail_over(knobs),
            (true, false),
            "acked, then lost"
        );
    }

    /// The primary is isolated (copy 1 promoted) and keeps taking a write: is it acknowledged,
    /// and does the isolated primary stay primary?
    fn write_on_isolated_primary(knobs: Unsafe) -> (bool, Role) {
        let g = group(knobs);
        assert_eq!(g.isolate_primary().unwrap().promoted, 1);
        let outcome = g.submit_at(0, index("1")).wait();
        (outcome.result.is_ok(), g.copy(0).unwrap().role())
    }

    #[test]
    fn no_term_fencing_acknowledges_writes_of_a_demoted_primary() {
        assert_eq!(
            write_on_isolated_primary(Unsafe::default()),
            (false, Role::Failed)
        );
        let knobs = Unsafe::of(&[UnsafeKnob::NoTermFencing]);
        assert_eq!(write_on_isolated_primary(knobs), (true, Role::Primary));
    }

    /// Copy 1 fails, a write is acknowledged by 0 and 2, the primary fails: which copy is
    /// promoted, and does it have the write?
    fn replica_fails_then_primary(knobs: Unsafe) -> (CopyId, bool) {
        let g = group(knobs);
        g.fail_replica(1).unwrap();
        assert!(g.submit(index("1")).wait().result.is_ok());
        let promoted = g.fail_primary().unwrap().promoted;
        (promoted, found(&g, "1"))
    }

    #[test]
    fn promote_stale_copy_promotes_a_copy_that_missed_acknowledged_writes() {
        assert_eq!(replica_fails_then_primary(Unsafe::default()), (2, true));
        let knobs = Unsafe::of(&[UnsafeKnob::PromoteStaleCopy]);
        assert_eq!(replica_fails_then_primary(knobs), (1, false));
    }

    fn delete(id: &str) -> Write {
        Write::Delete {
            id: id.into(),
            condition: Condition::None,
        }
    }

    /// Two writes of one document reach copy 1 newest first: which `_seq_no` does it hold?
    fn reordered_on_the_replica(knobs: Unsafe) -> i64 {
        let g = group(knobs);
        g.set_link(1, LinkFault::Reorder).unwrap();
        g.submit(index("1"));
        g.submit(index("1"));
        g.release(1).unwrap();
        let meta = g.copy(1).unwrap().with_engine(|e| e.doc_meta("1"));
        meta.unwrap().seq_no
    }

    #[test]
    fn arrival_order_lets_a_late_older_write_replace_the_newer_one() {
        assert_eq!(reordered_on_the_replica(Unsafe::default()), 1);
        let knobs = Unsafe::of(&[UnsafeKnob::ArrivalOrder]);
        assert_eq!(reordered_on_the_replica(knobs), 0);
    }

    /// Copy 1 fails, a write is acknowledged by 0 and 2, copy 1 starts recovering with its link
    /// held: is it in the master's in-sync set already?
    fn in_sync_while_recovering(knobs: Unsafe) -> bool {
        let g = group(knobs);
        g.fail_replica(1).unwrap();
        assert!(g.submit(index("1")).wait().result.is_ok());
        g.set_link(1, LinkFault::Delay).unwrap();
        g.recover_replica(1).unwrap();
        g.in_sync().contains(&1)
    }

    #[test]
    fn mark_in_sync_early_counts_a_copy_in_sync_before_it_caught_up() {
        assert!(!in_sync_while_recovering(Unsafe::default()));
        let knobs = Unsafe::of(&[UnsafeKnob::MarkInSyncEarly]);
        assert!(in_sync_while_recovering(knobs));
    }

    /// An index and its delete reach copy 1 delete first; copy 1 is asked to prune the
    /// tombstone before the index arrives: is it pruned, and is the document back afterwards?
    fn prune_before_the_index_arrives(knobs: Unsafe) -> (bool, bool) {
        let g = group(knobs);
        g.set_link(1, LinkFault::Reorder).unwrap();
        g.submit(index("1"));
        g.submit(delete("1"));
        assert!(g.release_one(1).unwrap(), "the delete");
        let pruned = g.prune_tombstone(1, "1").unwrap();
        g.release(1).unwrap();
        let back = g.copy(1).unwrap().with_engine(|e| e.get("1").found);
        (pruned, back)
    }

    #[test]
    fn prune_tombstones_early_lets_a_late_index_resurrect_the_document() {
        assert_eq!(
            prune_before_the_index_arrives(Unsafe::default()),
            (false, false)
        );
        let knobs = Unsafe::of(&[UnsafeKnob::PruneTombstonesEarly]);
        assert_eq!(prune_before_the_index_arrives(knobs), (true, true));
    }

    #[test]
    fn knobs_parse_by_name_and_round_trip() {
        for knob in UnsafeKnob::ALL {
            assert_eq!(knob.name().parse::<UnsafeKnob>(), Ok(knob));
            assert_eq!(Unsafe::of(&[knob]).knobs(), vec![knob]);
        }
        let error = "ack".parse::<UnsafeKnob>().unwrap_err();
        assert_eq!(
            error,
            "unknown knob `ack`, expected one of ack-before-replication, no-term-fencing, promote-stale-copy, arrival-order, mark-in-sync-early, prune-tombstones-early"
        );
        assert!(Unsafe::default().is_safe());
        assert!(!Unsafe::of(&[UnsafeKnob::NoTermFencing]).is_safe());
    }

    #[test]
    fn only_promote_stale_copy_lets_the_master_promote_a_copy_out_of_sync() {
        let safe = Unsafe::default();
        let stale = Unsafe::of(&[UnsafeKnob::PromoteStaleCopy]);
        assert!(!safe.promotable(false, false));
        assert!(stale.promotable(false, false));
        assert!(!stale.promotable(true, true), "never the failed primary");
        let in_sync = |c: CopyId| c != 1;
        assert_eq!(safe.candidates(3, in_sync).collect::<Vec<_>>(), [0, 2, 1]);
        assert_eq!(stale.candidates(3, in_sync).collect::<Vec<_>>(), [1, 0, 2]);
    }
}
