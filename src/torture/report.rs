//! `DIR/index.html`: one static page, no external assets (inline CSS and SVG), for a person.
//!
//! The verdict; each anomaly with its witness; the run's parameters and seed; latency and
//! throughput over time with nemesis periods shaded; and a timeline per document (a bar per
//! operation per client, coloured by outcome, witness operations outlined). Documents with an
//! anomaly come first; the page shows at most [`MAX_TIMELINES`] timelines.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;

use super::anomaly::{Anomaly, Verdict};
use super::check::CheckReport;
use super::history::{History, Op, Outcome};

/// Timelines drawn (anomalous documents first).
pub const MAX_TIMELINES: usize = 12;
/// Operations drawn per timeline (the last ones before a witness's end, or the first ones).
const MAX_BARS: usize = 400;
const WIDTH: f64 = 1000.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Nemesis periods, as (start, end) in ns.
fn nemesis_periods(history: &History, end: u64) -> Vec<(u64, u64, String)> {
    let mut periods = Vec::new();
    let mut open: Option<(u64, String)> = None;
    for e in &history.nemesis {
        match e.f.as_str() {
            "start" => open = Some((e.began(), e.value.clone())),
            _ => {
                if let Some((start, what)) = open.take() {
                    periods.push((start, e.time_ns, what));
                }
            }
        }
    }
    if let Some((start, what)) = open {
        periods.push((start, end, what));
    }
    periods
}

fn colour(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Ok => "#2e7d32",
        Outcome::Fail => "#ef6c00",
        Outcome::Info => "#9e9e9e",
    }
}

/// The page.
pub fn render(history: &History, report: &CheckReport) -> String {
    let end = history
        .ops
        .iter()
        .map(|op| op.complete_ns.unwrap_or(op.invoke.time_ns))
        .max()
        .unwrap_or(0)
        .max(1);
    let periods = nemesis_periods(history, end);
    let x = |t: u64| 60.0 + (t as f64 / end as f64) * (WIDTH - 70.0);
    let mut page = String::new();
    let (verdict, class) = match report.verdict {
        Verdict::Valid => ("valid", "valid"),
        Verdict::Anomalies => ("anomalies found", "bad"),
        Verdict::Unknown => ("unknown", "unknown"),
    };
    let _ = write!(
        page,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>esocc torture: {verdict}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}} h1 span{{padding:0 .3em;border-radius:4px}}
.valid{{background:#c8e6c9}} .bad{{background:#ffcdd2}} .unknown{{background:#fff9c4}}
table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:2px 8px;text-align:left}}
.anomaly{{border-left:4px solid #c62828;padding:0 1em;margin:1em 0}} code{{font-size:90%}}
svg text{{font-size:11px;font-family:monospace}}
</style></head><body>
<h1 id="verdict">esocc torture: <span class="{class}">{verdict}</span></h1>
<p id="counts">{} operations on {} documents: {} ok, {} fail, {} info; {} documents proved linearizable by search{}.</p>
"#,
        report.ops,
        report.keys,
        report.ok,
        report.fail,
        report.info,
        report.linearizable_keys,
        if report.unknown_keys.is_empty() {
            String::new()
        } else {
            format!(", {} unknown (budget spent)", report.unknown_keys.len())
        }
    );
    if let Some(p) = &history.params {
        let _ = write!(
            page,
            "<h2>Run</h2><table id=\"params\"><tr><th>workload</th><td>{}</td></tr><tr><th>nemesis</th><td>{}</td></tr><tr><th>seed</th><td>{}</td></tr><tr><th>clients</th><td>{}</td></tr><tr><th>keys</th><td>{}</td></tr><tr><th>bound</th><td>{}</td></tr><tr><th>client timeout</th><td>{} ms</td></tr><tr><th>endpoint</th><td>{} ({} node{}{}){}</td></tr></table>",
            escape(&p.workload),
            escape(&p.nemesis),
            p.seed,
            p.clients,
            p.keys,
            match (p.ops, p.time_s) {
                (Some(n), _) => format!("{n} operations"),
                (None, Some(s)) => format!("{s} s"),
                (None, None) => "-".into(),
            },
            p.timeout_ms,
            escape(&p.urls.join(", ")),
            p.nodes,
            if p.nodes == 1 { "" } else { "s" },
            if p.pin_clients { ", clients pinned" } else { "" },
            match p.unsafe_knobs.is_empty() {
                true => String::new(),
                false => format!(
                    " <strong class=\"unsafe\">UNSAFE: {}</strong>",
                    escape(&p.unsafe_knobs.join(", "))
                ),
            }
        );
    }
    let failed: Vec<_> = history
        .nemesis
        .iter()
        .filter(|e| e.error.is_some())
        .collect();
    if !failed.is_empty() {
        page.push_str("<h2>Nemesis errors</h2><ul id=\"nemesis-errors\">");
        for e in failed {
            let _ = write!(page, "<li>{}: <code>{}</code></li>", e.f, escape(&e.value));
        }
        page.push_str("</ul>");
    }
    let ops_by_id: BTreeMap<u64, &Op> = history.ops.iter().map(|op| (op.id(), op)).collect();
    let _ = write!(page, "<h2>Anomalies ({})</h2>", report.anomalies.len());
    if report.anomalies.is_empty() {
        page.push_str("<p>None.</p>");
    }
    findings(
        &mut page,
        "anomaly",
        &report.anomalies,
        &ops_by_id,
        "no model invariant",
    );
    if !report.behaviours.is_empty() {
        let _ = write!(
            page,
            "<h2>Elasticsearch's behaviour, not anomalies ({})</h2><p>409s a failover re-routed, for writes that took effect, and writes a failover overlapped that were executed again (docs/torture.md).</p>",
            report.behaviours.len()
        );
        findings(
            &mut page,
            "behaviour",
            &report.behaviours,
            &ops_by_id,
            "Elasticsearch's behaviour",
        );
    }
    page.push_str(&charts(history, &periods, end, &x));
    page.push_str(&timelines(history, report, &periods, &x));
    page.push_str("</body></html>\n");
    page
}

