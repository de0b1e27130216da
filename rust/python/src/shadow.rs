//! `pinnacle._core.ShadowBook`: the snapshot pipeline's own copy of a book, fed from the
//! journal file by a read-only reader, so snapshots never pause the trading thread.

use crate::book::PyOrderBook;
use crate::convert;
use crate::errors::{engine_err, to_py, JournalClosedError};
use crate::journal::PyJournal;
use numpy::{PyArray1, PyArrayMethods};
use pinnacle_book::{EngineError, ShadowBook};
use pinnacle_core::fork::Owner;
use pyo3::prelude::*;
use pyo3::types::PyMemoryView;
use std::path::PathBuf;

#[pyclass(name = "ShadowBook", module = "pinnacle._core", frozen)]
pub struct PyShadowBook {
    /// None once closed (the journal reader is released with it).
    inner: pinnacle_core::locks::Mutex<Option<ShadowBook>>,
    /// Checked before `inner` is locked: a thread absent from a forked child may hold it.
    owner: Owner,
    path: PathBuf,
}

impl PyShadowBook {
    fn with<T>(&self, f: impl FnOnce(&mut ShadowBook) -> Result<T, EngineError>) -> PyResult<T> {
        self.owner.check(&self.path).map_err(to_py)?;
        match self.inner.lock().as_mut() {
            Some(s) => f(s).map_err(engine_err),
            None => Err(JournalClosedError::new_err("this ShadowBook is closed")),
        }
    }
}

#[pymethods]
impl PyShadowBook {
    /// `base` must hold exactly the state after journal entry `from_seq - 1`; it is copied.
    /// `journal_path` may be the open `Journal` itself: its index then places the reader
    /// (no read of every entry before `from_seq`).
    #[new]
    fn new(
        py: Python<'_>,
        base: &PyOrderBook,
        journal_path: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = convert::from_seq)] from_seq: u64,
    ) -> PyResult<Self> {
        let from = from_seq;
        base.core().check_owner().map_err(engine_err)?;
        let book = base.core().with_book(|b| b.clone());
        let (tick, lot) = (base.tick_size(), base.lot_size());
        let (shadow, path) = if let Ok(j) = journal_path.cast::<PyJournal>() {
            let journal = j.get().core().clone();
            journal.check_owner().map_err(to_py)?;
            let path = journal.path().to_path_buf();
            (py.detach(|| ShadowBook::of_journal(book, &journal, from, &tick, &lot)), path)
        } else {
            let path = convert::journal_path(journal_path)?;
            (py.detach(|| ShadowBook::new(book, &path, from, &tick, &lot)), path)
        };
        let shadow = shadow.map_err(engine_err)?;
        let owner = Owner::current();
        Ok(PyShadowBook { inner: pinnacle_core::locks::Mutex::new(Some(shadow)), owner, path })
    }

    /// Applies new journal entries (up to until_seq when given); returns the last seq applied.
    #[pyo3(signature = (until_seq=None))]
    fn catch_up(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = convert::until_seq)] until_seq: Option<u64>,
    ) -> PyResult<u64> {
        let u = until_seq;
        py.detach(|| self.with(|s| s.catch_up(u)))
    }

    /// Catches up, then encodes: (snapshot, covered seq). The snapshot is a read-only
    /// memoryview over the encoder's own buffer: no copy is made while holding the GIL
    /// (a 1 M-order book is ~40 MiB), so trading threads are not held up.
    #[pyo3(signature = (created_ns=None, until_seq=None))]
    fn snapshot_bytes<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = convert::created_ns)] created_ns: Option<i64>,
        #[pyo3(from_py_with = convert::until_seq)] until_seq: Option<u64>,
    ) -> PyResult<(Bound<'py, PyMemoryView>, u64)> {
        let u = until_seq;
        let ts = created_ns.unwrap_or_else(pinnacle_core::wall_clock_ns);
        let (bytes, seq) = py.detach(|| self.with(|s| s.snapshot_bytes(u, ts)))?;
        let array = PyArray1::from_vec(py, bytes);
        array.readwrite().make_nonwriteable();
        Ok((PyMemoryView::from(array.as_any())?, seq))
    }

    #[getter]
    fn seq(&self) -> PyResult<u64> {
        self.with(|s| Ok(s.seq()))
    }

    /// Releases the journal reader; later calls raise JournalClosedError. In a forked
    /// child it does nothing (the reader stays unusable there).
    fn close(&self) {
        if self.owner.is_current() {
            self.inner.lock().take();
        }
    }
}
