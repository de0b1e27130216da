//! Hasher for the order-id index: a randomly seeded folded-multiply hash.
//!
//! SipHash (std's default) dominated replay and snapshot-load profiles. This
//! hash costs one 64x64->128 multiply per 8 input bytes. The per-book random
//! seed (drawn from std's `RandomState`) keeps bucket placement unpredictable
//! across processes, which blunts precomputed hash-flooding id sets; it is not
//! a cryptographic guarantee.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

const K_MIX: u64 = 0x243f_6a88_85a3_08d3;
const K_FINISH: u64 = 0x1319_8a2e_0370_7344;

/// High and low halves of the full product, xored: every input bit affects
/// both halves of the result.
#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// `BuildHasher` carrying the seed; cloning keeps the seed.
#[derive(Clone, Debug)]
pub(crate) struct IdHasher {
    seed: u64,
}

impl Default for IdHasher {
    fn default() -> IdHasher {
        IdHasher { seed: RandomState::new().hash_one(0x5eed_u64) | 1 }
    }
}

impl BuildHasher for IdHasher {
    type Hasher = FoldHasher;
    fn build_hasher(&self) -> FoldHasher {
        FoldHasher { acc: self.seed }
    }
}

pub(crate) struct FoldHasher {
    acc: u64,
}

impl Hasher for FoldHasher {
    #[inline]
    fn write_u64(&mut self, x: u64) {
        self.acc = fold_mul(self.acc ^ x, K_MIX);
    }

    #[inline]
    fn write_u8(&mut self, x: u8) {
        self.write_u64(u64::from(x));
    }

    #[inline]
    fn write_u32(&mut self, x: u32) {
        self.write_u64(u64::from(x));
    }

    #[inline]
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }

    /// 8-byte little-endian words; the tail word also carries the tail
    /// length so that inputs differing only in trailing zero bytes differ.
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        let tail = chunks.remainder();
        let mut w = [0u8; 8];
        // `chunks_exact(8)` leaves fewer than 8 bytes, so they always fit.
        if let Some(head) = w.get_mut(..tail.len()) {
            head.copy_from_slice(tail);
        }
        self.write_u64(u64::from_le_bytes(w) ^ ((tail.len() as u64) << 59));
    }

    #[inline]
    fn finish(&self) -> u64 {
        fold_mul(self.acc, K_FINISH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::OrderId;

    #[test]
    fn deterministic_per_seed_and_length_aware() {
        let h = IdHasher::default();
        let a = OrderId::string("abc").unwrap();
        assert_eq!(h.hash_one(&a), h.clone().hash_one(a.clone()));
        let one = |bytes: &[u8]| {
            let mut s = h.build_hasher();
            s.write(bytes);
            s.finish()
        };
        assert_ne!(one(b"a"), one(b"a\0"));
        assert_ne!(one(b"12345678"), one(b"12345678\0"));
        assert_ne!(h.hash_one(OrderId::Int(1)), h.hash_one(OrderId::Int(2)));
    }
}
