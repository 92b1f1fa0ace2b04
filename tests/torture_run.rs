//! Short tortures against a spawned `esocc serve` (and one through `--url`): the safe protocol
//! loses no acknowledged write and shows no anomaly but Elasticsearch's non-linearizable reads
//! under every nemesis, each fault really happened while operations ran, the same seed
//! generates the same operations, and Ctrl-C still writes the history and the report.
//!
//! Runs are bounded by operation counts (the nemesis periods too), never by time.

#[path = "support/torture.rs"]
mod torture_support;

use std::process::{Command, Output};

use esocc::torture::history::{Kind, Outcome};
use torture_support::{history, out_dir, ran_under_fault, torture};

fn assert_valid(output: &Output, name: &str) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{name}:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("verdict: valid"), "{name}: {stdout}");
}

/// A run against several copies: valid, or its only anomalies are non-linearizable reads, which
/// Elasticsearch does not promise. A GET reads from any in-sync copy (`TransportGetAction`,
/// `OperationRouting`), so a read served by the primary may see a write still in flight that a
/// later read served by a replica does not (the catalogue expects `reads_linearizable` refuted
/// in `replication-reads-from-any-no-failover` and under any failover). Lost or stale
/// acknowledged writes, and every other anomaly, still fail.
fn assert_safe(output: &Output, dir: &std::path::Path, name: &str) {
    let report = esocc::torture::check(&history(dir), esocc::torture::wgl::Budget::default());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected_exit = if report.anomalies.is_empty() { 0 } else { 1 };
    assert_eq!(
        output.status.code(),
        Some(expected_exit),
        "{name}:\n{stdout}"
    );
    assert!(
        report
            .anomalies
            .iter()
            .all(|a| a.invariant == Some("reads_linearizable")),
        "{name}: {stdout}"
    );
}

#[test]
fn the_safe_protocol_loses_no_acknowledged_write_under_every_nemesis() {
    let runs = [
        ("register", "none"),
        ("register", "failover"),
        ("update", "isolate"),
        ("bulk", "replica"),
        ("register", "partition"),
        ("update", "delay"),
        ("set", "mixed"),
        ("bulk", "mixed"),
    ];
    for (workload, nemesis) in runs {
        let name = format!("{workload}-{nemesis}");
        let dir = out_dir(&name);
        let output = torture(
            &dir,
            &[
                "--spawn",
                "--nodes",
                "5",
                "--workload",
                workload,
                "--nemesis",
                nemesis,
                "--ops",
                "600",
                "--nemesis-period",
                "60",
                "--timeout-ms",
                "200",
                "--seed",
                "11",
            ],
        );
        assert_safe(&output, &dir, &name);
        let h = history(&dir);
        let client_ops = h.ops.iter().filter(|op| !op.invoke.final_read).count();
        assert!(client_ops >= 600, "{name}: {client_ops} operations");
        assert!(
            h.ops.iter().any(|op| op.invoke.final_read),
            "{name}: final reads"
        );
        assert!(
            h.ops.iter().any(|op| op.is_ok() && op.kind().is_write()),
            "{name}: some write succeeded"
        );
        if nemesis == "none" {
            assert!(h.nemesis.is_empty(), "{name}");
            continue;
        }
        assert!(
            ran_under_fault(&h),
            "{name}: no operation ran under a fault"
        );
        match nemesis {
            // A promotion shows in the change ids: a write acknowledged in term 2 or later.
            "failover" | "isolate" => assert!(
                h.ops
                    .iter()
                    .filter_map(|op| op.acked_write())
                    .any(|c| c.primary_term >= 2),
                "{name}: no write in a new term"
            ),
            // Held replication makes writes time out: indefinite results.
            "delay" => assert!(
                h.ops.iter().any(|op| op.outcome == Outcome::Info),
                "{name}: no indefinite result"
            ),
            _ => {}
        }
    }
}

#[test]
fn the_same_seed_generates_the_same_operations() {
    let ops = |seed: &str, name: &str| {
        let dir = out_dir(name);
        let output = torture(
            &dir,
            &[
                "--workload",
                "register",
                "--clients",
                "1",
                "--keys",
                "3",
                "--ops",
                "60",
                "--seed",
                seed,
                "--nodes",
                "1",
            ],
        );
        assert_valid(&output, name);
        history(&dir)
            .ops
            .into_iter()
            .map(|op| (op.invoke.f, op.invoke.key, op.invoke.token))
            .collect::<Vec<(Kind, String, Option<String>)>>()
    };
    let first = ops("5", "seed-5-a");
    assert_eq!(first, ops("5", "seed-5-b"));
    assert_ne!(first, ops("6", "seed-6"));
}

#[test]
fn url_mode_reads_every_key_on_every_node_at_the_end() {
    let server = esocc::rest::RunningServer::start(
        esocc::rest::ServeOptions {
            addr: "127.0.0.1:0".parse().unwrap(),
            nodes: 1,
            ..Default::default()
        },
        1,
    )
    .unwrap();
    let url = server.url();
    let dir = out_dir("url");
    let urls = format!("{url},{url}/");
    let output = torture(
        &dir,
        &[
            "--url",
            &urls,
            "--workload",
            "update",
            "--ops",
            "100",
            "--keys",
            "4",
        ],
    );
    assert_valid(&output, "url");
    let h = history(&dir);
    let finals: Vec<(String, Option<u32>)> = h
        .ops
        .iter()
        .filter(|op| op.invoke.final_read)
        .map(|op| (op.invoke.key.clone(), op.invoke.node))
        .collect();
    let keys: std::collections::BTreeSet<&String> = h.ops.iter().map(|op| &op.invoke.key).collect();
    assert_eq!(finals.len(), keys.len() * 2, "{finals:?}");
    assert!(finals.iter().any(|(_, n)| *n == Some(1)));
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(html.contains("<span class=\"valid\">valid</span>"));
}