fn shade(periods: &[(u64, u64, String)], x: &dyn Fn(u64) -> f64, height: f64) -> String {
    let mut s = String::new();
    for (start, stop, what) in periods {
        let _ = write!(
            s,
            "<rect class=\"nemesis\" x=\"{:.1}\" y=\"0\" width=\"{:.1}\" height=\"{height}\" fill=\"#ffe0b2\" opacity=\"0.6\"><title>{}</title></rect>",
            x(*start),
            (x(*stop) - x(*start)).max(1.0),
            escape(what)
        );
    }
    s
}

/// Latency of each completed operation and throughput per tenth of the run.
fn charts(
    history: &History,
    periods: &[(u64, u64, String)],
    end: u64,
    x: &dyn Fn(u64) -> f64,
) -> String {
    let height = 160.0;
    let latencies: Vec<(u64, f64, Outcome)> = history
        .ops
        .iter()
        .filter(|op| !op.invoke.final_read)
        .filter_map(|op| {
            let done = op.complete_ns?;
            Some((done, (done - op.invoke.time_ns) as f64 / 1e6, op.outcome))
        })
        .collect();
    let max_ms = latencies.iter().map(|l| l.1).fold(1.0, f64::max);
    let mut s = format!(
        "<h2>Latency and throughput</h2><p>Nemesis periods shaded. Latency scale up to {max_ms:.1} ms.</p><svg id=\"latency\" width=\"{WIDTH}\" height=\"{}\" role=\"img\">",
        height * 2.0 + 20.0
    );
    s.push_str(&shade(periods, x, height * 2.0 + 20.0));
    for (i, (done, ms, outcome)) in latencies.iter().enumerate() {
        if latencies.len() > 20_000 && i % (latencies.len() / 20_000) != 0 {
            continue;
        }
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"1.5\" fill=\"{}\"/>",
            x(*done),
            height - ms / max_ms * (height - 10.0),
            colour(*outcome)
        );
    }
    let buckets = 50u64;
    let mut counts = vec![0u64; buckets as usize];
    for (done, _, _) in &latencies {
        let b = (done * buckets / (end + 1)) as usize;
        counts[b.min(buckets as usize - 1)] += 1;
    }
    let seconds = end as f64 / 1e9 / buckets as f64;
    let peak = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let points: Vec<String> = counts
        .iter()
        .enumerate()
        .map(|(b, c)| {
            format!(
                "{:.1},{:.1}",
                x((b as u64 * end + end / 2) / buckets),
                height * 2.0 + 10.0 - *c as f64 / peak * (height - 20.0)
            )
        })
        .collect();
    let _ = write!(
        s,
        "<text x=\"0\" y=\"12\">latency</text><text x=\"0\" y=\"{}\">ops/s</text><polyline fill=\"none\" stroke=\"#1565c0\" points=\"{}\"/><text x=\"{}\" y=\"{}\">peak {:.0} ops/s</text></svg>",
        height + 20.0,
        points.join(" "),
        WIDTH - 150.0,
        height + 20.0,
        peak / seconds.max(1e-9)
    );
    s
}

