//! The clients: each turns its generator's intents into Elasticsearch requests and records every
//! operation as an invocation and a completion.
//!
//! Only documented Elasticsearch 8 APIs are used (`GET`/`PUT`/`DELETE /{index}/_doc/{id}`,
//! `_create`, `_update`, `_bulk`, with `if_seq_no` + `if_primary_term`), so the same run works
//! against a real cluster. Every request has a client timeout. A 2xx (and the 404 of a GET or
//! delete of a missing document) is `ok`; a 409 and other 4xx are `fail`, recorded with the
//! error's type and reason; a timeout, a connection error, a 408 or a 5xx is `info`
//! (indefinite), after which the client continues as a new process, as in Jepsen.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use super::generator::{BulkItem, Generator, Intent};
use super::history::{ChangeId, Completion, Event, Invoke, Kind, Outcome, Recorder};

/// Where the requests go, and the counters the progress bar shows.
pub struct Endpoint {
    pub urls: Vec<String>,
    pub index: String,
    pub http: reqwest::Client,
    pub retry_on_conflict: u32,
    /// `--scripted-updates`: updates append their token to `L` with [`APPEND`].
    pub scripted_updates: bool,
    /// `--pin-clients`: the nodes of the spawned `esocc serve` behind its one URL. Each client
    /// then names its node in `X-Esocc-Node`, so it keeps reaching that node's copy while the
    /// copy believes it is primary (an isolated old primary included).
    pub pinned_nodes: Option<usize>,
    next_op: AtomicU64,
    next_bulk: AtomicU64,
    /// ok, fail, info.
    pub counts: [AtomicU64; 3],
}

impl Endpoint {
    pub fn new(
        urls: Vec<String>,
        index: String,
        timeout: std::time::Duration,
        retry_on_conflict: u32,
    ) -> Result<Endpoint, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Endpoint {
            urls,
            index,
            http,
            retry_on_conflict,
            scripted_updates: false,
            pinned_nodes: None,
            next_op: AtomicU64::new(0),
            next_bulk: AtomicU64::new(0),
            counts: Default::default(),
        })
    }

    /// The nodes clients spread over and the final reads visit: one per URL, or the pinned
    /// nodes.
    pub fn nodes(&self) -> usize {
        self.pinned_nodes.unwrap_or(self.urls.len()).max(1)
    }

    pub fn done(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    pub fn indefinite(&self) -> u64 {
        self.counts[Outcome::Info as usize].load(Ordering::Relaxed)
    }

    fn count(&self, outcome: Outcome) {
        self.counts[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }
}

/// An operation to send: what the invocation records.
struct Request<'a> {
    kind: Kind,
    key: &'a str,
    token: Option<&'a str>,
    condition: Option<ChangeId>,
}

/// The `_source` a write carries: one field named by its token.
fn source(token: Option<&str>) -> Value {
    let mut doc = serde_json::Map::new();
    if let Some(token) = token {
        doc.insert(token.to_owned(), Value::Bool(true));
    }
    Value::Object(doc)
}

/// The scripted append of `--scripted-updates` (issue 12's `ctx._source.L.add(params.token)`),
/// creating the list when a document written otherwise has none.
pub const APPEND: &str =
    "if (ctx._source.L == null) { ctx._source.L = [params.token] } else { ctx._source.L.add(params.token) }";

/// The list scripted appends add their tokens to.
pub const APPENDED: &str = "L";

/// The tokens a read shows: the source's field names, and the entries of the appended list.
fn source_tokens(source: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut tokens: Vec<String> = source
        .keys()
        .filter(|key| *key != APPENDED)
        .cloned()
        .collect();
    if let Some(Value::Array(appended)) = source.get(APPENDED) {
        tokens.extend(appended.iter().filter_map(Value::as_str).map(String::from));
    }
    tokens
}

