//! The decoders the Python bindings call (`pinnacle inspect`/`verify`, the snapshot
//! manager) agree with the encoders: the snapshot header peek, the checksum check, the
//! checkpoint marker, the op names, and the file-format sniff. Arbitrary bytes never
//! panic any of them, and whatever they accept re-encodes to the same bytes.

mod common;

use common::{arb_op, arb_ops, book, run};
use pinnacle_book::ops::OP_NAMES;
use pinnacle_book::snapshot_file::{sniff, FileFormat};
use pinnacle_book::{
    decode_checkpoint_marker, decode_snapshot, encode_checkpoint_marker, encode_snapshot,
    encode_snapshot_bound, peek_snapshot_header, snapshot_checksum_holds, Op, SnapshotBinding, SnapshotError,
    SNAPSHOT_HEADER_MAX_LEN,
};
use proptest::prelude::*;

fn arb_binding() -> impl Strategy<Value = Option<SnapshotBinding>> {
    proptest::option::of(
        (any::<u128>(), "[0-9.]{1,64}", "[0-9.]{1,64}").prop_map(|(journal_id, t, l)| SnapshotBinding {
            journal_id,
            tick_size: t,
            lot_size: l,
        }),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The peek reads exactly the fields the full decoder reads, from the whole file or
    /// from its first SNAPSHOT_HEADER_MAX_LEN bytes, and never needs more.
    #[test]
    fn peek_agrees_with_decode(
        ops in arb_ops(60),
        symbol in "[A-Z]{1,64}",
        seq in any::<u64>(),
        ts in any::<i64>(),
        binding in arb_binding(),
    ) {
        let mut b = pinnacle_book::OrderBook::new(&symbol).unwrap();
        for op in &ops {
            let _ = run(&mut b, op);
        }
        let bytes = match &binding {
            Some(bind) => encode_snapshot_bound(&b, seq, ts, bind).unwrap(),
            None => encode_snapshot(&b, seq, ts),
        };
        let (_, meta) = decode_snapshot(&bytes).unwrap();
        let h = peek_snapshot_header(&bytes).unwrap();
        prop_assert_eq!(
            (&h.symbol, h.covered_seq, h.created_ns, h.order_count, &h.binding),
            (&meta.symbol, meta.covered_seq, meta.created_ns, meta.order_count, &meta.binding)
        );
        prop_assert_eq!(h.version, if binding.is_some() { 2 } else { 1 });
        let head = &bytes[..bytes.len().min(SNAPSHOT_HEADER_MAX_LEN)];
        prop_assert_eq!(peek_snapshot_header(head).unwrap(), h.clone());
        prop_assert_eq!(peek_snapshot_header(&bytes[..h.header_len as usize]).unwrap(), h.clone());
        let short = peek_snapshot_header(&bytes[..h.header_len as usize - 1]);
        prop_assert!(short.is_err());
        prop_assert!(snapshot_checksum_holds(&bytes));
        prop_assert_eq!(sniff(&bytes), Some(FileFormat::Snapshot));
    }

    /// Any flipped bit fails the checksum; arbitrary bytes never panic the peek, and a
    /// peek that succeeds on them reports what the bytes hold.
    #[test]
    fn checksum_and_peek_on_arbitrary_bytes(
        ops in arb_ops(20),
        bit in any::<prop::sample::Index>(),
        garbage in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut b = book();
        for op in &ops {
            let _ = run(&mut b, op);
        }
        let mut bytes = encode_snapshot(&b, 1, 2);
        let i = bit.index(bytes.len() * 8);
        bytes[i / 8] ^= 1 << (i % 8);
        prop_assert!(!snapshot_checksum_holds(&bytes));
        let _ = snapshot_checksum_holds(&garbage);
        let _ = sniff(&garbage);
        let mut framed = b"PNCLSNAP\x01\x00".to_vec();
        framed.extend_from_slice(&garbage);
        for input in [&garbage, &framed] {
            if let Ok(h) = peek_snapshot_header(input) {
                prop_assert!(h.header_len as usize <= input.len());
                prop_assert!(h.symbol.len() <= 64);
            }
        }
    }

    /// Every op decodes to its encoding's name, and arbitrary bytes either fail to decode
    /// or re-encode to exactly themselves.
    #[test]
    fn op_decode_is_the_inverse_of_encode(op in arb_op(), bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let enc = op.to_bytes();
        // `arb_op` also makes ops the book refuses (a price of 0 is a modify's "absent"):
        // those may fail to decode, or decode to the op their bytes mean.
        if let Ok(back) = Op::decode(&enc) {
            prop_assert_eq!(back.to_bytes(), enc.clone());
            prop_assert_eq!(back.name(), op.name());
            prop_assert_eq!(Some(&back.name()), OP_NAMES.get(usize::from(enc[0]) - 1));
        }
        if let Ok(any_op) = Op::decode(&bytes) {
            prop_assert_eq!(any_op.to_bytes(), bytes);
        }
    }

    #[test]
    fn checkpoint_marker_roundtrip(seq in any::<u64>(), ts in any::<i64>(), junk in proptest::collection::vec(any::<u8>(), 0..40)) {
        prop_assert_eq!(decode_checkpoint_marker(&encode_checkpoint_marker(seq, ts)), Some((seq, Some(ts))));
        prop_assert_eq!(decode_checkpoint_marker(&seq.to_le_bytes()), Some((seq, None)));
        let d = decode_checkpoint_marker(&junk);
        prop_assert_eq!(d.is_some(), junk.len() == 8 || junk.len() == 16);
    }
}

#[test]
fn peek_errors_name_the_problem() {
    assert_eq!(peek_snapshot_header(b"PNCLSNAP"), Err(SnapshotError::TooShort { len: 8 }));
    assert_eq!(peek_snapshot_header(b"XXXXXXXXXXXXXXXXXXXX"), Err(SnapshotError::BadMagic));
    assert_eq!(peek_snapshot_header(b"PNCLSNAP\x03\x00"), Err(SnapshotError::UnsupportedVersion(3)));
    let mut v = encode_snapshot(&book(), 1, 1);
    v[10] = 1;
    assert_eq!(peek_snapshot_header(&v), Err(SnapshotError::UnsupportedFlags(1)));
}

#[test]
fn sniff_tells_journals_from_snapshots() {
    let mut page = vec![0u8; 600];
    assert_eq!(sniff(&page), None);
    page[512..520].copy_from_slice(b"PNCLJRNL");
    assert_eq!(sniff(&page), Some(FileFormat::Journal));
    assert_eq!(sniff(&page[..519]), None);
    page[..8].copy_from_slice(b"PNCLJRNL");
    assert_eq!(sniff(&page[..8]), Some(FileFormat::Journal));
    assert_eq!(FileFormat::Snapshot.as_str(), "snapshot");
}
