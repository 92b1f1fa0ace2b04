//! The operation generator: what each client does next, decided by the seed alone.
//!
//! Each client draws from its own ChaCha8 stream, seeded from `--seed` and the client number, so
//! the same seed gives every client the same sequence of intents whatever the endpoint answers.
//! What an intent becomes on the wire can depend on answers (a register write is conditional on
//! the version its GET returned), never which intents come.
//!
//! | workload | intents |
//! | --- | --- |
//! | `register` | GET; GET then index with `if_seq_no` + `if_primary_term` (or `_create` when absent); GET then conditional delete |
//! | `update` | GET; `_update` with `retry_on_conflict` and `doc_as_upsert`, adding a field named by a unique token (with `--scripted-updates`, a script appending the token to the list `L`, with an upsert) |
//! | `set` | `_create` of a new document named by its token (Jepsen's create-set); re-create of an earlier one (must 409); GET of an earlier one |
//! | `bulk` | GET; a `_bulk` of 1–4 index/create/delete items on distinct keys, conditional on the versions this client last saw |

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    Register,
    Update,
    Set,
    Bulk,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Register => "register",
            Workload::Update => "update",
            Workload::Set => "set",
            Workload::Bulk => "bulk",
        }
    }
}

/// What one bulk item does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BulkItem {
    /// Index (conditional on the last version seen) or, when none was seen, create.
    Write { key: String, token: String },
    /// Delete, conditional on the last version seen.
    Delete { key: String },
}

/// The next thing a client does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    Read {
        key: String,
    },
    /// GET, then index conditionally on what it returned (create when not found).
    ReadModifyWrite {
        key: String,
        token: String,
    },
    /// GET, then delete conditionally on what it returned (nothing when not found).
    ReadDelete {
        key: String,
    },
    Update {
        key: String,
        token: String,
    },
    Create {
        key: String,
        token: String,
    },
    Bulk(Vec<BulkItem>),
}

/// One client's deterministic stream of intents.
pub struct Generator {
    workload: Workload,
    client: u32,
    keys: u32,
    rng: ChaCha8Rng,
    tokens: u64,
}

impl Generator {
    pub fn new(workload: Workload, seed: u64, client: u32, keys: u32) -> Generator {
        // Distinct, well-mixed streams per client: the client number goes into the seed's top.
        let stream = seed ^ (u64::from(client).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        Generator {
            workload,
            client,
            keys: keys.max(1),
            rng: ChaCha8Rng::seed_from_u64(stream),
            tokens: 0,
        }
    }

    fn token(&mut self) -> String {
        let token = format!("c{}-{}", self.client, self.tokens);
        self.tokens += 1;
        token
    }

    fn key(&mut self) -> String {
        format!("k{}", self.rng.random_range(0..self.keys))
    }

    /// An element this client created earlier (set workload), if any.
    fn earlier_element(&mut self) -> Option<String> {
        (self.tokens > 0).then(|| {
            let n = self.rng.random_range(0..self.tokens);
            format!("c{}-{n}", self.client)
        })
    }

    pub fn next_intent(&mut self) -> Intent {
        let roll = self.rng.random_range(0..100u32);
        match self.workload {
            Workload::Register => {
                let key = self.key();
                match roll {
                    0..25 => Intent::Read { key },
                    25..90 => Intent::ReadModifyWrite {
                        key,
                        token: self.token(),
                    },
                    _ => Intent::ReadDelete { key },
                }
            }
            Workload::Update => {
                let key = self.key();
                if roll < 30 {
                    Intent::Read { key }
                } else {
                    Intent::Update {
                        key,
                        token: self.token(),
                    }
                }
            }
            Workload::Set => match (roll, self.earlier_element()) {
                (0..10, Some(key)) => Intent::Read { key },
                (10..20, Some(key)) => {
                    let token = self.token();
                    Intent::Create { key, token }
                }
                _ => {
                    let token = self.token();
                    Intent::Create {
                        key: token.clone(),
                        token,
                    }
                }
            },
            Workload::Bulk => {
                if roll < 30 {
                    return Intent::Read { key: self.key() };
                }
                let size = self.rng.random_range(1..=4u32).min(self.keys);
                let mut keys: Vec<String> = Vec::new();
                while keys.len() < size as usize {
                    let key = self.key();
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
                Intent::Bulk(
                    keys.into_iter()
                        .map(|key| {
                            if self.rng.random_range(0..10u32) == 0 {
                                BulkItem::Delete { key }
                            } else {
                                BulkItem::Write {
                                    key,
                                    token: self.token(),
                                }
                            }
                        })
                        .collect(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intents(workload: Workload, seed: u64, client: u32) -> Vec<Intent> {
        let mut g = Generator::new(workload, seed, client, 5);
        (0..200).map(|_| g.next_intent()).collect()
    }

    #[test]
    fn the_seed_alone_decides_the_intents() {
        for w in [
            Workload::Register,
            Workload::Update,
            Workload::Set,
            Workload::Bulk,
        ] {
            assert_eq!(intents(w, 42, 1), intents(w, 42, 1));
            assert_ne!(intents(w, 42, 1), intents(w, 43, 1));
            assert_ne!(intents(w, 42, 1), intents(w, 42, 2));
        }
    }

    #[test]
    fn register_mixes_reads_writes_and_deletes_with_unique_tokens() {
        let all = intents(Workload::Register, 1, 0);
        let count = |f: fn(&Intent) -> bool| all.iter().filter(|i| f(i)).count();
        assert!(count(|i| matches!(i, Intent::Read { .. })) > 20);
        assert!(count(|i| matches!(i, Intent::ReadModifyWrite { .. })) > 100);
        assert!(count(|i| matches!(i, Intent::ReadDelete { .. })) > 5);
        let mut tokens: Vec<&String> = all
            .iter()
            .filter_map(|i| match i {
                Intent::ReadModifyWrite { token, .. } => Some(token),
                _ => None,
            })
            .collect();
        let n = tokens.len();
        tokens.dedup();
        assert_eq!(tokens.len(), n);
    }

    #[test]
    fn bulk_items_name_distinct_keys() {
        for intent in intents(Workload::Bulk, 9, 0) {
            if let Intent::Bulk(items) = intent {
                let mut keys: Vec<&String> = items
                    .iter()
                    .map(|i| match i {
                        BulkItem::Write { key, .. } | BulkItem::Delete { key } => key,
                    })
                    .collect();
                keys.sort();
                keys.dedup();
                assert_eq!(keys.len(), items.len());
            }
        }
    }
}
