//! Conformance: the engine replays the replication model (draft).

#[path = "support/conformance/mod.rs"]
mod conformance;

use std::time::Instant;

use esocc::engine::group::Role;
use esocc::model::catalogue::{self, ModelSpec};
use esocc::model::replication::state::{Msg, Role as ModelRole, State};
use esocc::model::replication::{Action, ReplicationModel};
use esocc::model::trace::Trace;
use stateright::Model;

use conformance::replay::{engine_role, knobs_of, replayable, Divergence};
use conformance::walk::{walk, Bound};

fn entries() -> Vec<(String, ReplicationModel)> {
    let models = concat!(env!("CARGO_MANIFEST_DIR"), "/models");
    catalogue::load(&[models])
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|e| e.ci)
        .filter_map(|e| match e.model {
            ModelSpec::Replication(config) => Some((e.name, config.into_model().expect("valid"))),
            ModelSpec::SingleShard(_) => None,
        })
        .collect()
}

fn report(model: &ReplicationModel, d: &Divergence) -> String {
    let init = model.init_states().remove(0);
    let trace = Trace::replay(model, init, &d.path);
    format!("diverges at step {}: {}\n{trace}", d.path.len(), d.what)
}

/// The model's transitions the engine cannot take (see the module doc): a 409 on a primary
/// whose replication round would be fenced, and a request processed by a copy the engine has
/// closed.
fn abstracted(before: &State, action: &Action, after: &State) -> bool {
    match action {
        Action::Write { copy, .. } => after.copies[usize::from(*copy)].role == ModelRole::Demoted,
        Action::Deliver(msg) | Action::Duplicate(msg) => match *msg {
            Msg::Resync { to, trim_above, .. }
                if before.copies[usize::from(to)].global_checkpoint > trim_above =>
            {
                true
            }
            Msg::Replicate { to, .. } | Msg::Resync { to, .. } | Msg::Recover { to, .. } => {
                engine_role(before, to) == Role::Failed
            }
            _ => false,
        },
        _ => false,
    }
}

#[test]
fn the_engine_replays_every_ci_entry() {
    let bound = Bound {
        dfs_states: 3_000,
        random_paths: 300,
        random_depth: 60,
        seed: 11,
    };
    let mut failures = Vec::new();
    for (name, model) in entries() {
        if let Err(why) = replayable(&model) {
            println!("conformance {name}: not replayed ({why})");
            continue;
        }
        let started = Instant::now();
        match walk(&model, knobs_of(&model), bound, &abstracted) {
            Ok(c) => println!(
                "conformance {name}: {} paths, {} steps, {} distinct model states ({}), {} transitions skipped, {:.1?}",
                c.paths,
                c.steps,
                c.states,
                if c.exhaustive { "every reachable state" } else { "bounded" },
                c.skipped,
                started.elapsed()
            ),
            Err(d) => {
                let text = report(&model, &d);
                println!("conformance {name}: {text}");
                failures.push(name);
            }
        }
    }
    assert!(failures.is_empty(), "diverging entries: {failures:?}");
}
