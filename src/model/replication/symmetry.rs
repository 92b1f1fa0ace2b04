//! Symmetry reduction: clients are interchangeable, and so are shard copies (nothing but the
//! initial state tells `n0` from `n1`). A state's representative renames clients, then copies,
//! and rewrites every place a name appears: write chains, history, acknowledgements, pending
//! writes, copy sets, checkpoints, messages.
//!
//! Any renaming of copies is sound (every property treats copies alike), and so is any renaming
//! of clients that keeps the documents each client targets ([`doc_of`]: clients are sorted by
//! their first document before anything else, and the assignment never decreases with the
//! client's index). With `deletes` the last client deletes and the others index, so clients
//! are not interchangeable: that model renames copies only ([`representative_of_copies`]).
//!
//! The representative is canonical: two states that differ only by such a renaming have the
//! same one, whichever order a search meets them in. Clients and copies are sorted by what they
//! hold (keys no renaming changes); where keys tie, every order of the tied ones is tried and
//! the least renamed state is the representative. The sort keys decide only how many orders
//! are tried, never which state is chosen.

use super::state::{
    doc_of, Chain, Client, ClientId, CopySet, Doc, Entry, Event, Msg, Op, Phase, Role, ShardCopy,
    State, WriterId,
};

/// The representative of `state`'s class under renaming clients and copies.
pub fn representative(state: &State) -> State {
    orders_sorted_by(state.clients.len(), |c| client_key(state, c))
        .iter()
        .map(|clients| {
            if is_identity(clients) {
                copies_renamed(state)
            } else {
                copies_renamed(&rename_clients(state, clients))
            }
        })
        .min()
        .expect("a state has at least one order of its clients")
}

/// The representative of `state`'s class under renaming copies only: for a model whose
/// clients are not interchangeable (with `deletes` the last client deletes, the others index).
pub fn representative_of_copies(state: &State) -> State {
    copies_renamed(state)
}

fn copies_renamed(state: &State) -> State {
    orders_sorted_by(state.copies.len(), |i| copy_key(state, i))
        .iter()
        .map(|copies| {
            if is_identity(copies) {
                state.clone()
            } else {
                rename_copies(state, copies)
            }
        })
        .min()
        .expect("a state has at least one order of its copies")
}

fn is_identity(order: &[usize]) -> bool {
    order.iter().enumerate().all(|(i, &o)| i == o)
}

/// Every order of `0..n` sorted by `key`, with the ties broken in every possible way.
fn orders_sorted_by<K: Ord>(n: usize, key: impl Fn(usize) -> K) -> Vec<Vec<usize>> {
    let keys: Vec<K> = (0..n).map(key).collect();
    let mut sorted: Vec<usize> = (0..n).collect();
    sorted.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    let mut orders = vec![Vec::with_capacity(n)];
    for tied in sorted.chunk_by(|&a, &b| keys[a] == keys[b]) {
        orders = orders
            .into_iter()
            .flat_map(|prefix| {
                permutations(tied).into_iter().map(move |run| {
                    let mut order = prefix.clone();
                    order.extend(run);
                    order
                })
            })
            .collect();
    }
    orders
}

fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    (0..items.len())
        .flat_map(|first| {
            let mut rest = items.to_vec();
            let head = rest.remove(first);
            permutations(&rest).into_iter().map(move |mut tail| {
                tail.insert(0, head);
                tail
            })
        })
        .collect()
}

fn ops_per_client(s: &State) -> usize {
    s.changes.len() / s.clients.len()
}

/// What a client did, ignoring its name.
fn client_key(s: &State, c: usize) -> impl Ord {
    let ops = ops_per_client(s);
    let clients = s.clients.len() as u8;
    let client = s.clients[c];
    let read = match client.phase {
        Phase::Read(doc) | Phase::Waiting(doc) | Phase::Rerouted(doc) => Some(doc.map(|d| d.meta)),
        Phase::Idle | Phase::Done => None,
    };
    let writes: Vec<_> = (0..ops)
        .map(|k| {
            let writer = 1 + c * ops + k;
            (s.changes[writer - 1], s.acked & (1 << writer) != 0)
        })
        .collect();
    // The documents a client targets come first: a renaming must keep them.
    let docs = doc_of(clients, s.copies[0].docs.len() as u8, c as ClientId, 0);
    (docs, client.op, phase_rank(client.phase), read, writes)
}

fn phase_rank(phase: Phase) -> u8 {
    match phase {
        Phase::Idle => 0,
        Phase::Read(_) => 1,
        Phase::Waiting(_) => 2,
        Phase::Rerouted(_) => 3,
        Phase::Done => 4,
    }
}

