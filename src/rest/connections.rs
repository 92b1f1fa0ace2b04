//! The connection layer of `esocc serve`: hyper's HTTP/1.1 server connection driven by our own
//! accept loop, because `axum::serve` exposes none of what a server left running needs.
//!
//! - `TCP_NODELAY` on every accepted socket (`http.tcp.no_delay`, true in Elasticsearch), so a
//!   pipelined response is not held back by Nagle's algorithm waiting for the client's ACK.
//! - A connection cap: at the cap the loop stops accepting (clients wait in the kernel's
//!   backlog) instead of running out of file descriptors, which would make the server
//!   unreachable until idle connections go.
//! - A header-read timeout (from the first byte of a request head to its end) and an idle
//!   timeout (no request in flight and no bytes either way), kept by one watchdog per
//!   connection that reads the timestamps the socket wrapper [`Watched`] records. hyper's own
//!   `header_read_timeout` is not used: its timer also runs while a keep-alive connection is
//!   idle, so it cannot be told apart from the idle timeout.
//! - Shutdown: when [`Stop::Drain`] is announced the listener closes, connections without a
//!   request in flight (idle, or in the middle of a head) close at once, the others finish their
//!   request and close (hyper's `graceful_shutdown`), and whatever is still open when the grace
//!   period ends is dropped. [`Stop::Now`] drops everything at once.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// hyper's hard limit on a request head. Heads between Elasticsearch's 16 KB
/// (`http.max_header_size`, checked by the channel with Elasticsearch's answer) and this are
/// read so that they can be answered as Elasticsearch does; larger ones get hyper's bare 431.
pub const HEAD_BUFFER_LIMIT: usize = 128 * 1024;

/// How long the accept loop waits after a failed accept (out of file descriptors, say) before
/// trying again, instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What the connection layer is told to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Running,
    /// Stop accepting, finish in-flight requests within the grace period.
    Drain,
    /// Drop every connection now.
    Now,
}

/// How serving ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// Every connection finished within the grace period.
    Drained,
    /// The grace period ended with this many connections still open; they were dropped.
    GraceExpired(usize),
    /// [`Stop::Now`] came while draining.
    Forced,
}

/// The connection settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub shutdown_grace: Duration,
}

/// What a connection did last, for its watchdog. Times are milliseconds since `epoch`.
struct Activity {
    epoch: Instant,
    /// The last byte read or written, or the end of the last request.
    last: AtomicU64,
    /// When the first byte of a request head arrived while no request was in flight (plus one;
    /// 0: none pending).
    head_since: AtomicU64,
    in_flight: AtomicUsize,
    /// Wakes the watchdog when a head starts: its deadline moves closer.
    head_started: Notify,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            epoch: Instant::now(),
            last: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            head_started: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn read(&self) {
        let now = self.now();
        self.last.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Relaxed) == 0
            && self
                .head_since
                .compare_exchange(0, now + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.head_started.notify_one();
        }
    }

    fn wrote(&self) {
        self.last.store(self.now(), Ordering::Relaxed);
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_since.store(0, Ordering::Relaxed);
    }

    fn request_ended(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.wrote();
    }

    /// When the connection expires if nothing happens (`None`: a request is in flight).
    fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let at = |ms: u64, timeout: Duration| self.epoch + Duration::from_millis(ms) + timeout;
        Some(match self.head_since.load(Ordering::Relaxed) {
            0 => at(self.last.load(Ordering::Relaxed), limits.idle_timeout),
            since => at(since - 1, limits.header_timeout),
        })
    }
}

/// A socket that records its reads and writes in an [`Activity`].
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Until `stop` satisfies `wanted`; forever if its sender is gone (nobody can stop us then).
async fn until(stop: &mut watch::Receiver<Stop>, wanted: impl FnMut(&Stop) -> bool) {
    if stop.wait_for(wanted).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Serve one connection until it closes, expires, or is drained.
async fn connection(
    stream: TcpStream,
    router: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<Stop>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        stream,
        activity: Arc::clone(&activity),
    });
    let service = {
        let activity = Arc::clone(&activity);
        let inner = TowerToHyperService::new(router);
        hyper::service::service_fn(move |request| {
            activity.request_started();
            let answer = hyper::service::Service::call(&inner, request);
            let activity = Arc::clone(&activity);
            async move {
                let response = answer.await;
                activity.request_ended();
                response
            }
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .max_header_size(HEAD_BUFFER_LIMIT)
        .header_read_timeout(None)
        .pipeline_flush(true);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut draining = false;
    // While a request is in flight there is no deadline; look again after the shorter timeout.
    let recheck = limits.header_timeout.min(limits.idle_timeout);
    loop {
        let deadline = activity.deadline(&limits);
        let wake = deadline.unwrap_or_else(|| Instant::now() + recheck);
        tokio::select! {
            _ = conn.as_mut() => return,
            () = activity.head_started.notified() => {}
            () = tokio::time::sleep_until(wake) => {
                if activity.deadline(&limits).is_some_and(|d| d <= Instant::now()) {
                    return;
                }
            }
            () = until(&mut stop, |s| *s != Stop::Running), if !draining => {
                // Without a request in flight there is nothing to finish: a half-read head is
                // closed at once (hyper's graceful shutdown would wait for it to complete).
                if activity.in_flight.load(Ordering::Relaxed) == 0 {
                    return;
                }
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// `http.tcp.no_delay`: without it a pipelined answer waits for the client's delayed ACK.
fn prepare(stream: &TcpStream) {
    let _ = stream.set_nodelay(true);
}

/// Wait for a free connection slot, then for a connection.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> Option<(TcpStream, tokio::sync::OwnedSemaphorePermit)> {
    let permit = Arc::clone(slots).acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, _)) => Some((stream, permit)),
        Err(_) => {
            tokio::time::sleep(ACCEPT_BACKOFF).await;
            None
        }
    }
}

/// Serve `router` on `listener` until `stop` says otherwise.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<Stop>,
) -> Stopped {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut open = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = until(&mut stop, |s| *s != Stop::Running) => break,
            Some(_) = open.join_next(), if !open.is_empty() => {}
            accepted = accept(&listener, &slots) => {
                let Some((stream, permit)) = accepted else { continue };
                prepare(&stream);
                let task = connection(stream, router.clone(), limits, stop.clone());
                open.spawn(async move {
                    task.await;
                    drop(permit);
                });
            }
        }
    }
    drop(listener);
    let grace = tokio::time::sleep(limits.shutdown_grace);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            biased;
            () = until(&mut stop, |s| *s == Stop::Now) => return Stopped::Forced,
            () = &mut grace => return Stopped::GraceExpired(open.len()),
            next = open.join_next() => if next.is_none() { return Stopped::Drained },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_sockets_get_tcp_nodelay() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap());
            let (accepted, _) = tokio::join!(listener.accept(), client);
            let (stream, _) = accepted.unwrap();
            assert!(!stream.nodelay().unwrap());
            prepare(&stream);
            assert!(stream.nodelay().unwrap());
        });
    }
}
