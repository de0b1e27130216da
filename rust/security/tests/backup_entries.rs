//! The incremental backup's entry stream: the bytes the Python encoder wrote, round trip,
//! every truncation refused at the right offset, arbitrary bytes never panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

use pinnacle_security::backup_entries::{
    decode_all, encode_entry, entries, StreamEntry, StreamError, ENTRY_HEADER_SIZE,
};
use proptest::prelude::*;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn encode_all(es: &[StreamEntry<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in es {
        encode_entry(&mut out, e).unwrap();
    }
    out
}

/// `struct.Struct("<QHqI").pack(5, 1, 1_700_000_000_000_000_001, 3) + b"abc"` then entries
/// 6 (a checkpoint, empty) and 7 (kind 40000, i64::MAX): the Python encoder's bytes.
const OLD_PYTHON_STREAM: &str =
    "0500000000000000010001002a36fe9c97170300000061626306000000000000000000ffffffffffffffff\
                                 000000000700000000000000409cffffffffffffff7f01000000ff";

#[test]
fn same_bytes_as_the_python_encoder() {
    let want = [
        StreamEntry { seq: 5, kind: 1, timestamp_ns: 1_700_000_000_000_000_001, payload: b"abc" },
        StreamEntry { seq: 6, kind: 0, timestamp_ns: -1, payload: b"" },
        StreamEntry { seq: 7, kind: 40000, timestamp_ns: i64::MAX, payload: b"\xff" },
    ];
    let old = unhex(OLD_PYTHON_STREAM);
    assert_eq!(encode_all(&want), old);
    assert_eq!(decode_all(&old).unwrap(), want);
    assert_eq!(decode_all(&[]).unwrap(), vec![]);
}

#[test]
fn every_truncation_is_refused_at_its_offset() {
    let stream = unhex(OLD_PYTHON_STREAM);
    let ends = [0, ENTRY_HEADER_SIZE + 3, 2 * ENTRY_HEADER_SIZE + 3, stream.len()]; // entry boundaries
    for n in 0..stream.len() {
        let r = decode_all(&stream[..n]);
        if ends.contains(&n) {
            assert!(r.is_ok(), "{n} bytes");
            continue;
        }
        let start = *ends.iter().filter(|&&b| b <= n).max().unwrap();
        let e = r.unwrap_err();
        assert_eq!(e.offset(), Some(start), "{n} bytes: {e}");
        if n - start < ENTRY_HEADER_SIZE {
            assert_eq!(e, StreamError::TruncatedHeader { offset: start, left: n - start });
        } else {
            assert!(matches!(e, StreamError::TruncatedPayload { .. }), "{n} bytes: {e}");
            assert!(e.to_string().starts_with("entry "), "{e}");
        }
    }
    // the iterator yields what came before, then the fault, then nothing
    let cut = &stream[..stream.len() - 1];
    let got: Vec<_> = entries(cut).collect();
    assert_eq!(got.len(), 3);
    assert!(got[0].is_ok() && got[1].is_ok() && got[2].is_err());
}

#[test]
fn a_huge_length_is_refused_not_allocated() {
    let mut s = Vec::new();
    encode_entry(&mut s, &StreamEntry { seq: 9, kind: 2, timestamp_ns: 0, payload: b"x" }).unwrap();
    s[18..22].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = decode_all(&s).unwrap_err();
    assert_eq!(e, StreamError::TruncatedPayload { seq: 9, offset: 0, len: u32::MAX, left: 1 });
}

fn arb_entry() -> impl Strategy<Value = (u64, u16, i64, Vec<u8>)> {
    (any::<u64>(), any::<u16>(), any::<i64>(), proptest::collection::vec(any::<u8>(), 0..64))
}

proptest! {
    #[test]
    fn roundtrip(es in proptest::collection::vec(arb_entry(), 0..8)) {
        let want: Vec<StreamEntry<'_>> = es
            .iter()
            .map(|(seq, kind, ts, p)| StreamEntry { seq: *seq, kind: *kind, timestamp_ns: *ts, payload: p })
            .collect();
        let bytes = encode_all(&want);
        prop_assert_eq!(decode_all(&bytes).unwrap(), want);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(es) = decode_all(&data) {
            prop_assert_eq!(encode_all(&es), data); // what decodes re-encodes exactly
        }
    }
}
