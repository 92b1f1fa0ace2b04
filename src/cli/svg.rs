//! A counterexample as an SVG sequence diagram: clients and shard copies as lifelines, requests,
//! replies and replication messages as arrows, and each copy's document state written under its
//! lifeline at the step where it changes.

use std::fmt::Write;

use esocc::model::trace::Trace;

/// One row of the diagram.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The step number shown at the left (`None` for the reply row of a step).
    pub number: Option<usize>,
    /// A reply: drawn dashed.
    pub reply: bool,
    /// Index of the lifeline the message leaves (or where a local step happens).
    pub from: usize,
    /// Index of the lifeline the message reaches; `None` for a local step (a failover, a crash).
    pub to: Option<usize>,
    /// What travels or happens, e.g. `PUT /idx/_doc/1?if_seq_no=2&if_primary_term=1`.
    pub label: String,
    /// State notes after this step: `(lifeline, text)`, e.g. `(2, "doc 1: seq 3 term 2 v4 [a,b]")`.
    pub notes: Vec<(usize, String)>,
}

const COLUMN: usize = 330;
const MARGIN: usize = 70;
const HEAD: usize = 60;
const ROW: usize = 34;
const NOTE_LINE: usize = 14;
/// Width of one character of a note (10px monospace), to size the picture.
const NOTE_CHAR: usize = 6;

/// The sequence diagram of a counterexample: clients first, then the shard copies, then anyone
/// else (the master); a step with an answer in the same step gets a dashed reply arrow; each
/// copy's changed state is noted under its lifeline on the step's last row.
pub fn trace_diagram(title: &str, trace: &Trace) -> String {
    let lifelines = participants(trace);
    let index = |name: &str| lifelines.iter().position(|l| l == name).unwrap_or(0);
    let mut events = Vec::new();
    for step in &trace.steps {
        let notes: Vec<(usize, String)> = step
            .changes
            .iter()
            .flat_map(|change| {
                let lifeline = index(&change.copy);
                let docs = change.docs.iter().map(ToString::to_string);
                change
                    .summary
                    .iter()
                    .cloned()
                    .chain(docs)
                    .map(move |text| (lifeline, text))
            })
            .collect();
        let (from, to) = (index(&step.exchange.from), index(&step.exchange.to));
        let request = Event {
            number: Some(step.number),
            reply: false,
            from,
            to: Some(to),
            label: step.exchange.request.clone(),
            notes: Vec::new(),
        };
        match &step.exchange.response {
            Some(response) => events.extend([
                request,
                Event {
                    number: None,
                    reply: true,
                    from: to,
                    to: Some(from),
                    label: response.clone(),
                    notes,
                },
            ]),
            None => events.push(Event { notes, ..request }),
        }
    }
    sequence_diagram(title, &lifelines, &events)
}

/// Everyone in the trace: clients in number order, the copies in their own order, then the rest
/// in order of appearance.
fn participants(trace: &Trace) -> Vec<String> {
    let mut named: Vec<&str> = trace
        .steps
        .iter()
        .flat_map(|s| [s.exchange.from.as_str(), s.exchange.to.as_str()])
        .collect();
    let copies: Vec<&str> = trace.initial.iter().map(|c| c.copy.as_str()).collect();
    let mut clients: Vec<&str> = named
        .iter()
        .copied()
        .filter(|n| n.starts_with("client"))
        .collect();
    clients.sort_by_key(|name| (name.len(), *name));
    named.retain(|n| !n.starts_with("client") && !copies.contains(n));
    let mut order: Vec<String> = Vec::new();
    for name in clients.into_iter().chain(copies).chain(named) {
        if !order.iter().any(|o| o == name) {
            order.push(name.to_string());
        }
    }
    order
}

