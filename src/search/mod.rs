//! Search over refreshed views: which documents a query matches and in which order they come
//! back. Pure: the REST layer parses requests into [`Query`] and [`SortKey`]s, takes each shard's
//! [`SearchView`], and renders the [`Hit`]s.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`query`] | the query DSL subset and how a `_source` matches it (constant scores) |
//! | [`by_query`] | the counters and stop rules of `_update_by_query` / `_delete_by_query` |
//!
//! Order: by the sort keys, then (as Lucene breaks ties by shard and document number, and a
//! document's number grows with each write of it) by shard number and `_seq_no`. Without sort
//! keys, by `_score` descending. A field's sort value is its smallest value ascending and its
//! largest descending (`MultiValueMode` MIN / MAX); a document without one sorts last either
//! way (`"missing": "_last"`) with a `null` sort value.

pub mod by_query;
pub mod query;

use std::cmp::Ordering;

use serde_json::Value;

pub use query::{BoolQuery, Bound, MinimumShouldMatch, Query};

use crate::engine::{SearchView, Visible};

/// What a sort key sorts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SortField {
    Score,
    /// `_doc`: index order, here `_seq_no` order.
    Doc,
    SeqNo,
    Field(String),
}

/// One key of `sort`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortKey {
    pub field: SortField,
    pub descending: bool,
}

impl SortKey {
    /// The key with Elasticsearch's default order: descending for `_score`, ascending otherwise.
    pub fn default_order(field: SortField) -> SortKey {
        let descending = field == SortField::Score;
        SortKey { field, descending }
    }
}

/// A matching document.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub shard: usize,
    pub id: String,
    pub doc: Visible,
    pub score: f64,
    /// One value per sort key (empty without `sort`).
    pub sort: Vec<Value>,
}

/// The documents of `views` (one per shard, in shard order) that `query` matches, in the order
/// `sort` asks (by `_score` when it is empty).
pub fn matching(views: &[SearchView], query: &Query, sort: &[SortKey]) -> Vec<Hit> {
    let mut hits: Vec<Hit> = views
        .iter()
        .enumerate()
        .flat_map(|(shard, view)| {
            view.docs().filter_map(move |(id, doc)| {
                let score = query.score(id, &doc.source)?;
                Some(Hit {
                    shard,
                    id: id.to_owned(),
                    doc: doc.clone(),
                    score,
                    sort: Vec::new(),
                })
            })
        })
        .collect();
    for hit in &mut hits {
        hit.sort = sort.iter().map(|key| sort_value(hit, key)).collect();
    }
    hits.sort_by(|a, b| {
        let by_keys = if sort.is_empty() {
            b.score.total_cmp(&a.score)
        } else {
            sort.iter()
                .zip(a.sort.iter().zip(&b.sort))
                .map(|(key, (x, y))| compare_sort_values(x, y, key.descending))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        };
        by_keys
            .then(a.shard.cmp(&b.shard))
            .then(a.doc.meta.seq_no.cmp(&b.doc.meta.seq_no))
    });
    hits
}

/// The hit's value for `key`.
fn sort_value(hit: &Hit, key: &SortKey) -> Value {
    match &key.field {
        SortField::Score => Value::from(hit.score),
        SortField::Doc | SortField::SeqNo => Value::from(hit.doc.meta.seq_no),
        SortField::Field(path) => {
            let values = query::values_at(&hit.doc.source, path);
            let pick = |a: &&Value, b: &&Value| query::compare(a, b).unwrap_or(Ordering::Equal);
            let chosen = if key.descending {
                values.into_iter().filter(|v| !v.is_null()).max_by(pick)
            } else {
                values.into_iter().filter(|v| !v.is_null()).min_by(pick)
            };
            chosen.cloned().unwrap_or(Value::Null)
        }
    }
}

/// Missing (`null`) last either way; numbers before strings when a field holds both.
fn compare_sort_values(a: &Value, b: &Value, descending: bool) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let rank = |v: &Value| u8::from(!v.is_number());
    let order = rank(a)
        .cmp(&rank(b))
        .then_with(|| query::compare(a, b).unwrap_or(Ordering::Equal));
    if descending {
        order.reverse()
    } else {
        order
    }
}
