//! `esocc serve`: the command-line arguments and the blocking entry point the CLI embeds.

use std::net::SocketAddr;

use super::server::Server;

/// The endpoints and fault injection, shown by `esocc serve --help`.
const AFTER_HELP: &str = "\
Endpoints: Elasticsearch 8's document API (see docs/rest.md): GET|HEAD /, GET /_cluster/health,
PUT|HEAD|DELETE /{index}, POST /{index}/_refresh, PUT|POST|GET|HEAD|DELETE /{index}/_doc/{id},
POST /{index}/_doc, PUT|POST /{index}/_create/{id}, GET|HEAD /{index}/_source/{id},
POST /{index}/_update/{id}, POST /{index}/_doc/{id}/_update, POST /_bulk, POST /{index}/_bulk.
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
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            addr: SocketAddr::from(([127, 0, 0, 1], 9200)),
            nodes: 1,
        }
    }
}

/// What `serve` runs: the parsed arguments.
pub type ServeOptions = ServeArgs;

/// Serve until interrupted (Ctrl-C).
pub fn serve(opts: ServeOptions) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = Server::bind(&opts).await?;
        eprintln!(
            "esocc serve: listening on http://{} ({} node{})",
            server.local_addr(),
            opts.nodes,
            if opts.nodes == 1 { "" } else { "s" }
        );
        server
            .run(async {
                // If the signal cannot be installed, serve until the process is killed.
                if tokio::signal::ctrl_c().await.is_err() {
                    std::future::pending::<()>().await;
                }
            })
            .await
    })
}
