//! Infallible mutation primitives. Each one preserves the book invariants
//! provided its documented preconditions were checked beforehand (by
//! `plan.rs`); none of them can fail, so they are safe to run after the op
//! has been journaled.

use std::collections::BTreeMap;

use crate::book::OrderBook;
use crate::index::IdIndex;
use crate::level::Level;
use crate::order::{Node, OrderSlab, NIL};
use crate::types::{Fill, OrderId, Side};

impl OrderBook {
    fn side_map_mut(&mut self, side: Side) -> &mut BTreeMap<i64, u32> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// Slot of the level at (`side`, `price`), creating it if absent. `known`
    /// is the slot found by the plan's lookup (valid because nothing on that
    /// side was removed since), which saves a second search.
    pub(crate) fn level_slot(&mut self, side: Side, price: i64, known: Option<u32>) -> u32 {
        if let Some(slot) = known {
            return slot;
        }
        let OrderBook { bids, asks, levels, .. } = self;
        let map = match side {
            Side::Buy => bids,
            Side::Sell => asks,
        };
        *map.entry(price).or_insert_with(|| levels.alloc())
    }

    /// Rests `node` at the back of its level.
    ///
    /// Preconditions: its id is not resting, `0 <= filled < quantity`, the
    /// slab has room, the level total plus its remaining quantity fits in
    /// i64, it does not cross the opposite side, and `known` (if any) is the
    /// current slot of its level.
    pub(crate) fn rest(&mut self, mut node: Node, known: Option<u32>) {
        let remaining = node.remaining();
        node.level = self.level_slot(node.side, node.price, known);
        let level = node.level;
        let idx = self.slab.insert(node);
        self.levels.get_mut(level).push_back(&mut self.slab, idx, remaining);
        let fresh = self.index.insert(&self.slab, idx);
        debug_assert!(fresh, "rest() precondition: id not already resting");
    }

    /// Removes the resting order in slot `idx` from its level, the index and
    /// the slab, dropping the level if it becomes empty. Returns its id.
    pub(crate) fn remove_resting(&mut self, idx: u32) -> OrderId {
        self.unlink_from_level(idx);
        self.index.remove(&self.slab, idx);
        self.slab.remove(idx)
    }

    /// Unlinks slot `idx` from its level, dropping the level if it empties.
    /// The node stays in the slab and the index.
    pub(crate) fn unlink_from_level(&mut self, idx: u32) {
        let (side, price, slot) = {
            let node = self.slab.get(idx);
            (node.side, node.price, node.level)
        };
        let level = self.levels.get_mut(slot);
        level.unlink(&mut self.slab, idx);
        if level.is_empty() {
            self.side_map_mut(side).remove(&price);
            self.levels.release(slot);
        }
    }

    /// Fills `qty` (0 < qty <= remaining) of the resting order in slot `idx`
    /// as maker, removing it if it is now fully filled.
    pub(crate) fn fill_resting(&mut self, idx: u32, qty: i64, ts: i64) -> Fill {
        let node = self.slab.get_mut(idx);
        node.filled += qty;
        let (side, price, done) = (node.side, node.price, node.remaining() == 0);
        self.levels.get_mut(node.level).total -= qty;
        let maker_id = if done { self.remove_resting(idx) } else { self.slab.get(idx).id.clone() };
        Fill { maker_id, taker_id: None, side, price, quantity: qty, timestamp_ns: ts }
    }

    /// Matches a taker of `taker_side` for up to `qty` against the opposite
    /// side, best price first and FIFO within a level, at the makers' prices.
    /// With `limit`, stops at the first level that does not cross it.
    /// Appends fills and returns the unfilled quantity (`qty > 0`).
    pub(crate) fn take_liquidity(
        &mut self,
        taker_side: Side,
        limit: Option<i64>,
        mut qty: i64,
        taker_id: Option<&OrderId>,
        ts: i64,
        fills: &mut Vec<Fill>,
    ) -> i64 {
        let OrderBook { bids, asks, levels, slab, index, .. } = self;
        while qty > 0 {
            let entry = match taker_side {
                Side::Buy => asks.first_entry(),
                Side::Sell => bids.last_entry(),
            };
            let Some(entry) = entry else { break };
            let (price, slot) = (*entry.key(), *entry.get());
            let crosses = match (taker_side, limit) {
                (_, None) => true,
                (Side::Buy, Some(l)) => price <= l,
                (Side::Sell, Some(l)) => price >= l,
            };
            if !crosses {
                break;
            }
            let level = levels.get_mut(slot);
            qty = match_level(level, slab, index, qty, taker_id, price, ts, fills);
            if level.is_empty() {
                entry.remove();
                levels.release(slot);
            }
        }
        qty
    }
}

/// Fills up to `qty` from the front of one level; fully filled makers leave
/// the level, index and slab. Returns the unfilled quantity.
#[allow(clippy::too_many_arguments)]
fn match_level(
    level: &mut Level,
    slab: &mut OrderSlab,
    index: &mut IdIndex,
    mut qty: i64,
    taker_id: Option<&OrderId>,
    price: i64,
    ts: i64,
    fills: &mut Vec<Fill>,
) -> i64 {
    while qty > 0 && level.head != NIL {
        let idx = level.head;
        let node = slab.get_mut(idx);
        let q = qty.min(node.remaining());
        node.filled += q;
        level.total -= q;
        qty -= q;
        let side = node.side;
        let maker_id = if node.remaining() == 0 {
            // Remaining is now 0, so unlinking subtracts nothing more.
            level.unlink(slab, idx);
            index.remove(slab, idx);
            slab.remove(idx)
        } else {
            node.id.clone()
        };
        fills.push(Fill {
            maker_id,
            taker_id: taker_id.cloned(),
            side,
            price,
            quantity: q,
            timestamp_ns: ts,
        });
    }
    qty
}
