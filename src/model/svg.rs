//! A [`Trace`] drawn as an SVG sequence diagram: clients, copies and the master as lifelines,
//! each step as a numbered arrow labelled with its request and response, and each copy's
//! changed documents written under its lifeline where they change.
//!
//! The diagram has a fixed width (a column per participant) and grows downwards only: every
//! label is wrapped to the room right of where it starts (moved left when that room is small),
//! and each step's band is as tall as its wrapped lines, so no two labels overlap and a long run
//! scrolls vertically.

use std::fmt::Write;

use super::trace::Trace;

const COLUMN: usize = 150;
const MARGIN: usize = 20;
const HEADER: usize = 56;
/// Height of one text line, and the gap between steps.
const LINE: usize = 14;
/// The width of one character of the 11 px monospace font, rounded up.
const CHAR: f64 = 6.7;
/// A label starting closer to the right edge than this many characters starts further left,
/// where this many fit.
const MIN_CHARS: usize = 40;

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

/// The lines each step writes under its arrow: one per changed summary or document.
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

/// `text` broken into lines of at most `width` characters, at spaces where it can be (a word
/// longer than a line is cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = line.chars().count();
            let room = if used == 0 {
                width
            } else {
                width.saturating_sub(used + 1)
            };
            if word.len() <= room {
                if used > 0 {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            let rest = word.split_off(width);
            lines.push(word.iter().collect());
            word = rest;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// A block of wrapped text: where it starts and its lines.
struct Block {
    x: usize,
    lines: Vec<String>,
}

impl Block {
    /// `text` starting at `x`, or as far left of it as [`MIN_CHARS`] need, wrapped to the room
    /// to the right edge.
    fn new(text: &str, x: usize, width: usize) -> Block {
        let room = |x: usize| ((width.saturating_sub(x + MARGIN / 2)) as f64 / CHAR) as usize;
        // Too close to the right edge: move left just enough to hold MIN_CHARS per line.
        let widest_start =
            width.saturating_sub(MARGIN / 2 + (MIN_CHARS as f64 * CHAR).ceil() as usize + 1);
        let x = x.min(widest_start).max(MARGIN);
        let lines = if text.is_empty() {
            Vec::new()
        } else {
            wrap(text, room(x))
        };
        Block { x, lines }
    }

    fn height(&self) -> usize {
        self.lines.len() * LINE
    }

    fn draw(&self, svg: &mut String, top: usize, color: &str) {
        for (i, line) in self.lines.iter().enumerate() {
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}" fill="{color}" xml:space="preserve">{}</text>"#,
                self.x,
                top + LINE * (i + 1) - 3,
                escape(line)
            );
        }
    }
}

/// A step's text: the request above its arrow, the response below it, then each changed copy's
/// lines (with the x of the copy's lifeline).
struct StepText {
    request: Block,
    response: Block,
    changes: Vec<(usize, Block)>,
}

impl StepText {
    /// The step's band, a line of space after it included.
    fn height(&self) -> usize {
        let changes: usize = self.changes.iter().map(|(_, b)| b.height()).sum();
        self.request.height() + self.response.height() + changes + LINE
    }
}

