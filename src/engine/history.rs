//! The operation history of a shard copy: what the primary replicates and what a promoted
//! primary resyncs from (Elasticsearch keeps it in the translog and Lucene's soft deletes).
//!
//! [`OpRecord`] is one operation as it travels to replicas. [`OpLog`] is an append-only,
//! lock-free list of them (a Treiber push onto an atomic head); records are immutable once
//! published and freed only when the log is dropped, so readers need no reclamation scheme.

use std::sync::Arc;

use super::sync::{AtomicPtr, Ordering};
use crate::protocol::{DocMeta, SeqNo, Term, Version};

/// A document's source: a JSON object, shared between the stored version, responses and the
/// operations shipped to replicas.
pub type Source = Arc<serde_json::Map<String, serde_json::Value>>;

/// What an operation does.
#[derive(Clone, Debug, PartialEq)]
pub enum OpKind {
    /// Index (create or replace) `id` with `source`, giving it `version`.
    Index {
        id: Arc<str>,
        version: Version,
        source: Source,
    },
    /// Delete `id`, leaving a tombstone at `version`.
    Delete { id: Arc<str>, version: Version },
    /// Nothing: a `_seq_no` that was assigned and then not used (a lost compare-and-swap on the
    /// primary, or a gap filled at promotion). It still has to be processed everywhere so the
    /// checkpoints can pass it.
    NoOp,
}

/// One operation of the shard's history: its `_seq_no`, the primary term it was assigned in,
/// and what it does. Replicas apply it verbatim; they never re-check conditions or versions.
#[derive(Clone, Debug, PartialEq)]
pub struct OpRecord {
    pub seq_no: SeqNo,
    pub primary_term: Term,
    pub kind: OpKind,
}

impl OpRecord {
    /// The operation that produced document state `meta` for `id` (an index when `source` is
    /// given, a delete otherwise).
    pub fn write(meta: DocMeta, id: Arc<str>, source: Option<Source>) -> OpRecord {
        let kind = match source {
            Some(source) if !meta.deleted => OpKind::Index {
                id,
                version: meta.version,
                source,
            },
            _ => OpKind::Delete {
                id,
                version: meta.version,
            },
        };
        OpRecord {
            seq_no: meta.seq_no,
            primary_term: meta.primary_term,
            kind,
        }
    }

    /// A no-op at `seq_no`.
    pub fn noop(seq_no: SeqNo, primary_term: Term) -> OpRecord {
        OpRecord {
            seq_no,
            primary_term,
            kind: OpKind::NoOp,
        }
    }

    /// The document id the operation touches (`None` for a no-op).
    pub fn id(&self) -> Option<&str> {
        match &self.kind {
            OpKind::Index { id, .. } | OpKind::Delete { id, .. } => Some(id),
            OpKind::NoOp => None,
        }
    }

    /// The document state the operation leaves (`None` for a no-op).
    pub fn meta(&self) -> Option<DocMeta> {
        let (version, deleted) = match self.kind {
            OpKind::Index { version, .. } => (version, false),
            OpKind::Delete { version, .. } => (version, true),
            OpKind::NoOp => return None,
        };
        Some(DocMeta {
            seq_no: self.seq_no,
            primary_term: self.primary_term,
            version,
            deleted,
        })
    }

    /// The source the operation installs (`None` for deletes and no-ops).
    pub fn source(&self) -> Option<&Source> {
        match &self.kind {
            OpKind::Index { source, .. } => Some(source),
            _ => None,
        }
    }
}

struct Node {
    op: OpRecord,
    next: *mut Node,
}

/// Append-only, lock-free operation history. Disabled logs record nothing (benchmarks).
pub(crate) struct OpLog {
    head: AtomicPtr<Node>,
    enabled: bool,
}

// SAFETY: nodes are immutable after publication and only freed in `Drop` (exclusive access).
unsafe impl Send for OpLog {}
unsafe impl Sync for OpLog {}

impl OpLog {
    pub(crate) fn new(enabled: bool) -> Self {
        OpLog {
            head: AtomicPtr::new(std::ptr::null_mut()),
            enabled,
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// Append `op` (a no-op when the log is disabled).
    pub(crate) fn push(&self, op: OpRecord) {
        if !self.enabled {
            return;
        }
        let node = Box::into_raw(Box::new(Node {
            op,
            next: std::ptr::null_mut(),
        }));
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            // SAFETY: `node` is ours until the swap below publishes it.
            unsafe { (*node).next = head };
            match self
                .head
                .compare_exchange(head, node, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return,
                Err(actual) => head = actual,
            }
        }
    }

    /// Every recorded operation with a `_seq_no` above `seq_no`, in `_seq_no` order, each
    /// `_seq_no` once.
    pub(crate) fn above(&self, seq_no: SeqNo) -> Vec<OpRecord> {
        let mut ops = Vec::new();
        let mut node = self.head.load(Ordering::Acquire);
        // SAFETY: published nodes are never mutated or freed while `self` is borrowed.
        while let Some(n) = unsafe { node.as_ref() } {
            if n.op.seq_no > seq_no {
                ops.push(n.op.clone());
            }
            node = n.next;
        }
        ops.sort_by_key(|op| op.seq_no);
        ops.dedup_by_key(|op| op.seq_no);
        ops
    }
}

impl Drop for OpLog {
    fn drop(&mut self) {
        let mut node = self.head.load(Ordering::Acquire);
        while !node.is_null() {
            // SAFETY: every node came from `Box::into_raw` and is freed once, here.
            let boxed = unsafe { Box::from_raw(node) };
            node = boxed.next;
        }
    }
}
