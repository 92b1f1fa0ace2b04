//! Which copy of a shard serves a realtime GET: any active copy, as the `preference` parameter
//! chooses (Elasticsearch 8's `Preference.parse` and
//! `OperationRouting.preferenceActiveShardIterator`; `TransportGetAction` reads from the copy
//! the iterator gives first).
//!
//! | `preference` | copy |
//! | --- | --- |
//! | none or empty | the active copies in turn (round-robin; Elasticsearch ranks them by adaptive replica selection, `ResponseCollectorService`, which has no meaning for in-process copies) |
//! | `_local` | the coordinating node's copy if it is active, else the others in turn |
//! | `_only_local` | the coordinating node's copy, or none (`no_shard_available_action_exception`) |
//! | `_prefer_nodes:a,b` | the first active copy on one of those nodes, else the others in turn |
//! | `_only_nodes:a,b` | the active copies on those nodes in turn, or "no data nodes with criteria [..] found for shard" |
//! | `_shards:..\|rest` | `rest` (a GET names its shard by routing; the `_shards` part changes nothing) |
//! | any other `_...` | `no Preference for [..]`: `_primary`, `_replica`, `_primary_first` and `_replica_first` were removed in 7.0 |
//! | a custom string | a sticky copy: `hash(string) mod active copies` (murmur3, as Elasticsearch hashes it), the same while the active set stays the same |
//!
//! Nodes are named by id or name (`esocc-node-<k>`, the same here) with `*` wildcards
//! (`DiscoveryNodes.resolveNodes`). The active copies are the master's in-sync set: a failed copy
//! is not active, and a recovering one is not in sync yet (Elasticsearch puts initializing copies
//! last, where a GET reaches them only if every active copy failed it).

use super::routing::hash;

/// A read's `preference`, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Preference {
    /// No preference: spread over the active copies.
    Spread,
    Local,
    OnlyLocal,
    PreferNodes(Vec<String>),
    OnlyNodes(Vec<String>),
    /// A custom string: sticky by its hash.
    Custom(String),
}

/// Why a preference answers an error instead of a copy (Elasticsearch's exceptions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PreferenceError {
    /// `illegal_argument_exception`: `no Preference for [<type>]`.
    Unknown(String),
    /// `string_index_out_of_bounds_exception`: `_prefer_nodes` or `_only_nodes` without the
    /// colon, which `preference.substring(type.length() + 1)` runs past.
    NoNodeList { preference: String },
    /// `illegal_argument_exception`: `_only_nodes` matched no node with an active copy.
    NoMatchingNode { criteria: Vec<String> },
    /// `no_shard_available_action_exception`: no active copy to read from (for
    /// `_only_local`: none on the coordinating node).
    NoCopy,
}

impl PreferenceError {
    /// Elasticsearch's exception type.
    pub fn error_type(&self) -> &'static str {
        match self {
            PreferenceError::Unknown(_) | PreferenceError::NoMatchingNode { .. } => {
                "illegal_argument_exception"
            }
            PreferenceError::NoNodeList { .. } => "string_index_out_of_bounds_exception",
            PreferenceError::NoCopy => "no_shard_available_action_exception",
        }
    }

    /// Elasticsearch's reason, for a GET of `id` on shard `shard` (`[index][n]`) of `index`.
    pub fn reason(&self, index: &str, shard: &str, id: &str) -> String {
        match self {
            PreferenceError::Unknown(kind) => format!("no Preference for [{kind}]"),
            PreferenceError::NoNodeList { preference } => {
                let length = preference.encode_utf16().count();
                format!(
                    "Range [{}, {length}) out of bounds for length {length}",
                    length + 1
                )
            }
            PreferenceError::NoMatchingNode { criteria } => format!(
                "no data nodes with {} [{}] found for shard: {shard}",
                // Elasticsearch's own inversion of the two words.
                if criteria.len() == 1 {
                    "criteria"
                } else {
                    "criterion"
                },
                criteria.join(",")
            ),
            PreferenceError::NoCopy => {
                format!("No shard available for [get [{index}][{id}]: routing [null]]")
            }
        }
    }
}

