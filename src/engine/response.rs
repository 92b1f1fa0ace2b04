//! Document API responses as typed values (`DocWriteResponse`, `GetResult`): what a write did and
//! what a get found. Their HTTP statuses and Elasticsearch 8's JSON bodies are `rest`'s
//! (`rest::responses`).

use super::history::Source;
use crate::protocol::{DocMeta, SeqNo, Term, Version, WriteResult};

/// `_shards`: how many copies the write should reach, reached, and failed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardsInfo {
    pub total: u32,
    pub successful: u32,
    pub failed: u32,
}

impl ShardsInfo {
    /// A write applied by a copy on its own: the replication layer replaces this with the group's count.
    pub const SINGLE_COPY: ShardsInfo = ShardsInfo {
        total: 1,
        successful: 1,
        failed: 0,
    };
    /// A noop update: nothing was written anywhere.
    pub const NOOP: ShardsInfo = ShardsInfo {
        total: 0,
        successful: 0,
        failed: 0,
    };
}

/// The response of index, create, delete and update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteResponse {
    pub index: String,
    pub id: String,
    pub version: Version,
    pub result: WriteResult,
    pub shards: ShardsInfo,
    /// Unassigned (negative) for a scripted upsert's noop.
    pub seq_no: SeqNo,
    /// 0 with an unassigned `_seq_no`, and only then.
    pub primary_term: Term,
}

impl WriteResponse {
    /// The response to a write of `id` that left the document at `meta`.
    pub fn new(index: &str, id: &str, meta: DocMeta, result: WriteResult) -> Self {
        WriteResponse {
            index: index.to_owned(),
            id: id.to_owned(),
            version: meta.version,
            result,
            shards: if result == WriteResult::Noop {
                ShardsInfo::NOOP
            } else {
                ShardsInfo::SINGLE_COPY
            },
            seq_no: meta.seq_no,
            primary_term: meta.primary_term,
        }
    }
}

/// The response of a GET: the document's metadata, routing and source, or `found: false`.
#[derive(Clone, Debug, PartialEq)]
pub struct GetResponse {
    pub index: String,
    pub id: String,
    pub version: Option<Version>,
    pub seq_no: Option<SeqNo>,
    pub primary_term: Option<Term>,
    /// The `_routing` the document was indexed with.
    pub routing: Option<String>,
    pub found: bool,
    pub source: Option<Source>,
}

impl GetResponse {
    /// A live document, or not found for a missing document and for a tombstone.
    pub fn new(index: &str, id: &str, state: Option<(DocMeta, Source)>) -> Self {
        let (meta, source) = state.unzip();
        GetResponse {
            routing: source.as_ref().and_then(|s| s.routing()).map(str::to_owned),
            index: index.to_owned(),
            id: id.to_owned(),
            version: meta.map(|m| m.version),
            seq_no: meta.map(|m| m.seq_no),
            primary_term: meta.map(|m| m.primary_term),
            found: meta.is_some(),
            source,
        }
    }

    /// The document's metadata when it was found.
    pub fn meta(&self) -> Option<DocMeta> {
        Some(DocMeta {
            seq_no: self.seq_no?,
            primary_term: self.primary_term?,
            version: self.version?,
            deleted: false,
        })
    }
}
