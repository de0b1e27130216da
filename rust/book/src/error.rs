//! Error types. Every fallible public operation returns one of these; none of
//! them is produced after the book has been mutated.

use std::error::Error;
use std::fmt;

use crate::types::{OrderId, Side};

/// A rejected book operation. The book is unchanged when this is returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BookError {
    /// Symbol must be 1..=64 bytes.
    InvalidSymbol {
        len: usize,
    },
    /// String order id must be 1..=64 bytes.
    InvalidId {
        len: usize,
    },
    InvalidPrice {
        price: i64,
    },
    InvalidQuantity {
        qty: i64,
    },
    DuplicateId {
        id: OrderId,
        symbol: Box<str>,
    },
    UnknownOrder {
        id: OrderId,
        symbol: Box<str>,
    },
    Overfill {
        id: OrderId,
        requested: i64,
        remaining: i64,
        symbol: Box<str>,
    },
    /// A modify would move the order to a price at or through the opposite best.
    CrossingModify {
        id: OrderId,
        side: Side,
        price: i64,
        opposite_best: i64,
        symbol: Box<str>,
    },
    /// A modify with neither a new price nor a new quantity.
    EmptyModify {
        id: OrderId,
    },
    /// A level total or an order's original quantity would exceed `i64::MAX`.
    QuantityOverflow {
        price: i64,
        symbol: Box<str>,
    },
    /// The order store is full (2^32 - 1 resting orders).
    CapacityExceeded {
        symbol: Box<str>,
    },
    /// A journaled op could not be decoded during replay.
    Codec(CodecError),
}

impl BookError {
    /// The one rendering of a refusal (Display and the Python binding both use it, so the
    /// texts cannot drift): `px` and `qty` format a price in ticks and a quantity in lots
    /// in the caller's units (Display shows raw ticks and lots).
    pub fn render(&self, px: &dyn Fn(i64) -> String, qty: &dyn Fn(i64) -> String) -> String {
        use BookError::*;
        match self {
            InvalidSymbol { len } => format!("symbol must be 1..=64 bytes, got {len}"),
            InvalidId { len } => format!("string order id must be 1..=64 bytes, got {len}"),
            InvalidPrice { price } => format!("price must be > 0, got {}", px(*price)),
            InvalidQuantity { qty: q } => format!("quantity must be > 0, got {}", qty(*q)),
            DuplicateId { id, symbol } => format!("order id {} already exists in {symbol}", id.quoted()),
            UnknownOrder { id, symbol } => format!("unknown order id {} in {symbol}", id.quoted()),
            Overfill { id, requested, remaining, symbol } => format!(
                "cannot execute {} of order id {} in {symbol}: only {} remaining",
                qty(*requested),
                id.quoted(),
                qty(*remaining)
            ),
            CrossingModify { id, side, price, opposite_best, symbol } => format!(
                "modify of {side} order id {} in {symbol} to price {} would cross the opposite best {}",
                id.quoted(),
                px(*price),
                px(*opposite_best)
            ),
            EmptyModify { id } => {
                format!("modify of order id {} changes neither price nor quantity", id.quoted())
            }
            QuantityOverflow { price, symbol } => format!(
                "the total quantity at price {} in {symbol} would overflow (exceed i64::MAX lots)",
                px(*price)
            ),
            CapacityExceeded { symbol } => format!("order capacity of {symbol} exhausted"),
            Codec(e) => format!("cannot decode journaled op: {e}"),
        }
    }
}

impl fmt::Display for BookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(&|p| p.to_string(), &|q| q.to_string()))
    }
}

impl Error for BookError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            BookError::Codec(e) => Some(e),
            _ => None,
        }
    }
}

impl From<CodecError> for BookError {
    fn from(e: CodecError) -> BookError {
        BookError::Codec(e)
    }
}

/// Failure of [`crate::OrderBook::apply`]: either the op was rejected by the
/// book (nothing journaled) or the journal callback failed (nothing applied).
#[derive(Debug, PartialEq, Eq)]
pub enum ApplyError<E> {
    Book(BookError),
    Journal(E),
}

impl<E: fmt::Display> fmt::Display for ApplyError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyError::Book(e) => fmt::Display::fmt(e, f),
            ApplyError::Journal(e) => write!(f, "journal write failed, op not applied: {e}"),
        }
    }
}

impl<E: Error + 'static> Error for ApplyError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ApplyError::Book(e) => Some(e),
            ApplyError::Journal(e) => Some(e),
        }
    }
}

