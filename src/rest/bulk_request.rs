//! Parsing a `_bulk` body (`BulkRequestParser`): NDJSON action/metadata lines, each followed by
//! a source line except for deletes, with Elasticsearch 8's errors. A malformed line fails the
//! whole request (400); problems with one document are left to execution, per item.

use serde_json::{Map, Value};

use super::error::RestError;
use super::handlers::update::UpdateBody;
use super::handlers::{json_message, parse_request_object};
use super::source_filter::SourceFilter;
use super::strict_json::{self, TopLevel};
use crate::protocol::validate::{
    check_if_primary_term, check_if_seq_no, check_retry_on_conflict, WriteParams,
};
use crate::protocol::{OpType, VersionType};

/// What an item does.
#[derive(Debug)]
pub enum BulkOp {
    /// `index` or `create` with the raw source line (parsed on the shard, as Elasticsearch does).
    Index(Vec<u8>),
    Delete,
    Update(Box<UpdateBody>),
}

/// One item of a bulk request.
#[derive(Debug)]
pub struct BulkItem {
    /// `index`, `create`, `update` or `delete`: the key of the item in the response.
    pub action: &'static str,
    pub index: Option<String>,
    pub id: Option<String>,
    pub routing: Option<String>,
    pub params: WriteParams,
    pub retry_on_conflict: u32,
    /// `_source` of an update's action line: what its response's `get` shows.
    pub source: Option<SourceFilter>,
    /// `pipeline` and `require_alias` of the action line (`None`: the request's).
    pub pipeline: Option<String>,
    pub require_alias: Option<bool>,
    pub op: BulkOp,
}

/// The metadata keys Elasticsearch 8 accepts on an action line.
const KNOWN_KEYS: [&str; 15] = [
    "_index",
    "_id",
    "routing",
    "op_type",
    "version",
    "version_type",
    "if_seq_no",
    "if_primary_term",
    "retry_on_conflict",
    "pipeline",
    "_source",
    "require_alias",
    "dynamic_templates",
    "require_data_stream",
    "list_executed_pipelines",
];

/// Jackson's token name for the first token of a JSON value.
pub fn token(value: &Value) -> &'static str {
    match value {
        Value::Object(_) => "START_OBJECT",
        Value::Array(_) => "START_ARRAY",
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::Null => "VALUE_NULL",
    }
}

/// A scalar as `parser.text()` gives it.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn malformed(line: usize, what: String) -> RestError {
    RestError::illegal_argument(format!("Malformed action/metadata line [{line}], {what}"))
}

/// Jackson's `InputCoercionException` for a number token out of a Java type's range.
fn out_of_range(number: &serde_json::Number, java: &str, min: i64, max: i64) -> RestError {
    RestError::x_content_parse(format!(
        "Numeric value ({number}) out of range of {java} ({min} - {max})"
    ))
}

/// `Numbers.toLong` / `toInt` for a string out of range.
fn out_of_range_text(raw: &str, java: &str) -> RestError {
    let what = if java == "int" {
        "an integer"
    } else {
        "a long"
    };
    RestError::illegal_argument(format!("Value [{raw}] is out of range for {what}"))
}

/// `XContentParser.longValue()` (coercing): a number token, truncated, or a string read by
/// `Numbers.toLong`.
fn long_value(key: &str, value: &Value) -> Result<i64, RestError> {
    integer_value(key, value, "long", i64::MIN, i64::MAX)
}

/// `XContentParser.intValue()` (coercing), as [`long_value`] for an `int`.
fn int_value(key: &str, value: &Value) -> Result<i32, RestError> {
    let n = integer_value(key, value, "int", i32::MIN.into(), i32::MAX.into())?;
    Ok(i32::try_from(n).unwrap_or_default())
}

