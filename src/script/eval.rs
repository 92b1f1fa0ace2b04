//! Running a [`Program`] over variables (`ctx`, `params`, locals) held as JSON values.
//!
//! Reads and writes go through places (a variable and a path of map keys and list indexes), so
//! that `ctx._source.tags.add(x)` changes the source in place and a field read clones only the
//! field. Every failure is a [`Fault`] located at the node that raised it. There are no loops,
//! so a run takes at most one step per node.

use serde_json::{Map, Value};

use super::ast::{BinOp, Expr, ExprKind, Program, Stmt, StmtKind};
use super::error::ScriptError;
use super::values::{self, java_string, java_type, null_receiver, Fault};

/// Checks an assignment to `ctx.<key>` (Elasticsearch's `Metadata` validators).
pub type CtxGuard<'a> = &'a dyn Fn(&str, &Value) -> Result<(), Fault>;

/// Run `program` with `vars` (which hold `ctx` and `params`).
pub fn run(
    program: &Program,
    vars: &mut Map<String, Value>,
    guard: CtxGuard,
) -> Result<(), ScriptError> {
    let mut machine = Machine { vars, guard };
    machine
        .block(&program.body)
        .map_err(|(at, (cause, reason))| {
            let mut error = ScriptError::runtime(at, cause, reason);
            error.statement = Some(statement_around(&program.statement_starts, at));
            error
        })
}

/// `getPreviousStatement` / `getNextStatement`: the last statement start at or before `at`, and
/// the next start after it (`usize::MAX`: the end of the source).
fn statement_around(starts: &[usize], at: usize) -> (usize, usize) {
    let index = starts.partition_point(|&s| s <= at);
    let start = index.checked_sub(1).map_or(0, |i| starts[i]);
    let end = starts.get(index).copied().unwrap_or(usize::MAX);
    (start, end)
}

type Run<T> = Result<T, (usize, Fault)>;

/// A step along a place's path.
#[derive(Clone, Debug)]
enum Key {
    Name(String),
    Position(i64),
}

struct Place {
    root: String,
    path: Vec<(Key, usize)>,
}

struct Machine<'a> {
    vars: &'a mut Map<String, Value>,
    guard: CtxGuard<'a>,
}

fn at(offset: usize) -> impl FnOnce(Fault) -> (usize, Fault) {
    move |fault| (offset, fault)
}

static NULL: Value = Value::Null;

/// A list index, negative from the end (Painless's `normalizeIndex`), checked.
fn list_index(index: i64, len: usize) -> Result<usize, Fault> {
    let normalized = if index < 0 { index + len as i64 } else { index };
    usize::try_from(normalized)
        .ok()
        .filter(|&i| i < len)
        .ok_or((
            "index_out_of_bounds_exception",
            format!("Index {index} out of bounds for length {len}"),
        ))
}

/// One step of a read: `value[key]`.
fn step<'v>(value: &'v Value, key: &Key) -> Result<&'v Value, Fault> {
    match (value, key) {
        (Value::Null, _) => Err(null_receiver()),
        (Value::Object(map), Key::Name(name)) => Ok(map.get(name).unwrap_or(&NULL)),
        (Value::Object(map), Key::Position(i)) => Ok(map.get(&i.to_string()).unwrap_or(&NULL)),
        (Value::Array(items), Key::Position(i)) => Ok(&items[list_index(*i, items.len())?]),
        (Value::Array(_), Key::Name(name)) => Err((
            "illegal_argument_exception",
            format!("Illegal list shortcut value [{name}]."),
        )),
        (other, Key::Name(name)) => Err((
            "illegal_argument_exception",
            format!("dynamic getter [{}, {name}] not found", java_type(other)),
        )),
        (other, Key::Position(_)) => Err((
            "illegal_argument_exception",
            format!(
                "Attempting to address a non-array-like type [{}] as an array.",
                java_type(other)
            ),
        )),
    }
}

