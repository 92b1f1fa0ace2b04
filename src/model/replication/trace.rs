//! Readable steps: each action in the protocol's own terms (REST requests, replication messages,
//! the master's decisions), followed by its outcome and every copy's document where it changed.

use std::fmt::Write as _;

use crate::protocol::{check_operation_term, Condition, TermCheck, VersionType};

use super::state::{copies_in, Chain, Doc, Event, Msg, Phase, Role, State};
use super::{Action, ReplicationModel};

const SHARD: &str = "[idx][0]";

impl ReplicationModel {
    /// One step as a line of text, then indented lines for what changed.
    pub fn describe(&self, last: &State, action: &Action) -> String {
        let mut next = last.clone();
        let mut out = self.request(last, action);
        if self.step(&mut next, action.clone()).is_none() {
            out.push_str(" (not enabled)");
            return out;
        }
        out.push_str(&self.outcome(last, &next, action));
        let next = &next;
        for (i, (before, after)) in last.copies.iter().zip(&next.copies).enumerate() {
            if before.doc != after.doc {
                let _ = write!(out, "\n     n{i} document: {}", self.doc(after.doc));
            }
            if before.role != after.role && matches!(after.role, Role::Demoted) {
                let _ = write!(
                    out,
                    "\n     n{i} learns it is no longer primary and fails itself"
                );
            }
        }
        if next.master.in_sync != last.master.in_sync {
            let _ = write!(
                out,
                "\n     in-sync copies: {}",
                copy_list(next.master.in_sync)
            );
        }
        out.push_str(&self.answers(last, next));
        out
    }

    fn request(&self, s: &State, action: &Action) -> String {
        match action {
            Action::Get { client, copy } => format!("client {client} → n{copy}: GET /idx/_doc/1"),
            Action::Write { client, copy } => {
                let c = s.clients[usize::from(*client)];
                let read = match c.phase {
                    Phase::Read(read) => read,
                    _ => None,
                };
                let condition = self.config.guard.condition(read.map(|d| d.meta));
                let writer = self.writer(*client, c.op);
                let new = read.map(|d| d.value).unwrap_or_default().append(writer);
                format!(
                    "client {client} → n{copy}: PUT /idx/_doc/1{} {{\"value\": \"{}\"}}",
                    query(&condition),
                    self.value(new)
                )
            }
            Action::Deliver(msg) => self.message(msg),
            Action::Duplicate(msg) => {
                format!("{} (the network keeps a duplicate)", self.message(msg))
            }
            Action::Drop(msg) => format!("the network loses {}", self.message(msg)),
            Action::FailPrimary { promote } => format!(
                "master fails primary n{}, promotes n{promote}",
                s.master.primary
            ),
            Action::FailReplica { copy } => {
                format!("master removes n{copy} from the in-sync copies (it missed a write)")
            }
        }
    }

    fn message(&self, msg: &Msg) -> String {
        match msg {
            Msg::Replicate {
                from,
                to,
                term,
                global_checkpoint,
                seq_no,
                entry,
                ..
            } => format!(
                "n{from} → n{to}: replicate _seq_no={seq_no} _primary_term={} {} (term {term}, global checkpoint {global_checkpoint})",
                entry.term,
                self.op(entry.op)
            ),
            Msg::Resync {
                from,
                to,
                term,
                global_checkpoint,
                ops,
                trim_above,
                ..
            } => {
                let ops: Vec<String> = ops
                    .iter()
                    .map(|(s, e)| format!("{s}:{}", self.op(e.op)))
                    .collect();
                format!(
                    "n{from} → n{to}: resync [{}], trim above _seq_no {trim_above} (term {term}, global checkpoint {global_checkpoint})",
                    ops.join(", ")
                )
            }
            Msg::Applied {
                from,
                to,
                seq_no,
                local_checkpoint,
                ..
            } => match seq_no {
                Some(s) => format!(
                    "n{from} → n{to}: applied _seq_no={s}, local checkpoint {local_checkpoint}"
                ),
                None => format!("n{from} → n{to}: resynced, local checkpoint {local_checkpoint}"),
            },
            Msg::Failed { from, to, term } => {
                format!("n{from} → n{to}: request of term {term} failed")
            }
        }
    }