/// `Preference.parse` and the node lists after the colon.
pub fn parse(preference: Option<&str>) -> Result<Preference, PreferenceError> {
    let Some(mut preference) = preference.filter(|p| !p.is_empty()) else {
        return Ok(Preference::Spread);
    };
    if !preference.starts_with('_') {
        return Ok(Preference::Custom(preference.to_owned()));
    }
    if kind(preference)? == "_shards" {
        match preference.split_once('|') {
            None => return Ok(Preference::Spread),
            Some((_, rest)) => preference = rest,
        }
    }
    let nodes = |kind: &str| match preference.get(kind.len() + 1..) {
        Some(list) => Ok(list.split(',').map(str::to_owned).collect()),
        None => Err(PreferenceError::NoNodeList {
            preference: preference.to_owned(),
        }),
    };
    match kind(preference)? {
        "_local" => Ok(Preference::Local),
        "_only_local" | "_onlyLocal" => Ok(Preference::OnlyLocal),
        "_prefer_nodes" => Ok(Preference::PreferNodes(nodes("_prefer_nodes")?)),
        "_only_nodes" => Ok(Preference::OnlyNodes(nodes("_only_nodes")?)),
        // `_shards` after a `|`: Elasticsearch's switch has no case for it either.
        other => Err(PreferenceError::Unknown(other.to_owned())),
    }
}

/// The preference's type: up to the first colon, checked against the known ones.
fn kind(preference: &str) -> Result<&str, PreferenceError> {
    let kind = preference.split(':').next().unwrap_or(preference);
    match kind {
        "_shards" | "_prefer_nodes" | "_local" | "_only_local" | "_onlyLocal" | "_only_nodes" => {
            Ok(kind)
        }
        other => Err(PreferenceError::Unknown(other.to_owned())),
    }
}

/// The name (and id) of node `node`.
pub fn node_name(node: usize) -> String {
    format!("esocc-node-{node}")
}

/// `Regex.simpleMatch`: `*` matches any run of characters.
fn simple_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len())
                    .filter(|&skip| text.is_char_boundary(head.len() + skip))
                    .any(|skip| simple_match(tail, &text[head.len() + skip..]))
        }
    }
}

