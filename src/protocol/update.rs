//! The update API (`POST /{index}/_update/{id}`): Elasticsearch's `UpdateHelper` and
//! `TransportUpdateAction` retry rule.
//!
//! An update is a get, a transformation and a conditional write: the write carries the
//! `(_seq_no, _primary_term)` the get returned, so a concurrent change makes it conflict, and
//! `retry_on_conflict` re-runs the whole get → transform → write at most that many more times.

use serde_json::{Map, Value};

use super::condition::Condition;
use super::error::{DocumentMissing, Explanation, VersionConflict};
use super::ids::{ChangeId, DocMeta};

/// `XContentHelper.update`: merge a partial document into a source. Objects present on both
/// sides are merged recursively; any other value (arrays and `null` included) replaces the old
/// one. Returns whether anything changed, which is what `detect_noop` looks at.
pub fn merge(source: &mut Map<String, Value>, changes: &Map<String, Value>) -> bool {
    let mut modified = false;
    for (key, new) in changes {
        match (source.get_mut(key), new) {
            (Some(Value::Object(old)), Value::Object(new)) => modified |= merge(old, new),
            (Some(old), new) => {
                modified |= old != new;
                *old = new.clone();
            }
            (None, new) => {
                modified = true;
                source.insert(key.clone(), new.clone());
            }
        }
    }
    modified
}

/// The condition of the write an update performs after reading `current`:
/// a compare-and-set on the change it read, a create when the document is missing and an upsert
/// is allowed, or `document_missing_exception`.
pub fn write_condition(
    current: Option<DocMeta>,
    upsert_allowed: bool,
) -> Result<Condition, DocumentMissing> {
    match DocMeta::live(current) {
        Some(meta) => Ok(Condition::IfSeqNo(meta.change_id())),
        None if upsert_allowed => Ok(Condition::Create),
        None => Err(DocumentMissing),
    }
}

/// A user-supplied `if_seq_no` / `if_primary_term` on an update is checked at the get
/// (`getForUpdate`): a live document with another change conflicts. A missing document is left
/// to [`write_condition`] (upserts are not allowed with `if_seq_no`, so it answers `document_missing_exception`).
pub fn check_read(current: Option<DocMeta>, required: ChangeId) -> Result<(), VersionConflict> {
    match DocMeta::live(current) {
        Some(meta) if meta.change_id() != required => Err(VersionConflict(Explanation::SeqNo {
            required,
            current: Some(meta.change_id()),
        })),
        _ => Ok(()),
    }
}

/// Whether an update that is not a create detects a noop: `detect_noop` is on and the merge
/// changed nothing. A noop consumes no `_seq_no` and is not replicated.
pub fn is_noop(detect_noop: bool, modified: bool) -> bool {
    detect_noop && !modified
}

/// `retry_on_conflict`: after `attempts` write attempts that all conflicted, may the update try
/// again? At most `retry_on_conflict + 1` attempts are made in total.
pub fn may_retry(attempts: u32, retry_on_conflict: u32) -> bool {
    attempts <= retry_on_conflict
}

/// Which body an update indexes when the document is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpsertFrom {
    /// The request's `upsert` document.
    Upsert,
    /// The partial `doc` itself (`doc_as_upsert`).
    Doc,
}

/// `UpdateHelper.prepareUpsert`: with `doc_as_upsert` the partial `doc` is indexed, even when
/// an `upsert` document is given too (`request.docAsUpsert() ? request.doc() :
/// request.upsertRequest()`); otherwise the `upsert` document, if any. `None`: no upsert, the
/// update answers `document_missing_exception`.
pub fn upsert_from(has_upsert: bool, doc_as_upsert: bool) -> Option<UpsertFrom> {
    match (doc_as_upsert, has_upsert) {
        (true, _) => Some(UpsertFrom::Doc),
        (false, true) => Some(UpsertFrom::Upsert),
        (false, false) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn doc_as_upsert_indexes_the_doc_even_beside_an_upsert() {
        assert_eq!(upsert_from(true, true), Some(UpsertFrom::Doc));
        assert_eq!(upsert_from(false, true), Some(UpsertFrom::Doc));
        assert_eq!(upsert_from(true, false), Some(UpsertFrom::Upsert));
        assert_eq!(upsert_from(false, false), None);
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn merge_is_recursive_for_objects_and_replaces_the_rest() {
        let mut source = obj(json!({"a": {"b": 1, "c": [1, 2]}, "d": "x"}));
        let changed = merge(
            &mut source,
            &obj(json!({"a": {"c": [3], "e": null}, "f": 2})),
        );
        assert!(changed);
        assert_eq!(
            Value::Object(source),
            json!({"a": {"b": 1, "c": [3], "e": null}, "d": "x", "f": 2})
        );
    }

    #[test]
    fn merge_of_equal_values_is_a_noop() {
        let mut source = obj(json!({"a": {"b": 1}, "d": "x"}));
        assert!(!merge(&mut source, &obj(json!({"a": {"b": 1}}))));
        assert!(is_noop(true, false));
        assert!(!is_noop(false, false));
    }

    #[test]
    fn write_condition_follows_what_was_read() {
        let meta = DocMeta {
            seq_no: 3,
            primary_term: 2,
            version: 4,
            deleted: false,
        };
        assert_eq!(
            write_condition(Some(meta), false),
            Ok(Condition::IfSeqNo(ChangeId::new(3, 2)))
        );
        assert_eq!(write_condition(None, true), Ok(Condition::Create));
        assert_eq!(write_condition(None, false), Err(DocumentMissing));
        let tombstone = DocMeta {
            deleted: true,
            ..meta
        };
        assert_eq!(
            write_condition(Some(tombstone), false),
            Err(DocumentMissing)
        );
    }

    #[test]
    fn retries_are_bounded() {
        assert!(may_retry(1, 1));
        assert!(!may_retry(2, 1));
        assert!(!may_retry(1, 0));
    }
}
