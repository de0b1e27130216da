//! Storage for resting orders: a slab of nodes addressed by `u32` index.
//!
//! Each node is also a link in its price level's intrusive doubly linked FIFO
//! list (`prev`/`next`, [`NIL`] terminated), which makes unlinking any order
//! O(1). Freed slots are chained through `next` and reused.

use crate::types::{Order, OrderId, Side};

/// Null link / empty free list.
pub(crate) const NIL: u32 = u32::MAX;

/// Largest number of live orders (indices `0..NIL`).
const MAX_ORDERS: usize = NIL as usize;

/// A resting order plus its level links.
///
/// Invariants while occupied: `0 <= filled < quantity`, `price > 0`, and
/// `level` is the slot of the level keyed by (`side`, `price`).
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub id: OrderId,
    pub price: i64,
    pub quantity: i64,
    pub filled: i64,
    pub timestamp_ns: i64,
    pub prev: u32,
    pub next: u32,
    /// Slot (in the book's `LevelSlab`) of the level holding this order.
    pub level: u32,
    pub side: Side,
}

impl Node {
    pub(crate) fn remaining(&self) -> i64 {
        self.quantity - self.filled
    }

    pub(crate) fn to_order(&self) -> Order {
        Order {
            id: self.id.clone(),
            side: self.side,
            price: self.price,
            quantity: self.quantity,
            filled: self.filled,
            timestamp_ns: self.timestamp_ns,
        }
    }
}

/// Slab of order nodes.
///
/// Invariants: every index stored in a level list or in the book's id index
/// refers to an occupied slot; vacant slots are exactly those on the free list
/// (chained through `next`) and hold a placeholder id with no heap storage.
/// Indexing with an index obtained from the book therefore never fails.
#[derive(Clone, Debug)]
pub(crate) struct OrderSlab {
    nodes: Vec<Node>,
    free_head: u32,
    len: usize,
}

impl OrderSlab {
    /// `n` is only a hint: if that much memory cannot be reserved the slab
    /// starts empty and grows on demand.
    pub(crate) fn with_capacity(n: usize) -> OrderSlab {
        let mut nodes = Vec::new();
        if nodes.try_reserve_exact(n.min(MAX_ORDERS)).is_err() {
            nodes = Vec::new();
        }
        pinnacle_core::sys::advise_hugepages(&nodes);
        OrderSlab { nodes, free_head: NIL, len: 0 }
    }

    /// Number of occupied slots.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether one more insert can succeed; checked before any mutation so
    /// that [`OrderSlab::insert`] cannot fail.
    pub(crate) fn has_room(&self) -> bool {
        self.free_head != NIL || self.nodes.len() < MAX_ORDERS
    }

    /// Stores `node` (links are reset). Caller must have checked `has_room`.
    pub(crate) fn insert(&mut self, mut node: Node) -> u32 {
        node.prev = NIL;
        node.next = NIL;
        if self.free_head != NIL {
            let idx = self.free_head;
            // The free list links only vacated slots of `nodes`.
            let Some(slot) = self.nodes.get_mut(idx as usize) else {
                self.free_head = NIL;
                return self.insert(node);
            };
            self.free_head = slot.next;
            *slot = node;
            self.len += 1;
            idx
        } else {
            let idx = self.nodes.len() as u32;
            if self.nodes.len() == self.nodes.capacity() {
                // Doubling, as `push` would, but with huge pages asked for the new space.
                self.nodes.reserve(self.nodes.len().max(16));
                pinnacle_core::sys::advise_hugepages(&self.nodes);
            }
            self.nodes.push(node);
            self.len += 1;
            idx
        }
    }

    /// Vacates `idx` (which must be occupied and already unlinked) and returns
    /// its id, leaving a heap-free placeholder behind.
    // Slot handles are minted only by `insert` of this slab, whose `nodes` never shrinks,
    // so a handle always indexes a node (an Option would thread an impossible error
    // through every matching step, several per add, cancel and fill).
    #[allow(clippy::indexing_slicing)]
    pub(crate) fn remove(&mut self, idx: u32) -> OrderId {
        let slot = &mut self.nodes[idx as usize];
        let id = std::mem::replace(&mut slot.id, OrderId::Int(0));
        slot.prev = NIL;
        slot.next = self.free_head;
        self.free_head = idx;
        self.len -= 1;
        id
    }

    // Slot handles are minted only by `insert` of this slab, whose `nodes` never shrinks,
    // so a handle always indexes a node (an Option would thread an impossible error
    // through every matching step, several per add, cancel and fill).
    #[allow(clippy::indexing_slicing)]
    pub(crate) fn get(&self, idx: u32) -> &Node {
        &self.nodes[idx as usize]
    }

    // Slot handles are minted only by `insert` of this slab, whose `nodes` never shrinks,
    // so a handle always indexes a node (an Option would thread an impossible error
    // through every matching step, several per add, cancel and fill).
    #[allow(clippy::indexing_slicing)]
    pub(crate) fn get_mut(&mut self, idx: u32) -> &mut Node {
        &mut self.nodes[idx as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_slots_are_reused_and_hold_no_heap_id() {
        let mut slab = OrderSlab::with_capacity(0);
        let node = |id| Node {
            id,
            price: 1,
            quantity: 2,
            filled: 1,
            timestamp_ns: 0,
            prev: 7,
            next: 7,
            level: 0,
            side: Side::Buy,
        };
        let a = slab.insert(node(OrderId::string("abc").unwrap()));
        let b = slab.insert(node(OrderId::Int(2)));
        assert_eq!((slab.get(a).prev, slab.get(a).next), (NIL, NIL), "links reset");
        assert_eq!(slab.remove(a), OrderId::string("abc").unwrap());
        assert_eq!(slab.get(a).id, OrderId::Int(0));
        assert_eq!(slab.len(), 1);
        assert_eq!(slab.insert(node(OrderId::Int(3))), a);
        assert_ne!(a, b);
        assert!(slab.has_room());
        assert_eq!(slab.get(b).remaining(), 1);
    }
}
