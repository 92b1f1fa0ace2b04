//! The nemesis: faults injected while the clients run, through `esocc serve`'s `/_esocc/...`
//! fault endpoints (see docs/rest.md), on a schedule drawn from the seed.
//!
//! The schedule alternates a healthy period and a fault period of `--nemesis-period` completed
//! operations each (counted, not timed, so a fault always overlaps the operations it should),
//! and heals at the end of the run. A period also ends once there were as many indefinite
//! results in it as there are clients: every client has felt the fault (a delayed link holds
//! every write until it heals, so only timeouts complete). Each start and stop is a `nemesis` event in the history.
//!
//! | nemesis | start | stop |
//! | --- | --- | --- |
//! | `none` | nothing | nothing |
//! | `failover` | `fail_primary`: an in-sync replica is promoted with a new term | (a failed copy is not recovered) |
//! | `isolate` | `isolate_primary`: a replica is promoted, the old primary keeps running until fenced | (not recovered) |
//! | `replica` | `fail_replica` of a random in-sync replica | (not recovered) |
//! | `partition` | replication to a random in-sync replica is dropped (it leaves the in-sync set on the next write) | the link delivers again |
//! | `delay` | replication to a random in-sync replica is held (`delay`, or `reorder`: released newest first) | the link delivers, what it held is released |
//! | `lagging-failover` | replication to the replica the master promotes next (`esocc serve`: the lowest in-sync id) is held | `fail_primary`, then the link delivers what it held (the old term's requests, fenced) |
//! | `mixed` | one of the above, drawn from the seed | its stop |
//!
//! Copies are never recovered by `esocc serve`, so a fault that needs an in-sync replica and
//! finds none is recorded as skipped.
//!
//! With `--nemesis-cmd` the faults are the user's commands ([`super::command`]): the start
//! command at each fault, the stop command at its heal, each recorded with its exit status; one
//! that fails ends the schedule with an error.
//!
//! With `--proxy` the faults are the proxies' instead (any endpoint, a real Elasticsearch
//! included): `partition` drops one node's proxy (connections cut and refused), `delay` delays
//! it (each chunk held for half the client timeout to twice it), `mixed` picks one of the two;
//! the heal sets the proxy back to deliver. The other nemeses need `esocc serve`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use tokio::sync::watch;

use super::client::Endpoint;
use super::command::{self, Hooks};
use super::history::{Event, NemesisEvent, Recorder};
use super::proxy::{Link, Proxy};
use super::run::RunOptions;

/// The nemeses `--nemesis` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum NemesisKind {
    None,
    Failover,
    Isolate,
    Replica,
    Partition,
    Delay,
    LaggingFailover,
    Mixed,
    /// `--nemesis-cmd`: the user's commands (chosen by that flag, not by `--nemesis`).
    #[value(skip)]
    Command,
}

impl NemesisKind {
    pub fn name(self) -> &'static str {
        match self {
            NemesisKind::None => "none",
            NemesisKind::Failover => "failover",
            NemesisKind::Isolate => "isolate",
            NemesisKind::Replica => "replica",
            NemesisKind::Partition => "partition",
            NemesisKind::Delay => "delay",
            NemesisKind::LaggingFailover => "lagging-failover",
            NemesisKind::Mixed => "mixed",
            NemesisKind::Command => "command",
        }
    }
}

impl NemesisKind {
    /// Whether the nemesis can run through `--proxy` (the others need `esocc serve`).
    pub fn works_through_proxy(self) -> bool {
        matches!(
            self,
            NemesisKind::None | NemesisKind::Partition | NemesisKind::Delay | NemesisKind::Mixed
        )
    }
}

const PROXY_MIXED: [NemesisKind; 2] = [NemesisKind::Partition, NemesisKind::Delay];

const MIXED: [NemesisKind; 5] = [
    NemesisKind::Failover,
    NemesisKind::Isolate,
    NemesisKind::Replica,
    NemesisKind::Partition,
    NemesisKind::Delay,
];

/// How often the schedule looks at the operation count.
const POLL: Duration = Duration::from_millis(2);

/// The timeout of a request to the fault endpoints: a failover (promotion and resync) on a busy
/// machine may take longer than a client's request may.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);

/// What must be undone when a fault period ends.
enum Heal {
    Nothing,
    /// Set the link to `deliver` and release what it holds.
    Link(u64),
    /// Set this proxy back to deliver.
    Proxy(usize),
    /// Fail the primary, then set the link to `deliver` and release what it holds.
    FailoverThenLink(u64),
    /// Run the `--nemesis-cmd` stop command, if there is one.
    Command,
}

