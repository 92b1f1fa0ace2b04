//! Load benchmark of `esocc serve` on loopback: realtime GET and conditional PUT
//! (`if_seq_no` + `if_primary_term`) throughput and latency percentiles, side by side with a
//! minimal hello-world axum server on the same runtime in the same run, and GETs pipelined 16
//! deep against the same GETs one at a time, an `ids` `_search` over the refreshed view and an
//! `_mget` of 10 ids (no targets: the search scans the view, the `_mget` does ten gets). Prints
//! the ratios.
//!
//! `cargo bench --bench rest` (each case runs `ESOCC_BENCH_SECS`, default 3 seconds, 0.2 under
//! `cargo test`, split into
//! alternating rounds, each after a short warm-up; the ratio is the median of the rounds'). Targets: GET ≥ 50% and conditional PUT ≥ 30% of hello-world's requests/s; pipelined
//! GET ≥ 100% of depth 1's.
//!
//! The load generator is a raw HTTP/1.1 keep-alive client over `std::net::TcpStream`, one thread
//! per connection, so the clients cost as little CPU as possible next to the servers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use esocc::rest::{RunningServer, ServeArgs};

const CONNECTIONS: usize = 4;
const SERVER_THREADS: usize = 2;
const DOCS: usize = 1000;
const ROUNDS: u32 = 7;
/// Requests written back to back on a connection before reading their answers.
const PIPELINE_DEPTH: u64 = 16;
/// Ids in one `_mget` of the benchmark.
const MGET_IDS: u64 = 10;

/// One keep-alive connection.
struct Connection {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Connection {
    fn open(addr: SocketAddr) -> Connection {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Connection {
            writer: stream.try_clone().expect("clone"),
            reader: BufReader::new(stream),
        }
    }

    /// Send one request and read the whole response: (status, body).
    fn request(&mut self, method: &str, path: &str, body: &str) -> (u16, String) {
        self.writer
            .write_all(raw_request(method, path, body).as_bytes())
            .expect("write");
        self.response()
    }

