//! The entry-kind registry (`pinnacle_core::kinds`) as Python values: names, numbers and
//! ranges come from Rust only.

use crate::errors::IntoPyResult;
use pinnacle_core::kinds;
use pyo3::prelude::*;
use std::collections::BTreeMap;

/// Every registered entry kind: name → number (`{"checkpoint": 0, "book.op": 1, ...}`).
#[pyfunction]
pub fn entry_kinds() -> BTreeMap<&'static str, u16> {
    kinds::REGISTERED.iter().map(|k| (k.name, k.kind)).collect()
}

/// The reserved kind ranges: name → (first, last), both included.
#[pyfunction]
pub fn kind_ranges() -> BTreeMap<&'static str, (u16, u16)> {
    kinds::RANGES.iter().map(|r| (r.name, (r.first, r.last))).collect()
}

/// A kind's name for people: the registered name, else what its range says about it.
#[pyfunction]
pub fn kind_name(kind: i64) -> PyResult<String> {
    let k = u16::try_from(kind).map_err(|_| {
        pinnacle_core::Error::invalid(format!("an entry kind is between 0 and 65535, got {kind}"))
    });
    Ok(kinds::kind_name(k.py()?))
}
