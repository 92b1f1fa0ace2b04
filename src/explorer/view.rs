//! One state as the page's state view shows it: per copy its copy-level fields and documents,
//! the clients and the messages in flight, each value marked when the step into the state
//! changed it. Built only from [`Describe`].

use serde::Serialize;

use crate::model::trace::{Describe, DocState, Field, Item};

/// A labelled value and whether the last step changed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldView {
    #[serde(flatten)]
    pub field: Field,
    pub changed: bool,
}

/// A document and whether the last step changed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DocView {
    #[serde(flatten)]
    pub doc: DocState,
    pub changed: bool,
}

/// One copy: its copy-level fields and its documents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CopyView {
    pub copy: String,
    pub fields: Vec<FieldView>,
    pub docs: Vec<DocView>,
}

/// A client or a message; `new` when the last step added it (a message sent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemView {
    pub name: String,
    pub fields: Vec<FieldView>,
    pub new: bool,
}

/// The whole state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StateView {
    pub copies: Vec<CopyView>,
    pub clients: Vec<ItemView>,
    pub messages: Vec<ItemView>,
}

impl StateView {
    /// `state` as the model describes it, with what differs from `previous` marked.
    pub fn of<M: Describe>(model: &M, state: &M::State, previous: Option<&StateView>) -> StateView {
        let copy_fields = model.copy_fields(state);
        let copies = model
            .copies(state)
            .into_iter()
            .map(|copy| {
                let before = previous.and_then(|p| p.copies.iter().find(|c| c.copy == copy.copy));
                let fields = copy_fields
                    .iter()
                    .find(|item| item.name == copy.copy)
                    .map_or_else(Vec::new, |item| {
                        marked(&item.fields, before.map(|b| b.fields.as_slice()))
                    });
                let docs = copy
                    .docs
                    .into_iter()
                    .map(|doc| DocView {
                        changed: before.is_some_and(|b| !b.docs.iter().any(|d| d.doc == doc)),
                        doc,
                    })
                    .collect();
                CopyView {
                    copy: copy.copy,
                    fields,
                    docs,
                }
            })
            .collect();
        StateView {
            copies,
            clients: items(model.clients(state), previous.map(|p| p.clients.as_slice())),
            messages: messages(
                model.in_flight(state),
                previous.map(|p| p.messages.as_slice()),
            ),
        }
    }
}

/// `fields`, each marked when `before` (the same item one step earlier) had another value.
fn marked(fields: &[Field], before: Option<&[FieldView]>) -> Vec<FieldView> {
    fields
        .iter()
        .map(|field| FieldView {
            changed: before.is_some_and(|b| {
                !b.iter()
                    .any(|f| f.field.label == field.label && f.field.value == field.value)
            }),
            field: field.clone(),
        })
        .collect()
}

/// Clients, matched with their earlier selves by name.
fn items(now: Vec<Item>, before: Option<&[ItemView]>) -> Vec<ItemView> {
    now.into_iter()
        .map(|item| {
            let old = before.and_then(|b| b.iter().find(|o| o.name == item.name));
            ItemView {
                fields: marked(&item.fields, old.map(|o| o.fields.as_slice())),
                new: before.is_some() && old.is_none(),
                name: item.name,
            }
        })
        .collect()
}

/// Messages in flight: a multiset, so each earlier message accounts for one equal message now;
/// the rest were sent by the last step.
fn messages(now: Vec<Item>, before: Option<&[ItemView]>) -> Vec<ItemView> {
    let mut unmatched: Vec<bool> = before.map_or_else(Vec::new, |b| vec![true; b.len()]);
    now.into_iter()
        .map(|item| {
            let seen = before.and_then(|b| {
                b.iter().enumerate().position(|(i, old)| {
                    unmatched[i]
                        && old.name == item.name
                        && old.fields.iter().map(|f| &f.field).eq(item.fields.iter())
                })
            });
            if let Some(i) = seen {
                unmatched[i] = false;
            }
            ItemView {
                fields: item
                    .fields
                    .into_iter()
                    .map(|field| FieldView {
                        changed: false,
                        field,
                    })
                    .collect(),
                new: before.is_some() && seen.is_none(),
                name: item.name,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, value: &str) -> Item {
        Item {
            name: name.into(),
            fields: vec![Field::new("message", value)],
        }
    }

    #[test]
    fn only_the_messages_a_step_sent_are_new() {
        let first = messages(vec![item("n0 → n1", "a"), item("n0 → n1", "a")], None);
        assert!(
            first.iter().all(|m| !m.new),
            "the initial state has nothing new"
        );
        // One of the two equal messages was delivered and two others sent.
        let now = messages(
            vec![
                item("n0 → n1", "a"),
                item("n0 → n1", "a"),
                item("n0 → n2", "b"),
            ],
            Some(&first[..1]),
        );
        let new: Vec<bool> = now.iter().map(|m| m.new).collect();
        assert_eq!(new, vec![false, true, true]);
    }

    #[test]
    fn a_field_is_changed_when_its_value_differs() {
        let before = marked(&[Field::new("term", 1), Field::new("in sync", "yes")], None);
        assert!(before.iter().all(|f| !f.changed));
        let after = marked(
            &[Field::new("term", 2), Field::new("in sync", "yes")],
            Some(&before),
        );
        let changed: Vec<bool> = after.iter().map(|f| f.changed).collect();
        assert_eq!(changed, vec![true, false]);
    }
}
