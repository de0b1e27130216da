//! The journal's on-disk format (see docs/format.md). All integers are little-endian.
//!
//! ```text
//! [0, 4096)        file header page: two header slots (128 bytes), at 0 and 512 (separate sectors)
//! [4096, ...)      entries, each 8-byte aligned, back to back
//! then             zero fill up to the preallocated file length
//! ```

pub mod entry;
pub mod header;
pub mod slots;
pub mod tail;

// The readers return None when the field does not lie inside `b`; callers check the
// length first, so the compiler folds these checks into theirs.
pub(crate) fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(*b.get(at..)?.first_chunk()?))
}

pub(crate) fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(*b.get(at..)?.first_chunk()?))
}

pub(crate) fn le_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(*b.get(at..)?.first_chunk()?))
}

/// True when every byte is zero; written to vectorise (no early exit per byte).
pub(crate) fn all_zero(b: &[u8]) -> bool {
    b.chunks(256).all(|c| c.iter().fold(0u8, |acc, &x| acc | x) == 0)
}

/// One past the last non-zero byte of `b`, or 0 when `b` is all zero.
pub(crate) fn nonzero_end(b: &[u8]) -> usize {
    let mut end = b.len();
    while end > 0 {
        let start = end.saturating_sub(4096);
        let Some(chunk) = b.get(start..end) else { break };
        if !all_zero(chunk) {
            let last = chunk.iter().rposition(|&x| x != 0).unwrap_or(0);
            return start + last + 1;
        }
        end = start;
    }
    0
}
