//! The properties of the replication model, named as in `design.md`: pure predicates over one
//! state and the history it records. Invariants are stateright `always` properties; the
//! reachability goals are `sometimes` properties, the examples that show the model is not
//! vacuous (a model that never acknowledged a write would prove every safety invariant).
//!
//! With more than one document ([`Config::docs`](super::Config::docs)), "the document" below
//! is the document of the write, read or history in question, each judged for every document:
//! linearizability is local (a history is linearizable iff every document's is), so the client
//! history is split by document. The checkpoint, fencing and term properties are about the
//! shard's one `_seq_no` history and are judged over all documents together.
//!
//! Precise statements where the design's one-liners leave a choice:
//! * `no_lost_acked_write`: the document of the master's current primary contains every
//!   acknowledged write.
//! * `rmw_serializable`: on every copy, each processed write's value is the value of the
//!   processed write just below it extended by its own writer, for every pair of writes with
//!   no unprocessed `_seq_no` between them. This is the document's effective history, so a write
//!   that takes effect through promotion replay is judged like one the primary executed. A no-op
//!   between the two (a gap a promotion filled) stands for a write lost with the old primary,
//!   which the later write may have seen: its writer may then appear in the later chain.
//! * `cas_linearizable`, `reads_linearizable`: the recorded client history, closed by a final
//!   read of the master's current primary once every client is done and nothing is in flight.
//! * `change_id_unique`: no two different live changes (the seed and every index a primary executed;
//!   a tombstone reads as missing and gives a client nothing to compare)
//!   share the identity the clients' guard compares — `(_seq_no, _primary_term)` for the real
//!   guard, `_seq_no` or `_version` for the unsafe ones.
//! * `seq_no_monotonic`: every copy's document carries a `_seq_no` at least as high as every
//!   processed write operation's. Applying an operation only adds to what is processed, so this says an
//!   application never lowers the document's `_seq_no`; the rollback to the global checkpoint on
//!   a newer term (`resetEngineToGlobalCheckpoint`) un-processes the operations above it, which
//!   is the one decrease, and is excluded by construction.
//! * `term_fencing`: every operation a copy processed from a request carries a receipt whose
//!   request term is at least the copy's own term at that moment (the replica operation permit,
//!   `IndexShard.acquireReplicaOperationPermit`). The operation's own term is not compared:
//!   a resync and the promotion replay legitimately apply operations of older terms.
//! * `acked_on_in_sync`: every in-sync copy's document contains every acknowledged write,
//!   except on a copy that rolled back on a newer term and awaits the resync, whose history holds
//!   it at the write's `_seq_no` (replication.tla's `AllAckedResponsesStored`).
//! * `checkpoint_safety`: every in-sync copy's global checkpoint is at most every in-sync copy's
//!   local checkpoint, and every `_seq_no` up to a copy's local checkpoint is processed.
//! * `converge_at_quiescence`: with no message in flight, the in-sync copies hold identical
//!   documents (metadata and value), and each has processed every `_seq_no` up to the primary's
//!   highest (no gap is left behind: a `_seq_no` burnt without a no-op would stall every
//!   checkpoint).
//! * `applied_at_most_once`: no copy's document value holds a writer twice (a re-routed write
//!   re-executed on a document that already has its effect would append it again).
//! * `no_stale_acked_read`: every GET's value contains every write acknowledged before the GET
//!   (GETs are atomic steps, so "before it began" is "earlier in the history").
//! * `history_terms_monotonic`: on every copy, the processed index operations' terms never
//!   decrease with `_seq_no`. Elasticsearch: a primary assigns `_seq_no`s above everything it
//!   holds, in its own term (`InternalEngine.generateSeqNoForOperationOnPrimary`), and a replica
//!   trims older-term operations above the new primary's history on resync
//!   (`IndexShard.trimOperationOfPreviousPrimaryTerms`). No-ops are left out, because
//!   Elasticsearch does not keep the strict form: `InternalEngine.fillSeqNoGaps(primaryTerm)`
//!   fills every gap below the promoted copy's max `_seq_no` with a no-op of the *new* term, below
//!   operations of the old one (the model does the same, `protocol::checkpoint::promote`).

