//! Maps keyed by object addresses or goroutine ids, hashed with one multiply: SipHash was
//! most of a leak census's time, and the name caches are looked up on every spawn. Keys
//! come from the process itself (no hostile input), so flooding is no concern.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const K: u64 = 0x9E37_79B9_7F4A_7C15;

#[derive(Default)]
pub struct MulHasher(u64);

impl Hasher for MulHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(K);
        }
    }
    /// Addresses: the low bits are alignment, always the same.
    fn write_usize(&mut self, n: usize) {
        self.0 = ((n as u64) >> 4).wrapping_mul(K);
    }
    /// Ids: dense counters.
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(K);
    }
}

/// A map hashed by `MulHasher`.
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<MulHasher>>;

/// A map keyed by object address.
pub type AddrMap<V> = FastMap<usize, V>;
