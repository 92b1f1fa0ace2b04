//! Checking a history: split it per document, run the OCC-aware checker on each, and the
//! linearizability search (with its budget) on each document the OCC checker found clean.
//! First the 409s a failover may have re-routed ([`reroute`]) become indefinite: under a failover
//! Elasticsearch answers 409 for a write that took effect, so such a 409 is no anomaly; one whose
//! token a read shows is listed apart, as Elasticsearch's behaviour. So is a write a failover
//! overlapped that reads show executed twice (`applied_at_most_once`): the coordinating node
//! re-sent it, and the new primary executed it again.
//!
//! Documents are independent (Elasticsearch's conditions are per document), so a history is
//! linearizable when each document's sub-history is: the split is what keeps the search small.

use std::collections::BTreeMap;

use serde::Serialize;

use super::anomaly::{Anomaly, Verdict};
use super::history::{History, Kind, Op, Outcome};
use super::occ;
use super::reroute;
use super::wgl::{self, Budget};

/// What the checkers found.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    pub verdict: Verdict,
    pub anomalies: Vec<Anomaly>,
    pub ops: usize,
    pub keys: usize,
    /// ok, fail, info operations.
    pub ok: usize,
    pub fail: usize,
    pub info: usize,
    /// Documents the linearizability search proved linearizable.
    pub linearizable_keys: usize,
    /// Documents whose search ran out of budget.
    pub unknown_keys: Vec<String>,
    /// What is Elasticsearch's behaviour, not an anomaly: 409s for re-routed writes that took
    /// effect (a read shows their token), and writes a failover overlapped that reads show
    /// executed twice.
    pub behaviours: Vec<Anomaly>,
}

/// The history the checkers see: each 409 a failover may have re-routed is indefinite.
fn with_reroutes_indefinite(history: &History) -> (Vec<Op>, Vec<u64>) {
    let rerouted = reroute::rerouted(history);
    let mut ids: Vec<u64> = rerouted.iter().copied().collect();
    ids.sort_unstable();
    let ops = history
        .ops
        .iter()
        .map(|op| {
            let mut op = op.clone();
            if rerouted.contains(&op.id()) {
                op.outcome = Outcome::Info;
                op.complete_ns = None;
            }
            op
        })
        .collect();
    (ops, ids)
}

/// The re-routed 409s whose token a read shows: the write took effect, as Elasticsearch allows.
fn took_effect(ops: &[Op], rerouted: &[u64]) -> Vec<Anomaly> {
    rerouted
        .iter()
        .filter_map(|id| {
            let write = ops.iter().find(|op| op.id() == *id)?;
            let token = write.invoke.token.as_deref()?;
            let read = ops.iter().find(|op| {
                op.invoke.key == write.invoke.key
                    && op
                        .read()
                        .flatten()
                        .is_some_and(|(_, tokens)| tokens.iter().any(|t| t == token))
            })?;
            Some(Anomaly::new(
                "409 for a re-routed write that took effect",
                None,
                &write.invoke.key,
                format!(
                    "the {} of {token} overlapped a failover and was answered 409, yet a read shows it: Elasticsearch re-routed it to the new primary, which re-executed it against the copy its first execution had reached",
                    write.kind().name()
                ),
                vec![write.id(), read.id()],
            ))
        })
        .collect()
}

/// Check a parsed history.
pub fn check(history: &History, budget: Budget) -> CheckReport {
    let (checked, rerouted) = with_reroutes_indefinite(history);
    let mut by_key: BTreeMap<&str, Vec<&Op>> = BTreeMap::new();
    for op in &checked {
        by_key.entry(op.invoke.key.as_str()).or_default().push(op);
    }
    // A write a failover overlapped may have been executed by the old primary, reached a copy
    // that served a read, and been executed again by the new primary after the re-route (the
    // first execution rolled back): Elasticsearch's behaviour, which the catalogue's
    // `replication-coordinator-retry*` entries show refuting `applied_at_most_once`.
    let overlapped = reroute::overlapped_by_failover(history);
    let mut behaviours = took_effect(&checked, &rerouted);
    let mut anomalies = Vec::new();
    let mut linearizable_keys = 0;
    let mut unknown_keys = Vec::new();
    for (key, ops) in &by_key {
        let (re_executed, found): (Vec<Anomaly>, Vec<Anomaly>) =
            occ::check_key(key, ops).into_iter().partition(|a| {
                a.invariant == Some("applied_at_most_once")
                    && a.witness.iter().any(|id| overlapped.contains(id))
            });
        behaviours.extend(re_executed.into_iter().map(|a| Anomaly {
            name: "write executed again after a failover",
            invariant: None,
            explanation: format!(
                "{}; the write overlapped a failover, so the coordinating node may have re-sent it to the new primary, which executed it again",
                a.explanation
            ),
            ..a
        }));
        if !found.is_empty() {
            anomalies.extend(found);
            continue;
        }
        match wgl::check_key(ops, budget) {
            wgl::Outcome::Linearizable => linearizable_keys += 1,
            wgl::Outcome::Unknown => unknown_keys.push((*key).to_owned()),
            wgl::Outcome::Violation(witness) => {
                let reads = witness.iter().any(|id| {
                    ops.iter()
                        .any(|op| op.id() == *id && op.kind() == Kind::Read)
                });
                let invariant = if reads {
                    "reads_linearizable"
                } else {
                    "cas_linearizable"
                };
                anomalies.push(Anomaly::new(
                    "not linearizable",
                    Some(invariant),
                    key,
                    format!(
                        "no order of these {} operations respects both real time and a document's semantics",
                        witness.len()
                    ),
                    witness,
                ));
            }
        }
    }
    let verdict = if !anomalies.is_empty() {
        Verdict::Anomalies
    } else if !unknown_keys.is_empty() {
        Verdict::Unknown
    } else {
        Verdict::Valid
    };
    let count = |o: Outcome| history.ops.iter().filter(|op| op.outcome == o).count();
    CheckReport {
        verdict,
        anomalies,
        ops: history.ops.len(),
        keys: by_key.len(),
        ok: count(Outcome::Ok),
        fail: count(Outcome::Fail),
        info: count(Outcome::Info),
        linearizable_keys,
        unknown_keys,
        behaviours,
    }
}

