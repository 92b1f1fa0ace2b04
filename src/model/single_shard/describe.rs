//! How the single-shard model tells its states and steps: the protocol's own requests and
//! responses for traces, and the Explorer's views of states and actions.

use std::fmt;

use stateright::Model;

use super::{
    rank_increased, Action, Attempt, Chain, Doc, Pass, Path, SingleShard, Stage, State, WriteId,
    BY_QUERY,
};
use crate::model::trace::{
    self, CopyState, Describe, DocMetaView, DocState, Exchange, Field, Item,
};
use crate::model::Invariant;
use crate::protocol::{Condition, DocMeta, Guard, VersionConflict};
use crate::rest::status::{ExceptionStatus, Status};
use crate::search::by_query::Conflicts;

/// The `_id` of document `index`: documents are numbered from 1.
pub(super) fn doc_id(index: u8) -> String {
    (u16::from(index) + 1).to_string()
}

impl fmt::Display for WriteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.client {
            BY_QUERY => write!(f, "ubq.{}", self.op),
            client => write!(f, "c{client}.{}", self.op),
        }
    }
}

impl fmt::Debug for WriteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A write chain as text: `[c0.0 c1.0]`.
fn chain_text(chain: &Chain) -> String {
    let ids: Vec<String> = chain.iter().map(ToString::to_string).collect();
    format!("[{}]", ids.join(" "))
}

/// `_seq_no=.. _primary_term=.. _version=.. [value]`, or `404` for a missing document.
fn found_text(meta: Option<DocMeta>, value: &Chain) -> String {
    match DocMeta::live(meta) {
        None => "404 not found".into(),
        Some(m) => format!(
            "200 _seq_no={} _primary_term={} _version={} {}",
            m.seq_no,
            m.primary_term,
            m.version,
            chain_text(value)
        ),
    }
}

impl Describe for SingleShard {
    fn copies(&self, state: &State) -> Vec<CopyState> {
        let docs = state
            .docs
            .iter()
            .enumerate()
            .map(|(index, doc)| DocState {
                id: doc_id(index as u8),
                meta: doc.meta.map(|m| DocMetaView {
                    seq_no: m.seq_no,
                    primary_term: m.primary_term,
                    version: m.version,
                    deleted: m.deleted,
                }),
                value: chain_text(&doc.value),
            })
            .collect();
        vec![CopyState {
            copy: "n0".into(),
            summary: String::new(),
            docs,
        }]
    }

    fn exchange(&self, before: &State, action: &Action, after: &State) -> Exchange {
        match *action {
            Action::Read { client, doc } => {
                let shard_doc = &before.docs[usize::from(doc)];
                let found = found_text(shard_doc.meta, &shard_doc.value);
                let c = &before.clients[usize::from(client)];
                let id = doc_id(doc);
                match (self.params.path, c.attempts) {
                    (Path::Rmw, _) => Exchange {
                        from: format!("client {client}"),
                        to: "n0".into(),
                        request: format!("GET /idx/_doc/{id}"),
                        response: Some(found),
                    },
                    (Path::Update, 0) => Exchange {
                        from: format!("client {client}"),
                        to: "n0".into(),
                        request: format!(
                            "POST /idx/_update/{id}?retry_on_conflict={} (append c{client}.{}, upsert)",
                            self.params.retry_on_conflict,
                            c.answers.len()
                        ),
                        response: Some(format!("get: {found}")),
                    },
                    (Path::Update, attempt) => Exchange {
                        from: "n0".into(),
                        to: "n0".into(),
                        request: format!("retry {attempt} of client {client}'s update: get /idx/_doc/{id}"),
                        response: Some(found),
                    },
                }
            }
            Action::Write { client } => self.describe_write(before, after, client),
            Action::Abandon { client } => Exchange {
                from: format!("client {client}"),
                to: format!("client {client}"),
                request: "abandons its read (fault reads_abandoned)".into(),
                response: None,
            },
            Action::Scroll => Exchange {
                from: BY_QUERY_NAME.into(),
                to: "n0".into(),
                request: format!("{} (append ubq.<hit> to each hit)", self.by_query_request()),
                response: Some(format!(
                    "refreshed view: {}",
                    after.pass.as_ref().map_or(String::new(), view_text)
                )),
            },
            Action::WriteHit => self.describe_hit(before, after),
        }
    }

