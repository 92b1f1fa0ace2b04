//! The replication model in the protocol's own terms ([`Describe`]): each copy's role, term,
//! checkpoints and document, and each step as an exchange — REST requests from clients,
//! replication messages between copies, the master's decisions — with its outcome.

use std::fmt::Write as _;

use crate::model::trace::{
    write_query, CopyState, Describe, DocMetaView, DocState, Exchange, Field, Item,
};
use crate::model::Invariant;
use crate::protocol::{Condition, Guard, PrimaryDemoted, SeqNo, VersionConflict};
use crate::rest::status::ExceptionStatus;

use super::properties::first_stale_read;
use super::state::{
    bit, copies_in, Chain, Doc, DocId, Entry, Event, Msg, Op, Phase, Role, State, WriterId,
};
use super::{seed, Action, Api, ReplicationModel};

/// The shard as Elasticsearch names it in term-fencing errors.
const SHARD: &str = "[idx][0]";

impl Describe for ReplicationModel {
    fn copies(&self, state: &State) -> Vec<CopyState> {
        state
            .copies
            .iter()
            .enumerate()
            .map(|(i, copy)| {
                let role = match copy.role {
                    Role::Primary(_) => "believes it is primary",
                    Role::Replica => "replica",
                    Role::Demoted => "demoted (failed itself)",
                };
                let sync = if state.master.in_sync & bit(i as u8) != 0 {
                    "in sync"
                } else {
                    "not in sync"
                };
                let pending = copy.log.iter().flatten().filter(|e| e.pending).count();
                let mut summary = format!(
                    "{role}, term {}, {sync}, max _seq_no {}, local checkpoint {}, global checkpoint {}",
                    copy.term,
                    copy.max_seq_no(),
                    copy.local_checkpoint,
                    copy.global_checkpoint
                );
                if pending > 0 {
                    let _ = write!(summary, ", {pending} rolled-back op(s) awaiting resync");
                }
                CopyState {
                    copy: format!("n{i}"),
                    summary,
                    docs: (0..self.config.docs)
                        .map(|doc| DocState {
                            id: doc_id(doc),
                            meta: copy.doc(doc).map(|d| DocMetaView {
                                seq_no: d.meta.seq_no,
                                primary_term: d.meta.primary_term,
                                version: d.meta.version,
                                deleted: d.meta.deleted,
                            }),
                            value: self.value(copy.doc(doc).map_or(Chain::EMPTY, |d| d.value)),
                        })
                        .collect(),
                }
            })
            .collect()
    }

