//! Exact decimal grids: a tick or lot size is a positive decimal `mantissa * 10^-scale`
//! (at most [`MAX_SCALE`] decimals), and a price or quantity is a whole number of steps
//! of it. Converting decimal text to steps is exact (no binary floating point) and
//! refuses a value off the grid or outside `i64`; floats are accepted within a relative
//! 1e-9 of a step (their decimal text is rarely exact).
//!
//! The caller turns its own numbers into decimal text first (the Python bindings: int,
//! float, str, Decimal); every rule about what is a valid grid or value lives here.

use std::fmt;

pub use pinnacle_core::decimal::{parse_decimal, Decimal, DecimalError};

/// The most decimals a tick or lot size may have.
pub const MAX_SCALE: u32 = 18;

/// A value the grid refused; the message names what was given and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridError(String);

impl fmt::Display for GridError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GridError {}

/// A tick or lot size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    mantissa: u64,
    scale: u32,
}

impl Grid {
    /// The grid step written as `text`; `what` ("tick_size") names it in the error.
    pub fn parse(text: &str, what: &str) -> Result<Grid, GridError> {
        let bad = || {
            GridError(format!(
                "{what} must be a positive decimal with at most {MAX_SCALE} decimals, got {text}"
            ))
        };
        let d = parse_decimal(text).map_err(|_| bad())?;
        if d.value <= 0 || d.scale > MAX_SCALE {
            return Err(bad());
        }
        Ok(Grid { mantissa: u64::try_from(d.value).map_err(|_| bad())?, scale: d.scale })
    }

    /// The step as a canonical decimal string ("0.01", "1", "0.0001").
    pub fn text(self) -> String {
        fixed_point(i128::from(self.mantissa), self.scale, false)
    }

    /// An integer value in whole steps.
    pub fn units_of_int(self, v: i64, what: &str) -> Result<i64, GridError> {
        self.exact_units(Decimal { value: i128::from(v), scale: 0 }, what, &|| v.to_string())
    }

    /// A value written as decimal text in whole steps.
    pub fn units_of_text(self, text: &str, what: &str) -> Result<i64, GridError> {
        match parse_decimal(text) {
            Ok(d) => self.exact_units(d, what, &|| text.to_string()),
            Err(DecimalError::NotANumber) => Err(GridError(format!("{what} {text} is not a number"))),
            Err(DecimalError::OutOfRange | DecimalError::TooManyDecimals) => {
                Err(GridError(format!("{what} {text} is out of range")))
            }
        }
    }

    fn exact_units(self, d: Decimal, what: &str, text: &dyn Fn() -> String) -> Result<i64, GridError> {
        let out_of_range = || GridError(format!("{what} {} is out of range", text()));
        // v * 10^-s / (m * 10^-t) = v * 10^(t - s) / m. With s > t it is never whole (v has
        // no trailing zero; m * 10^(s - t) does), unless v is 0, whose scale is 0.
        let (num, den) = if self.scale >= d.scale {
            let p = 10i128.pow(self.scale - d.scale);
            (d.value.checked_mul(p).ok_or_else(out_of_range)?, i128::from(self.mantissa))
        } else {
            (d.value, i128::MAX)
        };
        if num % den != 0 {
            return Err(GridError(format!("{what} {} is not a multiple of {}", text(), self.text())));
        }
        i64::try_from(num / den).map_err(|_| out_of_range())
    }

    /// A float value in whole steps: within a relative 1e-9 of one (a float's decimal
    /// expansion is rarely exact), and below 9e18 steps in magnitude.
    pub fn units_of_float(self, v: f64, what: &str) -> Result<i64, GridError> {
        if !v.is_finite() {
            return Err(GridError(format!("{what} must be finite, got {v}")));
        }
        let x = v * 10f64.powi(self.scale as i32) / self.mantissa as f64;
        let r = x.round();
        if (x - r).abs() > 1e-9 * r.abs().max(1.0) {
            return Err(GridError(format!("{what} {v} is not a multiple of {}", self.text())));
        }
        if r.abs() >= 9.0e18 {
            return Err(GridError(format!("{what} {v} is out of range")));
        }
        Ok(r as i64)
    }

    /// `units` whole steps as an exact decimal string ("100.25", "0.3", "-2").
    pub fn format(self, units: i64) -> String {
        fixed_point(i128::from(units) * i128::from(self.mantissa), self.scale, true)
    }

    /// Whole steps back to a float (correctly rounded while units * mantissa < 2^53).
    pub fn float_of(self, units: i64) -> f64 {
        (i128::from(units) * i128::from(self.mantissa)) as f64 / 10f64.powi(self.scale as i32)
    }
}

/// `v * 10^-scale` in decimal, trailing fractional zeros dropped when `trim`.
fn fixed_point(v: i128, scale: u32, trim: bool) -> String {
    let digits = v.unsigned_abs().to_string();
    let s = scale as usize;
    let mut text = if s == 0 {
        digits
    } else {
        let padded = format!("{digits:0>width$}", width = s + 1);
        let (i, f) = padded.split_at(padded.len() - s);
        let f = if trim { f.trim_end_matches('0') } else { f };
        if f.is_empty() {
            i.to_string()
        } else {
            format!("{i}.{f}")
        }
    };
    if v < 0 {
        text.insert(0, '-');
    }
    text
}

/// The canonical texts of a tick and a lot size (what a book built with them reports
/// as its `tick_size` and `lot_size`): validates the grid without building anything.
pub fn canonical_grid(tick_size: &str, lot_size: &str) -> Result<(String, String), GridError> {
    Ok((Grid::parse(tick_size, "tick_size")?.text(), Grid::parse(lot_size, "lot_size")?.text()))
}