    /// Read the next response: (status, body).
    fn response(&mut self) -> (u16, String) {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("status line");
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = 0;
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("header");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }
}

/// One HTTP/1.1 request as bytes on the wire.
fn raw_request(method: &str, path: &str, body: &str) -> String {
    if body.is_empty() {
        format!("{method} {path} HTTP/1.1\r\nhost: bench\r\n\r\n")
    } else {
        format!(
            "{method} {path} HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
    }
}

/// What one case measured.
#[derive(Default)]
struct Measured {
    requests: u64,
    errors: u64,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl Measured {
    fn add(&mut self, other: Measured) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.latencies_us.extend(other.latencies_us);
    }

    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> u32 {
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us.get(i).copied().unwrap_or(0)
    }

    fn print(&self, name: &str) {
        println!(
            "{name:<28} {:>9.0} req/s  p50 {:>5} µs  p90 {:>5} µs  p99 {:>6} µs  max {:>6} µs  errors {}",
            self.per_second(),
            self.percentile(0.5),
            self.percentile(0.9),
            self.percentile(0.99),
            self.latencies_us.last().copied().unwrap_or(0),
            self.errors
        );
    }
}

/// One side of a comparison: the server, the requests one step sends (the pipeline depth), and
/// the step: `step(connection, client, i)` does them and says whether they all succeeded.
struct Side<F> {
    addr: SocketAddr,
    depth: u64,
    step: F,
}

fn side<F>(addr: SocketAddr, depth: u64, step: F) -> Side<F> {
    Side { addr, depth, step }
}

/// Run `CONNECTIONS` clients for `duration` on one side; a step's latency is its whole batch's.
fn load<F>(side: &Side<F>, duration: Duration) -> Measured
where
    F: Fn(&mut Connection, usize, u64) -> bool + Sync,
{
    let started = Instant::now();
    let results: Vec<(u64, u64, Vec<u32>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CONNECTIONS)
            .map(|client| {
                s.spawn(move || {
                    let mut connection = Connection::open(side.addr);
                    let (mut done, mut errors, mut latencies) = (0u64, 0u64, Vec::new());
                    while started.elapsed() < duration {
                        let t = Instant::now();
                        if !(side.step)(&mut connection, client, done / side.depth) {
                            errors += 1;
                        }
                        latencies.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                        done += side.depth;
                    }
                    (done, errors, latencies)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client"))
            .collect()
    });
    let elapsed = started.elapsed();
    let mut measured = Measured {
        requests: 0,
        errors: 0,
        elapsed,
        latencies_us: Vec::new(),
    };
    for (requests, errors, latencies) in results {
        measured.requests += requests;
        measured.errors += errors;
        measured.latencies_us.extend(latencies);
    }
    measured.latencies_us.sort_unstable();
    measured
}

/// Alternate short baseline and esocc rounds (so both see the same background load on a shared
/// machine), each after a short warm-up. Returns both totals and the median of the per-round
/// ratios, which a burst of background load in one round cannot move much.
fn compare<B, E>(b: &Side<B>, e: &Side<E>, slice: Duration) -> (Measured, Measured, f64)
where
    B: Fn(&mut Connection, usize, u64) -> bool + Sync,
    E: Fn(&mut Connection, usize, u64) -> bool + Sync,
{
    let warmup = Duration::from_millis(100);
    let (mut total_b, mut total_e) = (Measured::default(), Measured::default());
    let mut ratios = Vec::new();
    for _ in 0..ROUNDS {
        load(b, warmup);
        let round_b = load(b, slice);
        load(e, warmup);
        let round_e = load(e, slice);
        ratios.push(round_e.per_second() / round_b.per_second());
        total_b.add(round_b);
        total_e.add(round_e);
    }
    total_b.latencies_us.sort_unstable();
    total_e.latencies_us.sort_unstable();
    ratios.sort_by(f64::total_cmp);
    (total_b, total_e, ratios[ratios.len() / 2])
}

/// The baseline: hello world on the same stack (axum on a tokio runtime with the same threads).
fn hello_world() -> (SocketAddr, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(SERVER_THREADS)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new().route(
        "/",
        get(|| async { "hello" }).put(|body: String| async move { body.len().to_string() }),
    );
    runtime.spawn(async move { axum::serve(listener, app).await });
    (addr, runtime)
}

/// The `_seq_no` in a write response.
fn seq_no(body: &str) -> Option<i64> {
    let rest = &body[body.find("\"_seq_no\":")? + 10..];
    rest[..rest.find(|c: char| !c.is_ascii_digit())?]
        .parse()
        .ok()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this as a short smoke test.
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let secs: f64 = std::env::var("ESOCC_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if benchmarking { 3.0 } else { 0.2 });
    let duration = Duration::from_secs_f64(secs);
    let (hello, _hello_runtime) = hello_world();
    let args = ServeArgs {
        addr: "127.0.0.1:0".parse().expect("addr"),
        ..ServeArgs::default()
    };
    let esocc = RunningServer::start(args, SERVER_THREADS).expect("esocc starts");
    let es = esocc.addr();

    let mut setup = Connection::open(es);
    for i in 0..DOCS {
        setup.request(
            "PUT",
            &format!("/bench/_doc/{i}"),
            r#"{"n":0,"title":"a document"}"#,
        );
    }
    setup.request("POST", "/bench/_refresh", "");
    // One document per client for the conditional writes, with the pair its client last saw.
    let pairs: Vec<std::sync::Mutex<i64>> = (0..CONNECTIONS)
        .map(|c| {
            let (_, body) = setup.request("PUT", &format!("/bench/_doc/cas-{c}"), r#"{"n":0}"#);
            std::sync::Mutex::new(seq_no(&body).expect("seq_no"))
        })
        .collect();

    let hello_get = |c: &mut Connection, _: usize, _: u64| c.request("GET", "/", "").0 == 200;
    let hello_put = |c: &mut Connection, _: usize, i: u64| {
        c.request("PUT", "/", &format!(r#"{{"n":{i}}}"#)).0 == 200
    };
    let es_get = |c: &mut Connection, client: usize, i: u64| {
        let id = (i as usize * 7919 + client * 104_729) % DOCS;
        c.request("GET", &format!("/bench/_doc/{id}"), "").0 == 200
    };
    let es_put = |c: &mut Connection, client: usize, i: u64| {
        let mut last = pairs[client].lock().expect("pair");
        let path = format!(
            "/bench/_doc/cas-{client}?if_seq_no={}&if_primary_term=1",
            *last
        );
        let (status, body) = c.request("PUT", &path, &format!(r#"{{"n":{i}}}"#));
        match seq_no(&body) {
            Some(next) if status == 200 => {
                *last = next;
                true
            }
            _ => false,
        }
    };

    println!(
        "esocc REST load benchmark: {CONNECTIONS} keep-alive connections, {SERVER_THREADS} server threads, \
         {secs}s per case in {ROUNDS} alternating rounds, loopback"
    );
    if !benchmarking {
        println!("(a smoke run under `cargo test`: the figures are not a measurement)");
    }
    // PIPELINE_DEPTH GETs written at once, then their answers read in order.
    let es_get_pipelined = |c: &mut Connection, client: usize, i: u64| {
        let batch: String = (0..PIPELINE_DEPTH)
            .map(|k| {
                let id = ((i * PIPELINE_DEPTH + k) as usize * 7919 + client * 104_729) % DOCS;
                raw_request("GET", &format!("/bench/_doc/{id}"), "")
            })
            .collect();
        c.writer.write_all(batch.as_bytes()).expect("write");
        (0..PIPELINE_DEPTH).fold(true, |ok, _| c.response().0 == 200 && ok)
    };
    let slice = duration / ROUNDS;
    let (baseline_get, get, get_ratio) =
        compare(&side(hello, 1, &hello_get), &side(es, 1, &es_get), slice);
    baseline_get.print("hello-world GET");
    get.print("esocc GET /idx/_doc/{id}");
    let (baseline_put, put, put_ratio) =
        compare(&side(hello, 1, &hello_put), &side(es, 1, &es_put), slice);
    baseline_put.print("hello-world PUT");
    put.print("esocc conditional PUT");
    let (unpipelined, pipelined, pipeline_ratio) = compare(
        &side(es, 1, &es_get),
        &side(es, PIPELINE_DEPTH, &es_get_pipelined),
        slice,
    );
    unpipelined.print("esocc GET, depth 1");
    pipelined.print("esocc GET, pipelined depth 16");
    // One document found by `ids` in the refreshed view (a scan of its DOCS documents).
    let es_search = |c: &mut Connection, client: usize, i: u64| {
        let id = (i as usize * 7919 + client * 104_729) % DOCS;
        let body = format!(r#"{{"query":{{"ids":{{"values":["{id}"]}}}}}}"#);
        let (status, answer) = c.request("POST", "/bench/_search", &body);
        status == 200 && answer.contains(r#""total":{"value":1,"#)
    };
    let (_, search, _) = compare(&side(es, 1, &es_get), &side(es, 1, &es_search), slice);
    search.print("esocc POST /idx/_search (ids)");
    // MGET_IDS realtime gets in one `_mget`, against the same number of single GETs' worth of
    // requests: each row counts requests, not documents.
    let es_mget = |c: &mut Connection, client: usize, i: u64| {
        let ids: Vec<String> = (0..MGET_IDS)
            .map(|k| {
                let id = ((i * MGET_IDS + k) as usize * 7919 + client * 104_729) % DOCS;
                format!("\"{id}\"")
            })
            .collect();
        let body = format!(r#"{{"ids":[{}]}}"#, ids.join(","));
        let (status, answer) = c.request("POST", "/bench/_mget", &body);
        status == 200 && answer.matches(r#""found":true"#).count() == MGET_IDS as usize
    };
    let (_, mget, _) = compare(&side(es, 1, &es_get), &side(es, 1, &es_mget), slice);
    mget.print("esocc POST /idx/_mget (10 ids)");
    println!(
        "ratio GET {:.0}% of hello-world (median of rounds; target ≥ 50%): {}",
        get_ratio * 100.0,
        if get_ratio >= 0.5 { "met" } else { "NOT met" }
    );
    println!(
        "ratio conditional PUT {:.0}% of hello-world (median of rounds; target ≥ 30%): {}",
        put_ratio * 100.0,
        if put_ratio >= 0.3 { "met" } else { "NOT met" }
    );
    println!(
        "ratio pipelined GET (depth {PIPELINE_DEPTH}) {:.0}% of depth 1 (median of rounds; target ≥ 100%): {}",
        pipeline_ratio * 100.0,
        if pipeline_ratio >= 1.0 { "met" } else { "NOT met" }
    );
    assert_eq!(
        get.errors + put.errors + pipelined.errors + search.errors + mget.errors,
        0,
        "every request succeeds"
    );
}
