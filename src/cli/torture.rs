//! `esocc torture`: run a workload against an endpoint under a nemesis and check the history;
//! `esocc torture check HISTORY`: check a saved history offline.
//!
//! Exit codes: 0 valid, 1 anomalies found, 2 bad input, 3 unknown (the linearizability search
//! spent its budget on some document and nothing else was found).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use esocc::engine::group::UnsafeKnob;
use esocc::torture::command::Hooks;
use esocc::torture::generator::Workload;
use esocc::torture::nemesis::NemesisKind;
use esocc::torture::run::{run, RunOptions, Target};
use esocc::torture::wgl::Budget;
use esocc::torture::{check, report, CheckReport, History, Verdict};

use super::Failure;

/// Run concurrent clients against an Elasticsearch-compatible endpoint while faults are injected,
/// record every operation and check the history (see docs/torture.md).
///
/// Without --url it starts its own `esocc serve` on a free loopback port (--spawn, --nodes 3)
/// and stops it at the end. Writes DIR/history.jsonl and DIR/index.html and prints the verdict
/// with each anomaly's witness. Exit 0: valid; 1: anomalies; 2: bad input; 3: unknown.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TortureArgs {
    #[command(subcommand)]
    command: Option<TortureCommand>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum TortureCommand {
    /// Check a saved history.jsonl offline; --out DIR also writes DIR/index.html.
    Check(CheckArgs),
}

#[derive(Args)]
struct CheckArgs {
    history: PathBuf,
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    budget: BudgetArgs,
}

#[derive(Args)]
struct BudgetArgs {
    /// Steps per operation the linearizability search may take on a document before answering
    /// unknown.
    #[arg(long, value_name = "N", default_value_t = Budget::default().steps_per_op)]
    wgl_steps_per_op: u64,
    /// Memory (MB) the search may use per document for memoised configurations.
    #[arg(long, value_name = "MB", default_value_t = Budget::default().memory >> 20)]
    wgl_memory_mb: usize,
}

impl BudgetArgs {
    fn budget(&self) -> Budget {
        Budget {
            steps_per_op: self.wgl_steps_per_op,
            memory: self.wgl_memory_mb.saturating_mul(1 << 20),
        }
    }
}

#[derive(Args)]
struct RunArgs {
    /// Elasticsearch-compatible endpoints over plain HTTP, one per node (comma-separated).
    #[arg(long, value_name = "URL", value_delimiter = ',', conflicts_with_all = ["spawn", "nodes"])]
    url: Vec<String>,
    /// Start `esocc serve` on a free loopback port (the default without --url).
    #[arg(long)]
    spawn: bool,
    /// Send the clients through a TCP proxy per node, and let the nemesis partition (drop) or
    /// delay the proxies instead of using esocc serve's fault endpoints: faults for any endpoint.
    #[arg(long)]
    proxy: bool,
    /// Nodes of the spawned server.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=64))]
    nodes: u32,
    /// UNSAFE: run the spawned server without one safeguard (`esocc serve --unsafe`:
    /// ack-before-replication, no-term-fencing, promote-stale-copy, arrival-order,
    /// mark-in-sync-early, prune-tombstones-early), repeatable: a check of the
    /// checker, which must find the anomalies the knob causes.
    #[arg(long = "unsafe", value_name = "KNOB", value_parser = str::parse::<UnsafeKnob>, conflicts_with = "url")]
    unsafe_knobs: Vec<UnsafeKnob>,
    /// Pin each client to a node of the spawned server (`X-Esocc-Node: client mod nodes`), as
    /// clients connected to one node of a cluster: those of an isolated old primary's node keep
    /// reaching it until it is fenced (Elasticsearch's documented dirty reads).
    #[arg(long, conflicts_with_all = ["url", "proxy"])]
    pin_clients: bool,
    #[arg(long, value_enum, default_value_t = Workload::Register)]
    workload: Workload,
    /// Concurrent clients.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1024))]
    clients: u32,
    /// Documents the workload spreads over (not used by `set`, which creates new ones).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    keys: u32,
    /// Stop after this many operations (default 1000 when --time is not given).
    #[arg(long, value_name = "N", conflicts_with = "time")]
    ops: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "S")]
    time: Option<u64>,
    /// Seed of the operation generator and the nemesis schedule.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = NemesisKind::None)]
    nemesis: NemesisKind,
    /// Inject faults with your own commands instead (`docker kill es2`, `kill -STOP PID`):
    /// `--nemesis-cmd start CMD [--nemesis-cmd stop CMD]`. The start command runs (`sh -c`) at
    /// each scheduled fault, the stop command at its heal; each is recorded in the history
    /// with its exit status. One that fails or times out ends the schedule (exit 2).
    #[arg(long, num_args = 2, value_names = ["start|stop", "CMD"], conflicts_with_all = ["nemesis", "proxy"])]
    nemesis_cmd: Vec<String>,
    /// How long a --nemesis-cmd command may run before its process group is killed.
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    nemesis_cmd_timeout_ms: u64,
    /// Completed operations in each healthy and each fault period of the nemesis.
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    nemesis_period: u64,
    /// Client timeout per request; a timeout is an indefinite result.
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
    /// `retry_on_conflict` of the update workload.
    #[arg(long, default_value_t = 10)]
    retry_on_conflict: u32,
    /// The update workload's updates are scripted appends to a list
    /// (`ctx._source.L.add(params.token)`, with an upsert) instead of partial documents.
    #[arg(long)]
    scripted_updates: bool,
    /// The index the run deletes, re-creates and writes.
    #[arg(long, default_value = "torture")]
    index: String,
    /// Where history.jsonl and index.html go.
    #[arg(long, value_name = "DIR", default_value = "torture-out")]
    out: PathBuf,
    #[command(flatten)]
    budget: BudgetArgs,
}

