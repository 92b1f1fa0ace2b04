//! The master's view of the shard (its part of the cluster state): the primary term, which copy
//! is primary, and the in-sync set. Only the master changes them; a primary's request to remove a
//! copy is granted only if the primary's term is still the master's.

use std::collections::BTreeSet;

use super::copy::CopyId;
use super::replication::FailShard;
use super::unsafe_knobs::Unsafe;
use crate::protocol::{check_operation_term, Term};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Master {
    pub(crate) term: Term,
    /// `None` once the primary failed and no in-sync replica was left to promote.
    pub(crate) primary: Option<CopyId>,
    pub(crate) in_sync: BTreeSet<CopyId>,
}

impl Master {
    pub(crate) fn new(term: Term, copies: usize) -> Self {
        Master {
            term,
            primary: Some(0),
            in_sync: (0..copies).collect(),
        }
    }

    /// `ShardStateAction.remoteShardFailed` from a primary in `requester_term`: remove `copy`
    /// from the in-sync set, unless the requester was demoted (its term is older than ours).
    pub(crate) fn fail_shard(&mut self, copy: CopyId, requester_term: Term) -> FailShard {
        check_operation_term(requester_term, self.term)?;
        self.in_sync.remove(&copy);
        Ok(())
    }

    /// The in-sync replica the master promotes when the primary fails, of `copies`, other than
    /// those `tried`: only in-sync copies are promotable ("Do not allow stale shards to
    /// automatically be promoted"); among them the lowest id, a deterministic stand-in for
    /// Elasticsearch's choice. `knobs` may allow a stale copy (see [`Unsafe::candidates`]).
    pub(crate) fn candidate(
        &self,
        knobs: &Unsafe,
        copies: usize,
        tried: &[CopyId],
    ) -> Option<CopyId> {
        let in_sync = |copy| self.in_sync.contains(&copy);
        knobs.candidates(copies, in_sync).find(|&copy| {
            !tried.contains(&copy) && knobs.promotable(in_sync(copy), Some(copy) == self.primary)
        })
    }
}