use stateright::Property;

use crate::model::Invariant;

use super::history::verdicts;
use std::borrow::Cow;

use super::state::{copies_in, Chain, Doc, DocId, Event, Op, Phase, State, WriterId};
use super::{seed, ReplicationModel};
use crate::protocol::SeqNo;

type P = Property<ReplicationModel>;

/// Every property: the invariants in the order of the design's table, then the reachability
/// goals.
pub fn all() -> Vec<P> {
    vec![
        P::always(Invariant::NoLostAckedWrite.name(), no_lost_acked_write),
        P::always(Invariant::RmwSerializable.name(), rmw_serializable),
        P::always(Invariant::CasLinearizable.name(), |m, s| {
            linearizability(m, s).1
        }),
        P::always(Invariant::ReadsLinearizable.name(), |m, s| {
            linearizability(m, s).0
        }),
        P::always(Invariant::ChangeIdUnique.name(), change_id_unique),
        P::always(Invariant::SeqNoMonotonic.name(), seq_no_monotonic),
        P::always(Invariant::TermFencing.name(), term_fencing),
        P::always(Invariant::AckedOnInSync.name(), acked_on_in_sync),
        P::always(Invariant::CheckpointSafety.name(), checkpoint_safety),
        P::always(
            Invariant::ConvergeAtQuiescence.name(),
            converge_at_quiescence,
        ),
        P::always(
            Invariant::HistoryTermsMonotonic.name(),
            history_terms_monotonic,
        ),
        P::always(Invariant::AppliedAtMostOnce.name(), applied_at_most_once),
        P::always(Invariant::NoStaleAckedRead.name(), no_stale_acked_read),
        P::sometimes(Invariant::ReachAckedWrite.name(), |_, s| s.acked != 0),
        P::sometimes(Invariant::ReachConflict.name(), |_, s| {
            s.history
                .iter()
                .any(|e| matches!(e, Event::Conflict { .. } | Event::Rejected { .. }))
        }),
        P::sometimes(Invariant::ReachFailover.name(), |m, s| {
            s.master.failovers_left < m.config.failovers
        }),
        P::sometimes(Invariant::ReachResyncApplied.name(), |_, s| {
            s.copies.iter().any(|c| c.resynced)
        }),
        P::sometimes(Invariant::ReachReadOfEachWrite.name(), read_of_each_write),
        P::sometimes(Invariant::ReachReroute.name(), |_, s| {
            s.clients
                .iter()
                .any(|c| matches!(c.phase, Phase::Rerouted(_)))
        }),
        P::sometimes(Invariant::ReachRecovery.name(), |_, s| {
            s.copies.iter().any(|c| c.recovered)
        }),
    ]
}

/// The acknowledged writers.
fn acked(s: &State) -> impl Iterator<Item = u8> + '_ {
    (1..=s.changes.len() as u8).filter(|w| s.acked & (1 << w) != 0)
}

/// The run has ended: every client is done and nothing is in flight.
fn ended(s: &State) -> bool {
    s.network.is_empty() && s.clients.iter().all(|c| c.phase == Phase::Done)
}

/// What a final read of `doc` on the master's current primary returns once the run has ended.
fn final_read(s: &State, doc: DocId) -> Option<Option<Chain>> {
    ended(s).then(|| Doc::found(s.copies[usize::from(s.master.primary)].doc(doc)))
}

/// The client history of one document: the events of the operations that target it.
pub(super) fn doc_history<'a>(m: &ReplicationModel, s: &'a State, doc: DocId) -> Cow<'a, [Event]> {
    if m.config.docs == 1 {
        return Cow::Borrowed(&s.history);
    }
    let of_doc = |e: &&Event| m.doc_of_writer(e.thread() + 1) == doc;
    Cow::Owned(s.history.iter().filter(of_doc).copied().collect())
}

