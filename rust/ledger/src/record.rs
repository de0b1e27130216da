//! The ledger's records: one enum, each variant journaled under its own registered kind
//! (`pinnacle_core::kinds::LEDGER_*`, 256 + tag). Payload: schema version byte, tag byte,
//! timestamp (ns, i64), then the variant's fields (see `wire.rs`). Decode is exact-length,
//! never panics, and refuses a newer version with a clear error.

use crate::dec::Dec;
use crate::error::{ErrorCode, LedgerError};
use crate::wire::*;
use pinnacle_core::kinds;
use pinnacle_core::wal::Record;

/// The schema version every record is written with.
pub const RECORD_VERSION: u8 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    Buy,
    Sell,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrderType {
    Market,
    Limit,
    Stop,
    StopLimit,
}

macro_rules! text_enum {
    ($t:ty, $what:literal, $($v:ident = $s:literal / $n:literal),+) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),+ }
            }
            pub fn parse(s: &str) -> Result<Self, LedgerError> {
                match s {
                    $($s => Ok(Self::$v),)+
                    _ => Err(LedgerError::new(ErrorCode::InvalidValue, format!(
                        concat!($what, " must be one of {}, got {:?}"),
                        [$($s),+].join(", "), s))),
                }
            }
            pub fn code(self) -> u8 {
                match self { $(Self::$v => $n),+ }
            }
            pub fn from_code(c: u8) -> Result<Self, LedgerError> {
                match c {
                    $($n => Ok(Self::$v),)+
                    _ => Err(LedgerError::decode(format!(concat!("bad ", $what, " code {}"), c))),
                }
            }
        }
    };
}
text_enum!(Side, "side", Buy = "buy" / 0, Sell = "sell" / 1);
text_enum!(
    OrderType,
    "order_type",
    Market = "market" / 0,
    Limit = "limit" / 1,
    Stop = "stop" / 2,
    StopLimit = "stop_limit" / 3
);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submit {
    pub client_id: String,
    pub symbol: String,
    pub exchange: String,
    pub side: Side,
    pub order_type: OrderType,
    pub price: Option<Dec>,
    pub quantity: Dec,
    pub strategy_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FillIn {
    pub client_id: String,
    pub trade_id: String,
    pub price: Dec,
    pub quantity: Dec,
    pub fee: Dec,
    pub fee_asset: String,
}

/// What a record does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Submit(Submit),
    Ack { client_id: String, exchange_order_id: String },
    Reject { client_id: String, reason: String },
    Fill(FillIn),
    Cancel { client_id: String },
    Position { symbol: String, exchange: String, quantity: Dec, avg_price: Dec },
    Balance { exchange: String, asset: String, total: Dec, available: Dec },
    Halt { reason: String },
    Resume,
    Config { key: String, value: String },
    StrategyParams { id: String, json: String },
    StrategyState { id: String, state: Vec<u8> },
    StrategyActive { id: String, active: bool },
    StrategySignal { id: String },
    PruneFills { before_ns: i64 },
}

/// A ledger record: an operation and when it happened (ns since the epoch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerRecord {
    pub ts_ns: i64,
    pub op: Op,
}

/// How far past the wall clock a new record's timestamp may be (5 minutes). New records
/// are checked against it before they are journaled ([`LedgerRecord::check_fresh`]); a
/// replay is not (the clock may have stepped back since).
pub const FUTURE_TOLERANCE_NS: i64 = 300 * 1_000_000_000;

impl LedgerRecord {
    /// Refuses (`invalid_value`) a new record stamped more than [`FUTURE_TOLERANCE_NS`]
    /// after `now_ns`: it would be journaled with a time that has not come.
    pub fn check_fresh(&self, now_ns: i64) -> Result<(), LedgerError> {
        let limit = now_ns.saturating_add(FUTURE_TOLERANCE_NS);
        if self.ts_ns > limit {
            return Err(LedgerError::new(
                ErrorCode::InvalidValue,
                format!(
                    "timestamp_ns {} is more than {} s in the future (now {now_ns})",
                    self.ts_ns,
                    FUTURE_TOLERANCE_NS / 1_000_000_000
                ),
            ));
        }
        Ok(())
    }
}

impl Op {
    /// The tag byte (the kind is `LEDGER_ORDER_SUBMIT + tag`).
    pub fn tag(&self) -> u8 {
        match self {
            Op::Submit(_) => 0,
            Op::Ack { .. } => 1,
            Op::Reject { .. } => 2,
            Op::Fill(_) => 3,
            Op::Cancel { .. } => 4,
            Op::Position { .. } => 5,
            Op::Balance { .. } => 6,
            Op::Halt { .. } => 7,
            Op::Resume => 8,
            Op::Config { .. } => 9,
            Op::StrategyParams { .. } => 10,
            Op::StrategyState { .. } => 11,
            Op::StrategyActive { .. } => 12,
            Op::StrategySignal { .. } => 13,
            Op::PruneFills { .. } => 14,
        }
    }
}