fn integer_value(
    key: &str,
    value: &Value,
    java: &str,
    min: i64,
    max: i64,
) -> Result<i64, RestError> {
    // [min, max] with max = -min - 1, exactly in floating point: [min, -min).
    let in_range = |n: f64| n.trunc() >= min as f64 && n.trunc() < -(min as f64);
    match value {
        Value::Number(number) => match (number.as_i64(), number.as_f64()) {
            (Some(n), _) if (min..=max).contains(&n) => Ok(n),
            (None, Some(f)) if number.is_f64() && in_range(f) => Ok(f.trunc() as i64),
            _ => Err(out_of_range(number, java, min, max)),
        },
        _ => {
            let raw = text(value);
            if let Ok(n) = raw.trim().parse::<i128>() {
                return i64::try_from(n)
                    .ok()
                    .filter(|n| (min..=max).contains(n))
                    .ok_or_else(|| out_of_range_text(&raw, java));
            }
            // `Numbers.toLong` / `toInt`: a number out of range, or not a number at all.
            match raw.trim().parse::<f64>() {
                Ok(f) if f.is_finite() && in_range(f) => Ok(f.trunc() as i64),
                Ok(f) if f.is_finite() => Err(out_of_range_text(&raw, java)),
                _ => Err(RestError::illegal_argument(format!(
                    "[{key}] failed to parse value [{raw}] as a {java}"
                ))),
            }
        }
    }
}

/// `XContentParser.booleanValue()`: a boolean token, or a string read by `Booleans.parseBoolean`.
fn boolean_value(value: &Value) -> Result<bool, RestError> {
    match (value, text(value).as_str()) {
        (Value::Bool(b), _) => Ok(*b),
        (_, "true") => Ok(true),
        (_, "false") => Ok(false),
        (_, other) => Err(RestError::illegal_argument(format!(
            "Failed to parse value [{other}] as only [true] or [false] are allowed."
        ))),
    }
}

/// An action (`index`, `create`, `update`, `delete`) and its metadata object.
type Action = (&'static str, Map<String, Value>);

/// The action and metadata of one action line (`None` for a blank line).
fn parse_action(line: usize, raw: &[u8]) -> Result<Option<Action>, RestError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value = strict_json::top_level_from_slice(raw).map_err(|e| {
        RestError::x_content_parse(format!(
            "[{}:{}] {}",
            e.line(),
            e.column(),
            json_message(&e)
        ))
    })?;
    let entries = match value {
        TopLevel::Object(entries) => entries,
        TopLevel::Other(value) => {
            return Err(malformed(
                line,
                format!("expected START_OBJECT but found [{}]", token(&value)),
            ))
        }
    };
    let mut entries = entries.into_iter();
    let Some((action, metadata)) = entries.next() else {
        return Err(malformed(
            line,
            "expected FIELD_NAME but found [END_OBJECT]".into(),
        ));
    };
    let action = match action.as_str() {
        "index" => "index",
        "create" => "create",
        "update" => "update",
        "delete" => "delete",
        other => {
            return Err(malformed(
                line,
                format!(
                    "expected field [create], [delete], [index] or [update] but found [{other}]"
                ),
            ))
        }
    };
    let Value::Object(metadata) = metadata else {
        return Err(malformed(
            line,
            format!(
                "expected START_OBJECT or END_OBJECT but found [{}]",
                token(&metadata)
            ),
        ));
    };
    // The parser expects the action object to end after its one field.
    if entries.next().is_some() {
        return Err(malformed(
            line,
            "expected END_OBJECT but found [FIELD_NAME]".into(),
        ));
    }
    Ok(Some((action, metadata)))
}

