//! Whole-book traversal in priority order, used by `orders()` and snapshot
//! encoding.
//!
//! Walking level lists one after another is a chain of dependent loads
//! (each node's `next` must arrive before the following node is fetched),
//! which is bound by memory latency on large books. Instead, up to `LANES`
//! levels are walked at once, each writing into its own precomputed range of
//! the output, so that many independent loads are in flight.

use crate::book::OrderBook;
use crate::order::NIL;

const LANES: usize = 16;

impl OrderBook {
    /// Slots of all resting orders: bids best price first, then asks best
    /// price first, oldest first within a level.
    pub(crate) fn slots_in_priority_order(&self) -> Vec<u32> {
        let mut out = vec![NIL; self.slab.len()];
        let mut levels = self.bids.values().rev().chain(self.asks.values());
        let mut next_start = 0usize;
        // (cursor slot, output position); cursor NIL = idle lane.
        let mut lanes = [(NIL, 0usize); LANES];
        loop {
            let mut busy = false;
            for lane in lanes.iter_mut() {
                if lane.0 == NIL {
                    // Levels are never empty, but skip a NIL head defensively.
                    for level in levels.by_ref().map(|&slot| self.levels.get(slot)) {
                        if level.head != NIL {
                            *lane = (level.head, next_start);
                            next_start += level.count;
                            break;
                        }
                    }
                    if lane.0 == NIL {
                        continue;
                    }
                }
                let (idx, pos) = *lane;
                if let Some(slot) = out.get_mut(pos) {
                    *slot = idx;
                }
                *lane = (self.slab.get(idx).next, pos + 1);
                busy = true;
            }
            if !busy {
                return out;
            }
        }
    }
}
