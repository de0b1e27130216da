//! Exact decimal text: `-12.50`, `1e-8`, `2.5E3` parsed to `value * 10^-scale` with no
//! binary floating point. One parser for every exact number pinnacle reads (the book's
//! tick/lot grid, the ledger's fixed-point amounts); each caller applies its own range.

/// The most decimals a value may have while still being exact in an `i128`.
pub const MAX_VALUE_SCALE: u32 = 38;

/// An exact decimal `value * 10^-scale`, normalised: no trailing zero in `value`, and
/// zero is `(0, 0)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    pub value: i128,
    pub scale: u32,
}

/// Why a text is not a usable decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalError {
    /// Not decimal syntax (`abc`, `.`, `1.2.3`, `NaN`).
    NotANumber,
    /// A decimal, but not representable: more than 38 significant digits, or a magnitude
    /// beyond `i128`.
    OutOfRange,
    /// More than 38 decimals (after trailing zeros are dropped).
    TooManyDecimals,
}

/// Parses decimal text (`-12.50`, `1e-8`, `2.5E3`, surrounding whitespace allowed)
/// exactly. The exponent may be any size: its effect is computed, never looped over.
pub fn parse_decimal(s: &str) -> Result<Decimal, DecimalError> {
    use DecimalError::{NotANumber, OutOfRange, TooManyDecimals};
    let s = s.trim();
    let (body, exp) = match s.split_once(['e', 'E']) {
        Some((body, exp)) => (body, parse_exponent(exp)?),
        None => (s, 0),
    };
    let (neg, body) = match body.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, body.strip_prefix('+').unwrap_or(body)),
    };
    let (int_part, frac) = body.split_once('.').unwrap_or((body, ""));
    let all_digits = int_part.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit());
    if (int_part.is_empty() && frac.is_empty()) || !all_digits {
        return Err(NotANumber);
    }
    // The digits without leading and trailing zeros; `scale` counts the decimals left.
    let digits = format!("{int_part}{frac}");
    let trimmed_end = digits.trim_end_matches('0');
    let significant = trimmed_end.trim_start_matches('0');
    if significant.is_empty() {
        return Ok(Decimal { value: 0, scale: 0 });
    }
    let dropped = (digits.len() - trimmed_end.len()) as i64;
    let scale = frac.len() as i64 - dropped - exp;
    if scale > i64::from(MAX_VALUE_SCALE) {
        return Err(TooManyDecimals);
    }
    if significant.len() > 38 || scale < -38 {
        return Err(OutOfRange);
    }
    let mut value: i128 = significant.parse().map_err(|_| OutOfRange)?;
    if scale < 0 {
        value = 10i128
            .checked_pow(scale.unsigned_abs() as u32)
            .and_then(|p| value.checked_mul(p))
            .ok_or(OutOfRange)?;
    }
    let scale = u32::try_from(scale.max(0)).map_err(|_| OutOfRange)?;
    Ok(Decimal { value: if neg { -value } else { value }, scale })
}

/// An exponent's digits, saturated far beyond any representable decimal (so `1e99999999999`
/// is out of range, not a parse failure, and `0e99999999999` is zero).
fn parse_exponent(e: &str) -> Result<i64, DecimalError> {
    let (neg, digits) = match e.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, e.strip_prefix('+').unwrap_or(e)),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(DecimalError::NotANumber);
    }
    let magnitude = digits.trim_start_matches('0');
    let v = if magnitude.len() > 12 { 1_000_000_000_000 } else { magnitude.parse::<i64>().unwrap_or(0) };
    Ok(if neg { -v } else { v })
}