/// Turn one action's metadata into an item (without its source yet).
fn item(
    line: usize,
    action: &'static str,
    metadata: &Map<String, Value>,
) -> Result<BulkItem, RestError> {
    let mut item = BulkItem {
        action,
        index: None,
        id: None,
        routing: None,
        params: WriteParams {
            op_type: if action == "create" {
                OpType::Create
            } else {
                OpType::Index
            },
            ..WriteParams::default()
        },
        retry_on_conflict: 0,
        source: None,
        pipeline: None,
        require_alias: None,
        op: BulkOp::Delete,
    };
    for (key, value) in metadata {
        match value {
            Value::Null => continue,
            Value::Object(_) if key == "dynamic_templates" => continue,
            Value::Object(_) if key == "_source" => {}
            Value::Array(_) | Value::Object(_) => {
                return Err(malformed(
                    line,
                    format!(
                        "expected a simple value for field [{key}] but found [{}]",
                        token(value)
                    ),
                ))
            }
            _ if !KNOWN_KEYS.contains(&key.as_str()) => {
                return Err(RestError::illegal_argument(format!(
                    "Action/metadata line [{line}] contains an unknown parameter [{key}]"
                )))
            }
            _ => {}
        }
        match key.as_str() {
            "_index" => item.index = Some(text(value)),
            "_id" => item.id = Some(text(value)),
            "routing" => item.routing = Some(text(value)),
            "op_type" if action == "index" => {
                let raw = text(value);
                item.params.op_type = OpType::parse(&raw.to_lowercase()).map_err(|_| {
                    RestError::illegal_argument(format!(
                        "opType must be 'create' or 'index', found: [{raw}]"
                    ))
                })?;
            }
            "version" => item.params.version = Some(long_value(key, value)?),
            "version_type" => {
                item.params.version_type =
                    Some(VersionType::parse(&text(value)).map_err(RestError::illegal_argument)?)
            }
            "if_seq_no" => {
                item.params.if_seq_no =
                    check_if_seq_no(long_value(key, value)?).map_err(RestError::illegal_argument)?
            }
            "if_primary_term" => {
                item.params.if_primary_term = Some(
                    check_if_primary_term(long_value(key, value)?)
                        .map_err(RestError::illegal_argument)?,
                )
            }
            "_source" => {
                item.source = Some(SourceFilter::from_body(value).ok_or_else(|| {
                    RestError::illegal_argument(format!(
                        "Action/metadata line [{line}] has an invalid [_source]"
                    ))
                })?)
            }
            "pipeline" => item.pipeline = Some(text(value)),
            "require_alias" => item.require_alias = Some(boolean_value(value)?),
            "retry_on_conflict" => {
                item.retry_on_conflict = check_retry_on_conflict(int_value(key, value)?)
                    .map_err(RestError::illegal_argument)?;
            }
            _ => {}
        }
    }
    // `IndexRequest.opType()`: an index action with `op_type: create` is a create, and is
    // answered under `create`.
    if item.params.op_type == OpType::Create {
        item.action = "create";
    }
    if action == "update" && (item.params.version.is_some() || item.params.version_type.is_some()) {
        return Err(RestError::illegal_argument(
            "Update requests do not support versioning. Please use `if_seq_no` and `if_primary_term` instead",
        ));
    }
    Ok(item)
}

