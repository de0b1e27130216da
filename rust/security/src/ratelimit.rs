//! The rate limiter's consumption record: the payload of a `ratelimit.consume` entry
//! (kind 768, `kinds::RATE_CONSUME`), journaled before a grant is given.
//!
//! ```text
//! offset size field
//! 0      8    t: the grant's time, ns since the Unix epoch, i64 LE
//! 8      4    cost: units taken, u32 LE, >= 1
//! 12     ...  key: UTF-8, 1..=256 bytes (the rest of the payload)
//! ```
//!
//! The limiter's other kinds (open, close, snapshot, exhaust) carry JSON documents.
//! Invariant: a `Consumption` always holds a cost >= 1 and a key of 1..=256 bytes, so
//! what is encoded always decodes.

use pinnacle_core::{kinds, Record};
use std::fmt;

pub const FIXED_SIZE: usize = 12;
pub const MAX_KEY_BYTES: usize = 256;

/// `cost` units of `key`'s budget taken at `t_ns`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consumption {
    t_ns: i64,
    cost: u32,
    key: String,
}

/// A consumption that cannot be built (a caller's arguments) or decoded (a payload).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumptionError {
    /// A payload shorter than the fixed fields and a one-byte key.
    Truncated {
        len: usize,
    },
    ZeroCost,
    KeyLength {
        len: usize,
    },
    KeyNotUtf8 {
        valid_up_to: usize,
    },
}

impl fmt::Display for ConsumptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsumptionError::Truncated { len } => {
                write!(f, "a ratelimit.consume payload is at least {} bytes, got {len}", FIXED_SIZE + 1)
            }
            ConsumptionError::ZeroCost => f.write_str("a rate-limit cost must be >= 1, got 0"),
            ConsumptionError::KeyLength { len } => write!(
                f,
                "a rate-limit key must be a non-empty str of at most {MAX_KEY_BYTES} bytes, got {len} bytes"
            ),
            ConsumptionError::KeyNotUtf8 { valid_up_to } => {
                write!(f, "a rate-limit key is not UTF-8 (invalid after byte {valid_up_to})")
            }
        }
    }
}

impl std::error::Error for ConsumptionError {}

impl Consumption {
    pub fn new(t_ns: i64, cost: u32, key: String) -> Result<Self, ConsumptionError> {
        if cost == 0 {
            return Err(ConsumptionError::ZeroCost);
        }
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(ConsumptionError::KeyLength { len: key.len() });
        }
        Ok(Consumption { t_ns, cost, key })
    }

    pub fn t_ns(&self) -> i64 {
        self.t_ns
    }

    pub fn cost(&self) -> u32 {
        self.cost
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn into_parts(self) -> (i64, u32, String) {
        (self.t_ns, self.cost, self.key)
    }
}

impl Record for Consumption {
    const KIND: u16 = kinds::RATE_CONSUME;
    type DecodeError = ConsumptionError;

    fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(FIXED_SIZE + self.key.len());
        out.extend_from_slice(&self.t_ns.to_le_bytes());
        out.extend_from_slice(&self.cost.to_le_bytes());
        out.extend_from_slice(self.key.as_bytes());
    }

    /// The whole payload: the key takes every byte after the fixed fields. The entry's
    /// timestamp is the journal's clock at append (`timestamp_ns` stays `None`); `t` is
    /// the limiter's clock, which tests and replay control.
    fn decode(bytes: &[u8]) -> Result<Self, ConsumptionError> {
        let truncated = ConsumptionError::Truncated { len: bytes.len() };
        let (t, rest) = bytes.split_first_chunk::<8>().ok_or(truncated.clone())?;
        let (cost, key) = rest.split_first_chunk::<4>().ok_or(truncated.clone())?;
        if key.is_empty() {
            return Err(truncated);
        }
        let key = std::str::from_utf8(key)
            .map_err(|e| ConsumptionError::KeyNotUtf8 { valid_up_to: e.valid_up_to() })?;
        Consumption::new(i64::from_le_bytes(*t), u32::from_le_bytes(*cost), key.to_owned())
    }
}