/// Read what an answer says into a completion and its outcome.
pub fn classify(kind: Kind, status: u16, body: &Value) -> (Outcome, Completion) {
    let change = body["_seq_no"]
        .as_u64()
        .zip(body["_primary_term"].as_u64())
        .map(|(seq_no, primary_term)| ChangeId {
            seq_no,
            primary_term,
        });
    let result = body["result"].as_str().map(str::to_owned);
    let error = match &body["error"] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        e => Some(format!(
            "{}: {}",
            e["type"].as_str().unwrap_or("error"),
            e["reason"].as_str().unwrap_or("")
        )),
    };
    let found = body["found"].as_bool();
    let tokens = body["_source"].as_object().map(source_tokens);
    let outcome = match status {
        200..=299 => Outcome::Ok,
        404 if kind == Kind::Read && found == Some(false) => Outcome::Ok,
        404 if kind == Kind::Delete && result.as_deref() == Some("not_found") => Outcome::Ok,
        408 | 500..=599 => Outcome::Info,
        _ => Outcome::Fail,
    };
    let completion = Completion {
        status: Some(status),
        result,
        change: if kind == Kind::Read && found != Some(true) {
            None
        } else {
            change
        },
        version: body["_version"].as_u64(),
        tokens: if kind == Kind::Read && outcome == Outcome::Ok {
            tokens
        } else {
            None
        },
        error: if outcome == Outcome::Ok { None } else { error },
        ..Completion::default()
    };
    (outcome, completion)
}

fn completion_event(outcome: Outcome, completion: Completion) -> Event {
    match outcome {
        Outcome::Ok => Event::Ok(completion),
        Outcome::Fail => Event::Fail(completion),
        Outcome::Info => Event::Info(completion),
    }
}

/// One client: a process id (renewed after an indefinite result), its generator, and for `bulk`
/// the version of each key it last saw (`None`: absent).
pub struct Client {
    clients: u32,
    process: u64,
    node: usize,
    endpoint: Arc<Endpoint>,
    recorder: Recorder,
    /// None for the final reader.
    generator: Option<Generator>,
    seen: HashMap<String, Option<ChangeId>>,
}

impl Client {
    pub fn new(
        client: u32,
        clients: u32,
        endpoint: Arc<Endpoint>,
        recorder: Recorder,
        generator: Generator,
    ) -> Client {
        let node = client as usize % endpoint.nodes();
        Client {
            clients,
            process: u64::from(client),
            node,
            endpoint,
            recorder,
            generator: Some(generator),
            seen: HashMap::new(),
        }
    }

    /// A client for the final reads on node `node`, as process `process`.
    pub fn reader(
        node: usize,
        process: u64,
        endpoint: Arc<Endpoint>,
        recorder: Recorder,
    ) -> Client {
        Client {
            clients: 1,
            process,
            node,
            endpoint,
            recorder,
            generator: None,
            seen: HashMap::new(),
        }
    }

    fn url(&self) -> &str {
        let urls = &self.endpoint.urls;
        urls.get(self.node)
            .or(urls.first())
            .map_or("http://127.0.0.1:9200", String::as_str)
    }

    /// `request` with the client's node named when clients are pinned.
    fn to_node(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.endpoint.pinned_nodes {
            Some(_) => request.header("X-Esocc-Node", self.node),
            None => request,
        }
    }

    fn invoke(&self, req: &Request<'_>, bulk: Option<u64>, final_read: bool) -> u64 {
        let op = self.endpoint.next_op.fetch_add(1, Ordering::Relaxed);
        let node = u32::try_from(self.node).ok();
        self.recorder.record(|time_ns| {
            Event::Invoke(Invoke {
                op,
                process: self.process,
                f: req.kind,
                key: req.key.to_owned(),
                token: req.token.map(str::to_owned),
                condition: req.condition,
                node,
                final_read,
                bulk,
                time_ns,
            })
        });
        op
    }

    fn complete(&mut self, op: u64, outcome: Outcome, mut completion: Completion) {
        completion.op = op;
        self.endpoint.count(outcome);
        self.recorder.record(|time_ns| {
            completion_event(
                outcome,
                Completion {
                    time_ns,
                    ..completion
                },
            )
        });
        if outcome == Outcome::Info {
            self.process += u64::from(self.clients);
        }
    }

    fn http_request(&self, req: &Request<'_>) -> reqwest::RequestBuilder {
        let base = self.url();
        let index = &self.endpoint.index;
        let http = &self.endpoint.http;
        // Keys are generated (`k3`, `c0-5`) and parameters are numbers: nothing needs escaping.
        let query = match req.condition {
            Some(c) => format!("?if_seq_no={}&if_primary_term={}", c.seq_no, c.primary_term),
            None => String::new(),
        };
        let key = req.key;
        let request = match req.kind {
            Kind::Read => http.get(format!("{base}/{index}/_doc/{key}")),
            Kind::Index => http
                .put(format!("{base}/{index}/_doc/{key}{query}"))
                .json(&source(req.token)),
            Kind::Create => http
                .put(format!("{base}/{index}/_create/{key}"))
                .json(&source(req.token)),
            Kind::Delete => http.delete(format!("{base}/{index}/_doc/{key}{query}")),
            Kind::Update => http
                .post(format!(
                    "{base}/{index}/_update/{key}?retry_on_conflict={}",
                    self.endpoint.retry_on_conflict
                ))
                .json(&self.update_body(req.token)),
        };
        self.to_node(request)
    }

