//! One torture run: start `esocc serve` (or use the given URLs), create the index, run the
//! clients and the nemesis until the bound, heal, read every key on every node, and write
//! `DIR/history.jsonl` and `DIR/index.html`. Ctrl-C stops the clients early; the history and
//! the report are still written.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use super::check::{check, CheckReport};
use super::client::{Client, Endpoint};
use super::command::Hooks;
use super::generator::{Generator, Workload};
use super::history::{History, RunParams};
use super::nemesis::{Nemesis, NemesisKind};
use super::proxy::Proxy;
use super::report;
use super::wgl::Budget;
use super::Recorder;
use crate::engine::group::UnsafeKnob;

/// Where the operations go.
#[derive(Clone, Debug)]
pub enum Target {
    /// Start `exe serve --addr 127.0.0.1:0 --nodes N [--unsafe KNOB]...` and stop it at the end.
    Spawn {
        exe: PathBuf,
        nodes: u32,
        /// The safeguards the server runs without (none: the safe protocol).
        knobs: Vec<UnsafeKnob>,
    },
    /// Elasticsearch-compatible endpoints, one URL per node.
    Urls(Vec<String>),
}

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub target: Target,
    pub workload: Workload,
    pub nemesis: NemesisKind,
    pub seed: u64,
    pub clients: u32,
    pub keys: u32,
    pub ops: Option<u64>,
    pub time: Option<Duration>,
    pub timeout: Duration,
    /// Completed operations per healthy and per fault period of the nemesis.
    pub nemesis_period: u64,
    pub retry_on_conflict: u32,
    /// Updates are scripted appends to the list `L` ([`crate::torture::client::APPEND`]).
    pub scripted_updates: bool,
    pub index: String,
    /// Put a TCP proxy in front of every node; the nemesis then acts on the proxies.
    pub proxy: bool,
    /// Against a spawned server: each client names its node (`X-Esocc-Node`).
    pub pin_clients: bool,
    /// `--nemesis-cmd`: the faults are these commands (`nemesis` is then
    /// [`NemesisKind::Command`]).
    pub hooks: Option<Hooks>,
    pub budget: Budget,
    pub out: PathBuf,
}

/// What a run produced.
pub struct RunOutput {
    pub history: History,
    pub report: CheckReport,
    /// The nemesis could not do its work (the endpoint refused a fault): the run is not what
    /// was asked for, although the history was written and checked.
    pub nemesis_error: Option<String>,
}

/// A spawned `esocc serve`, killed when dropped.
struct Spawned {
    child: Child,
    url: String,
}

