//! Entries and recovery reports as Python objects, and columns as numpy arrays.

use numpy::{PyArray1, PyArrayMethods};
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

pub fn entry_at(py: Python<'_>, c: &Columns, i: usize) -> PyEntry {
    PyEntry {
        seq: c.seq[i],
        kind: c.kind[i],
        timestamp_ns: c.timestamp_ns[i],
        flags: c.flags[i],
        payload: PyBytes::new(py, c.payload(i)).unbind(),
    }
}

pub fn entry_list(py: Python<'_>, c: &Columns) -> PyResult<Vec<Py<PyEntry>>> {
    (0..c.len()).map(|i| Py::new(py, entry_at(py, c, i))).collect()
}

/// Columns as `pinnacle.EntryArray`: seq, kind, timestamp_ns, flags, length (1-D) and
/// payload (2-D uint8, one zero-padded row per entry).
pub fn entry_array<'py>(py: Python<'py>, c: Columns) -> PyResult<Bound<'py, PyAny>> {
    let n = c.len();
    let (width, lengths, padded) = py.detach(move || {
        let mut lengths: Vec<u32> = Vec::with_capacity(n);
        pinnacle_core::sys::advise_hugepages(&lengths);
        lengths.extend(c.offsets.windows(2).map(|w| (w[1] - w[0]) as u32));
        let (shortest, longest) = lengths.iter().fold((u32::MAX, 0), |(lo, hi), &l| (lo.min(l), hi.max(l)));
        let width = longest as usize;
        let padded = if n == 0 || shortest == longest {
            c.data
        } else {
            let mut p = Vec::with_capacity(n * width);
            pinnacle_core::sys::advise_hugepages(&p);
            p.resize(n * width, 0);
            for (i, row) in p.chunks_exact_mut(width.max(1)).enumerate().take(n) {
                row[..lengths[i] as usize].copy_from_slice(c.payload(i));
            }
            p
        };
        (width, lengths, (padded, c.seq, c.kind, c.timestamp_ns, c.flags))
    });
    let (data, seq, kind, ts, flags) = padded;
    let payload = PyArray1::from_vec(py, data).reshape([n, width])?;
    let cls = py.import("pinnacle._types")?.getattr("EntryArray")?;
    cls.call1((
        PyArray1::from_vec(py, seq),
        PyArray1::from_vec(py, kind),
        PyArray1::from_vec(py, ts),
        PyArray1::from_vec(py, flags),
        PyArray1::from_vec(py, lengths),
        payload,
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
