//! Binary snapshot of a whole book (layout in docs/format.md).
//!
//! Decoding trusts nothing before the magic, version and CRC32 have been
//! verified, bounds `order_count` by the bytes actually present before
//! allocating, and re-checks every book invariant while rebuilding, so a
//! decoded book is always valid.

use std::collections::BTreeMap;

use crate::book::OrderBook;
use crate::error::{CodecError, SnapshotError};
use crate::order::{Node, NIL};
use crate::types::{OrderId, Side, MAX_ID_LEN};
use crate::wire::{put_i64, put_id, put_u16, put_u32, put_u64, put_u8, Reader, MIN_ID_LEN};

pub const SNAPSHOT_MAGIC: [u8; 8] = *b"PNCLSNAP";
/// Version written by [`encode_snapshot_bound`]; [`encode_snapshot`] writes version 1
/// (no binding). Both are read.
pub const SNAPSHOT_VERSION: u16 = 2;
const SNAPSHOT_VERSION_1: u16 = 1;
/// Longest tick or lot size text in a binding.
const MAX_GRID_TEXT: usize = 64;

/// magic + version + flags + header_len + symbol_len.
const FIXED_PREFIX: usize = 8 + 2 + 2 + 4 + 2;
/// covered_seq + created_ns + order_count.
const FIXED_SUFFIX: usize = 8 + 8 + 8;
const CRC_LEN: usize = 4;
/// id + side + price + quantity + filled + timestamp.
const MIN_ORDER_LEN: usize = MIN_ID_LEN + 1 + 8 * 4;
/// Smallest valid snapshot: 1-byte symbol, no orders.
const MIN_SNAPSHOT_LEN: usize = FIXED_PREFIX + 1 + FIXED_SUFFIX + CRC_LEN;

/// Header fields of a decoded snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotMeta {
    /// Last journal sequence number whose effect the snapshot includes.
    pub covered_seq: u64,
    pub created_ns: i64,
    pub symbol: String,
    pub order_count: u64,
    /// What a version-2 snapshot is bound to; None for version 1.
    pub binding: Option<SnapshotBinding>,
}

/// What a snapshot belongs to: the journal whose seqs `covered_seq` counts (its header
/// identity, 0 when that journal has none) and the grid that gives its integer prices
/// and quantities their meaning (canonical decimal strings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotBinding {
    pub journal_id: u128,
    pub tick_size: String,
    pub lot_size: String,
}

fn grid_text_ok(t: &str) -> bool {
    (1..=MAX_GRID_TEXT).contains(&t.len()) && t.bytes().all(|c| c.is_ascii_digit() || c == b'.')
}

/// Serializes `book` (orders in [`OrderBook::orders`] order) as a version-1 snapshot,
/// bound to nothing.
pub fn encode_snapshot(book: &OrderBook, covered_seq: u64, created_ns: i64) -> Vec<u8> {
    encode(book, covered_seq, created_ns, None)
}

/// Serializes `book` as a version-2 snapshot carrying `binding`. A tick or lot text
/// that is not 1..=64 digits and dots is refused.
pub fn encode_snapshot_bound(
    book: &OrderBook,
    covered_seq: u64,
    created_ns: i64,
    binding: &SnapshotBinding,
) -> Result<Vec<u8>, SnapshotError> {
    if !grid_text_ok(&binding.tick_size) || !grid_text_ok(&binding.lot_size) {
        return Err(SnapshotError::InvalidBinding("tick/lot size must be 1..=64 digits and dots"));
    }
    Ok(encode(book, covered_seq, created_ns, Some(binding)))
}

