//! One price level: a FIFO of order nodes with incrementally maintained
//! aggregates.

use crate::order::{OrderSlab, NIL};

/// Invariants (maintained by every method, never recomputed by walking):
/// - `head..tail` via `next` visits exactly the level's orders, oldest first;
///   `prev` links are the reverse; `head == NIL` iff `count == 0`.
/// - `total` = sum of `remaining()` over those orders, `count` = their number.
/// - A level stored in the book is never empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Level {
    pub head: u32,
    pub tail: u32,
    pub total: i64,
    pub count: usize,
}

impl Default for Level {
    fn default() -> Level {
        Level::new()
    }
}

impl Level {
    pub(crate) const fn new() -> Level {
        Level { head: NIL, tail: NIL, total: 0, count: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends node `idx` (unlinked, occupied) with `remaining` quantity at the
    /// back of the queue. Caller has checked `total + remaining` fits in i64.
    pub(crate) fn push_back(&mut self, slab: &mut OrderSlab, idx: u32, remaining: i64) {
        {
            let node = slab.get_mut(idx);
            node.prev = self.tail;
            node.next = NIL;
        }
        if self.tail == NIL {
            self.head = idx;
        } else {
            slab.get_mut(self.tail).next = idx;
        }
        self.tail = idx;
        self.total += remaining;
        self.count += 1;
    }

    /// Unlinks node `idx` (which must be in this level) in O(1) and subtracts
    /// its remaining quantity from the totals.
    pub(crate) fn unlink(&mut self, slab: &mut OrderSlab, idx: u32) {
        let (prev, next, remaining) = {
            let node = slab.get_mut(idx);
            let links = (node.prev, node.next, node.remaining());
            node.prev = NIL;
            node.next = NIL;
            links
        };
        if prev == NIL {
            self.head = next;
        } else {
            slab.get_mut(prev).next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            slab.get_mut(next).prev = prev;
        }
        self.total -= remaining;
        self.count -= 1;
    }
}

/// Storage for levels, addressed by `u32` slot so that an order node can
/// name its level directly (no price lookup on cancel/fill).
///
/// Invariant: the live slots are exactly the values of the book's bid and
/// ask maps; released slots are on `free` and are empty.
#[derive(Clone, Debug, Default)]
pub(crate) struct LevelSlab {
    levels: Vec<Level>,
    free: Vec<u32>,
}

impl LevelSlab {
    pub(crate) fn live(&self) -> usize {
        self.levels.len() - self.free.len()
    }

    /// A slot holding an empty level. Slots never exceed the number of live
    /// orders plus one, so they fit in u32 (the order slab caps orders).
    pub(crate) fn alloc(&mut self) -> u32 {
        match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.levels.push(Level::new());
                (self.levels.len() - 1) as u32
            }
        }
    }

    /// Returns an emptied level's slot to the free list.
    pub(crate) fn release(&mut self, slot: u32) {
        // Only a slot of `levels` goes back on the free list.
        if let Some(level) = self.levels.get_mut(slot as usize) {
            *level = Level::new();
            self.free.push(slot);
        }
    }

    // Level handles are minted only by `alloc` of this arena, whose `levels` never
    // shrinks, so a handle always indexes a level (an Option would thread an impossible
    // error through every matching step, several per add, cancel and fill).
    #[allow(clippy::indexing_slicing)]
    pub(crate) fn get(&self, slot: u32) -> &Level {
        &self.levels[slot as usize]
    }

    // Level handles are minted only by `alloc` of this arena, whose `levels` never
    // shrinks, so a handle always indexes a level (an Option would thread an impossible
    // error through every matching step, several per add, cancel and fill).
    #[allow(clippy::indexing_slicing)]
    pub(crate) fn get_mut(&mut self, slot: u32) -> &mut Level {
        &mut self.levels[slot as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::Node;
    use crate::types::{OrderId, Side};

    fn order(slab: &mut OrderSlab, qty: i64) -> u32 {
        slab.insert(Node {
            id: OrderId::Int(qty as u64),
            price: 10,
            quantity: qty,
            filled: 0,
            timestamp_ns: 0,
            prev: NIL,
            next: NIL,
            level: 0,
            side: Side::Sell,
        })
    }

    fn fifo(level: &Level, slab: &OrderSlab) -> Vec<u32> {
        let mut out = Vec::new();
        let mut i = level.head;
        while i != NIL {
            out.push(i);
            i = slab.get(i).next;
        }
        out
    }

    #[test]
    fn push_and_unlink_anywhere() {
        let mut slab = OrderSlab::with_capacity(4);
        let mut level = Level::new();
        let ids: Vec<u32> = (1..=4).map(|q| order(&mut slab, q)).collect();
        for (&i, q) in ids.iter().zip(1..) {
            level.push_back(&mut slab, i, q);
        }
        assert_eq!((level.total, level.count), (10, 4));
        level.unlink(&mut slab, ids[1]);
        assert_eq!(fifo(&level, &slab), vec![ids[0], ids[2], ids[3]]);
        level.unlink(&mut slab, ids[3]);
        level.unlink(&mut slab, ids[0]);
        assert_eq!(fifo(&level, &slab), vec![ids[2]]);
        assert_eq!((level.head, level.tail, level.total, level.count), (ids[2], ids[2], 3, 1));
        level.unlink(&mut slab, ids[2]);
        assert!(level.is_empty());
        assert_eq!((level.head, level.tail, level.total), (NIL, NIL, 0));
    }

    #[test]
    fn level_slots_are_reused() {
        let mut levels = LevelSlab::default();
        let a = levels.alloc();
        let b = levels.alloc();
        levels.get_mut(a).total = 5;
        levels.release(a);
        assert_eq!(levels.live(), 1);
        assert_eq!(levels.alloc(), a);
        assert_eq!(levels.get(a).total, 0, "released level is reset");
        assert_ne!(a, b);
    }
}
