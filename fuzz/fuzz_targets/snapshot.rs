//! The snapshot decoder: never panics; anything it accepts (version 1, or version 2 with
//! its binding) re-encodes to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pinnacle_book::{decode_snapshot, encode_snapshot, encode_snapshot_bound};

fuzz_target!(|data: &[u8]| {
    if let Ok((book, meta)) = decode_snapshot(data) {
        let again = match &meta.binding {
            Some(b) => encode_snapshot_bound(&book, meta.covered_seq, meta.created_ns, b).unwrap(),
            None => encode_snapshot(&book, meta.covered_seq, meta.created_ns),
        };
        assert_eq!(again, data);
    }
});
