//! Queries and how a document's `_source` matches them: the rules of the query DSL subset, pure
//! (the JSON of a request is parsed in `rest::query_dsl`).
//!
//! There is no mapping: a field is a path into `_source` (`a.b` through objects, any element
//! of an array), compared as JSON values are. A `term` on a string matches the whole string
//! exactly, as on a `keyword` field (Elasticsearch maps strings as `text` with a `.keyword`
//! sub-field; a path ending in `.keyword` reads the string it names here). Numbers compare
//! numerically, a numeric string equal to a number too (a numeric field coerces it).
//!
//! Scores are constant, never BM25: a matching leaf query scores its `boost` (1.0 by default),
//! `bool` sums its `must` and matching `should` clauses, and clauses in filter context
//! (`filter`, `must_not`) add nothing, so a `bool` of filters alone scores 0.0.

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// A bound of a `range` query.
#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    pub value: Value,
    pub inclusive: bool,
}

/// A query of the supported subset.
#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    MatchAll {
        boost: f64,
    },
    MatchNone,
    Ids {
        values: Vec<String>,
        boost: f64,
    },
    Term {
        field: String,
        value: Value,
        boost: f64,
    },
    Terms {
        field: String,
        values: Vec<Value>,
        boost: f64,
    },
    Range {
        field: String,
        lower: Option<Bound>,
        upper: Option<Bound>,
        boost: f64,
    },
    Exists {
        field: String,
        boost: f64,
    },
    Bool(Box<BoolQuery>),
}

/// `bool`: its clauses and how many `should` clauses must match.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct BoolQuery {
    pub must: Vec<Query>,
    pub filter: Vec<Query>,
    pub must_not: Vec<Query>,
    pub should: Vec<Query>,
    /// `minimum_should_match` as given; `None` takes the default rule
    /// ([`BoolQuery::required_should`]).
    pub minimum_should_match: Option<MinimumShouldMatch>,
    pub boost: f64,
}

/// `minimum_should_match`: a count or a percentage, either negative (of those that may be
/// missing).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MinimumShouldMatch {
    Count(i64),
    Percent(i64),
}

impl BoolQuery {
    /// How many `should` clauses must match (`BoolQueryBuilder.doToQuery`, `Queries.
    /// calculateMinShouldMatch`): the given value, otherwise 1 when the query has only `should`
    /// clauses and 0 when it has a `must` or `filter` clause too.
    pub fn required_should(&self) -> usize {
        let optional = self.should.len() as i64;
        let required = match self.minimum_should_match {
            None if self.must.is_empty() && self.filter.is_empty() && optional > 0 => 1,
            None => 0,
            Some(MinimumShouldMatch::Count(n)) if n < 0 => optional + n,
            Some(MinimumShouldMatch::Count(n)) => n,
            Some(MinimumShouldMatch::Percent(p)) => {
                let of = optional * p.abs() / 100;
                if p < 0 {
                    optional - of
                } else {
                    of
                }
            }
        };
        required.clamp(0, i64::MAX) as usize
    }
}

impl Query {
    /// The score of the document `id` with `source` when it matches, `None` otherwise.
    pub fn score(&self, id: &str, source: &Map<String, Value>) -> Option<f64> {
        let leaf = |matched: bool, boost: f64| matched.then_some(boost);
        match self {
            Query::MatchAll { boost } => Some(*boost),
            Query::MatchNone => None,
            Query::Ids { values, boost } => leaf(values.iter().any(|v| v == id), *boost),
            Query::Term {
                field,
                value,
                boost,
            } => leaf(any_value(source, field, |v| same(v, value)), *boost),
            Query::Terms {
                field,
                values,
                boost,
            } => leaf(
                any_value(source, field, |v| values.iter().any(|t| same(v, t))),
                *boost,
            ),
            Query::Range {
                field,
                lower,
                upper,
                boost,
            } => leaf(
                any_value(source, field, |v| in_range(v, lower, upper)),
                *boost,
            ),
            Query::Exists { field, boost } => {
                leaf(any_value(source, field, |v| !v.is_null()), *boost)
            }
            Query::Bool(query) => query.score(id, source),
        }
    }

    /// Whether the document matches (its score ignored).
    pub fn matches(&self, id: &str, source: &Map<String, Value>) -> bool {
        self.score(id, source).is_some()
    }
}

impl BoolQuery {
    fn score(&self, id: &str, source: &Map<String, Value>) -> Option<f64> {
        let mut score = 0.0;
        for must in &self.must {
            score += must.score(id, source)?;
        }
        if !self.filter.iter().all(|q| q.matches(id, source)) {
            return None;
        }
        if self.must_not.iter().any(|q| q.matches(id, source)) {
            return None;
        }
        let mut matched = 0;
        for should in &self.should {
            if let Some(s) = should.score(id, source) {
                matched += 1;
                score += s;
            }
        }
        (matched >= self.required_should()).then_some(score * self.boost)
    }
}

/// The values at `path` in `source`: through objects, and into every element of arrays.
pub fn values_at<'a>(source: &'a Map<String, Value>, path: &str) -> Vec<&'a Value> {
    let mut found = Vec::new();
    collect(source, path, &mut found);
    if found.is_empty() {
        if let Some(base) = path.strip_suffix(".keyword") {
            collect(source, base, &mut found);
            found.retain(|v| v.is_string());
        }
    }
    found
}

