//! The OCC-aware checker: what `(_seq_no, _primary_term)` reveals, found without search.
//!
//! Every acknowledged write's change id fixes its place in its document's version order (by
//! `_seq_no`), every read names the version it saw, and every write carries a unique token, so
//! each check below is a sort, a map or a binary search over one document's operations:
//!
//! | anomaly | invariant | witness |
//! | --- | --- | --- |
//! | two different changes with one change id | `change_id_unique` | the two writes, or a write and a read (or two reads) that disagree on the version's content |
//! | a token applied at two versions | `applied_at_most_once` | the write and the reads that saw it twice (or earlier than it was acknowledged) |
//! | a 409 for a write whose token is in the document | `cas_linearizable` | the 409 and the read that saw the token |
//! | another definite failure that took effect | — | the failed write and the read |
//! | a token no operation wrote | — | the read |
//! | an acknowledged write replaced without being seen | `no_lost_acked_write` | the lost write and the conditional write (or create) that replaced the version before it |
//! | an acknowledged update missing from a later version | `no_lost_acked_write` | the update and the read |
//! | a read older than a write acknowledged before it began | `no_stale_acked_read` (a final read: `no_lost_acked_write`) | the write and the read |
//! | final reads of one key that differ between nodes | `converge_at_quiescence` | the two reads |
//!
//! Every check is conservative: an indefinite operation may have taken effect, so it can explain
//! a version, never be blamed for one.

use std::collections::HashMap;

use super::anomaly::Anomaly;
use super::history::{ChangeId, Kind, Op, Outcome};

/// Check one document's operations (in history order).
pub fn check_key(key: &str, ops: &[&Op]) -> Vec<Anomaly> {
    let mut found = Vec::new();
    let by_token: HashMap<&str, &Op> = ops
        .iter()
        .filter_map(|op| op.invoke.token.as_deref().map(|t| (t, *op)))
        .collect();
    change_ids(key, ops, &mut found);
    tokens(key, ops, &by_token, &mut found);
    replaced_unseen(key, ops, &mut found);
    merged_lost(key, ops, &mut found);
    stale_reads(key, ops, &mut found);
    divergent_finals(key, ops, &mut found);
    found
}

