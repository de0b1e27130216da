//! The file header: two slots in the first page. A slot is only ever rewritten while the
//! other one holds a valid, older generation, so a torn header write leaves the previous
//! header readable.
//!
//! Version 1 slot (64 bytes, little-endian):
//! ```text
//!  0  magic "PNCLJRNL"     8   version u16      10 slot index u16   12 header size u32
//! 16  first_seq u64        24  generation u64   32 durable_end u64
//! 40  created_ns i64       48  max_entry_size u32  52 reserved (8 zero bytes)
//! 60  crc32 of bytes 0..60
//! ```
//! Version 2 (128 bytes) keeps bytes 0..52 and adds the journal's identity:
//! ```text
//! 52  reserved u32 (zero)  56  journal_id [16]  72 reserved (52 zero bytes)
//! 124 crc32 of bytes 0..124
//! ```
//! A journal is created as version 2 with a random, non-zero 128-bit `journal_id` that no
//! header write or compaction changes; it binds snapshots to their journal. A version 1
//! journal (no identity) stays version 1. The version is read before the CRC only to
//! pick the slot length; a version-1 slot's bytes 64..128 must be zero (the unused page).
//!
//! `durable_end` is a file offset below which every entry was made durable by a completed
//! sync; damage below it can never be a torn write, so recovery treats it as corruption.

use super::{le_u16, le_u32, le_u64};

