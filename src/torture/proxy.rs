//! `--proxy`: a TCP proxy in front of each node, so that a nemesis can partition or slow down
//! any endpoint, a real Elasticsearch included, without touching it.
//!
//! Each proxy listens on a free loopback port and forwards every connection to its node. Its
//! link is `deliver` (bytes pass), `delay` (each chunk waits before it is forwarded, both ways)
//! or `drop` (open connections are cut and new ones closed at once: the clients see connection
//! errors, which they record as indefinite).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What a proxy does with the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    Deliver,
    Delay(Duration),
    Drop,
}

/// A running proxy; it stops with the runtime.
pub struct Proxy {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    link: watch::Sender<Link>,
}

impl Proxy {
    /// Listen on a free loopback port and forward to the node at `url` (`http://host:port`).
    pub async fn start(url: &str) -> Result<Proxy, String> {
        let authority = url
            .strip_prefix("http://")
            .map(|rest| rest.split('/').next().unwrap_or(rest))
            .ok_or_else(|| format!("--proxy: {url} is not an http:// URL"))?;
        let authority = if authority.contains(':') {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        let target: SocketAddr = tokio::net::lookup_host(&authority)
            .await
            .map_err(|e| format!("--proxy: cannot resolve {authority}: {e}"))?
            .next()
            .ok_or_else(|| format!("--proxy: {authority} has no address"))?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("--proxy: cannot listen: {e}"))?;
        let local = listener.local_addr().map_err(|e| format!("--proxy: {e}"))?;
        let (link, watching) = watch::channel(Link::Deliver);
        tokio::spawn(accept(listener, target, watching));
        Ok(Proxy {
            url: format!("http://{local}"),
            link,
        })
    }

    pub fn set(&self, link: Link) {
        self.link.send_replace(link);
    }
}

async fn accept(listener: TcpListener, target: SocketAddr, link: watch::Receiver<Link>) {
    while let Ok((inbound, _)) = listener.accept().await {
        if *link.borrow() == Link::Drop {
            drop(inbound);
            continue;
        }
        let link = link.clone();
        tokio::spawn(async move {
            let Ok(outbound) = TcpStream::connect(target).await else {
                return;
            };
            let _ = inbound.set_nodelay(true);
            let _ = outbound.set_nodelay(true);
            let (in_read, in_write) = inbound.into_split();
            let (out_read, out_write) = outbound.into_split();
            // When either direction ends (or the link drops), both sockets are closed.
            tokio::select! {
                () = pump(in_read, out_write, link.clone()) => {}
                () = pump(out_read, in_write, link) => {}
            }
        });
    }
}

/// Forward bytes one way, as the link says, until either side closes or the link drops.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut link: watch::Receiver<Link>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            read = from.read(&mut buffer) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            changed = link.wait_for(|l| *l == Link::Drop) => {
                let _ = changed;
                return;
            }
        };
        let state = *link.borrow();
        match state {
            Link::Drop => return,
            Link::Delay(delay) => tokio::time::sleep(delay).await,
            Link::Deliver => {}
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
