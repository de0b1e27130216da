//! Snapshot roundtrip, exact layout, corruption detection and validation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

mod common;

use common::{arb_ops, book, int, run, sid};
use pinnacle_book::{
    decode_snapshot, encode_snapshot, encode_snapshot_bound, OrderBook, OrderId, Side, SnapshotBinding,
    SnapshotError, SNAPSHOT_MAGIC, SNAPSHOT_VERSION,
};
use proptest::prelude::*;

type Rec = (OrderId, Side, i64, i64, i64, i64);

/// Independent writer of the documented layout (docs/format.md), with a valid CRC.
fn raw(symbol: &str, count: u64, orders: &[Rec]) -> Vec<u8> {
    let mut v = SNAPSHOT_MAGIC.to_vec();
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&0u16.to_le_bytes());
    v.extend_from_slice(&(42 + symbol.len() as u32).to_le_bytes());
    v.extend_from_slice(&(symbol.len() as u16).to_le_bytes());
    v.extend_from_slice(symbol.as_bytes());
    v.extend_from_slice(&7u64.to_le_bytes());
    v.extend_from_slice(&(-9i64).to_le_bytes());
    v.extend_from_slice(&count.to_le_bytes());
    for (id, side, price, qty, filled, ts) in orders {
        match id {
            OrderId::Int(n) => {
                v.push(0);
                v.extend_from_slice(&n.to_le_bytes());
            }
            OrderId::Str(s) => {
                v.push(1);
                v.push(s.as_str().len() as u8);
                v.extend_from_slice(s.as_str().as_bytes());
            }
        }
        v.push(side.to_u8());
        for x in [price, qty, filled, ts] {
            v.extend_from_slice(&x.to_le_bytes());
        }
    }
    reseal(v)
}

fn reseal(mut v: Vec<u8>) -> Vec<u8> {
    let crc = crc32fast::hash(&v);
    v.extend_from_slice(&crc.to_le_bytes());
    v
}

fn sample() -> OrderBook {
    let mut b = book();
    b.add_order(int(1), Side::Buy, 100, 10, 1).unwrap();
    b.add_order(sid("b2"), Side::Buy, 100, 5, 2).unwrap();
    b.add_order(int(3), Side::Buy, 98, 7, 3).unwrap();
    b.add_order(sid("a1"), Side::Sell, 103, 4, 4).unwrap();
    b.add_order(int(5), Side::Sell, 101, 9, 5).unwrap();
    b.add_order(int(6), Side::Sell, 101, 2, 6).unwrap();
    b.execute_order(&int(1), 3, 7).unwrap();
    b.modify_order(&int(5), None, Some(12), 8).unwrap();
    b
}

#[test]
fn roundtrip_preserves_everything() {
    let b = sample();
    let bytes = encode_snapshot(&b, 77, 1_700_000_000_000_000_000);
    let (back, meta) = decode_snapshot(&bytes).unwrap();
    assert_eq!(back, b);
    assert_eq!(back.orders(), b.orders());
    assert_eq!(back.depth(10), b.depth(10));
    assert_eq!(
        (meta.covered_seq, meta.created_ns, meta.symbol.as_str(), meta.order_count),
        (77, 1_700_000_000_000_000_000, "BTC-USD", 6)
    );
    back.check_invariants().unwrap();
    assert_eq!(encode_snapshot(&back, 77, 1_700_000_000_000_000_000), bytes);
}

#[test]
fn empty_book_roundtrip() {
    let b = OrderBook::new("X").unwrap();
    let bytes = encode_snapshot(&b, 0, 0);
    assert_eq!(bytes.len(), 8 + 2 + 2 + 4 + 2 + 1 + 24 + 4);
    let (back, meta) = decode_snapshot(&bytes).unwrap();
    assert!(back.is_empty());
    assert_eq!(meta.symbol, "X");
}

#[test]
fn layout_matches_independent_writer() {
    let b = sample();
    let recs: Vec<Rec> = b
        .orders()
        .into_iter()
        .map(|o| (o.id, o.side, o.price, o.quantity, o.filled, o.timestamp_ns))
        .collect();
    assert_eq!(encode_snapshot(&b, 7, -9), raw("BTC-USD", recs.len() as u64, &recs));
}

#[test]
fn decoded_book_keeps_fifo_and_trades_identically() {
    let mut a = sample();
    let (mut b, _) = decode_snapshot(&encode_snapshot(&a, 1, 1)).unwrap();
    let fa = a.execute_market_order(Side::Sell, 20, 9).unwrap();
    let fb = b.execute_market_order(Side::Sell, 20, 9).unwrap();
    assert_eq!(fa, fb);
    assert_eq!(fa[0].maker_id, int(1));
    assert_eq!(fa[1].maker_id, sid("b2"));
    assert_eq!(a, b);
}

#[test]
fn every_truncation_is_detected() {
    let bytes = encode_snapshot(&sample(), 3, 4);
    for cut in 0..bytes.len() {
        assert!(decode_snapshot(&bytes[..cut]).is_err(), "truncation at {cut} accepted");
    }
}