    fn copy_fields(&self, state: &State) -> Vec<Item> {
        vec![Item {
            name: "n0".into(),
            fields: vec![
                Field::new("role", "primary (the only copy)"),
                Field::new("max _seq_no", state.max_seq_no),
            ],
        }]
    }

    fn clients(&self, state: &State) -> Vec<Item> {
        let ops = self.ops();
        let by_query = state.pass.as_ref().map(|pass| self.by_query_item(pass));
        state
            .clients
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let doc = c
                    .doc
                    .map_or(String::new(), |d| format!(" on doc {}", doc_id(d)));
                let phase = match &c.stage {
                    Stage::Reading => "next: read".to_string(),
                    Stage::Writing(read) => {
                        format!("read {}; next: write", found_text(read.meta, &read.value))
                    }
                    Stage::Unanswered => "waits for an answer that never comes".to_string(),
                    Stage::Done => "done".to_string(),
                };
                let answers: Vec<String> = c
                    .answers
                    .iter()
                    .map(|a| {
                        let status = if a.written { "written" } else { "409" };
                        format!("doc {}: {status}", doc_id(a.doc))
                    })
                    .collect();
                // A retry under way counts as used; a finished operation has none left to use.
                let retries = match c.stage {
                    Stage::Reading | Stage::Writing(_) => self
                        .params
                        .retry_on_conflict
                        .saturating_sub(c.attempts)
                        .to_string(),
                    Stage::Unanswered | Stage::Done => "-".to_string(),
                };
                Item {
                    name: format!("client {i}"),
                    fields: vec![
                        Field::new(
                            "operation",
                            format!("{} of {ops}{doc}", (c.answers.len() + 1).min(ops)),
                        ),
                        Field::new("phase", phase),
                        Field::new("retries left", retries),
                        Field::new("answers", format!("[{}]", answers.join(", "))),
                    ],
                }
            })
            .chain(by_query)
            .collect()
    }

    fn explain(&self, invariant: Invariant, state: &State) -> Option<String> {
        let answered = || {
            state.clients.iter().enumerate().flat_map(|(client, c)| {
                c.answers
                    .iter()
                    .enumerate()
                    .map(move |(op, answer)| (client, op, *answer))
            })
        };
        match invariant {
            Invariant::ByQueryStopsAtFirstConflict => state.pass.as_ref().and_then(|pass| {
                let hits = pass.hits.as_ref()?;
                let first = pass.written.iter().position(|w| !w)?;
                let later = pass.after_first_conflict().next()?;
                Some(format!(
                    "with conflicts={}, the by-query wrote hit {} (doc {}) after hit {} (doc {}) answered 409{}",
                    self.params.by_query.map_or("", |c| c.as_str()),
                    later + 1,
                    doc_id(hits[later].doc),
                    first + 1,
                    doc_id(hits[first].doc),
                    match self.params.by_query {
                        Some(Conflicts::Proceed) => ": the writer's document was skipped",
                        _ => "",
                    }
                ))
            }),
            Invariant::NoLostAckedWrite => answered().find_map(|(client, op, answer)| {
                let id = WriteId {
                    client: client as u8,
                    op: op as u8,
                };
                let doc = &state.docs[usize::from(answer.doc)];
                (answer.written && !doc.value.contains(&id)).then(|| {
                    format!(
                        "{id} was acknowledged, but doc {} now holds {}: a write that never saw it replaced it",
                        doc_id(answer.doc),
                        chain_text(&doc.value)
                    )
                })
            }),
            Invariant::RetrySizing => answered().find_map(|(client, _, answer)| {
                (!answer.written).then(|| {
                    format!(
                        "client {client} got a 409 with retry_on_conflict {} (the sizing bound (clients - 1) * ops_per_client is {})",
                        self.params.retry_on_conflict,
                        (usize::from(self.params.clients) - 1) * self.ops()
                    )
                })
            }),
            Invariant::RankIncreases => {
                let mut actions = Vec::new();
                self.actions(state, &mut actions);
                actions.into_iter().find_map(|action| {
                    let next = self.next_state(state, action)?;
                    (!rank_increased(state, &next)).then(|| {
                        format!(
                            "from here, {} does not increase the ranking measure, so the model has a cycle",
                            self.format_action(&action)
                        )
                    })
                })
            }
            Invariant::RetryBound => state.clients.iter().enumerate().find_map(|(client, c)| {
                (SingleShard::enabled(c) && c.attempts > self.params.retry_on_conflict).then(|| {
                    format!(
                        "client {client} has made {} write attempts and will make another, with retry_on_conflict {}",
                        c.attempts, self.params.retry_on_conflict
                    )
                })
            }),
            Invariant::UpdateTerminates => {
                let waiting: Vec<String> = (0..state.clients.len())
                    .filter(|&c| state.clients[c].stage != Stage::Done)
                    .map(|c| format!("client {c}"))
                    .collect();
                Some(format!(
                    "no step is left, and {} still waits for an answer",
                    waiting.join(", ")
                ))
            }
            _ => None,
        }
    }
}

