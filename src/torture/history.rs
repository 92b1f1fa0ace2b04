//! The history: what `esocc torture` records and what `esocc torture check` reads back.
//!
//! `history.jsonl` holds one JSON event per line (docs/torture.md documents every field):
//!
//! * first a `run` event with the run's parameters;
//! * for each operation an `invoke` event, then one completion: `ok`, `fail` (a definite answer
//!   that wrote nothing, such as a 409) or `info` (indefinite: a timeout, a connection error, a
//!   5xx; it may have taken effect, now or later). Completions name their invocation by `op`;
//! * `nemesis` events (`start` / `stop` of a fault) in the same stream.
//!
//! Times are monotonic nanoseconds since the run began. [`History::parse`] pairs invocations with
//! completions into [`Op`]s; an invocation that never completed is indefinite.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// `(_seq_no, _primary_term)`: what identifies one change of a document. Ordered by `_seq_no`
/// first, the order in which a document's versions follow each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChangeId {
    pub seq_no: u64,
    pub primary_term: u64,
}

impl std::fmt::Display for ChangeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({}, {})", self.seq_no, self.primary_term)
    }
}

/// What an operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A realtime `GET /{index}/_doc/{id}`.
    Read,
    /// `PUT /{index}/_doc/{id}` with `{"<token>": true}`, conditional when `if_seq_no` is set.
    Index,
    /// `PUT /{index}/_create/{id}`: only if the document does not exist.
    Create,
    /// `DELETE /{index}/_doc/{id}`, conditional when `if_seq_no` is set.
    Delete,
    /// `POST /{index}/_update/{id}` with `{"doc": {"<token>": true}, "doc_as_upsert": true}`.
    Update,
}

impl Kind {
    pub fn is_write(self) -> bool {
        self != Kind::Read
    }

    /// Whether the write replaces the document (index, create) rather than merging into it.
    pub fn replaces(self) -> bool {
        matches!(self, Kind::Index | Kind::Create)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Index => "index",
            Kind::Create => "create",
            Kind::Delete => "delete",
            Kind::Update => "update",
        }
    }
}

/// The parameters of a run, the first line of a history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunParams {
    pub workload: String,
    pub nemesis: String,
    pub seed: u64,
    pub clients: u32,
    pub keys: u32,
    pub ops: Option<u64>,
    pub time_s: Option<u64>,
    pub timeout_ms: u64,
    pub urls: Vec<String>,
    pub nodes: u32,
    pub index: String,
    /// The safeguards the spawned server ran without (`--unsafe`).
    #[serde(rename = "unsafe", skip_serializing_if = "Vec::is_empty")]
    pub unsafe_knobs: Vec<String>,
    /// Each client named its node (`--pin-clients`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pin_clients: bool,
}

/// An invocation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Invoke {
    pub op: u64,
    pub process: u64,
    pub f: Kind,
    pub key: String,
    /// The unique token a write adds to the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The write's `if_seq_no` + `if_primary_term`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<ChangeId>,
    /// The node (URL index, or `X-Esocc-Node`) the request went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<u32>,
    /// One of the final reads after the nemesis healed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not", rename = "final")]
    pub final_read: bool,
    /// The `_bulk` request this item went in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk: Option<u64>,
    pub time_ns: u64,
}

/// A completion: what came back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    pub op: u64,
    pub time_ns: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Elasticsearch's `result` (`created`, `updated`, `deleted`, `not_found`, `noop`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// The change the write made, or the version the read returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<ChangeId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// A read's document: the tokens it holds (its `_source` field names), absent when not found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Vec<String>>,
    /// `type: reason` of an error answer, or the client-side error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A fault starting or stopping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NemesisEvent {
    /// `start` or `stop`.
    pub f: String,
    /// What was done, e.g. `fail_primary torture/0 → primary 1, term 2`.
    pub value: String,
    /// When the event was recorded: the fault's action had answered.
    pub time_ns: u64,
    /// When the fault's action was sent (absent in older histories): the fault may have taken
    /// effect any time from then on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub began_ns: Option<u64>,
    /// A `--nemesis-cmd` command's exit status (absent when it did not exit by itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
    /// Why the fault failed (a command that could not start, exited non-zero or timed out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl NemesisEvent {
    /// When the fault may have begun to take effect: when its action was sent, or (an older
    /// history) when it was recorded.
    pub fn began(&self) -> u64 {
        self.began_ns.unwrap_or(self.time_ns)
    }
}

/// One line of `history.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Event {
    Run(RunParams),
    Invoke(Invoke),
    Ok(Completion),
    Fail(Completion),
    Info(Completion),
    Nemesis(NemesisEvent),
}

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    Fail,
    Info,
}