    /// An update's body: the token as a field (`doc_as_upsert`), or appended to `L` by [`APPEND`].
    fn update_body(&self, token: Option<&str>) -> Value {
        if !self.endpoint.scripted_updates {
            return json!({"doc": source(token), "doc_as_upsert": true});
        }
        let token = token.unwrap_or_default();
        json!({
            "script": {"source": APPEND, "lang": "painless", "params": {"token": token}},
            "upsert": {APPENDED: [token]}
        })
    }

    /// Send one operation and record it; returns what came back.
    async fn call(&mut self, req: Request<'_>, final_read: bool) -> (Outcome, Completion) {
        let op = self.invoke(&req, None, final_read);
        let answer = match self.http_request(&req).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.json::<Value>().await.unwrap_or(Value::Null);
                classify(req.kind, status, &body)
            }
            Err(e) => (
                Outcome::Info,
                Completion {
                    error: Some(transport_error(&e)),
                    ..Completion::default()
                },
            ),
        };
        self.complete(op, answer.0, answer.1.clone());
        if answer.0 == Outcome::Ok {
            let seen = match req.kind {
                Kind::Read => Some(answer.1.change),
                Kind::Delete => Some(None),
                _ => answer.1.change.map(Some),
            };
            if let Some(seen) = seen {
                self.seen.insert(req.key.to_owned(), seen);
            }
        }
        answer
    }

    /// The final read of `key`.
    pub async fn final_read(&mut self, key: &str) {
        let req = Request {
            kind: Kind::Read,
            key,
            token: None,
            condition: None,
        };
        self.call(req, true).await;
    }

    /// Run the generator's next intent; returns how many operations it recorded.
    pub async fn step(&mut self) -> u64 {
        let Some(intent) = self.generator.as_mut().map(Generator::next_intent) else {
            return 0;
        };
        match intent {
            Intent::Read { key } => {
                self.read(&key).await;
                1
            }
            Intent::ReadModifyWrite { key, token } => {
                let (outcome, read) = self.read(&key).await;
                if outcome != Outcome::Ok {
                    return 1;
                }
                let (kind, condition) = match read.change {
                    Some(change) => (Kind::Index, Some(change)),
                    None => (Kind::Create, None),
                };
                let req = Request {
                    kind,
                    key: &key,
                    token: Some(&token),
                    condition,
                };
                self.call(req, false).await;
                2
            }
            Intent::ReadDelete { key } => {
                let (outcome, read) = self.read(&key).await;
                let Some(change) = read.change.filter(|_| outcome == Outcome::Ok) else {
                    return 1;
                };
                let req = Request {
                    kind: Kind::Delete,
                    key: &key,
                    token: None,
                    condition: Some(change),
                };
                self.call(req, false).await;
                2
            }
            Intent::Update { key, token } => {
                self.write(Kind::Update, &key, &token).await;
                1
            }
            Intent::Create { key, token } => {
                self.write(Kind::Create, &key, &token).await;
                1
            }
            Intent::Bulk(items) => self.bulk(items).await,
        }
    }

    async fn read(&mut self, key: &str) -> (Outcome, Completion) {
        let req = Request {
            kind: Kind::Read,
            key,
            token: None,
            condition: None,
        };
        self.call(req, false).await
    }

    async fn write(&mut self, kind: Kind, key: &str, token: &str) {
        let req = Request {
            kind,
            key,
            token: Some(token),
            condition: None,
        };
        self.call(req, false).await;
    }

    /// One `_bulk` request; each item is its own operation, invoked and completed together.
    async fn bulk(&mut self, items: Vec<BulkItem>) -> u64 {
        // Keys whose version this client does not know are read first.
        let mut reads = 0;
        for item in &items {
            let (BulkItem::Write { key, .. } | BulkItem::Delete { key }) = item;
            if !self.seen.contains_key(key) {
                self.read(key).await;
                reads += 1;
            }
        }
        let bulk = self.endpoint.next_bulk.fetch_add(1, Ordering::Relaxed);
        let index = self.endpoint.index.clone();
        let mut body = String::new();
        let mut ops = Vec::new();
        for item in &items {
            let (key, token) = match item {
                BulkItem::Write { key, token } => (key, Some(token.as_str())),
                BulkItem::Delete { key } => (key, None),
            };
            let seen = self.seen.get(key).copied().flatten();
            let kind = match (item, seen) {
                (BulkItem::Delete { .. }, _) => Kind::Delete,
                (BulkItem::Write { .. }, Some(_)) => Kind::Index,
                (BulkItem::Write { .. }, None) => Kind::Create,
            };
            let req = Request {
                kind,
                key,
                token,
                condition: seen,
            };
            let mut action = json!({"_index": index, "_id": key});
            if let Some(c) = seen {
                action["if_seq_no"] = json!(c.seq_no);
                action["if_primary_term"] = json!(c.primary_term);
            }
            let verb = kind.name();
            body.push_str(&json!({ verb: action }).to_string());
            body.push('\n');
            if kind != Kind::Delete {
                body.push_str(&source(token).to_string());
                body.push('\n');
            }
            ops.push((self.invoke(&req, Some(bulk), false), kind, key.clone()));
        }
        let response = self
            .to_node(self.endpoint.http.post(format!("{}/_bulk", self.url())))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await;
        let answers: Vec<(Outcome, Completion)> = match response {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.json::<Value>().await.unwrap_or(Value::Null);
                let items = body["items"].as_array();
                ops.iter()
                    .enumerate()
                    .map(|(i, (_, kind, _))| {
                        match items
                            .and_then(|items| items.get(i))
                            .filter(|_| status == 200)
                        {
                            Some(item) => {
                                let answer = &item[kind.name()];
                                let item_status = answer["status"]
                                    .as_u64()
                                    .and_then(|s| u16::try_from(s).ok())
                                    .unwrap_or(500);
                                classify(*kind, item_status, answer)
                            }
                            None => classify(*kind, status, &body),
                        }
                    })
                    .collect()
            }
            Err(e) => ops
                .iter()
                .map(|_| {
                    (
                        Outcome::Info,
                        Completion {
                            error: Some(transport_error(&e)),
                            ..Completion::default()
                        },
                    )
                })
                .collect(),
        };
        let n = ops.len() as u64 + reads;
        let renewed = answers.iter().any(|(o, _)| *o == Outcome::Info);
        let process = self.process;
        for ((op, kind, key), (outcome, completion)) in ops.into_iter().zip(answers) {
            self.complete(op, outcome, completion.clone());
            // All items share the process; it is renewed once, after the request.
            self.process = process;
            if outcome == Outcome::Ok {
                let seen = if kind == Kind::Delete {
                    None
                } else {
                    completion.change
                };
                self.seen.insert(key, seen);
            } else {
                // After a failure the version is unknown: read it again before writing.
                self.seen.remove(&key);
            }
        }
        if renewed {
            self.process += u64::from(self.clients);
        }
        n
    }
}

