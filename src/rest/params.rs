//! Query parameters the way Elasticsearch's `RestRequest` handles them: every parameter a handler
//! reads is "consumed"; once the handler has read what it needs, any parameter left over is
//! rejected (`BaseRestHandler.unrecognized`, with its "did you mean" suggestions). Typed readers
//! raise Elasticsearch's parse errors.

use std::collections::BTreeMap;
use std::time::Duration;

use super::error::RestError;
use super::suggest::similar;
use crate::protocol::active_shards::{ActiveShardCount, ActiveShardCountError};
use crate::protocol::validate::{check_if_primary_term, check_if_seq_no};
use crate::protocol::{SeqNo, Term};
use crate::rest::envelope::EsError;

/// Parameters every handler accepts (read by Elasticsearch's channel, not the handler).
const RESPONSE_PARAMS: [&str; 3] = ["pretty", "human", "error_trace"];

/// The `refresh` policy of a write (`WriteRequest.RefreshPolicy`): `true` refreshes the shard
/// before answering (`forced_refresh`), `wait_for` waits for the next refresh to show the write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Refresh {
    #[default]
    None,
    Immediate,
    WaitUntil,
}

/// The decoded query parameters of one request and the keys its handler consumed.
#[derive(Debug)]
pub struct Params {
    path: String,
    values: BTreeMap<String, String>,
    consumed: Vec<&'static str>,
}

fn hex(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|d| d as u8)
}

