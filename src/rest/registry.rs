//! The cluster's indices: an index is its settings and its shards, each shard a copy group of
//! the engine. Indices are created explicitly (`PUT /{index}`) or on the first write with
//! Elasticsearch's defaults (1 shard, 1 replica, refreshed every second).
//!
//! Each index with a `refresh_interval` runs a background refresher, as Elasticsearch's
//! `IndexService.AsyncRefreshTask` does: a tokio task that refreshes every shard each interval
//! and ends once the index is deleted (it holds only a weak reference) or the server's runtime
//! stops.

use std::sync::{Arc, Weak};
use std::time::Duration;

use serde_json::{Map, Value};

use super::autoid::random_uuid;
use super::error::RestError;
use super::index_name;
use super::params::parse_time;
use super::shard::{off_runtime, Shard};
use crate::engine::group::Unsafe;
use crate::engine::ShardId;
use crate::protocol::routing;
use crate::rest::envelope::EsError;

/// `index.number_of_shards` may not exceed this (`MetadataCreateIndexService`'s default limit).
const MAX_SHARDS: u32 = 1024;

/// The settings esocc applies; others are accepted and ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexSettings {
    pub number_of_shards: u32,
    pub number_of_replicas: u32,
    /// `index.auto_expand_replicas` (`None`: `false`, the default).
    pub auto_expand_replicas: Option<AutoExpandReplicas>,
    /// `index.refresh_interval`; `None` for `-1` (and for `0`, which Elasticsearch's
    /// `AsyncRefreshTask.mustReschedule` does not schedule either).
    pub refresh_interval: Option<Duration>,
}

/// Elasticsearch's default `index.refresh_interval`.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

impl Default for IndexSettings {
    fn default() -> Self {
        IndexSettings {
            number_of_shards: 1,
            number_of_replicas: 1,
            auto_expand_replicas: None,
            refresh_interval: Some(DEFAULT_REFRESH_INTERVAL),
        }
    }
}

/// `index.auto_expand_replicas` (`AutoExpandReplicas`): `min-max` replicas (`max` may be
/// `all`), following the number of data nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutoExpandReplicas {
    min: i32,
    max: i32,
}

const AUTO_EXPAND: &str = "index.auto_expand_replicas";

impl AutoExpandReplicas {
    /// `AutoExpandReplicas.parse`, with its texts; `false` is `None`.
    fn parse(value: &str) -> Result<Option<AutoExpandReplicas>, RestError> {
        if value == "false" {
            return Ok(None);
        }
        let failed = || {
            format!(
                "failed to parse [{AUTO_EXPAND}] from value: [{value}] at index {}",
                value.find('-').map_or(-1, |at| at as i64)
            )
        };
        let Some((min, max)) = value.split_once('-') else {
            return Err(RestError::illegal_argument(failed()));
        };
        // `Integer.parseInt`'s failure is the cause.
        let int = |text: &str| {
            text.parse::<i32>().map_err(|_| {
                RestError::exception(
                    400,
                    EsError::new("illegal_argument_exception", failed()).caused_by(EsError::new(
                        "number_format_exception",
                        format!("For input string: \"{text}\""),
                    )),
                )
            })
        };
        let min = int(min)?;
        let max = if max == "all" { i32::MAX } else { int(max)? };
        if min > max {
            return Err(RestError::illegal_argument(format!(
                "[{AUTO_EXPAND}] minReplicas must be =< maxReplicas but wasn't {min} > {max}"
            )));
        }
        Ok(Some(AutoExpandReplicas { min, max }))
    }

    /// `getDesiredNumberOfReplicas` with `data_nodes` data nodes: every other node holds a copy,
    /// within `min..=max`; `None` leaves `number_of_replicas` as it is set.
    pub fn replicas(self, data_nodes: u32) -> Option<u32> {
        let others = i64::from(data_nodes) - 1;
        let max = i64::from(self.max).min(others);
        let min = i64::from(self.min);
        let replicas = if others < min {
            min
        } else if others > max {
            max
        } else {
            others
        };
        (min..=max)
            .contains(&replicas)
            .then(|| u32::try_from(replicas).ok())
            .flatten()
    }
}