    fn exchange(&self, before: &State, action: &Action, after: &State) -> Exchange {
        let answers = self.answers(before, after);
        let with_answers = |response: String| Some(format!("{response}{answers}"));
        match action {
            Action::Get { client, copy } => {
                let doc = self.doc_of(*client, before.clients[usize::from(*client)].op);
                Exchange {
                    from: format!("client {client}"),
                    to: format!("n{copy}"),
                    request: format!("GET /idx/_doc/{}", doc_id(doc)),
                    response: Some(self.found(before.copies[usize::from(*copy)].doc(doc))),
                }
            }
            Action::Write { client, copy } => {
                let c = before.clients[usize::from(*client)];
                let id = doc_id(self.doc_of(*client, c.op));
                // What the step recorded: the request it sent, and a conflict if it met one.
                let recorded =
                    after.history[before.history.len()..]
                        .iter()
                        .find_map(|e| match *e {
                            Event::Invoke { new, condition, .. } => Some((new, condition, None)),
                            Event::Conflict {
                                new,
                                condition,
                                conflict,
                                ..
                            } => Some((new, condition, Some(conflict))),
                            Event::Rejected { op, conflict } => {
                                let (new, condition) = invoked(before, op)?;
                                Some((new, condition, Some(conflict)))
                            }
                            _ => None,
                        });
                let rerouted = matches!(c.phase, Phase::Rerouted(_));
                let (new, condition, conflict) = recorded.unwrap_or_else(|| match rerouted {
                    true => {
                        // What the re-executed request wrote: the primary's new document.
                        let op = self.thread(*client, c.op);
                        let condition = invoked(before, op).map_or(Condition::None, |(_, c)| c);
                        let written =
                            after.copies[usize::from(*copy)].doc(self.doc_of(*client, c.op));
                        (written.map_or(Chain::EMPTY, |d| d.value), condition, None)
                    }
                    false => (Chain::EMPTY, Condition::None, None),
                });
                let fenced = matches!(
                    after.clients[usize::from(*client)].phase,
                    Phase::Rerouted(_)
                ) && !after.copies[usize::from(*copy)].is_primary();
                let response = match conflict {
                    _ if fenced => format!(
                        "409 on its stale copy, but its replication round is fenced by a copy of a newer term: the master answers n{copy} is no longer primary; it fails itself"
                    ),
                    Some(conflict) => {
                        format!("409 {}: {}", VersionConflict::TYPE, conflict.reason(&id))
                    }
                    None => {
                        let meta = after.changes[usize::from(self.writer(*client, c.op) - 1)];
                        let targets = after.network.len() - before.network.len();
                        format!(
                            "executed as _seq_no={} _primary_term={} _version={}, replicated to {targets} cop{}",
                            meta.map_or(-1, |m| m.seq_no),
                            meta.map_or(0, |m| m.primary_term),
                            meta.map_or(0, |m| m.version),
                            if targets == 1 { "y" } else { "ies" }
                        )
                    }
                };
                let request = if self.config.api == Api::Update && c.phase == Phase::Idle {
                    let retry = match self.config.retry_on_conflict {
                        0 => String::new(),
                        n => format!("?retry_on_conflict={n}"),
                    };
                    format!(
                        "POST /idx/_update/{id}{retry} {{\"script\": \"append {}\"}} (the primary reads its copy and indexes {}{})",
                        self.writer_text(self.writer(*client, c.op)),
                        self.value(new),
                        write_query(&condition)
                    )
                } else if self.deletes(*client)
                    && !rerouted
                    && Doc::found(self.request_read(before, *client)).is_none()
                {
                    "sends nothing: it read 404, there is nothing to delete".to_string()
                } else {
                    let rerouted = if rerouted {
                        "(re-routed by the coordinating node) "
                    } else {
                        ""
                    };
                    let query = write_query(&condition);
                    if self.deletes(*client) {
                        format!(
                            "{rerouted}DELETE /idx/_doc/{id}{query} (witness {})",
                            self.value(new)
                        )
                    } else {
                        format!(
                            "{rerouted}PUT /idx/_doc/{id}{query} {{\"value\": \"{}\"}}",
                            self.value(new)
                        )
                    }
                };
                Exchange {
                    from: format!("client {client}"),
                    to: format!("n{copy}"),
                    request,
                    response: with_answers(response),
                }
            }
            Action::Deliver(msg) | Action::Duplicate(msg) => {
                let (from, to) = ends(msg);
                let mut request = self.message(msg);
                if matches!(action, Action::Duplicate(_)) {
                    request.push_str(" (the network keeps a duplicate)");
                }
                Exchange {
                    from,
                    to,
                    request,
                    response: with_answers(self.delivery(before, msg, after)),
                }
            }
            Action::Drop(msg) => {
                let (from, to) = ends(msg);
                Exchange {
                    from,
                    to,
                    request: format!("{} — lost by the network", self.message(msg)),
                    response: None,
                }
            }
            Action::FailPrimary { promote } => {
                let copy = &after.copies[usize::from(*promote)];
                Exchange {
                    from: "master".into(),
                    to: format!("n{promote}"),
                    request: format!(
                        "fail primary n{}, promote n{promote}",
                        before.master.primary
                    ),
                    response: with_answers(format!(
                        "primary term {}, no-ops fill gaps up to _seq_no {}, resync to {}",
                        after.master.term,
                        copy.max_seq_no(),
                        copy_list(after.master.in_sync & !bit(*promote))
                    )),
                }
            }
            Action::PruneTombstone { copy, doc } => {
                let tombstone = before.copies[usize::from(*copy)].doc(*doc);
                Exchange {
                    from: format!("n{copy}"),
                    to: format!("n{copy}"),
                    request: format!(
                        "prune the tombstone of {}_seq_no={} (local checkpoint {})",
                        self.id_field(*doc),
                        tombstone.map_or(-1, |d| d.meta.seq_no),
                        before.copies[usize::from(*copy)].local_checkpoint
                    ),
                    response: None,
                }
            }
            Action::Recover { copy } => Exchange {
                from: format!("n{copy}"),
                to: format!("n{}", before.master.primary),
                request: format!(
                    "start peer recovery from local checkpoint {} (reset to global checkpoint {})",
                    after.copies[usize::from(*copy)].local_checkpoint,
                    before.copies[usize::from(*copy)].global_checkpoint
                ),
                response: with_answers(if after.master.in_sync & bit(*copy) != 0 {
                    format!(
                        "the master marks n{copy} in sync at once (before it caught up); in-sync copies: {}",
                        copy_list(after.master.in_sync)
                    )
                } else {
                    format!(
                        "n{} tracks n{copy}: new writes go to it",
                        before.master.primary
                    )
                }),
            },
            Action::FailReplica { copy } => Exchange {
                from: "master".into(),
                to: format!("n{}", before.master.primary),
                request: format!("remove n{copy} from the in-sync copies (it missed a write)"),
                response: with_answers(format!(
                    "in-sync copies: {}",
                    copy_list(after.master.in_sync)
                )),
            },
        }
    }

