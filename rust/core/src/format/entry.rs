//! One journal entry. Entries are 8-byte aligned; the CRC covers every other byte of the
//! entry, padding included, so no byte on disk escapes the checksum.
//!
//! ```text
//!  0 crc32 u32 (over bytes 4..total)   4 payload length u32   8 seq u64
//! 16 timestamp_ns i64                 24 kind u16            26 flags u16
//! 28 reserved u32 (zero)              32 payload, then zero padding to a multiple of 8
//! ```
//! Sequence numbers start at 1, so an all-zero header is never a valid entry: it marks the
//! end of the written data. The CRC is stored last (after a release fence) so a reader in
//! another process that sees a matching CRC sees the whole entry.

use std::sync::atomic::{fence, Ordering};

pub const ENTRY_HEADER: usize = 32;
pub const ALIGN: usize = 8;
/// Hard format limit for one payload (1 GiB); options may lower it.
pub const MAX_PAYLOAD_LIMIT: u32 = 1 << 30;
/// Flag bit: the entry is a checkpoint marker written by `Journal::checkpoint`.
pub const FLAG_CHECKPOINT: u16 = 1;
/// Flag bit: entries before this one were removed as damage (by compacting a journal
/// opened with `skip_corrupted`), so its seq may exceed the previous one by more than 1.
pub const FLAG_AFTER_GAP: u16 = 2;
/// Flags this version writes; any other bit set is damage.
pub const KNOWN_FLAGS: u16 = FLAG_CHECKPOINT | FLAG_AFTER_GAP;

#[inline]
pub fn encoded_len(payload_len: usize) -> usize {
    (ENTRY_HEADER + payload_len + ALIGN - 1) & !(ALIGN - 1)
}

/// Writes one entry into `dst`, which must be exactly `encoded_len(payload.len())` bytes;
/// false (nothing written) when it is too short to hold the entry.
#[inline]
#[must_use]
pub fn write(dst: &mut [u8], seq: u64, timestamp_ns: i64, kind: u16, flags: u16, payload: &[u8]) -> bool {
    debug_assert_eq!(dst.len(), encoded_len(payload.len()));
    let n = payload.len();
    let Some((head, rest)) = dst.split_first_chunk_mut::<ENTRY_HEADER>() else { return false };
    let Some((body, padding)) = rest.split_at_mut_checked(n) else { return false };
    head[4..8].copy_from_slice(&(n as u32).to_le_bytes());
    head[8..16].copy_from_slice(&seq.to_le_bytes());
    head[16..24].copy_from_slice(&timestamp_ns.to_le_bytes());
    head[24..26].copy_from_slice(&kind.to_le_bytes());
    head[26..28].copy_from_slice(&flags.to_le_bytes());
    head[28..32].fill(0);
    body.copy_from_slice(payload);
    padding.fill(0);
    seal(dst)
}

/// Computes and stores the CRC of an entry whose other bytes are in place; false (nothing
/// written) when `dst` is shorter than a CRC field.
#[inline]
#[must_use]
pub fn seal(dst: &mut [u8]) -> bool {
    let Some((crc_field, rest)) = dst.split_first_chunk_mut::<4>() else { return false };
    let crc = crc32fast::hash(rest);
    // Publish order: every other byte of the entry before its CRC.
    fence(Ordering::Release);
    *crc_field = crc.to_le_bytes();
    true
}

/// A validated entry borrowed from a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef<'a> {
    pub seq: u64,
    pub timestamp_ns: i64,
    pub kind: u16,
    pub flags: u16,
    pub payload: &'a [u8],
    /// Bytes the entry occupies on disk, padding included.
    pub total_len: usize,
}

impl EntryRef<'_> {
    pub fn is_checkpoint(&self) -> bool {
        self.flags & FLAG_CHECKPOINT != 0
    }
}