fn encode(book: &OrderBook, covered_seq: u64, created_ns: i64, binding: Option<&SnapshotBinding>) -> Vec<u8> {
    let symbol = book.symbol().as_bytes();
    let bound_len = binding.map_or(0, |b| 16 + 2 + b.tick_size.len() + b.lot_size.len());
    let header_len = FIXED_PREFIX + symbol.len() + FIXED_SUFFIX + bound_len;
    // Exact for integer ids (42 bytes per order); string ids may grow it.
    let mut out = Vec::with_capacity(header_len + book.order_count() * (MIN_ORDER_LEN + 6) + CRC_LEN);
    out.extend_from_slice(&SNAPSHOT_MAGIC);
    put_u16(&mut out, if binding.is_some() { SNAPSHOT_VERSION } else { SNAPSHOT_VERSION_1 });
    put_u16(&mut out, 0);
    put_u32(&mut out, header_len as u32);
    // The symbol is 1..=64 bytes (checked by OrderBook::new).
    put_u16(&mut out, symbol.len() as u16);
    out.extend_from_slice(symbol);
    put_u64(&mut out, covered_seq);
    put_i64(&mut out, created_ns);
    put_u64(&mut out, book.order_count() as u64);
    if let Some(b) = binding {
        out.extend_from_slice(&b.journal_id.to_le_bytes());
        // Both texts are 1..=64 bytes (checked by encode_snapshot_bound).
        put_u8(&mut out, b.tick_size.len() as u8);
        out.extend_from_slice(b.tick_size.as_bytes());
        put_u8(&mut out, b.lot_size.len() as u8);
        out.extend_from_slice(b.lot_size.as_bytes());
    }
    book.for_each_node(|n| {
        put_id(&mut out, &n.id);
        put_u8(&mut out, n.side.to_u8());
        put_i64(&mut out, n.price);
        put_i64(&mut out, n.quantity);
        put_i64(&mut out, n.filled);
        put_i64(&mut out, n.timestamp_ns);
    });
    let crc = crc32fast::hash(&out);
    put_u32(&mut out, crc);
    out
}

/// The header of a snapshot as stored: everything before the order records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotHeader {
    pub version: u16,
    /// Bytes of the header (the order records start here).
    pub header_len: u32,
    pub symbol: String,
    /// Last journal sequence number whose effect the snapshot includes.
    pub covered_seq: u64,
    pub created_ns: i64,
    pub order_count: u64,
    /// What a version-2 snapshot is bound to; None for version 1.
    pub binding: Option<SnapshotBinding>,
}

/// Longest possible header: the bytes to read to [`peek_snapshot_header`] a file.
pub const SNAPSHOT_HEADER_MAX_LEN: usize =
    FIXED_PREFIX + MAX_ID_LEN + FIXED_SUFFIX + 16 + 2 + 2 * MAX_GRID_TEXT;

/// The header fields at the start of `bytes` (a whole snapshot, or at least its first
/// [`SNAPSHOT_HEADER_MAX_LEN`] bytes), every field checked as [`decode_snapshot`] checks
/// it, but **not** the CRC (it covers the whole file): the fields are not yet to be
/// trusted. Never panics.
pub fn peek_snapshot_header(bytes: &[u8]) -> Result<SnapshotHeader, SnapshotError> {
    let version = check_magic(bytes)?;
    read_header(bytes, version, bytes.len()).map(|(h, _)| h)
}

/// True when the CRC32 in the last 4 bytes of `bytes` matches the bytes before it (a
/// snapshot too short to hold a CRC has none that holds).
pub fn snapshot_checksum_holds(bytes: &[u8]) -> bool {
    match bytes.split_last_chunk::<CRC_LEN>() {
        Some((body, crc)) if bytes.len() >= MIN_SNAPSHOT_LEN => crc32fast::hash(body).to_le_bytes() == *crc,
        _ => false,
    }
}

/// Bytes of the checkpoint marker journaled after a snapshot is written.
pub const CHECKPOINT_MARKER_LEN: usize = 16;

/// The payload of the checkpoint entry journaled after a snapshot is written: the
/// snapshot's `covered_seq` u64, then its `created_ns` i64, little-endian.
pub fn encode_checkpoint_marker(covered_seq: u64, created_ns: i64) -> [u8; CHECKPOINT_MARKER_LEN] {
    let mut b = [0u8; CHECKPOINT_MARKER_LEN];
    let (seq, created) = b.split_at_mut(8);
    seq.copy_from_slice(&covered_seq.to_le_bytes());
    created.copy_from_slice(&created_ns.to_le_bytes());
    b
}

/// `(covered_seq, created_ns)` of a checkpoint marker: 16 bytes as
/// [`encode_checkpoint_marker`] writes them, or 8 (`covered_seq` alone, as older pinnacle
/// wrote them; no `created_ns`). None for any other payload (not a snapshot's marker).
pub fn decode_checkpoint_marker(payload: &[u8]) -> Option<(u64, Option<i64>)> {
    let word = |at: usize| payload.get(at..at + 8).and_then(|w| <[u8; 8]>::try_from(w).ok());
    match payload.len() {
        8 => Some((u64::from_le_bytes(word(0)?), None)),
        CHECKPOINT_MARKER_LEN => Some((u64::from_le_bytes(word(0)?), Some(i64::from_le_bytes(word(8)?)))),
        _ => None,
    }
}