const LAST_TAG: u16 = 14;

impl Record for LedgerRecord {
    const KIND: u16 = kinds::LEDGER_ORDER_SUBMIT;
    type DecodeError = LedgerError;

    fn encode(&self, out: &mut Vec<u8>) {
        put_u8(out, RECORD_VERSION);
        put_u8(out, self.op.tag());
        put_i64(out, self.ts_ns);
        match &self.op {
            Op::Submit(s) => {
                put_str(out, &s.client_id);
                put_str(out, &s.symbol);
                put_str(out, &s.exchange);
                put_u8(out, s.side.code());
                put_u8(out, s.order_type.code());
                put_opt_dec(out, s.price);
                put_dec(out, s.quantity);
                put_opt_str(out, s.strategy_id.as_deref());
            }
            Op::Ack { client_id, exchange_order_id } => {
                put_str(out, client_id);
                put_str(out, exchange_order_id);
            }
            Op::Reject { client_id, reason } => {
                put_str(out, client_id);
                put_str(out, reason);
            }
            Op::Fill(f) => {
                put_str(out, &f.client_id);
                put_str(out, &f.trade_id);
                put_dec(out, f.price);
                put_dec(out, f.quantity);
                put_dec(out, f.fee);
                put_str(out, &f.fee_asset);
            }
            Op::Cancel { client_id } => put_str(out, client_id),
            Op::Position { symbol, exchange, quantity, avg_price } => {
                put_str(out, symbol);
                put_str(out, exchange);
                put_dec(out, *quantity);
                put_dec(out, *avg_price);
            }
            Op::Balance { exchange, asset, total, available } => {
                put_str(out, exchange);
                put_str(out, asset);
                put_dec(out, *total);
                put_dec(out, *available);
            }
            Op::Halt { reason } => put_str(out, reason),
            Op::Resume => {}
            Op::Config { key, value } => {
                put_str(out, key);
                put_str(out, value);
            }
            Op::StrategyParams { id, json } => {
                put_str(out, id);
                put_str(out, json);
            }
            Op::StrategyState { id, state } => {
                put_str(out, id);
                put_bytes(out, state);
            }
            Op::StrategyActive { id, active } => {
                put_str(out, id);
                put_u8(out, u8::from(*active));
            }
            Op::StrategySignal { id } => put_str(out, id),
            Op::PruneFills { before_ns } => put_i64(out, *before_ns),
        }
    }

    fn decode(bytes: &[u8]) -> Result<LedgerRecord, LedgerError> {
        let mut r = Reader::new(bytes, "ledger record");
        r.schema_version(RECORD_VERSION)?;
        let tag = r.u8()?;
        let ts_ns = r.i64()?;
        let op = match tag {
            0 => Op::Submit(Submit {
                client_id: r.string()?,
                symbol: r.string()?,
                exchange: r.string()?,
                side: Side::from_code(r.u8()?)?,
                order_type: OrderType::from_code(r.u8()?)?,
                price: r.opt_dec()?,
                quantity: r.dec()?,
                strategy_id: r.opt_string()?,
            }),
            1 => Op::Ack { client_id: r.string()?, exchange_order_id: r.string()? },
            2 => Op::Reject { client_id: r.string()?, reason: r.string()? },
            3 => Op::Fill(FillIn {
                client_id: r.string()?,
                trade_id: r.string()?,
                price: r.dec()?,
                quantity: r.dec()?,
                fee: r.dec()?,
                fee_asset: r.string()?,
            }),
            4 => Op::Cancel { client_id: r.string()? },
            5 => Op::Position {
                symbol: r.string()?,
                exchange: r.string()?,
                quantity: r.dec()?,
                avg_price: r.dec()?,
            },
            6 => Op::Balance {
                exchange: r.string()?,
                asset: r.string()?,
                total: r.dec()?,
                available: r.dec()?,
            },
            7 => Op::Halt { reason: r.string()? },
            8 => Op::Resume,
            9 => Op::Config { key: r.string()?, value: r.string()? },
            10 => Op::StrategyParams { id: r.string()?, json: r.string()? },
            11 => Op::StrategyState { id: r.string()?, state: r.bytes()? },
            12 => Op::StrategyActive { id: r.string()?, active: r.bool()? },
            13 => Op::StrategySignal { id: r.string()? },
            14 => Op::PruneFills { before_ns: r.i64()? },
            t => return Err(LedgerError::decode(format!("unknown ledger record tag {t}"))),
        };
        r.finish()?;
        Ok(LedgerRecord { ts_ns, op })
    }

    fn kind(&self) -> u16 {
        kinds::LEDGER_ORDER_SUBMIT + u16::from(self.op.tag())
    }

    fn accepts_kind(kind: u16) -> bool {
        (kinds::LEDGER_ORDER_SUBMIT..=kinds::LEDGER_ORDER_SUBMIT + LAST_TAG).contains(&kind)
    }

    fn timestamp_ns(&self) -> Option<i64> {
        Some(self.ts_ns)
    }
}