/// One step of a write: the slot `value[key]`, created in a map when `create`.
fn step_mut<'v>(value: &'v mut Value, key: &Key, create: bool) -> Result<&'v mut Value, Fault> {
    match (value, key) {
        (Value::Object(map), key) => {
            let name = match key {
                Key::Name(name) => name.clone(),
                Key::Position(i) => i.to_string(),
            };
            if create {
                Ok(map.entry(name).or_insert(Value::Null))
            } else {
                Ok(map.get_mut(&name).ok_or_else(null_receiver)?)
            }
        }
        (Value::Array(items), Key::Position(i)) => {
            let index = list_index(*i, items.len())?;
            Ok(&mut items[index])
        }
        (other, key) => Err(step(other, key).err().unwrap_or_else(null_receiver)),
    }
}

impl Machine<'_> {
    fn block(&mut self, body: &[Stmt]) -> Run<()> {
        let mut declared = Vec::new();
        let result = body
            .iter()
            .try_for_each(|statement| self.statement(statement, &mut declared));
        for name in declared {
            self.vars.remove(&name);
        }
        result
    }

    fn statement(&mut self, statement: &Stmt, declared: &mut Vec<String>) -> Run<()> {
        match &statement.kind {
            StmtKind::Expr(expr) => self.eval(expr).map(drop),
            StmtKind::Declare(name, value) => {
                let value = match value {
                    Some(expr) => self.eval(expr)?,
                    None => Value::Null,
                };
                self.vars.insert(name.clone(), value);
                declared.push(name.clone());
                Ok(())
            }
            StmtKind::If(condition, then, otherwise) => {
                let holds = self.condition(condition)?;
                self.block(if holds { then } else { otherwise })
            }
        }
    }

    fn condition(&mut self, expr: &Expr) -> Run<bool> {
        let value = self.eval(expr)?;
        values::truth(&value).map_err(at(expr.at))
    }

    /// The place an expression names, if it names one (a variable, field or index chain).
    fn place(&mut self, expr: &Expr) -> Run<Option<Place>> {
        match &expr.kind {
            ExprKind::Var(name) => Ok(Some(Place {
                root: name.clone(),
                path: Vec::new(),
            })),
            ExprKind::Field(inner, name) => Ok(self.place(inner)?.map(|mut place| {
                place.path.push((Key::Name(name.clone()), expr.at));
                place
            })),
            ExprKind::Index(inner, index) => {
                let Some(mut place) = self.place(inner)? else {
                    return Ok(None);
                };
                let key = match self.eval(index)? {
                    Value::String(s) => Key::Name(s),
                    Value::Number(n) if n.is_i64() => Key::Position(n.as_i64().unwrap_or(0)),
                    other => Key::Name(java_string(&other)),
                };
                place.path.push((key, expr.at));
                Ok(Some(place))
            }
            _ => Ok(None),
        }
    }

    fn read(&self, place: &Place) -> Run<Value> {
        let mut value = self.vars.get(&place.root).unwrap_or(&NULL);
        for (key, offset) in &place.path {
            value = step(value, key).map_err(at(*offset))?;
        }
        Ok(value.clone())
    }

    fn slot(&mut self, place: &Place, create: bool) -> Run<&mut Value> {
        let mut value = self.vars.entry(place.root.clone()).or_insert(Value::Null);
        let last = place.path.len().saturating_sub(1);
        for (i, (key, offset)) in place.path.iter().enumerate() {
            value = step_mut(value, key, create && i == last).map_err(at(*offset))?;
        }
        Ok(value)
    }

    fn write(&mut self, place: &Place, value: Value, offset: usize) -> Run<()> {
        if let (Some((Key::Name(key), _)), "ctx") = (place.path.first(), place.root.as_str()) {
            if place.path.len() == 1 {
                (self.guard)(key, &value).map_err(at(offset))?;
            }
        }
        *self.slot(place, true)? = value;
        Ok(())
    }

    fn eval(&mut self, expr: &Expr) -> Run<Value> {
        match &expr.kind {
            ExprKind::Literal(value) => Ok(value.clone()),
            ExprKind::Var(_) | ExprKind::Field(..) | ExprKind::Index(..) => {
                match self.place(expr)? {
                    Some(place) => self.read(&place),
                    None => self.eval_access(expr),
                }
            }
            ExprKind::Call(receiver, name, args) => {
                let args = args
                    .iter()
                    .map(|arg| self.eval(arg))
                    .collect::<Run<Vec<Value>>>()?;
                let method = |target: &mut Value| call(target, name, args).map_err(at(expr.at));
                match self.place(receiver)? {
                    Some(place) => method(self.slot(&place, false).map_err(|(_, f)| (expr.at, f))?),
                    None => method(&mut self.eval(receiver)?),
                }
            }
            ExprKind::Not(operand) => Ok(Value::Bool(!self.condition(operand)?)),
            ExprKind::Neg(operand) => values::negate(&self.eval(operand)?).map_err(at(expr.at)),
            ExprKind::Binary(BinOp::And, left, right) => {
                Ok(Value::Bool(self.condition(left)? && self.condition(right)?))
            }
            ExprKind::Binary(BinOp::Or, left, right) => {
                Ok(Value::Bool(self.condition(left)? || self.condition(right)?))
            }
            ExprKind::Binary(op, left, right) => {
                let (left, right) = (self.eval(left)?, self.eval(right)?);
                values::binary(*op, &left, &right).map_err(at(expr.at))
            }
            ExprKind::Ternary(condition, then, otherwise) => {
                let holds = self.condition(condition)?;
                self.eval(if holds { then } else { otherwise })
            }
            ExprKind::Assign(target, op, value) => {
                let place = self.assignable(target)?;
                let value = self.eval(value)?;
                let value = match op {
                    None => value,
                    Some(op) => {
                        let current = self.read(&place)?;
                        values::binary(*op, &current, &value).map_err(at(expr.at))?
                    }
                };
                self.write(&place, value.clone(), expr.at)?;
                Ok(value)
            }
            ExprKind::Increment {
                target,
                delta,
                post,
            } => {
                let place = self.assignable(target)?;
                let old = self.read(&place)?;
                let new =
                    values::binary(BinOp::Add, &old, &Value::from(*delta)).map_err(at(expr.at))?;
                self.write(&place, new.clone(), expr.at)?;
                Ok(if *post { old } else { new })
            }
            ExprKind::List(items) => Ok(Value::Array(
                items
                    .iter()
                    .map(|item| self.eval(item))
                    .collect::<Run<_>>()?,
            )),
            ExprKind::Map(entries) => {
                let mut map = Map::new();
                for (key, value) in entries {
                    let key = java_string(&self.eval(key)?);
                    map.insert(key, self.eval(value)?);
                }
                Ok(Value::Object(map))
            }
        }
    }

    /// A field or index of a value that is not a place (`m.get('a').b`).
    fn eval_access(&mut self, expr: &Expr) -> Run<Value> {
        let (inner, key) = match &expr.kind {
            ExprKind::Field(inner, name) => (inner, Key::Name(name.clone())),
            ExprKind::Index(inner, index) => match self.eval(index)? {
                Value::Number(n) if n.is_i64() => (inner, Key::Position(n.as_i64().unwrap_or(0))),
                other => (inner, Key::Name(java_string(&other))),
            },
            _ => return self.eval(expr),
        };
        let value = self.eval(inner)?;
        step(&value, &key).cloned().map_err(at(expr.at))
    }

    /// The parser only lets places be assigned to.
    fn assignable(&mut self, target: &Expr) -> Run<Place> {
        self.place(target)?.ok_or((
            target.at,
            (
                "illegal_argument_exception",
                "invalid assignment: cannot assign a value to a non-variable".into(),
            ),
        ))
    }
}

