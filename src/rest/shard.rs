//! A shard of an index as the handlers see it: the engine's copy that serves it, and the
//! `_shards` header Elasticsearch reports for its writes.
//!
//! With one node the index's replicas exist in its settings but are unassigned, so a write
//! reaches one copy out of `1 + number_of_replicas`: `"_shards":{"total":2,"successful":1,
//! "failed":0}` with the default one replica, as a single-node Elasticsearch answers.

use crate::engine::{
    EngineError, GetResponse, ShardCopy, ShardId, ShardsInfo, Source, UpdateRequest, WriteResponse,
};
use crate::protocol::{Condition, WriteResult};

/// One shard: its primary copy and how many replica copies the settings ask for.
pub struct Shard {
    copy: ShardCopy,
    replicas: u32,
}

impl Shard {
    /// A shard with `replicas` replicas in its settings, none of them assigned.
    pub fn new(id: ShardId, replicas: u32) -> Shard {
        Shard {
            copy: ShardCopy::new(id),
            replicas,
        }
    }

    pub fn id(&self) -> &ShardId {
        self.copy.shard_id()
    }

    /// What a write reports: every copy counts in `total`, only assigned ones can succeed; a
    /// noop update reached none.
    fn reported(
        &self,
        result: Result<WriteResponse, EngineError>,
    ) -> Result<WriteResponse, EngineError> {
        result.map(|mut response| {
            if response.result != WriteResult::Noop {
                response.shards = ShardsInfo {
                    total: 1 + self.replicas,
                    successful: 1,
                    failed: 0,
                };
            }
            response
        })
    }

    /// Realtime get from the primary.
    pub fn get(&self, id: &str) -> GetResponse {
        self.copy.get(id)
    }

    /// Index or create, under the condition validation produced.
    pub fn index(
        &self,
        id: &str,
        source: Source,
        condition: &Condition,
    ) -> Result<WriteResponse, EngineError> {
        self.reported(self.copy.index(id, source, condition).result)
    }

    pub fn delete(&self, id: &str, condition: &Condition) -> Result<WriteResponse, EngineError> {
        self.reported(self.copy.delete(id, condition).result)
    }

    pub fn update(&self, id: &str, request: &UpdateRequest) -> Result<WriteResponse, EngineError> {
        self.reported(self.copy.update(id, request).result)
    }
}
