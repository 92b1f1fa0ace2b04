//! The safety properties of the replication model, named as in `design.md`.
//!
//! Properties about transitions (`seq_no_monotonic`, `term_fencing`, `rmw_serializable`) and the
//! linearizability verdicts are observed when the step happens and recorded in
//! [`State::broken`]; the others are judged on each state.
//!
//! Precise statements where the design's one-liners leave a choice:
//! * `no_lost_acked_write`: the current primary's (per the master) document contains every
//!   acknowledged write.
//! * `acked_on_in_sync`: every in-sync copy holds every acknowledged write in its operation
//!   history at the write's `_seq_no`, as replication.tla's `AllAckedResponsesStored`: a replica
//!   that rolled back to the global checkpoint keeps the operation (pending) until the resync.
//! * `seq_no_monotonic`: applying an operation (a client write on a primary, a replicated or
//!   resynced operation on any copy) never lowers that copy's document `_seq_no`. Deliberately
//!   not covered: the rollback to the global checkpoint when a replica learns a newer primary
//!   term (`resetEngineToGlobalCheckpoint`), which Elasticsearch performs and which does lower
//!   the document's `_seq_no` until the new primary's resync re-applies what it keeps. Stating
//!   the invariant over applications keeps it true of Elasticsearch and violable by a replica
//!   that applies operations in arrival order.
//! * `change_id_unique`: no two different changes (the seed and every write a primary executed)
//!   share the identity the clients' guard compares — `(_seq_no, _primary_term)` for the real
//!   guard, `_seq_no` or `_version` for the unsafe ones (two changes share it exactly when the
//!   guard builds the same condition from both).
//! * `checkpoint_safety`: every in-sync copy's global checkpoint is at most every in-sync copy's
//!   local checkpoint, and every `_seq_no` up to a copy's local checkpoint is processed.
//! * `converge_at_quiescence`: with no message in flight, the in-sync copies hold identical
//!   documents (metadata and value).

use stateright::Property;

use crate::model::Invariant;

use super::state::{copies_in, Op, State};
use super::{ReplicationModel, SEED};

type P = Property<ReplicationModel>;

/// Every property, in the order of the design's table.
pub fn all() -> Vec<P> {
    vec![
        P::always(Invariant::NoLostAckedWrite.name(), no_lost_acked_write),
        P::always(Invariant::RmwSerializable.name(), |_, s| {
            !s.broken.has(Invariant::RmwSerializable)
        }),
        P::always(Invariant::CasLinearizable.name(), |_, s| {
            !s.broken.has(Invariant::CasLinearizable)
        }),
        P::always(Invariant::ReadsLinearizable.name(), |_, s| {
            !s.broken.has(Invariant::ReadsLinearizable)
        }),
        P::always(Invariant::ChangeIdUnique.name(), change_id_unique),
        P::always(Invariant::SeqNoMonotonic.name(), |_, s| {
            !s.broken.has(Invariant::SeqNoMonotonic)
        }),
        P::always(Invariant::TermFencing.name(), |_, s| {
            !s.broken.has(Invariant::TermFencing)
        }),
        P::always(Invariant::AckedOnInSync.name(), acked_on_in_sync),
        P::always(Invariant::CheckpointSafety.name(), checkpoint_safety),
        P::always(
            Invariant::ConvergeAtQuiescence.name(),
            converge_at_quiescence,
        ),
    ]
}

/// The acknowledged writers.
fn acked(s: &State) -> impl Iterator<Item = u8> + '_ {
    (1..=s.changes.len() as u8).filter(|w| s.acked & (1 << w) != 0)
}

fn no_lost_acked_write(_: &ReplicationModel, s: &State) -> bool {
    let doc = s.copies[usize::from(s.master.primary)].doc;
    acked(s).all(|w| doc.is_some_and(|d| d.value.contains(w)))
}

fn acked_on_in_sync(_: &ReplicationModel, s: &State) -> bool {
    acked(s).all(|w| {
        let Some(change) = s.changes[usize::from(w - 1)] else {
            return false;
        };
        copies_in(s.master.in_sync).all(|c| {
            s.copies[usize::from(c)]
                .entry(change.seq_no)
                .is_some_and(|e| {
                    e.term == change.primary_term
                        && matches!(e.op, Op::Write { value, .. } if value.last() == Some(w))
                })
        })
    })
}

fn change_id_unique(m: &ReplicationModel, s: &State) -> bool {
    let guard = m.config.guard;
    let changes: Vec<_> = std::iter::once(SEED.meta)
        .chain(s.changes.iter().flatten().copied())
        .map(|meta| guard.condition(Some(meta)))
        .collect();
    changes
        .iter()
        .enumerate()
        .all(|(i, a)| !changes[i + 1..].contains(a))
}

fn checkpoint_safety(_: &ReplicationModel, s: &State) -> bool {
    let in_sync = || copies_in(s.master.in_sync).map(|c| &s.copies[usize::from(c)]);
    let below_local =
        in_sync().all(|c| in_sync().all(|d| c.global_checkpoint <= d.local_checkpoint));
    let processed = s.copies.iter().all(|c| {
        (0..=c.local_checkpoint).all(|seq_no| c.entry(seq_no).is_some_and(|e| !e.pending))
    });
    below_local && processed
}

fn converge_at_quiescence(_: &ReplicationModel, s: &State) -> bool {
    if !s.network.is_empty() {
        return true;
    }
    let docs: Vec<_> = copies_in(s.master.in_sync)
        .map(|c| s.copies[usize::from(c)].doc)
        .collect();
    docs.windows(2).all(|pair| pair[0] == pair[1])
}
