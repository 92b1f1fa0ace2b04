//! JSON read as strictly as Elasticsearch reads it, and documents checked as its
//! `DocumentParser` checks them.
//!
//! - [`from_slice`]: Elasticsearch's JSON parser runs with Jackson's `STRICT_DUPLICATE_DETECTION`,
//!   so `{"a":1,"a":2}` is an error (`Duplicate field 'a'`) instead of serde_json's last-one-wins.
//! - [`check_document`]: the field-name rules of `DotExpandingXContentParser` (empty names,
//!   names of dots only, empty or blank parts around dots; a dotted name is an object path),
//!   `DocumentParser`'s blank names and metadata fields (`_id`, `_source`, ... at the root), and
//!   `index.mapping.depth.limit` (20) as `MappingLookup.checkObjectDepthLimit` counts it.
//! - [`heap_size`]: what a parsed value occupies, for the `request` breaker.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::breaker::{CircuitBreaking, Reservation};

/// `index.mapping.depth.limit`'s default.
pub const MAPPING_DEPTH_LIMIT: usize = 20;

/// The metadata fields of an Elasticsearch 8 index (`IndicesModule.getMetadataMappers`), which a
/// document may not contain at its root.
const METADATA_FIELDS: [&str; 14] = [
    "_data_stream_timestamp",
    "_doc_count",
    "_feature",
    "_field_names",
    "_id",
    "_ignored",
    "_ignored_source",
    "_index",
    "_nested_path",
    "_routing",
    "_seq_no",
    "_source",
    "_tier",
    "_version",
];

/// Counts what a parse allocates onto a breaker reservation, in steps of [`METER_STEP`], so a
/// body that would parse into more than the breaker allows is refused while it is parsed rather
/// than after (JSON of small values can take ten times its size once parsed).
pub struct Meter<'r> {
    reservation: Option<&'r mut Reservation>,
    label: &'static str,
    pending: u64,
    refused: Option<CircuitBreaking>,
}

/// Bytes counted before the reservation is grown.
const METER_STEP: u64 = 64 * 1024;

impl<'r> Meter<'r> {
    /// A meter that counts nothing (request bodies the breaker does not see).
    fn none() -> Meter<'r> {
        Meter {
            reservation: None,
            label: "",
            pending: 0,
            refused: None,
        }
    }

    /// Count `bytes`; `false` once the breaker refused (the refusal is kept).
    fn add(&mut self, bytes: u64) -> bool {
        self.pending += bytes;
        if self.pending < METER_STEP {
            return true;
        }
        match self.flush() {
            Ok(()) => true,
            Err(refused) => {
                self.refused = Some(refused);
                false
            }
        }
    }

    /// Reserve what was counted since the last step.
    fn flush(&mut self) -> Result<(), CircuitBreaking> {
        let pending = std::mem::take(&mut self.pending);
        match self.reservation.as_deref_mut() {
            Some(reservation) => reservation.grow(pending, self.label),
            None => Ok(()),
        }
    }
}

/// A value whose objects may not repeat a key, its size counted on a [`Meter`].
#[derive(Clone, Copy)]
struct Strict<'a, 'r> {
    meter: &'a RefCell<Meter<'r>>,
}

impl Strict<'_, '_> {
    /// Count `bytes` of the value being built, or fail the parse.
    fn count<E: de::Error>(&self, bytes: u64) -> Result<(), E> {
        if self.meter.borrow_mut().add(bytes) {
            Ok(())
        } else {
            Err(E::custom("circuit breaker"))
        }
    }

    fn leaf<E: de::Error>(&self, value: Value, extra: u64) -> Result<Value, E> {
        self.count(NODE + extra)?;
        Ok(value)
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.leaf(Value::Bool(v), 0)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.leaf(Value::Number(v.into()), 0)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.leaf(Value::Number(v.into()), 0)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.leaf(Number::from_f64(v).map_or(Value::Null, Value::Number), 0)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.leaf(Value::String(v.to_owned()), v.len() as u64)
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        let len = v.len() as u64;
        self.leaf(Value::String(v), len)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.leaf(Value::Null, 0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.count(NODE)?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.count(NODE)?;
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("Duplicate field '{key}'")));
            }
            self.count(ENTRY + key.len() as u64)?;
            let value = map.next_value_seed(self)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// A JSON value whose top-level object keeps its entries as written, repeated keys included:
