//! Op codec: roundtrip, exact layout, and rejection of malformed input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

mod common;

use common::{arb_id, arb_side, int, sid};
use pinnacle_book::{CodecError, Op, OrderId, Side, OP_KIND};
use proptest::prelude::*;

/// Only ops the book could journal (price/qty > 0, modify changes something).
fn valid_op() -> impl Strategy<Value = Op> {
    let id = prop_oneof![
        any::<u64>().prop_map(OrderId::Int),
        "[a-zA-Z0-9_\\-é€]{1,16}".prop_map(|s| OrderId::string(&s).unwrap()),
        Just(sid(&"z".repeat(64))),
        arb_id(),
    ];
    let pos = 1i64..=i64::MAX;
    prop_oneof![
        (id.clone(), arb_side(), pos.clone(), pos.clone(), any::<i64>())
            .prop_map(|(id, side, price, qty, ts)| Op::Add { id, side, price, qty, ts }),
        (id.clone(), any::<i64>()).prop_map(|(id, ts)| Op::Cancel { id, ts }),
        (id.clone(), pos.clone(), any::<i64>()).prop_map(|(id, qty, ts)| Op::Execute { id, qty, ts }),
        (arb_side(), pos.clone(), any::<i64>()).prop_map(|(side, qty, ts)| Op::Market { side, qty, ts }),
        (id, proptest::option::of(pos.clone()), proptest::option::of(pos), any::<i64>())
            .prop_filter("modify must change something", |(_, p, q, _)| p.is_some() || q.is_some())
            .prop_map(|(id, price, qty, ts)| Op::Modify { id, price, qty, ts }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn roundtrip(op in valid_op()) {
        let bytes = op.to_bytes();
        prop_assert_eq!(bytes.len(), op.encoded_len());
        prop_assert_eq!(bytes[0], op.tag());
        prop_assert_eq!(Op::decode(&bytes), Ok(op.clone()));
        // Encoding appends.
        let mut out = vec![0xAA];
        op.encode(&mut out);
        prop_assert_eq!(&out[1..], &bytes[..]);
    }

    #[test]
    fn every_truncation_and_extension_is_rejected(op in valid_op(), extra in 1u8..=255) {
        let bytes = op.to_bytes();
        for cut in 0..bytes.len() {
            prop_assert!(Op::decode(&bytes[..cut]).is_err(), "prefix {} accepted", cut);
        }
        let mut longer = bytes.clone();
        longer.push(extra);
        prop_assert_eq!(Op::decode(&longer), Err(CodecError::TrailingBytes { count: 1 }));
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        if let Ok(op) = Op::decode(&bytes) {
            // Anything accepted is canonical: it re-encodes to the same bytes.
            prop_assert_eq!(op.to_bytes(), bytes);
        }
    }

    #[test]
    fn decode_never_panics_near_valid(op in valid_op(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = op.to_bytes();
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        if let Ok(op) = Op::decode(&bytes) {
            prop_assert_eq!(op.to_bytes(), bytes);
        }
    }
}

#[test]
fn op_kind_is_one() {
    assert_eq!(OP_KIND, 1);
}

#[test]
fn exact_layout() {
    let op = Op::Add { id: int(0x0102), side: Side::Sell, price: 100, qty: 7, ts: -1 };
    let mut want = vec![1u8, 0];
    want.extend_from_slice(&0x0102u64.to_le_bytes());
    want.push(1);
    want.extend_from_slice(&100i64.to_le_bytes());
    want.extend_from_slice(&7i64.to_le_bytes());
    want.extend_from_slice(&(-1i64).to_le_bytes());
    assert_eq!(op.to_bytes(), want);
    assert_eq!(want.len(), 35);

    let op = Op::Cancel { id: sid("ab"), ts: 5 };
    let mut want = vec![2u8, 1, 2, b'a', b'b'];
    want.extend_from_slice(&5i64.to_le_bytes());
    assert_eq!(op.to_bytes(), want);

    let op = Op::Modify { id: int(1), price: None, qty: Some(3), ts: 2 };
    let bytes = op.to_bytes();
    assert_eq!(bytes[0], 5);
    assert_eq!(&bytes[10..18], &0i64.to_le_bytes());
    assert_eq!(&bytes[18..26], &3i64.to_le_bytes());

    let op = Op::Market { side: Side::Buy, qty: 9, ts: 3 };
    assert_eq!(op.to_bytes().len(), 18);
    let op = Op::Execute { id: int(1), qty: 9, ts: 3 };
    assert_eq!(op.to_bytes().len(), 26);
}

#[test]
fn rejects_malformed_fields() {
    let base = Op::Add { id: sid("abc"), side: Side::Buy, price: 10, qty: 1, ts: 0 }.to_bytes();
    // Layout: tag, id tag, len, 'a' 'b' 'c', side, price, qty, ts.
    let with = |i: usize, b: u8| {
        let mut v = base.clone();
        v[i] = b;
        v
    };
    assert_eq!(Op::decode(&[]), Err(CodecError::UnexpectedEnd { offset: 0, needed: 1 }));
    assert_eq!(Op::decode(&with(0, 9)), Err(CodecError::UnknownOpTag(9)));
    assert_eq!(Op::decode(&with(0, 0)), Err(CodecError::UnknownOpTag(0)));
    assert_eq!(Op::decode(&with(1, 2)), Err(CodecError::UnknownIdTag(2)));
    assert_eq!(Op::decode(&with(2, 0)), Err(CodecError::InvalidIdLength(0)));
    assert_eq!(Op::decode(&with(2, 65)), Err(CodecError::InvalidIdLength(65)));
    assert!(matches!(Op::decode(&with(2, 64)), Err(CodecError::UnexpectedEnd { .. })));
    assert_eq!(Op::decode(&with(3, 0xFF)), Err(CodecError::InvalidUtf8));
    assert_eq!(Op::decode(&with(6, 2)), Err(CodecError::InvalidSide(2)));

    let mut neg = base.clone();
    neg[7..15].copy_from_slice(&(-3i64).to_le_bytes());
    assert_eq!(Op::decode(&neg), Err(CodecError::InvalidPrice(-3)));
    let mut zero_qty = base.clone();
    zero_qty[15..23].copy_from_slice(&0i64.to_le_bytes());
    assert_eq!(Op::decode(&zero_qty), Err(CodecError::InvalidQuantity(0)));

    let empty_modify = Op::Modify { id: int(1), price: None, qty: None, ts: 0 }.to_bytes();
    assert_eq!(Op::decode(&empty_modify), Err(CodecError::EmptyModify));
    let mut neg_modify = Op::Modify { id: int(1), price: Some(1), qty: None, ts: 0 }.to_bytes();
    neg_modify[10..18].copy_from_slice(&(-1i64).to_le_bytes());
    assert_eq!(Op::decode(&neg_modify), Err(CodecError::InvalidPrice(-1)));
    let market = Op::Market { side: Side::Sell, qty: -1, ts: 0 }.to_bytes();
    assert_eq!(Op::decode(&market), Err(CodecError::InvalidQuantity(-1)));
}
