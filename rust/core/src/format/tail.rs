//! What lies past the last valid entry: the raw fields of an entry header at any offset,
//! why the bytes there are not a valid entry, and where the next valid entry is. Used by
//! `pinnacle inspect`/`verify` to classify damage; never by the journal itself, whose
//! opening scan decides with [`super::entry::parse`] alone (as [`resync`] does here).

use super::entry::{encoded_len, parse, Parsed, ENTRY_HEADER, FLAG_AFTER_GAP, KNOWN_FLAGS};
use super::{le_u16, le_u32, le_u64};

/// The fields of an entry header as stored, not validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawEntryHeader {
    pub crc: u32,
    pub payload_len: u32,
    pub seq: u64,
    pub timestamp_ns: i64,
    pub kind: u16,
    pub flags: u16,
    pub reserved: u32,
}

impl RawEntryHeader {
    /// The header at `at`, or None when fewer than 32 bytes remain there.
    pub fn read(buf: &[u8], at: usize) -> Option<RawEntryHeader> {
        let b = buf.get(at..at.checked_add(ENTRY_HEADER)?)?;
        Some(RawEntryHeader {
            crc: le_u32(b, 0)?,
            payload_len: le_u32(b, 4)?,
            seq: le_u64(b, 8)?,
            timestamp_ns: i64::from_le_bytes(le_u64(b, 16)?.to_le_bytes()),
            kind: le_u16(b, 24)?,
            flags: le_u16(b, 26)?,
            reserved: le_u32(b, 28)?,
        })
    }

    /// Bytes the entry would occupy, padding included.
    pub fn total_len(&self) -> usize {
        encoded_len(self.payload_len as usize)
    }
}

/// Offset of the first non-zero byte at or after `from`.
pub fn first_nonzero(buf: &[u8], from: usize) -> Option<usize> {
    let rest = buf.get(from..)?;
    let mut at = 0;
    for chunk in rest.chunks(4096) {
        if !super::all_zero(chunk) {
            return chunk.iter().position(|&x| x != 0).map(|p| from + at + p);
        }
        at += chunk.len();
    }
    None
}

/// One past the last non-zero byte of `buf` (0 when all zero).
pub fn nonzero_end(buf: &[u8]) -> usize {
    super::nonzero_end(buf)
}

/// Why the bytes at `pos` are not the entry with seq `expected_seq` (an entry marked as
/// following a gap may have a higher one), in words. Checks in the order a reader
/// trusts fields: header present, length, bounds, sequence, checksum, other fields.
pub fn describe(buf: &[u8], pos: usize, expected_seq: u64, max_payload: u32) -> String {
    let Some(h) = RawEntryHeader::read(buf, pos) else {
        let n = buf.len().saturating_sub(pos);
        return format!("a partial entry header ({n} bytes) at the end of the file");
    };
    let head = buf.get(pos..pos + ENTRY_HEADER).unwrap_or(&[]);
    if super::all_zero(head) {
        return match first_nonzero(buf, pos) {
            Some(nz) => format!("an all-zero entry header, but non-zero bytes follow at offset {nz}"),
            None => "an all-zero entry header".to_string(),
        };
    }
    if h.payload_len > max_payload {
        return format!("entry length {} exceeds the journal's maximum of {max_payload}", h.payload_len);
    }
    let total = h.total_len();
    let Some(entry) = pos.checked_add(total).and_then(|end| buf.get(pos..end)) else {
        return format!("an entry of {total} bytes runs past the end of the file");
    };
    if h.seq != expected_seq && !(h.flags & FLAG_AFTER_GAP != 0 && h.seq > expected_seq) {
        return format!("sequence number {} where {expected_seq} was expected", h.seq);
    }
    let computed = crc32fast::hash(entry.get(4..).unwrap_or(&[]));
    if computed != h.crc {
        return format!("checksum mismatch (stored {:#010x}, computed {computed:#010x})", h.crc);
    }
    if h.flags & !KNOWN_FLAGS != 0 || h.reserved != 0 {
        return format!("invalid flags {:#x} or reserved field {:#x}", h.flags, h.reserved);
    }
    match parse(entry, max_payload) {
        Parsed::Invalid(why) => why.to_string(),
        _ => "an entry the reader rejected".to_string(),
    }
}

