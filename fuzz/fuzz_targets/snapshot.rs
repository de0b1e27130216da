//! The snapshot decoder: never panics; anything it accepts re-encodes to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pinnacle_book::{decode_snapshot, encode_snapshot};

fuzz_target!(|data: &[u8]| {
    if let Ok((book, meta)) = decode_snapshot(data) {
        assert_eq!(encode_snapshot(&book, meta.covered_seq, meta.created_ns), data);
    }
});
