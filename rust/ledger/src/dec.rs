//! Exact fixed-point decimals: `mantissa * 10^-18` in an `i128` (|value| < 1.7e20).
//!
//! Parsing is exact (no binary floating point) and refuses more than 18 decimals; sums
//! and differences are exact and overflow-checked; a product or quotient is computed
//! exactly in 256 bits and rounded half-to-even at the 18th decimal (the only rounding
//! there is: prices and quantities with up to 9 decimals multiply exactly). Overflow is
//! always a refusal, never a wrap.

use ethnum::I256;
use pinnacle_core::decimal::{parse_decimal, DecimalError};
use std::fmt;

/// Decimals kept.
pub const SCALE: u32 = 18;
const ONE: i128 = 1_000_000_000_000_000_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dec(i128);

/// Why a decimal operation has no result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecError {
    NotANumber,
    TooManyDecimals,
    Overflow,
    DivisionByZero,
}

impl fmt::Display for DecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecError::NotANumber => "not a decimal number",
            DecError::TooManyDecimals => "more than 18 decimals",
            DecError::Overflow => "out of range (overflow)",
            DecError::DivisionByZero => "division by zero",
        })
    }
}

impl Dec {
    pub const ZERO: Dec = Dec(0);

    pub const fn from_mantissa(m: i128) -> Dec {
        Dec(m)
    }
    pub const fn mantissa(self) -> i128 {
        self.0
    }
    pub fn from_int(v: i64) -> Dec {
        Dec(i128::from(v) * ONE)
    }
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
    pub fn signum(self) -> i32 {
        self.0.signum() as i32
    }
    pub fn abs(self) -> Dec {
        // |i128::MIN| never occurs: every constructor stays within ±i128::MAX.
        Dec(self.0.saturating_abs())
    }
    pub fn negated(self) -> Dec {
        Dec(self.0.saturating_neg())
    }

    /// Parses decimal text (`-12.50`, `1e-8`, `2.5E3`; surrounding whitespace allowed)
    /// with the one exact parser (`pinnacle_core::decimal`), then scales it to 18 places.
    pub fn parse(text: &str) -> Result<Dec, DecError> {
        let d = parse_decimal(text).map_err(|e| match e {
            DecimalError::NotANumber => DecError::NotANumber,
            DecimalError::TooManyDecimals => DecError::TooManyDecimals,
            DecimalError::OutOfRange => DecError::Overflow,
        })?;
        let Some(shift) = SCALE.checked_sub(d.scale) else {
            return Err(DecError::TooManyDecimals);
        };
        10i128.checked_pow(shift).and_then(|p| d.value.checked_mul(p)).map(Dec).ok_or(DecError::Overflow)
    }

    pub fn checked_add(self, o: Dec) -> Result<Dec, DecError> {
        self.0.checked_add(o.0).filter(|v| *v != i128::MIN).map(Dec).ok_or(DecError::Overflow)
    }
    pub fn checked_sub(self, o: Dec) -> Result<Dec, DecError> {
        self.0.checked_sub(o.0).filter(|v| *v != i128::MIN).map(Dec).ok_or(DecError::Overflow)
    }
    /// `self * o`, rounded half-to-even at the 18th decimal.
    pub fn checked_mul(self, o: Dec) -> Result<Dec, DecError> {
        round_div(I256::from(self.0) * I256::from(o.0), I256::from(ONE))
    }
    /// `self / o`, rounded half-to-even at the 18th decimal.
    pub fn checked_div(self, o: Dec) -> Result<Dec, DecError> {
        if o.0 == 0 {
            return Err(DecError::DivisionByZero);
        }
        round_div(I256::from(self.0) * I256::from(ONE), I256::from(o.0))
    }
    /// `(a * b + c * d) / e`, with one rounding (the average-cost update).
    pub fn weighted(a: Dec, b: Dec, c: Dec, d: Dec, e: Dec) -> Result<Dec, DecError> {
        if e.0 == 0 {
            return Err(DecError::DivisionByZero);
        }
        let num = I256::from(a.0) * I256::from(b.0) + I256::from(c.0) * I256::from(d.0);
        round_div(num, I256::from(e.0))
    }

    /// Canonical text: no exponent, trailing fractional zeros dropped ("0.25", "-3", "0").
    pub fn text(self) -> String {
        let digits = self.0.unsigned_abs().to_string();
        let padded = format!("{digits:0>19}");
        let (i, f) = padded.split_at(padded.len() - SCALE as usize);
        let f = f.trim_end_matches('0');
        let sign = if self.0 < 0 { "-" } else { "" };
        if f.is_empty() {
            format!("{sign}{i}")
        } else {
            format!("{sign}{i}.{f}")
        }
    }
}

/// `num / den` rounded half-to-even, refused when outside the representable range.
fn round_div(num: I256, den: I256) -> Result<Dec, DecError> {
    let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
    let q = num / den;
    let r = num % den;
    let twice = r.abs() * 2;
    let away = twice > den || (twice == den && q % 2 != 0);
    let q = if away { q + num.signum() } else { q };
    let v = i128::try_from(q).map_err(|_| DecError::Overflow)?;
    if v == i128::MIN {
        return Err(DecError::Overflow);
    }
    Ok(Dec(v))
}

impl fmt::Display for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        Dec::parse(s).unwrap()
    }

    #[test]
    fn parses_and_prints_exactly() {
        assert_eq!(d("64000.5").text(), "64000.5");
        assert_eq!(d("-0.000000000000000001").text(), "-0.000000000000000001");
        assert_eq!(d("2.5E3").text(), "2500");
        assert_eq!(d(" 1e-8 ").text(), "0.00000001");
        assert_eq!(d("-0").text(), "0");
        assert_eq!(Dec::parse("1e-19"), Err(DecError::TooManyDecimals));
        assert_eq!(Dec::parse("0.0000000000000000001"), Err(DecError::TooManyDecimals));
        assert_eq!(Dec::parse("1e21"), Err(DecError::Overflow));
        assert_eq!(Dec::parse("abc"), Err(DecError::NotANumber));
        assert_eq!(Dec::parse("."), Err(DecError::NotANumber));
        assert_eq!(Dec::parse("NaN"), Err(DecError::NotANumber));
    }

    #[test]
    fn arithmetic_is_exact_or_rounded_half_even_and_overflow_refuses() {
        assert_eq!(d("0.1").checked_add(d("0.2")).unwrap(), d("0.3"));
        assert_eq!(d("64000.5").checked_mul(d("0.25")).unwrap(), d("16000.125"));
        assert_eq!(d("1").checked_div(d("3")).unwrap(), d("0.333333333333333333"));
        assert_eq!(d("2").checked_div(d("3")).unwrap(), d("0.666666666666666667"));
        // half-even: 0.5e-18 rounds to 0, 1.5e-18 to 2e-18
        assert_eq!(d("0.000000000000000001").checked_div(d("2")).unwrap(), Dec::ZERO);
        assert_eq!(d("0.000000000000000003").checked_div(d("2")).unwrap(), d("0.000000000000000002"));
        assert_eq!(d("-0.000000000000000003").checked_div(d("2")).unwrap(), d("-0.000000000000000002"));
        let big = d("100000000000000000000");
        assert_eq!(big.checked_mul(big), Err(DecError::Overflow));
        assert_eq!(big.checked_add(big), Err(DecError::Overflow));
        assert_eq!(d("1").checked_div(Dec::ZERO), Err(DecError::DivisionByZero));
    }
}
