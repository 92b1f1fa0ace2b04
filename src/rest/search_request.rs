//! The body and parameters of `_search`, `_count` and the by-query APIs: the query DSL subset
//! ([`crate::search::Query`]), `from`, `size`, `sort`, `_source`, `version`,
//! `seq_no_primary_term`, `track_total_hits`, parsed with Elasticsearch's errors
//! (`AbstractQueryBuilder.parseInnerQueryBuilder`, `SearchSourceBuilder.parseXContent`).
//! Error locations (`line`, `col`) point at the first occurrence of the offending key in the
//! body, where Jackson's would point at the token after it.

use serde_json::{Map, Value};

use super::bulk_request::token;
use super::error::RestError;
use super::params::Params;
use super::source_filter::SourceFilter;
use super::strict_json::field_location;
use super::suggest::did_you_mean;
use crate::rest::envelope::EsError;
use crate::search::{BoolQuery, Bound, MinimumShouldMatch, Query, SortField, SortKey};

/// Elasticsearch's default `track_total_hits`: totals are exact up to this many hits.
/// The query names Elasticsearch's `SearchModule.registerQueryParsers` registers, every name of
/// each (`NamedXContentRegistry` keys deprecated names too), the candidates of an unknown query's
/// suggestion (`AbstractQueryBuilder.parseTopLevelQuery`). Queries that modules and plugins of
/// the default distribution add (`percolate`, `has_child`, `pinned`, ...) are not among them.
const QUERY_NAMES: &[&str] = &[
    "match",
    "match_phrase",
    "match_phrase_prefix",
    "multi_match",
    "combined_fields",
    "nested",
    "dis_max",
    "ids",
    "match_all",
    "query_string",
    "boosting",
    "bool",
    "term",
    "terms",
    "fuzzy",
    "regexp",
    "range",
    "prefix",
    "wildcard",
    "constant_score",
    "span_term",
    "span_not",
    "span_within",
    "span_containing",
    "span_field_masking",
    "field_masking_span",
    "span_first",
    "span_near",
    "span_gap",
    "span_or",
    "more_like_this",
    "wrapper",
    "span_multi",
    "function_score",
    "script_score",
    "simple_query_string",
    "script",
    "geo_distance",
    "geo_bounding_box",
    "geo_polygon",
    "exists",
    "match_none",
    "terms_set",
    "intervals",
    "distance_feature",
    "match_bool_prefix",
    "geo_shape",
    "knn",
    "knn_score_doc",
    "type",
];

pub const DEFAULT_TRACK_TOTAL_HITS: usize = 10_000;

/// A parsed search.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchRequest {
    pub query: Query,
    pub from: usize,
    pub size: usize,
    pub sort: Vec<SortKey>,
    pub source: SourceFilter,
    pub version: bool,
    pub seq_no_primary_term: bool,
    /// Exact totals up to this many hits (`None`: `track_total_hits: false`).
    pub track_total_hits: Option<usize>,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            query: Query::MatchAll { boost: 1.0 },
            from: 0,
            size: 10,
            sort: Vec::new(),
            source: SourceFilter::whole(true),
            version: false,
            seq_no_primary_term: false,
            track_total_hits: Some(DEFAULT_TRACK_TOTAL_HITS),
        }
    }
}

/// Parses with the body's text at hand, for error locations.
pub struct QueryParser<'a> {
    text: &'a [u8],
}

/// A `parsing_exception` located at `key` in the body.
fn parsing(text: &[u8], key: &str, reason: String) -> RestError {
    let (line, col) = location(text, key);
    RestError::exception(
        400,
        EsError::new("parsing_exception", reason)
            .with_detail("line", Value::from(line))
            .with_detail("col", Value::from(col)),
    )
}

fn location(text: &[u8], key: &str) -> (u64, u64) {
    let at = field_location(text, key);
    let inner = at.trim_start_matches('[').trim_end_matches(']');
    let (line, col) = inner.split_once(':').unwrap_or(("1", "1"));
    (line.parse().unwrap_or(1), col.parse().unwrap_or(1))
}

