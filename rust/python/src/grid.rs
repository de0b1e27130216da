//! Python numbers (int, float, str, Decimal) to and from a book's integer ticks/lots: the
//! conversion of Python objects to decimal text lives here, every grid rule in
//! `pinnacle_book::grid`.

use crate::errors::{invalid, type_error};
use pinnacle_book::grid::{self, GridError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid(grid::Grid);

fn refused(e: GridError) -> PyErr {
    invalid(e.to_string())
}

/// A Python number as decimal text (floats by their shortest repr).
pub fn decimal_text(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
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
        grid::Grid::parse(&text, what).map(Grid).map_err(refused)
    }

    /// The step as a canonical decimal string ("0.01", "1", "0.0001").
    pub fn text(self) -> String {
        self.0.text()
    }

    /// `value` in whole steps; refuses a value that is not on the grid.
    #[inline]
    pub fn units_of(self, value: &Bound<'_, PyAny>, what: &str) -> PyResult<i64> {
        if let Ok(f) = value.cast::<PyFloat>() {
            return self.0.units_of_float(f.value(), what).map_err(refused);
        }
        if let Ok(i) = value.cast::<PyInt>() {
            if !value.is_instance_of::<PyBool>() {
                if let Ok(v) = i.extract::<i64>() {
                    return self.0.units_of_int(v, what).map_err(refused);
                }
            }
        }
        let text = decimal_text(value, what)?;
        self.0.units_of_text(&text, what).map_err(refused)
    }

    /// `units` whole steps as an exact decimal string ("100.25", "0.3").
    pub fn format(self, units: i64) -> String {
        self.0.format(units)
    }

    /// Whole steps back to a float.
    #[inline]
    pub fn float_of(self, units: i64) -> f64 {
        self.0.float_of(units)
    }
}

/// The canonical texts of a tick and a lot size, as an `OrderBook` built with them reports
/// its `tick_size` and `lot_size`; validates the grid without building a book.
#[pyfunction]
pub fn canonical_grid(
    tick_size: &Bound<'_, PyAny>,
    lot_size: &Bound<'_, PyAny>,
) -> PyResult<(String, String)> {
    Ok((Grid::parse(tick_size, "tick_size")?.text(), Grid::parse(lot_size, "lot_size")?.text()))
}
