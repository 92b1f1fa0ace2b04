//! The values of `esocc serve`'s limit flags: byte sizes and heap ratios as Elasticsearch writes
//! its memory settings (`512mb`, `60%`), durations as its time settings (`30s`), and the defaults
//! that depend on the machine: the memory budget (Elasticsearch's heap) and the connection cap.

use std::str::FromStr;
use std::time::Duration;

use super::error::RestError;
use super::params::parse_time;

/// `ByteSizeUnit`: the suffixes Elasticsearch accepts, largest first so that `kb` is not read as
/// `b`.
const UNITS: [(&str, u64); 6] = [
    ("pb", 1 << 50),
    ("tb", 1 << 40),
    ("gb", 1 << 30),
    ("mb", 1 << 20),
    ("kb", 1 << 10),
    ("b", 1),
];

/// A byte size such as `512mb`, `1.5gb` or `1024b` (a unit is required, as in Elasticsearch).
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    let normalized = text.trim().to_ascii_lowercase();
    let (number, unit) = UNITS
        .iter()
        .find_map(|(suffix, unit)| normalized.strip_suffix(suffix).map(|n| (n.trim(), *unit)))
        .ok_or_else(|| format!("failed to parse [{text}]: unit is missing or unrecognized"))?;
    let value: f64 = number
        .parse()
        .map_err(|_| format!("failed to parse [{text}]"))?;
    if !(value >= 0.0 && value * unit as f64 <= u64::MAX as f64) {
        return Err(format!("failed to parse [{text}]: out of range"));
    }
    Ok((value * unit as f64) as u64)
}

/// A memory limit: a ratio of the memory budget (`60%`) or an absolute size (`512mb`), as
/// `MemorySizeValue.parseBytesSizeValueOrHeapRatio` reads the breaker settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryLimit {
    /// Hundredths of a percent of the budget (`60%` is 6000).
    Ratio(u32),
    Bytes(u64),
}

impl MemoryLimit {
    /// The limit in bytes for a memory budget of `budget` bytes.
    pub fn resolve(self, budget: u64) -> u64 {
        match self {
            MemoryLimit::Ratio(hundredths) => {
                (u128::from(budget) * u128::from(hundredths) / 10_000) as u64
            }
            MemoryLimit::Bytes(bytes) => bytes,
        }
    }
}

impl FromStr for MemoryLimit {
    type Err = String;

    fn from_str(text: &str) -> Result<MemoryLimit, String> {
        let Some(percent) = text.trim().strip_suffix('%') else {
            return parse_byte_size(text).map(MemoryLimit::Bytes);
        };
        match percent.trim().parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => Ok(MemoryLimit::Ratio((p * 100.0) as u32)),
            _ => Err(format!(
                "percentage should be in [0-100], got [{}]",
                percent.trim()
            )),
        }
    }
}

/// A duration flag (`30s`, `500ms`, `0`), read as Elasticsearch reads time settings; `-1` is not
/// a duration here.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let message = |e: RestError| match e {
        RestError::Exception { exception, .. } => exception.reason,
        other => format!("{other:?}"),
    };
    parse_time("duration", text)
        .map_err(message)?
        .ok_or_else(|| format!("[{text}] is not a duration"))
}

/// The first number on the line of `file` that starts with `label` (e.g. `MemTotal:` in
/// `/proc/meminfo`): `None` where the file does not exist (not Linux) or says otherwise.
fn proc_number(file: &str, label: &str, column: usize) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(label))?;
    line[label.len()..]
        .split_whitespace()
        .nth(column)?
        .parse()
        .ok()
}

/// The memory the process may use: the machine's, or its cgroup's limit when lower (as
/// Elasticsearch's `OsProbe` reports a container's memory).
fn available_memory() -> Option<u64> {
    let machine = proc_number("/proc/meminfo", "MemTotal:", 0)? * 1024;
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|limit| limit.trim().parse::<u64>().ok());
    Some(cgroup.map_or(machine, |limit| limit.min(machine)))
}

/// The memory budget when `--memory` is not given: what Elasticsearch's automatic heap sizing
/// gives a node (`MachineDependentHeap`: half of the memory, at most 31 GB), 1 GB where the
/// memory cannot be read.
pub fn default_memory_budget() -> u64 {
    const MAX_HEAP: u64 = 31 << 30;
    available_memory().map_or(1 << 30, |bytes| (bytes / 2).min(MAX_HEAP))
}

/// File descriptors kept free under the connection cap: the listener, stdio, the runtime's own.
const RESERVED_FILES: u64 = 64;

/// The connection cap when `--max-connections` is not given: the process's soft limit on open
/// files less a reserve, so that idle connections can never make accept fail (1024 where the
/// limit cannot be read).
pub fn default_max_connections() -> usize {
    proc_number("/proc/self/limits", "Max open files", 0)
        .map_or(1024, |soft| soft.saturating_sub(RESERVED_FILES).max(1))
        .try_into()
        .unwrap_or(usize::MAX)
}

/// The process's resident memory (`VmRSS`), what the parent breaker counts as real usage, as
/// Elasticsearch's counts the JVM's heap in use. `None` where it cannot be read.
pub fn resident_memory() -> Option<u64> {
    proc_number("/proc/self/status", "VmRSS:", 0).map(|kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_and_ratios_read_as_elasticsearch_settings() {
        assert_eq!(parse_byte_size("512mb"), Ok(512 << 20));
        assert_eq!(parse_byte_size("1.5GB"), Ok(3 << 29));
        assert_eq!(parse_byte_size("100b"), Ok(100));
        assert_eq!(parse_byte_size("16kb"), Ok(16384));
        assert!(parse_byte_size("100").is_err());
        assert!(parse_byte_size("-1mb").is_err());
        assert_eq!("60%".parse(), Ok(MemoryLimit::Ratio(6000)));
        assert_eq!("1gb".parse(), Ok(MemoryLimit::Bytes(1 << 30)));
        assert!("101%".parse::<MemoryLimit>().is_err());
        assert_eq!(MemoryLimit::Ratio(6000).resolve(1000), 600);
        assert_eq!(MemoryLimit::Bytes(7).resolve(1000), 7);
    }

    #[test]
    fn durations_read_as_elasticsearch_time_settings() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("5").is_err());
    }
}
