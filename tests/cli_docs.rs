//! The hand-written docs stay true to what `esocc report` generates: every trace line that
//! `docs/protocol.md` quotes is in `docs/invariants.md` (itself checked against a fresh report in
//! CI), and every link to an invariant or a catalogue entry leads somewhere.

use std::path::Path;

fn read(relative: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)).unwrap()
}

/// The targets of Markdown links `](prefix...)` up to `)` or `#`-less end.
fn links<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.match_indices(&format!("]({prefix}"))
        .map(|(at, found)| {
            let rest = &text[at + found.len()..];
            &rest[..rest.find(')').unwrap()]
        })
        .collect()
}

#[test]
fn protocol_quotes_only_traces_the_report_contains() {
    let protocol = read("docs/protocol.md");
    let report = read("docs/invariants.md");
    let mut quoted = 0;
    for block in protocol.split("```text\n").skip(1) {
        let block = &block[..block.find("```").unwrap()];
        for line in block.lines().filter(|l| !l.trim().is_empty()) {
            assert!(
                report.lines().any(|r| r == line),
                "docs/protocol.md quotes a trace line that docs/invariants.md does not have:\n{line}"
            );
            quoted += 1;
        }
    }
    assert!(quoted > 20, "only {quoted} quoted lines");
}

#[test]
fn links_to_invariants_and_entries_resolve() {
    let report = read("docs/invariants.md");
    for doc in ["docs/protocol.md", "README.md"] {
        let text = read(doc);
        let base = if doc == "README.md" { "" } else { "../" };
        for anchor in links(&text, "invariants.md#") {
            assert!(
                report.contains(&format!("\n## {anchor}\n")),
                "{doc} links to invariants.md#{anchor}, which has no such section"
            );
        }
        for entry in links(&text, &format!("{base}models/")) {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("models")
                .join(entry);
            assert!(path.is_file(), "{doc} links to missing models/{entry}");
        }
    }
    assert!(!links(&read("docs/protocol.md"), "invariants.md#").is_empty());
}
