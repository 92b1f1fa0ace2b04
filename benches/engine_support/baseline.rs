//! The baselines the engine benchmarks compare against: the same document semantics, serialised
//! with locks.
//!
//! [`LockedStore`] is what Elasticsearch does. Its `InternalEngine.index` takes a per-`_id` lock
//! (`versionMap.acquireLock(uid)`), plans the write, takes a `_seq_no`, writes, and marks the
//! `_seq_no` processed in a `synchronized` tracker, all under that lock; its realtime GET takes
//! the same lock. This store does exactly that: a sharded map of per-document mutexes.
//!
//! [`ShardedStore`] is what a Rust user would pick instead: a sharded `RwLock<HashMap>` of the
//! documents themselves, a write holding its map shard's write lock, a get its read lock.
//!
//! Both share the [`Sequencer`]: a shard-wide atomic `_seq_no` counter and a mutex-guarded
//! checkpoint. Every decision still goes through `esocc::protocol` and the responses are the
//! engine's own types, so the stores differ from the engine only in how they synchronise.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use esocc::engine::{
    EngineError, ErrorKind, GetResponse, OpRecord, ShardId, Source, WriteOutcome, WriteResponse,
};
use esocc::protocol::checkpoint::{advance_local_checkpoint, next_seq_no, INITIAL_CHECKPOINT};
use esocc::protocol::{plan_as_primary, Condition, DocMeta, SeqNo, WriteKind};

const MAP_SHARDS: usize = 64;

struct Doc {
    meta: DocMeta,
    source: Option<Source>,
}

type DocLock = Arc<Mutex<Option<Doc>>>;

/// One shard of [`ShardedStore`]'s map.
type DocShard = RwLock<HashMap<String, Option<Doc>>>;

/// `LocalCheckpointTracker.markSeqNoAsProcessed`: synchronized, a set above the checkpoint.
struct Checkpoint {
    processed: SeqNo,
    pending: BTreeSet<SeqNo>,
}

/// `_seq_no` allocation, the checkpoint, and the write both stores make under their lock.
pub struct Sequencer {
    shard: Arc<ShardId>,
    max_seq_no: AtomicI64,
    checkpoint: Mutex<Checkpoint>,
}

impl Sequencer {
    fn new(shard: ShardId) -> Self {
        Sequencer {
            shard: Arc::new(shard),
            max_seq_no: AtomicI64::new(INITIAL_CHECKPOINT),
            checkpoint: Mutex::new(Checkpoint {
                processed: INITIAL_CHECKPOINT,
                pending: BTreeSet::new(),
            }),
        }
    }

    fn mark_processed(&self, seq_no: SeqNo) {
        let mut c = self.checkpoint.lock().unwrap();
        c.pending.insert(seq_no);
        let pending = &c.pending;
        let processed = advance_local_checkpoint(c.processed, |s| pending.contains(&s));
        c.pending = c.pending.split_off(&(processed + 1));
        c.processed = processed;
    }

    fn get(&self, id: &str, doc: Option<&Doc>) -> GetResponse {
        let state = doc.and_then(|d| Some((d.meta, d.source.clone()?)));
        GetResponse::new(&self.shard.index, id, state)
    }

    /// Plan, take a `_seq_no`, install, mark processed; the caller holds the document's lock.
    fn index(
        &self,
        doc: &mut Option<Doc>,
        id: &str,
        source: Source,
        condition: &Condition,
    ) -> WriteOutcome {
        let current = doc.as_ref().map(|d| d.meta);
        let result = match plan_as_primary(current, WriteKind::Index, condition) {
            Err(conflict) => Err(EngineError {
                kind: ErrorKind::Conflict {
                    id: id.to_owned(),
                    conflict,
                },
                shard: self.shard.clone(),
            }),
            Ok(plan) => {
                let seq_no = next_seq_no(self.max_seq_no.fetch_add(1, Ordering::AcqRel));
                let meta = plan.applied(seq_no, 1);
                *doc = Some(Doc {
                    meta,
                    source: Some(source.clone()),
                });
                let op = OpRecord::write(meta, Arc::from(id), Some(source));
                self.mark_processed(seq_no);
                return WriteOutcome {
                    result: Ok(WriteResponse::new(&self.shard.index, id, meta, plan.result)),
                    ops: vec![op],
                    attempts: 1,
                };
            }
        };
        WriteOutcome {
            result,
            ops: Vec::new(),
            attempts: 1,
        }
    }
}

/// A shard copy guarded by per-document locks (Elasticsearch's scheme).
pub struct LockedStore {
    sequencer: Sequencer,
    hasher: RandomState,
    docs: Box<[RwLock<HashMap<String, DocLock>>]>,
}

impl LockedStore {
    pub fn new(shard: ShardId) -> Self {
        LockedStore {
            sequencer: Sequencer::new(shard),
            hasher: RandomState::new(),
            docs: (0..MAP_SHARDS).map(|_| RwLock::default()).collect(),
        }
    }

    fn map_shard(&self, id: &str) -> &RwLock<HashMap<String, DocLock>> {
        &self.docs[self.hasher.hash_one(id) as usize % MAP_SHARDS]
    }

    fn existing(&self, id: &str) -> Option<DocLock> {
        self.map_shard(id).read().unwrap().get(id).cloned()
    }

    fn existing_or_new(&self, id: &str) -> DocLock {
        self.existing(id).unwrap_or_else(|| {
            let mut shard = self.map_shard(id).write().unwrap();
            shard.entry(id.to_owned()).or_default().clone()
        })
    }

    /// Realtime GET under the document's lock.
    pub fn get(&self, id: &str) -> GetResponse {
        match self.existing(id) {
            Some(lock) => self.sequencer.get(id, lock.lock().unwrap().as_ref()),
            None => self.sequencer.get(id, None),
        }
    }

    /// Index under the document's lock.
    pub fn index(&self, id: &str, source: Source, condition: &Condition) -> WriteOutcome {
        let lock = self.existing_or_new(id);
        let mut doc = lock.lock().unwrap();
        self.sequencer.index(&mut doc, id, source, condition)
    }
}

/// A shard copy in a sharded `RwLock<HashMap>`: a write holds its map shard's write lock.
pub struct ShardedStore {
    sequencer: Sequencer,
    hasher: RandomState,
    docs: Box<[DocShard]>,
}

impl ShardedStore {
    pub fn new(shard: ShardId) -> Self {
        ShardedStore {
            sequencer: Sequencer::new(shard),
            hasher: RandomState::new(),
            docs: (0..MAP_SHARDS).map(|_| RwLock::default()).collect(),
        }
    }

    fn map_shard(&self, id: &str) -> &DocShard {
        &self.docs[self.hasher.hash_one(id) as usize % MAP_SHARDS]
    }

    /// Realtime GET under the map shard's read lock.
    pub fn get(&self, id: &str) -> GetResponse {
        let shard = self.map_shard(id).read().unwrap();
        self.sequencer
            .get(id, shard.get(id).and_then(Option::as_ref))
    }

    /// Index under the map shard's write lock.
    pub fn index(&self, id: &str, source: Source, condition: &Condition) -> WriteOutcome {
        let mut shard = self.map_shard(id).write().unwrap();
        let doc = match shard.get_mut(id) {
            Some(doc) => doc,
            None => shard.entry(id.to_owned()).or_default(),
        };
        self.sequencer.index(doc, id, source, condition)
    }
}
