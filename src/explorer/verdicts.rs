//! The verdicts the page shows: every entry is checked in the background by
//! [`crate::model::check::run`] (the same counts, symmetry reduction and shortest
//! counterexamples as `esocc check`), one entry at a time in catalogue order, the entry a person
//! opened first. While an entry is checked its progress is shown; until then its properties are
//! "not yet known".

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;

use crate::model::catalogue::{Entry, Expect, ModelSpec};
use crate::model::check::{self, Options, Progress, Report, Verdict};
use crate::model::Invariant;

/// A property's verdict and, when refuted, where its shortest counterexample goes.
#[derive(Clone, Debug, Serialize)]
pub struct PropertyVerdict {
    pub property: Invariant,
    pub statement: &'static str,
    pub expected: Option<Expect>,
    pub verdict: Verdict,
    pub matches: bool,
    /// Steps of the shortest counterexample.
    pub depth: Option<usize>,
    /// The shortest counterexample as explorer choices.
    pub path: Option<Vec<usize>>,
    pub violation: Option<String>,
}

/// Where an entry's check stands.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    Queued,
    Running {
        progress: Progress,
    },
    Done {
        states: usize,
        unique_states: usize,
        max_depth: usize,
        seconds: f64,
        matches: bool,
        properties: Vec<PropertyVerdict>,
    },
    /// The model could not be built (entries loaded from the catalogue always can).
    Failed {
        error: String,
    },
}

impl Status {
    /// The finished check's figures and verdicts.
    pub fn of(report: &Report) -> Status {
        Status::Done {
            states: report.states,
            unique_states: report.unique_states,
            max_depth: report.max_depth,
            seconds: report.seconds,
            matches: report.matches(),
            properties: report
                .properties
                .iter()
                .map(|p| PropertyVerdict {
                    property: p.property,
                    statement: p.property.statement(),
                    expected: p.expected,
                    verdict: p.verdict,
                    matches: p.matches(),
                    depth: p.counterexample.as_ref().map(|c| c.depth),
                    path: p.counterexample.as_ref().and_then(|c| c.path.clone()),
                    violation: p.counterexample.as_ref().map(|c| c.violation.clone()),
                })
                .collect(),
        }
    }
}

/// An entry as the catalogue view lists it.
#[derive(Clone, Debug, Serialize)]
pub struct EntryView {
    pub name: String,
    pub description: String,
    #[serde(flatten)]
    pub model: ModelSpec,
    pub expect: std::collections::BTreeMap<Invariant, Expect>,
    pub status: Status,
}

impl EntryView {
    pub fn new(entry: &Entry, status: Status) -> EntryView {
        EntryView {
            name: entry.name.clone(),
            description: entry.description.clone(),
            model: entry.model.clone(),
            expect: entry.expect.clone(),
            status,
        }
    }
}

struct Queue {
    next: VecDeque<usize>,
    status: Vec<Status>,
}

/// The background checks of a catalogue.
#[derive(Clone)]
pub struct Verdicts {
    entries: Arc<Vec<Entry>>,
    queue: Arc<Mutex<Queue>>,
}

impl Verdicts {
    /// Starts checking `entries` on a background thread, each with `threads` checker threads.
    pub fn start(entries: Arc<Vec<Entry>>, threads: usize) -> Verdicts {
        let verdicts = Verdicts::queued(entries);
        let worker = verdicts.clone();
        std::thread::spawn(move || worker.work(threads));
        verdicts
    }

    /// Every entry queued, in catalogue order, and nothing checking them yet.
    fn queued(entries: Arc<Vec<Entry>>) -> Verdicts {
        Verdicts {
            queue: Arc::new(Mutex::new(Queue {
                next: (0..entries.len()).collect(),
                status: vec![Status::Queued; entries.len()],
            })),
            entries,
        }
    }

    /// Every entry with its status.
    pub fn list(&self) -> Vec<EntryView> {
        let queue = self.lock();
        self.entries
            .iter()
            .zip(&queue.status)
            .map(|(entry, status)| EntryView::new(entry, status.clone()))
            .collect()
    }

    /// The entry at `index` with its status; checked next if it is still queued.
    pub fn open(&self, index: usize) -> Option<EntryView> {
        let mut queue = self.lock();
        if let Some(at) = queue.next.iter().position(|&i| i == index) {
            queue.next.remove(at);
            queue.next.push_front(index);
        }
        let status = queue.status.get(index)?.clone();
        Some(EntryView::new(self.entries.get(index)?, status))
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panicking check would poison the lock; the statuses stay readable.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks the queued entries one by one until none is left.
    fn work(&self, threads: usize) {
        loop {
            let Some(index) = self.lock().next.pop_front() else {
                return;
            };
            let set = |status: Status| self.lock().status[index] = status;
            let progress = |p: &Progress| set(Status::Running { progress: *p });
            let options = Options {
                threads,
                progress: Some(&progress),
                progress_interval: Duration::from_millis(250),
                ..Options::default()
            };
            set(match check::run(&self.entries[index], &options) {
                Ok(report) => Status::of(&report),
                Err(e) => Status::Failed {
                    error: e.to_string(),
                },
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::catalogue;

    fn entry(name: &str, guard: &str) -> Entry {
        let text = serde_json::json!({
            "name": name, "description": "", "model": "single_shard",
            "parameters": {"clients": 2, "guard": guard, "path": "rmw"},
            "expect": {"no_lost_acked_write": "counterexample", "reach_acked_write": "reachable"},
            "ci": false
        });
        catalogue::parse(std::path::Path::new("t.json"), &text.to_string()).unwrap()
    }

    #[test]
    fn an_opened_entry_is_checked_first_with_the_checks_own_figures() {
        let entries = Arc::new(vec![
            entry("a", "blind"),
            entry("b", "blind"),
            entry("c", "seq_no_and_term"),
        ]);
        let verdicts = Verdicts::queued(entries.clone());
        let opened = verdicts.open(2).unwrap();
        assert!(matches!(opened.status, Status::Queued));
        assert_eq!(verdicts.lock().next, [2, 0, 1]);
        assert!(verdicts.open(3).is_none());

        verdicts.work(1);
        let report = check::run(&entries[2], &Options::default()).unwrap();
        let Status::Done {
            unique_states,
            matches,
            properties,
            ..
        } = &verdicts.list()[2].status
        else {
            panic!("c is checked");
        };
        assert_eq!(*unique_states, report.unique_states);
        // The real guard keeps the lost update out, against this entry's expectation.
        assert!(!matches);
        let lost = properties
            .iter()
            .find(|p| p.property == Invariant::NoLostAckedWrite)
            .unwrap();
        assert_eq!((lost.verdict, lost.path.as_ref()), (Verdict::Holds, None));
        let Status::Done { properties, .. } = &verdicts.list()[0].status else {
            panic!("a is checked");
        };
        let lost = properties
            .iter()
            .find(|p| p.property == Invariant::NoLostAckedWrite)
            .unwrap();
        assert_eq!(lost.verdict, Verdict::Counterexample);
        assert_eq!(lost.path.as_ref().map(Vec::len), lost.depth);
    }
}