/// Draw `trace` as a standalone SVG document.
pub fn sequence_diagram(trace: &Trace) -> String {
    let names = participants(trace);
    let x = |name: &str| {
        let index = names.iter().position(|n| n == name).unwrap_or(0);
        MARGIN + COLUMN / 2 + index * COLUMN
    };
    let width = 2 * MARGIN + names.len().max(3) * COLUMN;
    // Per step: the request above the arrow, the response and the changes below it.
    let texts: Vec<StepText> = trace
        .steps
        .iter()
        .map(|step| {
            let exchange = &step.exchange;
            let (from, to) = (x(&exchange.from), x(&exchange.to));
            let start = if from == to {
                from + 30
            } else {
                from.min(to) + 6
            };
            let label = format!("{}. {}", step.number, exchange.request);
            let response = exchange
                .response
                .as_ref()
                .map(|r| format!("→ {r}"))
                .unwrap_or_default();
            let changes = change_lines(step)
                .iter()
                .map(|(copy, text)| {
                    let at = x(copy);
                    (at, Block::new(&format!("{copy}: {text}"), at + 6, width))
                })
                .collect();
            StepText {
                request: Block::new(&label, start, width),
                response: Block::new(&response, start, width),
                changes,
            }
        })
        .collect();
    let height = HEADER + texts.iter().map(StepText::height).sum::<usize>() + MARGIN;

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans Mono, monospace" font-size="11">"#
    );
    svg.push_str(r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>"#);
    // Opaque, so the diagram stays readable on a dark page; a white halo keeps text readable
    // where it crosses a lifeline.
    svg.push_str(r#"<style>text { paint-order: stroke; stroke: white; stroke-width: 3px; stroke-linejoin: round; }</style>"#);
    svg.push_str(r#"<rect width="100%" height="100%" fill="white"/>"#);
    for name in &names {
        let cx = x(name);
        let _ = write!(
            svg,
            r##"<rect x="{}" y="{MARGIN}" width="{}" height="22" rx="4" fill="#eef" stroke="#447"/><text x="{cx}" y="{}" text-anchor="middle" font-weight="bold">{}</text><line x1="{cx}" y1="{}" x2="{cx}" y2="{}" stroke="#aaa" stroke-dasharray="4 3"/>"##,
            cx - COLUMN / 2 + 10,
            COLUMN - 20,
            MARGIN + 15,
            escape(name),
            MARGIN + 22,
            height - MARGIN / 2,
        );
    }
    let mut y = HEADER;
    for (step, text) in trace.steps.iter().zip(&texts) {
        let StepText {
            request,
            response,
            changes,
        } = text;
        let exchange = &step.exchange;
        let (from, to) = (x(&exchange.from), x(&exchange.to));
        request.draw(&mut svg, y, "black");
        let arrow_y = y + request.height() + 2;
        if from == to {
            let _ = write!(
                svg,
                r#"<path d="M {from} {} h 24 v 10 h -24" fill="none" stroke="black" marker-end="url(#arrow)"/>"#,
                arrow_y - 6,
            );
        } else {
            let _ = write!(
                svg,
                r#"<line x1="{from}" y1="{arrow_y}" x2="{to}" y2="{arrow_y}" stroke="black" marker-end="url(#arrow)"/>"#,
            );
        }
        let mut top = arrow_y + 2;
        response.draw(&mut svg, top, "#555");
        top += response.height();
        for (lifeline, change) in changes {
            // A dot on the copy's lifeline marks where its state changed (before the text when
            // the text had to start left of the lifeline).
            let _ = write!(
                svg,
                r##"<circle cx="{}" cy="{}" r="3" fill="#262"/>"##,
                (*lifeline).min(change.x.saturating_sub(6)),
                top + LINE / 2,
            );
            change.draw(&mut svg, top, "#262");
            top += change.height();
        }
        y += text.height();
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

    #[test]
    fn long_words_are_cut_and_lines_break_at_spaces() {
        assert_eq!(wrap("ab cd ef", 5), vec!["ab cd", "ef"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap("", 3), vec![""]);
    }

    #[test]
    fn labels_stay_inside_the_width_and_never_share_a_line() {
        let long = "resync [1: index _version=2 [c0.0] of term 1; 2: index _version=3 [c0.0 c1.0] of term 1], trim above _seq_no 2 (request term 2, global checkpoint 0)";
        let step = |number: usize, from: &str, to: &str| Step {
            number,
            exchange: Exchange {
                from: from.into(),
                to: to.into(),
                request: long.into(),
                response: Some(long.into()),
            },
            changes: vec![CopyChange {
                copy: "n2".into(),
                summary: Some(long.into()),
                docs: vec![],
            }],
        };
        let trace = Trace {
            initial: ["n0", "n1", "n2"]
                .map(|c| CopyState {
                    copy: c.into(),
                    summary: String::new(),
                    docs: vec![],
                })
                .to_vec(),
            steps: vec![
                step(1, "n2", "n1"),
                step(2, "n2", "n2"),
                step(3, "n0", "n2"),
            ],
        };
        let svg = sequence_diagram(&trace);
        let width = 2 * MARGIN + 3 * COLUMN;
        assert!(svg.contains(&format!(r#"width="{width}""#)));
        let mut rows = Vec::new();
        for text in svg.split("<text ").skip(1) {
            let attr = |name: &str| -> usize {
                let at = text.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                text[at..text[at..].find('"').unwrap() + at]
                    .parse()
                    .unwrap()
            };
            let content = &text[text.find('>').unwrap() + 1..text.find("</text>").unwrap()];
            let chars = content
                .replace("&amp;", "&")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .chars()
                .count();
            let (x, y) = (attr("x"), attr("y"));
            if y > HEADER {
                assert!(
                    x as f64 + chars as f64 * CHAR <= width as f64,
                    "{content:?} at x {x} runs past {width}"
                );
                rows.push(y);
            }
        }
        let count = rows.len();
        rows.sort_unstable();
        rows.dedup();
        assert_eq!(rows.len(), count, "two labels share a line");
        assert!(count > 3 * 3, "every long label wraps");
    }
}
