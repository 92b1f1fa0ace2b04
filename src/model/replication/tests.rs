//! Unit tests of the replication model: small configurations checked exhaustively.

use std::collections::BTreeSet;

use stateright::{Checker, Model};

use super::*;
use crate::model::trace::{Describe, Trace};
use crate::model::Invariant;
use state::{Event, Msg};

/// Check exhaustively (DFS) and return the names of the properties with a counterexample.
fn refuted(config: Config) -> BTreeSet<&'static str> {
    let checker = config
        .into_model()
        .expect("valid config")
        .checker()
        .spawn_dfs()
        .join();
    assert!(checker.is_done());
    checker
        .discoveries()
        .into_keys()
        .filter(|name| Invariant::from_name(name).is_some_and(|i| !i.is_reachability()))
        .collect()
}

fn set(names: &[&'static str]) -> BTreeSet<&'static str> {
    names.iter().copied().collect()
}

/// What a client of the real protocol can see go wrong across a failover, as in Elasticsearch:
/// a dirty read from the old primary, and a 409 for a re-routed write that took effect.
const FAILOVER_ANOMALIES: [&str; 3] = [
    "cas_linearizable",
    "no_stale_acked_read",
    "reads_linearizable",
];

/// The failover anomalies and `more`.
fn failover_anomalies_and(more: &[&'static str]) -> BTreeSet<&'static str> {
    FAILOVER_ANOMALIES.iter().chain(more).copied().collect()
}

#[test]
fn without_failover_every_property_holds() {
    let config = Config {
        failovers: 0,
        ..Config::default()
    };
    assert_eq!(refuted(config), set(&[]));
}

#[test]
fn with_one_failover_only_the_client_visible_anomalies_of_elasticsearch_appear() {
    assert_eq!(refuted(Config::default()), failover_anomalies_and(&[]));
}

#[test]
fn without_the_coordinator_retry_conditional_writes_stay_linearizable() {
    let config = Config {
        coordinator_retry: false,
        ..Config::default()
    };
    assert_eq!(
        refuted(config),
        set(&["no_stale_acked_read", "reads_linearizable"])
    );
}

#[test]
fn lossy_network_keeps_every_safety_property() {
    let config = Config {
        drops: true,
        ..Config::default()
    };
    assert_eq!(refuted(config), failover_anomalies_and(&[]));
}

const STALE_GUARD: [&str; 4] = [
    "acked_on_in_sync",
    "change_id_unique",
    "no_lost_acked_write",
    "rmw_serializable",
];

#[test]
fn seq_no_and_internal_version_guards_lose_updates_across_a_failover() {
    for guard in [Guard::SeqNo, Guard::InternalVersion] {
        let config = Config {
            clients: 3,
            copies: 2,
            guard,
            ..Config::default()
        };
        assert_eq!(
            refuted(config),
            failover_anomalies_and(&STALE_GUARD),
            "{guard:?}"
        );
    }
    let real = Config {
        clients: 3,
        copies: 2,
        ..Config::default()
    };
    assert_eq!(refuted(real), failover_anomalies_and(&[]));
}

#[test]
fn without_term_fencing_a_demoted_primary_gets_writes_acknowledged() {
    let config = Config {
        term_fencing: false,
        ..Config::default()
    };
    assert_eq!(
        refuted(config),
        failover_anomalies_and(&[
            "acked_on_in_sync",
            "checkpoint_safety",
            "converge_at_quiescence",
            "no_lost_acked_write",
            "term_fencing",
        ])
    );
}

#[test]
fn acknowledging_before_replication_loses_acknowledged_writes() {
    let config = Config {
        ack_before_replication: true,
        ..Config::default()
    };
    assert_eq!(
        refuted(config),
        failover_anomalies_and(&["acked_on_in_sync", "no_lost_acked_write"])
    );
}

#[test]
fn promoting_a_stale_copy_loses_acknowledged_writes() {
    let stale = Config {
        replica_failures: 1,
        promote_stale_copy: true,
        ..Config::default()
    };
    assert_eq!(
        refuted(stale.clone()),
        failover_anomalies_and(&[
            "acked_on_in_sync",
            "checkpoint_safety",
            "converge_at_quiescence",
            "no_lost_acked_write",
        ])
    );
    let in_sync_only = Config {
        promote_stale_copy: false,
        ..stale
    };
    assert_eq!(refuted(in_sync_only), failover_anomalies_and(&[]));
}

#[test]
fn replicas_applying_in_arrival_order_diverge() {
    let config = Config {
        replica_order: ReplicaOrder::Arrival,
        ..Config::default()
    };
    assert_eq!(
        refuted(config),
        failover_anomalies_and(&[
            "acked_on_in_sync",
            "converge_at_quiescence",
            "no_lost_acked_write",
            "rmw_serializable",
            "seq_no_monotonic",
        ])
    );
}

#[test]
fn duplicated_requests_change_nothing() {
    let config = Config {
        copies: 2,
        duplicates: true,
        ..Config::default()
    };
    assert_eq!(refuted(config), failover_anomalies_and(&[]));
}

#[test]
fn invalid_configs_are_rejected_with_the_reason() {
    let too_many = Config {
        clients: 5,
        ops_per_client: 2,
        ..Config::default()
    };
    assert_eq!(
        too_many.validate().unwrap_err(),
        "clients × ops_per_client must be at most 8 (got 10)"
    );
    let no_copies = Config {
        copies: 0,
        ..Config::default()
    };
    assert!(no_copies.validate().is_err());
}

#[test]
fn a_counterexample_reads_as_protocol_steps() {
    let config = Config {
        clients: 3,
        copies: 2,
        guard: Guard::SeqNo,
        ..Config::default()
    };
    let (steps, why) = trace(config.clone(), "no_lost_acked_write");
    assert!(steps.contains("1. client"), "{steps}");
    assert!(
        steps.contains("master → n1: fail primary n0, promote n1"),
        "{steps}"
    );
    assert!(steps.contains("PUT /idx/_doc/1?if_seq_no=1 {"), "{steps}");
    assert!(steps.contains("write is acknowledged → 200"), "{steps}");
    let why = why.expect("an explanation");
    assert!(
        why.contains("was acknowledged, but the primary n1 now holds"),
        "{why}"
    );
    let (_, why) = trace(config, "change_id_unique");
    let why = why.expect("an explanation");
    assert!(why.contains("a SeqNo guard cannot tell apart"), "{why}");
}

/// A discovery as numbered readable steps, and the model's explanation of its last state.
fn trace(config: Config, property: &'static str) -> (String, Option<String>) {
    let model = config.into_model().unwrap();
    let checker = model.clone().checker().spawn_bfs().join();
    let path = checker.discovery(property).expect("a counterexample");
    let invariant = Invariant::from_name(property).unwrap();
    let why = model.explain(invariant, path.last_state());
    (Trace::from_path(&model, path).to_string(), why)
}

#[test]
fn symmetry_is_a_renaming_that_keeps_every_verdict() {
    let configs = [
        Config {
            clients: 3,
            copies: 3,
            ..Config::default()
        },
        update_config(1),
        Config {
            reads_from: ReadsFrom::Any,
            ..Config::default()
        },
        Config {
            ops_per_client: 2,
            copies: 2,
            deletes: true,
            ..Config::default()
        },
        Config {
            copies: 3,
            ..recovery_config(false)
        },
    ];
    for config in configs {
        let model = config.into_model().unwrap();
        let properties = model.properties();
        let mut seen = std::collections::HashSet::new();
        let mut stack = model.init_states();
        // Depth-first, at most 20,000 states per configuration (a bound by count, not time).
        while let Some(state) = stack.pop() {
            if seen.len() >= 20_000 || !seen.insert(state.clone()) {
                continue;
            }
            let representative = symmetry::representative(&state);
            assert_eq!(symmetry::representative(&representative), representative);
            for p in &properties {
                assert_eq!(
                    (p.condition)(&model, &state),
                    (p.condition)(&model, &representative),
                    "{} on {state:?}",
                    p.name
                );
            }
            stack.extend(model.next_states(&state));
        }
    }
}

#[test]
fn symmetry_reduction_finds_the_same_verdicts_in_fewer_states() {
    let configs = [
        Config::default(),
        Config {
            clients: 3,
            copies: 2,
            guard: Guard::SeqNo,
            ..Config::default()
        },
        Config {
            term_fencing: false,
            ..Config::default()
        },
        Config {
            deletes: true,
            prune_tombstones_early: true,
            copies: 2,
            ..Config::default()
        },
        recovery_config(true),
    ];
    for config in configs {
        let model = config.clone().into_model().unwrap();
        let reduced = model
            .checker()
            .symmetry_fn(symmetry::representative)
            .spawn_dfs()
            .join();
        let found: BTreeSet<_> = reduced
            .discoveries()
            .into_keys()
            .filter(|name| !name.starts_with("reach_"))
            .collect();
        let plain = config
            .clone()
            .into_model()
            .unwrap()
            .checker()
            .spawn_dfs()
            .join();
        assert_eq!(found, refuted(config.clone()), "{config:?}");
        assert!(reduced.unique_state_count() < plain.unique_state_count());
    }
}

/// Take `action` from `state`, which must enable it.
fn take(model: &ReplicationModel, state: State, action: Action) -> State {
    model
        .next_state(&state, action.clone())
        .unwrap_or_else(|| panic!("{action:?} is not enabled"))
}

/// Deliver the one message in flight that `pick` selects.
fn deliver(model: &ReplicationModel, state: State, pick: impl Fn(&Msg) -> bool) -> State {
    let msg = state.network.iter().find(|m| pick(m)).cloned();
    take(
        model,
        state,
        Action::Deliver(msg.expect("a matching message")),
    )
}

#[test]
fn a_second_promotion_before_the_resync_restores_a_rolled_back_write_over_an_acked_one() {
    let model = Config {
        clients: 3,
        failovers: 2,
        ..Config::default()
    }
    .into_model()
    .unwrap();
    let mut s = model.init_states().remove(0);
    for (client, copy) in [(0, 0), (1, 0)] {
        s = take(&model, s, Action::Get { client, copy });
        s = take(&model, s, Action::Write { client, copy });
    }
    // Only the old primary's second write (_seq_no 2, term 1) reaches n1.
    s = deliver(&model, s, |m| {
        matches!(
            m,
            Msg::Replicate {
                to: 1,
                seq_no: 2,
                ..
            }
        )
    });
    s = take(&model, s, Action::FailPrimary { promote: 2 });
    s = take(&model, s, Action::Get { client: 2, copy: 2 });
    s = take(&model, s, Action::Write { client: 2, copy: 2 });
    // n2's write (_seq_no 1, term 2) overtakes its resync: n1 rolls back, keeps _seq_no 2 pending.
    s = deliver(&model, s, |m| {
        matches!(m, Msg::Replicate { from: 2, to: 1, .. })
    });
    assert!(s.copies[1].entry(2).is_some_and(|e| e.pending));
    s = deliver(&model, s, |m| {
        matches!(m, Msg::Applied { from: 1, to: 2, .. })
    });
    let acked = model.writer(2, 0);
    assert_ne!(
        s.acked & (1 << acked),
        0,
        "client 2's write is acknowledged"
    );
    // The master fails n2 before its resync reached n1, and promotes n1.
    s = take(&model, s, Action::FailPrimary { promote: 1 });
    let doc = s.copies[1].doc(0).expect("a document");
    assert_eq!(doc.meta.seq_no, 2);
    assert!(!doc.value.contains(acked));
    assert!(!holds(&model, &s, Invariant::NoLostAckedWrite));
    // n1's processed history: _seq_no 1 of term 2 below the restored _seq_no 2 of term 1.
    assert_eq!(s.copies[1].entry(1).map(|e| e.term), Some(2));
    assert_eq!(s.copies[1].entry(2).map(|e| e.term), Some(1));
    assert!(!holds(&model, &s, Invariant::HistoryTermsMonotonic));
    assert!(holds(&model, &s, Invariant::TermFencing));
}

/// Does `state` satisfy the model's property named after `invariant`?
fn holds(model: &ReplicationModel, state: &State, invariant: Invariant) -> bool {
    let property = model
        .properties()
        .into_iter()
        .find(|p| p.name == invariant.name())
        .unwrap();
    (property.condition)(model, state)
}

#[test]
fn a_re_routed_conditional_write_is_answered_409_although_it_took_effect() {
    let model = Config::default().into_model().unwrap();
    let checker = model.clone().checker().spawn_bfs().join();
    let path = checker
        .discovery("cas_linearizable")
        .expect("a counterexample");
    let last = path.last_state().clone();
    let steps = Trace::from_path(&model, path).to_string();
    assert!(
        steps.contains("the coordinating node re-routes it"),
        "{steps}"
    );
    assert!(
        steps.contains(
            "(re-routed by the coordinating node) PUT /idx/_doc/1?if_seq_no=0&if_primary_term=1"
        ),
        "{steps}"
    );
    assert!(
        steps.contains("→ 409 version_conflict_engine_exception"),
        "{steps}"
    );
    let rejected = last.history.iter().find_map(|e| match *e {
        Event::Rejected { op, .. } => Some(op + 1),
        _ => None,
    });
    let writer = rejected.expect("the re-routed write was answered 409");
    let primary = &last.copies[usize::from(last.master.primary)];
    assert!(
        primary.doc(0).is_some_and(|d| d.value.contains(writer)),
        "the write answered 409 is in the new primary's document: {steps}"
    );
}

fn update_config(retry_on_conflict: u8) -> Config {
    Config {
        api: Api::Update,
        retry_on_conflict,
        ..Config::default()
    }
}

#[test]
fn a_re_routed_update_with_retry_on_conflict_is_applied_twice() {
    assert_eq!(
        refuted(update_config(1)),
        set(&[
            "applied_at_most_once",
            "cas_linearizable",
            "reads_linearizable"
        ])
    );
    let (steps, why) = trace(update_config(1), "applied_at_most_once");
    assert!(
        steps.contains("POST /idx/_update/1?retry_on_conflict=1"),
        "{steps}"
    );
    assert!(
        steps.contains("(re-routed by the coordinating node) PUT"),
        "{steps}"
    );
    let why = why.expect("an explanation");
    assert!(why.contains("holds a write twice"), "{why}");
}

#[test]
fn the_state_view_counts_the_retry_a_re_routed_update_used() {
    let model = update_config(1).into_model().unwrap();
    let checker = model.clone().checker().spawn_bfs().join();
    let path = checker
        .discovery("applied_at_most_once")
        .expect("a counterexample");
    let retries = |state: &State| -> Vec<String> {
        model
            .clients(state)
            .iter()
            .map(|c| {
                let field = c.fields.iter().find(|f| f.label == "retries left");
                field
                    .expect("an update client has retries left")
                    .value
                    .clone()
            })
            .collect()
    };
    let seen: Vec<Vec<String>> = path.into_states().iter().map(retries).collect();
    assert_eq!(seen[0], ["1", "1"]);
    // The twice-applied write waits for its acknowledgement with its one retry used; once
    // answered, an operation has none left to use.
    assert!(
        seen.iter().any(|r| r.contains(&"0".to_string())),
        "{seen:?}"
    );
    assert_eq!(seen.last().unwrap(), &["-", "-"]);
}

#[test]
fn a_re_routed_update_without_retry_is_answered_409_and_applied_once() {
    assert_eq!(
        refuted(update_config(0)),
        set(&["cas_linearizable", "reads_linearizable"])
    );
}

#[test]
fn reads_from_replicas_see_writes_before_they_are_acknowledged() {
    let config = Config {
        clients: 3,
        failovers: 0,
        reads_from: ReadsFrom::Any,
        ..Config::default()
    };
    assert_eq!(refuted(config.clone()), set(&["reads_linearizable"]));
    let (steps, _) = trace(config, "reads_linearizable");
    let from_replica = steps.contains("→ n1: GET") || steps.contains("→ n2: GET");
    assert!(from_replica, "{steps}");
}

fn recovery_config(mark_in_sync_early: bool) -> Config {
    Config {
        copies: 2,
        replica_failures: 1,
        recoveries: 1,
        mark_in_sync_early,
        ..Config::default()
    }
}

#[test]
fn a_recovered_replica_is_promotable_with_every_acknowledged_write() {
    let model = recovery_config(false).into_model().unwrap();
    // n1 misses a write and is failed; the write is acknowledged by n0 alone; n1 recovers and
    // is marked in sync; then n0 fails and n1 is promoted with the write.
    let mut s = model.init_states().remove(0);
    s = take(&model, s, Action::Get { client: 0, copy: 0 });
    s = take(&model, s, Action::Write { client: 0, copy: 0 });
    s = take(&model, s, Action::FailReplica { copy: 1 });
    assert_eq!(s.acked.count_ones(), 1, "acknowledged without n1");
    s = take(&model, s, Action::Recover { copy: 1 });
    assert_eq!(s.master.in_sync, 0b01, "not in sync while it recovers");
    let recover = s.network.iter().find(|m| matches!(m, Msg::Recover { .. }));
    s = take(
        &model,
        s.clone(),
        Action::Deliver(recover.cloned().unwrap()),
    );
    let done = s
        .network
        .iter()
        .find(|m| matches!(m, Msg::Recovered { .. }));
    s = take(&model, s.clone(), Action::Deliver(done.cloned().unwrap()));
    assert_eq!(s.master.in_sync, 0b11, "marked in sync once caught up");
    assert!(s.copies[1].recovered);
    s = take(&model, s, Action::FailPrimary { promote: 1 });
    let properties = model.properties();
    for p in properties
        .iter()
        .filter(|p| p.name == "no_lost_acked_write" || p.name == "acked_on_in_sync")
    {
        assert!((p.condition)(&model, &s), "{}", p.name);
    }
}

#[test]
fn marking_a_recovering_copy_in_sync_early_loses_acknowledged_writes() {
    let refuted_early = refuted(recovery_config(true));
    assert!(
        refuted_early.contains("no_lost_acked_write"),
        "{refuted_early:?}"
    );
    assert!(
        refuted_early.contains("acked_on_in_sync"),
        "{refuted_early:?}"
    );
    let refuted_safe = refuted(recovery_config(false));
    assert!(
        !refuted_safe.contains("no_lost_acked_write"),
        "{refuted_safe:?}"
    );
    assert!(
        !refuted_safe.contains("acked_on_in_sync"),
        "{refuted_safe:?}"
    );
}

/// Two documents, reads from any copy: clients 0 and 1 on document 1, client 2 on document 2.
fn two_docs_reads_from_any() -> ReplicationModel {
    Config {
        clients: 3,
        docs: 2,
        reads_from: ReadsFrom::Any,
        ..Config::default()
    }
    .into_model()
    .unwrap()
}

#[test]
fn a_replica_rolled_back_by_another_documents_write_serves_a_stale_read() {
    let model = two_docs_reads_from_any();
    assert_eq!((model.doc_of(1, 0), model.doc_of(2, 0)), (0, 1));
    let mut s = model.init_states().remove(0);
    // Client 0's write on document 1 (_seq_no 2) reaches both replicas and is acknowledged; the
    // replicas still know global checkpoint 1, piggybacked before the write.
    s = take(&model, s, Action::Get { client: 0, copy: 0 });
    s = take(&model, s, Action::Write { client: 0, copy: 0 });
    for to in [1, 2] {
        s = deliver(
            &model,
            s,
            |m| matches!(*m, Msg::Replicate { to: t, .. } if t == to),
        );
    }
    for from in [1, 2] {
        s = deliver(
            &model,
            s,
            |m| matches!(*m, Msg::Applied { from: f, .. } if f == from),
        );
    }
    let acked = model.writer(0, 0);
    assert_ne!(
        s.acked & (1 << acked),
        0,
        "client 0's write is acknowledged"
    );
    assert_eq!(s.copies[2].global_checkpoint, 1);
    // n1 is promoted; its write on document 2 overtakes its resync to n2.
    s = take(&model, s, Action::FailPrimary { promote: 1 });
    s = take(&model, s, Action::Get { client: 2, copy: 1 });
    s = take(&model, s, Action::Write { client: 2, copy: 1 });
    s = deliver(&model, s, |m| {
        matches!(m, Msg::Replicate { from: 1, to: 2, .. })
    });
    // n2 adopted term 2 and rolled both documents back to global checkpoint 1: document 1 lost
    // the acknowledged write until the resync arrives.
    let n2 = &s.copies[2];
    assert!(n2.awaits_resync() && n2.role == Role::Replica);
    assert!(n2.doc(0).is_some_and(|d| !d.value.contains(acked)));
    assert!(holds(&model, &s, Invariant::NoStaleAckedRead));
    // Client 1 reads document 1 from the in-sync replica n2: a stale read.
    s = take(&model, s, Action::Get { client: 1, copy: 2 });
    assert!(!holds(&model, &s, Invariant::NoStaleAckedRead));
    assert!(holds(&model, &s, Invariant::NoLostAckedWrite));
}
