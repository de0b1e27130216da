//! Limit order book for pinnacle: exact integer prices (ticks) and
//! quantities (lots), price-time priority matching, a compact binary op
//! codec for write-ahead journaling and a checksummed snapshot format.
//!
//! The book never reads a clock: every mutating operation carries its
//! timestamp, so replaying a journal reproduces the exact same state.
//!
//! Layering:
//! - [`types`]: `Side`, `OrderId`, `Order`, `Fill`.
//! - [`OrderBook`]: state and queries; mutations go through a
//!   validate → (journal) → commit pipeline ([`OrderBook::apply`]).
//! - [`ops`]: [`Op`] and its binary encoding (journal payload, kind
//!   [`OP_KIND`]).
//! - [`snapshot`]: whole-book snapshot encode/decode.
//!
//! ```
//! use pinnacle_book::{decode_snapshot, encode_snapshot, Op, OrderBook, OrderId, Side};
//!
//! let mut book = OrderBook::new("BTC-USD")?;
//! let mut journal: Vec<Vec<u8>> = Vec::new();
//! for op in [
//!     Op::Add { id: OrderId::Int(1), side: Side::Sell, price: 101, qty: 5, ts: 1 },
//!     Op::Add { id: OrderId::string("b-1")?, side: Side::Buy, price: 101, qty: 3, ts: 2 },
//! ] {
//!     // Validate, write ahead, then apply; a journal error applies nothing.
//!     book.apply(&op, |bytes| {
//!         journal.push(bytes.to_vec());
//!         Ok::<(), std::io::Error>(())
//!     })?;
//! }
//! assert_eq!(book.best_ask(), Some((101, 2)));
//!
//! // Crash recovery: snapshot + replay of the journal suffix.
//! let mut recovered = OrderBook::new("BTC-USD")?;
//! for bytes in &journal {
//!     recovered.replay(bytes)?;
//! }
//! assert_eq!(recovered, book);
//! let (loaded, meta) = decode_snapshot(&encode_snapshot(&book, 2, 0))?;
//! assert_eq!((loaded, meta.covered_seq), (book, 2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod apply;
mod book;
pub mod error;
mod hash;
mod ids;
mod index;
mod invariants;
pub mod journaled;
mod level;
mod matching;
pub mod ops;
mod order;
mod plan;
pub mod shadow;
pub mod snapshot;
mod strid;
mod traverse;
pub mod types;
mod wire;

pub use apply::Outcome;
pub use book::{DepthLevel, OrderBook};
pub use error::{ApplyError, BookError, CodecError, SnapshotError};
pub use journaled::{replay_from, EngineError, JournaledBook};
pub use ops::{Op, OP_KIND};
pub use shadow::ShadowBook;
pub use snapshot::{
    decode_snapshot, encode_snapshot, encode_snapshot_bound, SnapshotBinding, SnapshotMeta, SNAPSHOT_MAGIC,
    SNAPSHOT_VERSION,
};
pub use types::{Fill, Order, OrderId, Side, StrId, MAX_ID_LEN};