    fn copy_fields(&self, state: &State) -> Vec<Item> {
        let primary = |i: usize| state.master.primary as usize == i;
        state
            .copies
            .iter()
            .enumerate()
            .map(|(i, copy)| {
                let role = match copy.role {
                    Role::Primary(_) if primary(i) => "primary",
                    Role::Primary(_) => "believes it is primary (the master promoted another)",
                    Role::Replica => "replica",
                    Role::Demoted => "demoted (failed itself)",
                };
                let in_sync = state.master.in_sync & bit(i as u8) != 0;
                let pending = copy.log.iter().flatten().filter(|e| e.pending).count();
                Item {
                    name: format!("n{i}"),
                    fields: vec![
                        Field::new("role", role),
                        Field::new("term", copy.term),
                        Field::new("in sync", if in_sync { "yes" } else { "no" }),
                        Field::new("max _seq_no", copy.max_seq_no()),
                        Field::new("local checkpoint", copy.local_checkpoint),
                        Field::new("global checkpoint", copy.global_checkpoint),
                        Field::new("awaiting resync", format!("{pending} op(s)")),
                        Field::new(
                            "recovering copies it tracks",
                            match &copy.role {
                                Role::Primary(t) => copy_list(t.recovering),
                                _ => "none".into(),
                            },
                        ),
                    ],
                }
            })
            .collect()
    }