/// A transport error as a short text.
fn transport_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        format!("connection error: {e}")
    } else {
        format!("transport error: {e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_ok_fail_or_indefinite() {
        let read = json!({"_seq_no":3,"_primary_term":2,"_version":4,"found":true,"_source":{"c0-1":true}});
        let (o, c) = classify(Kind::Read, 200, &read);
        assert_eq!(o, Outcome::Ok);
        assert_eq!(
            c.change,
            Some(ChangeId {
                seq_no: 3,
                primary_term: 2
            })
        );
        assert_eq!(c.tokens.as_deref(), Some(&["c0-1".to_string()][..]));
        let missing = json!({"_index":"t","_id":"k","found":false});
        assert_eq!(classify(Kind::Read, 404, &missing).0, Outcome::Ok);
        let gone = json!({"result":"not_found","_seq_no":5,"_primary_term":1});
        assert_eq!(classify(Kind::Delete, 404, &gone).0, Outcome::Ok);
        let conflict = json!({"error":{"type":"version_conflict_engine_exception","reason":"[k]: version conflict"},"status":409});
        let (o, c) = classify(Kind::Index, 409, &conflict);
        assert_eq!(o, Outcome::Fail);
        assert_eq!(
            c.error.as_deref(),
            Some("version_conflict_engine_exception: [k]: version conflict")
        );
        assert_eq!(classify(Kind::Index, 503, &Value::Null).0, Outcome::Info);
        assert_eq!(classify(Kind::Update, 400, &Value::Null).0, Outcome::Fail);
    }
}