/// An invocation and its completion.
#[derive(Clone, Debug, PartialEq)]
pub struct Op {
    pub invoke: Invoke,
    pub outcome: Outcome,
    /// Absent for an indefinite operation (it may take effect at any later time).
    pub complete_ns: Option<u64>,
    pub completion: Completion,
}

impl Op {
    pub fn id(&self) -> u64 {
        self.invoke.op
    }

    pub fn kind(&self) -> Kind {
        self.invoke.f
    }

    pub fn is_ok(&self) -> bool {
        self.outcome == Outcome::Ok
    }

    /// An acknowledged write that changed the document (a delete of a missing document did not).
    pub fn acked_write(&self) -> Option<ChangeId> {
        let changed = self.completion.result.as_deref() != Some("not_found")
            && self.completion.result.as_deref() != Some("noop");
        (self.is_ok() && self.kind().is_write() && changed)
            .then_some(self.completion.change)
            .flatten()
    }

    /// What a read saw: `Some(None)` not found, `Some(Some((change, tokens)))` a document.
    pub fn read(&self) -> Option<Option<(ChangeId, &[String])>> {
        if !self.is_ok() || self.kind() != Kind::Read {
            return None;
        }
        Some(
            self.completion
                .change
                .zip(self.completion.tokens.as_deref()),
        )
    }

    /// A definite 409.
    pub fn conflict(&self) -> bool {
        self.outcome == Outcome::Fail && self.completion.status == Some(409)
    }

    /// `"op 12 (p3) index k1 c3-4 if (5, 1) → ok (6, 1)"`: how a witness shows the operation.
    pub fn describe(&self) -> String {
        let i = &self.invoke;
        let mut s = format!("op {} (p{}) {} {}", i.op, i.process, i.f.name(), i.key);
        if i.final_read {
            s.push_str(" [final");
            if let Some(node) = i.node {
                s.push_str(&format!(" node {node}"));
            }
            s.push(']');
        }
        if let Some(token) = &i.token {
            s.push_str(&format!(" {token}"));
        }
        if let Some(c) = i.condition {
            s.push_str(&format!(" if {c}"));
        }
        let c = &self.completion;
        s.push_str(match self.outcome {
            Outcome::Ok => " → ok",
            Outcome::Fail => " → fail",
            Outcome::Info => " → info",
        });
        if let Some(status) = c.status {
            s.push_str(&format!(" {status}"));
        }
        if let Some(result) = &c.result {
            s.push_str(&format!(" {result}"));
        }
        if let Some(change) = c.change {
            s.push_str(&format!(" {change}"));
        }
        if self.kind() == Kind::Read && self.is_ok() {
            match &c.tokens {
                Some(tokens) => s.push_str(&format!(" [{}]", tokens.join(", "))),
                None => s.push_str(" not found"),
            }
        }
        if let Some(error) = &c.error {
            s.push_str(&format!(" ({error})"));
        }
        s
    }
}

/// A parsed history.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub params: Option<RunParams>,
    pub ops: Vec<Op>,
    pub nemesis: Vec<NemesisEvent>,
}

impl History {
    /// Parse `history.jsonl`. Errors name the line (1-based) and the problem.
    pub fn parse(text: &str) -> Result<History, String> {
        let mut history = History::default();
        let mut open: HashMap<u64, Invoke> = HashMap::new();
        let mut order: Vec<u64> = Vec::new();
        let mut done: HashMap<u64, (Outcome, Completion)> = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let event: Event =
                serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
            let (outcome, completion) = match event {
                Event::Run(params) => {
                    history.params = Some(params);
                    continue;
                }
                Event::Nemesis(event) => {
                    history.nemesis.push(event);
                    continue;
                }
                Event::Invoke(invoke) => {
                    if open.contains_key(&invoke.op) {
                        return Err(format!("line {}: op {} invoked twice", n + 1, invoke.op));
                    }
                    if invoke.f.is_write() && invoke.token.is_none() && invoke.f != Kind::Delete {
                        return Err(format!(
                            "line {}: op {}: a {} needs a token",
                            n + 1,
                            invoke.op,
                            invoke.f.name()
                        ));
                    }
                    order.push(invoke.op);
                    open.insert(invoke.op, invoke);
                    continue;
                }
                Event::Ok(c) => (Outcome::Ok, c),
                Event::Fail(c) => (Outcome::Fail, c),
                Event::Info(c) => (Outcome::Info, c),
            };
            let invoked = open
                .get(&completion.op)
                .filter(|_| !done.contains_key(&completion.op));
            let Some(invoke) = invoked else {
                return Err(format!(
                    "line {}: completion of op {}, which was not invoked or already completed",
                    n + 1,
                    completion.op
                ));
            };
            if completion.time_ns < invoke.time_ns {
                return Err(format!(
                    "line {}: op {} completes before it was invoked",
                    n + 1,
                    completion.op
                ));
            }
            done.insert(completion.op, (outcome, completion));
        }
        for id in order {
            let Some(invoke) = open.remove(&id) else {
                continue;
            };
            let (outcome, completion, complete_ns) = match done.remove(&id) {
                Some((Outcome::Info, c)) => (Outcome::Info, c, None),
                Some((outcome, c)) => {
                    let t = c.time_ns;
                    (outcome, c, Some(t))
                }
                None => (
                    Outcome::Info,
                    Completion {
                        op: id,
                        time_ns: invoke.time_ns,
                        error: Some("never completed".into()),
                        ..Completion::default()
                    },
                    None,
                ),
            };
            history.ops.push(Op {
                invoke,
                outcome,
                complete_ns,
                completion,
            });
        }
        Ok(history)
    }
}

