//! A stored document: its `_source` and the `_routing` it was indexed with, the two stored
//! fields Lucene keeps for a document (`SourceFieldMapper`, `RoutingFieldMapper`).
//!
//! [`Source`] is shared, never copied, between the stored version, the refreshed view, the
//! responses and the operations shipped to replicas, so the routing travels wherever the source
//! does: a replica, a promoted primary, a recovered copy and a search hit all show it. The
//! document dereferences to its source object.

use std::ops::Deref;
use std::sync::Arc;

use serde_json::{Map, Value};

/// A document's source object and its routing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Document {
    fields: Map<String, Value>,
    routing: Option<Arc<str>>,
}

/// A stored document, shared.
pub type Source = Arc<Document>;

impl Document {
    /// `fields` indexed with `routing` (`None`: routed by `_id`, nothing stored).
    pub fn routed(fields: Map<String, Value>, routing: Option<&str>) -> Self {
        Document {
            fields,
            routing: routing.map(Arc::from),
        }
    }

    /// The `_routing` the document was indexed with.
    pub fn routing(&self) -> Option<&str> {
        self.routing.as_deref()
    }

    /// The source object.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }
}

impl From<Map<String, Value>> for Document {
    fn from(fields: Map<String, Value>) -> Self {
        Document::routed(fields, None)
    }
}

impl Deref for Document {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Self::Target {
        &self.fields
    }
}
