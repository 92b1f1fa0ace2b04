//! Source filtering of a GET (`_source`, `_source_includes`, `_source_excludes`): `false` drops
//! the source, field lists keep or drop fields by dotted path, with `*` wildcards
//! (`FetchSourceContext.parseFromRestRequest`, `XContentMapValues.filter`).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::error::RestError;
use super::params::Params;
use crate::engine::{Document, Source};

/// What part of the source a GET returns.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SourceFilter {
    fetch: bool,
    includes: Vec<String>,
    excludes: Vec<String>,
}

fn list(value: Option<String>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Glob match with `*` (any run of characters, dots included).
pub fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((prefix, rest)) => {
            let Some(text) = text.strip_prefix(prefix) else {
                return false;
            };
            (0..=text.len())
                .filter(|i| text.is_char_boundary(*i))
                .any(|i| glob(rest, &text[i..]))
        }
    }
}

impl SourceFilter {
    pub fn from_params(params: &mut Params) -> Result<SourceFilter, RestError> {
        let mut filter = SourceFilter {
            fetch: true,
            ..SourceFilter::default()
        };
        match params.str("_source").as_deref() {
            None | Some("true") => {}
            Some("false") => filter.fetch = false,
            Some(fields) => filter.includes = list(Some(fields.to_string())),
        }
        filter.includes.extend(list(params.str("_source_includes")));
        filter.excludes = list(params.str("_source_excludes"));
        Ok(filter)
    }

    /// `FetchSourceContext.parseFromRestRequest` where fetching is off unless asked for (update,
    /// `_mget` defaults): `None` when none of the three parameters is given.
    pub fn requested(params: &mut Params) -> Result<Option<SourceFilter>, RestError> {
        let given = ["_source", "_source_includes", "_source_excludes"]
            .iter()
            .any(|key| params.has(key));
        let filter = SourceFilter::from_params(params)?;
        Ok(given.then_some(filter))
    }

    /// `FetchSourceContext.fromXContent`: `true`/`false`, a field, a list of fields, or
    /// `{"includes": .., "excludes": ..}`; `None` when the value is none of them.
    pub fn from_body(value: &Value) -> Option<SourceFilter> {
        let names = |value: &Value| match value {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(items) => items
                .iter()
                .map(|item| item.as_str().map(String::from))
                .collect(),
            _ => None,
        };
        let fetching = |includes, excludes| SourceFilter {
            fetch: true,
            includes,
            excludes,
        };
        match value {
            Value::Bool(fetch) => Some(SourceFilter::whole(*fetch)),
            Value::String(_) | Value::Array(_) => Some(fetching(names(value)?, Vec::new())),
            Value::Object(fields) => {
                let mut filter = fetching(Vec::new(), Vec::new());
                for (key, value) in fields {
                    match key.as_str() {
                        "includes" | "include" => filter.includes = names(value)?,
                        "excludes" | "exclude" => filter.excludes = names(value)?,
                        _ => return None,
                    }
                }
                Some(filter)
            }
            _ => None,
        }
    }

    /// The whole source, or none of it.
    pub fn whole(fetch: bool) -> SourceFilter {
        SourceFilter {
            fetch,
            ..SourceFilter::default()
        }
    }

    /// `ShardGetService.normalizeFetchSourceContent`: what a get returns of the source when it
    /// names `requested` (its `_source` parameters, `None` without any) and `stored_fields`.
    /// Stored fields without `_source` among them leave the source out.
    pub fn for_get(
        requested: Option<SourceFilter>,
        stored_fields: Option<&[String]>,
    ) -> SourceFilter {
        requested.unwrap_or_else(|| {
            SourceFilter::whole(
                stored_fields.is_none_or(|fields| fields.iter().any(|f| f == "_source")),
            )
        })
    }

    /// Whether the source is fetched at all.
    pub fn fetches(&self) -> bool {
        self.fetch
    }

    fn filter(
        &self,
        prefix: &str,
        source: &Map<String, Value>,
        included: bool,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for (key, value) in source {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            if self.excludes.iter().any(|p| glob(p, &path)) {
                continue;
            }
            let included = included
                || self
                    .includes
                    .iter()
                    .any(|p| glob(p, &path) || glob(&format!("{p}.*"), &path));
            match value {
                Value::Object(inner) => {
                    let kept = self.filter(&path, inner, included);
                    if included || !kept.is_empty() {
                        out.insert(key.clone(), Value::Object(kept));
                    }
                }
                other if included => {
                    out.insert(key.clone(), other.clone());
                }
                _ => {}
            }
        }
        out
    }

    /// The source a response carries.
    pub fn apply(&self, source: Option<Source>) -> Option<Source> {
        if !self.fetch {
            return None;
        }
        if self.includes.is_empty() && self.excludes.is_empty() {
            return source;
        }
        source.map(|s| {
            let filtered = self.filter("", &s, self.includes.is_empty());
            Arc::new(Document::routed(filtered, s.routing()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filtered(query: &str) -> Option<Value> {
        let mut params = Params::parse("/i/_doc/1", Some(query));
        let filter = SourceFilter::from_params(&mut params).unwrap();
        let source = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        let Value::Object(source) = source else {
            unreachable!()
        };
        filter
            .apply(Some(Arc::new(source.into())))
            .map(|s| Value::Object(s.fields().clone()))
    }

    #[test]
    fn includes_excludes_and_off() {
        assert_eq!(filtered("_source=false"), None);
        assert_eq!(
            filtered("_source=a,b.c"),
            Some(json!({"a": 1, "b": {"c": 2}}))
        );
        assert_eq!(filtered("_source=b"), Some(json!({"b": {"c": 2, "d": 3}})));
        assert_eq!(
            filtered("_source_excludes=b.*"),
            Some(json!({"a": 1, "b": {}, "e": [1]}))
        );
        assert_eq!(
            filtered("_source_includes=b.*&_source_excludes=b.d"),
            Some(json!({"b": {"c": 2}}))
        );
    }
}
