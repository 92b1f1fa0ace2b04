//! `esocc torture check HISTORY` on hand-made histories: each injected anomaly is caught with
//! its name, the model's invariant and the minimal witness; a clean history is valid (exit 0);
//! a spent budget is unknown (exit 3); a broken file is bad input naming the line (exit 2).
//!
//! `esocc serve` has no unsafe knob yet (the conformance issue adds them), so these crafted
//! histories are what shows the checker catches what the safe server never produces.

use std::path::PathBuf;
use std::process::Command;

/// A history built line by line: `invoke` and completion events with increasing times.
#[derive(Default)]
struct Hist {
    lines: Vec<String>,
    time: u64,
}

impl Hist {
    fn tick(&mut self) -> u64 {
        self.time += 10;
        self.time
    }

    /// `{"type":"invoke",...}` with extra fields (JSON, without braces).
    fn invoke(&mut self, op: u64, process: u64, f: &str, extra: &str) -> &mut Self {
        let t = self.tick();
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(",{extra}")
        };
        self.lines.push(format!(
            r#"{{"type":"invoke","op":{op},"process":{process},"f":"{f}","key":"k"{extra},"time_ns":{t}}}"#
        ));
        self
    }

    fn complete(&mut self, kind: &str, op: u64, extra: &str) -> &mut Self {
        let t = self.tick();
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(",{extra}")
        };
        self.lines.push(format!(
            r#"{{"type":"{kind}","op":{op}{extra},"time_ns":{t}}}"#
        ));
        self
    }

    /// An acknowledged write of `token` (a create, or an index conditional on `cond`).
    fn write(
        &mut self,
        op: u64,
        token: &str,
        cond: Option<(u64, u64)>,
        at: (u64, u64),
    ) -> &mut Self {
        let (f, extra) = match cond {
            Some((s, t)) => (
                "index",
                format!(r#""token":"{token}","condition":{{"seq_no":{s},"primary_term":{t}}}"#),
            ),
            None => ("create", format!(r#""token":"{token}""#)),
        };
        self.invoke(op, op, f, &extra);
        self.complete("ok", op, &change(at, 200))
    }

    fn read(&mut self, op: u64, seen: Option<((u64, u64), &[&str])>) -> &mut Self {
        self.invoke(op, op, "read", "");
        match seen {
            Some((at, tokens)) => {
                let tokens: Vec<String> = tokens.iter().map(|t| format!("\"{t}\"")).collect();
                let extra = format!("{},\"tokens\":[{}]", change(at, 200), tokens.join(","));
                self.complete("ok", op, &extra)
            }
            None => self.complete("ok", op, r#""status":404"#),
        }
    }

    fn text(&self) -> String {
        let mut s = r#"{"type":"run","workload":"register","clients":2,"keys":1}"#.to_string();
        s.push('\n');
        for line in &self.lines {
            s.push_str(line);
            s.push('\n');
        }
        s
    }
}

fn change((seq, term): (u64, u64), status: u16) -> String {
    format!(r#""status":{status},"change":{{"seq_no":{seq},"primary_term":{term}}}"#)
}

struct Checked {
    code: i32,
    stdout: String,
    stderr: String,
}

fn check(name: &str, history: &str, args: &[&str]) -> Checked {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("torture-check");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.jsonl"));
    std::fs::write(&path, history).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_esocc"))
        .args(["torture", "check"])
        .arg(&path)
        .args(args)
        .output()
        .unwrap();
    Checked {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The witness lines printed under the anomaly's heading (the indented lines that follow it).
fn witness(stdout: &str, heading: &str) -> Vec<String> {
    let mut lines = stdout.lines().skip_while(|l| !l.starts_with(heading));
    assert!(lines.next().is_some(), "no `{heading}` in:\n{stdout}");
    lines
        .take_while(|l| l.starts_with("    "))
        .map(|l| l.trim().split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn a_clean_history_is_valid() {
    let mut h = Hist::default();
    h.write(0, "a", None, (0, 1))
        .write(1, "b", Some((0, 1)), (1, 1))
        .read(2, Some(((1, 1), &["b"])));
    let c = check("clean", &h.text(), &[]);
    assert_eq!(c.code, 0, "{}{}", c.stdout, c.stderr);
    assert!(c.stdout.contains("verdict: valid"), "{}", c.stdout);
}

#[test]
fn a_lost_acked_write_is_named_with_the_two_writes() {
    // b and c were both based on version (0, 1): c overwrote b without seeing it.
    let mut h = Hist::default();
    h.write(0, "a", None, (0, 1))
        .write(1, "b", Some((0, 1)), (1, 1))
        .write(2, "c", Some((0, 1)), (2, 1));
    let c = check("lost", &h.text(), &[]);
    assert_eq!(c.code, 1, "{}{}", c.stdout, c.stderr);
    let heading = "lost acked write on k (no_lost_acked_write)";
    assert_eq!(witness(&c.stdout, heading), ["op 1", "op 2"]);
}

#[test]
fn a_stale_read_and_a_lost_final_read_are_named() {
    let mut h = Hist::default();
    h.write(0, "a", None, (0, 1))
        .write(1, "b", Some((0, 1)), (1, 1))
        .read(2, Some(((0, 1), &["a"])));
    let c = check("stale", &h.text(), &[]);
    assert_eq!(c.code, 1, "{}{}", c.stdout, c.stderr);
    let heading = "stale read on k (no_stale_acked_read)";
    assert_eq!(witness(&c.stdout, heading), ["op 1", "op 2"]);

    // The same read as the final read after the run: the write is lost.
    let text = h.text().replace(
        r#""op":2,"process":2,"f":"read","key":"k""#,
        r#""op":2,"process":2,"f":"read","key":"k","final":true"#,
    );
    let c = check("stale-final", &text, &[]);
    assert_eq!(c.code, 1);
    let heading = "lost acked write on k (no_lost_acked_write)";
    assert_eq!(witness(&c.stdout, heading), ["op 1", "op 2"]);
}

#[test]
fn a_phantom_409_is_named_with_the_conflict_and_the_read() {
    let mut h = Hist::default();
    h.write(0, "a", None, (0, 1))
        .invoke(
            1,
            1,
            "index",
            r#""token":"b","condition":{"seq_no":0,"primary_term":1}"#,
        )
        .complete(
            "fail",
            1,
            r#""status":409,"error":"version_conflict_engine_exception: [k]: version conflict""#,
        )
        .read(2, Some(((1, 1), &["b"])));
    let c = check("phantom-409", &h.text(), &[]);
    assert_eq!(c.code, 1, "{}{}", c.stdout, c.stderr);
    let heading = "phantom 409 on k (cas_linearizable)";
    assert_eq!(witness(&c.stdout, heading), ["op 1", "op 2"]);
}

#[test]
fn a_duplicate_change_id_and_a_double_apply_are_named() {
    let mut h = Hist::default();
    h.write(0, "a", None, (0, 1))
        .write(1, "b", Some((0, 1)), (1, 1))
        .write(2, "c", Some((0, 1)), (1, 1));
    let c = check("duplicate", &h.text(), &[]);
    assert_eq!(c.code, 1, "{}{}", c.stdout, c.stderr);
    let heading = "duplicate change id on k (change_id_unique)";
    assert_eq!(witness(&c.stdout, heading), ["op 1", "op 2"]);

    // An update acknowledged at (5, 1) whose token a read already saw at (3, 1).
    let mut h = Hist::default();
    h.invoke(0, 0, "update", r#""token":"u""#)
        .read(1, Some(((3, 1), &["u"])))
        .complete("ok", 0, &change((5, 1), 200));
    let c = check("double-apply", &h.text(), &[]);
    assert_eq!(c.code, 1, "{}{}", c.stdout, c.stderr);
    let heading = "double apply on k (applied_at_most_once)";
    assert_eq!(witness(&c.stdout, heading), ["op 0", "op 1"]);
}

#[test]
fn reads_going_back_in_time_are_found_by_the_linearizability_search() {
    // b's write never answered (info), a read saw it, a later read saw the older a: no acked
    // write is involved, so only the search can tell. The write is kept in the witness, the
    // extra read is dropped when shrinking.
    let mut h = Hist::default();
    h.write(0, "a", None, (0, 1))
        .invoke(
            1,
            1,
            "index",
            r#""token":"b","condition":{"seq_no":0,"primary_term":1}"#,
        )
        .read(2, Some(((1, 1), &["b"])))
        .read(3, Some(((1, 1), &["b"])))
        .read(4, Some(((0, 1), &["a"])));
    let c = check("backwards", &h.text(), &[]);
    assert_eq!(c.code, 1, "{}{}", c.stdout, c.stderr);
    let heading = "not linearizable on k (reads_linearizable)";
    assert_eq!(
        witness(&c.stdout, heading),
        ["op 0", "op 1", "op 3", "op 4"],
        "{}",
        c.stdout
    );
}

#[test]
fn final_reads_that_differ_between_nodes_do_not_converge() {
    let mut h = Hist::default();
    h.write(0, "a", None, (0, 1))
        .write(1, "b", Some((0, 1)), (1, 1))
        .invoke(2, 2, "read", r#""node":0,"final":true"#)
        .complete(
            "ok",
            2,
            &format!("{},\"tokens\":[\"b\"]", change((1, 1), 200)),
        )
        .invoke(3, 3, "read", r#""node":1,"final":true"#)
        .complete(
            "ok",
            3,
            &format!("{},\"tokens\":[\"a\"]", change((0, 1), 200)),
        );
    let c = check("diverge", &h.text(), &[]);
    assert_eq!(c.code, 1, "{}{}", c.stdout, c.stderr);
    let heading = "divergent copies on k (converge_at_quiescence)";
    assert_eq!(witness(&c.stdout, heading), ["op 2", "op 3"]);
}

#[test]
fn a_spent_budget_is_unknown_and_bad_input_names_the_line() {
    let mut h = Hist::default();
    h.write(0, "a", None, (0, 1))
        .write(1, "b", Some((0, 1)), (1, 1))
        .read(2, Some(((1, 1), &["b"])));
    let c = check("budget", &h.text(), &["--wgl-steps-per-op", "1"]);
    assert_eq!(c.code, 3, "{}{}", c.stdout, c.stderr);
    assert!(c
        .stdout
        .contains("linearizability unknown (budget spent) on: k"));
    assert!(c.stdout.contains("verdict: unknown"));

    let c = check(
        "broken",
        "{\"type\":\"run\"}\n{\"type\":\"ok\",\"op\":7,\"time_ns\":1}\n",
        &[],
    );
    assert_eq!(c.code, 2);
    assert!(
        c.stderr
            .contains("broken.jsonl: line 2: completion of op 7"),
        "{}",
        c.stderr
    );
}

#[test]
fn check_writes_the_report_with_the_verdict_and_the_witness_highlighted() {
    let mut h = Hist::default();
    h.write(0, "a", None, (0, 1))
        .write(1, "b", Some((0, 1)), (1, 1))
        .write(2, "c", Some((0, 1)), (2, 1));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("torture-check-report");
    let c = check("report", &h.text(), &["--out", dir.to_str().unwrap()]);
    assert_eq!(c.code, 1);
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(html.contains("<span class=\"bad\">anomalies found</span>"));
    assert!(html.contains("lost acked write on <a href=\"#key-k\">k</a>"));
    assert_eq!(html.matches("class=\"witness\"").count(), 2);
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );
}

#[test]
fn the_readme_shows_the_real_output_of_the_documented_example() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_esocc"))
        .args(["torture", "check", "docs/torture-lost-write.jsonl"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let shown = format!("$ esocc torture check docs/torture-lost-write.jsonl\n{stdout}");
    assert!(readme.contains(&shown), "README.md should show:\n{shown}");
}
