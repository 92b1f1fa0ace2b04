//! Scripts of the update API: a small subset of Painless, run over `ctx` and `params` as
//! Elasticsearch's `UpdateScript` runs them (`UpdateHelper.prepareUpdateScriptRequest`,
//! `executeScriptedUpsert`).
//!
//! The subset is what the update API's documentation and common clients use: `ctx._source`
//! reads and writes (`=`, `+=` and the other compound assignments, `++`, `--`), `ctx.op`,
//! `params.x` / `params['x']`, `if`/`else`, `def` locals, comparisons, `&&` `||` `!`, `?:`,
//! arithmetic with Java's `int`/`long`/`double` promotion, string concatenation, list and map
//! literals and the common `List`, `Map` and `String` methods (`add`, `remove`, `contains`,
//! `indexOf`, `containsKey`, `put`, `size`, ...). Anything else is a compile error that names the
//! construct, never a different meaning. Pure: no I/O, no clock (`ctx._now` is given).
//!
//! | module | what it does |
//! | --- | --- |
//! | [`lexer`] | tokens with offsets |
//! | [`parser`] | tokens to a [`ast::Program`]; unsupported constructs named |
//! | [`eval`] | running a program over JSON values |
//! | [`values`] | `def` semantics: Java types, promotion, equality |
//! | [`error`] | `ScriptException`'s reason, `script_stack` and `position` |

pub mod ast;
pub mod error;
pub mod eval;
pub mod lexer;
pub mod parser;
#[cfg(test)]
mod proptests;
pub mod values;

use std::sync::Arc;

use serde_json::{Map, Value};

pub use error::{Phase, Position, ScriptError};

/// `Script.DEFAULT_SCRIPT_LANG`.
pub const PAINLESS: &str = "painless";

/// An inline script with its parameters, compiled when it was built. A compile error is kept and
/// reported when the script would run: Elasticsearch compiles update scripts on the shard, after
/// the get (a missing document without upsert is a 404 whatever the script says).
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    pub source: String,
    pub params: Map<String, Value>,
    compiled: Result<Arc<ast::Program>, ScriptError>,
}

/// What a script decided (`UpdateHelper.UpdateOpType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptOp {
    /// Index the new source (the default of an update).
    Index,
    /// Create the new source (the default of a scripted upsert).
    Create,
    /// Delete the document.
    Delete,
    /// Do nothing (`noop`, `none`).
    Noop,
}

/// The document's metadata a script sees in `ctx` (read-only).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DocContext {
    pub index: String,
    pub id: String,
    pub version: i64,
    pub routing: Option<String>,
    /// `ctx._now`, milliseconds since the epoch.
    pub now: i64,
}

/// `UpdateMetadata`'s valid `op` values for an update, and `InsertMetadata`'s for an upsert.
const UPDATE_OPS: [&str; 4] = ["delete", "index", "noop", "none"];
const UPSERT_OPS: [&str; 3] = ["create", "noop", "none"];
/// Read-only metadata of `ctx`.
const READ_ONLY: [&str; 6] = ["_index", "_id", "_version", "_routing", "_type", "_now"];

impl Script {
    /// Compile `source` (a compile error is kept, see [`Script`]).
    pub fn new(source: impl Into<String>, params: Map<String, Value>) -> Script {
        let source = source.into();
        let compiled = parser::parse(&source).map(Arc::new);
        Script {
            source,
            params,
            compiled,
        }
    }

    /// The compile error, if the source is not in the subset.
    pub fn compile_error(&self) -> Option<&ScriptError> {
        self.compiled.as_ref().err()
    }

    /// Run as an update of an existing document (`ctx.op` starts as `index`): the operation and
    /// the source the script left.
    pub fn run_update(
        &self,
        source: Map<String, Value>,
        doc: &DocContext,
    ) -> Result<(ScriptOp, Map<String, Value>), ScriptError> {
        let mut ctx = Map::new();
        ctx.insert("op".into(), "index".into());
        ctx.insert("_index".into(), doc.index.clone().into());
        ctx.insert("_type".into(), "_doc".into());
        ctx.insert("_id".into(), doc.id.clone().into());
        ctx.insert("_version".into(), doc.version.into());
        ctx.insert("_routing".into(), doc.routing.clone().into());
        ctx.insert("_source".into(), Value::Object(source));
        ctx.insert("_now".into(), doc.now.into());
        self.run(ctx, &UPDATE_OPS)
    }