    fn clients(&self, state: &State) -> Vec<Item> {
        state
            .clients
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let client = i as u8;
                let phase = match c.phase {
                    Phase::Idle if self.config.api == Api::Update => {
                        "next: POST _update".to_string()
                    }
                    Phase::Idle => "next: GET".to_string(),
                    Phase::Read(doc) if self.deletes(client) => {
                        format!("read {}; next: DELETE", self.found(doc))
                    }
                    Phase::Read(doc) => format!("read {}; next: PUT", self.found(doc)),
                    Phase::Waiting(_) => "its write waits for the acknowledgement".to_string(),
                    Phase::Rerouted(_) => format!(
                        "its primary failed: the coordinating node re-routes the write to n{}",
                        state.master.primary
                    ),
                    Phase::Done => "done".to_string(),
                };
                let ops = self.config.ops_per_client;
                let mut fields = vec![
                    Field::new("operation", format!("{} of {ops}", (c.op + 1).min(ops))),
                    Field::new("phase", phase),
                ];
                if self.config.api == Api::Update {
                    fields.push(Field::new("retries left", self.retries_left(state, client)));
                }
                Item {
                    name: format!("client {i}"),
                    fields,
                }
            })
            .collect()
    }

    fn in_flight(&self, state: &State) -> Vec<Item> {
        state
            .network
            .iter()
            .map(|msg| {
                let (from, to) = ends(msg);
                Item {
                    name: format!("{from} → {to}"),
                    fields: vec![Field::new("message", self.message(msg))],
                }
            })
            .collect()
    }

    fn explain(&self, invariant: Invariant, s: &State) -> Option<String> {
        let acked = || (1..=s.changes.len() as WriterId).filter(|w| s.acked & (1 << w) != 0);
        let in_sync = || copies_in(s.master.in_sync).map(|c| (c, &s.copies[usize::from(c)]));
        match invariant {
            Invariant::NoLostAckedWrite => {
                let primary = s.master.primary;
                let value = |w| {
                    let doc = s.copies[usize::from(primary)].doc(self.doc_of_writer(w));
                    doc.map_or(Chain::EMPTY, |d| d.value)
                };
                acked().find(|w| !value(*w).contains(*w)).map(|w| {
                    format!(
                        "{} was acknowledged, but the primary n{primary} now holds {}{}: the write is lost",
                        self.writer_text(w),
                        self.id_field(self.doc_of_writer(w)),
                        self.value(value(w))
                    )
                })
            }
            Invariant::AckedOnInSync => acked().find_map(|w| {
                let change = s.changes[usize::from(w) - 1]?;
                in_sync()
                    .find(|(_, c)| {
                        !c.entry(change.seq_no).is_some_and(|e| {
                            e.term == change.primary_term
                                && matches!(e.op, Op::Write { value, .. } if value.last() == Some(w))
                        })
                    })
                    .map(|(c, _)| {
                        format!(
                            "{} was acknowledged as _seq_no={} _primary_term={}, but the in-sync copy n{c} does not hold it",
                            self.writer_text(w),
                            change.seq_no,
                            change.primary_term
                        )
                    })
            }),
            Invariant::ChangeIdUnique => (0..self.config.docs).find_map(|doc| {
                let changes: Vec<_> = (1..=s.changes.len() as WriterId)
                    .filter(|w| self.doc_of_writer(*w) == doc)
                    .filter_map(|w| s.changes[usize::from(w) - 1].map(|m| (self.writer_text(w), m)))
                    .filter(|(_, m)| !m.deleted)
                    .chain([("the seed document".to_string(), seed(doc).meta)])
                    .collect();
                let guard = self.config.guard;
                changes.iter().enumerate().find_map(|(i, (a, ma))| {
                    changes[i + 1..]
                        .iter()
                        .find(|(_, mb)| guard.condition(Some(*ma)) == guard.condition(Some(*mb)))
                        .map(|(b, mb)| {
                            format!(
                                "{a} (_seq_no={} _primary_term={} _version={}) and {b} (_seq_no={} _primary_term={} _version={}) are different changes that a {guard:?} guard cannot tell apart: {}",
                                ma.seq_no, ma.primary_term, ma.version, mb.seq_no, mb.primary_term, mb.version,
                                write_query(&guard.condition(Some(*ma)))
                            )
                        })
                })
            }),
            Invariant::CheckpointSafety => in_sync().find_map(|(c, copy)| {
                in_sync()
                    .find(|(_, d)| copy.global_checkpoint > d.local_checkpoint)
                    .map(|(d, other)| {
                        format!(
                            "n{c}'s global checkpoint {} is above the in-sync copy n{d}'s local checkpoint {}",
                            copy.global_checkpoint, other.local_checkpoint
                        )
                    })
            }),
            Invariant::ConvergeAtQuiescence => {
                let docs: Vec<String> = in_sync()
                    .map(|(c, copy)| {
                        let docs: Vec<String> = (0..self.config.docs)
                            .map(|d| format!("{}{}", self.id_field(d), self.found(copy.doc(d))))
                            .collect();
                        format!("n{c} holds {}", docs.join(", "))
                    })
                    .collect();
                Some(format!(
                    "no message is in flight, yet the in-sync copies differ: {}",
                    docs.join("; ")
                ))
            }
            Invariant::NoStaleAckedRead => first_stale_read(self, s).map(|(w, op, read)| {
                format!(
                    "{} was acknowledged, then {}'s GET returned {}, which lacks it: a stale read",
                    self.writer_text(w),
                    self.writer_text(op + 1),
                    self.value(read)
                )
            }),
            Invariant::AppliedAtMostOnce => s.copies.iter().enumerate().find_map(|(c, copy)| {
                let doc = copy.docs.iter().flatten().find(|d| d.value.repeats_a_writer())?;
                Some(format!(
                    "n{c}'s document {} holds a write twice: a re-routed request took effect again on top of its own first execution",
                    self.value(doc.value)
                ))
            }),
            Invariant::ReadsLinearizable | Invariant::CasLinearizable => Some(format!(
                "no order of these operations is valid for one compare-and-set register: {}",
                self.history(s, invariant == Invariant::ReadsLinearizable)
            )),
            _ => None,
        }
    }
}

