//! The order book: state and read-only queries. Mutations live in
//! `matching.rs` (primitives), `plan.rs` (validate-then-commit per op) and
//! `apply.rs` (the write-ahead entry points).

use std::collections::BTreeMap;

use crate::error::BookError;
use crate::index::IdIndex;
use crate::level::{Level, LevelSlab};
use crate::order::{Node, OrderSlab, NIL};
use crate::types::{Order, OrderId, Side, MAX_ID_LEN};

/// `(price, total remaining quantity, order count)` of one level.
pub type DepthLevel = (i64, i64, usize);

/// A single-symbol limit order book with price-time priority.
///
/// Invariants (hold between any two public calls):
/// - every resting order is in exactly one level of its side, in the id
///   index, and in the slab; the index maps its id to its slab slot;
/// - `bids`/`asks` map each price to a distinct live slot of `levels`;
/// - no level is empty and each level's aggregates match its orders;
/// - the book is uncrossed: best bid < best ask;
/// - every resting order has `0 <= filled < quantity` and `price > 0`.
#[derive(Clone, Debug)]
pub struct OrderBook {
    pub(crate) symbol: Box<str>,
    /// Price -> level slot.
    pub(crate) bids: BTreeMap<i64, u32>,
    pub(crate) asks: BTreeMap<i64, u32>,
    pub(crate) levels: LevelSlab,
    pub(crate) slab: OrderSlab,
    pub(crate) index: IdIndex,
    /// Reused buffer for encoding ops passed to the journal.
    pub(crate) scratch: Vec<u8>,
}

impl OrderBook {
    /// An empty book. `symbol` must be 1..=64 bytes (it is stored in
    /// snapshots with a bounded length).
    pub fn new(symbol: &str) -> Result<OrderBook, BookError> {
        OrderBook::with_capacity(symbol, 0)
    }

    /// Like [`OrderBook::new`], pre-sizing storage for `orders` resting
    /// orders (about 90 bytes each; the memory is reserved up front, as with
    /// `Vec::with_capacity`). If the reservation fails the book starts small
    /// and grows on demand.
    pub fn with_capacity(symbol: &str, orders: usize) -> Result<OrderBook, BookError> {
        if symbol.is_empty() || symbol.len() > MAX_ID_LEN {
            return Err(BookError::InvalidSymbol { len: symbol.len() });
        }
        Ok(OrderBook {
            symbol: symbol.into(),
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            levels: LevelSlab::default(),
            slab: OrderSlab::with_capacity(orders),
            index: IdIndex::with_capacity(orders),
            scratch: Vec::new(),
        })
    }

    pub fn symbol(&self) -> &str {
        &self.symbol
    }

    /// Highest bid price and the total remaining quantity resting there.
    pub fn best_bid(&self) -> Option<(i64, i64)> {
        self.bids.last_key_value().map(|(p, &l)| (*p, self.levels.get(l).total))
    }

    /// Lowest ask price and the total remaining quantity resting there.
    pub fn best_ask(&self) -> Option<(i64, i64)> {
        self.asks.first_key_value().map(|(p, &l)| (*p, self.levels.get(l).total))
    }

    /// Number of resting orders.
    pub fn order_count(&self) -> usize {
        self.slab.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slab.len() == 0
    }

    /// Number of non-empty price levels on `side`.
    pub fn level_count(&self, side: Side) -> usize {
        self.side_levels(side).len()
    }

    pub fn contains(&self, id: &OrderId) -> bool {
        self.index.get(&self.slab, id).is_some()
    }

    pub fn get_order(&self, id: &OrderId) -> Option<Order> {
        self.index.get(&self.slab, id).map(|idx| self.slab.get(idx).to_order())
    }

    /// All resting orders: bids best (highest) price first, then asks best
    /// (lowest) price first; oldest first within a level.
    pub fn orders(&self) -> Vec<Order> {
        let mut out = Vec::with_capacity(self.order_count());
        self.for_each_node(|n| out.push(n.to_order()));
        out
    }

    /// Orders of one level, oldest first (empty if there is no such level).
    pub fn level_orders(&self, side: Side, price: i64) -> Vec<Order> {
        let mut out = Vec::new();
        if let Some(&slot) = self.side_levels(side).get(&price) {
            self.walk_level(self.levels.get(slot), |n| out.push(n.to_order()));
        }
        out
    }

    /// Up to `levels` levels per side, best first: `(bids, asks)`.
    pub fn depth(&self, levels: usize) -> (Vec<DepthLevel>, Vec<DepthLevel>) {
        let row = |(p, &slot): (&i64, &u32)| {
            let l = self.levels.get(slot);
            (*p, l.total, l.count)
        };
        let bids = self.bids.iter().rev().take(levels).map(row).collect();
        let asks = self.asks.iter().take(levels).map(row).collect();
        (bids, asks)
    }

    pub(crate) fn side_levels(&self, side: Side) -> &BTreeMap<i64, u32> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    /// Visits resting orders in [`OrderBook::orders`] order without cloning.
    pub(crate) fn for_each_node(&self, mut f: impl FnMut(&Node)) {
        for idx in self.slots_in_priority_order() {
            f(self.slab.get(idx));
        }
    }

    fn walk_level(&self, level: &Level, mut f: impl FnMut(&Node)) {
        let mut idx = level.head;
        while idx != NIL {
            let node = self.slab.get(idx);
            f(node);
            idx = node.next;
        }
    }
}

/// Logical equality: same symbol and the same resting orders in the same
/// priority order (slot layout and spare capacity are ignored).
impl PartialEq for OrderBook {
    fn eq(&self, other: &OrderBook) -> bool {
        self.symbol == other.symbol
            && self.order_count() == other.order_count()
            && self.bids.len() == other.bids.len()
            && self.asks.len() == other.asks.len()
            && self.orders() == other.orders()
    }
}

impl Eq for OrderBook {}
