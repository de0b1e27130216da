//! The vault header: exact layout (bytes written by the Python encoder it replaced),
//! round trip, every truncation and every bad field refused with the right error, and
//! arbitrary bytes never panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

use pinnacle_security::vault::{
    DecodeError, FieldError, Header, KdfError, KdfParams, HEADER_SIZE, MAGIC, MAX_MEMORY_KIB, TAG_SIZE,
    VERSION,
};
use proptest::prelude::*;

/// `struct.Struct("<8sHBBIII16s12s").pack(b"PNVAULT\0", 1, 2, 0, 8, 1, 1, bytes(range(16)),
/// bytes(range(100, 112)))`, as the Python encoder wrote it before this crate existed.
const OLD_PYTHON_HEADER: &str = "504e5641554c540001000200080000000100000001000000\
                                 000102030405060708090a0b0c0d0e0f6465666768696a6b6c6d6e6f";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn sample() -> Header {
    let salt: Vec<u8> = (0..16).collect();
    let nonce: Vec<u8> = (100..112).collect();
    Header::new(KdfParams::new(8, 1, 1).unwrap(), &salt, &nonce).unwrap()
}

/// A whole file: the header and a tag's worth of (fake) ciphertext.
fn file(h: &Header) -> Vec<u8> {
    let mut f = h.encode().to_vec();
    f.extend_from_slice(&[0xAA; TAG_SIZE]);
    f
}

#[test]
fn same_bytes_as_the_python_encoder() {
    let old = unhex(OLD_PYTHON_HEADER);
    assert_eq!(old.len(), HEADER_SIZE);
    assert_eq!(sample().encode().to_vec(), old);
    let mut f = old.clone();
    f.extend_from_slice(&[0; TAG_SIZE]);
    assert_eq!(Header::decode(&f).unwrap(), sample());
}

#[test]
fn every_truncation_is_refused() {
    let f = file(&sample());
    for n in 0..f.len() {
        let e = Header::decode(&f[..n]).unwrap_err();
        if n < MAGIC.len() {
            assert_eq!(e, DecodeError::BadMagic, "{n} bytes");
        } else {
            assert_eq!(e, DecodeError::Truncated { len: n }, "{n} bytes");
            assert_eq!(e.to_string(), format!("truncated vault: {n} bytes, at least 68 needed"));
        }
    }
    assert!(Header::decode(&f).is_ok());
}

#[test]
fn every_bad_field_is_refused() {
    let good = file(&sample());
    let with = |at: usize, bytes: &[u8]| {
        let mut f = good.clone();
        f[at..at + bytes.len()].copy_from_slice(bytes);
        Header::decode(&f)
    };
    for i in 0..8 {
        let mut f = good.clone();
        f[i] ^= 0x01;
        assert_eq!(Header::decode(&f), Err(DecodeError::BadMagic));
    }
    let newer = with(8, &(VERSION + 1).to_le_bytes()).unwrap_err();
    assert_eq!(newer, DecodeError::NewerVersion { version: 2 });
    assert_eq!(newer.to_string(), "vault format 2 was written by a newer pinnacle (this one reads 1)");
    assert_eq!(with(8, &u16::MAX.to_le_bytes()), Err(DecodeError::NewerVersion { version: u16::MAX }));
    assert_eq!(with(8, &[0, 0]), Err(DecodeError::Unsupported { version: 0, kdf_id: 2 }));
    let kdf = with(10, &[1]).unwrap_err();
    assert_eq!(kdf, DecodeError::Unsupported { version: 1, kdf_id: 1 });
    assert_eq!(kdf.to_string(), "unsupported vault header (format 1, kdf 1): the file is damaged");
    assert_eq!(with(11, &[1]), Err(DecodeError::Unsupported { version: 1, kdf_id: 2 }));
    let field = |field, lo, hi, got| Err(DecodeError::Kdf(KdfError { field, lo, hi, got }));
    assert_eq!(with(12, &7u32.to_le_bytes()), field("memory_kib", 8, MAX_MEMORY_KIB, 7));
    assert_eq!(
        with(12, &(MAX_MEMORY_KIB + 1).to_le_bytes()),
        field("memory_kib", 8, MAX_MEMORY_KIB, 1_048_577)
    );
    assert_eq!(with(16, &0u32.to_le_bytes()), field("time_cost", 1, 64, 0));
    assert_eq!(with(16, &65u32.to_le_bytes()), field("time_cost", 1, 64, 65));
    assert_eq!(with(20, &0u32.to_le_bytes()), field("parallelism", 1, 16, 0));
    assert_eq!(with(20, &17u32.to_le_bytes()), field("parallelism", 1, 16, 17));
    // 2 lanes need 16 KiB: the sample's 8 KiB is too little
    let lanes = with(20, &2u32.to_le_bytes()).unwrap_err();
    assert_eq!(
        lanes.to_string(),
        "implausible KDF parameters in the header (KdfParams.memory_kib must be an int in [16, 1048576], \
         got 8): the file is damaged"
    );
    // salt and nonce are any bytes (authenticated by the caller)
    assert!(with(24, &[0xFF; 28]).is_ok());
}

