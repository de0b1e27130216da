//! The ledger's state: what a trading program sent, what filled, what it holds.
//! Changed only by [`crate::LedgerRecord`]s through `validate`/`apply` (`apply.rs`).

use crate::dec::Dec;
use crate::record::{OrderType, Side};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Pending,
    Open,
    PartiallyFilled,
    Filled,
    Cancelled,
    Rejected,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Open => "open",
            Status::PartiallyFilled => "partially_filled",
            Status::Filled => "filled",
            Status::Cancelled => "cancelled",
            Status::Rejected => "rejected",
        }
    }
    /// Filled, cancelled and rejected orders take no more changes.
    pub fn is_closed(self) -> bool {
        matches!(self, Status::Filled | Status::Cancelled | Status::Rejected)
    }
    pub fn code(self) -> u8 {
        self as u8
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    pub client_id: String,
    pub symbol: String,
    pub exchange: String,
    pub side: Side,
    pub order_type: OrderType,
    pub price: Option<Dec>,
    pub quantity: Dec,
    pub filled: Dec,
    pub status: Status,
    pub exchange_order_id: Option<String>,
    pub strategy_id: Option<String>,
    pub reason: Option<String>,
    pub created_ns: i64,
    pub updated_ns: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fill {
    pub exchange: String,
    pub trade_id: String,
    pub client_id: String,
    pub symbol: String,
    pub side: Side,
    pub price: Dec,
    pub quantity: Dec,
    pub fee: Dec,
    pub fee_asset: String,
    /// Realized P&L this fill closed (0 when it only added to the position).
    pub realized: Dec,
    pub ts_ns: i64,
}

/// A signed position (negative: short) at its average cost.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub quantity: Dec,
    pub avg_price: Dec,
    pub realized_pnl: Dec,
    pub updated_ns: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Balance {
    pub total: Dec,
    pub available: Dec,
    pub updated_ns: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Risk {
    pub halted: bool,
    pub reason: Option<String>,
    pub halt_ns: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Strategy {
    /// JSON text (validated when set).
    pub parameters: String,
    pub custom_state: Vec<u8>,
    pub active: bool,
    pub last_signal_ns: Option<i64>,
    pub updated_ns: i64,
}

/// (symbol, exchange).
pub type PosKey = (String, String);
/// (exchange, trade_id): a fill's identity (idempotency key).
pub type FillKey = (String, String);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    pub orders: BTreeMap<String, Order>,
    /// Every fill ever recorded (the idempotency set outlives the recent window).
    pub fills: BTreeMap<FillKey, Fill>,
    /// The recent-fills window, oldest first (pruned by `PruneFills`).
    pub recent: VecDeque<FillKey>,
    pub positions: BTreeMap<PosKey, Position>,
    /// Fees paid per fee asset (kept apart from realized P&L).
    pub fees: BTreeMap<String, Dec>,
    pub realized_pnl: Dec,
    /// (exchange, asset) -> balance.
    pub balances: BTreeMap<(String, String), Balance>,
    pub risk: Risk,
    pub config: BTreeMap<String, String>,
    pub config_version: u64,
    pub strategies: BTreeMap<String, Strategy>,
    /// Symbols seen in submits and positions ("open orders reference known symbols").
    pub symbols: BTreeSet<String>,
    pub last_update_ns: i64,
    /// Records applied.
    pub ops: u64,
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger::default()
    }
    pub fn order(&self, client_id: &str) -> Option<&Order> {
        self.orders.get(client_id)
    }
    pub fn recent_fills(&self) -> impl Iterator<Item = &Fill> {
        self.recent.iter().filter_map(|k| self.fills.get(k))
    }
    pub fn open_orders(&self) -> impl Iterator<Item = &Order> {
        self.orders.values().filter(|o| matches!(o.status, Status::Open | Status::PartiallyFilled))
    }
    pub fn pending_orders(&self) -> impl Iterator<Item = &Order> {
        self.orders.values().filter(|o| o.status == Status::Pending)
    }
}
