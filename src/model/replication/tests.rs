//! Unit tests of the replication model: small configurations checked exhaustively.

use std::collections::BTreeSet;

use stateright::{Checker, Model};

use super::*;

/// Check exhaustively (DFS) and return the names of the properties with a counterexample.
fn refuted(config: Config) -> BTreeSet<&'static str> {
    let checker = config
        .into_model()
        .expect("valid config")
        .checker()
        .spawn_dfs()
        .join();
    assert!(checker.is_done());
    checker.discoveries().into_keys().collect()
}

#[test]
fn without_failover_every_property_holds() {
    let config = Config {
        failovers: 0,
        ..Config::default()
    };
    assert_eq!(refuted(config), BTreeSet::new());
}

#[test]
#[ignore]
fn survey() {
    let base = Config::default();
    let configs = [
        (
            "real f0",
            Config {
                failovers: 0,
                ..base.clone()
            },
        ),
        ("real f1", base.clone()),
        (
            "seqno 3c",
            Config {
                clients: 3,
                guard: Guard::SeqNo,
                ..base.clone()
            },
        ),
        (
            "seqno 2c",
            Config {
                guard: Guard::SeqNo,
                ..base.clone()
            },
        ),
        (
            "internal 3c",
            Config {
                clients: 3,
                guard: Guard::InternalVersion,
                ..base.clone()
            },
        ),
        (
            "nofence",
            Config {
                term_fencing: false,
                ..base.clone()
            },
        ),
        (
            "ackbefore",
            Config {
                ack_before_replication: true,
                ..base.clone()
            },
        ),
        (
            "stale",
            Config {
                promote_stale_copy: true,
                replica_failures: 1,
                ..base.clone()
            },
        ),
        (
            "arrival",
            Config {
                replica_order: ReplicaOrder::Arrival,
                ..base.clone()
            },
        ),
        (
            "drops",
            Config {
                drops: true,
                ..base.clone()
            },
        ),
        (
            "dups",
            Config {
                duplicates: true,
                ..base.clone()
            },
        ),
    ];
    for (name, config) in configs {
        let start = std::time::Instant::now();
        let checker = config.into_model().unwrap().checker().spawn_dfs().join();
        let secs = start.elapsed().as_secs_f64();
        let found: BTreeSet<_> = checker.discoveries().into_keys().collect();
        println!(
            "{name}: states={} unique={} depth={} {secs:.2}s {:.0}/s refuted={found:?}",
            checker.state_count(),
            checker.unique_state_count(),
            checker.max_depth(),
            checker.unique_state_count() as f64 / secs
        );
    }
}