fn reads<'a>(ops: &'a [&'a Op]) -> impl Iterator<Item = (&'a Op, ChangeId, &'a [String])> + 'a {
    ops.iter().filter_map(|op| match op.read() {
        Some(Some((change, tokens))) => Some((*op, change, tokens)),
        _ => None,
    })
}

/// `change_id_unique`: one change id, one change.
fn change_ids(key: &str, ops: &[&Op], found: &mut Vec<Anomaly>) {
    let mut writes: HashMap<ChangeId, &Op> = HashMap::new();
    for op in ops {
        if let Some(change) = op.acked_write() {
            if let Some(first) = writes.insert(change, op) {
                found.push(Anomaly::new(
                    "duplicate change id",
                    Some("change_id_unique"),
                    key,
                    format!("two different writes were both acknowledged with change id {change}"),
                    vec![first.id(), op.id()],
                ));
            }
        }
    }
    let mut seen: HashMap<ChangeId, (&Op, &[String])> = HashMap::new();
    for (read, change, tokens) in reads(ops) {
        match seen.get(&change) {
            Some((first, first_tokens)) if !same_set(first_tokens, tokens) => {
                found.push(Anomaly::new(
                    "duplicate change id",
                    Some("change_id_unique"),
                    key,
                    format!("two reads of change id {change} returned different documents"),
                    vec![first.id(), read.id()],
                ));
            }
            Some(_) => {}
            None => {
                seen.insert(change, (read, tokens));
            }
        }
        let Some(write) = writes.get(&change) else {
            continue;
        };
        let token = write.invoke.token.as_deref();
        let consistent = match write.kind() {
            Kind::Index | Kind::Create => tokens.len() == 1 && token == Some(tokens[0].as_str()),
            Kind::Update => token.is_some_and(|t| tokens.iter().any(|x| x == t)),
            Kind::Delete | Kind::Read => false,
        };
        if !consistent {
            found.push(Anomaly::new(
                "duplicate change id",
                Some("change_id_unique"),
                key,
                format!(
                    "the read of change id {change} does not show the write acknowledged with it"
                ),
                vec![write.id(), read.id()],
            ));
        }
    }
}

fn same_set(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// Phantom values, phantom failures and double applies: where each token was seen.
fn tokens(key: &str, ops: &[&Op], by_token: &HashMap<&str, &Op>, found: &mut Vec<Anomaly>) {
    // token → the first read (by version) that showed it, per version seen.
    let mut first_seen: HashMap<&str, Vec<(ChangeId, &Op)>> = HashMap::new();
    for (read, change, tokens) in reads(ops) {
        for token in tokens {
            let versions = first_seen.entry(token.as_str()).or_default();
            if !versions.iter().any(|(c, _)| *c == change) {
                versions.push((change, read));
            }
        }
    }
    // Updates merge into a replaced document, so there its token legitimately stays.
    let merged = ops.iter().any(|op| op.kind() == Kind::Update);
    let mut names: Vec<&&str> = first_seen.keys().collect();
    names.sort();
    for token in names {
        let versions = &first_seen[*token];
        let earliest = versions.iter().min_by_key(|(c, _)| *c).expect("non-empty");
        let Some(write) = by_token.get(*token) else {
            found.push(Anomaly::new(
                "phantom value",
                None,
                key,
                format!("a read returned token {token}, which no operation on this document wrote"),
                vec![earliest.1.id()],
            ));
            continue;
        };
        if write.conflict() {
            found.push(Anomaly::new(
                "phantom 409",
                Some("cas_linearizable"),
                key,
                format!(
                    "the write of {token} was answered 409, yet a read shows it at {}",
                    earliest.0
                ),
                vec![write.id(), earliest.1.id()],
            ));
        } else if write.outcome == Outcome::Fail {
            found.push(Anomaly::new(
                "phantom failure",
                None,
                key,
                format!(
                    "the write of {token} failed definitely, yet a read shows it at {}",
                    earliest.0
                ),
                vec![write.id(), earliest.1.id()],
            ));
        }
        let acked = write.acked_write();
        if let Some(acked) = acked.filter(|a| earliest.0 < *a) {
            found.push(Anomaly::new(
                "double apply",
                Some("applied_at_most_once"),
                key,
                format!(
                    "{token} was acknowledged at {acked} but a read shows it already at {}",
                    earliest.0
                ),
                vec![write.id(), earliest.1.id()],
            ));
        } else if write.kind().replaces() && versions.len() > 1 && !merged {
            let mut two: Vec<&(ChangeId, &Op)> = versions.iter().collect();
            two.sort_by_key(|(c, _)| *c);
            found.push(Anomaly::new(
                "double apply",
                Some("applied_at_most_once"),
                key,
                format!(
                    "{token} replaced the document once, yet reads show it as versions {} and {}",
                    two[0].0, two[1].0
                ),
                vec![write.id(), two[0].1.id(), two[1].1.id()],
            ));
        }
    }
}

/// The acknowledged writes of a document, by change id.
fn acked_by_seq<'a>(ops: &[&'a Op]) -> Vec<(ChangeId, &'a Op)> {
    let mut acked: Vec<(ChangeId, &Op)> = ops
        .iter()
        .filter_map(|op| op.acked_write().map(|c| (c, *op)))
        .collect();
    acked.sort_by_key(|(c, _)| *c);
    acked
}

/// `no_lost_acked_write` for replacing writes: a conditional write (or a create) replaced the
/// version it was based on, so no acknowledged write may sit between that version and it.
fn replaced_unseen(key: &str, ops: &[&Op], found: &mut Vec<Anomaly>) {
    let acked = acked_by_seq(ops);
    for (i, (change, write)) in acked.iter().enumerate() {
        let between = match write.kind() {
            Kind::Index | Kind::Delete => {
                let Some(base) = write.invoke.condition else {
                    continue;
                };
                acked[..i]
                    .iter()
                    .rev()
                    .take_while(|(c, _)| c.seq_no > base.seq_no)
                    .find(|(c, _)| c.seq_no < change.seq_no)
            }
            // A create replaced an absent document: the write before it must be a delete, or
            // an unacknowledged delete may have come between.
            Kind::Create => acked[..i].last().filter(|(c, w)| {
                w.kind() != Kind::Delete
                    && c.seq_no < change.seq_no
                    && !ops.iter().any(|d| {
                        d.kind() == Kind::Delete
                            && d.outcome == Outcome::Info
                            && d.completion
                                .change
                                .is_none_or(|x| c.seq_no < x.seq_no && x.seq_no < change.seq_no)
                    })
            }),
            Kind::Update | Kind::Read => None,
        };
        if let Some((lost_change, lost)) = between {
            let base = match write.invoke.condition {
                Some(base) => format!("version {base}"),
                None => "an absent document".to_string(),
            };
            found.push(Anomaly::new(
                "lost acked write",
                Some("no_lost_acked_write"),
                key,
                format!(
                    "the {} acknowledged at {change} replaced {base}, but the write acknowledged at {lost_change} came between: it was overwritten unseen",
                    write.kind().name()
                ),
                vec![lost.id(), write.id()],
            ));
        }
    }
}

