//! Counterexamples as data: numbered steps in the protocol's own terms (who sent which request to
//! whom, what came back) with each copy's document state where it changed.
//!
//! A model implements [`Describe`]; [`Trace::replay`] turns a path of actions into a [`Trace`],
//! which renders as text ([`fmt::Display`]) and serializes to JSON for other renderers (SVG, the
//! explorer). For the explorer's state view a model also tells its copies' copy-level state, its
//! clients and its messages in flight as labelled values ([`Item`], [`Field`]), and a path can be
//! written as the choices a person makes ([`choices`]).

use std::fmt;

use serde::Serialize;
use stateright::Model;

use super::Invariant;
use crate::protocol::{Condition, SeqNo, Term, Version, VersionType};

/// One document as a copy holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DocState {
    /// The document's `_id`.
    pub id: String,
    /// `None` while the copy has never seen the document.
    pub meta: Option<DocMetaView>,
    /// The document's value (the write chain), as text.
    pub value: String,
}

/// `_seq_no`, `_primary_term`, `_version` of a document, and whether it is a tombstone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DocMetaView {
    pub seq_no: SeqNo,
    pub primary_term: Term,
    pub version: Version,
    pub deleted: bool,
}

/// A shard copy: its name (`n0`), a one-line summary of its copy-level state (term,
/// checkpoints, role; empty when the model has none) and its documents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CopyState {
    pub copy: String,
    pub summary: String,
    pub docs: Vec<DocState>,
}

/// A labelled value in a state view: `term` → `2`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Field {
    pub label: String,
    pub value: String,
}

impl Field {
    pub fn new(label: &str, value: impl ToString) -> Field {
        Field {
            label: label.into(),
            value: value.to_string(),
        }
    }
}

/// Something in a state told as labelled values: a copy's copy-level state (`n0`), a client
/// (`client 0`), a message in flight (`n0 → n1`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Item {
    pub name: String,
    pub fields: Vec<Field>,
}

/// What one action was, as the model describes it: an exchange between two participants
/// (clients `client 0`, copies `n0`, the `master`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exchange {
    pub from: String,
    pub to: String,
    /// The request or message, e.g. `PUT /idx/_doc/1?if_seq_no=2&if_primary_term=1 {...}`.
    pub request: String,
    /// The answer within the same step, e.g. `409 version_conflict_engine_exception ...`;
    /// `None` for a message whose answer (if any) is a later step.
    pub response: Option<String>,
}

/// The change a step made to one copy: its new summary if that changed, and the documents that
/// changed, in their new state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CopyChange {
    pub copy: String,
    pub summary: Option<String>,
    pub docs: Vec<DocState>,
}

/// One numbered step of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    /// 1-based.
    pub number: usize,
    #[serde(flatten)]
    pub exchange: Exchange,
    pub changes: Vec<CopyChange>,
}

/// A path through a model, from an initial state, in the protocol's terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Trace {
    /// The copies before the first step.
    pub initial: Vec<CopyState>,
    pub steps: Vec<Step>,
}

/// How a model tells its states and actions in the protocol's terms. Implemented by every model
/// whose counterexamples users read.
pub trait Describe: Model {
    /// Every copy in `state`, in a stable order, with all its documents in a stable order.
    fn copies(&self, state: &Self::State) -> Vec<CopyState>;

    /// The exchange `action` performs, leading from `before` to `after`.
    fn exchange(
        &self,
        before: &Self::State,
        action: &Self::Action,
        after: &Self::State,
    ) -> Exchange;

    /// Why `state`, the last state of a counterexample, violates `invariant`, in the model's
    /// terms; `None` leaves it at the invariant's statement.
    fn explain(&self, _invariant: Invariant, _state: &Self::State) -> Option<String> {
        None
    }

    /// Each copy's copy-level state as labelled values (role, term, in sync, checkpoints), named
    /// as in [`Describe::copies`]; empty when the model has none beyond the documents.
    fn copy_fields(&self, _state: &Self::State) -> Vec<Item> {
        Vec::new()
    }

    /// Every client, `client 0` first: what it does next, what it read, retries left.
    fn clients(&self, _state: &Self::State) -> Vec<Item> {
        Vec::new()
    }

    /// The messages in flight, each named by its sender and receiver (`n0 → n1`).
    fn in_flight(&self, _state: &Self::State) -> Vec<Item> {
        Vec::new()
    }
}

/// `actions` from `init` as the choices a person makes in the explorer: at each step, the index
/// of the action among those [`Model::actions`] lists in that state. `None` when an action is not
/// enabled where the path takes it.
pub fn choices<M: Model>(model: &M, init: &M::State, actions: &[M::Action]) -> Option<Vec<usize>>
where
    M::State: Clone,
    M::Action: Clone + PartialEq,
{
    let mut state = init.clone();
    let mut enabled = Vec::new();
    actions
        .iter()
        .map(|action| {
            enabled.clear();
            model.actions(&state, &mut enabled);
            let index = enabled.iter().position(|a| a == action)?;
            state = model.next_state(&state, action.clone())?;
            Some(index)
        })
        .collect()
}

impl Trace {
    /// The trace of a path a stateright checker or the Explorer produced.
    pub fn from_path<M: Describe>(model: &M, path: stateright::Path<M::State, M::Action>) -> Trace
    where
        M::State: Clone,
        M::Action: Clone,
    {
        let mut steps = path.into_vec().into_iter();
        let Some((init, first)) = steps.next() else {
            return Trace {
                initial: Vec::new(),
                steps: Vec::new(),
            };
        };
        let actions: Vec<M::Action> = first
            .into_iter()
            .chain(steps.filter_map(|(_, a)| a))
            .collect();
        Trace::replay(model, init, &actions)
    }