#[test]
fn every_bit_flip_is_detected() {
    let bytes = encode_snapshot(&sample(), 3, 4);
    assert_every_bit_flip_is_detected(&bytes);
}

#[test]
fn header_checks() {
    let good = encode_snapshot(&sample(), 1, 1);
    assert!(matches!(decode_snapshot(b"PNCL"), Err(SnapshotError::TooShort { len: 4 })));
    let mut bad = good.clone();
    bad[0] = b'X';
    assert_eq!(decode_snapshot(&bad).unwrap_err(), SnapshotError::BadMagic);
    let mut v3 = good.clone();
    v3[8] = 3;
    assert_eq!(decode_snapshot(&v3).unwrap_err(), SnapshotError::UnsupportedVersion(3));
    let mut flags = good[..good.len() - 4].to_vec();
    flags[10] = 1;
    assert_eq!(decode_snapshot(&reseal(flags)).unwrap_err(), SnapshotError::UnsupportedFlags(1));
    let mut hl = good[..good.len() - 4].to_vec();
    hl[12] = 99;
    assert!(matches!(decode_snapshot(&reseal(hl)), Err(SnapshotError::HeaderLength { stated: 99, .. })));
    let mut crc = good.clone();
    let n = crc.len();
    crc[n - 1] ^= 0x80;
    assert!(matches!(decode_snapshot(&crc), Err(SnapshotError::ChecksumMismatch { .. })));
    let mut sym = raw("AB", 0, &[]);
    sym[18] = 0xFF;
    let sym = reseal(sym[..sym.len() - 4].to_vec());
    assert_eq!(decode_snapshot(&sym).unwrap_err(), SnapshotError::InvalidSymbol);
}

#[test]
fn structural_validation_after_crc() {
    let ok: Rec = (int(1), Side::Buy, 100, 5, 0, 1);
    assert!(decode_snapshot(&raw("S", 1, std::slice::from_ref(&ok))).is_ok());
    // order_count larger than the bytes can hold: rejected before allocating.
    assert!(matches!(
        decode_snapshot(&raw("S", u64::MAX, std::slice::from_ref(&ok))),
        Err(SnapshotError::OrderCountTooLarge { count: u64::MAX, max: 1 })
    ));
    assert!(matches!(
        decode_snapshot(&raw("S", 2, std::slice::from_ref(&ok))),
        Err(SnapshotError::OrderCountTooLarge { .. })
    ));
    assert_eq!(
        decode_snapshot(&raw("S", 0, std::slice::from_ref(&ok))).unwrap_err(),
        SnapshotError::TrailingBytes { count: 42 }
    );
    let dup = [ok.clone(), (int(1), Side::Buy, 99, 5, 0, 2)];
    assert_eq!(decode_snapshot(&raw("S", 2, &dup)).unwrap_err(), SnapshotError::DuplicateId { id: int(1) });
    // Ids are indexed in a second pass; the error is still that of the first bad record.
    let dup_then_unordered =
        [ok.clone(), (int(1), Side::Buy, 99, 5, 0, 2), (int(3), Side::Buy, 101, 5, 0, 3)];
    assert_eq!(
        decode_snapshot(&raw("S", 3, &dup_then_unordered)).unwrap_err(),
        SnapshotError::DuplicateId { id: int(1) }
    );
    let unordered_then_dup =
        [ok.clone(), (int(2), Side::Buy, 101, 5, 0, 2), (int(1), Side::Buy, 98, 5, 0, 3)];
    assert_eq!(
        decode_snapshot(&raw("S", 3, &unordered_then_dup)).unwrap_err(),
        SnapshotError::NotCanonical { index: 1 }
    );
    let overflowing_dup = [(int(1), Side::Buy, 100, i64::MAX, 0, 1), (int(1), Side::Buy, 100, 1, 0, 2)];
    assert!(matches!(
        decode_snapshot(&raw("S", 2, &overflowing_dup)),
        Err(SnapshotError::InvalidOrder { index: 1, .. })
    ));
    let crossed = [ok.clone(), (int(2), Side::Sell, 100, 5, 0, 2)];
    assert!(matches!(decode_snapshot(&raw("S", 2, &crossed)), Err(SnapshotError::Crossed { .. })));
    let unordered = [ok.clone(), (int(2), Side::Buy, 101, 5, 0, 2)];
    assert!(matches!(
        decode_snapshot(&raw("S", 2, &unordered)),
        Err(SnapshotError::NotCanonical { index: 1 })
    ));
    let asks_first = [(int(2), Side::Sell, 101, 5, 0, 2), ok.clone()];
    assert!(matches!(decode_snapshot(&raw("S", 2, &asks_first)), Err(SnapshotError::NotCanonical { .. })));
    for (qty, filled) in [(5, 5), (5, -1), (5, 6)] {
        let r = decode_snapshot(&raw("S", 1, &[(int(1), Side::Buy, 100, qty, filled, 1)]));
        assert!(matches!(r, Err(SnapshotError::InvalidOrder { index: 0, .. })), "{qty} {filled}");
    }
    for (price, qty) in [(0, 5), (100, 0), (-1, 5)] {
        let r = decode_snapshot(&raw("S", 1, &[(int(1), Side::Buy, price, qty, 0, 1)]));
        assert!(matches!(r, Err(SnapshotError::Malformed { index: 0, .. })));
    }
    let overflow = [(int(1), Side::Buy, 100, i64::MAX, 0, 1), (int(2), Side::Buy, 100, 1, 0, 1)];
    assert!(matches!(
        decode_snapshot(&raw("S", 2, &overflow)),
        Err(SnapshotError::InvalidOrder { index: 1, .. })
    ));
    // Same-price orders of both sides are grouped per side.
    let levels = [
        ok.clone(),
        (int(2), Side::Buy, 100, 1, 0, 2),
        (int(3), Side::Sell, 101, 1, 0, 3),
        (sid("4"), Side::Sell, 101, 1, 0, 4),
    ];
    let (b, _) = decode_snapshot(&raw("S", 4, &levels)).unwrap();
    assert_eq!(b.depth(5), (vec![(100, 6, 2)], vec![(101, 2, 2)]));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn roundtrip_random_books(ops in arb_ops(200), seq in any::<u64>(), ts in any::<i64>()) {
        let mut b = book();
        for op in &ops {
            let _ = run(&mut b, op);
        }
        let bytes = encode_snapshot(&b, seq, ts);
        let (back, meta) = decode_snapshot(&bytes).unwrap();
        prop_assert_eq!(&back, &b);
        prop_assert_eq!(meta.order_count, b.order_count() as u64);
        prop_assert_eq!((meta.covered_seq, meta.created_ns), (seq, ts));
        prop_assert!(back.check_invariants().is_ok());
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_snapshot(&bytes);
        let mut with_magic = SNAPSHOT_MAGIC.to_vec();
        with_magic.extend_from_slice(&[1, 0]);
        with_magic.extend_from_slice(&bytes);
        let _ = decode_snapshot(&with_magic);
        // Resealed garbage passes the CRC and exercises the parser itself.
        let _ = decode_snapshot(&reseal(with_magic));
    }
}

