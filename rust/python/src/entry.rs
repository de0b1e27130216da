//! Entries and recovery reports as Python objects, and columns as numpy arrays.

use crate::errors::{invalid, IntoPyResult};
use numpy::PyArray1;
use pinnacle_core::{Columns, RecoveryReport, FLAG_CHECKPOINT};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// One journal entry. `payload` is a copy: it stays valid whatever the journal does next.
#[pyclass(name = "Entry", module = "pinnacle._core", frozen, get_all)]
pub struct PyEntry {
    pub seq: u64,
    pub kind: u16,
    pub timestamp_ns: i64,
    pub flags: u16,
    pub payload: Py<PyBytes>,
}

#[pymethods]
impl PyEntry {
    /// True for an entry written by `Journal.checkpoint`.
    #[getter]
    fn is_checkpoint(&self) -> bool {
        self.flags & FLAG_CHECKPOINT != 0
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let n = self.payload.bind(py).as_bytes().len();
        format!(
            "Entry(seq={}, kind={}, timestamp_ns={}, flags={}, payload=<{n} bytes>)",
            self.seq, self.kind, self.timestamp_ns, self.flags
        )
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> bool {
        let Ok(o) = other.cast::<PyEntry>() else { return false };
        let o = o.get();
        (self.seq, self.kind, self.timestamp_ns, self.flags) == (o.seq, o.kind, o.timestamp_ns, o.flags)
            && self.payload.bind(py).as_bytes() == o.payload.bind(py).as_bytes()
    }
}

/// A `bytes` copy of `data`; a failed allocation is `MemoryError` (payloads are sized by
/// the file, up to 1 GiB), where `PyBytes::new` would panic.
pub fn bytes_copy<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    // A slice is never longer than isize::MAX bytes, so the length converts exactly.
    // SAFETY: the pointer and length describe `data`, which CPython copies; the result is
    // a new reference (or NULL with an exception set, which becomes the Err).
    unsafe {
        let ptr = pyo3::ffi::PyBytes_FromStringAndSize(data.as_ptr().cast(), data.len() as isize);
        Ok(Bound::from_owned_ptr_or_err(py, ptr)?.cast_into_unchecked())
    }
}

pub fn entry_at(py: Python<'_>, c: &Columns, i: usize) -> PyResult<PyEntry> {
    let e = c.row(i).ok_or_else(|| invalid(format!("entry {i} out of range ({} read)", c.len())))?;
    Ok(PyEntry {
        seq: e.seq,
        kind: e.kind,
        timestamp_ns: e.timestamp_ns,
        flags: e.flags,
        payload: bytes_copy(py, e.payload)?.unbind(),
    })
}

pub fn entry_list(py: Python<'_>, c: &Columns) -> PyResult<Vec<Py<PyEntry>>> {
    (0..c.len()).map(|i| Py::new(py, entry_at(py, c, i)?)).collect()
}

/// Columns as `pinnacle.EntryArray`: seq, kind, timestamp_ns, flags, length (one per
/// entry), offsets (one more) and data (every payload back to back). Memory is the
/// columns' own plus 4 bytes per entry: nothing is padded here (`EntryArray.payload`
/// builds the padded 2-D form on demand, in Python).
pub fn entry_array<'py>(py: Python<'py>, c: Columns) -> PyResult<Bound<'py, PyAny>> {
    let n = c.len();
    let lengths = py
        .detach(|| {
            let mut lengths: Vec<u32> = Vec::new();
            pinnacle_core::Error::reserve(&mut lengths, n, "the length column")?;
            pinnacle_core::sys::advise_hugepages(&lengths);
            // A payload is at most 1 GiB (MAX_PAYLOAD_LIMIT), so its length fits a u32.
            lengths.extend(c.offsets.iter().zip(c.offsets.iter().skip(1)).map(|(a, b)| (b - a) as u32));
            Ok(lengths)
        })
        .py()?;
    let cls = py.import("pinnacle._types")?.getattr("EntryArray")?;
    cls.call1((
        PyArray1::from_vec(py, c.seq),
        PyArray1::from_vec(py, c.kind),
        PyArray1::from_vec(py, c.timestamp_ns),
        PyArray1::from_vec(py, c.flags),
        PyArray1::from_vec(py, lengths),
        PyArray1::from_vec(py, c.offsets),
        PyArray1::from_vec(py, c.data),
    ))
}

/// What opening a journal found and did.
#[pyclass(name = "RecoveryReport", module = "pinnacle._core", frozen)]
pub struct PyRecoveryReport {
    #[pyo3(get)]
    pub mode: String,
    #[pyo3(get)]
    pub entries: u64,
    #[pyo3(get)]
    pub first_seq: u64,
    #[pyo3(get)]
    pub last_seq: u64,
    #[pyo3(get)]
    pub end_offset: u64,
    #[pyo3(get)]
    pub tail_cut_offset: Option<u64>,
    #[pyo3(get)]
    pub tail_cut_reason: Option<String>,
    #[pyo3(get)]
    pub truncated_bytes: u64,
    #[pyo3(get)]
    pub dropped_entries: u64,
    #[pyo3(get)]
    pub skipped_ranges: Vec<(u64, u64, String)>,
    #[pyo3(get)]
    pub header_repaired: Option<String>,
    #[pyo3(get)]
    pub scanned_bytes: u64,
    #[pyo3(get)]
    pub duration_s: f64,
    #[pyo3(get)]
    pub clean: bool,
    summary_text: String,
}

impl From<RecoveryReport> for PyRecoveryReport {
    fn from(r: RecoveryReport) -> Self {
        PyRecoveryReport {
            mode: r.mode.to_string(),
            entries: r.entries,
            first_seq: r.first_seq,
            last_seq: r.last_seq,
            end_offset: r.end_offset,
            tail_cut_offset: r.tail_cut.map(|t| t.0),
            tail_cut_reason: r.tail_cut.map(|t| t.1.to_string()),
            truncated_bytes: r.truncated_bytes,
            dropped_entries: r.dropped_entries,
            skipped_ranges: r.skipped.iter().map(|s| (s.start, s.end, s.reason.to_string())).collect(),
            header_repaired: r.header_repaired.map(str::to_string),
            scanned_bytes: r.scanned_bytes,
            duration_s: r.duration.as_secs_f64(),
            clean: r.is_clean(),
            summary_text: r.summary(),
        }
    }
}

#[pymethods]
impl PyRecoveryReport {
    /// One line saying what recovery found and did.
    fn summary(&self) -> String {
        self.summary_text.clone()
    }

    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("mode", &self.mode)?;
        d.set_item("entries", self.entries)?;
        d.set_item("first_seq", self.first_seq)?;
        d.set_item("last_seq", self.last_seq)?;
        d.set_item("end_offset", self.end_offset)?;
        d.set_item("tail_cut_offset", self.tail_cut_offset)?;
        d.set_item("tail_cut_reason", &self.tail_cut_reason)?;
        d.set_item("truncated_bytes", self.truncated_bytes)?;
        d.set_item("dropped_entries", self.dropped_entries)?;
        d.set_item("skipped_ranges", self.skipped_ranges.clone())?;
        d.set_item("header_repaired", &self.header_repaired)?;
        d.set_item("scanned_bytes", self.scanned_bytes)?;
        d.set_item("duration_s", self.duration_s)?;
        d.set_item("clean", self.clean)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!("RecoveryReport({})", self.summary_text)
    }
}
