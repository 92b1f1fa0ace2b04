//! Helpers for the tests that run the `esocc` binary on small catalogues.

/// A catalogue entry of the seed scenario: two clients read-modify-write one document with
/// `guard`, expecting `no_lost_acked_write` to be `expected`.
pub fn entry(name: &str, guard: &str, expected: &str) -> String {
    format!(
        r#"{{
  "name": "{name}",
  "description": "two clients, {guard} read-modify-writes",
  "model": "single_shard",
  "parameters": {{ "clients": 2, "guard": "{guard}", "path": "rmw" }},
  "expect": {{ "no_lost_acked_write": "{expected}", "reach_acked_write": "reachable" }},
  "ci": true
}}
"#
    )
}

/// A process's output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}