/// The two verdicts of [`verdicts`] over every document (linearizability is local: a history is
/// linearizable iff each document's history is).
fn linearizability(m: &ReplicationModel, s: &State) -> (bool, bool) {
    (0..m.config.docs).fold((true, true), |(reads, cas), doc| {
        let (r, c) = verdicts(&doc_history(m, s, doc), final_read(s, doc));
        (reads && r, cas && c)
    })
}

fn no_lost_acked_write(m: &ReplicationModel, s: &State) -> bool {
    let primary = &s.copies[usize::from(s.master.primary)];
    acked(s).all(|w| {
        primary
            .doc(m.doc_of_writer(w))
            .is_some_and(|d| d.value.contains(w))
    })
}

fn rmw_serializable(m: &ReplicationModel, s: &State) -> bool {
    s.copies.iter().all(|copy| {
        // Per document, the write below and the no-ops (gaps a promotion filled) since it; every
        // `_seq_no` since it is processed (a gap forgets them all: nothing to compare across it).
        let mut below: Vec<Option<(Chain, usize)>> = vec![None; usize::from(m.config.docs)];
        let mut previous: Option<SeqNo> = None;
        copy.processed().all(|(seq_no, entry)| {
            if previous.is_none_or(|p| p + 1 != seq_no) {
                below.fill(None);
            }
            previous = Some(seq_no);
            let Op::Write { doc, value, .. } = entry.op else {
                for (_, noops) in below.iter_mut().flatten() {
                    *noops += 1;
                }
                return true;
            };
            let below = &mut below[usize::from(doc)];
            let based_on_below = match *below {
                Some((replaced, noops)) => based_on(value, replaced, noops),
                None => true, // the operation below is not processed yet: nothing to compare
            };
            *below = Some((value, 0));
            based_on_below
        })
    })
}

/// Was `value` (a write's chain) based on `replaced`, the value of the write below it, with
/// `noops` gap-filling no-ops between them? Each no-op stands for a write lost with an old
/// primary, which the write may have seen (then its writer is in the chain, after `replaced`).
fn based_on(value: Chain, replaced: Chain, noops: usize) -> bool {
    let base: Vec<_> = value.writers().collect();
    let Some((_, base)) = base.split_last() else {
        return false; // a write's chain ends with its own writer
    };
    let replaced: Vec<_> = replaced.writers().collect();
    base.starts_with(&replaced) && base.len() <= replaced.len() + noops
}

fn change_id_unique(m: &ReplicationModel, s: &State) -> bool {
    let guard = m.config.guard;
    (0..m.config.docs).all(|doc| {
        let writes = s.changes.iter().enumerate();
        let changes: Vec<_> = std::iter::once(seed(doc).meta)
            .chain(
                writes.filter_map(|(i, c)| c.filter(|_| m.doc_of_writer(i as WriterId + 1) == doc)),
            )
            .filter(|meta| !meta.deleted) // a tombstone reads as missing: nothing to compare
            .map(|meta| guard.condition(Some(meta)))
            .collect();
        changes
            .iter()
            .enumerate()
            .all(|(i, a)| !changes[i + 1..].contains(a))
    })
}

fn seq_no_monotonic(m: &ReplicationModel, s: &State) -> bool {
    s.copies.iter().all(|copy| {
        (0..m.config.docs).all(|doc| {
            let highest = copy
                .processed()
                .filter(|(_, e)| matches!(e.op, Op::Write { doc: d, .. } if d == doc))
                .map(|(seq_no, _)| seq_no)
                .max();
            highest <= copy.doc(doc).map(|d| d.meta.seq_no)
        })
    })
}

fn term_fencing(_: &ReplicationModel, s: &State) -> bool {
    s.copies.iter().all(|copy| {
        copy.processed()
            .filter_map(|(_, e)| e.receipt)
            .all(|r| r.request_term >= r.own_term)
    })
}

