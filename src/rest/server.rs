//! The HTTP server: axum's router with Elasticsearch's routes, and the behaviour Elasticsearch's
//! `RestController` adds around every handler: the 16 KB header limit (400), the Content-Type
//! check (406), the 100 MB body limit (413), `no handler found` (400) and `Incorrect HTTP method`
//! (405) answers, `?pretty`, and the `X-Elastic-Product: Elasticsearch` header the official
//! clients insist on. Connections are [`super::connections`]'.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, Method, Response, StatusCode};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::Router;
use tokio::net::TcpListener;

use super::args::ServeOptions;
use super::autoid::{random_uuid, IdGenerator};
use super::breaker::Breakers;
use super::connections::{self, ConnectionLimits, Stop, Stopped};
use super::error::RestError;
use super::handlers::{bulk, by_query, cluster, documents, faults, indices, mget, search, update};
use super::json;
use super::registry::Registry;
use crate::engine::group::Unsafe;

/// `http.max_content_length`: Elasticsearch's default request body limit.
pub const MAX_CONTENT_LENGTH: usize = 100 * 1024 * 1024;

/// `http.max_header_size`: Elasticsearch's default limit on a request's header lines.
pub const MAX_HEADER_SIZE: usize = 16 * 1024;

/// Everything the handlers share.
pub struct Cluster {
    pub nodes: u32,
    pub cluster_name: String,
    pub cluster_uuid: String,
    pub node_name: String,
    pub indices: Registry,
    pub ids: IdGenerator,
    pub breakers: Arc<Breakers>,
    /// Items in one `_bulk` request at most.
    pub max_bulk_items: usize,
}

pub type ClusterState = State<Arc<Cluster>>;

impl Cluster {
    pub fn new(opts: &ServeOptions) -> Cluster {
        Cluster {
            nodes: opts.nodes,
            cluster_name: "esocc".into(),
            cluster_uuid: random_uuid(),
            node_name: "esocc-node-0".into(),
            indices: Registry::new(opts.nodes).with_unsafe(Unsafe::of(&opts.unsafe_knobs)),
            ids: IdGenerator::default(),
            breakers: Breakers::new(opts.breaker_limits()),
            max_bulk_items: usize::try_from(opts.max_bulk_items).unwrap_or(usize::MAX),
        }
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response<Body> {
        match self.body() {
            Some(body) => json::response(self.status(), json::to_bytes(&body)),
            None => {
                let mut response = Response::new(Body::empty());
                *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
                response
            }
        }
    }
}

/// The media types Elasticsearch accepts for JSON bodies (`compatible-with` 7, 8 or 9 on the
/// vendor types, as the official clients send them).
fn supported_content_type(value: &str) -> bool {
    let mut parts = value.split(';').map(str::trim);
    let essence = parts.next().unwrap_or("").to_ascii_lowercase();
    let vendor = match essence.as_str() {
        "application/json" | "application/x-ndjson" => false,
        "application/vnd.elasticsearch+json" | "application/vnd.elasticsearch+x-ndjson" => true,
        _ => return false,
    };
    parts.all(|param| {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        match key.trim().to_ascii_lowercase().as_str() {
            "charset" => value.trim().eq_ignore_ascii_case("utf-8"),
            "compatible-with" => vendor && matches!(value.trim(), "7" | "8" | "9"),
            _ => false,
        }
    })
}

/// `RestController`'s Content-Type check for requests that carry a body.
fn check_content_type(request: &Request) -> Result<(), RestError> {
    let headers = request.headers();
    let has_body = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() != "0")
        || headers.contains_key(header::TRANSFER_ENCODING);
    if !has_body {
        return Ok(());
    }
    let values: Vec<&str> = headers
        .get_all(header::CONTENT_TYPE)
        .iter()
        .map(|v| v.to_str().unwrap_or(""))
        .collect();
    match values.as_slice() {
        [] => Err(RestError::Simple {
            status: 406,
            message: "Content-Type header is missing".into(),
        }),
        [one] if supported_content_type(one) => Ok(()),
        many => Err(RestError::Simple {
            status: 406,
            message: format!("Content-Type header [{}] is not supported", many.join(",")),
        }),
    }
}