/// What lies at an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed<'a> {
    Entry(EntryRef<'a>),
    /// An all-zero entry header: nothing was written here.
    Empty,
    /// Bytes that are not a valid entry.
    Invalid(&'static str),
}

/// Parses the entry at the start of `buf`. Every length is checked against `max_payload`
/// and the bytes remaining before it is used, and the CRC is verified before anything
/// else is trusted.
#[inline]
pub fn parse(buf: &[u8], max_payload: u32) -> Parsed<'_> {
    let Some(head) = buf.first_chunk::<ENTRY_HEADER>() else {
        return if buf.iter().all(|&b| b == 0) {
            Parsed::Empty
        } else {
            Parsed::Invalid("truncated entry header")
        };
    };
    let h = Head::read(head);
    if h.crc == 0 && h.len == 0 && h.seq == 0 && head[16..ENTRY_HEADER].iter().all(|&b| b == 0) {
        return Parsed::Empty;
    }
    if h.len > max_payload {
        return Parsed::Invalid("length field exceeds max_entry_size");
    }
    let total = encoded_len(h.len as usize);
    let Some(checked) = buf.get(4..total) else {
        return Parsed::Invalid("entry runs past the end of the file");
    };
    if crc32fast::hash(checked) != h.crc {
        return Parsed::Invalid("checksum mismatch");
    }
    // `total` covers the header, the payload and its padding.
    let Some((payload, padding)) =
        checked.get(ENTRY_HEADER - 4..).and_then(|b| b.split_at_checked(h.len as usize))
    else {
        return Parsed::Invalid("entry runs past the end of the file");
    };
    if h.seq == 0 || h.flags & !KNOWN_FLAGS != 0 || h.reserved != 0 || padding.iter().any(|&b| b != 0) {
        return Parsed::Invalid("impossible field in a checksummed entry");
    }
    Parsed::Entry(EntryRef {
        seq: h.seq,
        timestamp_ns: h.timestamp_ns,
        kind: h.kind,
        flags: h.flags,
        payload,
        total_len: total,
    })
}

/// Decodes an entry this process verified (at open) or wrote itself, skipping the CRC but
/// not the bounds checks.
#[inline]
pub fn decode_verified(buf: &[u8]) -> Option<EntryRef<'_>> {
    let (head, rest) = buf.split_first_chunk::<ENTRY_HEADER>()?;
    let h = Head::read(head);
    let len = h.len as usize;
    let total = encoded_len(len);
    if total > buf.len() {
        return None;
    }
    Some(EntryRef {
        seq: h.seq,
        timestamp_ns: h.timestamp_ns,
        kind: h.kind,
        flags: h.flags,
        payload: rest.get(..len)?,
        total_len: total,
    })
}

/// The fixed fields of an entry header (read from a whole header, so no field can be out
/// of range).
struct Head {
    crc: u32,
    len: u32,
    seq: u64,
    timestamp_ns: i64,
    kind: u16,
    flags: u16,
    reserved: u32,
}

impl Head {
    #[inline]
    fn read(b: &[u8; ENTRY_HEADER]) -> Head {
        Head {
            crc: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            len: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            seq: u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]),
            timestamp_ns: i64::from_le_bytes([b[16], b[17], b[18], b[19], b[20], b[21], b[22], b[23]]),
            kind: u16::from_le_bytes([b[24], b[25]]),
            flags: u16::from_le_bytes([b[26], b[27]]),
            reserved: u32::from_le_bytes([b[28], b[29], b[30], b[31]]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; encoded_len(payload.len())];
        assert!(write(&mut v, 5, 1_700_000_000_000_000_000, 9, 0, payload));
        v
    }

    #[test]
    fn roundtrip_every_length_up_to_40() {
        for n in 0..40 {
            let p: Vec<u8> = (0..n as u8).collect();
            let v = one(&p);
            assert_eq!(v.len() % ALIGN, 0);
            match parse(&v, 1024) {
                Parsed::Entry(e) => {
                    assert_eq!((e.seq, e.kind, e.payload), (5, 9, &p[..]));
                    assert_eq!(e.total_len, v.len());
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn every_bit_flip_is_detected() {
        let v = one(b"hello, journal");
        for bit in 0..v.len() * 8 {
            let mut w = v.clone();
            w[bit / 8] ^= 1 << (bit % 8);
            assert!(!matches!(parse(&w, 1024), Parsed::Entry(_)), "bit {bit}");
        }
    }

    #[test]
    fn every_truncation_is_detected() {
        let v = one(b"0123456789abcdef0123");
        for cut in 0..v.len() {
            assert!(!matches!(parse(&v[..cut], 1024), Parsed::Entry(_)), "cut {cut}");
        }
    }

    /// Found by the fuzzer: a valid CRC over non-zero padding (the writer never makes one).
    #[test]
    fn non_zero_padding_is_rejected_even_under_a_valid_crc() {
        let mut v = one(b"0123456789");
        v[46] = 0x2f;
        assert!(seal(&mut v));
        assert_eq!(parse(&v, 1024), Parsed::Invalid("impossible field in a checksummed entry"));
    }

    #[test]
    fn zeroes_are_empty_and_huge_lengths_are_rejected_before_use() {
        assert_eq!(parse(&[0u8; 64], 1024), Parsed::Empty);
        assert_eq!(parse(&[0u8; 7], 1024), Parsed::Empty);
        let mut v = one(b"x");
        v[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse(&v, MAX_PAYLOAD_LIMIT), Parsed::Invalid("length field exceeds max_entry_size"));
        v[4..8].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(parse(&v, MAX_PAYLOAD_LIMIT), Parsed::Invalid("entry runs past the end of the file"));
    }
}
