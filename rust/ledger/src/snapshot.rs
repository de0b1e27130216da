//! Ledger snapshot files: a versioned header bound to the journal it was taken from,
//! the canonical state encoding (`check.rs`, itself versioned) and a CRC.
//!
//! Layout (little-endian): magic `PNCLEDGR` (8) | format version u16 | flags u16 (0) |
//! journal id u128 (0: unbound) | covered seq u64 | created ns i64 | body length u64 |
//! body | CRC-32 (IEEE) of everything before it, u32. A reader refuses a newer version
//! (`ErrorCode::Version`) and any damage (`ErrorCode::Decode`); nothing is trusted before
//! the CRC and the body's canonical re-encoding have been checked.

use crate::error::{ErrorCode, LedgerError};
use crate::state::Ledger;

pub const MAGIC: &[u8; 8] = b"PNCLEDGR";
pub const SNAPSHOT_VERSION: u16 = 1;
const HEADER_LEN: usize = 8 + 2 + 2 + 16 + 8 + 8 + 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotHeader {
    pub version: u16,
    pub journal_id: u128,
    pub covered_seq: u64,
    pub created_ns: i64,
    pub body_len: u64,
}

/// A snapshot of `state` covering journal entries up to `covered_seq`.
pub fn encode_snapshot(state: &Ledger, journal_id: u128, covered_seq: u64, created_ns: i64) -> Vec<u8> {
    let mut body = Vec::new();
    state.encode_canonical(&mut body);
    let mut out = Vec::with_capacity(HEADER_LEN + body.len() + 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&journal_id.to_le_bytes());
    out.extend_from_slice(&covered_seq.to_le_bytes());
    out.extend_from_slice(&created_ns.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&body);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn bad(msg: impl Into<String>) -> LedgerError {
    LedgerError::decode(format!("ledger snapshot: {}", msg.into()))
}

fn field<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N], LedgerError> {
    bytes.get(at..at + N).and_then(|b| b.try_into().ok()).ok_or_else(|| bad("truncated header"))
}

/// The header alone (to order candidates); the rest is not verified.
pub fn peek_header(bytes: &[u8]) -> Result<SnapshotHeader, LedgerError> {
    if bytes.len() < HEADER_LEN + 4 {
        return Err(bad(format!("{} bytes is shorter than a header", bytes.len())));
    }
    if field::<8>(bytes, 0)? != *MAGIC {
        return Err(bad("not a ledger snapshot (bad magic)"));
    }
    let version = u16::from_le_bytes(field(bytes, 8)?);
    if version > SNAPSHOT_VERSION {
        return Err(LedgerError::new(
            ErrorCode::Version,
            format!("ledger snapshot format version {version} is newer than this reader's ({SNAPSHOT_VERSION}): upgrade pinnacle"),
        ));
    }
    if version == 0 || u16::from_le_bytes(field(bytes, 10)?) != 0 {
        return Err(bad(format!("unknown format version {version} or flags")));
    }
    Ok(SnapshotHeader {
        version,
        journal_id: u128::from_le_bytes(field(bytes, 12)?),
        covered_seq: u64::from_le_bytes(field(bytes, 28)?),
        created_ns: i64::from_le_bytes(field(bytes, 36)?),
        body_len: u64::from_le_bytes(field(bytes, 44)?),
    })
}

/// A verified snapshot: its header and the ledger it holds.
pub fn decode_snapshot(bytes: &[u8]) -> Result<(SnapshotHeader, Ledger), LedgerError> {
    let h = peek_header(bytes)?;
    let expected = (HEADER_LEN as u64).checked_add(h.body_len).and_then(|n| n.checked_add(4));
    if expected != Some(bytes.len() as u64) {
        return Err(bad(format!(
            "length {} does not match its header (body {} bytes)",
            bytes.len(),
            h.body_len
        )));
    }
    let (covered, crc) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes(field(crc, 0)?);
    if crc32fast::hash(covered) != stored {
        return Err(bad("checksum mismatch (damaged file)"));
    }
    let body = covered.get(HEADER_LEN..).ok_or_else(|| bad("truncated body"))?;
    let state = Ledger::decode_canonical(body)?;
    Ok((h, state))
}
