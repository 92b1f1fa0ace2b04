//! Auto-generated document ids for `POST /{index}/_doc`: Elasticsearch's
//! `TimeBasedUUIDGenerator` layout (15 bytes: a 24-bit sequence, a millisecond timestamp and a
//! 6-byte node address, in base64url without padding = 20 characters).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A per-server id generator.
#[derive(Debug)]
pub struct IdGenerator {
    sequence: AtomicU32,
    last_timestamp: AtomicI64,
    node: [u8; 6],
}

fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0);
    hasher.finish()
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding (`Base64.getUrlEncoder().withoutPadding()`).
fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let byte = |i: usize| u32::from(group.get(i).copied().unwrap_or(0));
        let n = byte(0) << 16 | byte(1) << 8 | byte(2);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= group.len() {
                out.push(char::from(BASE64URL[((n >> shift) & 63) as usize]));
            }
        }
    }
    out
}

/// `UUIDs.randomBase64UUID()`: a random (version 4) UUID in 22 base64url characters, as
/// Elasticsearch names index and cluster uuids.
pub fn random_uuid() -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&random_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&random_u64().to_le_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    encode(&bytes)
}

impl Default for IdGenerator {
    fn default() -> Self {
        let random = random_u64();
        let node = random_u64().to_le_bytes();
        IdGenerator {
            sequence: AtomicU32::new((random as u32) & 0xff_ffff),
            last_timestamp: AtomicI64::new(0),
            node: [node[0], node[1], node[2], node[3], node[4], node[5]],
        }
    }
}

impl IdGenerator {
    /// The next id. The timestamp never goes backwards and moves on when the sequence wraps.
    pub fn next_id(&self) -> String {
        let seq = self
            .sequence
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1)
            & 0xff_ffff;
        let now = now_millis();
        let update = |last: i64| {
            Some(if seq == 0 {
                (last + 1).max(now)
            } else {
                last.max(now)
            })
        };
        let previous = self
            .last_timestamp
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, update)
            .unwrap_or_else(|last| last);
        let ts = update(previous).unwrap_or(now);
        let byte = |v: i64, shift: u32| (v >> shift) as u8;
        let seq = i64::from(seq);
        let n = self.node;
        encode(&[
            byte(seq, 0),
            byte(seq, 16),
            byte(ts, 16),
            byte(ts, 24),
            byte(ts, 32),
            byte(ts, 40),
            n[0],
            n[1],
            n[2],
            n[3],
            n[4],
            n[5],
            byte(ts, 8),
            byte(seq, 8),
            byte(ts, 0),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_20_url_safe_characters_and_unique() {
        let generator = IdGenerator::default();
        let ids: HashSet<String> = (0..10_000).map(|_| generator.next_id()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in &ids {
            assert_eq!(id.len(), 20);
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
    }

    #[test]
    fn encoding_matches_base64url() {
        let bytes: [u8; 15] = *b"\xfb\xff\xfe\x00\x01\x02hello,wor";
        // base64url of the same 15 bytes, computed independently.
        assert_eq!(encode(&bytes), "-__-AAECaGVsbG8sd29y");
        assert_eq!(encode(b"ab"), "YWI");
        assert_eq!(random_uuid().len(), 22);
    }
}
