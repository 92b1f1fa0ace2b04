//! `esocc check` as a user runs it: the table, the counterexamples, `--json`, `--trace-dir`, and
//! the exit codes (0 all as expected, 1 a verdict differs, 2 bad input naming file and line).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "support/cli.rs"]
mod cli;
use cli::{entry, text};

/// A fresh directory holding the given catalogue files.
fn catalogue(test: &str, files: &[(&str, String)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("esocc-cli-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

fn esocc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_esocc"))
        .args(args)
        .output()
        .expect("esocc runs")
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn expected_verdicts_exit_0_with_table_and_shortest_counterexample() {
    let dir = catalogue(
        "ok",
        &[
            ("a.json", entry("blind", "blind", "counterexample")),
            ("b.json", entry("guarded", "seq_no_and_term", "holds")),
        ],
    );
    let out = esocc(&["check", path(&dir), "--threads", "1"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    let header: Vec<&str> = lines[0].split("  ").filter(|c| !c.is_empty()).collect();
    assert_eq!(
        header.iter().map(|c| c.trim()).collect::<Vec<_>>(),
        [
            "entry",
            "property",
            "expected",
            "verdict",
            "unique states",
            "depth",
            "seconds"
        ]
    );
    // The entry is named on its first row; its other rows leave the cell empty.
    let row = |entry: &str, property: &str| {
        let first = lines.iter().position(|l| l.starts_with(entry)).unwrap();
        lines[first..]
            .iter()
            .enumerate()
            .take_while(|(i, l)| *i == 0 || l.starts_with(' '))
            .map(|(_, l)| l)
            .find(|l| l.contains(&format!(" {property} ")))
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .unwrap_or_else(|| panic!("no row for {entry} / {property}:\n{stdout}"))
    };
    let blind = row("blind", "no_lost_acked_write");
    assert_eq!(
        blind[..4],
        [
            "blind",
            "no_lost_acked_write",
            "counterexample",
            "counterexample"
        ]
    );
    let guarded = row("guarded", "rmw_serializable");
    assert_eq!(guarded[..3], ["rmw_serializable", "-", "holds"]);
    assert!(
        stdout.contains("Counterexamples, shortest first:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("blind / no_lost_acked_write, rmw_serializable, cas_linearizable"),
        "{stdout}"
    );
    assert!(stdout.contains(" 1. client 0 → n0: GET /idx/_doc/1 → 404 not found"));
    assert!(stdout.ends_with(
        "\n2 entries, 26 properties checked (4 with an expected verdict): all as expected.\n"
    ));
    assert!(stdout.contains(" 4. client 1 → n0: PUT /idx/_doc/1 [c1.0] → 200 updated"));
}

#[test]
fn a_verdict_that_differs_exits_1_and_says_which() {
    let dir = catalogue("mismatch", &[("a.json", entry("blind", "blind", "holds"))]);
    let out = esocc(&["check", path(&dir)]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("counterexample  MISMATCH"), "{stdout}");
    assert!(stdout.ends_with("(2 with an expected verdict): 1 differ from the catalogue.\n"));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("1 verdict(s) differ from the catalogue:")
            && stderr.contains("blind / no_lost_acked_write: expected holds, got counterexample"),
        "{stderr}"
    );
}

#[test]
fn json_output_carries_verdicts_and_traces() {
    let dir = catalogue(
        "json",
        &[("a.json", entry("blind", "blind", "counterexample"))],
    );
    let out = esocc(&["check", "--json", path(&dir)]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(json["all_match"], true);
    let report = &json["reports"][0];
    assert_eq!(report["entry"], "blind");
    assert!(report["unique_states"].as_u64().unwrap() > 0);
    let lost = report["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["property"] == "no_lost_acked_write")
        .unwrap();
    assert_eq!(lost["expected"], "counterexample");
    assert_eq!(lost["verdict"], "counterexample");
    let steps = lost["counterexample"]["trace"]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 4);
    assert_eq!(steps[0]["from"], "client 0");
    assert_eq!(steps[0]["to"], "n0");
}

#[test]
fn trace_dir_gets_json_and_svg_per_counterexample() {
    let dir = catalogue(
        "traces",
        &[("a.json", entry("blind", "blind", "counterexample"))],
    );
    let traces = dir.join("out");
    let out = esocc(&[
        "check",
        path(&dir.join("a.json")),
        "--trace-dir",
        path(&traces),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(traces.join("blind.no_lost_acked_write.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["entry"], "blind");
    assert_eq!(json["property"], "no_lost_acked_write");
    assert_eq!(json["depth"], 4);
    let svg = std::fs::read_to_string(traces.join("blind.no_lost_acked_write.svg")).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    for lifeline in ["client 0", "client 1", "n0"] {
        assert!(svg.contains(&format!(">{lifeline}</text>")), "{lifeline}");
    }
    assert!(svg.contains("PUT /idx/_doc/1 [c1.0]"));
    // The diagram wraps a long label at word boundaries, one `<text>` per line.
    assert!(svg.contains(">n0: doc 1: _seq_no=1 _primary_term=1</text>"));
    assert!(svg.contains(">_version=2 [c1.0]</text>"));
}

#[test]
fn an_unreadable_path_exits_2_naming_it() {
    let out = esocc(&["check", "/no/such/catalogue"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: /no/such/catalogue: cannot read:"),
        "{stderr}"
    );
}

#[test]
fn invalid_json_exits_2_with_file_and_line() {
    let broken = entry("blind", "blind", "holds").replace("\"blind\",\n", "\"blind\"\n");
    let dir = catalogue("badjson", &[("broken.json", broken)]);
    let out = esocc(&["check", path(&dir)]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    let expected = format!("error: {}:3:", path(&dir.join("broken.json")));
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(stderr.contains("expected `,` or `}`"), "{stderr}");
}

#[test]
fn an_unknown_parameter_exits_2_with_file_line_and_name() {
    let typo = entry("blind", "blind", "holds").replace("\"clients\"", "\"client\"");
    let dir = catalogue("typo", &[("typo.json", typo)]);
    let out = esocc(&["check", path(&dir)]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    let expected = format!("error: {}:5:", path(&dir.join("typo.json")));
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(stderr.contains("unknown field `client`"), "{stderr}");
}

#[test]
fn an_empty_directory_and_bad_flags_exit_2() {
    let dir = catalogue("empty", &[]);
    let out = esocc(&["check", path(&dir)]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!("error: {}: ", path(&dir))) && stderr.contains("no *.json"),
        "{stderr}"
    );
    let out = esocc(&["check", "--threads", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--threads"));
}
