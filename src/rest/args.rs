//! `esocc serve`: the command-line arguments and the blocking entry point the CLI embeds.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::watch;

use super::breaker::BreakerLimits;
use super::connections::{ConnectionLimits, Stop, Stopped};
use super::limits::{
    default_max_connections, default_memory_budget, parse_byte_size, parse_duration, MemoryLimit,
};
use super::server::Server;
use crate::engine::group::{Unsafe, UnsafeKnob};

/// The endpoints and fault injection, shown by `esocc serve --help`.
const AFTER_HELP: &str = "\
Endpoints: Elasticsearch 8's document API (see docs/rest.md): GET|HEAD /, GET /_cluster/health[/{index}],
PUT|HEAD|DELETE /{index}, POST /{index}/_refresh, PUT|POST|GET|HEAD|DELETE /{index}/_doc/{id},
POST /{index}/_doc, PUT|POST /{index}/_create/{id}, GET|HEAD /{index}/_source/{id},
POST /{index}/_update/{id}, POST /{index}/_doc/{id}/_update, POST /_bulk, POST /{index}/_bulk,
GET|POST /_mget, /{index}/_mget; near-real-time search: POST|GET /_refresh, /{index}/_refresh,
GET|POST /_search, /{index}/_search, /_count, /{index}/_count, POST /{index}/_update_by_query,
POST /{index}/_delete_by_query.
Requests with a body need `Content-Type: application/json`, as on Elasticsearch:
  curl -XPUT -H 'Content-Type: application/json' localhost:9200/idx/_doc/1 -d '{\"n\":1}'

Fault injection (with --nodes > 1; copy k of every shard lives on node k, copy 0 is the first
primary):
  GET  /_esocc/{index}/{shard}                         the shard group: term, primary, copies
  POST /_esocc/{index}/{shard}/fail_primary            fail the primary: a replica is promoted
                                                       with a new primary term
  POST /_esocc/{index}/{shard}/isolate_primary         the master promotes a replica; the old
                                                       primary keeps serving until it is fenced
  POST /_esocc/{index}/{shard}/fail_replica/{copy}     fail a replica
  POST /_esocc/{index}/{shard}/link/{copy}/{fault}     replication to a copy: deliver | delay |
                                                       reorder (delay, newest first) | drop
  POST /_esocc/{index}/{shard}/release/{copy}[?one]    deliver what a delayed link holds
A request with the header `X-Esocc-Node: k` is served by copy k if it believes it is primary
(a client still connected to an isolated old primary), otherwise by the master's primary.";

/// `esocc serve [--addr 127.0.0.1:9200] [--nodes N]`: an Elasticsearch-compatible REST API over
/// the engine.
#[derive(clap::Args, Clone, Debug, PartialEq, Eq)]
#[command(after_long_help = AFTER_HELP)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:9200")]
    pub addr: SocketAddr,
    /// Simulated nodes. With 1 (a single-node cluster) replicas stay unassigned, so a write
    /// answers `"_shards":{"total":2,"successful":1,"failed":0}`; with N > 1 up to N - 1 replicas
    /// per shard are real in-process copies, replicated and failed over by the engine.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub nodes: u32,
    /// On SIGINT or SIGTERM, how long requests in flight may take to finish before the remaining
    /// connections are dropped; a second signal stops at once.
    #[arg(long, value_name = "TIME", default_value = "5s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// How long a client may take to send a request's head, from its first byte.
    #[arg(long, value_name = "TIME", default_value = "30s", value_parser = parse_duration)]
    pub header_timeout: Duration,
    /// How long a connection may stay open with no request in flight and no bytes sent.
    #[arg(long, value_name = "TIME", default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Open connections at most; more wait to be accepted (default: the open-files limit less 64).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: Option<u64>,
    /// The memory budget the breaker limits are ratios of, as Elasticsearch's are of its heap
    /// (default: half the machine's memory or its cgroup's limit, at most 31gb, as Elasticsearch
    /// sizes its heap).
    #[arg(long, value_name = "SIZE", value_parser = parse_byte_size)]
    pub memory: Option<u64>,
    /// `network.breaker.inflight_requests.limit`: request bodies being handled.
    #[arg(long, value_name = "LIMIT", default_value = "100%")]
    pub inflight_requests_limit: MemoryLimit,
    /// `indices.breaker.request.limit`: what requests build from their bodies and will store.
    #[arg(long, value_name = "LIMIT", default_value = "60%")]
    pub request_limit: MemoryLimit,
    /// `indices.breaker.total.limit`: the process's resident memory plus new reservations.
    #[arg(long, value_name = "LIMIT", default_value = "95%")]
    pub total_limit: MemoryLimit,
    /// Items in one `_bulk` request at most (400 beyond).
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_bulk_items: u64,
    /// UNSAFE, for testing testers: switch off one safeguard of the replication protocol (the
    /// replication model's bug knobs), repeatable. ack-before-replication: the primary
    /// acknowledges before its replicas applied the write; no-term-fencing: replicas accept
    /// operations of an older primary term; promote-stale-copy: the master promotes a copy that
    /// is not in sync; arrival-order: replicas apply each document's operations in arrival
    /// order, not by _seq_no; mark-in-sync-early: a recovering copy counts in sync as its
    /// recovery starts; prune-tombstones-early: a replica may prune a tombstone before its
    /// local checkpoint passed the delete (only where a prune is scripted: the server's own
    /// pruning waits for the global checkpoint). Acknowledged writes can be lost. Off by default.
    #[arg(long = "unsafe", value_name = "KNOB", value_parser = str::parse::<UnsafeKnob>)]
    pub unsafe_knobs: Vec<UnsafeKnob>,
}