#[test]
fn without_replicas_faults_are_skipped_and_a_dead_url_is_bad_input() {
    // A single-node esocc serve has the /_esocc routes but no replica to fail.
    let dir = out_dir("no-replica");
    let output = torture(
        &dir,
        &[
            "--nodes",
            "1",
            "--nemesis",
            "failover",
            "--ops",
            "400",
            "--nemesis-period",
            "50",
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    // Every fault is skipped: the run is valid, and the history says why.
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let h = history(&dir);
    assert!(!h.nemesis.is_empty());
    assert!(h
        .nemesis
        .iter()
        .filter(|e| e.f == "start")
        .all(|e| e.value.contains("skipped: no in-sync replica left")));

    // Against a URL that is not esocc at all, the nemesis fails: exit 2.
    let dir = out_dir("not-esocc");
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let output = torture(&dir, &["--url", &url, "--ops", "10"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("error: DELETE"));
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_the_run_and_still_writes_history_and_report() {
    let server = esocc::rest::RunningServer::start(
        esocc::rest::ServeOptions {
            addr: "127.0.0.1:0".parse().unwrap(),
            nodes: 1,
            ..Default::default()
        },
        1,
    )
    .unwrap();
    let url = server.url();
    let dir = out_dir("ctrl-c");
    let child = Command::new(env!("CARGO_BIN_EXE_esocc"))
        .args([
            "torture", "--time", "300", "--keys", "1", "--url", &url, "--out",
        ])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The clients are running once the one document exists and has been rewritten.
    let http = reqwest::blocking::Client::new();
    let running = (0..2000).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(5));
        http.get(format!("{url}/torture/_doc/k0"))
            .send()
            .ok()
            .and_then(|r| r.json::<serde_json::Value>().ok())
            .and_then(|doc| doc["_version"].as_u64())
            .is_some_and(|v| v > 5)
    });
    assert!(running, "the run did not start");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let h = history(&dir);
    assert!(h.ops.len() > 5, "{} operations", h.ops.len());
    assert!(h.ops.iter().any(|op| op.invoke.final_read));
    assert!(dir.join("index.html").exists());
}

#[test]
fn through_the_proxy_partitions_and_delays_reach_any_endpoint() {
    let server = esocc::rest::RunningServer::start(
        esocc::rest::ServeOptions {
            addr: "127.0.0.1:0".parse().unwrap(),
            nodes: 1,
            ..Default::default()
        },
        1,
    )
    .unwrap();
    let url = server.url();
    for (workload, nemesis) in [("register", "partition"), ("update", "mixed")] {
        let name = format!("proxy-{workload}-{nemesis}");
        let dir = out_dir(&name);
        let output = torture(
            &dir,
            &[
                "--url",
                &url,
                "--proxy",
                "--workload",
                workload,
                "--nemesis",
                nemesis,
                "--ops",
                "600",
                "--nemesis-period",
                "60",
                "--timeout-ms",
                "200",
                "--seed",
                "4",
            ],
        );
        assert_safe(&output, &dir, &name);
        let h = history(&dir);
        assert!(
            ran_under_fault(&h),
            "{name}: no operation ran under a fault"
        );
        assert!(
            h.nemesis
                .iter()
                .any(|e| e.value.starts_with("proxy 0 (http://127.0.0.1:")),
            "{name}: {:?}",
            h.nemesis
        );
        // Cut or slowed connections are indefinite results.
        assert!(
            h.ops.iter().any(|op| op.outcome == Outcome::Info),
            "{name}: no indefinite result"
        );
    }
    let dir = out_dir("proxy-failover");
    let output = torture(&dir, &["--url", &url, "--proxy", "--nemesis", "failover"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr)
        .contains("--nemesis failover needs esocc serve's fault endpoints"));
}

/// `--scripted-updates`: the update workload's updates are scripts appending their token to a
/// list, retried on conflict; the checker reads the tokens back from the list and finds every
/// acknowledged append under a failover. Few keys, so that appends to one list race.
#[test]
fn scripted_appends_are_checked_like_partial_updates() {
    let dir = out_dir("update-scripted");
    let output = torture(
        &dir,
        &[
            "--spawn",
            "--nodes",
            "3",
            "--workload",
            "update",
            "--scripted-updates",
            "--keys",
            "2",
            "--nemesis",
            "failover",
            "--ops",
            "300",
            "--nemesis-period",
            "60",
            "--seed",
            "5",
        ],
    );
    assert_safe(&output, &dir, "update-scripted");
    let h = history(&dir);
    assert!(h.params.as_ref().is_some_and(|p| p.scripted_updates));
    let acked = h
        .ops
        .iter()
        .filter(|op| op.kind() == Kind::Update && op.outcome == Outcome::Ok)
        .count();
    assert!(acked > 50, "{acked} acknowledged appends");
    let longest = h
        .ops
        .iter()
        .filter(|op| op.invoke.final_read)
        .filter_map(|op| op.completion.tokens.as_ref().map(Vec::len))
        .max();
    assert!(
        longest > Some(20),
        "the final reads show {longest:?} appended tokens"
    );
}
