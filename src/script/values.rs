//! Painless's `def` semantics on JSON values: Java type names, string conversion, equality,
//! arithmetic with Java's `int` / `long` / `double` promotion, and comparisons.

use serde_json::{Number, Value};

use super::ast::BinOp;

/// A runtime failure before it is located: the Java exception type and its message.
pub type Fault = (&'static str, String);

/// `Cannot invoke "Object.getClass()" because "callArgs[0]" is null`: a dynamic call on null.
pub fn null_receiver() -> Fault {
    (
        "null_pointer_exception",
        "Cannot invoke \"Object.getClass()\" because \"callArgs[0]\" is null".into(),
    )
}

/// The Java class a JSON value has in a source map (`XContentHelper.convertToMap`).
pub fn java_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "java.lang.Boolean",
        Value::Number(n) => match number(n) {
            Num::Int(_) => "java.lang.Integer",
            Num::Long(_) => "java.lang.Long",
            Num::Double(_) => "java.lang.Double",
        },
        Value::String(_) => "java.lang.String",
        Value::Array(_) => "java.util.ArrayList",
        Value::Object(_) => "java.util.LinkedHashMap",
    }
}

/// `String.valueOf`: what `+` appends to a string.
pub fn java_string(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match number(n) {
            Num::Double(f) if f.fract() == 0.0 && f.abs() < 1e7 => format!("{f:.1}"),
            Num::Double(f) => f.to_string(),
            Num::Int(i) | Num::Long(i) => i.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(java_string).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}={}", java_string(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
    }
}

/// A number as Java boxes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    Int(i64),
    Long(i64),
    Double(f64),
}

pub fn number(n: &Number) -> Num {
    match n.as_i64() {
        Some(i) if i32::try_from(i).is_ok() => Num::Int(i),
        Some(i) => Num::Long(i),
        None => Num::Double(n.as_f64().unwrap_or(f64::NAN)),
    }
}

fn as_f64(n: Num) -> f64 {
    match n {
        Num::Int(i) | Num::Long(i) => i as f64,
        Num::Double(f) => f,
    }
}

fn to_value(n: Num) -> Result<Value, Fault> {
    match n {
        Num::Int(i) | Num::Long(i) => Ok(Value::from(i)),
        Num::Double(f) => Number::from_f64(f).map(Value::Number).ok_or((
            "arithmetic_exception",
            format!("esocc cannot store the non-finite number [{f}] in a source"),
        )),
    }
}

/// `==` on `def`: numbers by value after promotion, everything else by `equals`.
pub fn equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => match (number(a), number(b)) {
            (Num::Double(_), _) | (_, Num::Double(_)) => as_f64(number(a)) == as_f64(number(b)),
            _ => a.as_i64() == b.as_i64(),
        },
        _ => left == right,
    }
}

/// The fault of an operator on operands it does not apply to (a null one is Java's NPE).
fn cannot_apply(op: BinOp, left: &Value, right: &Value) -> Fault {
    if left.is_null() || right.is_null() {
        let which = if left.is_null() { "left" } else { "right" };
        return (
            "null_pointer_exception",
            format!("Cannot invoke \"Object.getClass()\" because \"{which}\" is null"),
        );
    }
    (
        "class_cast_exception",
        format!(
            "Cannot apply [{}] operation to types [{}] and [{}].",
            op.symbol(),
            java_type(left),
            java_type(right)
        ),
    )
}

/// An arithmetic or comparison operator (not `&&`/`||`, which short-circuit in the evaluator).
pub fn binary(op: BinOp, left: &Value, right: &Value) -> Result<Value, Fault> {
    match op {
        BinOp::Eq => return Ok(Value::Bool(equal(left, right))),
        BinOp::Ne => return Ok(Value::Bool(!equal(left, right))),
        BinOp::Add if left.is_string() || right.is_string() => {
            return Ok(Value::String(java_string(left) + &java_string(right)))
        }
        _ => {}
    }
    let (Value::Number(a), Value::Number(b)) = (left, right) else {
        return Err(cannot_apply(op, left, right));
    };
    let (a, b) = (number(a), number(b));
    let compare = |holds: fn(std::cmp::Ordering) -> bool| {
        let ordering = match (a, b) {
            (Num::Double(_), _) | (_, Num::Double(_)) => as_f64(a).partial_cmp(&as_f64(b)),
            (Num::Int(x) | Num::Long(x), Num::Int(y) | Num::Long(y)) => Some(x.cmp(&y)),
        };
        Ok(Value::Bool(ordering.is_some_and(holds)))
    };
    match op {
        BinOp::Lt => compare(|o| o.is_lt()),
        BinOp::Le => compare(|o| o.is_le()),
        BinOp::Gt => compare(|o| o.is_gt()),
        BinOp::Ge => compare(|o| o.is_ge()),
        _ => to_value(arithmetic(op, a, b)?),
    }
}

