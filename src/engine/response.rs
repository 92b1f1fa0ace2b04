//! Document API responses with Elasticsearch 8's exact JSON (`DocWriteResponse`, `GetResult`).

use serde::{Serialize, Serializer};

use super::history::Source;
use crate::protocol::{DocMeta, SeqNo, Term, Version, WriteResult};

/// `_shards`: how many copies the write should reach, reached, and failed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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

/// The response of index, create, delete and update, fields in Elasticsearch's order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WriteResponse {
    #[serde(rename = "_index")]
    pub index: String,
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "_version")]
    pub version: Version,
    pub result: WriteResult,
    #[serde(rename = "_shards")]
    pub shards: ShardsInfo,
    /// Left out when unassigned (`DocWriteResponse.innerToXContent`: a scripted upsert's noop).
    #[serde(rename = "_seq_no", skip_serializing_if = "is_unassigned")]
    pub seq_no: SeqNo,
    /// Left out with an unassigned `_seq_no`, the only case with term 0.
    #[serde(rename = "_primary_term", skip_serializing_if = "is_no_term")]
    pub primary_term: Term,
}

fn is_unassigned(seq_no: &SeqNo) -> bool {
    *seq_no < 0
}

fn is_no_term(term: &Term) -> bool {
    *term == 0
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

    /// The HTTP status: 201 created, 404 for a delete that found nothing, 200 otherwise.
    pub fn status(&self) -> u16 {
        self.result.status()
    }
}

/// The response of a GET: the document's metadata, routing and source, or `found: false`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GetResponse {
    #[serde(rename = "_index")]
    pub index: String,
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "_version", skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    #[serde(rename = "_seq_no", skip_serializing_if = "Option::is_none")]
    pub seq_no: Option<SeqNo>,
    #[serde(rename = "_primary_term", skip_serializing_if = "Option::is_none")]
    pub primary_term: Option<Term>,
    /// The metadata field `GetResult.toXContentEmbedded` writes between the term and `found`.
    #[serde(rename = "_routing", skip_serializing_if = "Option::is_none")]
    pub routing: Option<String>,
    pub found: bool,
    #[serde(
        rename = "_source",
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_source"
    )]
    pub source: Option<Source>,
}

fn serialize_source<S: Serializer>(source: &Option<Source>, s: S) -> Result<S::Ok, S::Error> {
    source.as_deref().serialize(s)
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

    /// 200 when found, 404 otherwise.
    pub fn status(&self) -> u16 {
        if self.found {
            200
        } else {
            404
        }
    }
}