/// what a parser that stops after the first field sees (`BulkRequestParser`'s action lines).
#[derive(Debug, PartialEq)]
pub enum TopLevel {
    Object(Vec<(String, Value)>),
    Other(Value),
}

struct Entries<'a, 'r>(Strict<'a, 'r>);

impl<'de> Visitor<'de> for Entries<'_, '_> {
    type Value = TopLevel;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<TopLevel, E> {
        self.0.visit_bool(v).map(TopLevel::Other)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<TopLevel, E> {
        self.0.visit_i64(v).map(TopLevel::Other)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<TopLevel, E> {
        self.0.visit_u64(v).map(TopLevel::Other)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<TopLevel, E> {
        self.0.visit_f64(v).map(TopLevel::Other)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<TopLevel, E> {
        self.0.visit_str(v).map(TopLevel::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<TopLevel, E> {
        self.0.visit_unit().map(TopLevel::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<TopLevel, A::Error> {
        self.0.visit_seq(seq).map(TopLevel::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            entries.push((key, map.next_value_seed(self.0)?));
        }
        Ok(TopLevel::Object(entries))
    }
}

/// Parse one JSON value, its top-level object as [`TopLevel`]; inner objects refuse duplicates.
pub fn top_level_from_slice(bytes: &[u8]) -> Result<TopLevel, serde_json::Error> {
    let meter = RefCell::new(Meter::none());
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value =
        de::Deserializer::deserialize_any(&mut deserializer, Entries(Strict { meter: &meter }))?;
    deserializer.end()?;
    Ok(value)
}

/// Parse one JSON value, refusing duplicate keys.
pub fn from_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    parse(bytes, &RefCell::new(Meter::none()))
}

fn parse(bytes: &[u8], meter: &RefCell<Meter>) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = Strict { meter }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Why a metered parse failed.
#[derive(Debug)]
pub enum ParseFailure {
    Json(serde_json::Error),
    /// The breaker refused the memory the parsed value takes.
    Refused(CircuitBreaking),
}

/// [`from_slice`], the parsed value's size reserved on `reservation` (labelled `label`) as it
/// is built.
pub fn from_slice_reserving(
    bytes: &[u8],
    reservation: &mut Reservation,
    label: &'static str,
) -> Result<Value, ParseFailure> {
    let meter = RefCell::new(Meter {
        reservation: Some(reservation),
        label,
        pending: 0,
        refused: None,
    });
    let parsed = parse(bytes, &meter);
    let mut meter = meter.into_inner();
    if let Some(refused) = meter.refused.take() {
        return Err(ParseFailure::Refused(refused));
    }
    let value = parsed.map_err(ParseFailure::Json)?;
    meter.flush().map_err(ParseFailure::Refused)?;
    Ok(value)
}

/// What is wrong with a document, and the field it is about (for its `[line:col]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocumentProblem {
    /// A metadata field at the root: a `DocumentParsingException` of its own.
    Metadata(String),
    /// A blank field name without dots (`DocumentParser.throwFieldNameBlank`): `path`.
    Blank { field: String, path: String },
    /// An `IllegalArgumentException` (`failed to parse: <message>`).
    Illegal { field: String, message: String },
}

impl DocumentProblem {
    /// The raw field name the problem is about.
    pub fn field(&self) -> &str {
        match self {
            DocumentProblem::Metadata(field)
            | DocumentProblem::Blank { field, .. }
            | DocumentProblem::Illegal { field, .. } => field,
        }
    }
}

/// `DotExpandingXContentParser.expandDots`: the object path a field name stands for.
fn split_field_name(field: &str) -> Result<Vec<&str>, String> {
    if field.is_empty() {
        return Err("field name cannot be an empty string".into());
    }
    let mut parts: Vec<&str> = field.split('.').collect();
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    if parts.is_empty() {
        return Err("field name cannot contain only dots".into());
    }
    match parts.iter().find(|p| p.trim().is_empty()) {
        Some(&"") => Err(format!(
            "field name cannot contain only whitespace: ['{field}']"
        )),
        Some(_) => Err(format!(
            "field name starting or ending with a [.] makes object resolution ambiguous: [{field}]"
        )),
        None => Ok(parts),
    }
}

/// Check the object at `path` (its parents' names, the root is empty).
fn check_object(
    object: &Map<String, Value>,
    path: &mut Vec<String>,
) -> Result<(), DocumentProblem> {
    for (field, value) in object {
        let illegal = |message: String| DocumentProblem::Illegal {
            field: field.clone(),
            message,
        };
        let parts = if field.contains('.') {
            split_field_name(field).map_err(illegal)?
        } else if field.is_empty() {
            return Err(illegal("field name cannot be an empty string".into()));
        } else {
            vec![field.as_str()]
        };
        if field.trim().is_empty() {
            let mut full = path.clone();
            full.push(field.clone());
            return Err(DocumentProblem::Blank {
                field: field.clone(),
                path: full.join("."),
            });
        }
        if path.is_empty() && METADATA_FIELDS.contains(&parts[0]) {
            return Err(DocumentProblem::Metadata(parts[0].to_string()));
        }
        let depth = path.len();
        // Every part but the last names an object; so does the last when its value is one.
        for (i, part) in parts.iter().enumerate() {
            path.push((*part).to_string());
            if i + 1 < parts.len() {
                check_depth(path, field)?;
            }
        }
        let checked = check_value(value, path, field);
        path.truncate(depth);
        checked?;
    }
    Ok(())
}

/// `checkObjectDepthLimit`: an object path's depth is its dots plus two.
fn check_depth(path: &[String], field: &str) -> Result<(), DocumentProblem> {
    if path.len() + 1 > MAPPING_DEPTH_LIMIT {
        return Err(DocumentProblem::Illegal {
            field: field.to_string(),
            message: format!(
                "Limit of mapping depth [{MAPPING_DEPTH_LIMIT}] has been exceeded due to object field [{}]",
                path.join(".")
            ),
        });
    }
    Ok(())
}

fn check_value(value: &Value, path: &mut Vec<String>, field: &str) -> Result<(), DocumentProblem> {
    match value {
        Value::Object(object) => {
            check_depth(path, field)?;
            check_object(object, path)
        }
        Value::Array(items) => items
            .iter()
            .try_for_each(|item| check_value(item, path, field)),
        _ => Ok(()),
    }
}

/// Check a document's field names and object depth as `DocumentParser` does.
pub fn check_document(source: &Map<String, Value>) -> Result<(), DocumentProblem> {
    check_object(source, &mut Vec::new())
}

/// `[line:col]` of the first `"key"` in `text`: where the parser would report the field.
pub fn field_location(text: &[u8], key: &str) -> String {
    let needle = serde_json::to_string(key).unwrap_or_default();
    let offset = text
        .windows(needle.len().max(1))
        .position(|w| w == needle.as_bytes())
        .unwrap_or(0);
    let before = &text[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = offset
        - before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    format!("[{line}:{column}]")
}

/// The node every value takes.
const NODE: u64 = std::mem::size_of::<Value>() as u64;

/// What an object entry takes besides its key's bytes and its value: the ordered map's bucket
/// (key `String`, hash) and index slot.
const ENTRY: u64 = std::mem::size_of::<String>() as u64 + 16;

/// Bytes a parsed value occupies on the heap, roughly: its node and strings' bytes, and per
/// object entry its key and the ordered map's bucket (hash, key) and index.
pub fn heap_size(value: &Value) -> u64 {
    match value {
        Value::String(s) => NODE + s.len() as u64,
        Value::Array(items) => NODE + items.iter().map(heap_size).sum::<u64>(),
        Value::Object(object) => object_heap_size(object),
        _ => NODE,
    }
}

/// [`heap_size`] of an object.
pub fn object_heap_size(object: &Map<String, Value>) -> u64 {
    NODE + object
        .iter()
        .map(|(key, value)| ENTRY + key.len() as u64 + heap_size(value))
        .sum::<u64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> DocumentProblem {
        match from_slice(text.as_bytes()).unwrap() {
            Value::Object(source) => check_document(&source).unwrap_err(),
            other => panic!("{other}"),
        }
    }

    fn illegal(text: &str) -> String {
        match problem(text) {
            DocumentProblem::Illegal { message, .. } => message,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        let error = from_slice(br#"{"a":1,"a":2}"#).unwrap_err();
        assert!(
            error.to_string().starts_with("Duplicate field 'a'"),
            "{error}"
        );
        assert!(from_slice(br#"{"o":{"b":1,"b":1}}"#).is_err());
        assert!(from_slice(br#"[{"b":1},{"b":1}]"#).is_ok());
        assert_eq!(
            from_slice(br#"{"a":[1,-2,2.5,"x",null,true]}"#).unwrap(),
            serde_json::json!({"a":[1,-2,2.5,"x",null,true]})
        );
    }

    #[test]
    fn field_names_follow_the_dot_expanding_parser() {
        assert_eq!(illegal(r#"{"":1}"#), "field name cannot be an empty string");
        assert_eq!(illegal(r#"{".":1}"#), "field name cannot contain only dots");
        assert_eq!(
            illegal(r#"{"..":1}"#),
            "field name cannot contain only dots"
        );
        assert_eq!(
            illegal(r#"{".a":1}"#),
            "field name cannot contain only whitespace: ['.a']"
        );
        assert_eq!(
            illegal(r#"{"a. .b":1}"#),
            "field name starting or ending with a [.] makes object resolution ambiguous: [a. .b]"
        );
        assert_eq!(
            problem(r#"{"o":{" ":1}}"#),
            DocumentProblem::Blank {
                field: " ".into(),
                path: "o. ".into()
            }
        );
        // As in Elasticsearch (issue 28948), a trailing dot is dropped, not refused.
        let source = from_slice(br#"{"a.":1,"b.c":{"d":2}}"#).unwrap();
        assert_eq!(check_document(source.as_object().unwrap()), Ok(()));
    }

    #[test]
    fn metadata_fields_only_at_the_root() {
        assert_eq!(
            problem(r#"{"_id":1}"#),
            DocumentProblem::Metadata("_id".into())
        );
        assert_eq!(
            problem(r#"{"_source.x":1}"#),
            DocumentProblem::Metadata("_source".into())
        );
        let nested = from_slice(br#"{"o":{"_id":1,"_seq_no":2}}"#).unwrap();
        assert_eq!(check_document(nested.as_object().unwrap()), Ok(()));
    }

    #[test]
    fn objects_deeper_than_the_limit_are_refused() {
        let nest = |n: usize| format!("{}1{}", r#"{"a":"#.repeat(n), "}".repeat(n));
        // The root plus 19 objects is depth 20: allowed; one more is not.
        let ok = from_slice(nest(20).as_bytes()).unwrap();
        assert_eq!(check_document(ok.as_object().unwrap()), Ok(()));
        let path = vec!["a"; 20].join(".");
        assert_eq!(
            illegal(&nest(21)),
            format!("Limit of mapping depth [20] has been exceeded due to object field [{path}]")
        );
        // Dotted names are object paths too.
        let dotted = format!(r#"{{"{}":1}}"#, vec!["a"; 21].join("."));
        assert!(illegal(&dotted).starts_with("Limit of mapping depth [20]"));
    }

    #[test]
    fn field_locations_are_one_based() {
        assert_eq!(field_location(br#"{"x":1}"#, "x"), "[1:2]");
        assert_eq!(field_location(b"{\n  \"doc\": 1}", "doc"), "[2:3]");
    }

    #[test]
    fn a_reserving_parse_stops_when_the_breaker_refuses() {
        use crate::rest::breaker::{BreakerLimits, Breakers, Child};
        let breakers = Breakers::with_real_memory(
            BreakerLimits {
                inflight_requests: u64::MAX,
                request: 100 << 10,
                total: u64::MAX,
            },
            || None,
        );
        // 100 KB of `0,` parses into 50 000 values of 32 bytes or more.
        let zeros = format!("[{}0]", "0,".repeat(50_000));
        let mut held = breakers.reserve(Child::Request, 0, "t").unwrap();
        match from_slice_reserving(zeros.as_bytes(), &mut held, "t") {
            Err(ParseFailure::Refused(refused)) => {
                assert!(refused
                    .reason
                    .starts_with("[request] Data too large, data for [t] would be ["));
                assert_eq!(refused.bytes_limit, 100 << 10);
            }
            other => panic!("{other:?}"),
        }
        drop(held);
        assert_eq!(breakers.used(Child::Request), 0);
        // A small value is reserved whole, the last step included.
        let mut held = breakers.reserve(Child::Request, 0, "t").unwrap();
        let value = from_slice_reserving(br#"{"a":"bc"}"#, &mut held, "t").unwrap();
        assert_eq!(breakers.used(Child::Request), heap_size(&value));
    }

    #[test]
    fn heap_sizes_grow_with_content() {
        let small = heap_size(&serde_json::json!({"a":1}));
        let large = heap_size(&serde_json::json!({"a":"x".repeat(1000)}));
        assert!(large >= small + 1000);
        assert!(heap_size(&serde_json::json!([1, 2, 3])) > heap_size(&serde_json::json!([1])));
    }
}
