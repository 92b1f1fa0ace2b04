//! Circuit breakers, as Elasticsearch's `HierarchyCircuitBreakerService`: a request reserves the
//! memory it is about to hold, and a reservation that would take a breaker over its limit is
//! refused with 429 `circuit_breaking_exception` before the memory is used.
//!
//! - `inflight_requests` (`network.breaker.inflight_requests.limit`, 100% of the budget): the
//!   bodies of the requests being handled, reserved when a body has been read, released when
//!   the handler is done with it.
//! - `request` (`indices.breaker.request.limit`, 60%): what a request builds from its body and
//!   will store: sources as they are parsed, merged documents, bulk items and the bulk response.
//! - `parent` (`indices.breaker.total.limit`, 95%): with real memory tracking (Elasticsearch's
//!   default), the process's resident memory plus the new reservation; this is what counts
//!   the memory earlier requests left behind (stored documents and their history).
//!
//! Texts, fields and status are `ChildMemoryCircuitBreaker.circuitBreak`'s,
//! `HierarchyCircuitBreakerService.checkParentLimit`'s and `CircuitBreakingException`'s. All
//! breakers here are `TRANSIENT` (429), as the two child breakers are in Elasticsearch.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::limits::resident_memory;

/// `ByteSizeValue.toString()`: the largest unit that fits, one decimal truncated, `.0` dropped
/// (`Strings.format1Decimals`).
pub fn byte_size_text(bytes: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 50, "pb"),
        (1 << 40, "tb"),
        (1 << 30, "gb"),
        (1 << 20, "mb"),
        (1 << 10, "kb"),
    ];
    let (value, suffix) = UNITS
        .iter()
        .find(|(unit, _)| bytes >= *unit)
        .map_or((bytes as f64, "b"), |(unit, suffix)| {
            (bytes as f64 / *unit as f64, *suffix)
        });
    let text = format!("{value}");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, "0"));
    match fraction.chars().next() {
        Some(digit) if digit != '0' => format!("{whole}.{digit}{suffix}"),
        _ => format!("{whole}{suffix}"),
    }
}

/// `[n/size]`, as the breaker messages show amounts.
fn amount(bytes: u64) -> String {
    format!("{bytes}/{}", byte_size_text(bytes))
}

/// A refused reservation: `CircuitBreakingException`.
#[derive(Clone, Debug, PartialEq)]
pub struct CircuitBreaking {
    pub reason: String,
    pub bytes_wanted: u64,
    pub bytes_limit: u64,
}

impl CircuitBreaking {
    /// 429: every breaker here is `TRANSIENT`.
    pub const STATUS: u16 = 429;

    /// The exception object (`type`, `reason`, then the breaker's metadata).
    pub fn to_object(&self) -> Map<String, Value> {
        let mut out = Map::new();
        out.insert("type".into(), "circuit_breaking_exception".into());
        out.insert("reason".into(), self.reason.as_str().into());
        out.insert("bytes_wanted".into(), self.bytes_wanted.into());
        out.insert("bytes_limit".into(), self.bytes_limit.into());
        out.insert("durability".into(), "TRANSIENT".into());
        out
    }

    /// The whole error body, as `ElasticsearchException.generateFailureXContent` writes it.
    pub fn body(&self) -> Value {
        let object = self.to_object();
        let mut error = Map::new();
        error.insert(
            "root_cause".into(),
            Value::Array(vec![Value::Object(object.clone())]),
        );
        error.extend(object);
        let mut out = Map::new();
        out.insert("error".into(), Value::Object(error));
        out.insert("status".into(), Self::STATUS.into());
        Value::Object(out)
    }
}

/// The two child breakers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Child {
    InflightRequests,
    Request,
}

impl Child {
    pub fn name(self) -> &'static str {
        match self {
            Child::InflightRequests => "inflight_requests",
            Child::Request => "request",
        }
    }
}

/// How long a reading of the resident memory is reused: reading `/proc` on every write would
/// cost more than the write.
const REAL_MEMORY_REFRESH: Duration = Duration::from_millis(10);