impl SingleShard {
    /// The write as the step recorded it (the client's last attempt in `after`).
    fn describe_write(&self, before: &State, after: &State, client: u8) -> Exchange {
        let index = usize::from(client);
        let (c, c_after) = (&before.clients[index], &after.clients[index]);
        let (Stage::Writing(read), Some(attempt)) = (&c.stage, &after.last) else {
            return Exchange {
                from: format!("client {client}"),
                to: "n0".into(),
                request: "write without a read".into(),
                response: None,
            };
        };
        let id = doc_id(attempt.doc);
        let condition = self.condition(read).unwrap_or(Condition::None);
        let value = &attempt.new;
        let target = format!("/idx/_doc/{id}{}", trace::write_query(&condition));
        let next = match c_after.stage {
            _ if attempt.outcome.is_ok() => "",
            Stage::Reading if c_after.attempts > 0 => ", retry",
            Stage::Unanswered => ", never answered",
            _ => ", gives up",
        };
        let response = format!("{}{next}", outcome_text(attempt));
        match self.params.path {
            Path::Rmw => Exchange {
                from: format!("client {client}"),
                to: "n0".into(),
                request: format!("PUT {target} {}", chain_text(value)),
                response: Some(response),
            },
            Path::Update => {
                let answered = c_after.answers.len() > c.answers.len();
                Exchange {
                    from: "n0".into(),
                    to: if answered {
                        format!("client {client}")
                    } else {
                        "n0".into()
                    },
                    request: format!("index {target} {}", chain_text(value)),
                    response: Some(response),
                }
            }
        }
    }
}

/// How the trace and the explorer name the update-by-query.
const BY_QUERY_NAME: &str = "by-query";

/// How the shard answered a write attempt: the change it made, or the 409.
fn outcome_text(attempt: &Attempt) -> String {
    match attempt.outcome {
        Ok((meta, result)) => format!(
            "{} {} _seq_no={} _primary_term={} _version={}",
            result.status(),
            result.as_str(),
            meta.seq_no,
            meta.primary_term,
            meta.version
        ),
        Err(conflict) => format!(
            "409 {}: {}",
            VersionConflict::TYPE,
            conflict.reason(&doc_id(attempt.doc))
        ),
    }
}

/// The hits of the by-query's view: `doc 1 _seq_no=.. [..], doc 2 ...`.
fn view_text(pass: &Pass) -> String {
    match pass.hits.as_deref() {
        None => "not taken yet".into(),
        Some([]) => "no hits".into(),
        Some(hits) => {
            let hits: Vec<String> = hits
                .iter()
                .map(|h| {
                    format!(
                        "doc {} {}",
                        doc_id(h.doc),
                        found_text(h.read.meta, &h.read.value)
                    )
                })
                .collect();
            hits.join(", ")
        }
    }
}

/// The by-query's answer (`BulkByScrollResponse`): its status and counters.
fn answer_text(pass: &Pass) -> String {
    let status = if pass.failures > 0 {
        VersionConflict::STATUS
    } else {
        200
    };
    let p = pass.progress;
    format!(
        "{status} total={} updated={} version_conflicts={} failures={}",
        p.total, p.updated, p.version_conflicts, pass.failures
    )
}

impl SingleShard {
    /// The by-query's request line.
    fn by_query_request(&self) -> String {
        let conflicts = self.params.by_query.map_or("", |c| c.as_str());
        format!("POST /idx/_update_by_query?conflicts={conflicts}&scroll_size=1")
    }

