//! `pinnacle._core.JournalReader`: a read-only tail of a journal another process writes.

use crate::convert;
use crate::entry::{entry_list, PyEntry};
use crate::errors::{invalid, IntoPyResult};
use pinnacle_core::fork::Owner;
use pinnacle_core::{Columns, JournalReader};
use pyo3::prelude::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[pyclass(name = "JournalReader", module = "pinnacle._core", frozen)]
pub struct PyJournalReader {
    inner: pinnacle_core::locks::Mutex<Option<JournalReader>>,
    path: PathBuf,
    /// Checked before `inner` is locked: a thread absent from a forked child may hold it
    /// (readers hold no flock, but the rule is the same for every handle).
    owner: Owner,
}

impl PyJournalReader {
    fn with<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut JournalReader) -> pinnacle_core::Result<T> + Send,
    ) -> PyResult<T> {
        self.owner.check(&self.path).py()?;
        py.detach(|| {
            let mut guard = self.inner.lock();
            match guard.as_mut() {
                Some(r) => f(r),
                None => Err(pinnacle_core::Error::Closed { path: self.path.clone(), reason: None }),
            }
        })
        .py()
    }
}

#[pymethods]
impl PyJournalReader {
    #[new]
    #[pyo3(signature = (path, from_seq=0))]
    fn new(
        py: Python<'_>,
        #[pyo3(from_py_with = convert::path)] path: PathBuf,
        #[pyo3(from_py_with = convert::from_seq)] from_seq: u64,
    ) -> PyResult<Self> {
        let r = py.detach(|| JournalReader::open(&path, from_seq)).py()?;
        Ok(PyJournalReader {
            inner: pinnacle_core::locks::Mutex::new(Some(r)),
            path,
            owner: Owner::current(),
        })
    }

    /// The complete entries appended since the last call (at most max_entries).
    #[pyo3(signature = (max_entries=None))]
    fn poll(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = convert::max_entries)] max_entries: Option<usize>,
    ) -> PyResult<Vec<Py<PyEntry>>> {
        let max = max_entries.unwrap_or(usize::MAX);
        let c = self.with(py, |r| {
            let mut c = Columns::default();
            r.poll(max, &mut c).map(|_| c)
        })?;
        entry_list(py, &c)
    }

    /// Like poll, but waits up to timeout_s seconds for at least one entry; [] on timeout.
    /// A timeout too large for the clock (inf included) waits until an entry arrives.
    #[pyo3(signature = (timeout_s, max_entries=None))]
    fn wait(
        &self,
        py: Python<'_>,
        timeout_s: f64,
        #[pyo3(from_py_with = convert::max_entries)] max_entries: Option<usize>,
    ) -> PyResult<Vec<Py<PyEntry>>> {
        if timeout_s.is_nan() || timeout_s < 0.0 {
            return Err(invalid(format!("timeout_s must be a number >= 0, got {timeout_s}")));
        }
        let max = max_entries.unwrap_or(usize::MAX);
        // None (wait until an entry arrives) when the timeout exceeds what a Duration or
        // the clock can hold: past ~584 billion years no caller can tell the difference.
        let deadline =
            Duration::try_from_secs_f64(timeout_s).ok().and_then(|t| Instant::now().checked_add(t));
        // Wait in short slices so Ctrl-C (a pending signal) is seen promptly.
        const SLICE: Duration = Duration::from_millis(100);
        loop {
            let slice = deadline.map_or(SLICE, |d| d.saturating_duration_since(Instant::now()).min(SLICE));
            let c = self.with(py, |r| {
                let mut c = Columns::default();
                r.wait(slice, max, &mut c).map(|_| c)
            })?;
            if !c.is_empty() || deadline.is_some_and(|d| Instant::now() >= d) {
                return entry_list(py, &c);
            }
            py.check_signals()?;
        }
    }

    /// The sequence number the next returned entry will have.
    #[getter]
    fn next_seq(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |r| Ok(r.next_seq()))
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    fn close(&self) {
        if self.owner.is_current() {
            self.inner.lock().take();
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        _t: Option<&Bound<'_, PyAny>>,
        _v: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> bool {
        self.close();
        false
    }
}