/// The first valid entry (offset, seq) at or after `start` (rounded up to the entry
/// alignment) whose seq is in `min_seq..min_seq + 2^40`. An entry's seq (bytes 8..16) is
/// never zero, so an entry starting at `p` has a non-zero byte before `p + 16`: zero runs
/// are skipped.
pub fn resync(buf: &[u8], start: usize, min_seq: u64, max_payload: u32) -> Option<(usize, u64)> {
    let mut pos = start.checked_add((8 - start % 8) % 8)?;
    let max_seq = min_seq.saturating_add(1 << 40);
    while pos.checked_add(ENTRY_HEADER)? <= buf.len() {
        let nz = first_nonzero(buf, pos)?;
        pos = pos.max(nz.saturating_sub(15) / 8 * 8);
        let h = RawEntryHeader::read(buf, pos)?;
        if (min_seq..max_seq).contains(&h.seq) && h.payload_len <= max_payload {
            if let Parsed::Entry(e) = parse(buf.get(pos..)?, max_payload) {
                return Some((pos, e.seq));
            }
        }
        pos += 8;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::entry::write;
    use super::*;

    fn entry(seq: u64, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; encoded_len(payload.len())];
        assert!(write(&mut v, seq, 9, 1, 0, payload));
        v
    }

    #[test]
    fn raw_header_reads_fields_at_any_offset() {
        let mut buf = vec![0u8; 8];
        buf.extend(entry(42, b"abc"));
        let h = RawEntryHeader::read(&buf, 8).unwrap();
        assert_eq!((h.seq, h.payload_len, h.kind, h.timestamp_ns, h.total_len()), (42, 3, 1, 9, 40));
        assert_eq!(RawEntryHeader::read(&buf, buf.len() - 31), None);
        assert_eq!(RawEntryHeader::read(&buf, usize::MAX), None);
    }

    #[test]
    fn describes_each_kind_of_damage() {
        let good = entry(5, b"hello");
        assert_eq!(describe(&good, 0, 5, 1024), "an entry the reader rejected");
        assert!(describe(&good, 0, 6, 1024).starts_with("sequence number 5 where 6"));
        let mut bad = good.clone();
        bad[34] ^= 1;
        assert!(describe(&bad, 0, 5, 1024).starts_with("checksum mismatch (stored 0x"));
        assert!(describe(&good[..20], 0, 5, 1024).starts_with("a partial entry header (20 bytes)"));
        assert!(describe(&good[..36], 0, 5, 1024).contains("runs past the end"));
        assert!(describe(&good, 0, 5, 2).contains("exceeds the journal's maximum of 2"));
        let mut zeros = vec![0u8; 64];
        zeros[40] = 1;
        assert!(describe(&zeros, 0, 5, 1024).ends_with("follow at offset 40"));
    }

    #[test]
    fn resync_finds_the_next_valid_entry_past_garbage() {
        let mut buf = vec![0xAAu8; 24];
        buf.extend(vec![0u8; 64]);
        let at = buf.len();
        buf.extend(entry(9, b"x"));
        assert_eq!(resync(&buf, 0, 9, 1024), Some((at, 9)));
        assert_eq!(resync(&buf, 0, 10, 1024), None);
        assert_eq!(resync(&buf, at + 1, 9, 1024), None);
        for cut in 0..buf.len() {
            let _ = resync(&buf[..cut], 0, 1, 1024);
            let _ = describe(&buf[..cut], cut.saturating_sub(3), 1, 1024);
        }
    }

    #[test]
    fn nonzero_scans() {
        let mut b = vec![0u8; 10_000];
        assert_eq!((first_nonzero(&b, 0), nonzero_end(&b)), (None, 0));
        b[5000] = 1;
        assert_eq!((first_nonzero(&b, 17), nonzero_end(&b)), (Some(5000), 5001));
        assert_eq!(first_nonzero(&b, 5001), None);
        assert_eq!(first_nonzero(&b, 20_000), None);
    }
}
