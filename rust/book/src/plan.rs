//! Validate-then-commit, per op kind.
//!
//! `check_*` takes `&self`, performs every check that could fail and returns
//! a plan; `commit_*` takes the plan and cannot fail. Plans hold slot indices
//! that are only valid for the state they were checked against, so the book
//! must not change in between: every caller (`apply`, `apply_unjournaled`,
//! the plain methods) runs check, journal and commit back to back under one
//! `&mut self`, and plans are crate-private.

use crate::book::OrderBook;
use crate::error::BookError;
use crate::order::{Node, NIL};
use crate::types::{Fill, OrderId, Side};

pub(crate) struct AddPlan {
    id: OrderId,
    side: Side,
    price: i64,
    qty: i64,
    ts: i64,
    /// Slot of the existing own-side level at `price`, if any. Matching only
    /// touches the opposite side, so it stays valid until the order rests.
    level: Option<u32>,
}

/// `idx` is the slot of the resting order, `None` if the id is unknown.
pub(crate) struct CancelPlan {
    idx: Option<u32>,
}

impl CancelPlan {
    /// True when the id is not resting: the cancel changes nothing.
    pub(crate) fn finds_nothing(&self) -> bool {
        self.idx.is_none()
    }
}

pub(crate) struct ExecutePlan {
    idx: u32,
    qty: i64,
    ts: i64,
}

pub(crate) struct MarketPlan {
    side: Side,
    qty: i64,
    ts: i64,
}

pub(crate) struct ModifyPlan {
    idx: u32,
    price: i64,
    remaining: i64,
    /// Loses time priority: moves to the back of the level at `price`.
    requeue: bool,
    /// For a price change: slot of the existing destination level, if any.
    dest: Option<u32>,
    ts: i64,
}

/// A checked op, ready to commit.
pub(crate) enum Plan {
    Add(AddPlan),
    Cancel(CancelPlan),
    Execute(ExecutePlan),
    Market(MarketPlan),
    Modify(ModifyPlan),
}

fn positive_price(price: i64) -> Result<(), BookError> {
    if price <= 0 {
        return Err(BookError::InvalidPrice { price });
    }
    Ok(())
}

fn positive_qty(qty: i64) -> Result<(), BookError> {
    if qty <= 0 {
        return Err(BookError::InvalidQuantity { qty });
    }
    Ok(())
}

impl OrderBook {
    fn unknown(&self, id: &OrderId) -> BookError {
        BookError::UnknownOrder { id: id.clone(), symbol: self.symbol.clone() }
    }

    fn overflow(&self, price: i64) -> BookError {
        BookError::QuantityOverflow { price, symbol: self.symbol.clone() }
    }

    fn slot_of(&self, id: &OrderId) -> Result<u32, BookError> {
        match self.index.get(&self.slab, id) {
            Some(idx) => Ok(idx),
            None => Err(self.unknown(id)),
        }
    }

    pub(crate) fn check_add(
        &self,
        id: OrderId,
        side: Side,
        price: i64,
        qty: i64,
        ts: i64,
    ) -> Result<AddPlan, BookError> {
        positive_price(price)?;
        positive_qty(qty)?;
        if self.index.get(&self.slab, &id).is_some() {
            return Err(BookError::DuplicateId { id, symbol: self.symbol.clone() });
        }
        // If an own-side level exists at `price` the order cannot cross (the
        // book is uncrossed), so all of `qty` would rest there. Otherwise any
        // remainder (<= qty) starts a fresh level and cannot overflow.
        let level = self.side_levels(side).get(&price).copied();
        if let Some(slot) = level {
            if self.levels.get(slot).total.checked_add(qty).is_none() {
                return Err(self.overflow(price));
            }
        }
        if !self.slab.has_room() {
            return Err(BookError::CapacityExceeded { symbol: self.symbol.clone() });
        }
        Ok(AddPlan { id, side, price, qty, ts, level })
    }

    pub(crate) fn commit_add(&mut self, p: AddPlan) -> Vec<Fill> {
        let mut fills = Vec::new();
        let left = self.take_liquidity(p.side, Some(p.price), p.qty, Some(&p.id), p.ts, &mut fills);
        if left > 0 {
            let node = Node {
                id: p.id,
                price: p.price,
                quantity: p.qty,
                filled: p.qty - left,
                timestamp_ns: p.ts,
                prev: NIL,
                next: NIL,
                level: NIL,
                side: p.side,
            };
            self.rest(node, p.level);
        }
        fills
    }

    pub(crate) fn check_cancel(&self, id: &OrderId) -> CancelPlan {
        CancelPlan { idx: self.index.get(&self.slab, id) }
    }

