//! `esocc torture`: a Jepsen-style harness for any Elasticsearch-compatible endpoint.
//!
//! Concurrent clients run a workload against a spawned `esocc serve` or given URLs while a
//! nemesis injects faults; every operation is recorded in a history; the history is checked by
//! an OCC-aware checker that reads what `(_seq_no, _primary_term)` reveal, and by a
//! linearizability search per document for the rest; a static HTML report shows the verdict, the
//! anomalies with their witnesses, and a timeline per document. See docs/torture.md.
//!
//! | module | what it does |
//! | --- | --- |
//! | [`generator`] | the workloads: each client's deterministic stream of intents |
//! | [`client`] | intents to Elasticsearch requests, answers to `ok` / `fail` / `info` |
//! | [`nemesis`] | faults on a schedule, through `esocc serve`'s `/_esocc` endpoints or the proxies |
//! | [`proxy`] | `--proxy`: a TCP proxy per node that delivers, delays or drops |
//! | [`command`] | `--nemesis-cmd`: the user's fault commands, with a timeout and their exit status |
//! | [`history`] | the `history.jsonl` format, its parser and the recorder |
//! | [`occ`] | the OCC-aware checker |
//! | [`reroute`] | which 409s a failover may have re-routed (indefinite) |
//! | [`wgl`] | the Wing–Gong–Lowe linearizability checker with a budget |
//! | [`check`] | both checkers over a history, per document |
//! | [`anomaly`] | anomalies, witnesses, verdicts |
//! | [`report`] | `index.html` |
//! | [`run`] | one run, from start to report |

pub mod anomaly;
pub mod check;
pub mod client;
pub mod command;
pub mod generator;
pub mod history;
pub mod nemesis;
pub mod occ;
pub mod proxy;
pub mod report;
pub mod reroute;
pub mod run;
pub mod wgl;

pub use anomaly::{Anomaly, Verdict};
pub use check::{check, CheckReport};
pub use history::{History, Recorder};
