//! `--nemesis-cmd start|stop CMD` against a `--url` endpoint, with harmless commands: each fault
//! runs the start command and each heal the stop command, both recorded with their exit status
//! while operations run; a failing command is recorded with its error, the stop command still
//! runs, and the run ends with exit 2 and the failure in its report, not a panic.

#[path = "support/torture.rs"]
mod torture_support;

use esocc::rest::{RunningServer, ServeOptions};
use torture_support::{history, out_dir, ran_under_fault, torture};

fn server() -> RunningServer {
    let opts = ServeOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        nodes: 1,
        ..Default::default()
    };
    RunningServer::start(opts, 1).unwrap()
}

/// `esocc torture --url URL` with 300 operations, a fault period every 50, and `hooks`.
fn run(url: &str, name: &str, hooks: &[&str]) -> (std::process::Output, std::path::PathBuf) {
    let dir = out_dir(name);
    let mut args = vec!["--url", url, "--ops", "300", "--nemesis-period", "50"];
    args.extend_from_slice(hooks);
    (torture(&dir, &args), dir)
}

#[test]
fn the_start_and_stop_commands_run_at_every_fault_and_heal_with_their_status_recorded() {
    let server = server();
    let hooks = [
        "--nemesis-cmd",
        "start",
        "sh -c 'echo fault on'",
        "--nemesis-cmd",
        "stop",
        "echo healed",
    ];
    let (output, dir) = run(&server.url(), "nemesis-cmd", &hooks);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let h = history(&dir);
    assert_eq!(h.params.as_ref().unwrap().nemesis, "command");
    let starts: Vec<_> = h.nemesis.iter().filter(|e| e.f == "start").collect();
    let stops: Vec<_> = h.nemesis.iter().filter(|e| e.f == "stop").collect();
    // How many fault periods fit depends on how fast the operations run; one is the subject.
    assert!(!starts.is_empty(), "{:?}", h.nemesis);
    assert_eq!(starts.len(), stops.len(), "every fault healed");
    for e in &starts {
        assert_eq!(
            e.value,
            r#"sh -c "sh -c 'echo fault on'" → exit 0: fault on"#
        );
        assert_eq!((e.exit, e.error.as_deref()), (Some(0), None));
    }
    for e in &stops {
        assert_eq!(e.value, r#"sh -c "echo healed" → exit 0: healed"#);
        assert_eq!(e.exit, Some(0));
    }
    assert!(ran_under_fault(&h), "no operation ran under a fault");
}

#[test]
fn a_failing_command_is_recorded_and_reported_and_still_healed() {
    let server = server();
    let hooks = [
        "--nemesis-cmd",
        "start",
        "echo no such container >&2; false",
        "--nemesis-cmd",
        "stop",
        "echo healed",
    ];
    let (output, dir) = run(&server.url(), "nemesis-cmd-false", &hooks);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains(
            r#"the nemesis stopped: --nemesis-cmd start "echo no such container >&2; false": exited with status 1"#
        ),
        "{stderr}"
    );
    assert!(
        stdout.contains(
            r#"nemesis start failed: sh -c "echo no such container >&2; false" → exit 1: no such container"#
        ),
        "{stdout}"
    );
    let h = history(&dir);
    let [start, stop] = &h.nemesis[..] else {
        panic!("one fault and its heal: {:?}", h.nemesis);
    };
    assert_eq!(
        (start.exit, start.error.as_deref()),
        (Some(1), Some("exited with status 1"))
    );
    assert_eq!((stop.f.as_str(), stop.exit), ("stop", Some(0)));
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(
        html.contains(
            r#"<ul id="nemesis-errors"><li>start: <code>sh -c &quot;echo no such container"#
        ),
        "{html}"
    );
    // The clients still ran their operations, and the history was checked.
    assert!(h.ops.len() >= 300, "{} operations", h.ops.len());
    let bad = run(
        &server.url(),
        "nemesis-cmd-bad",
        &["--nemesis-cmd", "stop", "true"],
    )
    .0;
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--nemesis-cmd needs a start command"));
}