impl<E> From<BookError> for ApplyError<E> {
    fn from(e: BookError) -> ApplyError<E> {
        ApplyError::Book(e)
    }
}

/// Malformed bytes given to [`crate::Op::decode`] (also used for the order
/// records inside a snapshot).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodecError {
    /// Needed `needed` more bytes at `offset`, fewer were left.
    UnexpectedEnd {
        offset: usize,
        needed: usize,
    },
    TrailingBytes {
        count: usize,
    },
    UnknownOpTag(u8),
    UnknownIdTag(u8),
    InvalidIdLength(usize),
    InvalidUtf8,
    InvalidSide(u8),
    InvalidPrice(i64),
    InvalidQuantity(i64),
    /// A modify record with neither price nor quantity.
    EmptyModify,
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use CodecError::*;
        match self {
            UnexpectedEnd { offset, needed } => {
                write!(f, "truncated: needed {needed} more bytes at offset {offset}")
            }
            TrailingBytes { count } => write!(f, "{count} unexpected trailing bytes"),
            UnknownOpTag(t) => write!(f, "unknown op tag {t}"),
            UnknownIdTag(t) => write!(f, "unknown order id tag {t}"),
            InvalidIdLength(n) => write!(f, "string order id length {n} not in 1..=64"),
            InvalidUtf8 => f.write_str("string order id is not valid UTF-8"),
            InvalidSide(s) => write!(f, "invalid side byte {s}"),
            InvalidPrice(p) => write!(f, "invalid price {p}"),
            InvalidQuantity(q) => write!(f, "invalid quantity {q}"),
            EmptyModify => f.write_str("modify changes neither price nor quantity"),
        }
    }
}

impl Error for CodecError {}

/// A snapshot that cannot be loaded. Nothing is built from a snapshot that
/// fails any check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotError {
    TooShort {
        len: usize,
    },
    BadMagic,
    UnsupportedVersion(u16),
    UnsupportedFlags(u16),
    ChecksumMismatch {
        stored: u32,
        computed: u32,
    },
    HeaderLength {
        stated: u32,
        actual: usize,
    },
    InvalidSymbol,
    /// `order_count` cannot fit in the bytes that are present.
    OrderCountTooLarge {
        count: u64,
        max: u64,
    },
    /// An order record (index `index`) is malformed.
    Malformed {
        index: u64,
        error: CodecError,
    },
    /// An order record violates a book invariant.
    InvalidOrder {
        index: u64,
        reason: &'static str,
    },
    DuplicateId {
        id: OrderId,
    },
    /// Orders are not in canonical order (bids best-first, then asks best-first).
    NotCanonical {
        index: u64,
    },
    /// Best bid >= best ask.
    Crossed {
        best_bid: i64,
        best_ask: i64,
    },
    TrailingBytes {
        count: usize,
    },
    /// A version-2 binding field (journal identity, tick or lot size) is malformed.
    InvalidBinding(&'static str),
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use SnapshotError::*;
        match self {
            TooShort { len } => write!(f, "snapshot too short ({len} bytes)"),
            BadMagic => f.write_str("not a pinnacle snapshot (bad magic)"),
            UnsupportedVersion(v) => write!(f, "unsupported snapshot format version {v}"),
            UnsupportedFlags(v) => write!(f, "unsupported snapshot flags {v:#06x}"),
            ChecksumMismatch { stored, computed } => {
                write!(f, "snapshot checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")
            }
            HeaderLength { stated, actual } => {
                write!(f, "snapshot header length {stated} does not match actual {actual}")
            }
            InvalidSymbol => f.write_str("snapshot symbol is not 1..=64 bytes of UTF-8"),
            OrderCountTooLarge { count, max } => {
                write!(f, "snapshot order count {count} exceeds what fits in the file ({max})")
            }
            Malformed { index, error } => write!(f, "snapshot order #{index}: {error}"),
            InvalidOrder { index, reason } => write!(f, "snapshot order #{index}: {reason}"),
            DuplicateId { id } => write!(f, "snapshot contains order id {} twice", id.quoted()),
            NotCanonical { index } => {
                write!(f, "snapshot order #{index} is out of price-priority order")
            }
            Crossed { best_bid, best_ask } => {
                write!(f, "snapshot book is crossed (bid {best_bid} >= ask {best_ask})")
            }
            TrailingBytes { count } => write!(f, "{count} unexpected bytes after snapshot orders"),
            InvalidBinding(what) => write!(f, "snapshot binding: {what}"),
        }
    }
}

impl Error for SnapshotError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            SnapshotError::Malformed { error, .. } => Some(error),
            _ => None,
        }
    }
}
