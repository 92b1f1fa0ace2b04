//! `wait_for_active_shards`: a pre-check before a write (`ReplicationOperation
//! .checkActiveShardCount`). When fewer copies of the shard are active than asked for,
//! Elasticsearch retries until `timeout` and then answers 503 `unavailable_shards_exception`.
//! Copies never become active while esocc serves, so it waits out the timeout once.

use std::time::Duration;

use super::error::RestError;
use super::params::{ActiveShards, Refresh};
use super::registry::Index;
use crate::engine::EsError;

/// `ReplicationRequest.DEFAULT_TIMEOUT`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// A write's `wait_for_active_shards` and `timeout`, as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitForActive {
    required: Option<ActiveShards>,
    timeout_text: Option<String>,
    timeout: Option<Duration>,
}

impl WaitForActive {
    pub fn new(
        required: Option<ActiveShards>,
        timeout_text: Option<String>,
        timeout: Option<Duration>,
    ) -> Self {
        WaitForActive {
            required,
            timeout_text,
            timeout,
        }
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
        let total = 1 + index.settings.number_of_replicas;
        let active = 1 + index.assigned_replicas;
        let (needed, shown) = match self.required? {
            ActiveShards::All => (total, "ALL".to_string()),
            ActiveShards::Count(n) => (n, n.to_string()),
        };
        if needed <= active {
            return None;
        }
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
                    "[{name}][{shard}] Not enough active copies to meet shard count of [{shown}] (have {active}, needed {needed}). Timeout: [{timeout}], request: [BulkShardRequest [[{name}][{shard}]] containing [{}]{refresh}]",
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
                tokio::time::sleep(self.timeout.unwrap_or(DEFAULT_TIMEOUT)).await;
                Err(error)
            }
        }
    }
}
