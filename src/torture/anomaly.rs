//! What a checker finds: an anomaly, named by the model's invariant where one exists, with a
//! minimal witness (the fewest operations that show it).

use serde::Serialize;

/// One anomaly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// What happened: `lost acked write`, `stale read`, `phantom 409`, ...
    pub name: &'static str,
    /// The invariant of the models (docs/invariants.md) it breaks, if one names it.
    pub invariant: Option<&'static str>,
    pub key: String,
    /// One sentence: why the witness shows it.
    pub explanation: String,
    /// The operations (ids) that show it, in history order.
    pub witness: Vec<u64>,
}

impl Anomaly {
    pub fn new(
        name: &'static str,
        invariant: Option<&'static str>,
        key: &str,
        explanation: String,
        mut witness: Vec<u64>,
    ) -> Anomaly {
        witness.sort_unstable();
        witness.dedup();
        Anomaly {
            name,
            invariant,
            key: key.to_owned(),
            explanation,
            witness,
        }
    }
}

/// The checker's answer for a history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No anomaly, and every key's history is linearizable.
    Valid,
    /// At least one anomaly.
    Anomalies,
    /// No anomaly found, but the linearizability search ran out of budget on some key.
    Unknown,
}
