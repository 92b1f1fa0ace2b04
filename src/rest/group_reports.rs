//! The bodies of esocc's own fault endpoints (`/_esocc/{index}/{shard}/...`): what the engine's
//! shard group reports ([`GroupState`], [`Failover`], [`Recovery`]) as JSON. Elasticsearch has
//! no such endpoints; the field names are the engine's, in the order its types declare them.

use serde_json::{json, Value};

use crate::engine::group::{CopyState, Failover, GroupState, Recovery, Role};

/// `GET /_esocc/{index}/{shard}`.
pub fn group_state(group: &GroupState) -> Value {
    json!({
        "primary_term": group.primary_term,
        "primary": group.primary,
        "number_of_replicas": group.number_of_replicas,
        "reroutes": group.reroutes,
        "copies": group.copies.iter().map(copy_state).collect::<Vec<_>>(),
    })
}

fn copy_state(copy: &CopyState) -> Value {
    json!({
        "copy": copy.copy,
        "role": role(copy.role),
        "in_sync": copy.in_sync,
        "primary_term": copy.primary_term,
        "local_checkpoint": copy.local_checkpoint,
        "max_seq_no": copy.max_seq_no,
        "global_checkpoint": copy.global_checkpoint,
        "link": copy.link.as_str(),
        "held": copy.held,
        "reads": copy.reads,
    })
}

/// The lowercase name of a copy's role.
fn role(role: Role) -> &'static str {
    match role {
        Role::Replica => "replica",
        Role::Primary => "primary",
        Role::Failed => "failed",
    }
}

/// `POST .../fail_primary` and `.../isolate_primary`.
pub fn failover(failover: &Failover) -> Value {
    json!({
        "demoted": failover.demoted,
        "promoted": failover.promoted,
        "primary_term": failover.primary_term,
    })
}

/// `POST .../recover_replica`.
pub fn recovery(recovery: &Recovery) -> Value {
    json!({
        "copy": recovery.copy,
        "from_local_checkpoint": recovery.from_local_checkpoint,
        "files": recovery.files,
        "operations": recovery.operations,
        "in_sync": recovery.in_sync,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::group::LinkFault;

    #[test]
    fn a_group_report_names_roles_and_links_in_lowercase_in_declaration_order() {
        let copy = CopyState {
            copy: 1,
            role: Role::Failed,
            in_sync: false,
            primary_term: 2,
            local_checkpoint: 3,
            max_seq_no: 4,
            global_checkpoint: 1,
            link: LinkFault::Reorder,
            held: 5,
            reads: 6,
        };
        let group = GroupState {
            primary_term: 2,
            primary: None,
            number_of_replicas: 1,
            reroutes: 7,
            copies: vec![copy],
        };
        assert_eq!(
            group_state(&group).to_string(),
            r#"{"primary_term":2,"primary":null,"number_of_replicas":1,"reroutes":7,"copies":[{"copy":1,"role":"failed","in_sync":false,"primary_term":2,"local_checkpoint":3,"max_seq_no":4,"global_checkpoint":1,"link":"reorder","held":5,"reads":6}]}"#
        );
    }
}
