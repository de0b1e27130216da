//! The file header: any first page either yields a header whose slot re-encodes to the
//! same bytes, or an error; never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pinnacle_core::format::header::{choose, HEADER_SIZE, SLOT_OFFSETS, SLOT_SIZE};

fuzz_target!(|data: &[u8]| {
    let mut page = vec![0u8; HEADER_SIZE];
    let n = data.len().min(HEADER_SIZE);
    page[..n].copy_from_slice(&data[..n]);
    if let Ok(c) = choose(&page) {
        let at = SLOT_OFFSETS[c.slot];
        assert_eq!(&c.header.encode(c.slot)[..], &page[at..at + SLOT_SIZE]);
    }
});
