//! The on-disk formats decoded for Python (`pinnacle inspect`/`verify`, the snapshot
//! manager): conversion only. Every byte is read and judged by pinnacle-core (journal
//! header slots, bytes past the last entry) or pinnacle-book (ops, snapshot headers).

use crate::convert::{self, with_payload};
use crate::errors::{journal_id_text, op_decode_err, read_err, snapshot_header_err, IntoPyResult};
use crate::orders::{id_object, side_name};
use pinnacle_book::snapshot_file::{file_checksum_holds, read_snapshot_head, sniff_file};
use pinnacle_book::{
    decode_checkpoint_marker, encode_checkpoint_marker, peek_snapshot_header, snapshot_checksum_holds, Op,
    SnapshotHeader,
};
use pinnacle_core::format::entry::encoded_len;
use pinnacle_core::format::header::HEADER_SIZE;
use pinnacle_core::format::slots::SlotReport;
use pinnacle_core::journal::examine::{examine_tail, read_header_report, TailReport};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use std::path::PathBuf;

/// One header slot of a journal file (numeric fields 0 unless the slot is valid).
#[pyclass(name = "JournalHeaderSlot", module = "pinnacle._core", frozen, get_all)]
pub struct PyJournalHeaderSlot {
    index: usize,
    offset: usize,
    /// `valid`, `blank` (all zero: never written) or `damaged`.
    state: &'static str,
    error: Option<String>,
    version: u16,
    generation: u64,
    first_seq: u64,
    durable_end: u64,
    created_ns: i64,
    max_entry_size: u32,
    journal_id: Option<String>,
}

impl From<&SlotReport> for PyJournalHeaderSlot {
    fn from(s: &SlotReport) -> Self {
        let h = s.header;
        PyJournalHeaderSlot {
            index: s.index,
            offset: s.offset,
            state: s.state.as_str(),
            error: s.error.clone(),
            version: s.version().unwrap_or(0),
            generation: h.map_or(0, |h| h.generation),
            first_seq: h.map_or(0, |h| h.first_seq),
            durable_end: h.map_or(0, |h| h.durable_end),
            created_ns: h.map_or(0, |h| h.created_ns),
            max_entry_size: h.map_or(0, |h| h.max_entry_size),
            journal_id: journal_id_text(h.map(|h| h.journal_id)),
        }
    }
}

/// Both header slots of a journal file and the one in force.
#[pyclass(name = "JournalHeader", module = "pinnacle._core", frozen, get_all)]
pub struct PyJournalHeader {
    slots: Vec<Py<PyJournalHeaderSlot>>,
    /// The valid slot with the highest generation, or None.
    current: Option<Py<PyJournalHeaderSlot>>,
    /// Offset of the first entry (the header page's size).
    data_start: usize,
}

/// The header slots of the journal at `path`, read without opening it for writing.
#[pyfunction]
pub fn read_journal_header(
    py: Python<'_>,
    #[pyo3(from_py_with = convert::path)] path: PathBuf,
) -> PyResult<PyJournalHeader> {
    let r = py.detach(|| read_header_report(&path)).py()?;
    let slots =
        r.slots.iter().map(|s| Py::new(py, PyJournalHeaderSlot::from(s))).collect::<PyResult<Vec<_>>>()?;
    let current = r.current.and_then(|i| slots.get(i)).map(|s| s.clone_ref(py));
    Ok(PyJournalHeader { slots, current, data_start: HEADER_SIZE })
}

/// The bytes of a journal file from an offset on (see `examine_journal_tail`).
#[pyclass(name = "JournalTail", module = "pinnacle._core", frozen, get_all)]
pub struct PyJournalTail {
    file_size: u64,
    /// First non-zero byte at or after the offset; None: the rest is zero.
    first_nonzero: Option<u64>,
    /// One past the last non-zero byte of the file.
    nonzero_end: u64,
    /// Why the bytes at the offset are not the expected entry.
    damage: Option<String>,
    /// (offset, seq) of the first valid entry after the damage.
    next_valid: Option<(u64, u64)>,
}

impl From<TailReport> for PyJournalTail {
    fn from(t: TailReport) -> Self {
        PyJournalTail {
            file_size: t.file_len,
            first_nonzero: t.first_nonzero,
            nonzero_end: t.nonzero_end,
            damage: t.damage,
            next_valid: t.next_valid,
        }
    }
}

/// What lies in the journal at `path` from `offset` (where the entry with seq
/// `expected_seq` should start) to its end; read-only.
#[pyfunction]
pub fn examine_journal_tail(
    py: Python<'_>,
    #[pyo3(from_py_with = convert::path)] path: PathBuf,
    #[pyo3(from_py_with = convert::offset)] offset: u64,
    #[pyo3(from_py_with = convert::expected_seq)] expected_seq: u64,
    #[pyo3(from_py_with = convert::max_entry_size)] max_entry_size: u32,
) -> PyResult<PyJournalTail> {
    py.detach(|| examine_tail(&path, offset, expected_seq, max_entry_size)).py().map(Into::into)
}

/// Bytes a journal entry with a payload of `payload_len` bytes occupies on disk.
#[pyfunction]
pub fn journal_entry_size(#[pyo3(from_py_with = convert::payload_len)] payload_len: u64) -> PyResult<u64> {
    let n = usize::try_from(payload_len)
        .ok()
        .filter(|&n| n <= usize::MAX - 64)
        .ok_or_else(|| crate::errors::invalid(format!("payload_len {payload_len} is too large")))?;
    Ok(encoded_len(n) as u64)
}

