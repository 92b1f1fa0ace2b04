//! `wait_for_active_shards`: a pre-check before a write (`ReplicationOperation
//! .checkActiveShardCount`, decided by [`ActiveShardCount::shortfall`]). When fewer copies of
//! the shard are in sync than asked for, Elasticsearch retries until `timeout` and then answers
//! 503 `unavailable_shards_exception`. A copy joins the in-sync set only through
//! `/_esocc/{index}/{shard}/recover_replica`, a request of its own, so a write that finds too few
//! waits out the timeout once instead of polling.

use std::time::Duration;

use super::error::RestError;
use super::params::Refresh;
use super::registry::Index;
use crate::protocol::active_shards::ActiveShardCount;
use crate::protocol::coordinator::DEFAULT_TIMEOUT;
use crate::rest::envelope::EsError;

/// A write's `wait_for_active_shards` and `timeout`, as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitForActive {
    required: Option<ActiveShardCount>,
    timeout_text: Option<String>,
    timeout: Option<Duration>,
}

impl WaitForActive {
    pub fn new(
        required: Option<ActiveShardCount>,
        timeout_text: Option<String>,
        timeout: Option<Duration>,
    ) -> Self {
        WaitForActive {
            required,
            timeout_text,
            timeout,
        }
    }

    /// The request's `timeout` (default 1m): how long the write may wait for enough copies and
    /// for a primary.
    pub fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(DEFAULT_TIMEOUT)
    }

    /// The 503 a write to shard `shard` of `index` fails with, if too few copies are active;
    /// `request` describes the write as Elasticsearch's `toString` does.
    pub fn shortfall(
        &self,
        index: &Index,
        shard: usize,
        refresh: Refresh,
        request: impl FnOnce() -> String,
    ) -> Option<RestError> {
        let copies = 1 + index.settings.number_of_replicas;
        let active = index.shards().get(shard).map_or(0, |s| s.active_copies());
        let shortfall = self.required?.shortfall(active, copies)?;
        let refresh = match refresh {
            Refresh::None => "",
            Refresh::Immediate => " and a refresh",
            Refresh::WaitUntil => " blocking until refresh",
        };
        let timeout = self.timeout_text.clone().unwrap_or_else(|| "1m".into());
        Some(RestError::exception(
            503,
            EsError::new(
                "unavailable_shards_exception",
                format!(
                    "[{name}][{shard}] {shortfall} Timeout: [{timeout}], request: [BulkShardRequest [[{name}][{shard}]] containing [{}]{refresh}]",
                    request(),
                    name = index.name,
                ),
            ),
        ))
    }

    /// Check before writing: on a shortfall, wait out the timeout (no copy can become active)
    /// and fail.
    pub async fn check(
        &self,
        index: &Index,
        shard: usize,
        refresh: Refresh,
        request: impl FnOnce() -> String,
    ) -> Result<(), RestError> {
        match self.shortfall(index, shard, refresh, request) {
            None => Ok(()),
            Some(error) => {
                tokio::time::sleep(self.timeout()).await;
                Err(error)
            }
        }
    }
}
