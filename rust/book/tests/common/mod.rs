//! Shared test helpers: a naive reference model of the book and proptest
//! strategies for random op sequences.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

use pinnacle_book::{Fill, Op, Order, OrderBook, OrderId, Side};
use proptest::prelude::*;

pub fn book() -> OrderBook {
    OrderBook::new("BTC-USD").expect("valid symbol")
}

pub fn sid(s: &str) -> OrderId {
    OrderId::string(s).expect("valid id")
}

pub fn int(v: u64) -> OrderId {
    OrderId::Int(v)
}

/// Applies `op` through the plain methods, normalising to a fill list.
pub fn run(book: &mut OrderBook, op: &Op) -> Result<Vec<Fill>, String> {
    let r = match op.clone() {
        Op::Add { id, side, price, qty, ts } => book.add_order(id, side, price, qty, ts),
        Op::Cancel { id, .. } => book.cancel_order(&id).map(|_| Vec::new()),
        Op::Execute { id, qty, ts } => book.execute_order(&id, qty, ts).map(|f| vec![f]),
        Op::Market { side, qty, ts } => book.execute_market_order(side, qty, ts),
        Op::Modify { id, price, qty, ts } => book.modify_order(&id, price, qty, ts).map(|_| vec![]),
    };
    r.map_err(|e| e.to_string())
}

/// Obviously-correct reference: a flat list of orders with an arrival
/// sequence number; priority is recomputed by sorting on every query.
#[derive(Default, Clone)]
pub struct Model {
    orders: Vec<(Order, u64)>,
    seq: u64,
}

impl Model {
    fn priority_key(o: &(Order, u64)) -> (u8, i64, u64) {
        match o.0.side {
            Side::Buy => (0, -o.0.price, o.1),
            Side::Sell => (1, o.0.price, o.1),
        }
    }

    pub fn orders(&self) -> Vec<Order> {
        let mut v = self.orders.clone();
        v.sort_by_key(Self::priority_key);
        v.into_iter().map(|(o, _)| o).collect()
    }

    fn pos(&self, id: &OrderId) -> Option<usize> {
        self.orders.iter().position(|(o, _)| &o.id == id)
    }

    /// Best resting order of `side` (by price then arrival).
    fn best(&self, side: Side) -> Option<usize> {
        (0..self.orders.len())
            .filter(|&i| self.orders[i].0.side == side)
            .min_by_key(|&i| Self::priority_key(&self.orders[i]))
    }

    fn take(
        &mut self,
        taker: Side,
        limit: Option<i64>,
        mut qty: i64,
        taker_id: Option<&OrderId>,
        ts: i64,
    ) -> (Vec<Fill>, i64) {
        let mut fills = Vec::new();
        while qty > 0 {
            let Some(i) = self.best(taker.opposite()) else { break };
            let o = &mut self.orders[i].0;
            let crosses = match (taker, limit) {
                (_, None) => true,
                (Side::Buy, Some(l)) => o.price <= l,
                (Side::Sell, Some(l)) => o.price >= l,
            };
            if !crosses {
                break;
            }
            let q = qty.min(o.remaining());
            o.filled += q;
            qty -= q;
            fills.push(Fill {
                maker_id: o.id.clone(),
                taker_id: taker_id.cloned(),
                side: o.side,
                price: o.price,
                quantity: q,
                timestamp_ns: ts,
            });
            if o.remaining() == 0 {
                self.orders.remove(i);
            }
        }
        (fills, qty)
    }