impl<'a> QueryParser<'a> {
    pub fn new(text: &'a [u8]) -> Self {
        QueryParser { text }
    }

    fn error(&self, key: &str, reason: String) -> RestError {
        parsing(self.text, key, reason)
    }

    /// A query clause: an object with exactly one query name.
    pub fn query(&self, value: &Value) -> Result<Query, RestError> {
        let Value::Object(clause) = value else {
            return Err(self.error(
                "query",
                "[_na] query malformed, must start with start_object".into(),
            ));
        };
        let mut entries = clause.iter();
        let Some((name, body)) = entries.next() else {
            let (line, col) = location(self.text, "query");
            return Err(RestError::illegal_argument(format!(
                "query malformed, empty clause found at [{line}:{col}]"
            )));
        };
        let Value::Object(body) = body else {
            return Err(self.error(
                name,
                format!("[{name}] query malformed, no start_object after query name"),
            ));
        };
        if let Some((next, _)) = entries.next() {
            return Err(self.error(
                next,
                format!("[{name}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]"),
            ));
        }
        match name.as_str() {
            "match_all" => Ok(Query::MatchAll {
                boost: self.only_boost(name, body)?,
            }),
            "match_none" => {
                self.only_boost(name, body)?;
                Ok(Query::MatchNone)
            }
            "ids" => self.ids(body),
            "term" => self.term(body),
            "terms" => self.terms(body),
            "range" => self.range(body),
            "exists" => self.exists(body),
            "bool" => self.bool(body),
            other => {
                let (line, col) = location(self.text, other);
                Err(RestError::exception(
                    400,
                    EsError::new(
                        "parsing_exception",
                        format!(
                            "unknown query [{other}]{}",
                            did_you_mean(other, QUERY_NAMES)
                        ),
                    )
                    .with_detail("line", Value::from(line))
                    .with_detail("col", Value::from(col))
                    .caused_by(EsError::new(
                        "named_object_not_found_exception",
                        format!("[{line}:{col}] unknown field [{other}]"),
                    )),
                ))
            }
        }
    }

    fn unsupported(&self, query: &str, key: &str) -> RestError {
        self.error(key, format!("[{query}] query does not support [{key}]"))
    }

    fn boost(&self, query: &str, value: &Value) -> Result<f64, RestError> {
        value
            .as_f64()
            .ok_or_else(|| self.error("boost", format!("[{query}] boost must be a number")))
    }

    fn only_boost(&self, query: &str, body: &Map<String, Value>) -> Result<f64, RestError> {
        let mut boost = 1.0;
        for (key, value) in body {
            match key.as_str() {
                "boost" => boost = self.boost(query, value)?,
                "_name" => {}
                other => return Err(self.unsupported(query, other)),
            }
        }
        Ok(boost)
    }

    fn ids(&self, body: &Map<String, Value>) -> Result<Query, RestError> {
        let mut values = Vec::new();
        let mut boost = 1.0;
        for (key, value) in body {
            match (key.as_str(), value) {
                ("values", Value::Array(items)) => {
                    for item in items {
                        match item {
                            Value::String(s) => values.push(s.clone()),
                            Value::Number(n) => values.push(n.to_string()),
                            _ => return Err(self.unsupported("ids", key)),
                        }
                    }
                }
                ("boost", v) => boost = self.boost("ids", v)?,
                ("_name", _) => {}
                (other, _) => return Err(self.unsupported("ids", other)),
            }
        }
        Ok(Query::Ids { values, boost })
    }