/// What a copy holds, and what the master and the master's primary know of it, ignoring its
/// name.
fn copy_key(s: &State, i: usize) -> impl Ord + '_ {
    let tracker = match &s.copies[usize::from(s.master.primary)].role {
        Role::Primary(t) => Some(t),
        Role::Replica | Role::Demoted => None,
    };
    let copy = &s.copies[i];
    let role = match &copy.role {
        Role::Primary(t) => (0, t.pending.len()),
        Role::Replica => (1, 0),
        Role::Demoted => (2, 0),
    };
    let tracked = tracker.map(|t| {
        let bit = |set: CopySet| set & (1 << i) != 0;
        (
            bit(t.group),
            bit(t.recovering),
            bit(t.finalizing),
            t.checkpoints[i],
        )
    });
    (
        usize::from(s.master.primary) != i,
        s.master.in_sync & (1 << i) == 0,
        role,
        copy.term,
        &copy.docs[..],
        &copy.log[..],
        copy.local_checkpoint,
        copy.global_checkpoint,
        tracked,
    )
}

/// Rename clients: the client at `order[n]` becomes client `n`.
fn rename_clients(s: &State, order: &[usize]) -> State {
    let ops = ops_per_client(s);
    let mut client_name = vec![0 as ClientId; order.len()];
    for (new, &old) in order.iter().enumerate() {
        client_name[old] = new as ClientId;
    }
    let mut writer_name = vec![0 as WriterId; s.changes.len() + 1];
    for (old, &new) in client_name.iter().enumerate() {
        for k in 0..ops {
            writer_name[1 + old * ops + k] = (1 + usize::from(new) * ops + k) as WriterId;
        }
    }
    let chain = |c: Chain| {
        c.writers().fold(Chain::EMPTY, |acc, w| {
            acc.append(writer_name[usize::from(w)])
        })
    };
    let thread = |op: u8| writer_name[usize::from(op) + 1] - 1;
    let doc = |d: Doc| Doc {
        value: chain(d.value),
        ..d
    };
    let entry = |e: Entry| Entry {
        op: match e.op {
            Op::Write {
                doc,
                version,
                value,
                deleted,
            } => Op::Write {
                doc,
                version,
                value: chain(value),
                deleted,
            },
            Op::Noop => Op::Noop,
        },
        ..e
    };
    let mut changes = vec![None; s.changes.len()];
    let mut acked = 0;
    for (w, &new) in writer_name.iter().enumerate().skip(1) {
        let new = usize::from(new);
        changes[new - 1] = s.changes[w - 1];
        if s.acked & (1 << w) != 0 {
            acked |= 1 << new;
        }
    }
    let mut network: Vec<Msg> = s
        .network
        .iter()
        .map(|m| match m.clone() {
            Msg::Replicate {
                from,
                to,
                term,
                global_checkpoint,
                seq_no,
                entry: e,
                duplicate,
            } => Msg::Replicate {
                from,
                to,
                term,
                global_checkpoint,
                seq_no,
                entry: entry(e),
                duplicate,
            },
            Msg::Resync {
                from,
                to,
                term,
                global_checkpoint,
                ops,
                trim_above,
                duplicate,
            } => Msg::Resync {
                from,
                to,
                term,
                global_checkpoint,
                ops: ops.into_iter().map(|(s, e)| (s, entry(e))).collect(),
                trim_above,
                duplicate,
            },
            Msg::Recover {
                from,
                to,
                term,
                global_checkpoint,
                ops,
            } => Msg::Recover {
                from,
                to,
                term,
                global_checkpoint,
                ops: ops.into_iter().map(|(s, e)| (s, entry(e))).collect(),
            },
            other => other,
        })
        .collect();
    network.sort();
    State {
        master: s.master.clone(),
        copies: s
            .copies
            .iter()
            .map(|c| {
                let mut role = c.role.clone();
                if let Role::Primary(t) = &mut role {
                    for p in &mut t.pending {
                        p.client = client_name[usize::from(p.client)];
                    }
                    t.pending.sort();
                }
                ShardCopy {
                    role,
                    log: c.log.iter().map(|e| e.map(entry)).collect(),
                    docs: c.docs.iter().map(|d| d.map(doc)).collect(),
                    ..c.clone()
                }
            })
            .collect(),
        clients: order
            .iter()
            .map(|&old| {
                let c = s.clients[old];
                Client {
                    op: c.op,
                    phase: match c.phase {
                        Phase::Read(d) => Phase::Read(d.map(doc)),
                        Phase::Waiting(d) => Phase::Waiting(d.map(doc)),
                        Phase::Rerouted(d) => Phase::Rerouted(d.map(doc)),
                        other => other,
                    },
                }
            })
            .collect(),
        network,
        history: s
            .history
            .iter()
            .map(|e| match *e {
                Event::Read { op, value } => Event::Read {
                    op: thread(op),
                    value: value.map(chain),
                },
                Event::Invoke {
                    op,
                    expected,
                    new,
                    delete,
                    condition,
                } => Event::Invoke {
                    op: thread(op),
                    expected: expected.map(|e| e.map(chain)),
                    new: chain(new),
                    delete,
                    condition,
                },
                Event::Acked { op } => Event::Acked { op: thread(op) },
                Event::Rejected { op, conflict } => Event::Rejected {
                    op: thread(op),
                    conflict,
                },
                Event::Conflict {
                    op,
                    expected,
                    new,
                    condition,
                    conflict,
                } => Event::Conflict {
                    op: thread(op),
                    expected: expected.map(chain),
                    new: chain(new),
                    condition,
                    conflict,
                },
            })
            .collect(),
        changes,
        acked,
    }
}