/// The version of a snapshot whose magic is right (`len`: the size reported as too short).
fn check_magic(bytes: &[u8]) -> Result<u16, SnapshotError> {
    let (Some(magic), Some(&[a, b])) = (bytes.get(..8), bytes.get(8..10)) else {
        return Err(SnapshotError::TooShort { len: bytes.len() });
    };
    if magic != SNAPSHOT_MAGIC {
        return Err(SnapshotError::BadMagic);
    }
    let version = u16::from_le_bytes([a, b]);
    if version != SNAPSHOT_VERSION && version != SNAPSHOT_VERSION_1 {
        return Err(SnapshotError::UnsupportedVersion(version));
    }
    Ok(version)
}

/// Reads the header fields after magic and version from `bytes` and returns them with a
/// reader positioned at the first order record. `len` is the size reported as too short.
fn read_header(
    bytes: &[u8],
    version: u16,
    len: usize,
) -> Result<(SnapshotHeader, Reader<'_>), SnapshotError> {
    let mut r = Reader::new(bytes.get(10..).unwrap_or(&[]));
    // Fixed-width reads and `take` fail only at end of input.
    let header = |_: CodecError| SnapshotError::TooShort { len };
    let flags = r.u16().map_err(header)?;
    if flags != 0 {
        return Err(SnapshotError::UnsupportedFlags(flags));
    }
    let header_len = r.u32().map_err(header)?;
    let sym_len = usize::from(r.u16().map_err(header)?);
    if sym_len == 0 || sym_len > MAX_ID_LEN {
        return Err(SnapshotError::InvalidSymbol);
    }
    let symbol =
        std::str::from_utf8(r.take(sym_len).map_err(header)?).map_err(|_| SnapshotError::InvalidSymbol)?;
    let covered_seq = r.u64().map_err(header)?;
    let created_ns = r.i64().map_err(header)?;
    let order_count = r.u64().map_err(header)?;
    let binding =
        if version == SNAPSHOT_VERSION { Some(read_binding(&mut r).map_err(header)??) } else { None };
    // `r` started at offset 10; everything read so far is the header.
    let actual = bytes.len() - r.remaining();
    if header_len as usize != actual {
        return Err(SnapshotError::HeaderLength { stated: header_len, actual });
    }
    let h = SnapshotHeader {
        version,
        header_len,
        symbol: symbol.to_owned(),
        covered_seq,
        created_ns,
        order_count,
        binding,
    };
    Ok((h, r))
}

/// Parses and validates a snapshot, rebuilding the book with the same
/// FIFO order within each level.
pub fn decode_snapshot(bytes: &[u8]) -> Result<(OrderBook, SnapshotMeta), SnapshotError> {
    let version = check_magic(bytes)?;
    let too_short = SnapshotError::TooShort { len: bytes.len() };
    if bytes.len() < MIN_SNAPSHOT_LEN {
        return Err(too_short);
    }
    let Some((body, crc_bytes)) = bytes.split_last_chunk::<CRC_LEN>() else { return Err(too_short) };
    let stored = u32::from_le_bytes(*crc_bytes);
    let computed = crc32fast::hash(body);
    if stored != computed {
        return Err(SnapshotError::ChecksumMismatch { stored, computed });
    }
    // From here on the bytes are what the encoder wrote (up to CRC32
    // collisions), but every field is still validated.
    let (h, mut r) = read_header(body, version, bytes.len())?;
    let order_count = h.order_count;
    let max = (r.remaining() / MIN_ORDER_LEN) as u64;
    if order_count > max || order_count >= u64::from(NIL) {
        return Err(SnapshotError::OrderCountTooLarge { count: order_count, max });
    }
    let book = rebuild(&mut r, &h.symbol, order_count)?;
    if let Err(CodecError::TrailingBytes { count }) = r.finish() {
        return Err(SnapshotError::TrailingBytes { count });
    }
    let meta = SnapshotMeta {
        covered_seq: h.covered_seq,
        created_ns: h.created_ns,
        symbol: h.symbol,
        order_count,
        binding: h.binding,
    };
    Ok((book, meta))
}

/// The binding fields of a version-2 header (lengths checked before use).
fn read_binding(r: &mut Reader<'_>) -> Result<Result<SnapshotBinding, SnapshotError>, CodecError> {
    let mut id = [0u8; 16];
    id.copy_from_slice(r.take(16)?);
    let text = |r: &mut Reader<'_>| -> Result<Option<String>, CodecError> {
        let n = usize::from(r.u8()?);
        let t = std::str::from_utf8(r.take(n)?).ok().filter(|t| grid_text_ok(t));
        Ok(t.map(str::to_owned))
    };
    let (tick, lot) = (text(r)?, text(r)?);
    Ok(match (tick, lot) {
        (Some(tick_size), Some(lot_size)) => {
            Ok(SnapshotBinding { journal_id: u128::from_le_bytes(id), tick_size, lot_size })
        }
        _ => Err(SnapshotError::InvalidBinding("tick/lot size is not 1..=64 digits and dots")),
    })
}

