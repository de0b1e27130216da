//! The security layer's layouts (pinnacle-security): the vault header, the
//! ratelimit.consume record and the incremental backup's entry stream. Arbitrary bytes
//! never panic, and whatever decodes re-encodes to exactly the bytes it came from.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pinnacle_core::Record;
use pinnacle_security::backup_entries::{encode_entry, entries};
use pinnacle_security::vault::{Header, HEADER_SIZE};
use pinnacle_security::Consumption;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = Header::decode(data) {
        assert_eq!(&h.encode()[..], &data[..HEADER_SIZE]);
    }
    if let Ok(c) = Consumption::decode(data) {
        let mut out = Vec::new();
        c.encode(&mut out);
        assert_eq!(out, data);
    }
    let mut out = Vec::new();
    let mut whole = true;
    for e in entries(data) {
        match e {
            Ok(e) => encode_entry(&mut out, &e).unwrap(),
            Err(_) => whole = false,
        }
    }
    if whole {
        assert_eq!(out, data);
    } else {
        assert!(data.starts_with(&out));
    }
});