    /// The one field of a leaf query (`{"term":{"f":...}}`).
    fn single_field<'b>(
        &self,
        query: &str,
        body: &'b Map<String, Value>,
    ) -> Result<(&'b String, &'b Value), RestError> {
        let mut fields = body.iter().filter(|(k, _)| k.as_str() != "boost");
        let Some(first) = fields.next() else {
            return Err(self.error(
                query,
                format!("[{query}] query doesn't support multiple fields, found none"),
            ));
        };
        if let Some((second, _)) = fields.next() {
            return Err(self.error(
                second,
                format!(
                    "[{query}] query doesn't support multiple fields, found [{}] and [{second}]",
                    first.0
                ),
            ));
        }
        Ok(first)
    }

    fn term(&self, body: &Map<String, Value>) -> Result<Query, RestError> {
        let (field, spec) = self.single_field("term", body)?;
        let (value, boost) = match spec {
            Value::Object(inner) => {
                let mut value = None;
                let mut boost = 1.0;
                for (key, v) in inner {
                    match key.as_str() {
                        "value" => value = Some(v.clone()),
                        "boost" => boost = self.boost("term", v)?,
                        "_name" | "case_insensitive" => {}
                        other => return Err(self.unsupported("term", other)),
                    }
                }
                let value =
                    value.ok_or_else(|| RestError::illegal_argument("value cannot be null"))?;
                (value, boost)
            }
            Value::Array(_) => {
                return Err(self.error(
                    field,
                    "[term] query does not support array of values".to_string(),
                ))
            }
            other => (other.clone(), 1.0),
        };
        Ok(Query::Term {
            field: field.clone(),
            value,
            boost,
        })
    }

    fn terms(&self, body: &Map<String, Value>) -> Result<Query, RestError> {
        let mut boost = 1.0;
        let mut found = None;
        for (key, value) in body {
            match (key.as_str(), value) {
                ("boost", v) => boost = self.boost("terms", v)?,
                ("_name", _) => {}
                (field, Value::Array(items)) => {
                    if found.is_some() {
                        return Err(self.error(
                            field,
                            "[terms] query does not support multiple fields".into(),
                        ));
                    }
                    found = Some((field.to_string(), items.clone()));
                }
                (field, _) => {
                    return Err(
                        self.error(field, format!("[terms] query does not support [{field}]"))
                    )
                }
            }
        }
        let (field, values) =
            found.ok_or_else(|| RestError::illegal_argument("[terms] query requires a field"))?;
        Ok(Query::Terms {
            field,
            values,
            boost,
        })
    }

    fn range(&self, body: &Map<String, Value>) -> Result<Query, RestError> {
        let (field, spec) = self.single_field("range", body)?;
        let Value::Object(spec) = spec else {
            return Err(self.error(
                field,
                "[range] query malformed, no start_object after query name".to_string(),
            ));
        };
        let (mut lower, mut upper, mut boost) = (None, None, 1.0);
        for (key, value) in spec {
            let bound = |inclusive| {
                (!value.is_null()).then(|| Bound {
                    value: value.clone(),
                    inclusive,
                })
            };
            match key.as_str() {
                "gt" => lower = bound(false),
                "gte" => lower = bound(true),
                "lt" => upper = bound(false),
                "lte" => upper = bound(true),
                "boost" => boost = self.boost("range", value)?,
                "_name" | "format" | "time_zone" | "relation" => {}
                other => return Err(self.unsupported("range", other)),
            }
        }
        Ok(Query::Range {
            field: field.clone(),
            lower,
            upper,
            boost,
        })
    }

    fn exists(&self, body: &Map<String, Value>) -> Result<Query, RestError> {
        let mut field = None;
        let mut boost = 1.0;
        for (key, value) in body {
            match (key.as_str(), value) {
                ("field", Value::String(f)) => field = Some(f.clone()),
                ("boost", v) => boost = self.boost("exists", v)?,
                ("_name", _) => {}
                (other, _) => return Err(self.unsupported("exists", other)),
            }
        }
        let field = field.ok_or_else(|| {
            self.error("exists", "[exists] must be provided with a [field]".into())
        })?;
        Ok(Query::Exists { field, boost })
    }

    fn clauses(&self, value: &Value) -> Result<Vec<Query>, RestError> {
        match value {
            Value::Array(items) => items.iter().map(|q| self.query(q)).collect(),
            single => Ok(vec![self.query(single)?]),
        }
    }

    fn bool(&self, body: &Map<String, Value>) -> Result<Query, RestError> {
        let mut query = BoolQuery {
            boost: 1.0,
            ..BoolQuery::default()
        };
        for (key, value) in body {
            match key.as_str() {
                "must" => query.must.extend(self.clauses(value)?),
                "filter" => query.filter.extend(self.clauses(value)?),
                "must_not" | "mustNot" => query.must_not.extend(self.clauses(value)?),
                "should" => query.should.extend(self.clauses(value)?),
                "minimum_should_match" => {
                    query.minimum_should_match =
                        Some(minimum_should_match(value).ok_or_else(|| {
                            RestError::illegal_argument(format!(
                                "Unable to parse minimum_should_match [{}]",
                                value.as_str().map_or(value.to_string(), str::to_string)
                            ))
                        })?)
                }
                "boost" => query.boost = self.boost("bool", value)?,
                "_name" | "adjust_pure_negative" => {}
                other => return Err(self.unsupported("bool", other)),
            }
        }
        Ok(Query::Bool(Box::new(query)))
    }

    /// `sort`: a field name, `{"field": "desc"}`, `{"field": {"order": "desc"}}`, or an array of
    /// them.
    pub fn sort(&self, value: &Value) -> Result<Vec<SortKey>, RestError> {
        let items = match value {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        let mut keys = Vec::new();
        for item in items {
            match item {
                Value::String(name) => keys.push(SortKey::default_order(sort_field(name))),
                Value::Object(spec) => {
                    for (name, order) in spec {
                        let order = match order {
                            Value::String(o) => Some(o.as_str()),
                            Value::Object(o) => o.get("order").and_then(Value::as_str),
                            _ => None,
                        };
                        let field = sort_field(name);
                        let descending = match order.map(str::to_ascii_lowercase).as_deref() {
                            None => field == SortField::Score,
                            Some("desc") => true,
                            Some("asc") => false,
                            Some(other) => {
                                return Err(RestError::illegal_argument(format!(
                                    "Unknown SortOrder [{other}]"
                                )))
                            }
                        };
                        keys.push(SortKey { field, descending });
                    }
                }
                other => {
                    return Err(self.error(
                        "sort",
                        format!("[sort] unexpected token [{}]", token(other)),
                    ))
                }
            }
        }
        Ok(keys)
    }

    /// A `_search` body (`SearchSourceBuilder.parseXContent`) over `into`'s defaults.
    pub fn search_body(
        &self,
        body: &Map<String, Value>,
        into: &mut SearchRequest,
    ) -> Result<(), RestError> {
        for (key, value) in body {
            match key.as_str() {
                "query" => into.query = self.query(value)?,
                "from" => into.from = self.count(key, value)?,
                "size" => into.size = self.count(key, value)?,
                "sort" => into.sort = self.sort(value)?,
                "_source" => {
                    into.source = SourceFilter::from_body(value).ok_or_else(|| {
                        self.error(
                            key,
                            format!("[_source] unexpected token [{}]", token(value)),
                        )
                    })?
                }
                "version" => into.version = self.flag(key, value)?,
                "seq_no_primary_term" => into.seq_no_primary_term = self.flag(key, value)?,
                "track_total_hits" => {
                    into.track_total_hits = match value {
                        Value::Bool(true) => Some(usize::MAX),
                        Value::Bool(false) => None,
                        other => Some(self.count(key, other)?),
                    }
                }
                "timeout" | "track_scores" | "stats" | "explain" => {}
                other => {
                    return Err(self.error(
                        other,
                        format!("Unknown key for a {} in [{other}].", token(value)),
                    ))
                }
            }
        }
        Ok(())
    }

    fn count(&self, key: &str, value: &Value) -> Result<usize, RestError> {
        let n = match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        match n {
            Some(n) if n >= 0 => Ok(n as usize),
            Some(n) => Err(RestError::illegal_argument(format!(
                "[{key}] parameter cannot be negative, found [{n}]"
            ))),
            None => Err(self.error(key, format!("[{key}] failed to parse field [{key}]"))),
        }
    }

    fn flag(&self, key: &str, value: &Value) -> Result<bool, RestError> {
        value
            .as_bool()
            .ok_or_else(|| self.error(key, format!("[{key}] failed to parse field [{key}]")))
    }
}

