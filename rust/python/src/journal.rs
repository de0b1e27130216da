//! `pinnacle._core.Journal`: argument conversion around `pinnacle_core::Journal`.

use crate::convert::{self, with_payload};
use crate::entry::{entry_array, entry_at, PyEntry, PyRecoveryReport};
use crate::errors::{invalid, journal_id_text, IntoPyResult};
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

    /// ForkedHandleError in a forked child, before anything takes a lock.
    fn owned(&self) -> PyResult<()> {
        self.inner.check_owner().py()
    }

    /// Direct appends to a journal an order book writes would make it unrecoverable.
    fn check_unowned(&self) -> PyResult<()> {
        if self.inner.is_claimed() {
            return Err(invalid(format!(
                "{} journals an order book: only the book appends to it (a foreign entry would make \
                 its recovery fail); append your own records to a separate Journal",
                self.inner.path().display()
            )));
        }
        Ok(())
    }
}

pub fn options(
    sync: &str,
    sync_interval_ms: u64,
    recovery: &str,
    growth: &str,
    initial_size: u64,
    growth_step: u64,
    max_entry_size: u32,
) -> PyResult<JournalOptions> {
    let sync = match sync.parse::<SyncPolicy>().py()? {
        SyncPolicy::Interval(_) => SyncPolicy::Interval(Duration::from_millis(sync_interval_ms)),
        other => other,
    };
    Ok(JournalOptions {
        sync,
        recovery: recovery.parse().py()?,
        growth: growth.parse().py()?,
        initial_size,
        growth_step,
        max_entry_size,
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
        #[pyo3(from_py_with = convert::path)] path: PathBuf,
        #[pyo3(from_py_with = convert::sync)] sync: &'static str,
        #[pyo3(from_py_with = convert::sync_interval_ms)] sync_interval_ms: u64,
        #[pyo3(from_py_with = convert::recovery)] recovery: &'static str,
        #[pyo3(from_py_with = convert::growth)] growth: &'static str,
        #[pyo3(from_py_with = convert::initial_size)] initial_size: u64,
        #[pyo3(from_py_with = convert::growth_step)] growth_step: u64,
        #[pyo3(from_py_with = convert::max_entry_size)] max_entry_size: u32,
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
        #[pyo3(from_py_with = convert::kind)] kind: u16,
        payload: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<u64> {
        self.owned()?;
        let ts = timestamp_ns;
        self.check_unowned()?;
        if self.always {
            // Blocks on fdatasync: release the GIL around it.
            let p = convert::Payloads::single(payload, "payload")?;
            let data = p.first()?;
            return py.detach(|| self.inner.append(kind, data, ts)).py();
        }
        with_payload(payload, "payload", |p| self.inner.append(kind, p, ts))?.py()
    }

    /// Appends many payloads (a list of bytes-like objects, or a 2-D uint8 array with one
    /// row per entry) contiguously; returns (first_seq, last_seq).
    #[pyo3(signature = (kind, payloads, timestamp_ns=None))]
    fn append_many(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = convert::kind)] kind: u16,
        payloads: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<(u64, u64)> {
        self.owned()?;
        let ts = timestamp_ns;
        self.check_unowned()?;
        let p = convert::payloads(payloads)?;
        if p.len() == 0 {
            return Err(invalid("payloads must not be empty: append_many needs at least one payload"));
        }
        py.detach(|| self.inner.append_batch(kind, &p.slices(), ts)).py()
    }

    /// Journals a checkpoint marker (bytes-like, or an int stored as 8 LE bytes).
    fn checkpoint(&self, py: Python<'_>, marker: &Bound<'_, PyAny>) -> PyResult<u64> {
        self.owned()?;
        let m = convert::marker(marker)?;
        py.detach(|| self.inner.checkpoint(&m)).py()
    }

    /// The newest checkpoint entry still held, as an Entry, or None.
    #[getter]
    fn last_checkpoint(&self, py: Python<'_>) -> PyResult<Option<PyEntry>> {
        self.owned()?;
        let Some((seq, _)) = self.inner.last_checkpoint().py()? else { return Ok(None) };
        let mut c = Columns::default();
        match self.inner.read_into(seq, 1, &mut c) {
            // Compacted away since it was looked up: no checkpoint is held any more.
            Err(pinnacle_core::Error::Compacted { .. }) => return Ok(None),
            r => r.py()?,
        };
        if c.len() == 1 && c.seq.first() == Some(&seq) {
            return entry_at(py, &c, 0).map(Some);
        }
        Ok(None)
    }

    /// Makes everything appended so far durable.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.owned()?;
        py.detach(|| self.inner.flush()).py()
    }

    /// Iterates the entries with seq >= from_seq (entries appended meanwhile included).
    /// from_seq 0 starts at the oldest entry held; a from_seq before it raises
    /// EntriesCompactedError, as does a compaction that overtakes the iteration.
    #[pyo3(signature = (from_seq=0))]
    fn read(&self, #[pyo3(from_py_with = convert::from_seq)] from_seq: u64) -> PyResult<EntryIterator> {
        self.owned()?;
        let from = from_seq;
        self.inner.read_into(from, 0, &mut Columns::default()).py()?;
        Ok(EntryIterator {
            journal: self.inner.clone(),
            state: pinnacle_core::locks::Mutex::new((from, Columns::default(), 0)),
        })
    }

    /// Every entry with seq >= from_seq as a pinnacle.EntryArray of numpy columns (the
    /// payloads back to back: memory in proportion to the data). from_seq as for read.
    #[pyo3(signature = (from_seq=0))]
    fn read_array<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = convert::from_seq)] from_seq: u64,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.owned()?;
        let c = py.detach(|| self.inner.read_all(from_seq)).py()?;
        entry_array(py, c)
    }

    /// Drops the entries before keep_from_seq; returns how many were dropped.
    fn compact(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = convert::keep_from_seq)] keep_from_seq: u64,
    ) -> PyResult<u64> {
        self.owned()?;
        py.detach(|| self.inner.compact(keep_from_seq)).py()
    }

    /// The journal's random identity (32 hex digits), recorded in its snapshots; None
    /// for a journal created before identities existed.
    #[getter]
    fn journal_id(&self) -> Option<String> {
        journal_id_text(self.inner.journal_id())
    }

    /// True while an order book journals into this journal (direct appends are refused).
    #[getter]
    fn owned_by_book(&self) -> bool {
        self.inner.is_claimed()
    }

    #[getter]
    fn first_seq(&self) -> PyResult<u64> {
        self.owned()?;
        Ok(self.inner.first_seq())
    }

    #[getter]
    fn last_seq(&self) -> PyResult<u64> {
        self.owned()?;
        Ok(self.inner.last_seq())
    }

    #[getter]
    fn next_seq(&self) -> PyResult<u64> {
        self.owned()?;
        Ok(self.inner.next_seq())
    }

    #[getter]
    fn entry_count(&self) -> PyResult<u64> {
        self.owned()?;
        Ok(self.inner.entry_count())
    }

    #[getter]
    fn size_bytes(&self) -> PyResult<u64> {
        self.owned()?;
        Ok(self.inner.size_bytes())
    }

    #[getter]
    fn data_bytes(&self) -> PyResult<u64> {
        self.owned()?;
        Ok(self.inner.data_bytes())
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.path().to_path_buf()
    }

    #[getter]
    fn closed(&self) -> PyResult<bool> {
        self.owned()?;
        Ok(self.inner.is_closed())
    }

    #[getter]
    fn poisoned(&self) -> PyResult<Option<String>> {
        self.owned()?;
        Ok(self.inner.poisoned())
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
    fn recovery_report(&self) -> PyResult<PyRecoveryReport> {
        self.owned()?;
        Ok(self.inner.recovery_report().into())
    }

    /// Flushes and releases the file. Idempotent. A `reason` is recorded and named by the
    /// JournalClosedError every later write raises.
    #[pyo3(signature = (reason=None))]
    fn close(&self, py: Python<'_>, reason: Option<String>) -> PyResult<()> {
        match reason {
            Some(why) => py.detach(|| self.inner.close_because(&why)).py(),
            None => py.detach(|| self.inner.close()).py(),
        }
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
        self.close(py, None)?;
        Ok(false)
    }

    fn __len__(&self) -> PyResult<usize> {
        self.owned()?;
        Ok(self.inner.entry_count() as usize)
    }

    fn __repr__(&self) -> String {
        if self.owned().is_err() {
            let pid = self.inner.owner().pid();
            return format!("Journal({:?}, opened in process {pid})", self.inner.path());
        }
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
    state: pinnacle_core::locks::Mutex<(u64, Columns, usize)>,
}

const BATCH: usize = 4096;

#[pymethods]
impl EntryIterator {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyEntry>> {
        self.journal.check_owner().py()?;
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
            let Some(&last) = batch.seq.last() else { return Ok(None) };
            *next = last + 1;
        }
        let e = entry_at(py, batch, *pos)?;
        *pos += 1;
        Ok(Some(e))
    }
}