    /// Run as a scripted upsert over the `upsert` document (`ctx.op` starts as `create`).
    pub fn run_upsert(
        &self,
        upsert: Map<String, Value>,
        now: i64,
    ) -> Result<(ScriptOp, Map<String, Value>), ScriptError> {
        let mut ctx = Map::new();
        ctx.insert("op".into(), "create".into());
        ctx.insert("_source".into(), Value::Object(upsert));
        ctx.insert("_now".into(), now.into());
        self.run(ctx, &UPSERT_OPS)
    }

    fn run(
        &self,
        ctx: Map<String, Value>,
        valid_ops: &[&str],
    ) -> Result<(ScriptOp, Map<String, Value>), ScriptError> {
        let program = self.compiled.as_ref().map_err(Clone::clone)?;
        let mut vars = Map::new();
        vars.insert("ctx".into(), Value::Object(ctx));
        vars.insert("params".into(), Value::Object(self.params.clone()));
        let guard = |key: &str, value: &Value| check_ctx_write(key, value, valid_ops);
        eval::run(program, &mut vars, &guard)?;
        let Some(Value::Object(mut ctx)) = vars.remove("ctx") else {
            return Err(ScriptError::runtime(
                0,
                "illegal_argument_exception",
                "ctx was replaced",
            ));
        };
        let op = match ctx.get("op").and_then(Value::as_str) {
            Some("index") => ScriptOp::Index,
            Some("create") => ScriptOp::Create,
            Some("delete") => ScriptOp::Delete,
            _ => ScriptOp::Noop,
        };
        match ctx.remove("_source") {
            Some(Value::Object(source)) => Ok((op, source)),
            other => Err(ScriptError::runtime(
                self.source.len(),
                "illegal_argument_exception",
                format!(
                    "Expected source to be a map, instead was [{}] with type [{}]",
                    values::java_string(other.as_ref().unwrap_or(&Value::Null)),
                    values::java_type(other.as_ref().unwrap_or(&Value::Null))
                ),
            )),
        }
    }
}

/// `Metadata`'s checks of a write to `ctx.<key>`: `op` must be a valid string, the metadata
/// fields are read-only.
fn check_ctx_write(key: &str, value: &Value, valid_ops: &[&str]) -> Result<(), values::Fault> {
    if READ_ONLY.contains(&key) {
        return Err((
            "illegal_argument_exception",
            format!("{key} cannot be updated"),
        ));
    }
    if key != "op" {
        return Ok(());
    }
    match value {
        Value::String(op) if valid_ops.contains(&op.as_str()) => Ok(()),
        Value::String(op) => {
            let mut sorted = valid_ops.to_vec();
            sorted.sort_unstable();
            Err((
                "illegal_argument_exception",
                format!("[op] must be one of {}, not [{op}]", sorted.join(", ")),
            ))
        }
        other => Err((
            "illegal_argument_exception",
            format!(
                "op [{}] is wrong type, expected assignable to [java.lang.String], not [{}]",
                values::java_string(other),
                values::java_type(other)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn ctx_op_decides_the_operation() {
        let doc = DocContext::default();
        let run = |source: &str| Script::new(source, Map::new()).run_update(Map::new(), &doc);
        assert_eq!(run("ctx.op = 'noop'").unwrap().0, ScriptOp::Noop);
        assert_eq!(run("ctx.op = 'none'").unwrap().0, ScriptOp::Noop);
        assert_eq!(run("ctx.op = 'delete'").unwrap().0, ScriptOp::Delete);
        assert_eq!(run("ctx._source.a = ctx._id").unwrap().0, ScriptOp::Index);
        assert_eq!(
            run("ctx.op = 'create'").unwrap_err().cause_reason,
            "[op] must be one of delete, index, none, noop, not [create]"
        );
        assert_eq!(
            run("ctx._id = 'x'").unwrap_err().cause_reason,
            "_id cannot be updated"
        );
        assert!(run("ctx._source = 1").is_err());
    }

    #[test]
    fn scripted_upserts_start_as_create() {
        let script = Script::new(
            "if (ctx.op == 'create') { ctx._source.n = params.n } else { ctx._source.n += 1 }",
            obj(json!({"n": 7})),
        );
        let (op, source) = script.run_upsert(Map::new(), 0).unwrap();
        assert_eq!(
            (op, Value::Object(source)),
            (ScriptOp::Create, json!({"n": 7}))
        );
        let noop = Script::new("ctx.op = 'noop'", Map::new());
        assert_eq!(noop.run_upsert(Map::new(), 0).unwrap().0, ScriptOp::Noop);
    }

    #[test]
    fn compile_errors_wait_for_the_run() {
        let script = Script::new("for (;;) {}", Map::new());
        assert!(script.compile_error().is_some());
        let error = script.run_upsert(Map::new(), 0).unwrap_err();
        assert_eq!(error.phase, Phase::Compile);
    }
}
