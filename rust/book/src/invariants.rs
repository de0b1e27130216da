//! Full O(n) consistency check of the book's internal structure, for tests
//! and diagnostics. Normal operation never calls it.

use std::collections::BTreeMap;

use crate::book::OrderBook;
use crate::order::NIL;
use crate::types::Side;

impl OrderBook {
    /// Walks every level and verifies: each mapped level slot is live and
    /// named by its orders, links are consistent in both directions, each level's `total`/`count` equal the sum/number of its
    /// orders' remaining quantities, no level is empty, orders sit on the
    /// right side and price, `0 <= filled < quantity`, the id index maps
    /// exactly the resting orders, and the book is uncrossed.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut seen = 0usize;
        self.check_side(Side::Buy, &self.bids, &mut seen)?;
        self.check_side(Side::Sell, &self.asks, &mut seen)?;
        if self.levels.live() != self.bids.len() + self.asks.len() {
            return Err(format!(
                "{} live level slots for {} mapped levels",
                self.levels.live(),
                self.bids.len() + self.asks.len()
            ));
        }
        if seen != self.slab.len() || seen != self.index.len() {
            return Err(format!(
                "{seen} orders in levels, {} in slab, {} in index",
                self.slab.len(),
                self.index.len()
            ));
        }
        if let (Some((b, _)), Some((a, _))) = (self.best_bid(), self.best_ask()) {
            if b >= a {
                return Err(format!("crossed book: bid {b} >= ask {a}"));
            }
        }
        Ok(())
    }

    fn check_side(&self, side: Side, levels: &BTreeMap<i64, u32>, seen: &mut usize) -> Result<(), String> {
        for (&price, &slot) in levels {
            let level = self.levels.get(slot);
            if level.count == 0 || level.head == NIL {
                return Err(format!("empty {side} level at {price}"));
            }
            let (mut total, mut count, mut prev, mut idx) = (0i64, 0usize, NIL, level.head);
            while idx != NIL {
                if count > self.slab.len() {
                    return Err(format!("cycle in {side} level {price}"));
                }
                let n = self.slab.get(idx);
                if n.prev != prev || n.side != side || n.price != price || n.level != slot {
                    return Err(format!("bad node {} in {side} level {price}", n.id.quoted()));
                }
                if n.filled < 0 || n.filled >= n.quantity {
                    return Err(format!("order {} has filled {} of {}", n.id, n.filled, n.quantity));
                }
                if self.index.get(&self.slab, &n.id) != Some(idx) {
                    return Err(format!("order {} not indexed at its slot", n.id.quoted()));
                }
                total = total
                    .checked_add(n.remaining())
                    .ok_or_else(|| format!("{side} level {price} overflows"))?;
                count += 1;
                prev = idx;
                idx = n.next;
            }
            if prev != level.tail || total != level.total || count != level.count {
                return Err(format!(
                    "{side} level {price}: stored total {} count {}, actual {total} {count}",
                    level.total, level.count
                ));
            }
            *seen += count;
        }
        Ok(())
    }
}
