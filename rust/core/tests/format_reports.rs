//! The journal decoders `pinnacle inspect`/`verify` call through the bindings: header
//! slot reports agree with the header encoder, and the tail examination (raw entry
//! header, damage description, resync) agrees with the entry encoder and never panics.

use pinnacle_core::format::entry::{encoded_len, parse, write, Parsed};
use pinnacle_core::format::header::{Header, HEADER_SIZE, SLOT_OFFSETS, SLOT_SIZE};
use pinnacle_core::format::slots::{report, SlotState};
use pinnacle_core::format::tail::{describe, resync, RawEntryHeader};

/// A small deterministic generator (xorshift64*): the cases are reproducible by seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bytes(&mut self, max: u64) -> Vec<u8> {
        let n = self.below(max);
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn random_header(r: &mut Rng) -> Header {
    Header {
        first_seq: 1 + r.below(1 << 40),
        generation: r.next(),
        durable_end: HEADER_SIZE as u64 + r.below(1 << 40),
        created_ns: r.next() as i64,
        max_entry_size: 1 + r.below(1 << 30) as u32,
        journal_id: if r.below(4) == 0 { 0 } else { u128::from(r.next()) << 64 | u128::from(r.next() | 1) },
    }
}

#[test]
fn slot_reports_decode_what_the_encoder_wrote() {
    let mut r = Rng(0x5eed_0001);
    for _ in 0..2000 {
        let (a, b) = (random_header(&mut r), random_header(&mut r));
        let mut page = vec![0u8; HEADER_SIZE];
        page[SLOT_OFFSETS[0]..SLOT_OFFSETS[0] + SLOT_SIZE].copy_from_slice(&a.encode(0));
        let with_b = r.below(2) == 0;
        if with_b {
            page[SLOT_OFFSETS[1]..SLOT_OFFSETS[1] + SLOT_SIZE].copy_from_slice(&b.encode(1));
        }
        let rep = report(&page);
        assert_eq!(rep.slots[0].header, Some(a));
        assert_eq!(rep.slots[0].version(), Some(if a.journal_id == 0 { 1 } else { 2 }));
        if with_b {
            assert_eq!(rep.slots[1].header, Some(b));
            let newest = if b.generation > a.generation { 1 } else { 0 };
            assert_eq!(rep.current, Some(newest));
        } else {
            assert_eq!((rep.slots[1].state, rep.current), (SlotState::Blank, Some(0)));
        }
        // Re-encoding a reported header gives back the slot's bytes.
        assert_eq!(&rep.header().unwrap().encode(rep.current.unwrap())[..], {
            let o = SLOT_OFFSETS[rep.current.unwrap()];
            &page[o..o + SLOT_SIZE]
        });
    }
}

#[test]
fn slot_reports_of_arbitrary_pages_never_panic_and_valid_slots_reencode() {
    let mut r = Rng(0x5eed_0002);
    for _ in 0..3000 {
        let len = r.below(HEADER_SIZE as u64 + 64) as usize;
        let mut page: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
        if r.below(2) == 0 && len >= 10 {
            page[..8].copy_from_slice(b"PNCLJRNL");
        }
        let rep = report(&page);
        for s in &rep.slots {
            match s.header {
                Some(h) => assert_eq!(&h.encode(s.index)[..], &page[s.offset..s.offset + SLOT_SIZE]),
                None => assert_ne!(s.state, SlotState::Valid),
            }
            assert_eq!(s.error.is_some(), s.state == SlotState::Damaged);
        }
    }
}

#[test]
fn raw_entry_headers_and_resync_agree_with_the_entry_encoder() {
    let mut r = Rng(0x5eed_0003);
    for _ in 0..1000 {
        // garbage, then a valid entry, then garbage
        let lead = r.bytes(200);
        let payload = r.bytes(100);
        let (seq, ts, kind) = (1 + r.below(1 << 30), r.next() as i64, r.below(65536) as u16);
        let mut e = vec![0u8; encoded_len(payload.len())];
        assert!(write(&mut e, seq, ts, kind, 0, &payload));
        let at = lead.len().div_ceil(8) * 8;
        let mut buf = lead.clone();
        buf.resize(at, 0);
        buf.extend_from_slice(&e);
        buf.extend(r.bytes(64));
        let h = RawEntryHeader::read(&buf, at).unwrap();
        assert_eq!((h.seq, h.timestamp_ns, h.kind, h.payload_len as usize), (seq, ts, kind, payload.len()));
        assert_eq!(h.total_len(), e.len());
        assert_eq!(describe(&buf, at, seq, 1 << 20), "an entry the reader rejected");
        // Garbage before it may itself parse as an entry only by a CRC coincidence.
        let found = resync(&buf, 0, seq, 1 << 20).unwrap();
        assert!(found.0 <= at);
        if found.0 == at {
            assert_eq!(found.1, seq);
        }
        assert!(matches!(parse(&buf[found.0..], 1 << 20), Parsed::Entry(_)));
        for cut in [0, 1, at / 2, at, at + 5, buf.len()] {
            let b = &buf[..cut.min(buf.len())];
            for pos in [0, cut / 2, cut.saturating_sub(1), cut] {
                let _ = describe(b, pos, seq, 1 << 20);
                let _ = resync(b, pos, seq, r.below(1 << 20) as u32);
                let _ = RawEntryHeader::read(b, pos);
            }
        }
    }
}