fn timelines(
    history: &History,
    report: &CheckReport,
    periods: &[(u64, u64, String)],
    x: &dyn Fn(u64) -> f64,
) -> String {
    let witness: HashSet<u64> = report
        .anomalies
        .iter()
        .flat_map(|a| a.witness.iter().copied())
        .collect();
    let mut by_key: BTreeMap<&str, Vec<&Op>> = BTreeMap::new();
    for op in &history.ops {
        by_key.entry(op.invoke.key.as_str()).or_default().push(op);
    }
    let mut keys: Vec<&str> = report.anomalies.iter().map(|a| a.key.as_str()).collect();
    keys.dedup();
    for key in by_key.keys() {
        if !keys.contains(key) {
            keys.push(key);
        }
    }
    let clients = history
        .params
        .as_ref()
        .map_or(0, |p| u64::from(p.clients))
        .max(1);
    let mut s = format!(
        "<h2>Timelines</h2><p>One row per client (final reads below), one bar per operation: <span style=\"color:#2e7d32\">ok</span>, <span style=\"color:#ef6c00\">fail</span>, <span style=\"color:#9e9e9e\">info</span> (indefinite: drawn to the end); witnesses outlined in red. {} of {} documents shown.</p>",
        keys.len().min(MAX_TIMELINES),
        keys.len()
    );
    for key in keys.into_iter().take(MAX_TIMELINES) {
        let ops = &by_key[key];
        let shown: Vec<&&Op> = match ops.iter().position(|op| witness.contains(&op.id())) {
            Some(first) => ops
                .iter()
                .skip(first.saturating_sub(MAX_BARS / 2))
                .take(MAX_BARS)
                .collect(),
            None => ops.iter().take(MAX_BARS).collect(),
        };
        let lanes = clients + 1;
        let height = lanes as f64 * 14.0 + 10.0;
        let _ = write!(
            s,
            "<h3 id=\"key-{}\">{}</h3><svg class=\"timeline\" width=\"{WIDTH}\" height=\"{height}\" role=\"img\">",
            escape(key),
            escape(key)
        );
        s.push_str(&shade(periods, x, height));
        for lane in 0..lanes {
            let label = if lane == clients {
                "final".to_string()
            } else {
                format!("c{lane}")
            };
            let _ = write!(
                s,
                "<text x=\"0\" y=\"{}\">{label}</text>",
                lane as f64 * 14.0 + 15.0
            );
        }
        let end = x(u64::MAX / 2).min(WIDTH - 10.0);
        for op in shown {
            let lane = if op.invoke.final_read {
                clients
            } else {
                op.invoke.process % clients
            };
            let x0 = x(op.invoke.time_ns);
            let x1 = op.complete_ns.map_or(end, x).max(x0 + 2.0);
            let outline = if witness.contains(&op.id()) {
                " stroke=\"#c62828\" stroke-width=\"2\" class=\"witness\""
            } else {
                ""
            };
            let _ = write!(
                s,
                "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"10\" fill=\"{}\"{outline}><title>{}</title></rect>",
                lane as f64 * 14.0 + 6.0,
                x1 - x0,
                colour(op.outcome),
                escape(&op.describe())
            );
        }
        s.push_str("</svg>");
    }
    s
}

/// Each finding with its witness, as `<div id="{id}-{n}">`.
fn findings(
    page: &mut String,
    id: &str,
    found: &[Anomaly],
    ops_by_id: &BTreeMap<u64, &Op>,
    no_invariant: &str,
) {
    for (n, a) in found.iter().enumerate() {
        let _ = write!(
            page,
            "<div class=\"anomaly\" id=\"{id}-{n}\"><h3>{} on <a href=\"#key-{}\">{}</a> <small>({})</small></h3><p>{}</p><ol>",
            escape(a.name),
            escape(&a.key),
            escape(&a.key),
            a.invariant.unwrap_or(no_invariant),
            escape(&a.explanation)
        );
        for op_id in &a.witness {
            if let Some(op) = ops_by_id.get(op_id) {
                let _ = write!(page, "<li><code>{}</code></li>", escape(&op.describe()));
            }
        }
        page.push_str("</ol></div>");
    }
}