impl Spawned {
    fn start(exe: &PathBuf, nodes: u32, knobs: &[UnsafeKnob]) -> Result<Spawned, String> {
        let mut child = Command::new(exe)
            .args(["serve", "--addr", "127.0.0.1:0", "--nodes"])
            .arg(nodes.to_string())
            .args(knobs.iter().flat_map(|k| ["--unsafe", k.name()]))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {} serve: {e}", exe.display()))?;
        let Some(stderr) = child.stderr.take() else {
            let _ = child.kill();
            return Err("cannot read the spawned server's output".into());
        };
        let mut lines = BufReader::new(stderr).lines();
        let url = lines.by_ref().map_while(Result::ok).find_map(|line| {
            line.split_whitespace()
                .find(|w| w.starts_with("http://"))
                .map(str::to_owned)
        });
        // Keep draining what the server prints so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        let mut spawned = Spawned {
            child,
            url: String::new(),
        };
        match url {
            Some(url) => {
                spawned.url = url;
                Ok(spawned)
            }
            None => Err(format!(
                "{} serve exited without listening{}",
                exe.display(),
                match spawned.child.try_wait() {
                    Ok(Some(status)) => format!(" ({status})"),
                    _ => String::new(),
                }
            )),
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Delete and re-create the index: one shard, a replica per further node.
async fn create_index(endpoint: &Endpoint, replicas: u32) -> Result<(), String> {
    let url = format!("{}/{}", endpoint.urls[0], endpoint.index);
    let http = &endpoint.http;
    http.delete(&url)
        .send()
        .await
        .map_err(|e| format!("DELETE {url}: {e}"))?;
    let settings = json!({"settings": {"number_of_shards": 1, "number_of_replicas": replicas}});
    let response = http
        .put(&url)
        .json(&settings)
        .send()
        .await
        .map_err(|e| format!("PUT {url}: {e}"))?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(format!("PUT {url}: {status} {body}"));
    }
    Ok(())
}

/// Run the torture and write `history.jsonl` and `index.html` into `opts.out`.
pub fn run(opts: &RunOptions) -> Result<RunOutput, String> {
    if opts.proxy && !opts.nemesis.works_through_proxy() {
        return Err(format!(
            "--nemesis {} needs esocc serve's fault endpoints: with --proxy use partition, delay or mixed",
            opts.nemesis.name()
        ));
    }
    if opts.pin_clients && (opts.proxy || matches!(opts.target, Target::Urls(_))) {
        return Err("--pin-clients needs a spawned esocc serve, without --proxy".into());
    }
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| format!("cannot create {}: {e}", opts.out.display()))?;
    let spawned = match &opts.target {
        Target::Spawn { exe, nodes, knobs } => Some(Spawned::start(exe, *nodes, knobs)?),
        Target::Urls(_) => None,
    };
    let (urls, nodes) = match (&opts.target, &spawned) {
        (Target::Spawn { nodes, .. }, Some(s)) => (vec![s.url.clone()], *nodes),
        (Target::Urls(urls), _) => (urls.clone(), u32::try_from(urls.len()).unwrap_or(1)),
        (Target::Spawn { .. }, None) => unreachable!("spawned above"),
    };
    let params = RunParams {
        workload: opts.workload.name().into(),
        nemesis: opts.nemesis.name().into(),
        seed: opts.seed,
        clients: opts.clients,
        keys: opts.keys,
        ops: opts.ops,
        time_s: opts.time.map(|t| t.as_secs()),
        timeout_ms: u64::try_from(opts.timeout.as_millis()).unwrap_or(u64::MAX),
        urls: urls.clone(),
        nodes,
        index: opts.index.clone(),
        unsafe_knobs: match &opts.target {
            Target::Spawn { knobs, .. } => knobs.iter().map(|k| k.name().to_owned()).collect(),
            Target::Urls(_) => Vec::new(),
        },
        pin_clients: opts.pin_clients,
        scripted_updates: opts.scripted_updates,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let recorder = Recorder::new(params);
    let proxies = if opts.proxy {
        runtime.block_on(async {
            let mut proxies = Vec::new();
            for url in &urls {
                proxies.push(Proxy::start(url).await?);
            }
            Ok::<_, String>(proxies)
        })?
    } else {
        Vec::new()
    };
    let client_urls = if proxies.is_empty() {
        urls.clone()
    } else {
        proxies.iter().map(|p| p.url.clone()).collect()
    };
    let mut endpoint = Endpoint::new(
        client_urls,
        opts.index.clone(),
        opts.timeout,
        opts.retry_on_conflict,
    )?;
    if opts.pin_clients {
        endpoint.pinned_nodes = Some(nodes as usize);
    }
    endpoint.scripted_updates = opts.scripted_updates;
    let endpoint = Arc::new(endpoint);
    let nemesis_error = runtime.block_on(drive(opts, &endpoint, &recorder, nodes, proxies))?;
    drop(spawned);
    let text = recorder.to_jsonl();
    let path = opts.out.join("history.jsonl");
    std::fs::write(&path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let history = History::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let report = check(&history, opts.budget);
    let html = opts.out.join("index.html");
    std::fs::write(&html, report::render(&history, &report))
        .map_err(|e| format!("cannot write {}: {e}", html.display()))?;
    Ok(RunOutput {
        history,
        report,
        nemesis_error,
    })
}

/// The asynchronous part: clients, nemesis, progress, final reads.
async fn drive(
    opts: &RunOptions,
    endpoint: &Arc<Endpoint>,
    recorder: &Recorder,
    nodes: u32,
    proxies: Vec<Proxy>,
) -> Result<Option<String>, String> {
    create_index(endpoint, nodes.saturating_sub(1)).await?;
    let (stop_tx, stop) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let nemesis = Nemesis::new(opts, endpoint.clone(), recorder.clone(), proxies)?;
    let current = nemesis.current.subscribe();
    let nemesis = tokio::spawn(nemesis.run(stop.clone()));
    {
        let stop_tx = stop_tx.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop_tx.send_replace(true);
            }
        });
    }
    if let Some(time) = opts.time {
        let stop_tx = stop_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(time).await;
            stop_tx.send_replace(true);
        });
    }
    let progress = progress_bar(opts);
    let ticker = {
        let progress = progress.clone();
        let endpoint = endpoint.clone();
        tokio::spawn(async move {
            loop {
                let [ok, fail, info] = endpoint
                    .counts
                    .each_ref()
                    .map(|c| c.load(std::sync::atomic::Ordering::Relaxed));
                progress.set_position(endpoint.done());
                progress.set_message(format!(
                    "ok {ok} fail {fail} info {info} | nemesis: {}",
                    current.borrow().as_str()
                ));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let mut tasks = Vec::new();
    for c in 0..opts.clients {
        let share = opts.ops.map_or(u64::MAX, |n| {
            n / u64::from(opts.clients) + u64::from(u64::from(c) < n % u64::from(opts.clients))
        });
        let mut client = Client::new(
            c,
            opts.clients,
            endpoint.clone(),
            recorder.clone(),
            Generator::new(opts.workload, opts.seed, c, opts.keys),
        );
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            while done < share && !*stop.borrow() {
                done += client.step().await;
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    stop_tx.send_replace(true);
    let nemesis_error = nemesis.await.ok().and_then(Result::err);
    ticker.abort();
    progress.finish_and_clear();
    final_reads(endpoint, recorder).await;
    Ok(nemesis_error)
}

fn progress_bar(opts: &RunOptions) -> indicatif::ProgressBar {
    let bar = match opts.ops {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::no_length(),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{elapsed_precise} {pos}/{len} ops  {msg}")
    {
        bar.set_style(style);
    }
    bar
}

/// Read every key the run touched from every node, after the nemesis healed.
async fn final_reads(endpoint: &Arc<Endpoint>, recorder: &Recorder) {
    let keys = recorder.invoked_keys();
    for node in 0..endpoint.nodes() {
        let mut reader = Client::reader(
            node,
            u64::MAX / 2 + node as u64,
            endpoint.clone(),
            recorder.clone(),
        );
        for key in &keys {
            reader.final_read(key).await;
        }
    }
}
