//! The ledger's refusals: a code (stable, for programs) and a message naming the problem.

use crate::dec::DecError;
use std::fmt;

/// What kind of problem a [`LedgerError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    UnknownOrder,
    DuplicateOrder,
    OrderClosed,
    Overfill,
    InvalidQuantity,
    InvalidValue,
    Halted,
    Overflow,
    /// A journaled or encoded record that does not decode.
    Decode,
    /// A record or snapshot of a newer schema version than this reader knows.
    Version,
}

impl ErrorCode {
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::UnknownOrder => "unknown_order",
            ErrorCode::DuplicateOrder => "duplicate_order",
            ErrorCode::OrderClosed => "order_closed",
            ErrorCode::Overfill => "overfill",
            ErrorCode::InvalidQuantity => "invalid_quantity",
            ErrorCode::InvalidValue => "invalid_value",
            ErrorCode::Halted => "halted",
            ErrorCode::Overflow => "overflow",
            ErrorCode::Decode => "decode",
            ErrorCode::Version => "version",
        }
    }
}

/// A refused ledger operation: nothing changed, nothing was journaled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerError {
    pub code: ErrorCode,
    pub message: String,
}

impl LedgerError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> LedgerError {
        LedgerError { code, message: message.into() }
    }
    /// `what` (a field name) with the decimal problem `e`.
    pub fn dec(what: &str, e: DecError) -> LedgerError {
        let code = if e == DecError::Overflow { ErrorCode::Overflow } else { ErrorCode::InvalidValue };
        LedgerError::new(code, format!("{what}: {e}"))
    }
    pub fn decode(message: impl Into<String>) -> LedgerError {
        LedgerError::new(ErrorCode::Decode, message)
    }
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LedgerError {}