/// The fault driver for one shard of one index.
pub struct Nemesis {
    kind: NemesisKind,
    rng: ChaCha8Rng,
    http: reqwest::Client,
    /// `{url}/_esocc/{index}/0`.
    base: String,
    recorder: Recorder,
    /// Operations per period.
    period: u64,
    /// Indefinite results that end a period early.
    clients: u64,
    /// With `--proxy`: the proxies the faults go to, and the client timeout delays scale with.
    proxies: Vec<Proxy>,
    timeout: Duration,
    /// With `--nemesis-cmd`: the commands that start and stop a fault.
    hooks: Option<Hooks>,
    endpoint: Arc<Endpoint>,
    /// The fault in force, for the progress bar.
    pub current: watch::Sender<String>,
    /// When the fault action being recorded was sent (ns on the recorder's clock): a fault may
    /// take effect any time after, so its event's period starts there, not when it answered.
    action_began: AtomicU64,
}

impl Nemesis {
    /// The run's nemesis: faults on shard 0 of the endpoint's index through its first URL, or
    /// on `proxies` when there are any.
    pub fn new(
        opts: &RunOptions,
        endpoint: Arc<Endpoint>,
        recorder: Recorder,
        proxies: Vec<Proxy>,
    ) -> Result<Nemesis, String> {
        let http = reqwest::Client::builder()
            .timeout(CONTROL_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot build the nemesis's HTTP client: {e}"))?;
        Ok(Nemesis {
            kind: opts.nemesis,
            rng: ChaCha8Rng::seed_from_u64(opts.seed ^ 0x6E65_6D65_7369_7321),
            http,
            base: format!("{}/_esocc/{}/0", endpoint.urls[0], endpoint.index),
            recorder,
            period: opts.nemesis_period,
            clients: u64::from(opts.clients),
            proxies,
            timeout: opts.timeout,
            hooks: opts.hooks.clone(),
            endpoint,
            current: watch::channel("healthy".to_string()).0,
            action_began: AtomicU64::new(0),
        })
    }

    /// A fault action (a start or a heal) is about to be sent.
    fn begin_action(&self) {
        self.action_began
            .store(self.recorder.now(), Ordering::Relaxed);
    }

    fn record(&self, f: &str, value: String) {
        self.record_event(f, value, None, None);
    }

    fn record_event(&self, f: &str, value: String, exit: Option<i32>, error: Option<String>) {
        self.current.send_replace(if f == "start" {
            value.clone()
        } else {
            "healthy".into()
        });
        let began_ns = Some(self.action_began.load(Ordering::Relaxed));
        self.recorder.record(|time_ns| {
            Event::Nemesis(NemesisEvent {
                f: f.into(),
                value,
                time_ns,
                began_ns,
                exit,
                error,
            })
        });
    }

    /// Run a `--nemesis-cmd` command as the `f` (`start` or `stop`) of a fault and record it;
    /// an error when it failed.
    async fn run_command(&self, f: &str, command: &str, timeout: Duration) -> Result<(), String> {
        let ran = command::run(command, timeout).await;
        let mut value = format!("sh -c {command:?} → ");
        match (ran.exit, &ran.error) {
            (Some(code), _) => value.push_str(&format!("exit {code}")),
            (None, Some(error)) => value.push_str(error),
            (None, None) => value.push('?'),
        }
        if !ran.output.is_empty() {
            value.push_str(&format!(": {}", ran.output));
        }
        let failure = ran
            .error
            .as_ref()
            .map(|e| format!("--nemesis-cmd {f} {command:?}: {e}"));
        self.record_event(f, value, ran.exit, ran.error);
        failure.map_or(Ok(()), Err)
    }

    /// Start a fault with the `--nemesis-cmd` start command; if it fails, the stop command
    /// still runs (the fault may be half done) and the schedule ends.
    async fn start_command(&self, hooks: &Hooks) -> Result<Heal, String> {
        if let Err(e) = self.run_command("start", &hooks.start, hooks.timeout).await {
            self.heal(Heal::Command).await?;
            return Err(e);
        }
        Ok(Heal::Command)
    }

    async fn post(&self, path: &str) -> Result<Value, String> {
        let url = format!("{}/{path}", self.base);
        let response = self
            .http
            .post(&url)
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = response.status();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!("POST {url}: {status} {body}"))
        }
    }

    /// The in-sync replicas the master knows.
    async fn in_sync_replicas(&self) -> Result<Vec<u64>, String> {
        let response = self
            .http
            .get(&self.base)
            .send()
            .await
            .map_err(|e| format!("GET {}: {e}", self.base))?;
        if !response.status().is_success() {
            return Err(format!(
                "GET {}: {} (the endpoint has no /_esocc fault endpoints: is it esocc serve with --nodes > 1?)",
                self.base,
                response.status()
            ));
        }
        let state = response.json::<Value>().await.unwrap_or(Value::Null);
        let primary = state["primary"].as_u64();
        Ok(state["copies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["in_sync"].as_bool() == Some(true))
            .filter_map(|c| c["copy"].as_u64())
            .filter(|c| Some(*c) != primary)
            .collect())
    }

    /// Start one fault; returns how to heal it.
    /// Start one fault on a proxy.
    fn start_proxy(&mut self, kind: NemesisKind) -> Result<Heal, String> {
        let i = self.rng.random_range(0..self.proxies.len());
        let link = match kind {
            NemesisKind::Partition => Link::Drop,
            NemesisKind::Delay => Link::Delay(self.timeout * self.rng.random_range(1..=4u32) / 2),
            other => {
                return Err(format!(
                    "--nemesis {} needs esocc serve's fault endpoints, not --proxy",
                    other.name()
                ))
            }
        };
        self.proxies[i].set(link);
        let url = self.proxies[i].url.clone();
        self.record("start", format!("proxy {i} ({url}): {link:?}"));
        Ok(Heal::Proxy(i))
    }

    /// Start one fault; returns how to heal it.
    async fn start(&mut self, kind: NemesisKind) -> Result<Heal, String> {
        self.begin_action();
        if let Some(hooks) = &self.hooks {
            return self.start_command(hooks).await;
        }
        if !self.proxies.is_empty() {
            return self.start_proxy(kind);
        }
        let replicas = self.in_sync_replicas().await?;
        if replicas.is_empty() {
            self.record(
                "start",
                format!("{} skipped: no in-sync replica left", kind.name()),
            );
            return Ok(Heal::Nothing);
        }
        let replica = replicas[self.rng.random_range(0..replicas.len())];
        let (path, heal) = match kind {
            NemesisKind::Failover => ("fail_primary".to_string(), Heal::Nothing),
            NemesisKind::Isolate => ("isolate_primary".to_string(), Heal::Nothing),
            NemesisKind::Replica => (format!("fail_replica/{replica}"), Heal::Nothing),
            NemesisKind::Partition => (format!("link/{replica}/drop"), Heal::Link(replica)),
            NemesisKind::Delay => {
                let fault = if self.rng.random_bool(0.5) {
                    "delay"
                } else {
                    "reorder"
                };
                (format!("link/{replica}/{fault}"), Heal::Link(replica))
            }
            NemesisKind::LaggingFailover => {
                let next_primary = replicas.iter().copied().min().unwrap_or(replica);
                (
                    format!("link/{next_primary}/delay"),
                    Heal::FailoverThenLink(next_primary),
                )
            }
            NemesisKind::None | NemesisKind::Mixed | NemesisKind::Command => {
                return Ok(Heal::Nothing)
            }
        };
        let answer = self.post(&path).await?;
        self.record("start", format!("{path} → {answer}"));
        Ok(heal)
    }

    async fn heal(&self, heal: Heal) -> Result<(), String> {
        self.begin_action();
        match heal {
            Heal::Nothing => self.record("stop", "nothing to heal".into()),
            Heal::Proxy(i) => {
                self.proxies[i].set(Link::Deliver);
                self.record("stop", format!("proxy {i}: Deliver"));
            }
            Heal::Link(copy) => {
                let released = self.deliver(copy).await?;
                self.record("stop", released);
            }
            Heal::Command => match self
                .hooks
                .as_ref()
                .and_then(|h| Some((h.stop.as_ref()?, h.timeout)))
            {
                Some((stop, timeout)) => self.run_command("stop", stop, timeout).await?,
                None => self.record("stop", "no --nemesis-cmd stop command".into()),
            },
            Heal::FailoverThenLink(copy) => {
                let failover = self.post("fail_primary").await?;
                let released = self.deliver(copy).await?;
                self.record("stop", format!("fail_primary → {failover}, {released}"));
            }
        }
        Ok(())
    }

    /// Set `copy`'s link back to deliver and release what it held; says how many.
    async fn deliver(&self, copy: u64) -> Result<String, String> {
        self.post(&format!("link/{copy}/deliver")).await?;
        let released = self.post(&format!("release/{copy}")).await?;
        Ok(format!(
            "link/{copy}/deliver, released {}",
            released["released"]
        ))
    }

    /// Wait for `period` more operations to complete (or `clients` more indefinite results) or
    /// for `stop`; returns whether it stopped.
    async fn wait(&self, stop: &mut watch::Receiver<bool>) -> bool {
        let target = self.endpoint.done() + self.period;
        let info_target = self.endpoint.indefinite() + self.clients;
        while self.endpoint.done() < target && self.endpoint.indefinite() < info_target {
            if tokio::time::timeout(POLL, stop.wait_for(|s| *s))
                .await
                .is_ok()
            {
                return true;
            }
        }
        *stop.borrow()
    }

    /// Run the schedule until `stop` turns true, then heal. An error (the endpoint refused a
    /// fault) ends the schedule and is returned.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) -> Result<(), String> {
        if self.kind == NemesisKind::None {
            return Ok(());
        }
        loop {
            if self.wait(&mut stop).await {
                return Ok(());
            }
            let kind = match self.kind {
                NemesisKind::Mixed if !self.proxies.is_empty() => {
                    PROXY_MIXED[self.rng.random_range(0..PROXY_MIXED.len())]
                }
                NemesisKind::Mixed => MIXED[self.rng.random_range(0..MIXED.len())],
                kind => kind,
            };
            let heal = self.start(kind).await?;
            let stopped = self.wait(&mut stop).await;
            self.heal(heal).await?;
            if stopped {
                return Ok(());
            }
        }
    }
}