impl CheckReport {
    /// The verdict and each anomaly with its witness, as the terminal shows them.
    pub fn render(&self, history: &History) -> String {
        let mut out = format!(
            "{} operations on {} document{}: {} ok, {} fail, {} info\n",
            self.ops,
            self.keys,
            if self.keys == 1 { "" } else { "s" },
            self.ok,
            self.fail,
            self.info
        );
        let behaviours = self
            .behaviours
            .iter()
            .map(|a| (a, "Elasticsearch's behaviour"));
        for (a, invariant) in self
            .anomalies
            .iter()
            .map(|a| (a, a.invariant.unwrap_or("no model invariant")))
            .chain(behaviours)
        {
            out.push_str(&format!(
                "\n{} on {} ({}): {}\n",
                a.name, a.key, invariant, a.explanation
            ));
            for id in &a.witness {
                if let Some(op) = history.ops.iter().find(|op| op.id() == *id) {
                    out.push_str(&format!("    {}\n", op.describe()));
                }
            }
        }
        if !self.unknown_keys.is_empty() {
            out.push_str(&format!(
                "\nlinearizability unknown (budget spent) on: {}\n",
                self.unknown_keys.join(", ")
            ));
        }
        for e in history.nemesis.iter().filter(|e| e.error.is_some()) {
            out.push_str(&format!("\nnemesis {} failed: {}\n", e.f, e.value));
        }
        out.push_str(&format!(
            "\nverdict: {}\n",
            match self.verdict {
                Verdict::Valid => "valid",
                Verdict::Anomalies => "anomalies found",
                Verdict::Unknown => "unknown",
            }
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `a` is created, then `b` replaces it once; reads show `b` at two versions.
    fn history(nemesis: &str) -> History {
        History::parse(&format!(
            r#"{{"type":"invoke","op":0,"process":0,"f":"create","key":"k","token":"a","time_ns":0}}
{{"type":"ok","op":0,"time_ns":1,"status":201,"result":"created","change":{{"seq_no":0,"primary_term":1}}}}
{{"type":"invoke","op":1,"process":0,"f":"index","key":"k","token":"b","condition":{{"seq_no":0,"primary_term":1}},"time_ns":2}}
{nemesis}{{"type":"ok","op":1,"time_ns":5,"status":200,"result":"updated","change":{{"seq_no":2,"primary_term":2}}}}
{{"type":"invoke","op":2,"process":1,"f":"read","key":"k","time_ns":6}}
{{"type":"ok","op":2,"time_ns":7,"status":200,"change":{{"seq_no":1,"primary_term":1}},"tokens":["b"]}}
{{"type":"invoke","op":3,"process":1,"f":"read","key":"k","time_ns":8}}
{{"type":"ok","op":3,"time_ns":9,"status":200,"change":{{"seq_no":2,"primary_term":2}},"tokens":["b"]}}
"#
        ))
        .expect("a valid history")
    }

    fn double_applies(report: &CheckReport) -> usize {
        report
            .anomalies
            .iter()
            .filter(|a| a.invariant == Some("applied_at_most_once"))
            .count()
    }

    #[test]
    fn a_write_seen_at_two_versions_is_a_double_apply_without_a_failover() {
        let report = check(&history(""), Budget::default());
        assert_eq!(double_applies(&report), 1, "{:?}", report.anomalies);
        assert!(report.behaviours.is_empty());
    }

    #[test]
    fn a_write_a_failover_overlapped_seen_at_two_versions_was_executed_again() {
        let failover = r#"{"type":"nemesis","f":"start","value":"fail_primary → {}","time_ns":4,"began_ns":3}
"#;
        let report = check(&history(failover), Budget::default());
        assert_eq!(double_applies(&report), 0, "{:?}", report.anomalies);
        assert_eq!(
            report
                .behaviours
                .iter()
                .map(|b| (b.name, b.witness.clone()))
                .collect::<Vec<_>>(),
            [("write executed again after a failover", vec![1, 2])]
        );
    }
}