/// Flatten `{"index":{"number_of_shards":1}}` into `index.number_of_shards`, with the `index.`
/// prefix Elasticsearch adds to bare keys.
fn flatten(prefix: &str, settings: &Map<String, Value>, out: &mut Vec<(String, Value)>) {
    for (key, value) in settings {
        let key = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Object(inner) => flatten(&key, inner, out),
            other => out.push((key, other.clone())),
        }
    }
}

/// `Setting.intSetting` parsing with its bounds and texts.
fn int_setting(key: &str, value: &Value, min: i64, max: i64) -> Result<u32, RestError> {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let parsed: i64 = text.parse().map_err(|_| {
        RestError::illegal_argument(format!(
            "Failed to parse value [{text}] for setting [{key}]"
        ))
    })?;
    if parsed < min {
        return Err(RestError::illegal_argument(format!(
            "Failed to parse value [{text}] for setting [{key}] must be >= {min}"
        )));
    }
    if parsed > max {
        return Err(RestError::illegal_argument(format!(
            "Failed to parse value [{text}] for setting [{key}] must be <= {max}"
        )));
    }
    u32::try_from(parsed).map_err(|_| {
        RestError::illegal_argument(format!(
            "Failed to parse value [{text}] for setting [{key}]"
        ))
    })
}

impl IndexSettings {
    /// The settings of a `PUT /{index}` body (`settings`, `mappings` and `aliases`; anything else
    /// is `unknown key [x] for create index`).
    pub fn from_create_body(body: Option<&Map<String, Value>>) -> Result<IndexSettings, RestError> {
        let mut settings = IndexSettings::default();
        let Some(body) = body else {
            return Ok(settings);
        };
        for (key, value) in body {
            match (key.as_str(), value) {
                ("settings", Value::Object(inner)) => {
                    let mut flat = Vec::new();
                    flatten("", inner, &mut flat);
                    for (key, value) in flat {
                        let key = if key.starts_with("index.") {
                            key
                        } else {
                            format!("index.{key}")
                        };
                        match key.as_str() {
                            "index.number_of_shards" => {
                                settings.number_of_shards =
                                    int_setting(&key, &value, 1, i64::from(MAX_SHARDS))?;
                            }
                            "index.number_of_replicas" => {
                                settings.number_of_replicas =
                                    int_setting(&key, &value, 0, i64::from(i32::MAX))?;
                            }
                            AUTO_EXPAND => {
                                settings.auto_expand_replicas =
                                    AutoExpandReplicas::parse(&setting_text(&value))?;
                            }
                            "index.refresh_interval" => {
                                settings.refresh_interval =
                                    parse_time(&key, &setting_text(&value))?
                                        .filter(|d| !d.is_zero());
                            }
                            _ => {}
                        }
                    }
                }
                ("mappings" | "aliases", _) => {}
                ("settings", _) => {
                    return Err(RestError::parse("key [settings] must be an object"))
                }
                (other, _) => {
                    return Err(RestError::parse(format!(
                        "unknown key [{other}] for create index"
                    )))
                }
            }
        }
        Ok(settings)
    }
}

/// One index: its identity, settings and shards.
pub struct Index {
    pub name: String,
    pub uuid: String,
    pub settings: IndexSettings,
    shards: Vec<Arc<Shard>>,
}

impl Index {
    /// The shard number and shard a document routes to.
    pub fn route(&self, id: &str, routing: Option<&str>) -> (usize, &Arc<Shard>) {
        let number = routing::shard_id(routing.unwrap_or(id), self.settings.number_of_shards);
        (number, &self.shards[number])
    }

    /// Every shard, in shard-number order.
    pub fn shards(&self) -> &[Arc<Shard>] {
        &self.shards
    }

    /// Refresh every shard (`POST /{index}/_refresh`).
    pub fn refresh(&self) {
        for shard in &self.shards {
            shard.refresh();
        }
    }

