//! `--nemesis-cmd start|stop CMD`: faults injected by the user's own commands (`docker kill es2`,
//! `kill -STOP 4242`, an `iptables` rule), for endpoints esocc cannot fault itself. The nemesis
//! runs the start command at each scheduled fault and the stop command at its heal, each as
//! `sh -c CMD` in its own process group with a timeout (the group is killed when it expires), and
//! records each run with its exit status in the history. A command that cannot start, exits
//! non-zero or times out is a failed fault: recorded with its error, and it ends the schedule.

use std::process::Stdio;
use std::time::Duration;

/// The commands and their timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hooks {
    pub start: String,
    pub stop: Option<String>,
    pub timeout: Duration,
}

impl Hooks {
    /// From `--nemesis-cmd` values, (`start` | `stop`, command) pairs flattened: `start` once,
    /// `stop` at most once.
    pub fn from_pairs(values: &[String], timeout: Duration) -> Result<Hooks, String> {
        let (mut start, mut stop) = (None, None);
        for pair in values.chunks(2) {
            let [when, command] = pair else {
                return Err("--nemesis-cmd takes two values: start|stop and a command".into());
            };
            let slot = match when.as_str() {
                "start" => &mut start,
                "stop" => &mut stop,
                other => {
                    return Err(format!(
                        "--nemesis-cmd {other}: the first value is start or stop"
                    ))
                }
            };
            if slot.replace(command.clone()).is_some() {
                return Err(format!("--nemesis-cmd {when} is given twice"));
            }
        }
        let start = start.ok_or("--nemesis-cmd needs a start command")?;
        Ok(Hooks {
            start,
            stop,
            timeout,
        })
    }
}

/// How one run of a command went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ran {
    /// The exit status; `None` when it did not exit by itself (it could not start, or was
    /// killed: by its timeout or a signal).
    pub exit: Option<i32>,
    /// The start of what it printed (stdout, then stderr), trimmed.
    pub output: String,
    /// Why the fault failed; `None` when the command exited with status 0.
    pub error: Option<String>,
}

/// At most this much of a command's output goes into the history.
const OUTPUT_CHARS: usize = 200;

/// Run `command` with `sh -c`, killing its process group after `timeout`.
pub async fn run(command: &str, timeout: Duration) -> Ran {
    let mut sh = tokio::process::Command::new("sh");
    sh.arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    sh.process_group(0);
    let child = match sh.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Ran {
                exit: None,
                output: String::new(),
                error: Some(format!("cannot start sh: {e}")),
            }
        }
    };
    let group = child.id();
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            let output: String = text.trim().chars().take(OUTPUT_CHARS).collect();
            let exit = out.status.code();
            let error = match exit {
                Some(0) => None,
                Some(code) => Some(format!("exited with status {code}")),
                None => Some(format!("ended by a signal ({})", out.status)),
            };
            Ran {
                exit,
                output,
                error,
            }
        }
        Ok(Err(e)) => Ran {
            exit: None,
            output: String::new(),
            error: Some(format!("cannot wait for it: {e}")),
        },
        Err(_) => {
            kill_group(group);
            Ran {
                exit: None,
                output: String::new(),
                error: Some(format!("timed out after {timeout:?}, killed")),
            }
        }
    }
}

/// Kill what the command started (dropping the child kills only `sh` itself).
fn kill_group(group: Option<u32>) {
    #[cfg(unix)]
    if let Some(pgid) = group.and_then(|g| libc::pid_t::try_from(g).ok()) {
        // SAFETY: kill(2) with a negative pid signals the process group `sh` leads (created by
        // `process_group(0)` above); it touches no memory of this process.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = group;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn hooks_need_one_start_and_at_most_one_stop() {
        let t = Duration::from_secs(1);
        let hooks = Hooks::from_pairs(&pairs(&["stop", "b", "start", "a"]), t).unwrap();
        assert_eq!(
            (hooks.start.as_str(), hooks.stop.as_deref()),
            ("a", Some("b"))
        );
        let error = |v: &[&str]| Hooks::from_pairs(&pairs(v), t).unwrap_err();
        assert_eq!(error(&["stop", "b"]), "--nemesis-cmd needs a start command");
        assert_eq!(
            error(&["start", "a", "start", "b"]),
            "--nemesis-cmd start is given twice"
        );
        assert_eq!(
            error(&["begin", "a"]),
            "--nemesis-cmd begin: the first value is start or stop"
        );
    }

    #[tokio::test]
    async fn a_command_reports_its_status_and_output_and_is_killed_at_its_timeout() {
        let t = Duration::from_secs(10);
        let ok = run("echo fault on; echo more >&2", t).await;
        assert_eq!(
            ok,
            Ran {
                exit: Some(0),
                output: "fault on\nmore".into(),
                error: None
            }
        );
        let failed = run("echo no such container; exit 3", t).await;
        assert_eq!(failed.exit, Some(3));
        assert_eq!(failed.error.as_deref(), Some("exited with status 3"));
        // A child of the shell (holding the output pipe open) is killed with it.
        let pid_file =
            std::env::temp_dir().join(format!("esocc-nemesis-cmd-{}", std::process::id()));
        let slow = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
        let slow = run(&slow, Duration::from_millis(200)).await;
        assert_eq!(slow.exit, None);
        assert_eq!(slow.error.as_deref(), Some("timed out after 200ms, killed"));
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let _ = std::fs::remove_file(&pid_file);
        let stat = format!("/proc/{}/stat", pid.trim());
        let alive = || {
            std::fs::read_to_string(&stat)
                .is_ok_and(|s| s.split_whitespace().nth(2).is_none_or(|state| state != "Z"))
        };
        let gone = (0..500).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            !alive()
        });
        assert!(gone, "the shell's child survived its timeout");
    }
}
