//! The op codec and replay: decoding never panics, accepted ops re-encode identically,
//! and replaying arbitrary op streams keeps the book's invariants.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pinnacle_book::{Op, OrderBook};

fuzz_target!(|data: &[u8]| {
    let Ok(mut book) = OrderBook::new("FUZZ") else { return };
    for chunk in data.split(|&b| b == 0xFF) {
        if let Ok(op) = Op::decode(chunk) {
            assert_eq!(op.to_bytes(), chunk);
            let _ = book.replay(chunk);
        }
    }
    book.check_invariants().unwrap();
});
