//! Which 409s are indefinite: those a failover may have re-routed.
//!
//! When a write's primary fails, Elasticsearch's coordinating node re-routes it to the new
//! primary (`TransportReplicationAction.ReroutePhase` retries on `ShardNotInPrimaryModeException`
//! and a closed or failed shard), which executes it again from scratch
//! (`TransportShardBulkAction`, `InternalEngine.index`). If the first execution already reached the
//! promoted copy, a conditional write or an `op_type=create` then fails its own check: a **409 for
//! a write that happened**. So a 409 says "nothing was written" only when no promotion can have
//! happened while it was in flight. It is *indefinite* (may have taken effect, like a timeout)
//! when either
//!
//! * **a fault that changes the primary overlaps it**: a nemesis period whose start or stop is
//!   `fail_primary` or `isolate_primary` (`failover`, `isolate`, `lagging-failover`, `mixed`), or
//!   any `--nemesis-cmd` period (the user's command may kill or pause a node), from that event
//!   until the period's stop (an isolated primary keeps running until it is fenced); or
//! * **the primary terms cannot exclude a promotion**, for any endpoint (a real cluster also fails
//!   over by itself): terms only grow, so the term in force is at least the highest term seen in an
//!   answer that completed before the 409 was sent, and at most the term of any write acknowledged
//!   after being sent once the 409 had answered. The 409 is definite when those two bounds meet,
//!   or when no answer of the history names a higher term at all; otherwise a promotion may lie
//!   inside its window.
//!
//! The history of `esocc torture` is of a one-shard index (`run::create_index`), so every
//! answer's term is the shard's; a converted history of several shards must be checked one shard
//! at a time.

use std::collections::HashSet;

use super::history::{History, NemesisEvent, Op};

/// The ids of the 409s that a failover may have re-routed.
pub fn rerouted(history: &History) -> HashSet<u64> {
    let windows = failover_windows(&history.nemesis);
    let terms = Terms::new(&history.ops);
    history
        .ops
        .iter()
        .filter(|op| op.conflict())
        .filter(|op| {
            let (from, to) = span(op);
            overlaps(&windows, op) || terms.may_change(from, to)
        })
        .map(Op::id)
        .collect()
}

/// The ids of the writes that a fault changing the primary overlapped: the coordinating node
/// may have re-sent them to the new primary, which executes them again.
pub fn overlapped_by_failover(history: &History) -> HashSet<u64> {
    let windows = failover_windows(&history.nemesis);
    history
        .ops
        .iter()
        .filter(|op| op.kind().is_write() && overlaps(&windows, op))
        .map(Op::id)
        .collect()
}

/// An operation's time span, open-ended when it never completed.
fn span(op: &Op) -> (u64, u64) {
    (op.invoke.time_ns, op.complete_ns.unwrap_or(u64::MAX))
}

fn overlaps(windows: &[(u64, u64)], op: &Op) -> bool {
    let (from, to) = span(op);
    windows.iter().any(|(s, e)| *s <= to && from <= *e)
}

/// Whether a nemesis event changes (or may change) the primary.
fn changes_primary(event: &NemesisEvent) -> bool {
    event.value.starts_with("fail_primary")
        || event.value.starts_with("isolate_primary")
        || event.value.starts_with("sh -c ")
}

/// The time spans of the faults that may change the primary: from the moment the event that
/// does was sent to the answer of the stop of its period (the end of the history when it never stopped).
fn failover_windows(events: &[NemesisEvent]) -> Vec<(u64, u64)> {
    let mut windows = Vec::new();
    let mut open: Option<u64> = None;
    for event in events {
        if changes_primary(event) {
            open.get_or_insert(event.began());
        }
        if event.f == "stop" {
            if let Some(start) = open.take() {
                windows.push((start, event.time_ns));
            }
        }
    }
    if let Some(start) = open {
        windows.push((start, u64::MAX));
    }
    windows
}

/// The primary terms the answers reveal, indexed so that each question is two binary searches.
struct Terms {
    /// Completion times of every answer naming a change id, sorted.
    seen_at: Vec<u64>,
    /// `seen_max[i]`: the highest term among the first `i` of those answers.
    seen_max: Vec<u64>,
    /// Invocation times of every acknowledged write, sorted.
    acked_at: Vec<u64>,
    /// `acked_min[i]`: the lowest term among the acknowledged writes from the `i`-th on.
    acked_min: Vec<Option<u64>>,
    highest: u64,
}

