//! The tick/lot sidecar `SYMBOL.meta.json` (docs/format.md): the grid that gives a
//! journal's integer ticks and lots their meaning. Format 2 (written) is
//!
//! ```text
//! {
//!   "format": 2,
//!   "symbol": "BTC-USD",
//!   "tick_size": "0.01",
//!   "lot_size": "1",
//!   "crc32": 2795453101
//! }
//! ```
//!
//! byte for byte as Python's `json.dumps(doc, indent=2) + "\n"` wrote it (pinnacle 0.1),
//! `crc32` being CRC-32 (IEEE) of the other four fields as compact JSON with sorted keys
//! (`{"format":2,"lot_size":"1","symbol":"BTC-USD","tick_size":"0.01"}`). Format 1 (older
//! pinnacle) has no `crc32` and is still read. Any JSON layout of those keys is read.

use crate::grid::{canonical_grid, GridError};
use serde_json::{Map, Value};
use std::fmt;

/// The format written.
pub const META_FORMAT: u64 = 2;
/// The keys of a format-1 sidecar (format 2 adds `crc32`).
const FIELDS: [&str; 4] = ["format", "symbol", "tick_size", "lot_size"];

/// A decoded sidecar: the canonical grid of `symbol`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolMeta {
    pub symbol: String,
    pub tick_size: String,
    pub lot_size: String,
    /// False for format 1: nothing verified its content.
    pub checksummed: bool,
}

/// Why a sidecar cannot be trusted. Both mean corruption; `Checksum` says its content is
/// not what was written (changed or damaged), so a copy of the grid elsewhere (a snapshot)
/// may repair it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaError {
    Checksum(String),
    Invalid(String),
}

impl fmt::Display for MetaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetaError::Checksum(m) | MetaError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for MetaError {}

/// The sidecar's bytes for `symbol` (format 2); the sizes are written canonical, and an
/// invalid one is refused.
pub fn encode_meta(symbol: &str, tick_size: &str, lot_size: &str) -> Result<Vec<u8>, GridError> {
    let (tick, lot) = canonical_grid(tick_size, lot_size)?;
    let crc = meta_crc(META_FORMAT, symbol, &tick, &lot);
    let (s, t, l) = (json_str(symbol), json_str(&tick), json_str(&lot));
    let text = format!(
        "{{\n  \"format\": {META_FORMAT},\n  \"symbol\": {s},\n  \"tick_size\": {t},\n  \"lot_size\": {l},\n  \"crc32\": {crc}\n}}\n"
    );
    Ok(text.into_bytes())
}

/// The checksum of a sidecar's fields (see the module comment).
pub fn meta_crc(format: u64, symbol: &str, tick_size: &str, lot_size: &str) -> u32 {
    let (s, t, l) = (json_str(symbol), json_str(tick_size), json_str(lot_size));
    crc32fast::hash(
        format!("{{\"format\":{format},\"lot_size\":{l},\"symbol\":{s},\"tick_size\":{t}}}").as_bytes(),
    )
}

/// Decodes and checks a sidecar read from `path` (named in errors) for `symbol`: JSON
/// object with exactly the keys of its format, checksum (format 2), symbol, sizes. The
/// sizes returned are canonical.
pub fn decode_meta(bytes: &[u8], symbol: &str, path: &str) -> Result<SymbolMeta, MetaError> {
    let what = format!("{path}: the tick/lot size sidecar of {}", py_repr(symbol));
    let invalid = |m: String| MetaError::Invalid(format!("{what} {m}"));
    let doc: Value = std::str::from_utf8(bytes)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(t).map_err(|e| e.to_string()))
        .map_err(|e| MetaError::Checksum(format!("{what} is not valid JSON: {e}")))?;
    let Value::Object(doc) = doc else { return Err(invalid("must be a JSON object".into())) };
    let format = doc.get("format").and_then(Value::as_u64);
    let legacy = format == Some(1);
    let expected: Vec<&str> = if legacy { FIELDS.to_vec() } else { [&FIELDS[..], &["crc32"]].concat() };
    let mut sorted = expected.clone();
    sorted.sort_unstable();
    if doc.len() != expected.len() || !expected.iter().all(|k| doc.contains_key(*k)) {
        return Err(invalid(format!("must be an object with exactly the keys {}", py_list(&sorted))));
    }
    let format = match format {
        Some(f @ (1 | META_FORMAT)) => f,
        _ => {
            let got = doc.get("format").map(Value::to_string).unwrap_or_default();
            return Err(invalid(format!("has unsupported format {got}")));
        }
    };
    let (Some(got_symbol), Some(tick), Some(lot)) =
        (text(&doc, "symbol"), text(&doc, "tick_size"), text(&doc, "lot_size"))
    else {
        return Err(MetaError::Invalid(format!(
            "{what}: symbol, tick_size and lot_size must be strings (tick_size and lot_size non-empty)"
        )));
    };
    if !legacy {
        let want = meta_crc(format, got_symbol, tick, lot);
        let stored = doc.get("crc32").cloned().unwrap_or(Value::Null);
        if stored.as_u64() != Some(u64::from(want)) {
            return Err(MetaError::Checksum(format!(
                "{what} fails its checksum (crc32 {stored}, content gives {want}): it was changed or damaged, so its tick/lot size cannot be trusted"
            )));
        }
    }
    if got_symbol != symbol {
        return Err(invalid(format!("names another symbol, {}", py_repr(got_symbol))));
    }
    if tick.is_empty() || lot.is_empty() {
        return Err(MetaError::Invalid(format!("{what}: tick_size and lot_size must be non-empty strings")));
    }
    let (tick_size, lot_size) = canonical_grid(tick, lot)
        .map_err(|e| MetaError::Invalid(format!("{what}: invalid tick/lot size: {e}")))?;
    Ok(SymbolMeta { symbol: symbol.to_string(), tick_size, lot_size, checksummed: !legacy })
}

fn text<'a>(doc: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    doc.get(key).and_then(Value::as_str)
}

/// A JSON string as Python's `json.dumps` writes it (`ensure_ascii`): the bytes the
/// checksum covers must match what pinnacle 0.1 wrote for any string.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// A string quoted as Python's `repr` does for plain text ('BTC-USD').
fn py_repr(s: &str) -> String {
    if s.chars().all(|c| (' '..='~').contains(&c) && c != '\'' && c != '\\') {
        format!("'{s}'")
    } else {
        format!("{s:?}")
    }
}

fn py_list(keys: &[&str]) -> String {
    let items: Vec<String> = keys.iter().map(|k| format!("'{k}'")).collect();
    format!("[{}]", items.join(", "))
}