    /// The by-query's write of its next hit, as the step recorded it.
    fn describe_hit(&self, before: &State, after: &State) -> Exchange {
        let hit = before.pass.as_ref().and_then(Pass::next_hit);
        let (Some(hit), Some(attempt), Some(pass)) = (hit, &after.last, &after.pass) else {
            return Exchange {
                from: BY_QUERY_NAME.into(),
                to: "n0".into(),
                request: "write without a hit".into(),
                response: None,
            };
        };
        let condition = Guard::SeqNoAndTerm.condition(hit.read.meta);
        let hit_number = pass.written.len();
        let next = match (attempt.outcome.is_ok(), pass.answered) {
            (true, _) => String::new(),
            (false, true) if pass.failures > 0 => ", aborts".into(),
            (false, _) if pass.failures > 0 => ", goes on (fault by_query_ignores_abort)".into(),
            (false, _) => format!(
                ", skipped (version_conflicts={})",
                pass.progress.version_conflicts
            ),
        };
        let answer = match pass.answered {
            true => format!("; answers {}", answer_text(pass)),
            false => String::new(),
        };
        Exchange {
            from: BY_QUERY_NAME.into(),
            to: "n0".into(),
            request: format!(
                "hit {hit_number}: index /idx/_doc/{}{} {}",
                doc_id(hit.doc),
                trace::write_query(&condition),
                chain_text(&attempt.new)
            ),
            response: Some(format!("{}{next}{answer}", outcome_text(attempt))),
        }
    }

    /// The explorer's view of the by-query.
    fn by_query_item(&self, pass: &Pass) -> Item {
        let hits = pass.hits.as_deref().unwrap_or_default();
        let phase = match (pass.hits.is_some(), pass.next_hit()) {
            (false, _) => "next: take the refreshed view".to_string(),
            (true, Some(hit)) => format!(
                "next: write hit {} of {} (doc {})",
                pass.written.len() + 1,
                hits.len(),
                doc_id(hit.doc)
            ),
            (true, None) => format!("answered {}", answer_text(pass)),
        };
        let written: Vec<String> = hits
            .iter()
            .zip(&pass.written)
            .map(|(h, w)| {
                format!(
                    "doc {}: {}",
                    doc_id(h.doc),
                    if *w { "written" } else { "409" }
                )
            })
            .collect();
        Item {
            name: BY_QUERY_NAME.into(),
            fields: vec![
                Field::new("request", self.by_query_request()),
                Field::new("phase", phase),
                Field::new("view", view_text(pass)),
                Field::new("hits", format!("[{}]", written.join(", "))),
            ],
        }
    }
}

impl fmt::Debug for State {
    /// The Explorer's view: the copy's documents, then each client's step and last read.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "n0 (max _seq_no {}):", self.max_seq_no)?;
        for (index, doc) in self.docs.iter().enumerate() {
            let id = doc_id(index as u8);
            match doc.meta {
                None => writeln!(f, "  doc {id}: missing")?,
                Some(_) => writeln!(f, "  doc {id}: {}", found_text(doc.meta, &doc.value))?,
            }
        }
        for (index, client) in self.clients.iter().enumerate() {
            write!(f, "client {index}: op {}", client.answers.len())?;
            if let Some(doc) = client.doc {
                write!(f, " on doc {}", doc_id(doc))?;
            }
            match &client.stage {
                Stage::Reading => write!(f, ", next: read")?,
                Stage::Writing(read) => write!(
                    f,
                    ", next: write; read {}",
                    found_text(read.meta, &read.value)
                )?,
                Stage::Unanswered => write!(f, ", waiting for an answer that never comes")?,
                Stage::Done => write!(f, ", done")?,
            }
            if client.attempts > 0 {
                write!(f, ", {} attempts", client.attempts)?;
            }
            let answers: Vec<String> = client
                .answers
                .iter()
                .map(|a| {
                    format!(
                        "doc {}: {}",
                        doc_id(a.doc),
                        if a.written { "written" } else { "409" }
                    )
                })
                .collect();
            writeln!(f, "; answers [{}]", answers.join(", "))?;
        }
        if let Some(pass) = &self.pass {
            let written: Vec<&str> = pass
                .written
                .iter()
                .map(|w| if *w { "written" } else { "409" })
                .collect();
            writeln!(
                f,
                "by-query: view {}; hits [{}]{}",
                view_text(pass),
                written.join(", "),
                if pass.answered { "; answered" } else { "" }
            )?;
        }
        Ok(())
    }
}

impl fmt::Debug for Doc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&found_text(self.meta, &self.value))
    }
}