/// Netty's `HttpObjectDecoder` header limit, which Elasticsearch answers through
/// `RestController.dispatchBadRequest` (400). Netty counts the bytes of the header lines without
/// their line ends; `name: value` is counted with the usual one space.
fn check_header_size(request: &Request) -> Result<(), RestError> {
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len())
        .sum();
    if size <= MAX_HEADER_SIZE {
        return Ok(());
    }
    Err(RestError::exception(
        400,
        crate::rest::envelope::EsError::new(
            "too_long_http_header_exception",
            format!("HTTP header is larger than {MAX_HEADER_SIZE} bytes."),
        ),
    ))
}

/// Methods in the order Elasticsearch lists them (`RestRequest.Method` declaration order).
const METHOD_ORDER: [&str; 9] = [
    "GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE", "CONNECT",
];

/// Elasticsearch's 405 for a known path with another method.
fn method_not_allowed(method: &Method, uri: &str, allow: Option<&HeaderValue>) -> Response<Body> {
    let allowed: Vec<&str> = allow
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let ordered: Vec<&str> = METHOD_ORDER
        .into_iter()
        .filter(|m| allowed.contains(m))
        .collect();
    let mut response = RestError::Simple {
        status: 405,
        message: format!(
            "Incorrect HTTP method for uri [{uri}] and method [{method}], allowed: [{}]",
            ordered.join(", ")
        ),
    }
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&ordered.join(",")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

fn wants_pretty(request: &Request) -> bool {
    request.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|pair| pair == "pretty" || (pair.starts_with("pretty=") && pair != "pretty=false"))
    })
}