/// The limits, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerLimits {
    pub inflight_requests: u64,
    pub request: u64,
    pub total: u64,
}

/// The breakers of one server.
pub struct Breakers {
    limits: BreakerLimits,
    used: [AtomicU64; 2],
    started: Instant,
    /// Resident memory as last read, and when (nanoseconds since `started`, plus one; 0: never).
    real: AtomicU64,
    real_read_at: AtomicU64,
    /// Reads the resident memory (`None`: cannot, and the parent counts the children).
    read_real: fn() -> Option<u64>,
}

impl Breakers {
    pub fn new(limits: BreakerLimits) -> Arc<Breakers> {
        Breakers::with_real_memory(limits, resident_memory)
    }

    /// Breakers whose parent reads real usage from `read_real` (tests give a fixed reading).
    pub fn with_real_memory(
        limits: BreakerLimits,
        read_real: fn() -> Option<u64>,
    ) -> Arc<Breakers> {
        Arc::new(Breakers {
            limits,
            used: [AtomicU64::new(0), AtomicU64::new(0)],
            started: Instant::now(),
            real: AtomicU64::new(0),
            real_read_at: AtomicU64::new(0),
            read_real,
        })
    }

    fn slot(&self, child: Child) -> &AtomicU64 {
        &self.used[child as usize]
    }

    fn limit(&self, child: Child) -> u64 {
        match child {
            Child::InflightRequests => self.limits.inflight_requests,
            Child::Request => self.limits.request,
        }
    }

    /// Bytes a child holds now.
    pub fn used(&self, child: Child) -> u64 {
        self.slot(child).load(Ordering::Relaxed)
    }

    /// The resident memory, re-read at most every [`REAL_MEMORY_REFRESH`].
    fn real_usage(&self) -> Option<u64> {
        let now = self.started.elapsed().as_nanos() as u64 + 1;
        let read_at = self.real_read_at.load(Ordering::Relaxed);
        if read_at != 0 && now - read_at.min(now) < REAL_MEMORY_REFRESH.as_nanos() as u64 {
            return Some(self.real.load(Ordering::Relaxed));
        }
        let real = (self.read_real)()?;
        self.real.store(real, Ordering::Relaxed);
        self.real_read_at.store(now, Ordering::Relaxed);
        Some(real)
    }

    /// `checkParentLimit(newBytesReserved, label)`.
    fn check_parent(&self, new_bytes: u64, label: &str) -> Result<(), CircuitBreaking> {
        let children: u64 = self.used.iter().map(|u| u.load(Ordering::Relaxed)).sum();
        let real = self.real_usage();
        let total = real.map_or(children, |r| r.saturating_add(new_bytes));
        let limit = self.limits.total;
        if total <= limit {
            return Ok(());
        }
        let mut reason = format!(
            "[parent] Data too large, data for [{label}] would be [{}], which is larger than the limit of [{}]",
            amount(total),
            amount(limit)
        );
        if let Some(real) = real {
            reason.push_str(&format!(
                ", real usage: [{}], new bytes reserved: [{}]",
                amount(real),
                amount(new_bytes)
            ));
        }
        let usages: Vec<String> = [Child::InflightRequests, Child::Request]
            .into_iter()
            .map(|child| format!("{}={}", child.name(), amount(self.used(child))))
            .collect();
        reason.push_str(&format!(", usages [{}]", usages.join(", ")));
        Err(CircuitBreaking {
            reason,
            bytes_wanted: total,
            bytes_limit: limit,
        })
    }

    /// `addEstimateBytesAndMaybeBreak(bytes, label)`: reserve `bytes` on `child`, or refuse.
    pub fn reserve(
        self: &Arc<Self>,
        child: Child,
        bytes: u64,
        label: &str,
    ) -> Result<Reservation, CircuitBreaking> {
        let mut reservation = Reservation {
            breakers: Arc::clone(self),
            child,
            bytes: 0,
        };
        reservation.grow(bytes, label)?;
        Ok(reservation)
    }
}

/// Bytes held on a breaker, released when dropped.
pub struct Reservation {
    breakers: Arc<Breakers>,
    child: Child,
    bytes: u64,
}

