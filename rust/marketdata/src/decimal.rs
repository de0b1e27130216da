//! Exact decimals as scaled integers: "123.450" is (123450, scale 3). The scale of a text
//! is its count of fractional digits; a book keeps one scale per column, the largest seen.

use crate::Error;

/// A non-negative decimal parsed from text: `units / 10^scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scaled {
    pub units: i64,
    pub scale: u32,
}

/// Most fractional digits accepted (10^18 still fits an i64).
pub const MAX_SCALE: u32 = 18;

/// Parses a plain decimal (`[0-9]+(\.[0-9]*)?`); no sign, exponent or spaces.
pub fn parse(text: &str) -> Result<Scaled, String> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err("empty decimal".into());
    }
    let mut units: i64 = 0;
    let mut scale: u32 = 0;
    let mut seen_dot = false;
    let mut digits = 0usize;
    for &c in bytes {
        match c {
            b'0'..=b'9' => {
                units = units
                    .checked_mul(10)
                    .and_then(|u| u.checked_add(i64::from(c - b'0')))
                    .ok_or_else(|| format!("decimal {text:?} is too large"))?;
                digits += 1;
                if seen_dot {
                    scale += 1;
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => return Err(format!("{text:?} is not a plain decimal")),
        }
    }
    if digits == 0 {
        return Err(format!("{text:?} has no digits"));
    }
    if scale > MAX_SCALE {
        return Err(format!("{text:?} has more than {MAX_SCALE} fractional digits"));
    }
    Ok(Scaled { units, scale })
}

/// `units` at `from` expressed at scale `to` (`to >= from`), or None on overflow.
pub fn rescale(units: i64, from: u32, to: u32) -> Option<i64> {
    let k = to.checked_sub(from)?;
    10i64.checked_pow(k).and_then(|f| units.checked_mul(f))
}

/// Canonical text of `units / 10^scale`: no trailing fractional zeros, no trailing dot.
/// Equal values print equally whatever their scale (checksums depend on it).
pub fn format(units: i64, scale: u32) -> String {
    let digits = units.unsigned_abs().to_string();
    let sign = if units < 0 { "-" } else { "" };
    let scale = scale as usize;
    let (int, frac) = if digits.len() > scale {
        let (i, f) = digits.split_at(digits.len() - scale);
        (i.to_string(), f.to_string())
    } else {
        ("0".to_string(), format!("{}{}", "0".repeat(scale - digits.len()), digits))
    };
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

pub(crate) fn parse_at(text: &str, what: &str) -> Result<Scaled, Error> {
    parse(text).map_err(|e| Error::Data(format!("{what}: {e}")))
}