/// What Elasticsearch's `RestController` and `DefaultRestChannel` do around every handler.
async fn elasticsearch_channel(request: Request, next: Next) -> Response<Body> {
    let pretty = wants_pretty(&request) && request.method() != Method::HEAD;
    let method = request.method().clone();
    let uri = request.uri().clone();
    if let Err(error) = check_header_size(&request) {
        // Netty's decoder is left in its bad-message state: the connection is not reused.
        let mut response = error.into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    let mut response = match check_content_type(&request) {
        Err(error) => error.into_response(),
        Ok(()) => next.run(request).await,
    };
    if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && !response.headers().contains_key(header::CONTENT_TYPE)
    {
        response = method_not_allowed(
            &method,
            &uri.to_string(),
            response.headers().get(header::ALLOW),
        );
    }
    if pretty {
        let (mut parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        let body = json::prettify(&bytes).unwrap_or_else(|| bytes.to_vec());
        parts.headers.remove(header::CONTENT_LENGTH);
        response = Response::from_parts(parts, Body::from(body));
    }
    let too_large = response.status() == StatusCode::PAYLOAD_TOO_LARGE;
    let headers = response.headers_mut();
    headers.insert(
        "x-elastic-product",
        HeaderValue::from_static("Elasticsearch"),
    );
    if !too_large {
        headers
            .entry(header::CONTENT_TYPE)
            .or_insert(HeaderValue::from_static(json::JSON_UTF8));
    }
    response
}

/// `no handler found for uri [..] and method [..]` (400, no `status` field).
async fn no_handler(request: Request) -> RestError {
    RestError::NoHandler {
        message: format!(
            "no handler found for uri [{}] and method [{}]",
            request.uri(),
            request.method()
        ),
    }
}

/// The router with every endpoint.
pub fn router(cluster: Arc<Cluster>) -> Router {
    let routes = Router::new()
        .route("/", get(cluster::root))
        .route("/_cluster/health", get(cluster::health))
        .route("/_cluster/health/{index}", get(cluster::health_of))
        .route("/_bulk", post(bulk::bulk).put(bulk::bulk))
        .route("/_mget", get(mget::mget).post(mget::mget))
        .route("/_search", get(search::search_all).post(search::search_all))
        .route("/_count", get(search::count_all).post(search::count_all))
        .route(
            "/_refresh",
            post(indices::refresh_all).get(indices::refresh_all),
        )
        .route("/_esocc/{index}/{shard}", get(faults::state))
        .route(
            "/_esocc/{index}/{shard}/fail_primary",
            post(faults::fail_primary),
        )
        .route(
            "/_esocc/{index}/{shard}/isolate_primary",
            post(faults::isolate_primary),
        )
        .route(
            "/_esocc/{index}/{shard}/fail_replica/{copy}",
            post(faults::fail_replica),
        )
        .route(
            "/_esocc/{index}/{shard}/recover_replica",
            post(faults::recover_replica),
        )
        .route(
            "/_esocc/{index}/{shard}/link/{copy}/{fault}",
            post(faults::link),
        )
        .route(
            "/_esocc/{index}/{shard}/release/{copy}",
            post(faults::release),
        )
        .route(
            "/{index}",
            put(indices::create)
                .head(indices::exists)
                .delete(indices::delete),
        )
        .route(
            "/{index}/_refresh",
            post(indices::refresh).get(indices::refresh),
        )
        .route(
            "/{index}/_bulk",
            post(bulk::bulk_index).put(bulk::bulk_index),
        )
        .route(
            "/{index}/_mget",
            get(mget::mget_index).post(mget::mget_index),
        )
        .route("/{index}/_search", get(search::search).post(search::search))
        .route("/{index}/_count", get(search::count).post(search::count))
        .route("/{index}/_update_by_query", post(by_query::update_by_query))
        .route("/{index}/_delete_by_query", post(by_query::delete_by_query))
        .route("/{index}/_doc", post(documents::index_auto_id))
        .route(
            "/{index}/_doc/{id}",
            get(documents::get)
                .put(documents::index)
                .post(documents::index)
                .delete(documents::delete),
        )
        .route(
            "/{index}/_create/{id}",
            put(documents::create).post(documents::create),
        )
        .route("/{index}/_source/{id}", get(documents::get_source))
        .route("/{index}/_update/{id}", post(update::update))
        .route("/{index}/_doc/{id}/_update", post(update::update))
        .fallback(no_handler)
        .with_state(cluster)
        .layer(DefaultBodyLimit::max(MAX_CONTENT_LENGTH));
    // Around the whole router, so that the channel sees the `Allow` header of a 405.
    Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn(elasticsearch_channel))
}

/// A bound server, not yet serving.
pub struct Server {
    listener: TcpListener,
    cluster: Arc<Cluster>,
    limits: ConnectionLimits,
}

impl Server {
    /// Bind to `opts.addr`.
    pub async fn bind(opts: &ServeOptions) -> std::io::Result<Server> {
        let listener = TcpListener::bind(opts.addr).await?;
        Ok(Server {
            listener,
            cluster: Arc::new(Cluster::new(opts)),
            limits: opts.connection_limits(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serve until `stop` announces [`Stop::Drain`], then drain (see [`connections`]).
    pub async fn run(self, stop: tokio::sync::watch::Receiver<Stop>) -> Stopped {
        connections::serve(self.listener, router(self.cluster), self.limits, stop).await
    }
}

/// A server running on its own threads, drained (`--shutdown-grace`) when dropped: what tests
/// and benchmarks use.
pub struct RunningServer {
    addr: SocketAddr,
    stop: tokio::sync::watch::Sender<Stop>,
    thread: Option<std::thread::JoinHandle<Stopped>>,
}

impl RunningServer {
    /// Start a server on `opts.addr` (use port 0 for a free port) with `worker_threads` threads.
    pub fn start(opts: ServeOptions, worker_threads: usize) -> std::io::Result<RunningServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads.max(1))
            .enable_all()
            .build()?;
        let server = runtime.block_on(Server::bind(&opts))?;
        let addr = server.local_addr();
        let (stop, stopped) = tokio::sync::watch::channel(Stop::Running);
        let thread = std::thread::spawn(move || runtime.block_on(server.run(stopped)));
        Ok(RunningServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.stop.send(Stop::Drain);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_of_the_official_clients_are_supported() {
        for ok in [
            "application/json",
            "application/json; charset=UTF-8",
            "application/x-ndjson",
            "application/vnd.elasticsearch+json; compatible-with=8",
            "application/vnd.elasticsearch+json;compatible-with=9",
            "application/vnd.elasticsearch+x-ndjson; compatible-with=7",
        ] {
            assert!(supported_content_type(ok), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/json; compatible-with=8",
            "application/vnd.elasticsearch+json; compatible-with=6",
        ] {
            assert!(!supported_content_type(bad), "{bad}");
        }
    }
}
