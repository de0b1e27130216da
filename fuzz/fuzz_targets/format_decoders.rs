//! The decoders the Python bindings call: the first byte picks one, the rest is its
//! input. None panics; whatever one accepts re-encodes to the same bytes (op decode,
//! header slot report, checkpoint marker) or is consistent with the full decoder
//! (snapshot header peek).
#![no_main]
use libfuzzer_sys::fuzz_target;
use pinnacle_book::ops::OP_NAMES;
use pinnacle_book::snapshot_file::sniff;
use pinnacle_book::{
    decode_checkpoint_marker, decode_snapshot, encode_checkpoint_marker, peek_snapshot_header,
    snapshot_checksum_holds, Op,
};
use pinnacle_core::format::header::SLOT_SIZE;
use pinnacle_core::format::slots::report;
use pinnacle_core::format::tail::{describe, resync};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, input)) = data.split_first() else { return };
    match pick % 4 {
        0 => {
            if let Ok(op) = Op::decode(input) {
                assert_eq!(op.to_bytes(), input);
                assert_eq!(Some(&op.name()), OP_NAMES.get(usize::from(input[0]) - 1));
            }
        }
        1 => {
            let h = peek_snapshot_header(input);
            if let Ok((_, meta)) = decode_snapshot(input) {
                let h = h.expect("a snapshot that decodes has a readable header");
                assert_eq!((h.covered_seq, h.created_ns, h.symbol), (meta.covered_seq, meta.created_ns, meta.symbol));
                assert!(snapshot_checksum_holds(input));
            }
            let _ = sniff(input);
        }
        2 => {
            for s in report(input).slots {
                if let Some(h) = s.header {
                    assert_eq!(&h.encode(s.index)[..], &input[s.offset..s.offset + SLOT_SIZE]);
                }
            }
            if let Some((seq, created)) = decode_checkpoint_marker(input) {
                match created {
                    Some(c) => assert_eq!(&encode_checkpoint_marker(seq, c)[..], input),
                    None => assert_eq!(&seq.to_le_bytes()[..], input),
                }
            }
        }
        _ => {
            let pos = input.first().map_or(0, |&b| usize::from(b));
            let _ = describe(input, pos, 1, 1 << 16);
            let _ = resync(input, pos, 1, 1 << 16);
        }
    }
});
