//! `esocc serve` from the outside: it answers Elasticsearch's root endpoint on the address it was
//! given, and an address it cannot bind is exit 2 with a message, not a panic.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

#[test]
fn serve_answers_on_its_address() {
    let addr = free_addr();
    let mut server = Command::new(env!("CARGO_BIN_EXE_esocc"))
        .args(["serve", "--addr", &addr])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::blocking::Client::new();
    let start = Instant::now();
    let root = loop {
        if let Ok(response) = http.get(format!("http://{addr}/")).send() {
            break response;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serve never answered"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let status = root.status();
    let body: serde_json::Value = root.json().unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(status, 200);
    assert!(body["version"]["number"].is_string(), "{body}");
}

#[test]
fn serve_on_a_taken_address_exits_2() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_esocc"))
        .args(["serve", "--addr", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!("error: cannot serve on {addr}:")),
        "{stderr}"
    );
}