/// Parse a bulk body into its items, at most `max_items` of them (esocc's own limit: the
/// request fails before anything runs).
pub fn parse(data: &[u8], max_items: usize) -> Result<Vec<BulkItem>, RestError> {
    if data.last().is_some_and(|b| *b != b'\n') {
        return Err(RestError::illegal_argument(
            "The bulk request must be terminated by a newline [\\n]",
        ));
    }
    let mut lines = data
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l));
    let mut items = Vec::new();
    while let Some((line, raw)) = lines.next() {
        let Some((action, metadata)) = parse_action(line, raw)? else {
            continue;
        };
        if items.len() == max_items {
            return Err(RestError::illegal_argument(format!(
                "bulk request has more than [{max_items}] items (line [{line}]); send at most [{max_items}] per request (esocc serve --max-bulk-items)"
            )));
        }
        let mut item = item(line, action, &metadata)?;
        if action != "delete" {
            let Some((_, source)) = lines.next() else {
                break;
            };
            item.op = match action {
                "update" => {
                    let body = parse_request_object(source)?;
                    BulkOp::Update(Box::new(UpdateBody::defaults(false).parse(&body, source)?))
                }
                _ => BulkOp::Index(source.to_vec()),
            };
        }
        items.push(item);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(body: &str) -> String {
        match parse(body.as_bytes(), 3).unwrap_err() {
            RestError::Exception { exception, .. } => exception.reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_lines_fail_the_request() {
        assert_eq!(
            reason("{\"index\":{}}\n{}"),
            "The bulk request must be terminated by a newline [\\n]"
        );
        assert_eq!(
            reason("{\"invalidaction\":{}}\n"),
            "Malformed action/metadata line [1], expected field [create], [delete], [index] or [update] but found [invalidaction]"
        );
        assert_eq!(
            reason("[1]\n"),
            "Malformed action/metadata line [1], expected START_OBJECT but found [START_ARRAY]"
        );
        assert_eq!(
            reason("{}\n"),
            "Malformed action/metadata line [1], expected FIELD_NAME but found [END_OBJECT]"
        );
        assert_eq!(
            reason("{\"delete\":{\"_id\":\"1\"}}\n{\"delete\":{\"_id\":\"1\",\"foo\":1}}\n"),
            "Action/metadata line [2] contains an unknown parameter [foo]"
        );
        assert_eq!(
            reason("{\"delete\":{\"_id\":[1]}}\n"),
            "Malformed action/metadata line [1], expected a simple value for field [_id] but found [START_ARRAY]"
        );
        assert_eq!(
            reason("{\"index\":{},\"delete\":{}}\n{}\n"),
            "Malformed action/metadata line [1], expected END_OBJECT but found [FIELD_NAME]"
        );
        assert_eq!(
            reason("{\"index\":{},\"index\":{}}\n{}\n"),
            "Malformed action/metadata line [1], expected END_OBJECT but found [FIELD_NAME]"
        );
        assert_eq!(
            reason("{\"delete\":{\"_id\":\"1\"}}\n".repeat(4).as_str()),
            "bulk request has more than [3] items (line [4]); send at most [3] per request (esocc serve --max-bulk-items)"
        );
        assert_eq!(
            reason("{\"index\":{\"_id\":\"1\",\"version\":9223372036854775808}}\n{}\n"),
            "Numeric value (9223372036854775808) out of range of long (-9223372036854775808 - 9223372036854775807)"
        );
        assert_eq!(
            reason("{\"index\":{\"_id\":\"1\",\"if_seq_no\":\"9223372036854775808\"}}\n{}\n"),
            "Value [9223372036854775808] is out of range for a long"
        );
        assert_eq!(
            reason("{\"update\":{\"_id\":\"1\",\"retry_on_conflict\":2147483648}}\n{\"doc\":{}}\n"),
            "Numeric value (2147483648) out of range of int (-2147483648 - 2147483647)"
        );
        assert_eq!(
            reason("{\"update\":{\"_id\":\"1\",\"version\":2}}\n{\"doc\":{}}\n"),
            "Update requests do not support versioning. Please use `if_seq_no` and `if_primary_term` instead"
        );
    }

    #[test]
    fn items_carry_their_metadata_and_sources() {
        let body = "{\"index\":{\"_index\":\"i\",\"_id\":\"1\",\"if_seq_no\":3,\"if_primary_term\":1}}\n{\"a\":1}\n\n{\"delete\":{\"_id\":2}}\n{\"update\":{\"_id\":\"3\",\"retry_on_conflict\":2}}\n{\"doc\":{\"b\":2},\"doc_as_upsert\":true}\n{\"create\":{}}\n{}\n";
        let items = parse(body.as_bytes(), 4).unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].action, "index");
        assert_eq!(items[0].params.if_seq_no, Some(3));
        assert!(matches!(&items[0].op, BulkOp::Index(s) if s == b"{\"a\":1}"));
        assert_eq!(items[1].id.as_deref(), Some("2"));
        assert_eq!(items[2].retry_on_conflict, 2);
        assert!(matches!(&items[2].op, BulkOp::Update(u) if u.doc_as_upsert));
        assert_eq!(items[3].params.op_type, OpType::Create);
    }

    #[test]
    fn an_index_action_with_op_type_create_is_a_create_and_flags_are_read() {
        let body = "{\"index\":{\"_id\":\"1\",\"op_type\":\"create\",\"pipeline\":\"p\",\"require_alias\":\"true\"}}\n{}\n{\"index\":{\"require_alias\":false}}\n{}\n";
        let items = parse(body.as_bytes(), 2).unwrap();
        assert_eq!(items[0].action, "create");
        assert!(matches!(items[0].op, BulkOp::Index(_)));
        assert_eq!(items[0].pipeline.as_deref(), Some("p"));
        assert_eq!(items[0].require_alias, Some(true));
        assert_eq!(items[1].action, "index");
        assert_eq!(items[1].require_alias, Some(false));
        assert_eq!(
            reason("{\"index\":{\"require_alias\":\"yes\"}}\n{}\n"),
            "Failed to parse value [yes] as only [true] or [false] are allowed."
        );
    }
}