/// The defaults are the command line's, read from the flags' declarations above (one place).
impl Default for ServeArgs {
    fn default() -> Self {
        let command = <ServeArgs as clap::Args>::augment_args(clap::Command::new("serve"));
        let matches = command.get_matches_from(["serve"]);
        <ServeArgs as clap::FromArgMatches>::from_arg_matches(&matches)
            .expect("the declared defaults parse (tested)")
    }
}

impl ServeArgs {
    /// The connection settings, machine-dependent defaults resolved.
    pub fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: self
                .max_connections
                .map_or_else(default_max_connections, |n| {
                    usize::try_from(n).unwrap_or(usize::MAX)
                }),
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
            shutdown_grace: self.shutdown_grace,
        }
    }

    /// The breaker limits in bytes, machine-dependent defaults resolved.
    pub fn breaker_limits(&self) -> BreakerLimits {
        let budget = self.memory.unwrap_or_else(default_memory_budget);
        BreakerLimits {
            inflight_requests: self.inflight_requests_limit.resolve(budget),
            request: self.request_limit.resolve(budget),
            total: self.total_limit.resolve(budget),
        }
    }
}

/// What `serve` runs: the parsed arguments.
pub type ServeOptions = ServeArgs;

/// What the startup line says about the knobs: nothing for the safe protocol.
fn unsafe_warning(knobs: Unsafe) -> String {
    let names: Vec<_> = knobs.knobs().iter().map(|k| k.name()).collect();
    match names.is_empty() {
        true => String::new(),
        false => format!(
            " UNSAFE: {} (acknowledged writes can be lost)",
            names.join(", ")
        ),
    }
}

/// SIGINT and SIGTERM (Ctrl-C elsewhere), which both stop the server.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> std::io::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(StopSignals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    /// The next signal: its name and the exit code of a process it ends (128 + its number).
    async fn next(&mut self) -> (&'static str, u8) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => ("SIGINT", 130),
                _ = self.terminate.recv() => ("SIGTERM", 143),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            ("Ctrl-C", 130)
        }
    }
}

/// Serve until SIGINT or SIGTERM, then drain. `Ok(Some(code))`: a second signal stopped the
/// process at once, and it should exit with `code`.
pub fn serve(opts: ServeOptions) -> std::io::Result<Option<u8>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = Server::bind(&opts).await?;
        let mut signals = StopSignals::install()?;
        eprintln!(
            "esocc serve: listening on http://{} ({} node{}){}",
            server.local_addr(),
            opts.nodes,
            if opts.nodes == 1 { "" } else { "s" },
            unsafe_warning(Unsafe::of(&opts.unsafe_knobs))
        );
        let (stop, stopped) = watch::channel(Stop::Running);
        let grace = opts.shutdown_grace;
        let signalled = tokio::spawn(async move {
            let (name, _) = signals.next().await;
            eprintln!(
                "esocc serve: {name}: draining requests in flight for up to {grace:?}; a second signal stops at once"
            );
            let _ = stop.send(Stop::Drain);
            let (name, code) = signals.next().await;
            eprintln!("esocc serve: {name}: stopping now");
            let _ = stop.send(Stop::Now);
            code
        });
        let outcome = server.run(stopped).await;
        match outcome {
            Stopped::Drained => eprintln!("esocc serve: stopped, every request answered"),
            Stopped::GraceExpired(open) => eprintln!(
                "esocc serve: stopped, {open} connection{} still open after {grace:?} dropped",
                if open == 1 { "" } else { "s" }
            ),
            Stopped::Forced => return Ok(signalled.await.ok()),
        }
        Ok(None)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_declared_ones() {
        let args = ServeArgs::default();
        assert_eq!(args.addr, SocketAddr::from(([127, 0, 0, 1], 9200)));
        assert_eq!(args.nodes, 1);
        assert_eq!(args.shutdown_grace, Duration::from_secs(5));
        assert_eq!(args.header_timeout, Duration::from_secs(30));
        assert_eq!(args.idle_timeout, Duration::from_secs(60));
        assert_eq!((args.max_connections, args.memory), (None, None));
        assert_eq!(args.inflight_requests_limit, MemoryLimit::Ratio(10_000));
        assert_eq!(args.request_limit, MemoryLimit::Ratio(6_000));
        assert_eq!(args.total_limit, MemoryLimit::Ratio(9_500));
        assert_eq!(args.max_bulk_items, 100_000);
        assert!(args.unsafe_knobs.is_empty());
        assert_eq!(unsafe_warning(Unsafe::default()), "");
    }

    #[test]
    fn unsafe_knobs_are_named_in_the_startup_line() {
        let command = <ServeArgs as clap::Args>::augment_args(clap::Command::new("serve"));
        let matches = command
            .try_get_matches_from([
                "serve",
                "--unsafe",
                "no-term-fencing",
                "--unsafe",
                "ack-before-replication",
            ])
            .unwrap();
        let args = <ServeArgs as clap::FromArgMatches>::from_arg_matches(&matches).unwrap();
        assert_eq!(
            unsafe_warning(Unsafe::of(&args.unsafe_knobs)),
            " UNSAFE: ack-before-replication, no-term-fencing (acknowledged writes can be lost)"
        );
        let command = <ServeArgs as clap::Args>::augment_args(clap::Command::new("serve"));
        let error = command
            .try_get_matches_from(["serve", "--unsafe", "fast"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown knob `fast`"), "{error}");
    }
}
