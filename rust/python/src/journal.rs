//! `pinnacle._core.Journal`: argument conversion around `pinnacle_core::Journal`.

use crate::convert::{self, with_payload};
use crate::entry::{entry_array, entry_at, PyEntry, PyRecoveryReport};
use crate::errors::{invalid, IntoPyResult};
use pinnacle_core::{Columns, Journal, JournalOptions, SyncPolicy};
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A memory-mapped, checksummed, append-only journal (see the package docs).
#[pyclass(name = "Journal", module = "pinnacle._core", frozen)]
pub struct PyJournal {
    inner: Arc<Journal>,
    always: bool,
}

impl PyJournal {
    pub fn core(&self) -> &Arc<Journal> {
        &self.inner
    }
}

pub fn options(
    sync: &str,
    sync_interval_ms: i64,
    recovery: &str,
    growth: &str,
    initial_size: i64,
    growth_step: i64,
    max_entry_size: i64,
) -> PyResult<JournalOptions> {
    if !(1..=3_600_000).contains(&sync_interval_ms) {
        return Err(invalid(format!(
            "sync_interval_ms must be between 1 and 3600000, got {sync_interval_ms}"
        )));
    }
    let sync = match sync.parse::<SyncPolicy>().py()? {
        SyncPolicy::Interval(_) => SyncPolicy::Interval(Duration::from_millis(sync_interval_ms as u64)),
        other => other,
    };
    let size = |name: &str, v: i64| {
        u64::try_from(v).map_err(|_| invalid(format!("{name} must be positive, got {v}")))
    };
    Ok(JournalOptions {
        sync,
        recovery: recovery.parse().py()?,
        growth: growth.parse().py()?,
        initial_size: size("initial_size", initial_size)?,
        growth_step: size("growth_step", growth_step)?,
        max_entry_size: u32::try_from(max_entry_size).map_err(|_| {
            invalid(format!("max_entry_size must be between 1 and 1073741824, got {max_entry_size}"))
        })?,
    })
}

