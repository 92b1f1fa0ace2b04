//! A [`Trace`] drawn as an SVG sequence diagram: clients, copies and the master as lifelines,
//! each step as a numbered arrow labelled with its request and response, and each copy's
//! changed documents written under its lifeline where they change.

use std::fmt::Write;

use super::trace::Trace;

const COLUMN: usize = 260;
const MARGIN: usize = 30;
const HEADER: usize = 50;
const STEP: usize = 44;
const LINE: usize = 14;
/// Room to the right of the last lifeline for labels that run past it.
const OVERHANG: usize = 420;

/// The participants, left to right: clients first (in id order), then everyone else in order of
/// appearance, copies of the initial state first.
fn participants(trace: &Trace) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    };
    for step in &trace.steps {
        for name in [&step.exchange.from, &step.exchange.to] {
            if name.starts_with("client") {
                add(name);
            }
        }
    }
    for copy in &trace.initial {
        add(&copy.copy);
    }
    for step in &trace.steps {
        add(&step.exchange.from);
        add(&step.exchange.to);
    }
    let (mut clients, others): (Vec<String>, Vec<String>) =
        names.into_iter().partition(|n| n.starts_with("client"));
    clients.sort_by_key(|n| {
        n.trim_start_matches("client ")
            .parse::<usize>()
            .unwrap_or(0)
    });
    clients.extend(others);
    clients
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The rows each step occupies: the arrow, then one line per changed document or summary.
fn change_lines(step: &super::trace::Step) -> Vec<(String, String)> {
    let mut lines = Vec::new();
    for change in &step.changes {
        if let Some(summary) = &change.summary {
            lines.push((change.copy.clone(), summary.clone()));
        }
        for doc in &change.docs {
            lines.push((change.copy.clone(), doc.to_string()));
        }
    }
    lines
}

/// Draw `trace` as a standalone SVG document.
pub fn sequence_diagram(trace: &Trace) -> String {
    let names = participants(trace);
    let x = |name: &str| {
        let index = names.iter().position(|n| n == name).unwrap_or(0);
        MARGIN + COLUMN / 2 + index * COLUMN
    };
    let heights: Vec<usize> = trace
        .steps
        .iter()
        .map(|s| STEP + LINE * change_lines(s).len())
        .collect();
    let height = HEADER + heights.iter().sum::<usize>() + MARGIN + LINE;
    let width = 2 * MARGIN + names.len() * COLUMN + OVERHANG;

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="monospace" font-size="11">"#
    );
    svg.push_str(r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>"#);
    // Opaque, so the diagram stays readable on a dark page (the Explorer's is dark blue).
    svg.push_str(r#"<rect width="100%" height="100%" fill="white"/>"#);
    for name in &names {
        let cx = x(name);
        let _ = write!(
            svg,
            r##"<rect x="{}" y="{MARGIN}" width="{}" height="22" rx="4" fill="#eef" stroke="#447"/><text x="{cx}" y="{}" text-anchor="middle" font-weight="bold">{}</text><line x1="{cx}" y1="{}" x2="{cx}" y2="{}" stroke="#aaa" stroke-dasharray="4 3"/>"##,
            cx - 60,
            120,
            MARGIN + 15,
            escape(name),
            MARGIN + 22,
            height - MARGIN / 2,
        );
    }
    let mut y = HEADER;
    for (step, step_height) in trace.steps.iter().zip(&heights) {
        let exchange = &step.exchange;
        let (from, to) = (x(&exchange.from), x(&exchange.to));
        let arrow_y = y + 22;
        let label = format!("{}. {}", step.number, exchange.request);
        let response = exchange
            .response
            .as_ref()
            .map(|r| format!("→ {r}"))
            .unwrap_or_default();
        if from == to {
            let _ = write!(
                svg,
                r##"<path d="M {from} {} h 24 v 14 h -24" fill="none" stroke="black" marker-end="url(#arrow)"/><text x="{}" y="{}">{}</text><text x="{}" y="{}" fill="#555">{}</text>"##,
                arrow_y - 7,
                from + 30,
                arrow_y - 2,
                escape(&label),
                from + 30,
                arrow_y + 11,
                escape(&response),
            );
        } else {
            let text_x = from.min(to) + 6;
            let _ = write!(
                svg,
                r##"<line x1="{from}" y1="{arrow_y}" x2="{to}" y2="{arrow_y}" stroke="black" marker-end="url(#arrow)"/><text x="{text_x}" y="{}">{}</text><text x="{text_x}" y="{}" fill="#555">{}</text>"##,
                arrow_y - 4,
                escape(&label),
                arrow_y + 13,
                escape(&response),
            );
        }
        for (line, (copy, text)) in change_lines(step).iter().enumerate() {
            let _ = write!(
                svg,
                r##"<text x="{}" y="{}" fill="#262">{}</text>"##,
                x(copy) + 6,
                y + STEP - 2 + LINE * line,
                escape(&format!("{copy}: {text}")),
            );
        }
        y += step_height;
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::trace::{CopyChange, CopyState, DocState, Exchange, Step};

    #[test]
    fn draws_lifelines_arrows_and_changes() {
        let trace = Trace {
            initial: vec![CopyState {
                copy: "n0".into(),
                summary: String::new(),
                docs: vec![],
            }],
            steps: vec![
                Step {
                    number: 1,
                    exchange: Exchange {
                        from: "client 1".into(),
                        to: "n0".into(),
                        request: "PUT /idx/_doc/1?if_seq_no=0&if_primary_term=1 <a>".into(),
                        response: Some("409".into()),
                    },
                    changes: vec![],
                },
                Step {
                    number: 2,
                    exchange: Exchange {
                        from: "n0".into(),
                        to: "n0".into(),
                        request: "retry".into(),
                        response: None,
                    },
                    changes: vec![CopyChange {
                        copy: "n0".into(),
                        summary: Some("term 2".into()),
                        docs: vec![DocState {
                            id: "1".into(),
                            meta: None,
                            value: "[]".into(),
                        }],
                    }],
                },
            ],
        };
        assert_eq!(participants(&trace), vec!["client 1", "n0"]);
        let svg = sequence_diagram(&trace);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(
            svg.contains(">1. PUT /idx/_doc/1?if_seq_no=0&amp;if_primary_term=1 &lt;a&gt;</text>")
        );
        assert!(svg.contains(">→ 409</text>"));
        assert!(svg.contains(">n0: term 2</text>") && svg.contains(">n0: doc 1: missing</text>"));
        assert_eq!(
            svg.matches("<line").count(),
            2 + 1,
            "two lifelines and one arrow"
        );
    }
}
