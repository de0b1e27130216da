//! The entry parser: never panics, never reads out of bounds, and anything it accepts
//! re-encodes to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pinnacle_core::format::entry::{encoded_len, parse, write, Parsed};

fuzz_target!(|data: &[u8]| {
    for max in [0u32, 64, 1 << 20, u32::MAX] {
        if let Parsed::Entry(e) = parse(data, max) {
            assert!(e.payload.len() as u32 <= max);
            assert_eq!(e.total_len, encoded_len(e.payload.len()));
            let mut again = vec![0u8; e.total_len];
            assert!(write(&mut again, e.seq, e.timestamp_ns, e.kind, e.flags, e.payload));
            assert_eq!(&again[..], &data[..e.total_len]);
        }
    }
});