fn elapsed_ns(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Records events from many clients in one stream, stamping each with the time since the run
/// began (taken under the lock, so the stream is in time order).
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Mutex<(Instant, Vec<Event>)>>,
}

impl Recorder {
    pub fn new(params: RunParams) -> Recorder {
        Recorder {
            inner: Arc::new(Mutex::new((Instant::now(), vec![Event::Run(params)]))),
        }
    }

    /// The current time on the history's clock (ns since the run began).
    pub fn now(&self) -> u64 {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        elapsed_ns(inner.0)
    }

    /// Append an event made from the current time.
    pub fn record(&self, make: impl FnOnce(u64) -> Event) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let event = make(elapsed_ns(inner.0));
        inner.1.push(event);
    }

    /// Every key an operation was invoked on, sorted.
    pub fn invoked_keys(&self) -> Vec<String> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut keys: Vec<String> = inner
            .1
            .iter()
            .filter_map(|e| match e {
                Event::Invoke(i) => Some(i.key.clone()),
                _ => None,
            })
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// The events so far as JSON lines.
    pub fn to_jsonl(&self) -> String {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        to_jsonl(&inner.1)
    }
}

/// Events as JSON lines.
pub fn to_jsonl(events: &[Event]) -> String {
    let mut out = String::new();
    for event in events {
        // An event is plain data (strings, numbers): serializing it cannot fail.
        if let Ok(line) = serde_json::to_string(event) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocations_pair_with_completions_and_unfinished_ones_are_indefinite() {
        let text = r#"{"type":"run","workload":"register","seed":7}
{"type":"invoke","op":0,"process":0,"f":"read","key":"k0","time_ns":1}
{"type":"invoke","op":1,"process":1,"f":"create","key":"k0","token":"c1-0","time_ns":2}
{"type":"ok","op":0,"time_ns":3}
{"type":"nemesis","f":"start","value":"fail_primary","time_ns":4}
{"type":"invoke","op":2,"process":0,"f":"index","key":"k0","token":"c0-1","condition":{"seq_no":0,"primary_term":1},"time_ns":5}
{"type":"fail","op":2,"time_ns":6,"status":409}
"#;
        let h = History::parse(text).unwrap();
        assert_eq!(h.params.unwrap().seed, 7);
        assert_eq!(h.nemesis.len(), 1);
        let outcomes: Vec<_> = h.ops.iter().map(|o| (o.id(), o.outcome)).collect();
        assert_eq!(
            outcomes,
            [(0, Outcome::Ok), (1, Outcome::Info), (2, Outcome::Fail)]
        );
        assert_eq!(h.ops[0].read(), Some(None));
        assert!(h.ops[2].conflict());
        assert_eq!(h.ops[1].complete_ns, None);
    }

    #[test]
    fn bad_lines_are_named() {
        let err = History::parse("{\"type\":\"ok\",\"op\":3,\"time_ns\":1}\n").unwrap_err();
        assert!(err.starts_with("line 1: completion of op 3"), "{err}");
        let err = History::parse("\n{nope\n").unwrap_err();
        assert!(err.starts_with("line 2: "), "{err}");
        let twice = "{\"type\":\"invoke\",\"op\":0,\"process\":0,\"f\":\"read\",\"key\":\"a\",\"time_ns\":0}\n";
        let err = History::parse(&format!("{twice}{twice}")).unwrap_err();
        assert!(err.contains("invoked twice"), "{err}");
    }
}
