//! pinnacle's trading-state ledger: orders, fills, positions, balances, risk, config and
//! strategies, changed only by journaled records (`pinnacle_core::wal`), replayed through
//! the same validate/apply, exact to 18 decimals. No Python here.

pub mod apply;
pub mod check;
pub mod dec;
mod decode;
pub mod error;
pub mod history;
pub mod position;
pub mod record;
pub mod snapshot;
pub mod state;
mod wire;

pub use apply::Outcome;
pub use dec::{Dec, DecError};
pub use error::{ErrorCode, LedgerError};
pub use record::{FillIn, LedgerRecord, Op, OrderType, Side, Submit, FUTURE_TOLERANCE_NS, RECORD_VERSION};
pub use state::{Balance, Fill, Ledger, Order, Position, Risk, Status, Strategy};

/// A ledger journaled write-ahead.
pub type JournaledLedger = pinnacle_core::Journaled<Ledger>;
