//! The rules of `_update_by_query` and `_delete_by_query` (`AbstractAsyncBulkByScrollAction`,
//! `WorkerBulkByScrollTaskState`): what each hit's write counts as, and when the pass stops.
//!
//! The pass reads one refreshed view and writes each hit with `if_seq_no`/`if_primary_term` of
//! the version it saw, a batch (`scroll_size` hits) at a time. A version conflict is counted in
//! `version_conflicts` either way; with `conflicts=abort` (the default) it is also a failure,
//! and the pass stops after the batch it happened in (`onBulkResponse` sends a whole batch as
//! one bulk, then finishes on its failures). Any other failure stops the pass the same way.

use serde::{Deserialize, Serialize};

/// `conflicts`: what a version conflict does to the pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conflicts {
    #[default]
    Abort,
    Proceed,
}

impl Conflicts {
    /// The value as the request spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Conflicts::Abort => "abort",
            Conflicts::Proceed => "proceed",
        }
    }

    /// `AbstractBulkByScrollRequest.setConflicts`.
    pub fn parse(value: &str) -> Result<Conflicts, String> {
        match value {
            "abort" => Ok(Conflicts::Abort),
            "proceed" => Ok(Conflicts::Proceed),
            other => Err(format!(
                "conflicts may only be \"proceed\" or \"abort\" but was [{other}]"
            )),
        }
    }
}

/// What one hit's write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HitOutcome {
    Updated,
    Deleted,
    /// The script set `ctx.op` to `noop`.
    Noop,
    /// The document changed since the view was taken: `if_seq_no` failed.
    VersionConflict,
    /// Any other failure.
    Failed,
}

/// The counters of a pass (`BulkByScrollTask.Status`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Progress {
    pub total: u64,
    pub updated: u64,
    pub deleted: u64,
    pub batches: u64,
    pub version_conflicts: u64,
    pub noops: u64,
}

impl Progress {
    /// Count `outcome`; true when it is a failure the response lists (`recordFailure`).
    pub fn record(&mut self, outcome: HitOutcome, conflicts: Conflicts) -> bool {
        match outcome {
            HitOutcome::Updated => self.updated += 1,
            HitOutcome::Deleted => self.deleted += 1,
            HitOutcome::Noop => self.noops += 1,
            HitOutcome::VersionConflict => {
                self.version_conflicts += 1;
                return conflicts == Conflicts::Abort;
            }
            HitOutcome::Failed => return true,
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_are_counted_either_way_and_listed_only_on_abort() {
        let mut progress = Progress::default();
        assert!(progress.record(HitOutcome::VersionConflict, Conflicts::Abort));
        assert!(!progress.record(HitOutcome::VersionConflict, Conflicts::Proceed));
        assert!(progress.record(HitOutcome::Failed, Conflicts::Proceed));
        assert!(!progress.record(HitOutcome::Noop, Conflicts::Abort));
        assert_eq!((progress.version_conflicts, progress.noops), (2, 1));
        for conflicts in [Conflicts::Abort, Conflicts::Proceed] {
            assert_eq!(Conflicts::parse(conflicts.as_str()), Ok(conflicts));
        }
        assert_eq!(
            Conflicts::parse("maybe").unwrap_err(),
            "conflicts may only be \"proceed\" or \"abort\" but was [maybe]"
        );
    }
}