/// The value and condition of the request `op` sent, as its invocation recorded them (a re-routed
/// write re-sends that request).
fn invoked(state: &State, op: u8) -> Option<(Chain, Condition)> {
    state.history.iter().find_map(|e| match *e {
        Event::Invoke {
            op: o,
            new,
            condition,
            ..
        } if o == op => Some((new, condition)),
        _ => None,
    })
}

/// Sender and receiver of a message.
fn ends(msg: &Msg) -> (String, String) {
    let (from, to) = match *msg {
        Msg::Replicate { from, to, .. }
        | Msg::Resync { from, to, .. }
        | Msg::Applied { from, to, .. }
        | Msg::Recover { from, to, .. }
        | Msg::Recovered { from, to, .. }
        | Msg::Failed { from, to, .. } => (from, to),
    };
    (format!("n{from}"), format!("n{to}"))
}

impl ReplicationModel {
    fn message(&self, msg: &Msg) -> String {
        match msg {
            Msg::Replicate {
                term,
                global_checkpoint,
                seq_no,
                entry,
                ..
            } => format!(
                "replicate _seq_no={seq_no} _primary_term={} {} (request term {term}, global checkpoint {global_checkpoint})",
                entry.term,
                self.op(entry.op)
            ),
            Msg::Resync {
                term,
                global_checkpoint,
                ops,
                trim_above,
                ..
            } => format!(
                "resync [{}], trim above _seq_no {trim_above} (request term {term}, global checkpoint {global_checkpoint})",
                self.ops(ops)
            ),
            Msg::Applied {
                seq_no,
                local_checkpoint,
                ..
            } => match seq_no {
                Some(s) => format!("applied _seq_no={s}, local checkpoint {local_checkpoint}"),
                None => format!("resynced, local checkpoint {local_checkpoint}"),
            },
            Msg::Recover {
                term,
                global_checkpoint,
                ops,
                ..
            } => format!(
                "recovery operations [{}] (request term {term}, global checkpoint {global_checkpoint})",
                self.ops(ops)
            ),
            Msg::Recovered {
                local_checkpoint, ..
            } => format!("recovery done, local checkpoint {local_checkpoint}: mark me in sync"),
            Msg::Failed { term, .. } => format!("request of term {term} failed"),
        }
    }

    /// An update's `retry_on_conflict` retries not yet used. The model retries only inside the
    /// step that meets a re-routed update's conflict, preparing the update again from the
    /// primary's document: a write waiting on another base than the one it was invoked with
    /// has used one. A finished operation has none left to use (`-`).
    fn retries_left(&self, state: &State, client: u8) -> String {
        let c = state.clients[usize::from(client)];
        let retries = self.config.retry_on_conflict;
        match c.phase {
            Phase::Done => "-".to_string(),
            Phase::Waiting(read) => {
                let base = Guard::SeqNoAndTerm.condition(read.map(|d| d.meta));
                let used = invoked(state, self.thread(client, c.op))
                    .is_some_and(|(_, invoked)| invoked != base);
                retries.saturating_sub(u8::from(used)).to_string()
            }
            Phase::Idle | Phase::Read(_) | Phase::Rerouted(_) => retries.to_string(),
        }
    }

    /// The read a client's current write is based on.
    fn request_read(&self, state: &State, client: u8) -> Option<Doc> {
        match state.clients[usize::from(client)].phase {
            Phase::Read(read) | Phase::Waiting(read) | Phase::Rerouted(read) => read,
            Phase::Idle | Phase::Done => None,
        }
    }

