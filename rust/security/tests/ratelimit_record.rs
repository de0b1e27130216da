//! The rate limiter's consumption record: the bytes the Python encoder wrote, round trip,
//! every truncation and bad field refused, arbitrary bytes never panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

use pinnacle_core::{kinds, Record};
use pinnacle_security::ratelimit::{Consumption, ConsumptionError, FIXED_SIZE, MAX_KEY_BYTES};
use proptest::prelude::*;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn encoded(c: &Consumption) -> Vec<u8> {
    let mut out = Vec::new();
    c.encode(&mut out);
    out
}

/// Payloads of kind 768 journaled by the Python limiter (`struct.Struct("<qI").pack(t,
/// cost) + key.encode()`) before this crate existed.
#[test]
fn same_bytes_as_the_python_encoder() {
    let cases = [
        (
            "01002a36fe9c9717030000006f72646572732f4254432d555344",
            1_700_000_000_000_000_001,
            3,
            "orders/BTC-USD",
        ),
        ("02002a36fe9c971701000000636cc3a92fceb2", 1_700_000_000_000_000_002, 1, "clé/β"),
        ("35fb048ee0feffff07000000636cc3a92fceb2", -1_234_567_890_123, 7, "clé/β"),
        ("15cd853dfe9c9717ffffffff6b", 1_700_000_000_123_456_789, u32::MAX, "k"),
    ];
    for (hex, t, cost, key) in cases {
        let c = Consumption::new(t, cost, key.to_owned()).unwrap();
        assert_eq!(encoded(&c), unhex(hex));
        assert_eq!(Consumption::decode(&unhex(hex)).unwrap(), c);
    }
    assert_eq!(Consumption::KIND, kinds::RATE_CONSUME);
}

#[test]
fn every_truncation_and_bad_field_is_refused() {
    let full = encoded(&Consumption::new(42, 5, "ab".to_owned()).unwrap());
    for n in 0..=FIXED_SIZE {
        assert_eq!(Consumption::decode(&full[..n]), Err(ConsumptionError::Truncated { len: n }));
    }
    assert!(Consumption::decode(&full[..FIXED_SIZE + 1]).is_ok()); // key "a": the key is the rest
    let mut zero = full.clone();
    zero[8..12].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(Consumption::decode(&zero), Err(ConsumptionError::ZeroCost));
    let mut bad = full.clone();
    bad[13] = 0xFF;
    assert_eq!(Consumption::decode(&bad), Err(ConsumptionError::KeyNotUtf8 { valid_up_to: 1 }));
    let mut long = full[..FIXED_SIZE].to_vec();
    long.extend(std::iter::repeat(b'k').take(MAX_KEY_BYTES + 1));
    assert_eq!(Consumption::decode(&long), Err(ConsumptionError::KeyLength { len: MAX_KEY_BYTES + 1 }));
    assert!(Consumption::decode(&long[..long.len() - 1]).is_ok());
}

#[test]
fn construction_refuses_what_could_not_be_decoded() {
    assert_eq!(Consumption::new(0, 0, "k".into()), Err(ConsumptionError::ZeroCost));
    assert_eq!(Consumption::new(0, 1, String::new()), Err(ConsumptionError::KeyLength { len: 0 }));
    let e = Consumption::new(0, 1, "é".repeat(129)).unwrap_err();
    assert_eq!(e, ConsumptionError::KeyLength { len: 258 });
    assert_eq!(e.to_string(), "a rate-limit key must be a non-empty str of at most 256 bytes, got 258 bytes");
}

proptest! {
    #[test]
    fn roundtrip(t in any::<i64>(), cost in 1u32.., key in "\\PC{1,64}") {
        prop_assume!(key.len() <= MAX_KEY_BYTES);
        let c = Consumption::new(t, cost, key).unwrap();
        let bytes = encoded(&c);
        prop_assert_eq!(bytes.len(), FIXED_SIZE + c.key().len());
        prop_assert_eq!(Consumption::decode(&bytes), Ok(c));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(c) = Consumption::decode(&data) {
            prop_assert_eq!(encoded(&c), data); // what decodes re-encodes exactly
        }
    }
}
