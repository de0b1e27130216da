//! Book operations and their compact binary encoding (the journal payload).
//!
//! Layout (all integers little-endian, see docs/format.md): one tag byte, then a
//! fixed field sequence per tag. Ids are `0 u64` or `1 len:u8 utf8[len]`
//! with `1 <= len <= 64`. A modify encodes an absent price/qty as `0`
//! (present values are always > 0).

use crate::error::CodecError;
use crate::types::{OrderId, Side};
use crate::wire::{id_len, put_i64, put_id, put_u8, Reader};

/// Journal entry kind under which encoded book ops are stored (registered in
/// `pinnacle_core::kinds`).
pub const OP_KIND: u16 = pinnacle_core::kinds::BOOK_OP;

pub const TAG_ADD: u8 = 1;
pub const TAG_CANCEL: u8 = 2;
pub const TAG_EXECUTE: u8 = 3;
pub const TAG_MARKET: u8 = 4;
pub const TAG_MODIFY: u8 = 5;

/// Operation names (what [`Op::name`] returns), in tag order.
pub const OP_NAMES: [&str; 5] = ["add", "cancel", "execute", "market", "modify"];

/// One mutation of an [`crate::OrderBook`]; see the corresponding
/// `OrderBook` methods for semantics.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Add {
        id: OrderId,
        side: Side,
        price: i64,
        qty: i64,
        ts: i64,
    },
    Cancel {
        id: OrderId,
        ts: i64,
    },
    Execute {
        id: OrderId,
        qty: i64,
        ts: i64,
    },
    /// `side` is the taker's side.
    Market {
        side: Side,
        qty: i64,
        ts: i64,
    },
    /// `qty` is the new remaining quantity.
    Modify {
        id: OrderId,
        price: Option<i64>,
        qty: Option<i64>,
        ts: i64,
    },
}

impl Op {
    pub fn tag(&self) -> u8 {
        match self {
            Op::Add { .. } => TAG_ADD,
            Op::Cancel { .. } => TAG_CANCEL,
            Op::Execute { .. } => TAG_EXECUTE,
            Op::Market { .. } => TAG_MARKET,
            Op::Modify { .. } => TAG_MODIFY,
        }
    }

    /// The operation's name (`add`, `cancel`, `execute`, `market`, `modify`), as the
    /// CLI and the Python bindings show it.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Add { .. } => "add",
            Op::Cancel { .. } => "cancel",
            Op::Execute { .. } => "execute",
            Op::Market { .. } => "market",
            Op::Modify { .. } => "modify",
        }
    }

    pub fn timestamp_ns(&self) -> i64 {
        match self {
            Op::Add { ts, .. }
            | Op::Cancel { ts, .. }
            | Op::Execute { ts, .. }
            | Op::Market { ts, .. }
            | Op::Modify { ts, .. } => *ts,
        }
    }

    /// Exact number of bytes [`Op::encode`] appends.
    pub fn encoded_len(&self) -> usize {
        1 + match self {
            Op::Add { id, .. } => id_len(id) + 1 + 24,
            Op::Cancel { id, .. } => id_len(id) + 8,
            Op::Execute { id, .. } => id_len(id) + 16,
            Op::Market { .. } => 1 + 16,
            Op::Modify { id, .. } => id_len(id) + 24,
        }
    }

    /// Appends the encoding to `out`. Infallible: every representable `Op`
    /// encodes (ids are length-checked on construction). Values that
    /// [`Op::decode`] rejects (e.g. a price <= 0) are encoded as-is; the book
    /// never journals such an op because it validates first.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        put_u8(out, self.tag());
        match self {
            Op::Add { id, side, price, qty, ts } => {
                put_id(out, id);
                put_u8(out, side.to_u8());
                put_i64(out, *price);
                put_i64(out, *qty);
                put_i64(out, *ts);
            }
            Op::Cancel { id, ts } => {
                put_id(out, id);
                put_i64(out, *ts);
            }
            Op::Execute { id, qty, ts } => {
                put_id(out, id);
                put_i64(out, *qty);
                put_i64(out, *ts);
            }
            Op::Market { side, qty, ts } => {
                put_u8(out, side.to_u8());
                put_i64(out, *qty);
                put_i64(out, *ts);
            }
            Op::Modify { id, price, qty, ts } => {
                put_id(out, id);
                put_i64(out, price.unwrap_or(0));
                put_i64(out, qty.unwrap_or(0));
                put_i64(out, *ts);
            }
        }
    }

    /// Convenience: the encoding in a fresh vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }

    /// Decodes exactly one op occupying all of `bytes`. Rejects unknown
    /// tags, short input, trailing bytes, bad ids, bad sides, price/qty <= 0
    /// and a modify with neither field. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Op, CodecError> {
        let mut r = Reader::new(bytes);
        let op = match r.u8()? {
            TAG_ADD => {
                let id = r.id()?;
                let side = r.side()?;
                let price = r.price()?;
                let qty = r.qty()?;
                Op::Add { id, side, price, qty, ts: r.i64()? }
            }
            TAG_CANCEL => Op::Cancel { id: r.id()?, ts: r.i64()? },
            TAG_EXECUTE => {
                let id = r.id()?;
                let qty = r.qty()?;
                Op::Execute { id, qty, ts: r.i64()? }
            }
            TAG_MARKET => {
                let side = r.side()?;
                let qty = r.qty()?;
                Op::Market { side, qty, ts: r.i64()? }
            }
            TAG_MODIFY => {
                let id = r.id()?;
                let price = optional(r.i64()?, CodecError::InvalidPrice)?;
                let qty = optional(r.i64()?, CodecError::InvalidQuantity)?;
                if price.is_none() && qty.is_none() {
                    return Err(CodecError::EmptyModify);
                }
                Op::Modify { id, price, qty, ts: r.i64()? }
            }
            t => return Err(CodecError::UnknownOpTag(t)),
        };
        r.finish()?;
        Ok(op)
    }
}

/// A book op is the book's write-ahead record: journaled under [`OP_KIND`] with its own
/// timestamp, so a replay reproduces time priority exactly.
impl pinnacle_core::Record for Op {
    const KIND: u16 = OP_KIND;
    type DecodeError = CodecError;

    #[inline]
    fn encode(&self, out: &mut Vec<u8>) {
        Op::encode(self, out);
    }

    fn decode(bytes: &[u8]) -> Result<Op, CodecError> {
        Op::decode(bytes)
    }

    #[inline]
    fn timestamp_ns(&self) -> Option<i64> {
        Some(Op::timestamp_ns(self))
    }
}

/// `0` means absent; negative values are invalid.
fn optional(v: i64, err: fn(i64) -> CodecError) -> Result<Option<i64>, CodecError> {
    match v {
        0 => Ok(None),
        v if v < 0 => Err(err(v)),
        v => Ok(Some(v)),
    }
}
