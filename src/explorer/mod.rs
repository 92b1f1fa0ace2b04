//! esocc's own model explorer: the catalogue, each entry's counterexamples and every step in
//! Elasticsearch's terms, in the browser (`esocc explore`), and the same views as static pages
//! (`esocc check --html DIR`).
//!
//! | module | what it is |
//! | --- | --- |
//! | [`walk`] | a path of choices through an entry's model: steps, states, next actions, verdicts on the path, the diagram |
//! | [`view`] | one state as labelled values, with what the last step changed marked |
//! | [`verdicts`] | the background check of every entry (the same run as `esocc check`) |
//! | [`server`] | the axum routes: the page and a small JSON API |
//! | [`page`] | the one self-contained page (HTML, CSS and script embedded in the binary) |
//! | [`html`] | static pages for every counterexample |
//!
//! Everything a person reads comes from the models' own [`crate::model::trace::Describe`]
//! implementations and [`crate::model::check`]; nothing here knows a model's actions or states.

pub mod html;
pub mod page;
pub mod server;
pub mod verdicts;
pub mod view;
pub mod walk;

use std::net::SocketAddr;
use std::sync::Arc;

use crate::model::catalogue::Entry;

/// Why the explorer could not serve.
#[derive(Debug)]
pub enum ServeError {
    /// An entry's model could not be built (entries loaded from the catalogue always can).
    Model(String, String),
    Bind(SocketAddr, std::io::Error),
    Io(std::io::Error),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Model(entry, e) => write!(f, "{entry}: invalid parameters: {e}"),
            ServeError::Bind(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
            ServeError::Io(e) => write!(f, "the explorer stopped: {e}"),
        }
    }
}

impl std::error::Error for ServeError {}

/// Serves the explorer for `entries` on `addr` until Ctrl-C (or SIGTERM), checking every entry
/// in the background with `threads` checker threads; `ready` is called with the bound address
/// once it accepts connections.
pub fn serve(
    entries: Vec<Entry>,
    addr: SocketAddr,
    threads: usize,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let walkers = entries
        .iter()
        .map(|e| walk::walker(e).map_err(|message| ServeError::Model(e.name.clone(), message)))
        .collect::<Result<Vec<_>, _>>()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(ServeError::Io)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| ServeError::Bind(addr, e))?;
        ready(listener.local_addr().map_err(ServeError::Io)?);
        let entries = Arc::new(entries);
        let explorer = Arc::new(server::Explorer {
            verdicts: verdicts::Verdicts::start(entries.clone(), threads),
            entries,
            walkers,
        });
        axum::serve(listener, server::router(explorer))
            .with_graceful_shutdown(stopped())
            .await
            .map_err(ServeError::Io)
    })
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stopped() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
