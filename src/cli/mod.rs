//! The command line: argument parsing and exit codes. Each subcommand lives in its own module.
//!
//! Exit codes: 0 when everything checked matches its expectation, 1 when a verdict differs from
//! the catalogue's expectation (or the generated report drifted, or a torture history has
//! anomalies), 2 on bad input: an unreadable path, invalid JSON, an unknown parameter, an address
//! that cannot be bound; 3 when a torture history's check is unknown (budget spent).
//! `serve` embeds the REST layer's own arguments ([`esocc::rest::ServeArgs`]).

mod check;
mod explore;
mod part;
mod report;
mod simulate;
mod table;
mod torture;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "esocc",
    version,
    about = "Elasticsearch's optimistic concurrency control, run, broken and proven",
    long_about = "Elasticsearch's optimistic concurrency control (_seq_no, _primary_term, \
                  if_seq_no/if_primary_term, external versions, retry_on_conflict) and the \
                  primary/replica protocol under it, as stateright models checked exhaustively \
                  against a catalogue of expected verdicts, and as an Elasticsearch-compatible API."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Check(CheckArgs),
    Explore(ExploreArgs),
    Report(ReportArgs),
    /// Serve Elasticsearch's document API over the in-memory engine (loopback by default).
    Serve(esocc::rest::ServeArgs),
    Torture(torture::TortureArgs),
}

/// Model-check catalogue entries and compare every verdict with the expected one.
///
/// Prints a table (entry, property, expected, verdict, unique states, depth, seconds), then every
/// counterexample as numbered steps, shortest first. A progress bar runs on stderr when it is a
/// terminal. Exit 0: every verdict is as expected; 1: at least one is not; 2: bad input.
#[derive(Args)]
struct CheckArgs {
    /// Catalogue files or directories of them.
    #[arg(default_value = "models")]
    paths: Vec<PathBuf>,
    /// Print the results as JSON on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Checker threads (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Write each counterexample to DIR as `<entry>.<property>.json` and `.svg` (a sequence diagram).
    #[arg(long, value_name = "DIR")]
    trace_dir: Option<PathBuf>,
    /// Write the explorer's views as static pages to DIR: `index.html` (the catalogue and its
    /// verdicts) and `<entry>.<property>.html` per counterexample, to open without a server.
    #[arg(long, value_name = "DIR")]
    html: Option<PathBuf>,
    /// Check only part I of N of each entry's state space (docs/checking.md) and write the
    /// part's results as JSON (to --out, or stdout), for --merge. Run all N parts, anywhere.
    #[arg(long, value_name = "I/N", conflicts_with_all = ["merge", "simulate", "json", "trace_dir", "html"])]
    part: Option<esocc::model::part::Part>,
    /// With --part: the breadth-first depth of the frontier whose states are shared out
    /// (default: the first level with at least 16 states per part).
    #[arg(long, value_name = "D", requires = "part")]
    frontier_depth: Option<usize>,
    /// With --part: write the JSON to FILE instead of stdout.
    #[arg(long, value_name = "FILE", requires = "part")]
    out: Option<PathBuf>,
    /// Merge the JSON files of --part runs (the PATHS) into one verdict table (JSON with --json).
    #[arg(long, conflicts_with_all = ["simulate", "trace_dir", "html"])]
    merge: bool,
    /// Take random walks instead of checking exhaustively: reports the distinct states seen and
    /// the first counterexample per property. A simulation proves nothing.
    #[arg(long, conflicts_with_all = ["trace_dir", "html"])]
    simulate: bool,
    /// With --simulate: the number of random walks.
    #[arg(long = "paths", value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    walks: u64,
    /// With --simulate: the seed of the walks' choices (the same seed gives the same walks).
    #[arg(long, value_name = "X", default_value_t = 0)]
    seed: u64,
    /// With --simulate: the steps after which a walk stops.
    #[arg(long, value_name = "D", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    max_depth: u64,
}

/// Browse the catalogue's models step by step in the browser.
///
/// Serves esocc's explorer on --addr (loopback by default) until interrupted: the catalogue with
/// every entry's verdicts (checked in the background exactly as `esocc check` does), and for an
/// entry its paths as numbered protocol steps, the state after each step, the next actions, the
/// properties that fail on the path and the sequence diagram; a path's URL reproduces it.
///
/// With --stateright, stateright's generic Explorer on one entry instead. It starts checking at
/// once (stateright 0.31 otherwise checks nothing until "Run to completion" is pressed, unless
/// --no-check), refuses an address it cannot bind instead of panicking, and ignores a ./ui/
/// folder in the working directory (which it would serve instead of its page). Its known limits:
/// symmetry reduction is not applied, so its state counts are those of the full space and can
/// exceed `esocc check`'s; responses carry no Content-Type header (browsers sniff them
/// correctly); a client that resets a connection makes tiny_http print a panic message on
/// stderr, and the server keeps answering.
#[derive(Args)]
struct ExploreArgs {
    /// Catalogue files or directories of them.
    #[arg(default_value = "models")]
    paths: Vec<PathBuf>,
    /// Address to serve on (port 0: any free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// Checker threads (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Serve stateright's generic Explorer on one entry instead.
    #[arg(long)]
    stateright: bool,
    /// With --stateright: do not start checking at once; wait for "Run to completion".
    #[arg(long, requires = "stateright")]
    no_check: bool,
}

/// Write docs/invariants.md: each invariant, where it is defined, the entries that prove it and
/// the shortest counterexample refuting each unsafe variant.
///
/// The report contains no timings and is checked on one thread (a multi-threaded depth-first run
/// can reach its deepest state by a different path each time), so it is identical from run to
/// run. With --check nothing is written: exit 1 when the file differs from a fresh report.
#[derive(Args)]
struct ReportArgs {
    /// Catalogue files or directories of them.
    #[arg(long = "models", value_name = "PATH", default_value = "models")]
    paths: Vec<PathBuf>,
    /// Where the report goes.
    #[arg(long, value_name = "FILE", default_value = "docs/invariants.md")]
    out: PathBuf,
    /// Compare with the file instead of writing it; exit 1 when they differ.
    #[arg(long)]
    check: bool,
}

/// How a command ended, mapped to the exit code.
pub enum Failure {
    /// A verdict differed from its expectation, or the report drifted: exit 1.
    Mismatch,
    /// Bad input, with the message to print: exit 2.
    BadInput(String),
    /// A check could not decide within its budget: exit 3.
    Unknown,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Explore(args) => explore::run(args),
        Command::Report(args) => report::run(args),
        Command::Torture(args) => torture::run_command(args),
        Command::Serve(args) => {
            let addr = args.addr;
            match esocc::rest::serve(args) {
                // A second stop signal: exit as that signal would have.
                Ok(Some(code)) => return ExitCode::from(code),
                Ok(None) => Ok(()),
                Err(e) => Err(Failure::BadInput(format!("cannot serve on {addr}: {e}"))),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Mismatch) => ExitCode::from(1),
        Err(Failure::Unknown) => ExitCode::from(3),
        Err(Failure::BadInput(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn threads(requested: Option<u16>) -> usize {
    requested.map(usize::from).unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    })
}