    pub(crate) fn commit_cancel(&mut self, p: CancelPlan) -> bool {
        match p.idx {
            Some(idx) => {
                self.remove_resting(idx);
                true
            }
            None => false,
        }
    }

    pub(crate) fn check_execute(&self, id: &OrderId, qty: i64, ts: i64) -> Result<ExecutePlan, BookError> {
        positive_qty(qty)?;
        let idx = self.slot_of(id)?;
        let node = self.slab.get(idx);
        if qty > node.remaining() {
            return Err(BookError::Overfill {
                id: node.id.clone(),
                requested: qty,
                remaining: node.remaining(),
                symbol: self.symbol.clone(),
            });
        }
        Ok(ExecutePlan { idx, qty, ts })
    }

    pub(crate) fn commit_execute(&mut self, p: ExecutePlan) -> Fill {
        self.fill_resting(p.idx, p.qty, p.ts)
    }

    pub(crate) fn check_market(&self, side: Side, qty: i64, ts: i64) -> Result<MarketPlan, BookError> {
        positive_qty(qty)?;
        Ok(MarketPlan { side, qty, ts })
    }

    pub(crate) fn commit_market(&mut self, p: MarketPlan) -> Vec<Fill> {
        let mut fills = Vec::new();
        // Unfilled quantity (book ran dry) is discarded by design.
        self.take_liquidity(p.side, None, p.qty, None, p.ts, &mut fills);
        fills
    }

    pub(crate) fn check_modify(
        &self,
        id: &OrderId,
        price: Option<i64>,
        qty: Option<i64>,
        ts: i64,
    ) -> Result<ModifyPlan, BookError> {
        if price.is_none() && qty.is_none() {
            return Err(BookError::EmptyModify { id: id.clone() });
        }
        if let Some(p) = price {
            positive_price(p)?;
        }
        if let Some(q) = qty {
            positive_qty(q)?;
        }
        let idx = self.slot_of(id)?;
        let node = self.slab.get(idx);
        let new_price = price.unwrap_or(node.price);
        let old_rem = node.remaining();
        let new_rem = qty.unwrap_or(old_rem);
        let moves = new_price != node.price;
        if moves {
            let opposite = match node.side {
                Side::Buy => self.best_ask().filter(|&(a, _)| new_price >= a),
                Side::Sell => self.best_bid().filter(|&(b, _)| new_price <= b),
            };
            if let Some((opposite_best, _)) = opposite {
                return Err(BookError::CrossingModify {
                    id: node.id.clone(),
                    side: node.side,
                    price: new_price,
                    opposite_best,
                    symbol: self.symbol.clone(),
                });
            }
        }
        if node.filled.checked_add(new_rem).is_none() {
            return Err(self.overflow(new_price));
        }
        // Destination level and its total without this order.
        let (dest, base) = if moves {
            let dest = self.side_levels(node.side).get(&new_price).copied();
            (dest, dest.map_or(0, |slot| self.levels.get(slot).total))
        } else {
            (None, self.levels.get(node.level).total - old_rem)
        };
        if base.checked_add(new_rem).is_none() {
            return Err(self.overflow(new_price));
        }
        let requeue = moves || new_rem > old_rem;
        Ok(ModifyPlan { idx, price: new_price, remaining: new_rem, requeue, dest, ts })
    }

    pub(crate) fn commit_modify(&mut self, p: ModifyPlan) {
        let node = self.slab.get(p.idx);
        let (side, old_price, old_rem, slot) = (node.side, node.price, node.remaining(), node.level);
        if !p.requeue {
            // Same level, same or lower quantity: keeps its queue position
            // and timestamp.
            let node = self.slab.get_mut(p.idx);
            node.quantity = node.filled + p.remaining;
            self.levels.get_mut(slot).total -= old_rem - p.remaining;
            return;
        }
        let dest = if p.price == old_price {
            // Same level, larger quantity: to the back of the same queue. The
            // level is refilled at once, so it is not released.
            self.levels.get_mut(slot).unlink(&mut self.slab, p.idx);
            slot
        } else {
            // `p.dest` names a level at another price, so releasing the old
            // level (if this empties it) cannot invalidate it.
            self.unlink_from_level(p.idx);
            self.level_slot(side, p.price, p.dest)
        };
        let node = self.slab.get_mut(p.idx);
        node.price = p.price;
        node.quantity = node.filled + p.remaining;
        node.timestamp_ns = p.ts;
        node.level = dest;
        self.levels.get_mut(dest).push_back(&mut self.slab, p.idx, p.remaining);
    }
}
