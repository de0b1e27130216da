//! `pinnacle._core.ShadowBook`: the snapshot pipeline's own copy of a book, fed from the
//! journal file by a read-only reader, so snapshots never pause the trading thread.

use crate::book::PyOrderBook;
use crate::errors::{engine_err, invalid, JournalClosedError};
use numpy::{PyArray1, PyArrayMethods};
use pinnacle_book::{EngineError, ShadowBook};
use pyo3::prelude::*;
use pyo3::types::PyMemoryView;
use std::path::PathBuf;

#[pyclass(name = "ShadowBook", module = "pinnacle._core", frozen)]
pub struct PyShadowBook {
    /// None once closed (the journal reader is released with it).
    inner: parking_lot::Mutex<Option<ShadowBook>>,
}

impl PyShadowBook {
    fn with<T>(&self, f: impl FnOnce(&mut ShadowBook) -> Result<T, EngineError>) -> PyResult<T> {
        match self.inner.lock().as_mut() {
            Some(s) => f(s).map_err(engine_err),
            None => Err(JournalClosedError::new_err("this ShadowBook is closed")),
        }
    }
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
        let (tick, lot) = (base.tick_size(), base.lot_size());
        let shadow =
            py.detach(|| ShadowBook::new(book, &journal_path, from, &tick, &lot)).map_err(engine_err)?;
        Ok(PyShadowBook { inner: parking_lot::Mutex::new(Some(shadow)) })
    }

    /// Applies new journal entries (up to until_seq when given); returns the last seq applied.
    #[pyo3(signature = (until_seq=None))]
    fn catch_up(&self, py: Python<'_>, until_seq: Option<i64>) -> PyResult<u64> {
        let u = until(until_seq)?;
        py.detach(|| self.with(|s| s.catch_up(u)))
    }

    /// Catches up, then encodes: (snapshot, covered seq). The snapshot is a read-only
    /// memoryview over the encoder's own buffer: no copy is made while holding the GIL
    /// (a 1 M-order book is ~40 MiB), so trading threads are not held up.
    #[pyo3(signature = (created_ns=None, until_seq=None))]
    fn snapshot_bytes<'py>(
        &self,
        py: Python<'py>,
        created_ns: Option<i64>,
        until_seq: Option<i64>,
    ) -> PyResult<(Bound<'py, PyMemoryView>, u64)> {
        let u = until(until_seq)?;
        let ts = crate::convert::timestamp(created_ns)?.unwrap_or_else(pinnacle_core::wall_clock_ns);
        let (bytes, seq) = py.detach(|| self.with(|s| s.snapshot_bytes(u, ts)))?;
        let array = PyArray1::from_vec(py, bytes);
        array.readwrite().make_nonwriteable();
        Ok((PyMemoryView::from(array.as_any())?, seq))
    }

    #[getter]
    fn seq(&self) -> PyResult<u64> {
        self.with(|s| Ok(s.seq()))
    }

    /// Releases the journal reader; later calls raise JournalClosedError.
    fn close(&self) {
        self.inner.lock().take();
    }
}