/// Renders the diagram. Out-of-range lifeline indices are clamped to the last lifeline.
pub fn sequence_diagram(title: &str, lifelines: &[String], events: &[Event]) -> String {
    let last = lifelines.len().saturating_sub(1);
    let x = |i: usize| MARGIN + i.min(last) * COLUMN + COLUMN / 2;
    let rows: Vec<usize> = events.iter().map(row_height).collect();
    let height = HEAD + 30 + rows.iter().sum::<usize>() + 30;
    let notes_end = events
        .iter()
        .flat_map(|e| &e.notes)
        .map(|(lifeline, text)| x(*lifeline) + 6 + text.chars().count() * NOTE_CHAR)
        .max()
        .unwrap_or(0);
    let width = (MARGIN * 2 + lifelines.len().max(1) * COLUMN).max(notes_end + MARGIN / 2);

    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="monospace" font-size="12">"##
    );
    svg.push_str(concat!(
        r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">"##,
        r##"<path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>"##,
        r##"<rect width="100%" height="100%" fill="white"/>"##
    ));
    let _ = write!(
        svg,
        r##"<text x="{MARGIN}" y="20" font-size="14" font-weight="bold">{}</text>"##,
        escape(title)
    );
    for (i, name) in lifelines.iter().enumerate() {
        let cx = x(i);
        let _ = write!(
            svg,
            r##"<rect x="{}" y="32" width="{}" height="24" rx="4" fill="#eef" stroke="#335"/><text x="{cx}" y="48" text-anchor="middle">{}</text><line x1="{cx}" y1="56" x2="{cx}" y2="{}" stroke="#99a" stroke-dasharray="4 3"/>"##,
            cx - COLUMN / 2 + 12,
            COLUMN - 24,
            escape(name),
            height - 10
        );
    }
    let mut y = HEAD + 30;
    for (event, row) in events.iter().zip(&rows) {
        if let Some(number) = event.number {
            let _ = write!(
                svg,
                r##"<text x="8" y="{}" fill="#666">{number}.</text>"##,
                y + 4
            );
        }
        draw_event(&mut svg, event, y, &x);
        for (lifeline, line, text) in stacked_notes(event) {
            let _ = write!(
                svg,
                r##"<text x="{}" y="{}" font-size="10" fill="#063">{}</text>"##,
                x(lifeline) + 6,
                y + 20 + line * NOTE_LINE,
                escape(text)
            );
        }
        y += row;
    }
    svg.push_str("</svg>\n");
    svg
}

fn draw_event(svg: &mut String, event: &Event, y: usize, x: &impl Fn(usize) -> usize) {
    let from = x(event.from);
    match event.to.map(x).filter(|to| *to != from) {
        Some(to) => {
            let _ = write!(
                svg,
                r##"<line x1="{from}" y1="{y}" x2="{to}" y2="{y}" stroke="#333"{} marker-end="url(#arrow)"/><text x="{}" y="{}" text-anchor="middle">{}</text>"##,
                if event.reply {
                    r#" stroke-dasharray="6 3""#
                } else {
                    ""
                },
                (from + to) / 2,
                y - 5,
                escape(&event.label)
            );
        }
        None => {
            let _ = write!(
                svg,
                r##"<circle cx="{from}" cy="{y}" r="5" fill="#c33"/><text x="{}" y="{}">{}</text>"##,
                from + 10,
                y - 5,
                escape(&event.label)
            );
        }
    }
}

/// The notes of one event as `(lifeline, line within that lifeline's column, text)`.
fn stacked_notes(event: &Event) -> Vec<(usize, usize, &str)> {
    let mut lines_used: Vec<(usize, usize)> = Vec::new();
    event
        .notes
        .iter()
        .map(|(lifeline, text)| {
            let line = match lines_used.iter_mut().find(|(l, _)| l == lifeline) {
                Some((_, used)) => {
                    *used += 1;
                    *used - 1
                }
                None => {
                    lines_used.push((*lifeline, 1));
                    0
                }
            };
            (*lifeline, line, text.as_str())
        })
        .collect()
}

fn row_height(event: &Event) -> usize {
    let lines = stacked_notes(event)
        .iter()
        .map(|(_, line, _)| line + 1)
        .max()
        .unwrap_or(0);
    ROW + lines * NOTE_LINE
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lifelines() -> Vec<String> {
        ["client 0", "n0 (primary)", "n1"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn arrows_notes_and_escaping() {
        let events = vec![
            Event {
                number: Some(1),
                reply: false,
                from: 0,
                to: Some(1),
                label: "PUT /idx/_doc/1?if_seq_no=0&if_primary_term=1".into(),
                notes: vec![(1, "doc 1: seq 1 term 1".into()), (1, "ckpt 1".into())],
            },
            Event {
                number: Some(2),
                reply: false,
                from: 1,
                to: None,
                label: "fails".into(),
                notes: vec![],
            },
        ];
        let svg = sequence_diagram("lost <update>", &lifelines(), &events);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("if_seq_no=0&amp;if_primary_term=1"));
        assert!(svg.contains("lost &lt;update&gt;"));
        assert_eq!(svg.matches("marker-end").count(), 1, "one arrow");
        assert_eq!(svg.matches("<circle").count(), 1, "one local step");
        assert_eq!(
            svg.matches("stroke-dasharray").count(),
            3,
            "three lifelines"
        );
        assert!(svg.contains(">2.</text>"));
    }

    #[test]
    fn notes_on_one_lifeline_stack_and_grow_the_row() {
        let event = Event {
            number: Some(1),
            reply: false,
            from: 0,
            to: Some(2),
            label: "x".into(),
            notes: vec![(2, "a".into()), (1, "b".into()), (2, "c".into())],
        };
        assert_eq!(
            stacked_notes(&event),
            vec![(2, 0, "a"), (1, 0, "b"), (2, 1, "c")]
        );
        assert_eq!(row_height(&event), ROW + 2 * NOTE_LINE);
    }
}