    /// [`Index::refresh`] from a handler or a task: on tokio's blocking pool.
    pub async fn refreshed(self: &Arc<Self>) {
        let index = Arc::clone(self);
        off_runtime(move || index.refresh()).await;
    }
}

/// Refresh `index` every `interval` until it is gone. Needs a tokio runtime (the server's);
/// without one (unit tests of the registry) nothing is scheduled.
fn schedule_refreshes(index: Weak<Index>, interval: Duration) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match index.upgrade() {
                Some(index) => index.refreshed().await,
                None => return,
            }
        }
    });
}

/// The indices of the cluster.
pub struct Registry {
    nodes: u32,
    /// The safeguards every shard runs without (`esocc serve --unsafe`).
    knobs: Unsafe,
    indices: papaya::HashMap<String, Arc<Index>>,
}

impl Registry {
    pub fn new(nodes: u32) -> Registry {
        Registry {
            nodes,
            knobs: Unsafe::default(),
            // papaya retires a removed value into a per-thread batch that is freed only once
            // the batch is full (32 by default): a deleted index, shards and all, would stay
            // reachable until 31 more retirements on the same thread. Indices are removed
            // rarely, so retire each one on its own: it is freed when the last guard that could
            // see it is dropped (and the last request holding its `Arc` has finished).
            indices: papaya::HashMap::builder()
                .collector(seize::Collector::new().batch_size(1))
                .build(),
        }
    }

    /// Every shard created from now on runs without the safeguards `knobs` switches off.
    pub fn with_unsafe(mut self, knobs: Unsafe) -> Registry {
        self.knobs = knobs;
        self
    }

    fn build(&self, name: &str, mut settings: IndexSettings) -> Arc<Index> {
        let uuid = random_uuid();
        // The master applies `auto_expand_replicas` as the index is allocated; esocc's nodes
        // (all data nodes) never change afterwards.
        if let Some(replicas) = settings
            .auto_expand_replicas
            .and_then(|auto| auto.replicas(self.nodes))
        {
            settings.number_of_replicas = replicas;
        }
        // Elasticsearch never puts two copies of a shard on one node.
        let assigned_replicas = settings
            .number_of_replicas
            .min(self.nodes.saturating_sub(1));
        let shards = (0..settings.number_of_shards)
            .map(|number| {
                let shard = ShardId::new(name, uuid.clone(), number);
                Arc::new(Shard::new(
                    shard,
                    settings.number_of_replicas,
                    assigned_replicas,
                    self.knobs,
                ))
            })
            .collect();
        let index = Arc::new(Index {
            name: name.to_string(),
            uuid,
            settings,
            shards,
        });
        if let Some(interval) = settings.refresh_interval {
            schedule_refreshes(Arc::downgrade(&index), interval);
        }
        index
    }

    fn check_name(name: &str) -> Result<(), RestError> {
        match index_name::invalid_reason(name) {
            Some(why) => Err(RestError::invalid_index_name(name, &why)),
            None => Ok(()),
        }
    }

    /// The index called `name`, or `index_not_found_exception`.
    pub fn get(&self, name: &str) -> Result<Arc<Index>, RestError> {
        self.indices
            .pin()
            .get(name)
            .cloned()
            .ok_or_else(|| RestError::index_not_found(name))
    }

    /// `PUT /{index}`.
    pub fn create(&self, name: &str, settings: IndexSettings) -> Result<Arc<Index>, RestError> {
        Self::check_name(name)?;
        let index = self.build(name, settings);
        let map = self.indices.pin();
        match map.try_insert(name.to_string(), index.clone()) {
            Ok(_) => Ok(index),
            Err(occupied) => Err(RestError::index_exists(name, &occupied.current.uuid)),
        }
    }

    /// The index a write goes to, created with the defaults when it does not exist.
    pub fn get_or_create(&self, name: &str) -> Result<Arc<Index>, RestError> {
        if let Ok(index) = self.get(name) {
            return Ok(index);
        }
        Self::check_name(name)?;
        let map = self.indices.pin();
        Ok(map
            .get_or_insert_with(name.to_string(), || {
                self.build(name, IndexSettings::default())
            })
            .clone())
    }

