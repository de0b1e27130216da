//! The tick/lot sidecar: the bytes pinnacle 0.1 (Python) wrote, read back; checksum,
//! keys, format, symbol and grid checked.

use pinnacle_book::meta::{decode_meta, encode_meta, meta_crc, MetaError};

/// Written by pinnacle 0.1's Python encoder (`json.dumps(doc, indent=2) + "\n"`) for
/// BTC-USD, tick 0.01, lot 1.
const WRITTEN_BY_0_1: &str = "{\n  \"format\": 2,\n  \"symbol\": \"BTC-USD\",\n  \"tick_size\": \"0.01\",\n  \"lot_size\": \"1\",\n  \"crc32\": CRC\n}\n";

fn old_bytes() -> String {
    // zlib.crc32(b'{"format":2,"lot_size":"1","symbol":"BTC-USD","tick_size":"0.01"}')
    let crc = crc32fast::hash(br#"{"format":2,"lot_size":"1","symbol":"BTC-USD","tick_size":"0.01"}"#);
    WRITTEN_BY_0_1.replace("CRC", &crc.to_string())
}

#[test]
fn the_encoder_writes_the_bytes_pinnacle_0_1_wrote_and_reads_them_back() {
    let old = old_bytes();
    assert_eq!(String::from_utf8(encode_meta("BTC-USD", "0.01", "1").unwrap()).unwrap(), old);
    // Sizes are written canonical.
    assert_eq!(String::from_utf8(encode_meta("BTC-USD", "0.0100", "1e0").unwrap()).unwrap(), old);
    let m = decode_meta(old.as_bytes(), "BTC-USD", "/d/BTC-USD.meta.json").unwrap();
    assert_eq!((m.tick_size.as_str(), m.lot_size.as_str(), m.checksummed), ("0.01", "1", true));
    assert!(encode_meta("X", "0", "1").is_err());
}

#[test]
fn any_json_layout_reads_and_format_1_reads_unchecked() {
    let crc = meta_crc(2, "A.B_c-1", "0.5", "0.001");
    let compact =
        format!(r#"{{"crc32":{crc},"lot_size":"0.0010","tick_size":"0.50","symbol":"A.B_c-1","format":2}}"#);
    let bad_crc = decode_meta(compact.as_bytes(), "A.B_c-1", "p").unwrap_err();
    assert!(matches!(bad_crc, MetaError::Checksum(_)), "non-canonical text changes the checksum");
    let compact =
        format!(r#"{{"crc32":{crc},"lot_size":"0.001","tick_size":"0.5","symbol":"A.B_c-1","format":2}}"#);
    assert!(decode_meta(compact.as_bytes(), "A.B_c-1", "p").unwrap().checksummed);
    let v1 = r#"{"format": 1, "symbol": "S", "tick_size": "0.010", "lot_size": "1"}"#;
    let m = decode_meta(v1.as_bytes(), "S", "p").unwrap();
    assert_eq!((m.tick_size.as_str(), m.checksummed), ("0.01", false));
}

#[test]
fn damaged_or_foreign_sidecars_are_refused() {
    let old = old_bytes();
    let checksum = |t: &str| matches!(decode_meta(t.as_bytes(), "BTC-USD", "p"), Err(MetaError::Checksum(_)));
    let invalid = |t: &str| matches!(decode_meta(t.as_bytes(), "BTC-USD", "p"), Err(MetaError::Invalid(_)));
    assert!(checksum(&old.replace("0.01", "0.02")), "a changed size");
    assert!(checksum(&old.replace("\"crc32\": ", "\"crc32\": 1")), "a changed checksum");
    assert!(checksum(&old[..old.len() - 5]), "truncated: not JSON");
    assert!(checksum("\u{0}\u{0}\u{0}"));
    assert!(invalid("[1, 2]"));
    assert!(invalid(&old.replace("\"format\": 2", "\"format\": 3")));
    assert!(invalid(&old.replace("\"lot_size\"", "\"lot\"")));
    assert!(invalid(&old.replace("\n}", ",\n  \"extra\": 1\n}")));
    let e = decode_meta(old.as_bytes(), "ETH-USD", "/d/x.meta.json").unwrap_err().to_string();
    assert!(e.starts_with("/d/x.meta.json: the tick/lot size sidecar of 'ETH-USD'"), "{e}");
    assert!(e.contains("names another symbol, 'BTC-USD'"), "{e}");
    // A well-formed sidecar with an invalid grid.
    let crc = meta_crc(2, "S", "0", "1");
    let zero = format!(r#"{{"format":2,"symbol":"S","tick_size":"0","lot_size":"1","crc32":{crc}}}"#);
    let e = decode_meta(zero.as_bytes(), "S", "p").unwrap_err();
    assert!(matches!(&e, MetaError::Invalid(m) if m.contains("invalid tick/lot size")), "{e}");
}

#[test]
fn the_checksum_covers_strings_as_python_json_escapes_them() {
    // pinnacle 0.1: zlib.crc32(json.dumps({...}, sort_keys=True, separators=(",", ":")))
    let crc = meta_crc(2, "é\"\u{1}", "1", "1");
    let canonical = "{\"format\":2,\"lot_size\":\"1\",\"symbol\":\"\\u00e9\\\"\\u0001\",\"tick_size\":\"1\"}";
    assert_eq!(crc, crc32fast::hash(canonical.as_bytes()));
}
