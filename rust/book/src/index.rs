//! Id → slot index: an open-addressing hash table of slab slot numbers.
//!
//! Ids are not stored here; they live once, in the slab nodes. A bucket packs
//! the low 32 bits of the id's hash (a filter tag that also determines the
//! home bucket) with the slot number, so a bucket is 8 bytes and a lookup
//! reads the node only when the tag matches. Linear probing with
//! backward-shift deletion (no tombstones).
//!
//! Invariants: every occupied bucket holds a slot whose node is occupied and
//! whose id hashes to the bucket's tag; each resting id appears once; the
//! load factor stays below 3/4, so every probe sequence reaches an empty
//! bucket; `buckets.len()` is 0 or a power of two <= 2^32.

use std::hash::BuildHasher;

use crate::hash::IdHasher;
use crate::order::OrderSlab;
use crate::types::OrderId;

const EMPTY: u64 = u64::MAX;
const MIN_BUCKETS: usize = 16;

#[inline]
fn slot_of(bucket: u64) -> u32 {
    bucket as u32
}

#[inline]
fn tag_of(bucket: u64) -> u32 {
    (bucket >> 32) as u32
}

#[derive(Clone, Debug)]
pub(crate) struct IdIndex {
    buckets: Vec<u64>,
    len: usize,
    hasher: IdHasher,
}

impl IdIndex {
    /// `n` is only a hint: if the table cannot be reserved it starts empty
    /// and grows on demand.
    pub(crate) fn with_capacity(n: usize) -> IdIndex {
        let mut index = IdIndex { buckets: Vec::new(), len: 0, hasher: IdHasher::default() };
        if n > 0 {
            let want = Self::buckets_for(n);
            if index.buckets.try_reserve_exact(want).is_ok() {
                pinnacle_core::sys::advise_hugepages(&index.buckets);
                index.buckets.resize(want, EMPTY);
            }
        }
        index
    }

    /// Smallest power of two keeping `n` entries under 3/4 load (`n` capped
    /// at the order limit).
    fn buckets_for(n: usize) -> usize {
        let n = n.min(u32::MAX as usize);
        (n.saturating_mul(4) / 3 + 1).checked_next_power_of_two().unwrap_or(MIN_BUCKETS).max(MIN_BUCKETS)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn tag(&self, id: &OrderId) -> u32 {
        self.hasher.hash_one(id) as u32
    }

    #[inline]
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    /// Slot of the resting order with this id.
    pub(crate) fn get(&self, slab: &OrderSlab, id: &OrderId) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let tag = self.tag(id);
        let mask = self.mask();
        let mut i = tag as usize & mask;
        loop {
            // `i & mask` is below the (power of two) bucket count, so `get` finds a bucket.
            let b = *self.buckets.get(i)?;
            if b == EMPTY {
                return None;
            }
            if tag_of(b) == tag && slab.get(slot_of(b)).id == *id {
                return Some(slot_of(b));
            }
            i = (i + 1) & mask;
        }
    }

    /// Starts loading the home bucket of `id` (a hint for a lookup a few steps ahead).
    #[inline]
    pub(crate) fn prefetch(&self, id: &OrderId) {
        if let Some(b) = self.buckets.get(self.tag(id) as usize & self.mask()) {
            pinnacle_core::sys::prefetch(b);
        }
    }

    /// Indexes the nodes in `slots` (stored in `slab`) in order, each as [`IdIndex::insert`],
    /// loading buckets ahead: the index of the first id already indexed, which stays out
    /// (with every later one), or None.
    pub(crate) fn insert_all(&mut self, slab: &OrderSlab, slots: &[u32]) -> Option<usize> {
        const AHEAD: usize = 16;
        for (k, &slot) in slots.iter().enumerate() {
            if let Some(&ahead) = slots.get(k + AHEAD) {
                self.prefetch(&slab.get(ahead).id);
            }
            if !self.insert(slab, slot) {
                return Some(k);
            }
        }
        None
    }

    /// Indexes the node in `slot` (already stored in `slab`) under its id.
    /// Returns false, leaving the index unchanged, if that id is already
    /// indexed.
    pub(crate) fn insert(&mut self, slab: &OrderSlab, slot: u32) -> bool {
        if (self.len + 1) * 4 > self.buckets.len() * 3 {
            self.grow();
        }
        let id = &slab.get(slot).id;
        let tag = self.tag(id);
        let mask = self.mask();
        let mut i = tag as usize & mask;
        loop {
            // `i & mask` is below the (power of two, non-zero after `grow`) bucket count.
            let Some(bucket) = self.buckets.get_mut(i) else { return false };
            let b = *bucket;
            if b == EMPTY {
                *bucket = (u64::from(tag) << 32) | u64::from(slot);
                self.len += 1;
                return true;
            }
            if tag_of(b) == tag && slab.get(slot_of(b)).id == *id {
                return false;
            }
            i = (i + 1) & mask;
        }
    }

