//! Exact conversion between user prices/quantities (int, float, str, Decimal) and the
//! book's integer ticks/lots. A grid step is a positive decimal `mantissa * 10^-scale`.

use crate::errors::{invalid, type_error};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString};

const MAX_SCALE: u32 = 18;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    mantissa: u64,
    scale: u32,
}

/// A decimal string parsed exactly: value = digits * 10^-scale.
fn parse_decimal(s: &str) -> Option<(i128, u32)> {
    let s = s.trim();
    let (body, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (neg, body) = match body.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, body.strip_prefix('+').unwrap_or(body)),
    };
    let (int_part, frac) = body.split_once('.').unwrap_or((body, ""));
    if int_part.is_empty() && frac.is_empty()
        || !(int_part.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let digits: String = format!("{int_part}{frac}");
    let significant = digits.trim_start_matches('0');
    let mut value: i128 = if significant.is_empty() { 0 } else { significant.parse().ok()? };
    let mut scale = i32::try_from(frac.len()).ok()?.checked_sub(exp)?;
    while scale < 0 {
        value = value.checked_mul(10)?;
        scale += 1;
    }
    while scale > 0 && value != 0 && value % 10 == 0 {
        value /= 10;
        scale -= 1;
    }
    if value == 0 {
        scale = 0;
    }
    let scale = u32::try_from(scale).ok()?;
    (scale <= 38).then_some((if neg { -value } else { value }, scale))
}

fn decimal_text(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    if obj.is_instance_of::<PyBool>() {
        return Err(type_error(format!("{what} must be a number, not bool")));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        if !v.is_finite() {
            return Err(invalid(format!("{what} must be finite, got {v}")));
        }
        return Ok(format!("{v}"));
    }
    // str() of an int beyond sys.get_int_max_str_digits() raises ValueError: out of range.
    let text = |o: &Bound<'_, PyAny>| {
        o.str().map(|s| s.to_string()).map_err(|_| invalid(format!("{what} is out of range")))
    };
    if obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyString>() {
        return text(obj);
    }
    let ty = obj.get_type().name()?.to_string();
    if ty == "Decimal" {
        return text(obj);
    }
    if let Ok(v) = obj.extract::<f64>() {
        return Ok(format!("{v}"));
    }
    Err(type_error(format!("{what} must be an int, float, str or Decimal, not {ty}")))
}

impl Grid {
    pub fn parse(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Grid> {
        let text = decimal_text(obj, what)?;
        let bad = || {
            invalid(format!(
                "{what} must be a positive decimal with at most {MAX_SCALE} decimals, got {text}"
            ))
        };
        let (v, scale) = parse_decimal(&text).ok_or_else(bad)?;
        if v <= 0 || scale > MAX_SCALE {
            return Err(bad());
        }
        Ok(Grid { mantissa: u64::try_from(v).map_err(|_| bad())?, scale })
    }

    /// The step as a canonical decimal string ("0.01", "1", "0.0001").
    pub fn text(self) -> String {
        let digits = self.mantissa.to_string();
        let s = self.scale as usize;
        if s == 0 {
            return digits;
        }
        let padded = format!("{digits:0>width$}", width = s + 1);
        let (i, f) = padded.split_at(padded.len() - s);
        format!("{i}.{f}")
    }

    /// `value` in whole steps; refuses a value that is not on the grid.
    pub fn units_of(self, value: &Bound<'_, PyAny>, what: &str) -> PyResult<i64> {
        if let Ok(f) = value.cast::<PyFloat>() {
            return self.float_units(f.value(), what);
        }
        if let Ok(i) = value.cast::<PyInt>() {
            if !value.is_instance_of::<PyBool>() {
                if let Ok(v) = i.extract::<i64>() {
                    return self.exact_units(v as i128, 0, what, &v.to_string());
                }
            }
        }
        let text = decimal_text(value, what)?;
        let (v, scale) =
            parse_decimal(&text).ok_or_else(|| invalid(format!("{what} {text} is not a number")))?;
        self.exact_units(v, scale, what, &text)
    }

    fn exact_units(self, v: i128, scale: u32, what: &str, text: &str) -> PyResult<i64> {
        // v * 10^-scale / (mantissa * 10^-self.scale) = v * 10^(self.scale - scale) / mantissa
        let (num, den) = if self.scale >= scale {
            (v.checked_mul(10i128.pow(self.scale - scale)), self.mantissa as i128)
        } else {
            (
                Some(v),
                (self.mantissa as i128)
                    .checked_mul(10i128.pow((scale - self.scale).min(38)))
                    .unwrap_or(i128::MAX),
            )
        };
        let num = num.ok_or_else(|| invalid(format!("{what} {text} is out of range")))?;
        if num % den != 0 {
            return Err(invalid(format!("{what} {text} is not a multiple of {}", self.text())));
        }
        i64::try_from(num / den).map_err(|_| invalid(format!("{what} {text} is out of range")))
    }

    fn float_units(self, v: f64, what: &str) -> PyResult<i64> {
        if !v.is_finite() {
            return Err(invalid(format!("{what} must be finite, got {v}")));
        }
        let x = v * 10f64.powi(self.scale as i32) / self.mantissa as f64;
        let r = x.round();
        if (x - r).abs() > 1e-9 * r.abs().max(1.0) {
            return Err(invalid(format!("{what} {v} is not a multiple of {}", self.text())));
        }
        if r.abs() >= 9.0e18 {
            return Err(invalid(format!("{what} {v} is out of range")));
        }
        Ok(r as i64)
    }

    /// `units` whole steps as an exact decimal string ("100.25", "0.3").
    pub fn format(self, units: i64) -> String {
        let v = units as i128 * self.mantissa as i128;
        let (neg, digits) = (v < 0, v.unsigned_abs().to_string());
        let s = self.scale as usize;
        let text = if s == 0 {
            digits
        } else {
            let padded = format!("{digits:0>width$}", width = s + 1);
            let (i, f) = padded.split_at(padded.len() - s);
            let f = f.trim_end_matches('0');
            if f.is_empty() {
                i.to_string()
            } else {
                format!("{i}.{f}")
            }
        };
        if neg {
            format!("-{text}")
        } else {
            text
        }
    }

    /// Whole steps back to a float (correctly rounded while units * mantissa < 2^53).
    pub fn float_of(self, units: i64) -> f64 {
        (units as i128 * self.mantissa as i128) as f64 / 10f64.powi(self.scale as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_decimal;

    #[test]
    fn decimals_parse_exactly() {
        assert_eq!(parse_decimal("0.01"), Some((1, 2)));
        assert_eq!(parse_decimal("100.2500"), Some((10025, 2)));
        assert_eq!(parse_decimal("1e-8"), Some((1, 8)));
        assert_eq!(parse_decimal("2.5E3"), Some((2500, 0)));
        assert_eq!(parse_decimal("-3"), Some((-3, 0)));
        assert_eq!(parse_decimal("0"), Some((0, 0)));
        assert_eq!(parse_decimal("abc"), None);
        assert_eq!(parse_decimal("."), None);
        assert_eq!(parse_decimal("1.2.3"), None);
        assert_eq!(parse_decimal("1e-2147483648"), None);
        assert_eq!(parse_decimal("1e2147483647"), None);
    }
}
