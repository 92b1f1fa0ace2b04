//! Symmetry reduction for the single-shard model: clients are interchangeable, so a state and
//! any renaming of its clients are checked once.

use stateright::Representative;

use super::{
    progress, Attempt, Chain, Client, Doc, Hit, Pass, Read, SingleShard, Stage, State, WriteId,
};
use crate::model::shortest::RepresentativeFn;
use crate::model::Checkable;

impl Checkable for SingleShard {
    /// Clients are interchangeable: same actions, same rules, and every property treats them alike.
    fn symmetry(&self) -> Option<RepresentativeFn<State>> {
        Some(State::representative)
    }
}

impl Representative for State {
    /// Clients are interchangeable: order them by what they did (id-free), then rename the client
    /// ids inside every write chain accordingly. The update-by-query is not a writer client and
    /// keeps its id.
    fn representative(&self) -> Self {
        let position = |client: usize| {
            self.docs
                .iter()
                .enumerate()
                .find_map(|(d, doc)| {
                    doc.value
                        .iter()
                        .position(|w| usize::from(w.client) == client)
                        .map(|p| (d, p))
                })
                .unwrap_or((usize::MAX, usize::MAX))
        };
        let mut order: Vec<usize> = (0..self.clients.len()).collect();
        order.sort_by_cached_key(|&i| {
            let c = &self.clients[i];
            let read = match &c.stage {
                Stage::Writing(read) => Some((read.meta, read.value.len())),
                _ => None,
            };
            let answers: Vec<(u8, bool)> = c.answers.iter().map(|a| (a.doc, a.written)).collect();
            (progress(c), c.doc, read, answers, position(i))
        });
        let mut renamed = vec![0u8; order.len()];
        for (new, &old) in order.iter().enumerate() {
            renamed[old] = new as u8;
        }
        let rename_client =
            |client: u8| renamed.get(usize::from(client)).copied().unwrap_or(client);
        let rename = |chain: &Chain| -> Chain {
            chain
                .iter()
                .map(|w| WriteId {
                    client: rename_client(w.client),
                    op: w.op,
                })
                .collect()
        };
        let rename_read = |read: &Read| Read {
            meta: read.meta,
            value: rename(&read.value),
        };
        State {
            docs: self
                .docs
                .iter()
                .map(|d| Doc {
                    value: rename(&d.value),
                    ..d.clone()
                })
                .collect(),
            max_seq_no: self.max_seq_no,
            pass: self.pass.as_ref().map(|p| Pass {
                hits: p.hits.as_ref().map(|hits| {
                    hits.iter()
                        .map(|h| Hit {
                            doc: h.doc,
                            read: rename_read(&h.read),
                        })
                        .collect()
                }),
                ..p.clone()
            }),
            last: self.last.as_ref().map(|a| Attempt {
                client: rename_client(a.client),
                expected: a.expected.as_ref().map(rename),
                found: a.found.as_ref().map(rename),
                new: rename(&a.new),
                ..a.clone()
            }),
            clients: order
                .iter()
                .map(|&i| {
                    let c = &self.clients[i];
                    Client {
                        stage: match &c.stage {
                            Stage::Writing(read) => Stage::Writing(rename_read(read)),
                            other => other.clone(),
                        },
                        ..c.clone()
                    }
                })
                .collect(),
        }
    }
}
