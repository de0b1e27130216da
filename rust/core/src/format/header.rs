//! The file header: two 64-byte slots in the first page. A slot is only ever rewritten
//! while the other one holds a valid, older generation, so a torn header write leaves the
//! previous header readable.
//!
//! Slot layout (little-endian):
//! ```text
//!  0  magic "PNCLJRNL"     8   version u16      10 slot index u16   12 header size u32
//! 16  first_seq u64        24  generation u64   32 durable_end u64
//! 40  created_ns i64       48  max_entry_size u32  52 reserved (8 zero bytes)
//! 60  crc32 of bytes 0..60
//! ```
//! `durable_end` is a file offset below which every entry was made durable by a completed
//! sync; damage below it can never be a torn write, so recovery treats it as corruption.

use super::{le_u16, le_u32, le_u64};

pub const MAGIC: &[u8; 8] = b"PNCLJRNL";
pub const VERSION: u16 = 1;
/// Entries start here; the rest of the first page is zero.
pub const HEADER_SIZE: usize = 4096;
pub const SLOT_SIZE: usize = 64;
pub const SLOT_OFFSETS: [usize; 2] = [0, 512];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub first_seq: u64,
    pub generation: u64,
    pub durable_end: u64,
    pub created_ns: i64,
    pub max_entry_size: u32,
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
        b[0..8].copy_from_slice(MAGIC);
        b[8..10].copy_from_slice(&VERSION.to_le_bytes());
        b[10..12].copy_from_slice(&(slot as u16).to_le_bytes());
        b[12..16].copy_from_slice(&(HEADER_SIZE as u32).to_le_bytes());
        b[16..24].copy_from_slice(&self.first_seq.to_le_bytes());
        b[24..32].copy_from_slice(&self.generation.to_le_bytes());
        b[32..40].copy_from_slice(&self.durable_end.to_le_bytes());
        b[40..48].copy_from_slice(&self.created_ns.to_le_bytes());
        b[48..52].copy_from_slice(&self.max_entry_size.to_le_bytes());
        let crc = crc32fast::hash(&b[0..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8], slot: usize) -> Result<Header, SlotError> {
        if b.len() < SLOT_SIZE {
            return Err(SlotError::Damaged("header slot truncated"));
        }
        let b = &b[..SLOT_SIZE];
        if b.iter().all(|&x| x == 0) {
            return Err(SlotError::Empty);
        }
        if &b[0..8] != MAGIC {
            return Err(SlotError::BadMagic);
        }
        if crc32fast::hash(&b[0..60]) != le_u32(b, 60) {
            return Err(SlotError::Damaged("header checksum mismatch"));
        }
        let version = le_u16(b, 8);
        if version != VERSION {
            return Err(SlotError::Version(version));
        }
        if le_u16(b, 10) as usize != slot {
            return Err(SlotError::Damaged("header slot index mismatch"));
        }
        if le_u32(b, 12) as usize != HEADER_SIZE {
            return Err(SlotError::Damaged("unexpected header size"));
        }
        let h = Header {
            first_seq: le_u64(b, 16),
            generation: le_u64(b, 24),
            durable_end: le_u64(b, 32),
            created_ns: le_u64(b, 40) as i64,
            max_entry_size: le_u32(b, 48),
        };
        if h.first_seq == 0
            || h.durable_end < HEADER_SIZE as u64
            || h.max_entry_size == 0
            || b[52..60].iter().any(|&x| x != 0)
        {
            return Err(SlotError::Damaged("impossible header field"));
        }
        Ok(h)
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
    let a = Header::decode(&page[SLOT_OFFSETS[0]..], 0);
    let b = Header::decode(&page[SLOT_OFFSETS[1]..], 1);
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
        Header { first_seq: 7, generation: 3, durable_end: 4096, created_ns: 42, max_entry_size: 1024 }
    }

    #[test]
    fn roundtrip_and_newest_generation_wins() {
        let h = sample();
        let mut p = page_with(&h, &[0]);
        let newer = Header { generation: 4, durable_end: 8192, ..h };
        p[512..576].copy_from_slice(&newer.encode(1));
        let c = choose(&p).unwrap();
        assert_eq!(c.header, newer);
        assert_eq!(c.slot, 1);
    }

    #[test]
    fn every_bit_flip_in_a_slot_is_detected_and_the_other_slot_used() {
        let h = sample();
        let p = page_with(&h, &[0, 1]);
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
        let mut b = sample().encode(0);
        b[52] = 1;
        let crc = crc32fast::hash(&b[0..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(Header::decode(&b, 0), Err(SlotError::Damaged(_))));
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
        let mut p = page_with(&sample(), &[0]);
        p[8..10].copy_from_slice(&2u16.to_le_bytes());
        let crc = crc32fast::hash(&p[0..60]);
        p[60..64].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(choose(&p).unwrap_err(), SlotError::Version(2));
    }
}