fn binding() -> SnapshotBinding {
    SnapshotBinding {
        journal_id: 0x1234_5678_9abc_def0_0fed_cba9_8765_4321,
        tick_size: "0.01".into(),
        lot_size: "1".into(),
    }
}

/// Version 2 records the journal identity and the grid; version 1 (no binding) is
/// still written by `encode_snapshot` and read.
#[test]
fn bound_snapshots_roundtrip_and_version_1_still_decodes() {
    let b = sample();
    let bytes = encode_snapshot_bound(&b, 9, 10, &binding()).unwrap();
    assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), SNAPSHOT_VERSION);
    let (back, meta) = decode_snapshot(&bytes).unwrap();
    assert_eq!(back, b);
    assert_eq!((meta.covered_seq, meta.created_ns), (9, 10));
    assert_eq!(meta.binding, Some(binding()));
    let (_, old) = decode_snapshot(&encode_snapshot(&b, 9, 10)).unwrap();
    assert_eq!(old.binding, None);
    // The binding sits after order_count: symbol, covered_seq, created_ns and
    // order_count stay where version 1 has them.
    let n = usize::from(u16::from_le_bytes([bytes[16], bytes[17]]));
    assert_eq!(bytes[16..42 + n], encode_snapshot(&b, 9, 10)[16..42 + n]);
}

#[test]
fn every_truncation_and_bit_flip_of_a_bound_snapshot_is_detected() {
    let bytes = encode_snapshot_bound(&sample(), 3, 4, &binding()).unwrap();
    for cut in 0..bytes.len() {
        assert!(decode_snapshot(&bytes[..cut]).is_err(), "truncation at {cut} accepted");
    }
    assert_every_bit_flip_is_detected(&bytes);
}

#[test]
fn malformed_bindings_are_refused() {
    for (tick, lot) in [("", "1"), ("1", ""), ("1e-2", "1"), ("0.01", &"9".repeat(65)[..])] {
        let bad = SnapshotBinding { tick_size: tick.into(), lot_size: lot.into(), ..binding() };
        assert!(matches!(
            encode_snapshot_bound(&sample(), 1, 1, &bad),
            Err(SnapshotError::InvalidBinding(_))
        ));
    }
    // A resealed snapshot whose tick text is not a decimal: rejected after the CRC.
    let mut bytes = encode_snapshot_bound(&sample(), 1, 1, &binding()).unwrap();
    let n = usize::from(u16::from_le_bytes([bytes[16], bytes[17]]));
    let at = 42 + n + 16 + 1 + 1; // order_count end, journal_id, tick length, "0" of "0.01"
    assert_eq!(bytes[at], b'.');
    bytes[at] = b'x';
    bytes.truncate(bytes.len() - 4);
    assert!(matches!(decode_snapshot(&reseal(bytes)), Err(SnapshotError::InvalidBinding(_))));
}

fn assert_every_bit_flip_is_detected(bytes: &[u8]) {
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut v = bytes.to_vec();
            v[i] ^= 1 << bit;
            assert!(decode_snapshot(&v).is_err(), "flip of bit {bit} of byte {i} accepted");
        }
    }
}