/// Rename copies: the copy at `order[n]` becomes copy `n`.
fn rename_copies(s: &State, order: &[usize]) -> State {
    let mut name = vec![0u8; order.len()];
    for (new, &old) in order.iter().enumerate() {
        name[old] = new as u8;
    }
    let set = |set: CopySet| {
        (0..order.len())
            .filter(|c| set & (1 << c) != 0)
            .fold(0, |acc, c| acc | (1 << name[c]))
    };
    let copy = |c: u8| name[usize::from(c)];
    let mut network: Vec<Msg> = s
        .network
        .iter()
        .map(|m| {
            let mut m = m.clone();
            match &mut m {
                Msg::Replicate { from, to, .. }
                | Msg::Resync { from, to, .. }
                | Msg::Applied { from, to, .. }
                | Msg::Recover { from, to, .. }
                | Msg::Recovered { from, to, .. }
                | Msg::Failed { from, to, .. } => {
                    *from = copy(*from);
                    *to = copy(*to);
                }
            }
            m
        })
        .collect();
    network.sort();
    let mut master = s.master.clone();
    master.primary = copy(master.primary);
    master.in_sync = set(master.in_sync);
    State {
        master,
        copies: order
            .iter()
            .map(|&old| {
                let mut c = s.copies[old].clone();
                if let Role::Primary(t) = &mut c.role {
                    t.group = set(t.group);
                    t.recovering = set(t.recovering);
                    t.finalizing = set(t.finalizing);
                    let mut checkpoints = vec![None; order.len()];
                    for (i, known) in t.checkpoints.iter().enumerate() {
                        checkpoints[usize::from(name[i])] = *known;
                    }
                    t.checkpoints = checkpoints;
                    for p in &mut t.pending {
                        p.applied = set(p.applied);
                    }
                }
                c
            })
            .collect(),
        network,
        ..s.clone()
    }
}

#[cfg(test)]
mod tests {
    use stateright::Model;

    use super::super::{Config, ReplicationModel};
    use super::*;

    /// Every renaming of `state` that [`representative`] may apply: copies in any order, clients
    /// in any order that keeps each client's documents.
    fn renamings(state: &State) -> Vec<State> {
        let clients = state.clients.len();
        let docs = state.copies[0].docs.len() as u8;
        let group = |c: usize| doc_of(clients as u8, docs, c as ClientId, 0);
        let client_orders: Vec<Vec<usize>> = permutations(&(0..clients).collect::<Vec<_>>())
            .into_iter()
            .filter(|order| {
                order
                    .iter()
                    .enumerate()
                    .all(|(new, &old)| group(new) == group(old))
            })
            .collect();
        let copy_orders = permutations(&(0..state.copies.len()).collect::<Vec<_>>());
        client_orders
            .iter()
            .flat_map(|clients| {
                let by_clients = rename_clients(state, clients);
                copy_orders
                    .iter()
                    .map(move |copies| rename_copies(&by_clients, copies))
            })
            .collect()
    }

    /// The states on `paths` pseudo-random paths (a fixed linear congruential sequence) from
    /// the initial state to a terminal one: deep states, where ties between copies show.
    fn on_random_paths(model: &ReplicationModel, paths: u64) -> Vec<State> {
        let mut seed = 11u64;
        let mut states = Vec::new();
        for _ in 0..paths {
            let mut state = model.init_states().remove(0);
            loop {
                states.push(state.clone());
                let next = model.next_states(&state);
                if next.is_empty() {
                    break;
                }
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                state = next[(seed >> 33) as usize % next.len()].clone();
            }
        }
        states
    }

    #[test]
    fn every_renaming_of_a_state_has_its_representative() {
        let configs = [
            Config {
                clients: 3,
                copies: 3,
                ..Config::default()
            },
            Config {
                clients: 3,
                docs: 2,
                copies: 3,
                ..Config::default()
            },
            Config {
                drops: true,
                ..Config::default()
            },
        ];
        for config in configs {
            let model = config.into_model().unwrap();
            // 300 paths per configuration (a bound by count).
            let states = on_random_paths(&model, 300);
            let mut renamed_apart = 0;
            for state in &states {
                let canonical = representative(state);
                for renamed in renamings(state) {
                    renamed_apart += usize::from(renamed != *state);
                    assert_eq!(representative(&renamed), canonical, "{state:?}");
                }
            }
            // The renamings were not all the identity: the test compared different states.
            assert!(renamed_apart > states.len(), "{renamed_apart}");
        }
    }
}