    /// What the receiver did with a delivered message.
    fn delivery(&self, before: &State, msg: &Msg, after: &State) -> String {
        match *msg {
            Msg::Replicate { to, term, .. }
            | Msg::Resync { to, term, .. }
            | Msg::Recover { to, term, .. } => {
                // What the step recorded: the copy's rejection, its new term, the receipt.
                let rejection = after.network.iter().find_map(|m| match m {
                    Msg::Failed {
                        from,
                        rejected: Some(too_old),
                        ..
                    } if *from == to && !before.network.contains(m) => Some(*too_old),
                    _ => None,
                });
                let (was, now) = (
                    &before.copies[usize::from(to)],
                    &after.copies[usize::from(to)],
                );
                // A receipt this delivery wrote whose request term was older than the copy's.
                let stale = now.log.iter().enumerate().any(|(slot, e)| {
                    let receipt = e.and_then(|e| e.receipt);
                    receipt != was.log.get(slot).copied().flatten().and_then(|e| e.receipt)
                        && receipt.is_some_and(|r| r.request_term < r.own_term)
                });
                match rejection {
                    Some(too_old) => format!("rejected: {}", too_old.reason(SHARD)),
                    None if now.term > was.term => format!(
                        "adopts term {term}, rolls back to global checkpoint {}, applied",
                        now.global_checkpoint
                    ),
                    None if stale => "applied from an older term (no term fencing)".into(),
                    None => "applied".into(),
                }
            }
            Msg::Recovered { from, to, .. } => {
                if after.master.in_sync & bit(from) != 0 && before.master.in_sync & bit(from) == 0 {
                    format!(
                        "the master marks n{from} in sync; in-sync copies: {}",
                        copy_list(after.master.in_sync)
                    )
                } else if before.copies[usize::from(to)].is_primary() {
                    "waits until its local checkpoint reaches the global checkpoint".into()
                } else {
                    "ignored (no longer primary: the recovery fails)".into()
                }
            }
            Msg::Applied { to, .. } => {
                if before.copies[usize::from(to)].is_primary() {
                    format!(
                        "global checkpoint {}",
                        after.copies[usize::from(to)].global_checkpoint
                    )
                } else {
                    "ignored (no longer primary)".into()
                }
            }
            Msg::Failed { from, to, .. } => {
                let was_primary = before.copies[usize::from(to)].is_primary();
                if !was_primary {
                    "ignored".into()
                } else if !after.copies[usize::from(to)].is_primary() {
                    format!("the master answers: n{to} is no longer primary; it fails itself")
                } else {
                    format!("the master removes n{from} from the in-sync copies")
                }
            }
        }
    }

    /// Writes that got their final answer in this step: acknowledged, or failed indefinitely.
    fn answers(&self, before: &State, after: &State) -> String {
        let mut out = String::new();
        let new_events = &after.history[before.history.len()..];
        for (client, (was, is)) in before.clients.iter().zip(&after.clients).enumerate() {
            let op = self.thread(client as u8, was.op);
            let waiting = matches!(was.phase, Phase::Waiting(_));
            if new_events.contains(&Event::Acked { op }) {
                let _ = write!(out, "; client {client}'s write is acknowledged → 200");
            } else if waiting && matches!(is.phase, Phase::Rerouted(_)) {
                let _ = write!(
                    out,
                    "; client {client}'s write fails on its primary with RetryOnPrimaryException: the coordinating node re-routes it to n{}",
                    after.master.primary
                );
            } else if waiting && is.op > was.op {
                let _ = write!(
                    out,
                    "; client {client}'s write fails with {} {} {} (indefinite: never acknowledged, not a 409)",
                    PrimaryDemoted::STATUS,
                    PrimaryDemoted::TYPE,
                    PrimaryDemoted.reason(SHARD)
                );
            }
        }
        out
    }

    /// The client and operation of a writer, `c1.0`.
    fn writer_text(&self, writer: WriterId) -> String {
        let (client, op) = self.writer_of(writer);
        format!("c{client}.{op}")
    }