impl Reservation {
    /// Reserve `bytes` more on the same breaker (a bulk response as it grows).
    pub fn grow(&mut self, bytes: u64, label: &str) -> Result<(), CircuitBreaking> {
        let breakers = &self.breakers;
        let slot = breakers.slot(self.child);
        let limit = breakers.limit(self.child);
        let mut current = slot.load(Ordering::Relaxed);
        loop {
            let wanted = current.saturating_add(bytes);
            if wanted > limit {
                return Err(CircuitBreaking {
                    reason: format!(
                        "[{}] Data too large, data for [{label}] would be [{}], which is larger than the limit of [{}]",
                        self.child.name(),
                        amount(wanted),
                        amount(limit)
                    ),
                    bytes_wanted: wanted,
                    bytes_limit: limit,
                });
            }
            match slot.compare_exchange_weak(current, wanted, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        if bytes > 0 {
            if let Err(error) = breakers.check_parent(bytes, label) {
                slot.fetch_sub(bytes, Ordering::Relaxed);
                return Err(error);
            }
        }
        self.bytes += bytes;
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.breakers
            .slot(self.child)
            .fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(inflight: u64, request: u64, total: u64) -> BreakerLimits {
        BreakerLimits {
            inflight_requests: inflight,
            request,
            total,
        }
    }

    #[test]
    fn byte_sizes_print_as_byte_size_value() {
        assert_eq!(byte_size_text(0), "0b");
        assert_eq!(byte_size_text(230), "230b");
        assert_eq!(byte_size_text(3172), "3kb");
        assert_eq!(byte_size_text(107_160), "104.6kb");
        assert_eq!(byte_size_text(1_064_145_540), "1014.8mb");
        assert_eq!(byte_size_text(1_020_054_732), "972.7mb");
        assert_eq!(byte_size_text(4_087_188_944), "3.8gb");
        assert_eq!(byte_size_text(1 << 30), "1gb");
    }

    #[test]
    fn a_child_over_its_limit_refuses_and_releases_on_drop() {
        let breakers = Breakers::with_real_memory(limits(100, 1000, u64::MAX), || None);
        let first = breakers
            .reserve(Child::InflightRequests, 60, "<http_request>")
            .unwrap();
        let refused = breakers
            .reserve(Child::InflightRequests, 41, "<http_request>")
            .err()
            .unwrap();
        assert_eq!(
            refused.reason,
            "[inflight_requests] Data too large, data for [<http_request>] would be [101/101b], which is larger than the limit of [100/100b]"
        );
        assert_eq!((refused.bytes_wanted, refused.bytes_limit), (101, 100));
        assert_eq!(breakers.used(Child::InflightRequests), 60);
        drop(first);
        assert_eq!(breakers.used(Child::InflightRequests), 0);
        assert!(breakers
            .reserve(Child::InflightRequests, 100, "<http_request>")
            .is_ok());
    }

    #[test]
    fn the_parent_counts_real_memory_plus_the_new_bytes() {
        let breakers = Breakers::with_real_memory(limits(1 << 40, 1 << 40, 1000), || Some(900));
        let held = breakers.reserve(Child::Request, 50, "x").unwrap();
        let refused = breakers.reserve(Child::Request, 101, "y").err().unwrap();
        assert_eq!(
            refused.reason,
            "[parent] Data too large, data for [y] would be [1001/1001b], which is larger than the limit of [1000/1000b], real usage: [900/900b], new bytes reserved: [101/101b], usages [inflight_requests=0/0b, request=151/151b]"
        );
        // The refused bytes were given back.
        assert_eq!(breakers.used(Child::Request), 50);
        drop(held);
        let body = serde_json::to_string(&refused.body()).unwrap();
        assert!(body.starts_with(r#"{"error":{"root_cause":[{"type":"circuit_breaking_exception","reason":"[parent] Data too large"#), "{body}");
        assert!(
            body.ends_with(
                r#""bytes_wanted":1001,"bytes_limit":1000,"durability":"TRANSIENT"},"status":429}"#
            ),
            "{body}"
        );
    }
}