/// Reads `count` order records (count already bounded by the input size)
/// in canonical order: bids by descending price, then asks by ascending
/// price, FIFO within a level.
fn rebuild(r: &mut Reader<'_>, symbol: &str, count: u64) -> Result<OrderBook, SnapshotError> {
    let mut book = OrderBook::with_capacity(symbol, usize::try_from(count).unwrap_or(usize::MAX))
        .map_err(|_| SnapshotError::InvalidSymbol)?;
    // (price, level slot) in reading order; both are sorted best-first.
    let mut bids: Vec<(i64, u32)> = Vec::new();
    let mut asks: Vec<(i64, u32)> = Vec::new();
    // The level being filled: side, price, slot.
    let mut current: Option<(Side, i64, u32)> = None;
    // Two passes: records are read into the slab and levels first, then ids are indexed
    // with the buckets loaded ahead (random inserts into a large table are otherwise one
    // cache miss each). The error is still that of the first bad record: the first
    // duplicate id if it precedes the first record the first pass refused (a record's
    // duplicate check comes after its other checks), else that refusal.
    let mut slots: Vec<u32> = Vec::new();
    if slots.try_reserve_exact(count as usize).is_err() {
        slots = Vec::new();
    }
    let read = read_records(r, &mut book, &mut bids, &mut asks, &mut current, &mut slots, count);
    if let Some(k) = book.index.insert_all(&book.slab, &slots) {
        let id = slots.get(k).map_or(OrderId::Int(0), |&slot| book.slab.get(slot).id.clone());
        return Err(SnapshotError::DuplicateId { id });
    }
    read?;
    if let (Some(&(bid, _)), Some(&(ask, _))) = (bids.first(), asks.first()) {
        if bid >= ask {
            return Err(SnapshotError::Crossed { best_bid: bid, best_ask: ask });
        }
    }
    book.bids = BTreeMap::from_iter(bids);
    book.asks = BTreeMap::from_iter(asks);
    Ok(book)
}

/// The first pass of [`rebuild`]: every record into the slab and its level (not the
/// index), each slot pushed to `slots`; stops at the first record refused.
fn read_records(
    r: &mut Reader<'_>,
    book: &mut OrderBook,
    bids: &mut Vec<(i64, u32)>,
    asks: &mut Vec<(i64, u32)>,
    current: &mut Option<(Side, i64, u32)>,
    slots: &mut Vec<u32>,
    count: u64,
) -> Result<(), SnapshotError> {
    for index in 0..count {
        let malformed = |error| SnapshotError::Malformed { index, error };
        let id = r.id().map_err(malformed)?;
        let side = r.side().map_err(malformed)?;
        let price = r.price().map_err(malformed)?;
        let quantity = r.qty().map_err(malformed)?;
        let filled = r.i64().map_err(malformed)?;
        let timestamp_ns = r.i64().map_err(malformed)?;
        if filled < 0 || filled >= quantity {
            return Err(SnapshotError::InvalidOrder { index, reason: "filled not in 0..quantity" });
        }
        let remaining = quantity - filled;
        let slot = match *current {
            Some((s, p, slot)) if s == side && p == price => slot,
            previous => {
                let in_order = match (previous, side) {
                    (None, _) => true,
                    (Some((Side::Buy, p, _)), Side::Buy) => price < p,
                    (Some((Side::Sell, p, _)), Side::Sell) => price > p,
                    (Some((Side::Buy, _, _)), Side::Sell) => true,
                    (Some((Side::Sell, _, _)), Side::Buy) => false,
                };
                if !in_order {
                    return Err(SnapshotError::NotCanonical { index });
                }
                let slot = book.levels.alloc();
                match side {
                    Side::Buy => bids.push((price, slot)),
                    Side::Sell => asks.push((price, slot)),
                }
                *current = Some((side, price, slot));
                slot
            }
        };
        if book.levels.get(slot).total.checked_add(remaining).is_none() {
            return Err(SnapshotError::InvalidOrder { index, reason: "level quantity overflows i64" });
        }
        let node =
            Node { id, price, quantity, filled, timestamp_ns, prev: NIL, next: NIL, level: slot, side };
        // On a duplicate the partly built book is discarded, so storing the
        // node before the uniqueness check (in the second pass) is fine.
        let idx = book.slab.insert(node);
        slots.push(idx);
        book.levels.get_mut(slot).push_back(&mut book.slab, idx, remaining);
    }
    Ok(())
}
