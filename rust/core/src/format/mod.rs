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

pub(crate) fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

pub(crate) fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

pub(crate) fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
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
        let chunk = &b[start..end];
        if !all_zero(chunk) {
            let last = chunk.iter().rposition(|&x| x != 0).unwrap_or(0);
            return start + last + 1;
        }
        end = start;
    }
    0
}