#[pymethods]
impl PyJournal {
    #[new]
    #[pyo3(signature = (path, *, sync="none", sync_interval_ms=100, recovery="tolerate_tail", growth="auto",
                        initial_size=1_048_576, growth_step=67_108_864, max_entry_size=16_777_216))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        sync: &str,
        sync_interval_ms: i64,
        recovery: &str,
        growth: &str,
        initial_size: i64,
        growth_step: i64,
        max_entry_size: i64,
    ) -> PyResult<Self> {
        let opts =
            options(sync, sync_interval_ms, recovery, growth, initial_size, growth_step, max_entry_size)?;
        let always = opts.sync == SyncPolicy::Always;
        let inner = py.detach(|| Journal::open(&path, opts)).py()?;
        Ok(PyJournal { inner: Arc::new(inner), always })
    }

    /// Appends one entry; returns its sequence number.
    #[pyo3(signature = (kind, payload, timestamp_ns=None))]
    fn append(
        &self,
        py: Python<'_>,
        kind: i64,
        payload: &Bound<'_, PyAny>,
        timestamp_ns: Option<i64>,
    ) -> PyResult<u64> {
        let kind = convert::kind(kind)?;
        let ts = convert::timestamp(timestamp_ns)?;
        if self.always {
            // Blocks on fdatasync: release the GIL around it.
            let p = convert::Payloads::single(payload, "payload")?;
            return py.detach(|| self.inner.append(kind, p.slices()[0], ts)).py();
        }
        with_payload(payload, "payload", |p| self.inner.append(kind, p, ts))?.py()
    }

    /// Appends many payloads (a list of bytes-like objects, or a 2-D uint8 array with one
    /// row per entry) contiguously; returns (first_seq, last_seq).
    #[pyo3(signature = (kind, payloads, timestamp_ns=None))]
    fn append_many(
        &self,
        py: Python<'_>,
        kind: i64,
        payloads: &Bound<'_, PyAny>,
        timestamp_ns: Option<i64>,
    ) -> PyResult<(u64, u64)> {
        let kind = convert::kind(kind)?;
        let ts = convert::timestamp(timestamp_ns)?;
        let p = convert::payloads(payloads)?;
        if p.len() == 0 {
            return Err(invalid("append_many needs at least one payload"));
        }
        py.detach(|| self.inner.append_batch(kind, &p.slices(), ts)).py()
    }

    /// Journals a checkpoint marker (bytes-like, or an int stored as 8 LE bytes).
    fn checkpoint(&self, py: Python<'_>, marker: &Bound<'_, PyAny>) -> PyResult<u64> {
        let m = convert::marker(marker)?;
        py.detach(|| self.inner.checkpoint(&m)).py()
    }

    /// The newest checkpoint entry still held, as an Entry, or None.
    #[getter]
    fn last_checkpoint(&self, py: Python<'_>) -> PyResult<Option<PyEntry>> {
        let Some((seq, _)) = self.inner.last_checkpoint().py()? else { return Ok(None) };
        let mut c = Columns::default();
        match self.inner.read_into(seq, 1, &mut c) {
            // Compacted away since it was looked up: no checkpoint is held any more.
            Err(pinnacle_core::Error::Compacted { .. }) => return Ok(None),
            r => r.py()?,
        };
        if c.len() == 1 && c.seq[0] == seq {
            return entry_at(py, &c, 0).map(Some);
        }
        Ok(None)
    }

    /// Makes everything appended so far durable.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.flush()).py()
    }

    /// Iterates the entries with seq >= from_seq (entries appended meanwhile included).
    /// from_seq 0 starts at the oldest entry held; a from_seq before it raises
    /// EntriesCompactedError, as does a compaction that overtakes the iteration.
    #[pyo3(signature = (from_seq=0))]
    fn read(&self, from_seq: i64) -> PyResult<EntryIterator> {
        let from =
            u64::try_from(from_seq).map_err(|_| invalid(format!("from_seq must be >= 0, got {from_seq}")))?;
        self.inner.read_into(from, 0, &mut Columns::default()).py()?;
        Ok(EntryIterator {
            journal: self.inner.clone(),
            state: parking_lot::Mutex::new((from, Columns::default(), 0)),
        })
    }

    /// Every entry with seq >= from_seq as a pinnacle.EntryArray of numpy columns (the
    /// payloads back to back: memory in proportion to the data). from_seq as for read.
    #[pyo3(signature = (from_seq=0))]
    fn read_array<'py>(&self, py: Python<'py>, from_seq: i64) -> PyResult<Bound<'py, PyAny>> {
        let from =
            u64::try_from(from_seq).map_err(|_| invalid(format!("from_seq must be >= 0, got {from_seq}")))?;
        let c = py.detach(|| self.inner.read_all(from)).py()?;
        entry_array(py, c)
    }

    /// Drops the entries before keep_from_seq; returns how many were dropped.
    fn compact(&self, py: Python<'_>, keep_from_seq: i64) -> PyResult<u64> {
        let k = u64::try_from(keep_from_seq)
            .map_err(|_| invalid(format!("keep_from_seq must be >= 0, got {keep_from_seq}")))?;
        py.detach(|| self.inner.compact(k)).py()
    }

    #[getter]
    fn first_seq(&self) -> u64 {
        self.inner.first_seq()
    }

    #[getter]
    fn last_seq(&self) -> u64 {
        self.inner.last_seq()
    }

    #[getter]
    fn next_seq(&self) -> u64 {
        self.inner.next_seq()
    }

    #[getter]
    fn entry_count(&self) -> u64 {
        self.inner.entry_count()
    }

    #[getter]
    fn size_bytes(&self) -> u64 {
        self.inner.size_bytes()
    }

    #[getter]
    fn data_bytes(&self) -> u64 {
        self.inner.data_bytes()
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.path().to_path_buf()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    #[getter]
    fn poisoned(&self) -> Option<String> {
        self.inner.poisoned()
    }

    #[getter]
    fn sync(&self) -> &'static str {
        match self.inner.options().sync {
            SyncPolicy::None => "none",
            SyncPolicy::Interval(_) => "interval",
            SyncPolicy::Always => "always",
        }
    }

    #[getter]
    fn recovery_report(&self) -> PyRecoveryReport {
        self.inner.recovery_report().into()
    }

    /// Flushes and releases the file. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.close()).py()
    }

    /// Test hook: release the file as a crash would (no flush, no header update).
    fn _abandon(&self) {
        self.inner.abandon()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _t: Option<&Bound<'_, PyAny>>,
        _v: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __len__(&self) -> usize {
        self.inner.entry_count() as usize
    }

    fn __repr__(&self) -> String {
        format!(
            "Journal({:?}, entries={}, seq={}..{}, closed={})",
            self.inner.path(),
            self.inner.entry_count(),
            self.inner.first_seq(),
            self.inner.last_seq(),
            self.inner.is_closed()
        )
    }
}

/// Iterator over a journal's entries, fetching them in batches.
#[pyclass(module = "pinnacle._core", frozen)]
pub struct EntryIterator {
    journal: Arc<Journal>,
    /// (next seq to fetch, current batch, position in it)
    state: parking_lot::Mutex<(u64, Columns, usize)>,
}

const BATCH: usize = 4096;

#[pymethods]
impl EntryIterator {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyEntry>> {
        let mut st = self.state.lock();
        let (next, batch, pos) = &mut *st;
        if *pos == batch.len() {
            *pos = 0;
            let from = *next;
            let journal = &self.journal;
            let mut fresh = Columns::default();
            py.detach(|| journal.read_into(from, BATCH, &mut fresh)).py()?;
            *batch = fresh;
            if batch.is_empty() {
                return Ok(None);
            }
            *next = batch.seq[batch.len() - 1] + 1;
        }
        let e = entry_at(py, batch, *pos)?;
        *pos += 1;
        Ok(Some(e))
    }
}
