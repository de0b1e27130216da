//! Value types shared by the book, the op codec and the snapshot format.

use std::fmt;
use std::hash::{Hash, Hasher};

pub use crate::strid::{StrId, MAX_ID_LEN};

/// Side of an order. Encoded on the wire as `0` (buy) / `1` (sell).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    /// Wire encoding: `Buy = 0`, `Sell = 1`.
    pub fn to_u8(self) -> u8 {
        match self {
            Side::Buy => 0,
            Side::Sell => 1,
        }
    }

    /// Inverse of [`Side::to_u8`]; any other byte is `None`.
    pub fn from_u8(b: u8) -> Option<Side> {
        match b {
            0 => Some(Side::Buy),
            1 => Some(Side::Sell),
            _ => None,
        }
    }

    /// The side an order of this side trades against.
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        })
    }
}

/// Order id: an integer or a short string. `Int(5)` and `Str("5")` are
/// distinct ids (the variant is part of equality).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum OrderId {
    Int(u64),
    Str(StrId),
}

/// One hasher call per id (consistent with `Eq`: equal ids hash equally;
/// `Int(5)` and `Str("5")` may collide but never compare equal).
impl Hash for OrderId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            OrderId::Int(v) => state.write_u64(*v),
            OrderId::Str(s) => state.write(s.as_bytes()),
        }
    }
}

impl From<u64> for OrderId {
    fn from(v: u64) -> OrderId {
        OrderId::Int(v)
    }
}

impl From<StrId> for OrderId {
    fn from(v: StrId) -> OrderId {
        OrderId::Str(v)
    }
}

/// Plain form: `5` for `Int(5)`, `abc` for `Str("abc")`. Error messages use
/// [`OrderId::quoted`] so that `Int(5)` and `Str("5")` stay distinguishable.
impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrderId::Int(v) => write!(f, "{v}"),
            OrderId::Str(s) => f.write_str(s.as_str()),
        }
    }
}

impl OrderId {
    /// `5` for `Int(5)`, `'abc'` for `Str("abc")`.
    pub fn quoted(&self) -> String {
        match self {
            OrderId::Int(v) => v.to_string(),
            OrderId::Str(s) => format!("'{s}'"),
        }
    }
}

/// A resting order as seen from outside the book.
///
/// Invariant for orders in a book: `0 <= filled < quantity`, `price > 0`.
/// `quantity` is the original quantity (after a modify: `filled` plus the new
/// remaining quantity).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Order {
    pub id: OrderId,
    pub side: Side,
    pub price: i64,
    pub quantity: i64,
    pub filled: i64,
    pub timestamp_ns: i64,
}

impl Order {
    pub fn remaining(&self) -> i64 {
        self.quantity - self.filled
    }
}

/// One trade between a resting (maker) order and a taker.
///
/// `taker_id` is `None` for [`crate::OrderBook::execute_order`] and market
/// orders; `side` is the maker's side; `price` is the maker's price;
/// `timestamp_ns` is the timestamp of the operation that caused the fill.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Fill {
    pub maker_id: OrderId,
    pub taker_id: Option<OrderId>,
    pub side: Side,
    pub price: i64,
    pub quantity: i64,
    pub timestamp_ns: i64,
}