    pub fn apply(&mut self, op: &Op) -> Result<Vec<Fill>, ()> {
        match op.clone() {
            Op::Add { id, side, price, qty, ts } => {
                if price <= 0 || qty <= 0 || self.pos(&id).is_some() {
                    return Err(());
                }
                let (fills, left) = self.take(side, Some(price), qty, Some(&id), ts);
                if left > 0 {
                    self.seq += 1;
                    let o = Order { id, side, price, quantity: qty, filled: qty - left, timestamp_ns: ts };
                    self.orders.push((o, self.seq));
                }
                Ok(fills)
            }
            Op::Cancel { id, .. } => {
                if let Some(i) = self.pos(&id) {
                    self.orders.remove(i);
                }
                Ok(Vec::new())
            }
            Op::Execute { id, qty, ts } => {
                let i = self.pos(&id).ok_or(())?;
                let o = &mut self.orders[i].0;
                if qty <= 0 || qty > o.remaining() {
                    return Err(());
                }
                o.filled += qty;
                let f = Fill {
                    maker_id: id,
                    taker_id: None,
                    side: o.side,
                    price: o.price,
                    quantity: qty,
                    timestamp_ns: ts,
                };
                if o.remaining() == 0 {
                    self.orders.remove(i);
                }
                Ok(vec![f])
            }
            Op::Market { side, qty, ts } => {
                if qty <= 0 {
                    return Err(());
                }
                Ok(self.take(side, None, qty, None, ts).0)
            }
            Op::Modify { id, price, qty, ts } => {
                if (price.is_none() && qty.is_none())
                    || price.is_some_and(|p| p <= 0)
                    || qty.is_some_and(|q| q <= 0)
                {
                    return Err(());
                }
                let i = self.pos(&id).ok_or(())?;
                let o = self.orders[i].0.clone();
                let new_price = price.unwrap_or(o.price);
                let new_rem = qty.unwrap_or(o.remaining());
                if new_price != o.price {
                    if let Some(b) = self.best(o.side.opposite()) {
                        let opp = self.orders[b].0.price;
                        let crosses = match o.side {
                            Side::Buy => new_price >= opp,
                            Side::Sell => new_price <= opp,
                        };
                        if crosses {
                            return Err(());
                        }
                    }
                }
                let requeue = new_price != o.price || new_rem > o.remaining();
                self.seq += 1;
                let entry = &mut self.orders[i];
                entry.0.quantity = entry.0.filled + new_rem;
                if requeue {
                    entry.0.price = new_price;
                    entry.0.timestamp_ns = ts;
                    entry.1 = self.seq;
                }
                Ok(Vec::new())
            }
        }
    }
}

pub fn arb_id() -> impl Strategy<Value = OrderId> {
    prop_oneof![
        3 => (0u64..24).prop_map(OrderId::Int),
        1 => (0u8..6).prop_map(|n| sid(&format!("o{n}"))),
    ]
}

pub fn arb_side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

/// Ops over a small id pool and a narrow price band so that duplicates,
/// crossings and cancels of resting orders are common. Includes invalid
/// values (0 / negative) to exercise error paths. `ts` is filled in later.
pub fn arb_op() -> impl Strategy<Value = Op> {
    let price = prop_oneof![10 => 95i64..=105, 1 => -1i64..=0];
    let qty = prop_oneof![10 => 1i64..=12, 1 => -1i64..=0];
    prop_oneof![
        6 => (arb_id(), arb_side(), price.clone(), qty.clone())
            .prop_map(|(id, side, price, qty)| Op::Add { id, side, price, qty, ts: 0 }),
        2 => arb_id().prop_map(|id| Op::Cancel { id, ts: 0 }),
        2 => (arb_id(), qty.clone()).prop_map(|(id, qty)| Op::Execute { id, qty, ts: 0 }),
        1 => (arb_side(), qty.clone()).prop_map(|(side, qty)| Op::Market { side, qty, ts: 0 }),
        2 => (arb_id(), proptest::option::of(price), proptest::option::of(qty))
            .prop_map(|(id, price, qty)| Op::Modify { id, price, qty, ts: 0 }),
    ]
}

/// Random op sequence with strictly increasing timestamps.
pub fn arb_ops(max: usize) -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(arb_op(), 0..max)
        .prop_map(|ops| ops.into_iter().enumerate().map(|(i, op)| with_ts(op, 1_000 + i as i64)).collect())
}

pub fn with_ts(op: Op, t: i64) -> Op {
    match op {
        Op::Add { id, side, price, qty, .. } => Op::Add { id, side, price, qty, ts: t },
        Op::Cancel { id, .. } => Op::Cancel { id, ts: t },
        Op::Execute { id, qty, .. } => Op::Execute { id, qty, ts: t },
        Op::Market { side, qty, .. } => Op::Market { side, qty, ts: t },
        Op::Modify { id, price, qty, .. } => Op::Modify { id, price, qty, ts: t },
    }
}
