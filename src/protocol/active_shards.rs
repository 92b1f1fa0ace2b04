//! `wait_for_active_shards`: the pre-check a primary makes before it writes
//! (`ActiveShardCount`, `ReplicationOperation.checkActiveShardCount`). It only gates the start of
//! a write; acknowledgement still waits for every in-sync copy.

use std::fmt;

/// How many copies of the shard must be active before a write starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActiveShardCount {
    /// Every copy the settings ask for (`all`).
    All,
    /// At least this many copies, the primary included (default 1).
    Count(u32),
}

impl Default for ActiveShardCount {
    fn default() -> Self {
        ActiveShardCount::Count(1)
    }
}

impl fmt::Display for ActiveShardCount {
    /// As Elasticsearch prints it in the shortfall message: `ALL` or the number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActiveShardCount::All => f.write_str("ALL"),
            ActiveShardCount::Count(n) => write!(f, "{n}"),
        }
    }
}

/// Why a `wait_for_active_shards` value does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActiveShardCountError {
    /// Not `all` and not an integer (`cannot parse ActiveShardCount[x]`, caused by a
    /// `NumberFormatException`).
    NotANumber(String),
    /// A negative integer.
    Negative,
}

impl fmt::Display for ActiveShardCountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActiveShardCountError::NotANumber(s) => write!(f, "cannot parse ActiveShardCount[{s}]"),
            ActiveShardCountError::Negative => {
                f.write_str("shard count cannot be a negative value")
            }
        }
    }
}

impl ActiveShardCount {
    /// `ActiveShardCount.parseString`.
    pub fn parse(s: &str) -> Result<ActiveShardCount, ActiveShardCountError> {
        if s == "all" {
            return Ok(ActiveShardCount::All);
        }
        let n: i32 = s
            .parse()
            .map_err(|_| ActiveShardCountError::NotANumber(s.to_string()))?;
        u32::try_from(n)
            .map(ActiveShardCount::Count)
            .map_err(|_| ActiveShardCountError::Negative)
    }

    /// The copies required of a shard with `copies` copies in its settings (primary included).
    pub fn required(self, copies: u32) -> u32 {
        match self {
            ActiveShardCount::All => copies,
            ActiveShardCount::Count(n) => n,
        }
    }

    /// `None` when `active` copies of `copies` are enough to start the write, else Elasticsearch's
    /// message: `Not enough active copies to meet shard count of [ALL] (have 1, needed 2).`
    pub fn shortfall(self, active: u32, copies: u32) -> Option<String> {
        let needed = self.required(copies);
        (active < needed).then(|| {
            format!(
                "Not enough active copies to meet shard count of [{self}] (have {active}, needed {needed})."
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_values_and_errors() {
        assert_eq!(ActiveShardCount::parse("all"), Ok(ActiveShardCount::All));
        assert_eq!(ActiveShardCount::parse("2"), Ok(ActiveShardCount::Count(2)));
        assert_eq!(
            ActiveShardCount::parse("x").unwrap_err().to_string(),
            "cannot parse ActiveShardCount[x]"
        );
        assert_eq!(
            ActiveShardCount::parse("-1").unwrap_err().to_string(),
            "shard count cannot be a negative value"
        );
    }

    #[test]
    fn shortfall_against_the_copies() {
        assert_eq!(ActiveShardCount::default().shortfall(1, 2), None);
        assert_eq!(ActiveShardCount::Count(2).shortfall(2, 3), None);
        assert_eq!(
            ActiveShardCount::All.shortfall(1, 2).unwrap(),
            "Not enough active copies to meet shard count of [ALL] (have 1, needed 2)."
        );
        assert_eq!(
            ActiveShardCount::Count(3).shortfall(2, 3).unwrap(),
            "Not enough active copies to meet shard count of [3] (have 2, needed 3)."
        );
    }
}
