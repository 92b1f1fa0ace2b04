//! Document routing as Elasticsearch does it (`IndexRouting`, `Murmur3HashFunction`,
//! `MetadataCreateIndexService.calculateNumRoutingShards`), so a document lands on the same shard
//! number as on Elasticsearch.

/// `StringHelper.murmurhash3_x86_32` with seed 0.
fn murmur3_x86_32(data: &[u8]) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h1: u32 = 0;
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k1 = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k1 = k1.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h1 ^= k1;
        h1 = h1.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut k1: u32 = 0;
        for (i, byte) in tail.iter().enumerate() {
            k1 |= u32::from(*byte) << (8 * i);
        }
        k1 = k1.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h1 ^= k1;
    }
    // The length fits: a routing value is an HTTP parameter or an `_id`, far below 2 GiB.
    h1 ^= data.len() as u32;
    h1 ^= h1 >> 16;
    h1 = h1.wrapping_mul(0x85eb_ca6b);
    h1 ^= h1 >> 13;
    h1 = h1.wrapping_mul(0xc2b2_ae35);
    h1 ^= h1 >> 16;
    h1
}

/// `Murmur3HashFunction.hash(String)`: each UTF-16 code unit as two little-endian bytes.
pub fn hash(routing: &str) -> i32 {
    let bytes: Vec<u8> = routing.encode_utf16().flat_map(u16::to_le_bytes).collect();
    murmur3_x86_32(&bytes) as i32
}

/// The default `index.number_of_routing_shards` of an index with `shards` shards: the shard
/// count doubled until a split to at most 1024 shards (and at least one split) is possible.
pub fn routing_num_shards(shards: u32) -> u32 {
    let log2 = 32 - (shards.max(1) - 1).leading_zeros();
    let splits = 10u32.saturating_sub(log2).max(1);
    shards * (1 << splits)
}

/// The shard of a document: `floorMod(hash(routing or _id), routingNumShards) / routingFactor`.
pub fn shard_id(routing: &str, shards: u32) -> usize {
    if shards <= 1 {
        return 0;
    }
    let routing_shards = routing_num_shards(shards);
    let factor = routing_shards / shards.max(1);
    let slot = i64::from(hash(routing)).rem_euclid(i64::from(routing_shards));
    // `slot / factor` is below `shards`, a `u32`.
    (slot / i64::from(factor)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elasticsearch_murmur3_test_vectors() {
        let vectors = [
            ("hell", 0x5a0cb7c3u32),
            ("hello", 0xd7c31989),
            ("hello w", 0x22ab2984),
            ("hello wo", 0xdf0ca123),
            ("hello wor", 0xe7744d61),
            ("The quick brown fox jumps over the lazy dog", 0xe07db09c),
            ("The quick brown fox jumps over the lazy cog", 0x4e63d2ad),
        ];
        for (input, expected) in vectors {
            assert_eq!(hash(input), expected as i32, "hash({input:?})");
        }
        assert_eq!(hash("1"), -126235597);
        assert_eq!(hash("foo"), 2085578581);
    }

    #[test]
    fn routing_num_shards_defaults() {
        let expected = [
            (1, 1024),
            (2, 1024),
            (3, 768),
            (4, 1024),
            (5, 640),
            (6, 768),
            (8, 1024),
            (10, 640),
            (16, 1024),
            (30, 960),
            (512, 1024),
            (1000, 2000),
            (1024, 2048),
        ];
        for (shards, routing) in expected {
            assert_eq!(routing_num_shards(shards), routing, "{shards} shards");
        }
    }

    #[test]
    fn documents_land_on_elasticsearch_shards() {
        let ids = ["1", "2", "3", "4", "5", "a", "b", "foo", "bar"];
        let expected: [(u32, [usize; 9]); 3] = [
            (2, [0, 0, 0, 1, 0, 0, 1, 1, 1]),
            (3, [2, 1, 1, 1, 0, 0, 2, 0, 1]),
            (5, [4, 3, 0, 1, 0, 1, 0, 2, 3]),
        ];
        for (shards, shard_of) in expected {
            for (id, want) in ids.iter().zip(shard_of) {
                assert_eq!(shard_id(id, shards), want, "{id} with {shards} shards");
            }
        }
        assert_eq!(shard_id("anything", 1), 0);
    }
}