pub const MAGIC: &[u8; 8] = b"PNCLJRNL";
/// Version of journals without an identity (still read and kept as they are).
pub const VERSION_1: u16 = 1;
/// Version written for every new journal.
pub const VERSION: u16 = 2;
/// Entries start here; the rest of the first page is zero.
pub const HEADER_SIZE: usize = 4096;
/// Bytes of each slot region written (a version-1 slot uses the first 64, the rest zero).
pub const SLOT_SIZE: usize = 128;
const V1_LEN: usize = 64;
pub const SLOT_OFFSETS: [usize; 2] = [0, 512];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub first_seq: u64,
    pub generation: u64,
    pub durable_end: u64,
    pub created_ns: i64,
    pub max_entry_size: u32,
    /// The journal's random identity; 0 for a version-1 journal (none).
    pub journal_id: u128,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotError {
    /// The slot is all zero (never written).
    Empty,
    /// Not a pinnacle journal header.
    BadMagic,
    /// A pinnacle header with a CRC mismatch or impossible fields.
    Damaged(&'static str),
    /// A valid header of a version this build does not read.
    Version(u16),
}

impl Header {
    pub fn encode(&self, slot: usize) -> [u8; SLOT_SIZE] {
        let mut b = [0u8; SLOT_SIZE];
        let version = if self.journal_id == 0 { VERSION_1 } else { VERSION };
        b[0..8].copy_from_slice(MAGIC);
        b[8..10].copy_from_slice(&version.to_le_bytes());
        b[10..12].copy_from_slice(&(slot as u16).to_le_bytes());
        b[12..16].copy_from_slice(&(HEADER_SIZE as u32).to_le_bytes());
        b[16..24].copy_from_slice(&self.first_seq.to_le_bytes());
        b[24..32].copy_from_slice(&self.generation.to_le_bytes());
        b[32..40].copy_from_slice(&self.durable_end.to_le_bytes());
        b[40..48].copy_from_slice(&self.created_ns.to_le_bytes());
        b[48..52].copy_from_slice(&self.max_entry_size.to_le_bytes());
        if version == VERSION_1 {
            let crc = crc32fast::hash(&b[0..V1_LEN - 4]);
            b[V1_LEN - 4..V1_LEN].copy_from_slice(&crc.to_le_bytes());
        } else {
            b[56..72].copy_from_slice(&self.journal_id.to_le_bytes());
            let crc = crc32fast::hash(&b[0..SLOT_SIZE - 4]);
            b[SLOT_SIZE - 4..SLOT_SIZE].copy_from_slice(&crc.to_le_bytes());
        }
        b
    }

    pub fn decode(b: &[u8], slot: usize) -> Result<Header, SlotError> {
        let Some(b) = b.first_chunk::<SLOT_SIZE>() else {
            return Err(SlotError::Damaged("header slot truncated"));
        };
        // `b` holds a whole slot, so every field below lies inside it.
        let (Some(version), Some(slot_index), Some(header_size)) =
            (le_u16(b, 8), le_u16(b, 10), le_u32(b, 12))
        else {
            return Err(SlotError::Damaged("header slot truncated"));
        };
        let (Some(first_seq), Some(generation), Some(durable_end), Some(created_ns), Some(max_entry_size)) =
            (le_u64(b, 16), le_u64(b, 24), le_u64(b, 32), le_u64(b, 40), le_u32(b, 48))
        else {
            return Err(SlotError::Damaged("header slot truncated"));
        };
        if b.iter().all(|&x| x == 0) {
            return Err(SlotError::Empty);
        }
        if &b[0..8] != MAGIC {
            return Err(SlotError::BadMagic);
        }
        // The unverified version field only picks the CRC to check; a damaged one fails
        // it. An unknown version whose slot passes either layout's CRC is a newer format.
        let crc_ok = |at: usize| match (b.get(0..at), le_u32(b, at)) {
            (Some(covered), Some(crc)) => crc32fast::hash(covered) == crc,
            _ => false,
        };
        let v2 = version == VERSION;
        if version != VERSION && version != VERSION_1 {
            if crc_ok(V1_LEN - 4) || crc_ok(SLOT_SIZE - 4) {
                return Err(SlotError::Version(version));
            }
            return Err(SlotError::Damaged("header checksum mismatch"));
        }
        if !crc_ok(if v2 { SLOT_SIZE - 4 } else { V1_LEN - 4 }) {
            return Err(SlotError::Damaged("header checksum mismatch"));
        }
        if slot_index as usize != slot {
            return Err(SlotError::Damaged("header slot index mismatch"));
        }
        if header_size as usize != HEADER_SIZE {
            return Err(SlotError::Damaged("unexpected header size"));
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&b[56..72]);
        let h = Header {
            first_seq,
            generation,
            durable_end,
            created_ns: created_ns as i64,
            max_entry_size,
            journal_id: if v2 { u128::from_le_bytes(id) } else { 0 },
        };
        let reserved_zero = if v2 {
            b[52..56].iter().chain(&b[72..124]).all(|&x| x == 0)
        } else {
            b[52..60].iter().chain(&b[V1_LEN..]).all(|&x| x == 0)
        };
        if h.first_seq == 0
            || h.durable_end < HEADER_SIZE as u64
            || h.max_entry_size == 0
            || (v2 && h.journal_id == 0)
            || !reserved_zero
        {
            return Err(SlotError::Damaged("impossible header field"));
        }
        Ok(h)
    }
}

/// A fresh random journal identity (never 0), from the operating system's generator.
pub fn new_journal_id() -> std::io::Result<u128> {
    use std::io::Read;
    let mut b = [0u8; 16];
    loop {
        std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
        let id = u128::from_le_bytes(b);
        if id != 0 {
            return Ok(id);
        }
    }
}

/// The newest valid slot of a file's first page, with the problems seen in the other one.
#[derive(Debug, Clone)]
pub struct HeaderChoice {
    pub header: Header,
    pub slot: usize,
    /// Set when the other slot is damaged (not merely older or never written).
    pub other_damaged: Option<&'static str>,
}

/// Picks the valid slot with the highest generation.
pub fn choose(page: &[u8]) -> Result<HeaderChoice, SlotError> {
    // A page too short for a slot leaves it empty here, which decodes as truncated.
    let a = Header::decode(page.get(SLOT_OFFSETS[0]..).unwrap_or_default(), 0);
    let b = Header::decode(page.get(SLOT_OFFSETS[1]..).unwrap_or_default(), 1);
    let damage = |r: &Result<Header, SlotError>| match r {
        Err(SlotError::Damaged(why)) => Some(*why),
        Err(SlotError::BadMagic) => Some("header slot overwritten"),
        _ => None,
    };
    match (&a, &b) {
        (Ok(x), Ok(y)) => {
            let slot = if y.generation > x.generation { 1 } else { 0 };
            let header = if slot == 1 { *y } else { *x };
            Ok(HeaderChoice { header, slot, other_damaged: None })
        }
        (Ok(x), _) => Ok(HeaderChoice { header: *x, slot: 0, other_damaged: damage(&b) }),
        (_, Ok(y)) => Ok(HeaderChoice { header: *y, slot: 1, other_damaged: damage(&a) }),
        (Err(SlotError::Version(v)), _) | (_, Err(SlotError::Version(v))) => Err(SlotError::Version(*v)),
        (Err(SlotError::Empty), Err(SlotError::Empty)) => Err(SlotError::Empty),
        (Err(SlotError::BadMagic), Err(SlotError::BadMagic | SlotError::Empty))
        | (Err(SlotError::Empty), Err(SlotError::BadMagic)) => Err(SlotError::BadMagic),
        (Err(e), _) => Err(e.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_with(h: &Header, slots: &[usize]) -> Vec<u8> {
        let mut p = vec![0u8; HEADER_SIZE];
        for &s in slots {
            p[SLOT_OFFSETS[s]..SLOT_OFFSETS[s] + SLOT_SIZE].copy_from_slice(&h.encode(s));
        }
        p
    }

    fn sample() -> Header {
        Header {
            first_seq: 7,
            generation: 3,
            durable_end: 4096,
            created_ns: 42,
            max_entry_size: 1024,
            journal_id: 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
        }
    }

    #[test]
    fn roundtrip_and_newest_generation_wins() {
        let h = sample();
        let mut p = page_with(&h, &[0]);
        let newer = Header { generation: 4, durable_end: 8192, ..h };
        p[512..512 + SLOT_SIZE].copy_from_slice(&newer.encode(1));
        let c = choose(&p).unwrap();
        assert_eq!(c.header, newer);
        assert_eq!(c.slot, 1);
    }

    #[test]
    fn every_bit_flip_in_a_slot_is_detected_and_the_other_slot_used() {
        for h in [sample(), Header { journal_id: 0, ..sample() }] {
            every_bit_flip_detected(&h);
        }
    }

    fn every_bit_flip_detected(h: &Header) {
        let p = page_with(h, &[0, 1]);
        for bit in 0..SLOT_SIZE * 8 {
            let mut q = p.clone();
            q[bit / 8] ^= 1 << (bit % 8);
            assert!(Header::decode(&q, 0).is_err(), "flip of bit {bit} undetected");
            let c = choose(&q).unwrap();
            assert_eq!(c.slot, 1);
            assert!(c.other_damaged.is_some());
        }
    }

    /// Found by the fuzzer: non-zero reserved bytes under a valid CRC.
    #[test]
    fn non_zero_reserved_bytes_are_rejected() {
        let v1 = Header { journal_id: 0, ..sample() };
        let mut b = v1.encode(0);
        b[52] = 1;
        let crc = crc32fast::hash(&b[0..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(Header::decode(&b, 0), Err(SlotError::Damaged(_))));
        let mut b = sample().encode(0);
        b[100] = 1;
        let crc = crc32fast::hash(&b[0..124]);
        b[124..128].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(Header::decode(&b, 0), Err(SlotError::Damaged(_))));
    }

    /// A journal written before identities existed: version 1, 64-byte slot, still read
    /// and re-encoded as version 1 (its bytes unchanged).
    #[test]
    fn version_1_headers_decode_without_identity_and_stay_version_1() {
        let v1 = Header { journal_id: 0, ..sample() };
        let mut p = vec![0u8; HEADER_SIZE];
        let mut old = [0u8; 64];
        old[0..8].copy_from_slice(MAGIC);
        old[8..10].copy_from_slice(&1u16.to_le_bytes());
        old[12..16].copy_from_slice(&4096u32.to_le_bytes());
        old[16..24].copy_from_slice(&7u64.to_le_bytes());
        old[24..32].copy_from_slice(&3u64.to_le_bytes());
        old[32..40].copy_from_slice(&4096u64.to_le_bytes());
        old[40..48].copy_from_slice(&42i64.to_le_bytes());
        old[48..52].copy_from_slice(&1024u32.to_le_bytes());
        let crc = crc32fast::hash(&old[0..60]);
        old[60..64].copy_from_slice(&crc.to_le_bytes());
        p[..64].copy_from_slice(&old);
        let c = choose(&p).unwrap();
        assert_eq!(c.header, v1);
        assert_eq!(&c.header.encode(0)[..64], &old[..]);
        assert!(c.header.encode(0)[64..].iter().all(|&x| x == 0));
        let v2 = sample().encode(0);
        assert_eq!(le_u16(&v2, 8), Some(VERSION));
        assert_eq!(Header::decode(&v2, 0).unwrap().journal_id, sample().journal_id);
    }

    #[test]
    fn identities_are_random_and_non_zero() {
        let (a, b) = (new_journal_id().unwrap(), new_journal_id().unwrap());
        assert!(a != 0 && b != 0 && a != b);
    }

    #[test]
    fn zero_page_is_empty_and_foreign_bytes_are_bad_magic() {
        assert_eq!(choose(&vec![0u8; HEADER_SIZE]).unwrap_err(), SlotError::Empty);
        let mut p = vec![0u8; HEADER_SIZE];
        p[..5].copy_from_slice(b"hello");
        assert_eq!(choose(&p).unwrap_err(), SlotError::BadMagic);
    }

    #[test]
    fn future_version_is_reported_as_such() {
        let mut p = page_with(&Header { journal_id: 0, ..sample() }, &[0]);
        p[8..10].copy_from_slice(&3u16.to_le_bytes());
        let crc = crc32fast::hash(&p[0..60]);
        p[60..64].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(choose(&p).unwrap_err(), SlotError::Version(3));
        let mut p = page_with(&sample(), &[0]);
        p[8..10].copy_from_slice(&3u16.to_le_bytes());
        let crc = crc32fast::hash(&p[0..124]);
        p[124..128].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(choose(&p).unwrap_err(), SlotError::Version(3));
    }
}