/// `+ - * / %` with Java's promotion: `int` op `int` is an `int` (wrapping), with a `long` a
/// `long`, with a `double` a `double`; integer division by zero is an `ArithmeticException`.
fn arithmetic(op: BinOp, a: Num, b: Num) -> Result<Num, Fault> {
    let by_zero = || ("arithmetic_exception", "/ by zero".to_string());
    match (a, b) {
        (Num::Double(_), _) | (_, Num::Double(_)) => {
            let (x, y) = (as_f64(a), as_f64(b));
            Ok(Num::Double(match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                _ => x % y,
            }))
        }
        (Num::Int(x), Num::Int(y)) => {
            let (x, y) = (x as i32, y as i32);
            let result = match op {
                BinOp::Add => x.wrapping_add(y),
                BinOp::Sub => x.wrapping_sub(y),
                BinOp::Mul => x.wrapping_mul(y),
                BinOp::Div if y == 0 => return Err(by_zero()),
                BinOp::Div => x.wrapping_div(y),
                _ if y == 0 => return Err(by_zero()),
                _ => x.wrapping_rem(y),
            };
            Ok(Num::Int(i64::from(result)))
        }
        (Num::Int(x) | Num::Long(x), Num::Int(y) | Num::Long(y)) => {
            let result = match op {
                BinOp::Add => x.wrapping_add(y),
                BinOp::Sub => x.wrapping_sub(y),
                BinOp::Mul => x.wrapping_mul(y),
                BinOp::Div if y == 0 => return Err(by_zero()),
                BinOp::Div => x.wrapping_div(y),
                _ if y == 0 => return Err(by_zero()),
                _ => x.wrapping_rem(y),
            };
            Ok(Num::Long(result))
        }
    }
}

/// Unary minus.
pub fn negate(value: &Value) -> Result<Value, Fault> {
    match value {
        Value::Number(n) => to_value(match number(n) {
            Num::Int(i) => Num::Int(i64::from((i as i32).wrapping_neg())),
            Num::Long(i) => Num::Long(i.wrapping_neg()),
            Num::Double(f) => Num::Double(-f),
        }),
        Value::Null => Err(null_receiver()),
        other => Err((
            "class_cast_exception",
            format!("Cannot apply [-] operation to type [{}].", java_type(other)),
        )),
    }
}

/// A value used as a `boolean` (conditions, `!`, `&&`, `||`).
pub fn truth(value: &Value) -> Result<bool, Fault> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Null => Err(null_receiver()),
        other => Err((
            "class_cast_exception",
            format!(
                "class {} cannot be cast to class java.lang.Boolean",
                java_type(other)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn java_promotion() {
        let add = |a, b| binary(BinOp::Add, &a, &b);
        assert_eq!(add(json!(1), json!(2)), Ok(json!(3)));
        assert_eq!(add(json!(2147483647), json!(1)), Ok(json!(-2147483648)));
        assert_eq!(
            add(json!(2147483648_i64), json!(1)),
            Ok(json!(2147483649_i64))
        );
        assert_eq!(add(json!(1), json!(0.5)), Ok(json!(1.5)));
        assert_eq!(add(json!("n="), json!(1)), Ok(json!("n=1")));
        assert_eq!(add(json!(1.0), json!("")), Ok(json!("1.0")));
        assert_eq!(binary(BinOp::Div, &json!(7), &json!(2)), Ok(json!(3)));
        assert_eq!(
            binary(BinOp::Rem, &json!(7), &json!(0)).unwrap_err().0,
            "arithmetic_exception"
        );
        assert_eq!(
            add(Value::Null, json!(1)).unwrap_err(),
            (
                "null_pointer_exception",
                "Cannot invoke \"Object.getClass()\" because \"left\" is null".to_string()
            )
        );
        assert_eq!(
            add(json!(true), json!(1)).unwrap_err().1,
            "Cannot apply [+] operation to types [java.lang.Boolean] and [java.lang.Integer]."
        );
    }

    #[test]
    fn equality_promotes_numbers_only() {
        assert!(equal(&json!(1), &json!(1.0)));
        assert!(!equal(&json!([1]), &json!([1.0])));
        assert!(equal(&json!("a"), &json!("a")));
        assert_eq!(binary(BinOp::Lt, &json!(1), &json!(1.5)), Ok(json!(true)));
        assert_eq!(java_string(&json!({"a": [1, null]})), "{a=[1, null]}");
    }
}