fn acked_on_in_sync(m: &ReplicationModel, s: &State) -> bool {
    acked(s).all(|w| {
        let doc = m.doc_of_writer(w);
        let Some(change) = s.changes[usize::from(w - 1)] else {
            return false;
        };
        copies_in(s.master.in_sync).all(|c| {
            let copy = &s.copies[usize::from(c)];
            let in_doc = copy.doc(doc).is_some_and(|d| d.value.contains(w));
            let in_history = || {
                copy.entry(change.seq_no).is_some_and(|e| {
                    e.term == change.primary_term
                        && matches!(e.op, Op::Write { value, .. } if value.last() == Some(w))
                })
            };
            in_doc || (copy.awaits_resync() && in_history())
        })
    })
}

fn checkpoint_safety(_: &ReplicationModel, s: &State) -> bool {
    let in_sync = || copies_in(s.master.in_sync).map(|c| &s.copies[usize::from(c)]);
    let below_local =
        in_sync().all(|c| in_sync().all(|d| c.global_checkpoint <= d.local_checkpoint));
    let processed = s.copies.iter().all(|c| {
        (0..=c.local_checkpoint).all(|seq_no| c.entry(seq_no).is_some_and(|e| e.processed()))
    });
    below_local && processed
}

fn converge_at_quiescence(_: &ReplicationModel, s: &State) -> bool {
    if !s.network.is_empty() {
        return true;
    }
    let in_sync = || copies_in(s.master.in_sync).map(|c| &s.copies[usize::from(c)]);
    let docs: Vec<Vec<_>> = in_sync()
        .map(|c| c.docs.iter().map(|d| Doc::content(*d)).collect())
        .collect();
    let highest = s.copies[usize::from(s.master.primary)].max_seq_no();
    docs.windows(2).all(|pair| pair[0] == pair[1])
        && in_sync().all(|c| c.local_checkpoint == highest)
}

fn history_terms_monotonic(_: &ReplicationModel, s: &State) -> bool {
    s.copies.iter().all(|copy| {
        let terms: Vec<_> = copy
            .processed()
            .filter(|(_, e)| matches!(e.op, Op::Write { .. }))
            .map(|(_, e)| e.term)
            .collect();
        terms.windows(2).all(|pair| pair[0] <= pair[1])
    })
}

fn applied_at_most_once(_: &ReplicationModel, s: &State) -> bool {
    s.copies
        .iter()
        .all(|c| c.docs.iter().flatten().all(|d| !d.value.repeats_a_writer()))
}

fn no_stale_acked_read(m: &ReplicationModel, s: &State) -> bool {
    first_stale_read(m, s).is_none()
}

/// The first GET that lacks a write to its document acknowledged before it: (that writer, the
/// reader's history thread, the value it read).
pub(super) fn first_stale_read(m: &ReplicationModel, s: &State) -> Option<(WriterId, u8, Chain)> {
    let mut acked_before: Vec<WriterId> = Vec::new();
    s.history.iter().find_map(|e| match *e {
        Event::Acked { op } => {
            acked_before.push(op + 1);
            None
        }
        Event::Read { op, value } => {
            let read = value.unwrap_or_default();
            let doc = m.doc_of_writer(op + 1);
            let missing = acked_before
                .iter()
                .filter(|w| m.doc_of_writer(**w) == doc)
                .find(|w| !read.contains(**w))?;
            Some((*missing, op, read))
        }
        _ => None,
    })
}

/// For every client, some read returned a value containing one of its writes.
fn read_of_each_write(m: &ReplicationModel, s: &State) -> bool {
    let read_values = s
        .history
        .iter()
        .filter_map(|e| match e {
            Event::Read { value, .. } => *value,
            _ => None,
        })
        .chain((0..m.config.docs).filter_map(|doc| final_read(s, doc).flatten()));
    let mut seen = 0u16;
    for value in read_values {
        for w in value.writers() {
            seen |= 1 << m.writer_of(w).0;
        }
    }
    seen.count_ones() == u32::from(m.config.clients)
}
