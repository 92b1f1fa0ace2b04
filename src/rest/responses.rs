//! The bodies of the engine's document answers, in Elasticsearch 8's field order: a write's
//! (`DocWriteResponse.innerToXContent`) and a get's (`GetResult.toXContent`). Their statuses are
//! [`super::status`]'s.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::engine::{GetResponse, ShardsInfo, WriteResponse};
use crate::protocol::{SeqNo, Term, Version};

/// The body of index, create, delete and update.
#[derive(Serialize)]
pub struct WriteBody<'a> {
    #[serde(rename = "_index")]
    index: &'a str,
    #[serde(rename = "_id")]
    id: &'a str,
    #[serde(rename = "_version")]
    version: Version,
    result: &'static str,
    #[serde(rename = "_shards")]
    shards: ShardsBody,
    /// Left out when unassigned (a scripted upsert's noop).
    #[serde(rename = "_seq_no", skip_serializing_if = "is_unassigned")]
    seq_no: SeqNo,
    /// Left out with an unassigned `_seq_no`, the only case with term 0.
    #[serde(rename = "_primary_term", skip_serializing_if = "is_no_term")]
    primary_term: Term,
}

/// `_shards` (`ReplicationResponse.ShardInfo.toXContent`).
#[derive(Serialize)]
struct ShardsBody {
    total: u32,
    successful: u32,
    failed: u32,
}

fn is_unassigned(seq_no: &SeqNo) -> bool {
    *seq_no < 0
}

fn is_no_term(term: &Term) -> bool {
    *term == 0
}

impl<'a> From<&'a WriteResponse> for WriteBody<'a> {
    fn from(response: &'a WriteResponse) -> Self {
        let ShardsInfo {
            total,
            successful,
            failed,
        } = response.shards;
        WriteBody {
            index: &response.index,
            id: &response.id,
            version: response.version,
            result: response.result.as_str(),
            shards: ShardsBody {
                total,
                successful,
                failed,
            },
            seq_no: response.seq_no,
            primary_term: response.primary_term,
        }
    }
}

impl WriteBody<'_> {
    /// The body as a JSON object, for callers that add fields to it.
    pub fn to_object(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(fields)) => fields,
            _ => Map::new(),
        }
    }
}

/// The body of a GET: the document's metadata, routing and source, or `found: false`.
#[derive(Serialize)]
pub struct GetBody<'a> {
    #[serde(rename = "_index")]
    index: &'a str,
    #[serde(rename = "_id")]
    id: &'a str,
    #[serde(rename = "_version", skip_serializing_if = "Option::is_none")]
    version: Option<Version>,
    #[serde(rename = "_seq_no", skip_serializing_if = "Option::is_none")]
    seq_no: Option<SeqNo>,
    #[serde(rename = "_primary_term", skip_serializing_if = "Option::is_none")]
    primary_term: Option<Term>,
    /// The metadata field `GetResult.toXContentEmbedded` writes between the term and `found`.
    #[serde(rename = "_routing", skip_serializing_if = "Option::is_none")]
    routing: Option<&'a str>,
    found: bool,
    #[serde(rename = "_source", skip_serializing_if = "Option::is_none")]
    source: Option<&'a Map<String, Value>>,
}

impl<'a> From<&'a GetResponse> for GetBody<'a> {
    fn from(response: &'a GetResponse) -> Self {
        GetBody {
            index: &response.index,
            id: &response.id,
            version: response.version,
            seq_no: response.seq_no,
            primary_term: response.primary_term,
            routing: response.routing.as_deref(),
            found: response.found,
            source: response.source.as_deref().map(|document| document.fields()),
        }
    }
}
