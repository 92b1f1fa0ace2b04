//! Static pages for `esocc check --html DIR`: the explorer's page with its data embedded, so a
//! CI artifact opens without a server. `index.html` is the catalogue with the verdicts; each
//! counterexample gets `<entry>.<property>.html`, which holds every prefix of its path (step
//! through it, back and forward); branching off it needs `esocc explore`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::page::page;
use super::verdicts::{EntryView, Status};
use super::walk::walker;
use crate::model::catalogue::Entry;
use crate::model::check::Report;

/// Writes the pages for `reports` (each the check of the entry of the same name) into `dir`;
/// returns the files written, `index.html` first.
pub fn write(dir: &Path, entries: &[Entry], reports: &[Report]) -> Result<Vec<PathBuf>, String> {
    let catalogue: Vec<EntryView> = reports
        .iter()
        .filter_map(|r| {
            let entry = entries.iter().find(|e| e.name == r.entry)?;
            Some(EntryView::new(entry, Status::of(r)))
        })
        .collect();
    // Every counterexample, with the page it goes to.
    let mut counterexamples = Vec::new();
    for report in reports {
        let Some(entry) = entries.iter().find(|e| e.name == report.entry) else {
            continue;
        };
        for property in &report.properties {
            if let Some(path) = property
                .counterexample
                .as_ref()
                .and_then(|c| c.path.clone())
            {
                let file = format!("{}.{}.html", entry.name, property.property);
                counterexamples.push((entry, path, file));
            }
        }
    }
    let mut pages = BTreeMap::new();
    for (entry, path, file) in &counterexamples {
        for end in 0..=path.len() {
            pages
                .entry(key(&entry.name, &path[..end]))
                .or_insert_with(|| file.clone());
        }
    }
    let data = |paths: Value| json!({ "catalogue": catalogue, "paths": paths, "pages": pages });
    let mut written = Vec::new();
    let mut save = |file: &str, html: String| {
        let target = dir.join(file);
        std::fs::write(&target, html)
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        written.push(target);
        Ok::<(), String>(())
    };
    save("index.html", page(Some(&data(json!({})))))?;
    for (entry, path, file) in &counterexamples {
        let walk = walker(entry)?;
        let mut views = serde_json::Map::new();
        for end in 0..=path.len() {
            let view = walk
                .walk(&path[..end])
                .map_err(|e| format!("{}: {e}", entry.name))?;
            views.insert(
                key(&entry.name, &path[..end]),
                serde_json::to_value(view).map_err(|e| e.to_string())?,
            );
        }
        save(file, page(Some(&data(Value::Object(views)))))?;
    }
    Ok(written)
}

/// The page's key for a path: `entry/0.2.1`.
fn key(entry: &str, path: &[usize]) -> String {
    let choices: Vec<String> = path.iter().map(ToString::to_string).collect();
    format!("{entry}/{}", choices.join("."))
}