    /// Unindexes `slot` (still occupied in `slab`, so its id can be hashed).
    pub(crate) fn remove(&mut self, slab: &OrderSlab, slot: u32) {
        if self.len == 0 {
            return;
        }
        let tag = self.tag(&slab.get(slot).id);
        let mask = self.mask();
        let mut i = tag as usize & mask;
        loop {
            let Some(&b) = self.buckets.get(i) else { return };
            if b == EMPTY {
                return;
            }
            if slot_of(b) == slot {
                break;
            }
            i = (i + 1) & mask;
        }
        // Backward shift: pull later entries of the cluster into the hole
        // when the hole lies between their home bucket and where they sit.
        let mut hole = i;
        let mut j = (i + 1) & mask;
        while let Some(&bj) = self.buckets.get(j).filter(|&&b| b != EMPTY) {
            let home = tag_of(bj) as usize & mask;
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                if let Some(h) = self.buckets.get_mut(hole) {
                    *h = bj;
                }
                hole = j;
            }
            j = (j + 1) & mask;
        }
        if let Some(h) = self.buckets.get_mut(hole) {
            *h = EMPTY;
        }
        self.len -= 1;
    }

    /// Doubles the table. Home buckets derive from the stored tags, so no
    /// id is rehashed.
    fn grow(&mut self) {
        let new_len = (self.buckets.len() * 2).max(MIN_BUCKETS);
        let mut fresh = Vec::with_capacity(new_len);
        // Lookups land on random buckets: huge pages spare a TLB miss per lookup.
        pinnacle_core::sys::advise_hugepages(&fresh);
        fresh.resize(new_len, EMPTY);
        let old = std::mem::replace(&mut self.buckets, fresh);
        let mask = new_len - 1;
        for b in old.into_iter().filter(|&b| b != EMPTY) {
            let mut i = tag_of(b) as usize & mask;
            // `i & mask` is below `new_len`, and the table is under 3/4 full: a free bucket
            // is always found.
            while self.buckets.get(i).is_some_and(|&x| x != EMPTY) {
                i = (i + 1) & mask;
            }
            if let Some(free) = self.buckets.get_mut(i) {
                *free = b;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::order::{Node, NIL};
    use crate::types::Side;

    fn node(id: OrderId) -> Node {
        Node {
            id,
            price: 1,
            quantity: 1,
            filled: 0,
            timestamp_ns: 0,
            prev: NIL,
            next: NIL,
            level: NIL,
            side: Side::Buy,
        }
    }

    /// Random inserts/removes (with growth and backward shifts) agree with
    /// a std HashMap at every step.
    #[test]
    fn agrees_with_hashmap() {
        let mut slab = OrderSlab::with_capacity(0);
        let mut index = IdIndex::with_capacity(0);
        let mut model: HashMap<OrderId, u32> = HashMap::new();
        let mut x = 0x1234_5678_9abc_def1u64;
        for step in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = if x % 3 == 0 {
                OrderId::string(&format!("k{}", x % 700)).unwrap()
            } else {
                OrderId::Int(x % 1500)
            };
            match model.get(&key).copied() {
                Some(slot) if step % 2 == 0 => {
                    index.remove(&slab, slot);
                    slab.remove(slot);
                    model.remove(&key);
                }
                Some(slot) => {
                    let dup = slab.insert(node(key.clone()));
                    assert!(!index.insert(&slab, dup), "duplicate accepted");
                    slab.remove(dup);
                    assert_eq!(index.get(&slab, &key), Some(slot));
                }
                None => {
                    let slot = slab.insert(node(key.clone()));
                    assert!(index.insert(&slab, slot));
                    model.insert(key.clone(), slot);
                }
            }
            assert_eq!(index.len(), model.len());
            if step % 97 == 0 {
                for (k, &v) in &model {
                    assert_eq!(index.get(&slab, k), Some(v));
                }
                assert_eq!(index.get(&slab, &OrderId::Int(u64::MAX)), None);
            }
        }
    }

    #[test]
    fn empty_index_lookups() {
        let slab = OrderSlab::with_capacity(0);
        let mut index = IdIndex::with_capacity(0);
        assert_eq!(index.get(&slab, &OrderId::Int(1)), None);
        index.remove(&slab, 0);
        assert_eq!(index.len(), 0);
        assert!(IdIndex::with_capacity(1000).buckets.len() >= 1334);
    }
}