fn collect<'a>(object: &'a Map<String, Value>, path: &str, found: &mut Vec<&'a Value>) {
    if let Some(value) = object.get(path) {
        flatten(value, found);
    }
    // A dotted path also reaches into objects (`a.b` is `{"a":{"b":..}}`).
    for (at, _) in path.match_indices('.') {
        if let Some(Value::Object(inner)) = object.get(&path[..at]) {
            collect(inner, &path[at + 1..], found);
        }
        if let Some(Value::Array(items)) = object.get(&path[..at]) {
            for item in items {
                if let Value::Object(inner) = item {
                    collect(inner, &path[at + 1..], found);
                }
            }
        }
    }
}

fn flatten<'a>(value: &'a Value, found: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| flatten(v, found)),
        other => found.push(other),
    }
}

fn any_value(source: &Map<String, Value>, field: &str, test: impl Fn(&Value) -> bool) -> bool {
    values_at(source, field).into_iter().any(test)
}

/// A value as a number, when it is one or a string that parses as one.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Whether a document value equals a query value.
fn same(doc: &Value, query: &Value) -> bool {
    match (doc, query) {
        (Value::Number(_), _) | (_, Value::Number(_)) => {
            matches!((number(doc), number(query)), (Some(a), Some(b)) if a == b)
        }
        (Value::Bool(b), Value::String(s)) | (Value::String(s), Value::Bool(b)) => {
            s == if *b { "true" } else { "false" }
        }
        _ => doc == query,
    }
}

/// How a document value compares with a query value: numerically when the document value is a
/// number, as strings when both are strings; `None` when they cannot be compared.
pub fn compare(doc: &Value, query: &Value) -> Option<Ordering> {
    match (doc, query) {
        (Value::Number(_), _) => number(doc)?.partial_cmp(&number(query)?),
        (Value::String(a), Value::String(b)) => Some(a.as_str().cmp(b.as_str())),
        (Value::String(_), Value::Number(_)) => number(doc)?.partial_cmp(&number(query)?),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn in_range(value: &Value, lower: &Option<Bound>, upper: &Option<Bound>) -> bool {
    let within = |bound: &Option<Bound>, wanted: Ordering| match bound {
        None => true,
        Some(Bound {
            value: b,
            inclusive,
        }) => match compare(value, b) {
            Some(Ordering::Equal) => *inclusive,
            Some(order) => order == wanted,
            None => false,
        },
    };
    within(lower, Ordering::Greater) && within(upper, Ordering::Less)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    fn term(field: &str, value: Value) -> Query {
        Query::Term {
            field: field.into(),
            value,
            boost: 1.0,
        }
    }

    #[test]
    fn leaves_match_paths_arrays_and_numbers() {
        let d = doc(json!({"user": {"name": "kim", "age": 30}, "tags": ["a", "b"], "n": null}));
        assert!(term("user.name", json!("kim")).matches("1", &d));
        assert!(term("user.name.keyword", json!("kim")).matches("1", &d));
        assert!(term("user.age", json!(30.0)).matches("1", &d));
        assert!(term("user.age", json!("30")).matches("1", &d));
        assert!(term("tags", json!("b")).matches("1", &d));
        assert!(!term("tags", json!("c")).matches("1", &d));
        let exists = |f: &str| Query::Exists {
            field: f.into(),
            boost: 1.0,
        };
        assert!(exists("tags").matches("1", &d));
        assert!(!exists("n").matches("1", &d));
        assert!(!exists("missing").matches("1", &d));
        let range = Query::Range {
            field: "user.age".into(),
            lower: Some(Bound {
                value: json!(30),
                inclusive: false,
            }),
            upper: None,
            boost: 1.0,
        };
        assert!(!range.matches("1", &d));
    }

    #[test]
    fn bool_scores_and_minimum_should_match_defaults() {
        let d = doc(json!({"a": 1, "b": 2}));
        let should_only = BoolQuery {
            should: vec![term("a", json!(1)), term("a", json!(9))],
            boost: 1.0,
            ..BoolQuery::default()
        };
        assert_eq!(
            Query::Bool(Box::new(should_only.clone())).score("x", &d),
            Some(1.0)
        );
        let none = BoolQuery {
            should: vec![term("a", json!(9))],
            ..should_only.clone()
        };
        assert_eq!(Query::Bool(Box::new(none.clone())).score("x", &d), None);
        let with_filter = BoolQuery {
            filter: vec![term("b", json!(2))],
            ..none
        };
        assert_eq!(Query::Bool(Box::new(with_filter)).score("x", &d), Some(0.0));
        let must_not = BoolQuery {
            must_not: vec![term("b", json!(2))],
            ..should_only
        };
        assert_eq!(Query::Bool(Box::new(must_not)).score("x", &d), None);
        let percent = BoolQuery {
            should: vec![term("a", json!(1)); 4],
            minimum_should_match: Some(MinimumShouldMatch::Percent(-25)),
            ..BoolQuery::default()
        };
        assert_eq!(percent.required_should(), 3);
    }
}