    fn outcome(&self, last: &State, next: &State, action: &Action) -> String {
        let mut out = String::new();
        for event in &next.history[last.history.len()..] {
            let text = match *event {
                Event::Read { value, .. } => {
                    let doc = match action {
                        Action::Get { copy, .. } => last.copies[usize::from(*copy)].doc,
                        _ => None,
                    };
                    match value {
                        Some(_) => format!(" → 200 {}", self.doc(doc)),
                        None => " → 404".to_string(),
                    }
                }
                Event::Conflict { .. } => " → 409 version_conflict_engine_exception".to_string(),
                Event::Invoke { op, .. } => {
                    let change = next.changes[usize::from(op)];
                    format!(
                        " → executed as _seq_no={} _primary_term={} _version={}",
                        change.map_or(-1, |m| m.seq_no),
                        change.map_or(0, |m| m.primary_term),
                        change.map_or(0, |m| m.version)
                    )
                }
                Event::Acked { .. } => String::new(), // reported by `answers`
            };
            out.push_str(&text);
        }
        if let Action::Deliver(msg) | Action::Duplicate(msg) = action {
            if let Msg::Replicate { to, term, .. } | Msg::Resync { to, term, .. } = msg {
                let copy = &last.copies[usize::from(*to)];
                match check_operation_term(*term, copy.term) {
                    Err(e) if self.config.term_fencing => {
                        let _ = write!(out, " → rejected: {}", e.reason(SHARD));
                    }
                    Err(_) => out.push_str(" → applied from an older term (no fencing)"),
                    Ok(TermCheck::Newer) => {
                        let _ = write!(
                            out,
                            " → n{to} adopts term {term}, rolls back above global checkpoint {}",
                            next.copies[usize::from(*to)].global_checkpoint
                        );
                    }
                    Ok(_) => {}
                }
            }
        }
        if let Action::FailPrimary { promote } = action {
            let copy = &next.copies[usize::from(*promote)];
            let _ = write!(
                out,
                " → term {}, fills gaps with no-ops up to _seq_no {}, resyncs to {}",
                next.master.term,
                copy.max_seq_no(),
                copy_list(next.master.in_sync & !(1 << promote))
            );
        }
        out
    }

    /// Writes that got their final answer in this step: acknowledged, or failed indefinitely.
    fn answers(&self, last: &State, next: &State) -> String {
        let mut out = String::new();
        for (client, (before, after)) in last.clients.iter().zip(&next.clients).enumerate() {
            let op = self.thread(client as u8, before.op);
            let acked = next.history[last.history.len()..].contains(&Event::Acked { op });
            let failed = before.phase == Phase::Waiting && after.op > before.op;
            if acked {
                let _ = write!(out, "\n     client {client}'s write is acknowledged → 200");
            } else if failed {
                let _ = write!(
                    out,
                    "\n     client {client}'s write fails (indefinite: never acknowledged, not a 409)"
                );
            }
        }
        out
    }

    fn doc(&self, doc: Option<Doc>) -> String {
        match doc {
            None => "(none)".to_string(),
            Some(d) => format!(
                "_seq_no={} _primary_term={} _version={} value={}",
                d.meta.seq_no,
                d.meta.primary_term,
                d.meta.version,
                self.value(d.value)
            ),
        }
    }

    fn op(&self, op: super::state::Op) -> String {
        match op {
            super::state::Op::Write { version, value } => {
                format!("index _version={version} value={}", self.value(value))
            }
            super::state::Op::Noop => "no-op".to_string(),
        }
    }

    /// A value chain in clients' names: `[c0,c1]` (`c0.1` for a client's second write).
    fn value(&self, chain: Chain) -> String {
        let writers: Vec<String> = chain
            .writers()
            .map(|w| {
                let (client, op) = self.writer_of(w);
                if self.config.ops_per_client == 1 {
                    format!("c{client}")
                } else {
                    format!("c{client}.{op}")
                }
            })
            .collect();
        format!("[{}]", writers.join(","))
    }
}

fn copy_list(set: u8) -> String {
    let names: Vec<String> = copies_in(set).map(|c| format!("n{c}")).collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// The query string a condition travels in.
fn query(condition: &Condition) -> String {
    match *condition {
        Condition::None => String::new(),
        Condition::Create => "?op_type=create".to_string(),
        Condition::IfSeqNo(c) => {
            format!("?if_seq_no={}&if_primary_term={}", c.seq_no, c.primary_term)
        }
        Condition::IfSeqNoOnly(s) => format!("?if_seq_no={s} (without if_primary_term)"),
        Condition::Version {
            version,
            version_type,
        } => match version_type {
            VersionType::Internal => format!("?version={version}"),
            VersionType::External => format!("?version={version}&version_type=external"),
            VersionType::ExternalGte => format!("?version={version}&version_type=external_gte"),
        },
    }
}
