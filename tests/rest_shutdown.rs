//! `esocc serve` stopped by SIGTERM or SIGINT, as a process: an idle server exits 0 at once; a
//! request in flight is answered before the process exits; a half-sent request head is closed
//! at once; a body that never finishes and a write held on a delayed link are dropped when the
//! grace period ends; a second signal exits at once with 128 + its number.
//!
//! The server reports each step on stderr and the tests wait for those lines, not for time; the
//! only clock is the guard that fails a test whose process never exits.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// Far above any grace period a test sets: reaching it is a failure.
const GUARD: Duration = Duration::from_secs(30);

struct Serve {
    child: Child,
    addr: String,
    stderr: Receiver<String>,
}

impl Serve {
    fn start(extra: &[&str]) -> Serve {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .to_string();
        let mut child = Command::new(env!("CARGO_BIN_EXE_esocc"))
            .args(["serve", "--addr", &addr])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (lines, stderr) = mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let serve = Serve {
            child,
            addr,
            stderr,
        };
        serve.expect_line("listening on");
        serve
    }

    /// Wait for the next stderr line containing `text` (lines before it are skipped).
    fn expect_line(&self, text: &str) -> String {
        loop {
            match self.stderr.recv_timeout(GUARD) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(e) => panic!("no line with {text:?} on stderr: {e}"),
            }
        }
    }

    fn signal(&self, name: &str) {
        // The shell's builtin `kill`: no procps needed.
        let status = Command::new("sh")
            .args(["-c", &format!("kill -{name} {}", self.child.id())])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(&self.addr).unwrap();
        stream.set_read_timeout(Some(GUARD)).unwrap();
        stream
    }

    /// A connection that has sent the head of a PUT with a 20-byte body, and `sent` of its bytes.
    fn partial_put(&self, path: &str, sent: &[u8]) -> TcpStream {
        let mut stream = self.connect();
        write!(
            stream,
            "PUT {path} HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: 20\r\n\r\n"
        )
        .unwrap();
        stream.write_all(sent).unwrap();
        stream
    }

    /// One request on its own connection: the whole answer.
    fn request(&self, method: &str, path: &str, body: &str) -> String {
        let mut stream = self.connect();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        read_all(&mut stream)
    }

    fn wait(mut self) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if started.elapsed() > GUARD {
                let _ = self.child.kill();
                panic!("esocc serve did not exit");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Give the server time to read what was just sent, so that the request is in flight when the
/// signal comes (a synchronisation delay, not a measurement).
fn settle() {
    std::thread::sleep(Duration::from_millis(300));
}

/// `{"n":1}` padded with spaces to the 20 bytes [`Serve::partial_put`] announces.
const BODY: &[u8; 20] = b"{\"n\":1}             ";

/// Everything until the server closes the connection (a reset counts as closed); panics if the
/// guard expires first.
fn read_all(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    match stream.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the connection stayed open: {e}"),
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn sigterm_on_an_idle_server_exits_0() {
    let serve = Serve::start(&[]);
    serve.signal("TERM");
    serve.expect_line("SIGTERM: draining");
    serve.expect_line("stopped, every request answered");
    assert_eq!(serve.wait().code(), Some(0));
}

#[test]
fn a_request_in_flight_is_answered_before_the_process_exits() {
    let serve = Serve::start(&["--shutdown-grace", "30s"]);
    let mut in_flight = serve.partial_put("/d/_doc/1", &BODY[..5]);
    settle();
    serve.signal("TERM");
    serve.expect_line("SIGTERM: draining");
    // The listener closes as the drain starts: new connections are soon refused.
    let refused = (0..200).any(|_| {
        let refused = TcpStream::connect(&serve.addr).is_err();
        if !refused {
            std::thread::sleep(Duration::from_millis(10));
        }
        refused
    });
    assert!(refused, "still accepting while draining");
    in_flight.write_all(&BODY[5..]).unwrap();
    let answer = read_all(&mut in_flight);
    assert!(answer.starts_with("HTTP/1.1 201 Created\r\n"), "{answer}");
    assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");
    serve.expect_line("stopped, every request answered");
    assert_eq!(serve.wait().code(), Some(0));
}

#[test]
fn sigint_with_a_half_sent_request_head_exits_at_once() {
    let serve = Serve::start(&["--shutdown-grace", "30s"]);
    let mut half = serve.connect();
    half.write_all(b"PUT /d/_doc/1 HTTP/1.1\r\nhost: t\r\ncontent-ty")
        .unwrap();
    settle();
    serve.signal("INT");
    serve.expect_line("SIGINT: draining");
    // Not a request yet: closed without waiting out the 30 s grace.
    assert_eq!(read_all(&mut half), "");
    serve.expect_line("stopped, every request answered");
    assert_eq!(serve.wait().code(), Some(0));
}

#[test]
fn a_body_that_never_finishes_is_dropped_after_the_grace_period() {
    let serve = Serve::start(&["--shutdown-grace", "500ms"]);
    let mut stuck = serve.partial_put("/d/_doc/1", &BODY[..5]);
    settle();
    serve.signal("INT");
    serve.expect_line("SIGINT: draining");
    serve.expect_line("stopped, 1 connection still open after 500ms dropped");
    assert_eq!(serve.wait().code(), Some(0));
    assert_eq!(read_all(&mut stuck), "", "dropped without an answer");
}

#[test]
fn a_write_held_on_a_delayed_link_is_dropped_after_the_grace_period() {
    let serve = Serve::start(&["--nodes", "2", "--shutdown-grace", "500ms"]);
    assert!(serve
        .request("PUT", "/h/_doc/0", "{}")
        .starts_with("HTTP/1.1 201"));
    let delayed = serve.request("POST", "/_esocc/h/0/link/1/delay", "");
    assert!(delayed.starts_with("HTTP/1.1 200"), "{delayed}");
    let mut held = serve.partial_put("/h/_doc/1", BODY);
    while !serve
        .request("GET", "/_esocc/h/0", "")
        .contains(r#""held":1"#)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    serve.signal("TERM");
    serve.expect_line("SIGTERM: draining");
    serve.expect_line("stopped, 1 connection still open after 500ms dropped");
    assert_eq!(serve.wait().code(), Some(0));
    assert_eq!(
        read_all(&mut held),
        "",
        "the held write was never acknowledged"
    );
}

#[test]
fn a_second_signal_exits_at_once() {
    let serve = Serve::start(&["--shutdown-grace", "10m"]);
    let _stuck = serve.partial_put("/d/_doc/1", &BODY[..5]);
    settle();
    serve.signal("TERM");
    serve.expect_line("SIGTERM: draining");
    serve.signal("INT");
    serve.expect_line("SIGINT: stopping now");
    // Within the 30 s guard, not the 10 minutes of grace.
    assert_eq!(serve.wait().code(), Some(130));
}