    /// `_id=2 ` before an operation's other fields when the shard has more than one document
    /// (with one, every operation is on `_id` 1 and the traces leave it out).
    fn id_field(&self, doc: DocId) -> String {
        if self.config.docs > 1 {
            format!("_id={} ", doc_id(doc))
        } else {
            String::new()
        }
    }

    /// The history as a linearizability checker sees it, in real-time order.
    fn history(&self, s: &State, with_reads: bool) -> String {
        let text = |v: Option<Chain>| v.map_or("missing".to_string(), |v| self.value(v));
        let id = |op: u8| self.id_field(self.doc_of_writer(op + 1));
        let events: Vec<String> = s
            .history
            .iter()
            .filter_map(|e| match *e {
                Event::Read { op, value } => with_reads.then(|| {
                    format!(
                        "{} read {}{}",
                        self.writer_text(op + 1),
                        id(op),
                        text(value)
                    )
                }),
                Event::Invoke {
                    op,
                    expected,
                    delete: true,
                    ..
                } => Some(match expected {
                    None => format!("{} deletes {}", self.writer_text(op + 1), id(op))
                        .trim_end()
                        .to_string(),
                    Some(e) => format!(
                        "{} deletes {}if {}",
                        self.writer_text(op + 1),
                        id(op),
                        text(e)
                    ),
                }),
                Event::Invoke {
                    op, expected, new, ..
                } => Some(match expected {
                    None => format!(
                        "{} writes {}{}",
                        self.writer_text(op + 1),
                        id(op),
                        self.value(new)
                    ),
                    Some(e) => format!(
                        "{} writes {}{} if {}",
                        self.writer_text(op + 1),
                        id(op),
                        self.value(new),
                        text(e)
                    ),
                }),
                Event::Acked { op } => Some(format!("{} acknowledged", self.writer_text(op + 1))),
                Event::Rejected { op, .. } => {
                    Some(format!("{} 409 after re-route", self.writer_text(op + 1)))
                }
                Event::Conflict { op, expected, .. } => with_reads.then(|| {
                    format!(
                        "{} 409 (expected {})",
                        self.writer_text(op + 1),
                        text(expected)
                    )
                }),
            })
            .collect();
        events.join(", ")
    }

    /// A GET's answer.
    fn found(&self, doc: Option<Doc>) -> String {
        match doc {
            None => "404 not found".into(),
            Some(d) if d.meta.deleted => format!(
                "404 not found (tombstone _seq_no={} _primary_term={} _version={}{})",
                d.meta.seq_no,
                d.meta.primary_term,
                d.meta.version,
                if d.pruned { ", pruned" } else { "" }
            ),
            Some(d) => format!(
                "200 _seq_no={} _primary_term={} _version={} {}",
                d.meta.seq_no,
                d.meta.primary_term,
                d.meta.version,
                self.value(d.value)
            ),
        }
    }

    /// The operations a resync or a recovery carries.
    fn ops(&self, ops: &[(SeqNo, Entry)]) -> String {
        let ops: Vec<String> = ops
            .iter()
            .map(|(s, e)| format!("{s}: {} of term {}", self.op(e.op), e.term))
            .collect();
        ops.join("; ")
    }

    fn op(&self, op: Op) -> String {
        match op {
            Op::Write {
                doc,
                version,
                value,
                deleted: false,
            } => format!(
                "index {}_version={version} {}",
                self.id_field(doc),
                self.value(value)
            ),
            Op::Write {
                doc,
                version,
                value,
                deleted: true,
            } => format!(
                "delete {}_version={version} (witness {})",
                self.id_field(doc),
                self.value(value)
            ),
            Op::Noop => "no-op".into(),
        }
    }

    /// A value chain in clients' names, `[c0.0 c1.0]` (client and its operation).
    fn value(&self, chain: Chain) -> String {
        let writers: Vec<String> = chain.writers().map(|w| self.writer_text(w)).collect();
        format!("[{}]", writers.join(" "))
    }
}

/// A document's `_id`: document 0 is `1`.
fn doc_id(doc: DocId) -> String {
    (doc + 1).to_string()
}

fn copy_list(set: u8) -> String {
    let names: Vec<String> = copies_in(set).map(|c| format!("n{c}")).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