fn exit(report: &CheckReport) -> Result<(), Failure> {
    match report.verdict {
        Verdict::Valid => Ok(()),
        Verdict::Anomalies => Err(Failure::Mismatch),
        Verdict::Unknown => Err(Failure::Unknown),
    }
}

pub fn run_command(args: TortureArgs) -> Result<(), Failure> {
    match args.command {
        Some(TortureCommand::Check(args)) => check_history(&args),
        None => torture(args.run),
    }
}

fn check_history(args: &CheckArgs) -> Result<(), Failure> {
    let text = std::fs::read_to_string(&args.history)
        .map_err(|e| Failure::BadInput(format!("cannot read {}: {e}", args.history.display())))?;
    let history = History::parse(&text)
        .map_err(|e| Failure::BadInput(format!("{}: {e}", args.history.display())))?;
    let report = check(&history, args.budget.budget());
    print!("{}", report.render(&history));
    if let Some(dir) = &args.out {
        write_report(dir, &history, &report)?;
    }
    exit(&report)
}

fn write_report(
    dir: &std::path::Path,
    history: &History,
    report: &CheckReport,
) -> Result<(), Failure> {
    let path = dir.join("index.html");
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&path, report::render(history, report)))
        .map_err(|e| Failure::BadInput(format!("cannot write {}: {e}", path.display())))?;
    println!("wrote {}", path.display());
    Ok(())
}

fn torture(args: RunArgs) -> Result<(), Failure> {
    let target = if args.url.is_empty() {
        let exe = std::env::current_exe()
            .map_err(|e| Failure::BadInput(format!("cannot find the esocc binary: {e}")))?;
        Target::Spawn {
            exe,
            nodes: args.nodes,
            knobs: args.unsafe_knobs,
        }
    } else {
        for url in &args.url {
            if !url.starts_with("http://") {
                return Err(Failure::BadInput(format!(
                    "--url {url}: only plain http:// endpoints are supported"
                )));
            }
        }
        Target::Urls(
            args.url
                .iter()
                .map(|u| u.trim_end_matches('/').to_owned())
                .collect(),
        )
    };
    let hooks = match args.nemesis_cmd.is_empty() {
        true => None,
        false => Some(
            Hooks::from_pairs(
                &args.nemesis_cmd,
                Duration::from_millis(args.nemesis_cmd_timeout_ms),
            )
            .map_err(Failure::BadInput)?,
        ),
    };
    let opts = RunOptions {
        target,
        workload: args.workload,
        nemesis: match hooks {
            Some(_) => NemesisKind::Command,
            None => args.nemesis,
        },
        hooks,
        seed: args.seed,
        clients: args.clients,
        keys: args.keys,
        ops: match (args.ops, args.time) {
            (None, None) => Some(1000),
            (ops, _) => ops,
        },
        time: args.time.map(Duration::from_secs),
        timeout: Duration::from_millis(args.timeout_ms),
        nemesis_period: args.nemesis_period,
        retry_on_conflict: args.retry_on_conflict,
        scripted_updates: args.scripted_updates,
        index: args.index,
        proxy: args.proxy,
        pin_clients: args.pin_clients,
        budget: args.budget.budget(),
        out: args.out,
    };
    let output = run(&opts).map_err(Failure::BadInput)?;
    print!("{}", output.report.render(&output.history));
    println!(
        "wrote {} and {}",
        opts.out.join("history.jsonl").display(),
        opts.out.join("index.html").display()
    );
    if let Some(error) = output.nemesis_error {
        return Err(Failure::BadInput(format!("the nemesis stopped: {error}")));
    }
    exit(&output.report)
}