    /// `DELETE /{index}`.
    pub fn delete(&self, name: &str) -> Result<(), RestError> {
        match self.indices.pin().remove(name) {
            Some(_) => Ok(()),
            None => Err(RestError::index_not_found(name)),
        }
    }

    /// Every index, in no particular order.
    pub fn all(&self) -> Vec<Arc<Index>> {
        self.indices.pin().values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_body_settings() {
        let body = json!({"settings": {"index": {"number_of_shards": "3"}, "number_of_replicas": 2}, "mappings": {}});
        assert_eq!(
            IndexSettings::from_create_body(body.as_object()).unwrap(),
            IndexSettings {
                number_of_shards: 3,
                number_of_replicas: 2,
                auto_expand_replicas: None,
                refresh_interval: Some(DEFAULT_REFRESH_INTERVAL),
            }
        );
        let zero = json!({"settings": {"number_of_shards": 0}});
        assert_eq!(
            IndexSettings::from_create_body(zero.as_object()).unwrap_err(),
            RestError::illegal_argument(
                "Failed to parse value [0] for setting [index.number_of_shards] must be >= 1"
            )
        );
        let unknown = json!({"setting": {}});
        assert_eq!(
            IndexSettings::from_create_body(unknown.as_object()).unwrap_err(),
            RestError::parse("unknown key [setting] for create index")
        );
    }
}

#[cfg(test)]
mod auto_expand_tests {
    use super::*;
    use serde_json::json;

    fn replicas(value: &str, nodes: u32) -> Option<u32> {
        AutoExpandReplicas::parse(value)
            .unwrap()
            .and_then(|auto| auto.replicas(nodes))
    }

    #[test]
    fn replicas_follow_the_data_nodes_within_the_range() {
        assert_eq!(replicas("0-1", 1), Some(0));
        assert_eq!(replicas("0-1", 3), Some(1));
        assert_eq!(replicas("0-all", 3), Some(2));
        assert_eq!(replicas("1-all", 1), None, "one replica cannot be placed");
        assert_eq!(replicas("1-2", 2), Some(1));
        assert_eq!(replicas("false", 3), None);
    }

    #[test]
    fn malformed_values_have_auto_expand_replicas_texts() {
        let reason = |value: &str| {
            let error = AutoExpandReplicas::parse(value).unwrap_err();
            error.body().unwrap()["error"]["reason"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(
            reason("2"),
            "failed to parse [index.auto_expand_replicas] from value: [2] at index -1"
        );
        assert_eq!(
            reason("x-2"),
            "failed to parse [index.auto_expand_replicas] from value: [x-2] at index 1"
        );
        assert_eq!(
            reason("3-1"),
            "[index.auto_expand_replicas] minReplicas must be =< maxReplicas but wasn't 3 > 1"
        );
        let caused = AutoExpandReplicas::parse("0-x")
            .unwrap_err()
            .body()
            .unwrap();
        assert_eq!(
            caused["error"]["caused_by"],
            json!({"type":"number_format_exception","reason":"For input string: \"x\""})
        );
    }
}

#[cfg(test)]
mod release_tests {
    use super::*;

    #[test]
    fn a_deleted_index_is_freed_once_no_request_holds_it() {
        let registry = Registry::new(1);
        let index = registry.create("i", IndexSettings::default()).unwrap();
        for n in 0..100 {
            let id = n.to_string();
            let source = Arc::new(Map::from_iter([("n".to_string(), Value::from(n))]).into());
            let group = index.route(&id, None).1.group();
            let written = group.index(&id, source, &crate::protocol::Condition::None);
            assert!(written.result.is_ok());
        }
        let weak = Arc::downgrade(&index);
        drop(index);
        assert_eq!(weak.strong_count(), 1, "the registry holds the index");
        registry.delete("i").unwrap();
        assert_eq!(
            weak.strong_count(),
            0,
            "the deleted index is still reachable"
        );
    }
}

/// A setting's value as text (a number or boolean is given as JSON, a string as itself).
fn setting_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
