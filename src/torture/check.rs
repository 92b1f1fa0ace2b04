//! Checking a history: split it per document, run the OCC-aware checker on each, and the
//! linearizability search (with its budget) on each document the OCC checker found clean.
//! First the 409s a failover may have re-routed ([`reroute`]) become indefinite: under a failover
//! Elasticsearch answers 409 for a write that took effect, so such a 409 is no anomaly; one whose
//! token a read shows is listed apart, as Elasticsearch's behaviour.
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
    /// effect (a read shows their token).
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
    let mut anomalies = Vec::new();
    let mut linearizable_keys = 0;
    let mut unknown_keys = Vec::new();
    for (key, ops) in &by_key {
        let found = occ::check_key(key, ops);
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
        behaviours: took_effect(&checked, &rerouted),
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