/// `no_lost_acked_write` for merging writes (keys written only by `_update`): every later
/// version holds every acknowledged update's token.
fn merged_lost(key: &str, ops: &[&Op], found: &mut Vec<Anomaly>) {
    if ops
        .iter()
        .any(|op| op.kind().is_write() && op.kind() != Kind::Update)
    {
        return;
    }
    let acked = acked_by_seq(ops);
    let mut reads: Vec<(ChangeId, &Op, &[String])> =
        reads(ops).map(|(op, c, t)| (c, op, t)).collect();
    reads.sort_by_key(|(c, op, _)| (*c, op.id()));
    let mut reported = std::collections::HashSet::new();
    for (change, read, tokens) in reads {
        for (acked_change, update) in acked.iter().take_while(|(c, _)| c.seq_no < change.seq_no) {
            let token = update.invoke.token.as_deref().unwrap_or("");
            if !tokens.iter().any(|t| t == token) && reported.insert(update.id()) {
                found.push(Anomaly::new(
                    "lost acked write",
                    Some("no_lost_acked_write"),
                    key,
                    format!(
                        "the update adding {token} was acknowledged at {acked_change}, but the later version {change} does not hold it"
                    ),
                    vec![update.id(), read.id()],
                ));
            }
        }
    }
}

/// `no_stale_acked_read`: a read may not return a version older than a write acknowledged
/// before the read began. A final read that does has lost the write (`no_lost_acked_write`).
fn stale_reads(key: &str, ops: &[&Op], found: &mut Vec<Anomaly>) {
    // Acknowledged writes by completion time, with the newest change acknowledged so far.
    let mut acked: Vec<(u64, ChangeId, &Op)> = ops
        .iter()
        .filter_map(|op| Some((op.complete_ns?, op.acked_write()?, *op)))
        .collect();
    acked.sort_by_key(|(t, _, _)| *t);
    let mut newest: Vec<(u64, ChangeId, &Op)> = Vec::with_capacity(acked.len());
    for (t, change, op) in acked {
        match newest.last() {
            Some((_, best, _)) if *best >= change => {
                let last = *newest.last().expect("non-empty");
                newest.push((t, last.1, last.2));
            }
            _ => newest.push((t, change, op)),
        }
    }
    // Deletes that may have happened (acknowledged, or indefinite), for reads that found nothing.
    let deletes: Vec<&Op> = ops
        .iter()
        .filter(|op| op.kind() == Kind::Delete && op.outcome != Outcome::Fail)
        .copied()
        .collect();
    for op in ops {
        let Some(read) = op.read() else { continue };
        let before = newest.partition_point(|(t, _, _)| *t < op.invoke.time_ns);
        let Some((_, change, write)) = before.checked_sub(1).map(|i| newest[i]) else {
            continue;
        };
        let stale = match read {
            Some((seen, _)) => seen.seq_no < change.seq_no,
            None => {
                write.kind() != Kind::Delete
                    && !deletes.iter().any(|d| {
                        d.invoke.time_ns < op.complete_ns.unwrap_or(u64::MAX)
                            && d.completion.change.is_none_or(|c| c.seq_no > change.seq_no)
                    })
            }
        };
        if !stale {
            continue;
        }
        let seen = match read {
            Some((seen, _)) => format!("version {seen}"),
            None => "no document".to_string(),
        };
        let (name, invariant) = if op.invoke.final_read {
            ("lost acked write", "no_lost_acked_write")
        } else {
            ("stale read", "no_stale_acked_read")
        };
        found.push(Anomaly::new(
            name,
            Some(invariant),
            key,
            format!(
                "the read began after the {} acknowledged at {change} and returned {seen}",
                write.kind().name()
            ),
            vec![write.id(), op.id()],
        ));
    }
}

/// `converge_at_quiescence`: the final reads of a key agree on every node.
fn divergent_finals(key: &str, ops: &[&Op], found: &mut Vec<Anomaly>) {
    let finals: Vec<&Op> = ops
        .iter()
        .filter(|op| op.invoke.final_read && op.is_ok())
        .copied()
        .collect();
    let Some(first) = finals.first() else { return };
    let summary = |op: &Op| op.read().map(|r| r.map(|(c, t)| (c, t.to_vec())));
    if let Some(other) = finals.iter().find(|op| summary(op) != summary(first)) {
        found.push(Anomaly::new(
            "divergent copies",
            Some("converge_at_quiescence"),
            key,
            "after the nemesis healed, two nodes returned different documents".into(),
            vec![first.id(), other.id()],
        ));
    }
}