impl Terms {
    fn new(ops: &[Op]) -> Terms {
        let mut seen: Vec<(u64, u64)> = ops
            .iter()
            .filter_map(|op| Some((op.complete_ns?, op.completion.change?.primary_term)))
            .collect();
        seen.sort_unstable();
        let mut acked: Vec<(u64, u64)> = ops
            .iter()
            .filter_map(|op| Some((op.invoke.time_ns, op.acked_write()?.primary_term)))
            .collect();
        acked.sort_unstable();
        let seen_max: Vec<u64> = std::iter::once(0)
            .chain(seen.iter().scan(0, |max, (_, term)| {
                *max = (*max).max(*term);
                Some(*max)
            }))
            .collect();
        let mut acked_min: Vec<Option<u64>> = acked
            .iter()
            .rev()
            .scan(None, |min: &mut Option<u64>, (_, term)| {
                *min = Some(min.map_or(*term, |m| m.min(*term)));
                Some(*min)
            })
            .collect();
        acked_min.reverse();
        acked_min.push(None);
        Terms {
            highest: seen_max.last().copied().unwrap_or(0),
            seen_at: seen.iter().map(|(t, _)| *t).collect(),
            seen_max,
            acked_at: acked.iter().map(|(t, _)| *t).collect(),
            acked_min,
        }
    }

    /// Whether a promotion may have happened between `from` and `to`: some answer shows a
    /// higher term than every answer completed before `from`, and no write invoked after `to`
    /// was acknowledged in a term at most that.
    fn may_change(&self, from: u64, to: u64) -> bool {
        let before = self.seen_max[self.seen_at.partition_point(|t| *t < from)];
        let after = self.acked_min[self.acked_at.partition_point(|t| *t <= to)];
        self.highest > before && after.is_none_or(|after| after > before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(nemesis: &str, term_after: u64) -> History {
        History::parse(&format!(
            r#"{{"type":"invoke","op":0,"process":0,"f":"create","key":"a","token":"a","time_ns":0}}
{{"type":"ok","op":0,"time_ns":1,"status":201,"result":"created","change":{{"seq_no":0,"primary_term":1}}}}
{{"type":"invoke","op":1,"process":1,"f":"create","key":"b","token":"b","time_ns":2}}
{nemesis}{{"type":"fail","op":1,"time_ns":5,"status":409}}
{{"type":"invoke","op":2,"process":0,"f":"create","key":"c","token":"c","time_ns":6}}
{{"type":"ok","op":2,"time_ns":7,"status":201,"result":"created","change":{{"seq_no":1,"primary_term":{term_after}}}}}
"#
        ))
        .expect("a valid history")
    }

    #[test]
    fn a_409_is_definite_when_the_term_stayed_and_no_failover_overlapped() {
        assert!(rerouted(&history("", 1)).is_empty());
        let replica = r#"{"type":"nemesis","f":"start","value":"fail_replica/2 → {}","time_ns":3}
"#;
        assert!(rerouted(&history(replica, 1)).is_empty());
    }

    #[test]
    fn a_failover_or_a_new_term_makes_a_409_indefinite() {
        let failover = r#"{"type":"nemesis","f":"start","value":"fail_primary → {}","time_ns":3}
"#;
        assert_eq!(rerouted(&history(failover, 1)), HashSet::from([1]));
        let command = r#"{"type":"nemesis","f":"start","value":"sh -c \"true\" → exit 0","time_ns":3}
"#;
        assert_eq!(rerouted(&history(command, 1)), HashSet::from([1]));
        // No fault recorded, but the next write shows a new term: a promotion the harness did
        // not cause (a real cluster's) may lie inside the 409's window.
        assert_eq!(rerouted(&history("", 2)), HashSet::from([1]));
    }

    #[test]
    fn a_failover_answered_after_the_409_but_sent_before_it_makes_it_indefinite() {
        // Recorded at 6, after the 409 completed at 5; sent at 4, inside its window.
        let sent_before = r#"{"type":"nemesis","f":"start","value":"fail_primary → {}","time_ns":6,"began_ns":4}
"#;
        assert_eq!(rerouted(&history(sent_before, 1)), HashSet::from([1]));
        let sent_after = r#"{"type":"nemesis","f":"start","value":"fail_primary → {}","time_ns":6,"began_ns":6}
"#;
        assert!(rerouted(&history(sent_after, 1)).is_empty());
    }
}
