//! `pinnacle._core.ShadowBook`: the snapshot pipeline's own copy of a book, fed from the
//! journal file by a read-only reader, so snapshots never pause the trading thread.

use crate::book::PyOrderBook;
use crate::errors::{engine_err, invalid};
use pinnacle_book::ShadowBook;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;

#[pyclass(name = "ShadowBook", module = "pinnacle._core", frozen)]
pub struct PyShadowBook {
    inner: parking_lot::Mutex<ShadowBook>,
}

fn until(v: Option<i64>) -> PyResult<Option<u64>> {
    v.map(|s| u64::try_from(s).map_err(|_| invalid(format!("until_seq must be >= 0, got {s}")))).transpose()
}

#[pymethods]
impl PyShadowBook {
    /// `base` must hold exactly the state after journal entry `from_seq - 1`; it is copied.
    #[new]
    fn new(py: Python<'_>, base: &PyOrderBook, journal_path: PathBuf, from_seq: i64) -> PyResult<Self> {
        let from =
            u64::try_from(from_seq).map_err(|_| invalid(format!("from_seq must be >= 0, got {from_seq}")))?;
        let book = base.core().with_book(|b| b.clone());
        let shadow = py.detach(|| ShadowBook::new(book, &journal_path, from)).map_err(engine_err)?;
        Ok(PyShadowBook { inner: parking_lot::Mutex::new(shadow) })
    }

    /// Applies new journal entries (up to until_seq when given); returns the last seq applied.
    #[pyo3(signature = (until_seq=None))]
    fn catch_up(&self, py: Python<'_>, until_seq: Option<i64>) -> PyResult<u64> {
        let u = until(until_seq)?;
        py.detach(|| self.inner.lock().catch_up(u)).map_err(engine_err)
    }

    /// Catches up, then encodes: (snapshot bytes, covered seq).
    #[pyo3(signature = (created_ns=None, until_seq=None))]
    fn snapshot_bytes<'py>(
        &self,
        py: Python<'py>,
        created_ns: Option<i64>,
        until_seq: Option<i64>,
    ) -> PyResult<(Bound<'py, PyBytes>, u64)> {
        let u = until(until_seq)?;
        let ts = crate::convert::timestamp(created_ns)?.unwrap_or_else(pinnacle_core::wall_clock_ns);
        let (bytes, seq) = py.detach(|| self.inner.lock().snapshot_bytes(u, ts)).map_err(engine_err)?;
        Ok((PyBytes::new(py, &bytes), seq))
    }

    #[getter]
    fn seq(&self) -> u64 {
        self.inner.lock().seq()
    }
}