/// The copy that serves a realtime read. `active` lists the active copies (copy `k` lives on
/// node `k`), `local` is the coordinating node, and `turn` counts the reads so far: the
/// round-robin position for reads that spread.
pub fn choose_copy(
    preference: &Preference,
    active: &[usize],
    local: usize,
    turn: u64,
) -> Result<usize, PreferenceError> {
    let in_turn = |copies: &[usize]| {
        let len = copies.len().max(1) as u64;
        copies.get((turn % len) as usize).copied()
    };
    let on = |nodes: &[String]| -> Vec<usize> {
        active
            .iter()
            .copied()
            .filter(|&copy| nodes.iter().any(|n| simple_match(n, &node_name(copy))))
            .collect()
    };
    let chosen = match preference {
        Preference::Spread => in_turn(active),
        Preference::Local => active
            .contains(&local)
            .then_some(local)
            .or_else(|| in_turn(active)),
        Preference::OnlyLocal => {
            return active
                .contains(&local)
                .then_some(local)
                .ok_or(PreferenceError::NoCopy)
        }
        Preference::PreferNodes(nodes) => on(nodes).first().copied().or_else(|| in_turn(active)),
        Preference::OnlyNodes(nodes) => {
            return in_turn(&on(nodes)).ok_or_else(|| PreferenceError::NoMatchingNode {
                criteria: nodes.clone(),
            })
        }
        Preference::Custom(custom) => {
            let len = active.len().max(1) as i64;
            let slot = i64::from(hash(custom)).rem_euclid(len) as usize;
            active.get(slot).copied()
        }
    };
    chosen.ok_or(PreferenceError::NoCopy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_elasticsearch_8_preferences() {
        assert_eq!(parse(None), Ok(Preference::Spread));
        assert_eq!(parse(Some("")), Ok(Preference::Spread));
        assert_eq!(parse(Some("_local")), Ok(Preference::Local));
        assert_eq!(parse(Some("_onlyLocal")), Ok(Preference::OnlyLocal));
        assert_eq!(
            parse(Some("_only_nodes:esocc-node-1,esocc-node-2")),
            Ok(Preference::OnlyNodes(nodes(&[
                "esocc-node-1",
                "esocc-node-2"
            ])))
        );
        assert_eq!(
            parse(Some("_shards:0|_prefer_nodes:x")),
            Ok(Preference::PreferNodes(nodes(&["x"])))
        );
        assert_eq!(parse(Some("_shards:0")), Ok(Preference::Spread));
        assert_eq!(
            parse(Some("session-7")),
            Ok(Preference::Custom("session-7".into()))
        );
    }

    #[test]
    fn the_preferences_removed_in_7_0_are_refused_with_elasticsearchs_text() {
        for removed in ["_primary", "_replica", "_primary_first", "_replica_first"] {
            let error = parse(Some(removed)).unwrap_err();
            assert_eq!(error.error_type(), "illegal_argument_exception");
            assert_eq!(
                error.reason("i", "[i][0]", "1"),
                format!("no Preference for [{removed}]")
            );
        }
        let missing_colon = parse(Some("_only_nodes")).unwrap_err();
        assert_eq!(
            missing_colon.reason("i", "[i][0]", "1"),
            "Range [12, 11) out of bounds for length 11"
        );
    }

    #[test]
    fn reads_spread_over_the_active_copies_in_turn() {
        let served: Vec<usize> = (0..6)
            .map(|turn| choose_copy(&Preference::Spread, &[0, 1, 2], 0, turn).unwrap())
            .collect();
        assert_eq!(served, [0, 1, 2, 0, 1, 2]);
        assert_eq!(choose_copy(&Preference::Spread, &[1, 2], 0, 4), Ok(1));
    }

    #[test]
    fn local_and_node_preferences() {
        let active = [0, 2];
        assert_eq!(choose_copy(&Preference::Local, &active, 2, 0), Ok(2));
        assert_eq!(choose_copy(&Preference::Local, &active, 1, 1), Ok(2));
        assert_eq!(
            choose_copy(&Preference::OnlyLocal, &active, 1, 0),
            Err(PreferenceError::NoCopy)
        );
        let prefer = Preference::PreferNodes(nodes(&["esocc-node-2"]));
        assert_eq!(choose_copy(&prefer, &active, 0, 0), Ok(2));
        let only = Preference::OnlyNodes(nodes(&["esocc-node-*"]));
        assert_eq!(choose_copy(&only, &active, 0, 1), Ok(2));
        let none = Preference::OnlyNodes(nodes(&["esocc-node-1"]));
        let error = choose_copy(&none, &active, 0, 0).unwrap_err();
        assert_eq!(
            error.reason("i", "[i][0]", "1"),
            "no data nodes with criteria [esocc-node-1] found for shard: [i][0]"
        );
    }

    #[test]
    fn a_custom_preference_sticks_to_one_copy() {
        let custom = Preference::Custom("session-7".into());
        let first = choose_copy(&custom, &[0, 1, 2], 0, 0).unwrap();
        for turn in 1..5 {
            assert_eq!(choose_copy(&custom, &[0, 1, 2], 0, turn), Ok(first));
        }
    }

    #[test]
    fn wildcards_match_as_simple_match_does() {
        assert!(simple_match("esocc-*", "esocc-node-1"));
        assert!(simple_match("*-1", "esocc-node-1"));
        assert!(simple_match("*", ""));
        assert!(!simple_match("esocc-node-2", "esocc-node-1"));
    }
}