#[test]
fn kdf_bounds_are_checked_in_order_with_real_values() {
    assert!(KdfParams::new(64 * 1024, 2, 2).is_ok());
    assert!(KdfParams::new(i128::from(MAX_MEMORY_KIB), 64, 16).is_ok());
    let e = KdfParams::new(-1, 0, 0).unwrap_err();
    assert_eq!(e.field, "parallelism"); // parallelism, then time cost, then memory
    assert_eq!(KdfParams::new(-1, 0, 1).unwrap_err().field, "time_cost");
    let e = KdfParams::new(-5, 1, 1).unwrap_err();
    assert_eq!(e.to_string(), "KdfParams.memory_kib must be an int in [8, 1048576], got -5");
    let big = i128::from(u32::MAX) + 1;
    assert_eq!(KdfParams::new(big, 1, 1).unwrap_err().got, big);
}

#[test]
fn encode_refuses_wrong_lengths() {
    let kdf = KdfParams::new(8, 1, 1).unwrap();
    assert_eq!(Header::new(kdf, &[0; 15], &[0; 12]), Err(FieldError::Salt { len: 15 }));
    assert_eq!(Header::new(kdf, &[0; 16], &[0; 13]), Err(FieldError::Nonce { len: 13 }));
    assert_eq!(
        Header::new(kdf, &[0; 16], &[0; 13]).unwrap_err().to_string(),
        "a vault nonce is 12 bytes, got 13"
    );
}

fn arb_header() -> impl Strategy<Value = Header> {
    (1u32..=16, 1u32..=64, any::<[u8; 16]>(), any::<[u8; 12]>())
        .prop_flat_map(|(p, t, salt, nonce)| (8 * p..=MAX_MEMORY_KIB, Just((p, t, salt, nonce))))
        .prop_map(|(m, (p, t, salt, nonce))| {
            Header::new(KdfParams::new(m.into(), t.into(), p.into()).unwrap(), &salt, &nonce).unwrap()
        })
}

proptest! {
    #[test]
    fn roundtrip(h in arb_header(), tail in proptest::collection::vec(any::<u8>(), TAG_SIZE..64)) {
        let mut f = h.encode().to_vec();
        f.extend_from_slice(&tail);
        prop_assert_eq!(Header::decode(&f), Ok(h));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..96)) {
        let _ = Header::decode(&data);
        let mut f = MAGIC.to_vec();
        f.extend_from_slice(&data);
        if let Ok(h) = Header::decode(&f) {
            prop_assert_eq!(&h.encode()[..], &f[..HEADER_SIZE]); // what decodes re-encodes exactly
        }
    }
}
