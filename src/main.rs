//! The `esocc` command: check the model catalogue, explore a model in the browser, report what is
//! proven, serve the Elasticsearch-compatible API. See `esocc --help` and the README.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