    /// Replay `actions` from `init` and describe every step. Actions the model ignores (its
    /// `next_state` returns `None`) end the trace there; paths produced by a checker never
    /// contain one.
    pub fn replay<M: Describe>(model: &M, init: M::State, actions: &[M::Action]) -> Trace
    where
        M::Action: Clone,
    {
        let initial = model.copies(&init);
        let mut copies = initial.clone();
        let mut state = init;
        let mut steps = Vec::with_capacity(actions.len());
        for action in actions {
            let Some(next) = model.next_state(&state, action.clone()) else {
                break;
            };
            let exchange = model.exchange(&state, action, &next);
            let next_copies = model.copies(&next);
            steps.push(Step {
                number: steps.len() + 1,
                exchange,
                changes: diff(&copies, &next_copies),
            });
            copies = next_copies;
            state = next;
        }
        Trace { initial, steps }
    }
}

/// The query string of an index request carrying `condition`, as a client would send it.
/// The `_seq_no`-only guard has no REST form (Elasticsearch requires both parameters); it is
/// shown as `?if_seq_no=N` alone.
pub fn write_query(condition: &Condition) -> String {
    match *condition {
        Condition::None => String::new(),
        Condition::Create => "?op_type=create".into(),
        Condition::IfSeqNo(change) => format!(
            "?if_seq_no={}&if_primary_term={}",
            change.seq_no, change.primary_term
        ),
        Condition::IfSeqNoOnly(seq_no) => format!("?if_seq_no={seq_no}"),
        Condition::Version {
            version,
            version_type: VersionType::Internal,
        } => format!("?version={version}"),
        Condition::Version {
            version,
            version_type: VersionType::External,
        } => format!("?version={version}&version_type=external"),
        Condition::Version {
            version,
            version_type: VersionType::ExternalGte,
        } => format!("?version={version}&version_type=external_gte"),
    }
}

/// The copies and documents that differ between `before` and `after`.
fn diff(before: &[CopyState], after: &[CopyState]) -> Vec<CopyChange> {
    after
        .iter()
        .filter_map(|copy| {
            let old = before.iter().find(|c| c.copy == copy.copy);
            let summary =
                (old.map(|o| &o.summary) != Some(&copy.summary)).then(|| copy.summary.clone());
            let docs: Vec<DocState> = copy
                .docs
                .iter()
                .filter(|doc| old.is_none_or(|o| !o.docs.contains(doc)))
                .cloned()
                .collect();
            (summary.is_some() || !docs.is_empty()).then(|| CopyChange {
                copy: copy.copy.clone(),
                summary,
                docs,
            })
        })
        .collect()
}

impl fmt::Display for DocState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.meta {
            None => write!(f, "doc {}: missing", self.id),
            Some(m) => write!(
                f,
                "doc {}: _seq_no={} _primary_term={} _version={}{} {}",
                self.id,
                m.seq_no,
                m.primary_term,
                m.version,
                if m.deleted { " (deleted)" } else { "" },
                self.value
            ),
        }
    }
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} → {}: {}", self.from, self.to, self.request)?;
        match &self.response {
            Some(response) => write!(f, " → {response}"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for copy in &self.initial {
            let mut parts: Vec<String> = copy.docs.iter().map(ToString::to_string).collect();
            if !copy.summary.is_empty() {
                parts.insert(0, copy.summary.clone());
            }
            writeln!(f, "   {}: {}", copy.copy, parts.join("; "))?;
        }
        for step in &self.steps {
            writeln!(f, "{:>2}. {}", step.number, step.exchange)?;
            for change in &step.changes {
                if let Some(summary) = &change.summary {
                    writeln!(f, "      {}: {summary}", change.copy)?;
                }
                for doc in &change.docs {
                    writeln!(f, "      {}: {doc}", change.copy)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, seq_no: SeqNo, value: &str) -> DocState {
        DocState {
            id: id.into(),
            meta: Some(DocMetaView {
                seq_no,
                primary_term: 1,
                version: seq_no + 1,
                deleted: false,
            }),
            value: value.into(),
        }
    }

    fn copy(docs: Vec<DocState>) -> CopyState {
        CopyState {
            copy: "n0".into(),
            summary: String::new(),
            docs,
        }
    }

    #[test]
    fn diff_lists_only_changed_documents() {
        let before = vec![copy(vec![doc("1", 0, "a"), doc("2", 1, "b")])];
        let after = vec![copy(vec![doc("1", 0, "a"), doc("2", 2, "bc")])];
        let changes = diff(&before, &after);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].summary, None);
        assert_eq!(changes[0].docs, vec![doc("2", 2, "bc")]);
        assert!(diff(&after, &after).is_empty());
    }

    #[test]
    fn steps_render_numbered_with_changes() {
        let trace = Trace {
            initial: vec![copy(vec![])],
            steps: vec![Step {
                number: 3,
                exchange: Exchange {
                    from: "client 1".into(),
                    to: "n0".into(),
                    request: "PUT /idx/_doc/1?if_seq_no=2&if_primary_term=1".into(),
                    response: Some("409".into()),
                },
                changes: vec![CopyChange {
                    copy: "n0".into(),
                    summary: None,
                    docs: vec![doc("1", 3, "[c0.0]")],
                }],
            }],
        };
        let text = trace.to_string();
        assert!(text
            .contains(" 3. client 1 → n0: PUT /idx/_doc/1?if_seq_no=2&if_primary_term=1 → 409\n"));
        assert!(text.contains("      n0: doc 1: _seq_no=3 _primary_term=1 _version=4 [c0.0]\n"));
    }
}