/// A book operation payload (journal entry kind 1) as a dict: `op` and the fields of
/// that operation (`id`, `side`, `price` in ticks, `qty` in lots, `ts`). A payload that
/// replay would refuse raises CorruptionError with replay's message.
#[pyfunction]
pub fn decode_book_op<'py>(py: Python<'py>, payload: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let op = with_payload(payload, "payload", Op::decode)?.map_err(op_decode_err)?;
    let d = PyDict::new(py);
    d.set_item("op", op.name())?;
    match &op {
        Op::Add { id, side, price, qty, ts } => {
            d.set_item("id", id_object(py, id)?)?;
            d.set_item("side", side_name(*side))?;
            d.set_item("price", price)?;
            d.set_item("qty", qty)?;
            d.set_item("ts", ts)?;
        }
        Op::Cancel { id, ts } => {
            d.set_item("id", id_object(py, id)?)?;
            d.set_item("ts", ts)?;
        }
        Op::Execute { id, qty, ts } => {
            d.set_item("id", id_object(py, id)?)?;
            d.set_item("qty", qty)?;
            d.set_item("ts", ts)?;
        }
        Op::Market { side, qty, ts } => {
            d.set_item("side", side_name(*side))?;
            d.set_item("qty", qty)?;
            d.set_item("ts", ts)?;
        }
        Op::Modify { id, price, qty, ts } => {
            d.set_item("id", id_object(py, id)?)?;
            d.set_item("price", price)?;
            d.set_item("qty", qty)?;
            d.set_item("ts", ts)?;
        }
    }
    Ok(d)
}

/// The header of a snapshot, read but not verified (its CRC covers the whole file).
#[pyclass(name = "SnapshotHeader", module = "pinnacle._core", frozen, get_all)]
pub struct PySnapshotHeader {
    version: u16,
    symbol: String,
    covered_seq: u64,
    created_ns: i64,
    order_count: u64,
    journal_id: Option<String>,
    tick_size: Option<String>,
    lot_size: Option<String>,
}

impl From<SnapshotHeader> for PySnapshotHeader {
    fn from(h: SnapshotHeader) -> Self {
        let b = h.binding;
        PySnapshotHeader {
            version: h.version,
            symbol: h.symbol,
            covered_seq: h.covered_seq,
            created_ns: h.created_ns,
            order_count: h.order_count,
            journal_id: journal_id_text(b.as_ref().map(|b| b.journal_id)),
            tick_size: b.as_ref().map(|b| b.tick_size.clone()),
            lot_size: b.map(|b| b.lot_size),
        }
    }
}

/// A path (str or os.PathLike) or snapshot bytes (any bytes-like object).
fn is_path(obj: &Bound<'_, PyAny>) -> bool {
    obj.is_instance_of::<PyString>() || obj.hasattr("__fspath__").unwrap_or(false)
}

/// The header of a snapshot file (`source` a path) or of snapshot bytes (bytes-like),
/// every field checked but not the CRC. CorruptionError (offset 0) when it is not a
/// snapshot header, UnsupportedFormatError for another format version.
#[pyfunction(name = "peek_snapshot_header")]
pub fn peek_snapshot_header_py(py: Python<'_>, source: &Bound<'_, PyAny>) -> PyResult<PySnapshotHeader> {
    if is_path(source) {
        let path = convert::path(source)?;
        let head = py.detach(|| read_snapshot_head(&path)).map_err(|e| read_err("read", &path, e))?;
        return peek_snapshot_header(&head).map(Into::into).map_err(|e| snapshot_header_err(e, Some(&path)));
    }
    with_payload(source, "source", peek_snapshot_header)?
        .map(Into::into)
        .map_err(|e| snapshot_header_err(e, None))
}

/// True when a snapshot's CRC32 (its last 4 bytes) matches the bytes before it: of the
/// file at a path (streamed), or of bytes. Builds no book.
#[pyfunction]
pub fn snapshot_checksum_ok(py: Python<'_>, source: &Bound<'_, PyAny>) -> PyResult<bool> {
    if is_path(source) {
        let path = convert::path(source)?;
        return py.detach(|| file_checksum_holds(&path)).map_err(|e| read_err("read", &path, e));
    }
    with_payload(source, "source", snapshot_checksum_holds)
}

/// `journal` or `snapshot` by the magic at the start of the file at `path` (either
/// journal header slot), or None.
#[pyfunction]
pub fn file_format(
    py: Python<'_>,
    #[pyo3(from_py_with = convert::path)] path: PathBuf,
) -> PyResult<Option<&'static str>> {
    let f = py.detach(|| sniff_file(&path)).map_err(|e| read_err("read", &path, e))?;
    Ok(f.map(|f| f.as_str()))
}

/// The payload of the checkpoint entry journaled after a snapshot: its `covered_seq`,
/// then its `created_ns`.
#[pyfunction]
pub fn snapshot_marker<'py>(
    py: Python<'py>,
    #[pyo3(from_py_with = convert::covered_seq)] covered_seq: u64,
    #[pyo3(from_py_with = convert::created_ns)] created_ns: Option<i64>,
) -> PyResult<Bound<'py, PyBytes>> {
    let created = created_ns.ok_or_else(|| crate::errors::invalid("created_ns must be an int, not None"))?;
    Ok(PyBytes::new(py, &encode_checkpoint_marker(covered_seq, created)))
}

/// `(covered_seq, created_ns)` of a checkpoint payload written after a snapshot
/// (`created_ns` None for the 8-byte markers of older pinnacle), or None for another
/// payload.
#[pyfunction]
pub fn decode_snapshot_marker(payload: &Bound<'_, PyAny>) -> PyResult<Option<(u64, Option<i64>)>> {
    with_payload(payload, "payload", decode_checkpoint_marker)
}