fn int_arg(value: &Value) -> Result<i64, Fault> {
    value.as_i64().ok_or_else(|| {
        (
            "class_cast_exception",
            format!(
                "class {} cannot be cast to class java.lang.Integer",
                java_type(value)
            ),
        )
    })
}

/// A method of the whitelisted `List`, `Map` and `String` methods esocc runs.
fn call(target: &mut Value, name: &str, args: Vec<Value>) -> Result<Value, Fault> {
    let not_found = |target: &Value, arity: usize| {
        (
            "illegal_argument_exception",
            format!(
                "dynamic method [{}, {name}/{arity}] not found",
                java_type(target)
            ),
        )
    };
    let arity = args.len();
    let mut args = args.into_iter();
    let mut arg = || args.next().unwrap_or(Value::Null);
    match target {
        Value::Null => Err(null_receiver()),
        Value::Array(items) => match (name, arity) {
            ("add", 1) => {
                items.push(arg());
                Ok(Value::Bool(true))
            }
            ("add", 2) => {
                let index = int_arg(&arg())?;
                let len = items.len();
                let index = usize::try_from(index).ok().filter(|&i| i <= len).ok_or((
                    "index_out_of_bounds_exception",
                    format!("Index: {index}, Size: {len}"),
                ))?;
                items.insert(index, arg());
                Ok(Value::Null)
            }
            ("addAll", 1) => match arg() {
                Value::Array(more) => {
                    let changed = !more.is_empty();
                    items.extend(more);
                    Ok(Value::Bool(changed))
                }
                other => Err(not_found(&other, 1)),
            },
            ("remove", 1) => {
                let index = list_index(int_arg(&arg())?, items.len())?;
                Ok(items.remove(index))
            }
            ("get", 1) => {
                let index = list_index(int_arg(&arg())?, items.len())?;
                Ok(items[index].clone())
            }
            ("set", 2) => {
                let index = list_index(int_arg(&arg())?, items.len())?;
                Ok(std::mem::replace(&mut items[index], arg()))
            }
            ("contains", 1) => {
                let needle = arg();
                Ok(Value::Bool(items.contains(&needle)))
            }
            ("indexOf", 1) => {
                let needle = arg();
                let found = items.iter().position(|item| *item == needle);
                Ok(Value::from(found.map_or(-1, |i| i as i64)))
            }
            ("size", 0) => Ok(Value::from(items.len())),
            ("isEmpty", 0) => Ok(Value::Bool(items.is_empty())),
            ("clear", 0) => {
                items.clear();
                Ok(Value::Null)
            }
            _ => Err(not_found(target, arity)),
        },
        Value::Object(map) => match (name, arity) {
            ("remove", 1) => Ok(map
                .shift_remove(&java_string(&arg()))
                .unwrap_or(Value::Null)),
            ("containsKey", 1) => Ok(Value::Bool(map.contains_key(&java_string(&arg())))),
            ("get", 1) => Ok(map
                .get(&java_string(&arg()))
                .cloned()
                .unwrap_or(Value::Null)),
            ("getOrDefault", 2) => {
                let key = java_string(&arg());
                let default = arg();
                Ok(map.get(&key).cloned().unwrap_or(default))
            }
            ("put", 2) => {
                let key = java_string(&arg());
                Ok(map.insert(key, arg()).unwrap_or(Value::Null))
            }
            ("size", 0) => Ok(Value::from(map.len())),
            ("isEmpty", 0) => Ok(Value::Bool(map.is_empty())),
            ("clear", 0) => {
                map.clear();
                Ok(Value::Null)
            }
            _ => Err(not_found(target, arity)),
        },
        Value::String(text) => {
            let mut other = || match arg() {
                Value::String(s) => Ok(s),
                v => Err(not_found(&v, 1)),
            };
            match (name, arity) {
                ("length", 0) => Ok(Value::from(text.encode_utf16().count())),
                ("isEmpty", 0) => Ok(Value::Bool(text.is_empty())),
                ("contains", 1) => Ok(Value::Bool(text.contains(other()?.as_str()))),
                ("startsWith", 1) => Ok(Value::Bool(text.starts_with(other()?.as_str()))),
                ("endsWith", 1) => Ok(Value::Bool(text.ends_with(other()?.as_str()))),
                ("equals", 1) => Ok(Value::Bool(Value::String(text.clone()) == arg())),
                ("toLowerCase", 0) => Ok(Value::String(text.to_lowercase())),
                ("toUpperCase", 0) => Ok(Value::String(text.to_uppercase())),
                ("trim", 0) => Ok(Value::String(text.trim().to_string())),
                _ => Err(not_found(target, arity)),
            }
        }
        other => Err(not_found(other, arity)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::parser::parse;
    use serde_json::json;

    fn run_on(source: &str, doc: Value, params: Value) -> Result<Value, ScriptError> {
        let program = parse(source)?;
        let mut vars = Map::new();
        vars.insert("ctx".into(), json!({"op": "index", "_source": doc}));
        vars.insert("params".into(), params);
        run(&program, &mut vars, &|_, _| Ok(()))?;
        Ok(vars["ctx"].clone())
    }

    #[test]
    fn documented_forms() {
        let ctx = run_on(
            "ctx._source.counter += params.count; ctx._source.tags.add(params['tag']); ctx._source.remove('gone'); ctx._source.n++",
            json!({"counter": 1, "tags": ["a"], "gone": 1, "n": 5}),
            json!({"count": 4, "tag": "b"}),
        )
        .unwrap();
        assert_eq!(
            ctx["_source"],
            json!({"counter": 5, "tags": ["a", "b"], "n": 6})
        );
        let ctx = run_on(
            "if (ctx._source.tags.contains(params.tag)) { ctx.op = 'delete' } else { ctx.op = 'noop' }",
            json!({"tags": ["x"]}),
            json!({"tag": "x"}),
        )
        .unwrap();
        assert_eq!(ctx["op"], "delete");
        let ctx = run_on(
            "def t = ctx._source.tags; if (t.contains(params.tag)) { t.remove(t.indexOf(params.tag)) } ctx._source.t = t",
            json!({"tags": ["x", "y"]}),
            json!({"tag": "x"}),
        )
        .unwrap();
        assert_eq!(ctx["_source"], json!({"tags": ["x", "y"], "t": ["y"]}));
    }

    #[test]
    fn conditions_and_nested_writes() {
        let ctx = run_on(
            "if (ctx._source.a > 1 && ctx._source.b == 'x' || false) { ctx._source.c.d = [1, 2][-1] } else { ctx._source.c = null }",
            json!({"a": 2, "b": "x", "c": {}}),
            json!({}),
        )
        .unwrap();
        assert_eq!(ctx["_source"]["c"], json!({"d": 2}));
    }

    #[test]
    fn runtime_errors_are_located_in_their_statement() {
        let source = "ctx._source.a = 1; ctx._source.missing.add(2)";
        let error = run_on(source, json!({}), json!({})).unwrap_err();
        assert_eq!(error.cause_type, "null_pointer_exception");
        assert_eq!(error.statement, Some((19, usize::MAX)));
        assert_eq!(error.offset, 38);
        let error = run_on("ctx._source.n += 1", json!({}), json!({})).unwrap_err();
        assert_eq!(
            error.cause_reason,
            "Cannot invoke \"Object.getClass()\" because \"left\" is null"
        );
        let error = run_on("ctx._source.s.foo(1)", json!({"s": "x"}), json!({})).unwrap_err();
        assert_eq!(
            error.cause_reason,
            "dynamic method [java.lang.String, foo/1] not found"
        );
        let error = run_on("ctx._source.l[3] = 1", json!({"l": [1]}), json!({})).unwrap_err();
        assert_eq!(error.cause_reason, "Index 3 out of bounds for length 1");
    }
}