fn sort_field(name: &str) -> SortField {
    match name {
        "_score" => SortField::Score,
        "_doc" => SortField::Doc,
        "_seq_no" => SortField::SeqNo,
        other => SortField::Field(other.to_string()),
    }
}

/// `minimum_should_match`: `2`, `"2"`, `"-1"`, `"75%"`, `"-25%"`.
fn minimum_should_match(value: &Value) -> Option<MinimumShouldMatch> {
    match value {
        Value::Number(n) => n.as_i64().map(MinimumShouldMatch::Count),
        Value::String(s) => {
            let s = s.trim();
            match s.strip_suffix('%') {
                Some(p) => p.trim().parse().ok().map(MinimumShouldMatch::Percent),
                None => s.parse().ok().map(MinimumShouldMatch::Count),
            }
        }
        _ => None,
    }
}

/// The URL parameters of `_search` (`RestSearchAction.parseSearchRequest`) over the body's
/// request: `from`, `size`, `sort` (`field:order,...`), `_source*`, `version`,
/// `seq_no_primary_term`, `track_total_hits`; the ones that change nothing here are accepted.
pub fn apply_search_params(params: &mut Params, into: &mut SearchRequest) -> Result<(), RestError> {
    if let Some(from) = params.long("from")? {
        into.from = usize::try_from(from).map_err(|_| {
            RestError::illegal_argument(format!(
                "[from] parameter cannot be negative, found [{from}]"
            ))
        })?;
    }
    if let Some(size) = params.long("size")? {
        into.size = usize::try_from(size).map_err(|_| {
            RestError::illegal_argument(format!(
                "[size] parameter cannot be negative, found [{size}]"
            ))
        })?;
    }
    if let Some(sort) = params.str("sort") {
        into.sort = sort
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|spec| {
                let (name, order) = spec.rsplit_once(':').unwrap_or((spec, ""));
                let field = sort_field(name);
                let descending = match order {
                    "" => field == SortField::Score,
                    "desc" => true,
                    _ => false,
                };
                SortKey { field, descending }
            })
            .collect();
    }
    if let Some(filter) = SourceFilter::requested(params)? {
        into.source = filter;
    }
    if let Some(version) = params.boolean("version")? {
        into.version = version;
    }
    if let Some(seq) = params.boolean("seq_no_primary_term")? {
        into.seq_no_primary_term = seq;
    }
    if let Some(track) = params.str("track_total_hits") {
        into.track_total_hits = match track.as_str() {
            "true" => Some(usize::MAX),
            "false" => None,
            n => Some(n.parse().map_err(|_| {
                RestError::illegal_argument(format!(
                    "Failed to parse int parameter [track_total_hits] with value [{n}]"
                ))
            })?),
        };
    }
    params.accept(&[
        "allow_partial_search_results",
        "batched_reduce_size",
        "ccs_minimize_roundtrips",
        "ignore_throttled",
        "max_concurrent_shard_requests",
        "pre_filter_shard_size",
        "preference",
        "request_cache",
        "rest_total_hits_as_int",
        "routing",
        "search_type",
        "timeout",
        "track_scores",
        "typed_keys",
    ]);
    Ok(())
}