/// Percent-decoding as `RestUtils.decodeComponent` (`+` is a space in query strings).
pub fn decode_component(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn number_error(kind: &str, key: &str, value: &str) -> RestError {
    RestError::exception(
        400,
        EsError::new(
            "illegal_argument_exception",
            format!("Failed to parse {kind} parameter [{key}] with value [{value}]"),
        )
        .caused_by(EsError::new(
            "number_format_exception",
            format!("For input string: \"{value}\""),
        )),
    )
}

/// `TimeValue.parseTimeValue`: `-1`, `0`, or a number with a unit (`nanos`, `micros`, `ms`, `s`,
/// `m`, `h`, `d`).
pub fn parse_time(key: &str, value: &str) -> Result<Option<Duration>, RestError> {
    let fail = |why: &str| {
        RestError::parse(format!(
            "failed to parse setting [{key}] with value [{value}] as a time value: {why}"
        ))
    };
    let normalized = value.trim().to_lowercase();
    if normalized == "-1" {
        return Ok(None);
    }
    if normalized == "0" {
        return Ok(Some(Duration::ZERO));
    }
    let units: [(&str, f64); 7] = [
        ("nanos", 1e-9),
        ("micros", 1e-6),
        ("ms", 1e-3),
        ("s", 1.0),
        ("m", 60.0),
        ("h", 3600.0),
        ("d", 86400.0),
    ];
    let (number, seconds) = units
        .iter()
        .find_map(|(unit, seconds)| normalized.strip_suffix(unit).map(|n| (n.trim(), *seconds)))
        .ok_or_else(|| fail("unit is missing or unrecognized"))?;
    let number: f64 = number.parse().map_err(|_| {
        RestError::exception(
            400,
            EsError::new("parse_exception", format!("failed to parse [{value}]")).caused_by(
                EsError::new(
                    "number_format_exception",
                    format!("For input string: \"{number}\""),
                ),
            ),
        )
    })?;
    if number < 0.0 {
        return Err(fail("negative durations are not supported"));
    }
    Duration::try_from_secs_f64(number * seconds)
        .map(Some)
        .map_err(|_| fail("unit is missing or unrecognized"))
}

impl Params {
    /// Parse the query string of a request to `path` (its raw path, decoded for messages).
    pub fn parse(path: &str, query: Option<&str>) -> Params {
        let mut values = BTreeMap::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            values.insert(decode_component(key, true), decode_component(value, true));
        }
        let consumed = RESPONSE_PARAMS.to_vec();
        Params {
            path: path.to_string(),
            values,
            consumed,
        }
    }

    /// Mark path parameters (`index`, `id`) as consumed, as Elasticsearch's router does.
    pub fn path_params(mut self, keys: &[&'static str]) -> Params {
        self.consumed.extend_from_slice(keys);
        self
    }

    /// Whether `?pretty` asks for indented output.
    pub fn pretty(&self) -> bool {
        self.values.get("pretty").is_some_and(|v| v != "false")
    }

    /// The raw value of `key`, consuming it.
    pub fn str(&mut self, key: &'static str) -> Option<String> {
        if !self.consumed.contains(&key) {
            self.consumed.push(key);
        }
        self.values.get(key).cloned()
    }

    /// A comma-separated list (`Strings.splitStringByCommaToArray`), consuming it; empty names
    /// are dropped, so `stored_fields=` is an empty list, not no list.
    pub fn list(&mut self, key: &'static str) -> Option<Vec<String>> {
        self.str(key).map(|names| {
            names
                .split(',')
                .filter(|name| !name.is_empty())
                .map(String::from)
                .collect()
        })
    }

    /// Whether `key` was given (without consuming it).
    pub fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// Consume parameters that are accepted and have no effect here.
    pub fn accept(&mut self, keys: &[&'static str]) {
        self.consumed.extend_from_slice(keys);
    }

    /// `paramAsLong`.
    pub fn long(&mut self, key: &'static str) -> Result<Option<i64>, RestError> {
        self.str(key)
            .map(|v| v.parse().map_err(|_| number_error("long", key, &v)))
            .transpose()
    }

    /// `paramAsInt`.
    pub fn int(&mut self, key: &'static str) -> Result<Option<i32>, RestError> {
        self.str(key)
            .map(|v| v.parse().map_err(|_| number_error("int", key, &v)))
            .transpose()
    }

    /// `if_seq_no`, checked by `setIfSeqNo` (`-2` means unset).
    pub fn if_seq_no(&mut self) -> Result<Option<SeqNo>, RestError> {
        match self.long("if_seq_no")? {
            Some(raw) => check_if_seq_no(raw).map_err(RestError::illegal_argument),
            None => Ok(None),
        }
    }

    /// `if_primary_term`, checked by `setIfPrimaryTerm`.
    pub fn if_primary_term(&mut self) -> Result<Option<Term>, RestError> {
        self.long("if_primary_term")?
            .map(|raw| check_if_primary_term(raw).map_err(RestError::illegal_argument))
            .transpose()
    }

    /// `paramAsBoolean`: empty means true.
    pub fn boolean(&mut self, key: &'static str) -> Result<Option<bool>, RestError> {
        self.str(key)
            .map(|v| match v.as_str() {
                "" | "true" => Ok(true),
                "false" => Ok(false),
                other => Err(RestError::illegal_argument(format!(
                    "Failed to parse value [{other}] as only [true] or [false] are allowed."
                ))),
            })
            .transpose()
    }

    /// `timeout` and similar time values.
    pub fn time(&mut self, key: &'static str) -> Result<Option<Duration>, RestError> {
        match self.str(key) {
            Some(v) => parse_time(key, &v),
            None => Ok(None),
        }
    }

    /// `refresh` (`WriteRequest.RefreshPolicy.parse`).
    pub fn refresh(&mut self) -> Result<Refresh, RestError> {
        match self.str("refresh").as_deref() {
            None | Some("false") => Ok(Refresh::None),
            Some("" | "true") => Ok(Refresh::Immediate),
            Some("wait_for") => Ok(Refresh::WaitUntil),
            Some(other) => Err(RestError::illegal_argument(format!(
                "Unknown value for refresh: [{other}]."
            ))),
        }
    }

    /// `wait_for_active_shards` (`ActiveShardCount.parseString`).
    pub fn active_shards(&mut self) -> Result<Option<ActiveShardCount>, RestError> {
        let Some(value) = self.str("wait_for_active_shards") else {
            return Ok(None);
        };
        match ActiveShardCount::parse(&value) {
            Ok(count) => Ok(Some(count)),
            Err(error @ ActiveShardCountError::NotANumber(_)) => Err(RestError::exception(
                400,
                EsError::new("illegal_argument_exception", error.to_string()).caused_by(
                    EsError::new(
                        "number_format_exception",
                        format!("For input string: \"{value}\""),
                    ),
                ),
            )),
            Err(error) => Err(RestError::illegal_argument(error.to_string())),
        }
    }

    /// Reject every parameter no one consumed, with Elasticsearch's text and suggestions.
    pub fn finish(&self) -> Result<(), RestError> {
        let invalid: Vec<&String> = self
            .values
            .keys()
            .filter(|k| !self.consumed.contains(&k.as_str()))
            .collect();
        if invalid.is_empty() {
            return Ok(());
        }
        let plural = if invalid.len() > 1 { "s" } else { "" };
        let mut message = format!(
            "request [{}] contains unrecognized parameter{plural}: ",
            decode_component(&self.path, false)
        );
        for (i, name) in invalid.iter().enumerate() {
            if i > 0 {
                message.push_str(", ");
            }
            message.push_str(&format!("[{name}]"));
            match similar(name, self.consumed.iter().copied()).as_slice() {
                [] => {}
                [one] => message.push_str(&format!(" -> did you mean [{one}]?")),
                many => {
                    message.push_str(&format!(" -> did you mean any of [{}]?", many.join(", ")));
                }
            }
        }
        Err(RestError::illegal_argument(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(error: RestError) -> String {
        match error {
            RestError::Exception { exception, .. } => exception.reason,
            other => panic!("not an exception: {other:?}"),
        }
    }

    #[test]
    fn unrecognized_parameters_with_suggestions() {
        let mut p =
            Params::parse("/idx/_doc/1", Some("foo=1&if_seqno=3")).path_params(&["index", "id"]);
        p.str("if_seq_no");
        p.str("if_primary_term");
        assert_eq!(
            reason(p.finish().unwrap_err()),
            "request [/idx/_doc/1] contains unrecognized parameters: [foo], [if_seqno] -> did you mean [if_seq_no]?"
        );
        let mut p = Params::parse("/idx/_doc/1", Some("x")).path_params(&["index", "id"]);
        p.str("routing");
        assert_eq!(
            reason(p.finish().unwrap_err()),
            "request [/idx/_doc/1] contains unrecognized parameter: [x]"
        );
        let p = Params::parse("/my%20idx/_doc/1", Some("x"));
        assert_eq!(
            reason(p.finish().unwrap_err()),
            "request [/my idx/_doc/1] contains unrecognized parameter: [x]"
        );
    }

    #[test]
    fn several_suggestions_are_listed_by_similarity() {
        let mut p = Params::parse("/i/_doc/1", Some("versio=1"));
        p.str("version");
        p.str("version_type");
        p.str("versions");
        assert_eq!(
            reason(p.finish().unwrap_err()),
            "request [/i/_doc/1] contains unrecognized parameter: [versio] -> did you mean any of [version, versions]?"
        );
    }

    #[test]
    fn typed_readers_raise_elasticsearch_errors() {
        let mut p = Params::parse(
            "/",
            Some("if_seq_no=abc&retry_on_conflict=x&refresh=maybe&wait_for_active_shards=-1"),
        );
        assert_eq!(
            reason(p.long("if_seq_no").unwrap_err()),
            "Failed to parse long parameter [if_seq_no] with value [abc]"
        );
        assert_eq!(
            reason(p.int("retry_on_conflict").unwrap_err()),
            "Failed to parse int parameter [retry_on_conflict] with value [x]"
        );
        assert_eq!(
            reason(p.refresh().unwrap_err()),
            "Unknown value for refresh: [maybe]."
        );
        assert_eq!(
            reason(p.active_shards().unwrap_err()),
            "shard count cannot be a negative value"
        );
        assert!(p.finish().is_ok());
    }

    #[test]
    fn time_values() {
        assert_eq!(
            parse_time("timeout", "1m").unwrap(),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_time("timeout", "100ms").unwrap(),
            Some(Duration::from_millis(100))
        );
        assert_eq!(parse_time("timeout", "-1").unwrap(), None);
        assert_eq!(
            reason(parse_time("timeout", "5").unwrap_err()),
            "failed to parse setting [timeout] with value [5] as a time value: unit is missing or unrecognized"
        );
    }

    #[test]
    fn decoding() {
        assert_eq!(decode_component("a%20b+c", true), "a b c");
        assert_eq!(decode_component("a+b%2", false), "a+b%2");
        let p = Params::parse("/", Some("pretty"));
        assert!(p.pretty());
    }
}
