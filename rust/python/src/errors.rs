//! The one place core errors become Python exceptions. The hierarchy lives in
//! `pinnacle/errors.py` (rooted at `PinnacleError`); I/O errors are also `OSError`s that
//! carry `errno`, bad arguments are also `ValueError`s.

use pinnacle_book::meta::MetaError;
use pinnacle_book::{BookError, CodecError, EngineError, SnapshotError};
use pinnacle_core::Error;
use pinnacle_security::{ConsumptionError, StreamError, VaultHeaderError};
use pyo3::exceptions::{PyMemoryError, PyTypeError};
use pyo3::prelude::*;
use pyo3::{import_exception, PyErr};
use std::path::Path;

import_exception!(pinnacle.errors, CorruptionError);
import_exception!(pinnacle.errors, UnsupportedFormatError);
import_exception!(pinnacle.errors, JournalClosedError);
import_exception!(pinnacle.errors, ForkedHandleError);
import_exception!(pinnacle.errors, JournalLockedError);
import_exception!(pinnacle.errors, JournalPoisonedError);
import_exception!(pinnacle.errors, EntriesCompactedError);
import_exception!(pinnacle.errors, PinnacleIOError);
import_exception!(pinnacle.errors, InvalidArgumentError);
import_exception!(pinnacle.errors, OrderBookError);
import_exception!(pinnacle.errors, MetaChecksumError);
import_exception!(pinnacle.errors, VaultError);
import_exception!(pinnacle.errors, LedgerError);

/// Imports every exception type now (see `crate::warm_up`): a failed lazy import panics.
pub fn warm_up(py: pyo3::Python<'_>) -> pyo3::PyResult<()> {
    py.import("pinnacle.errors")?;
    let _ = (
        py.get_type::<CorruptionError>(),
        py.get_type::<UnsupportedFormatError>(),
        py.get_type::<JournalClosedError>(),
        py.get_type::<ForkedHandleError>(),
        py.get_type::<JournalLockedError>(),
        py.get_type::<JournalPoisonedError>(),
        py.get_type::<EntriesCompactedError>(),
        py.get_type::<PinnacleIOError>(),
        py.get_type::<InvalidArgumentError>(),
        py.get_type::<OrderBookError>(),
        py.get_type::<MetaChecksumError>(),
        py.get_type::<VaultError>(),
        py.get_type::<LedgerError>(),
    );
    Ok(())
}

pub fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        // Always (errno, message, path), so `e.errno` and `e.filename` are set; an
        // io::Error without an OS code (a short read, say) maps to the nearest errno.
        Error::Io { ref source, ref path, .. } => {
            let errno = source.raw_os_error().unwrap_or(match source.kind() {
                std::io::ErrorKind::InvalidInput => 22, // EINVAL
                _ => libc_eio(),
            });
            let err = PinnacleIOError::new_err((errno, msg, path.clone().into_os_string()));
            Fields::at(path).set(err)
        }
        Error::Corruption { ref path, offset, ref reason } => {
            Fields { offset: Some(offset), reason: Some(reason), ..Fields::at(path) }
                .set(CorruptionError::new_err(msg))
        }
        Error::UnsupportedVersion { ref path, .. } => {
            Fields::at(path).set(UnsupportedFormatError::new_err(msg))
        }
        Error::Poisoned { ref path, errno, .. } => {
            Fields::at(path).set(JournalPoisonedError::new_err((errno.unwrap_or(libc_eio()), msg)))
        }
        Error::Locked { ref path } => {
            Fields::at(path).set(JournalLockedError::new_err((e.errno().unwrap_or(0), msg)))
        }
        Error::Closed { ref path, .. } => Fields::at(path).set(JournalClosedError::new_err(msg)),
        Error::InvalidArgument(_) => InvalidArgumentError::new_err(msg),
        Error::Compacted { ref path, wanted_seq, first_seq } => {
            Fields { seq: Some(wanted_seq), first_seq: Some(first_seq), ..Fields::at(path) }
                .set(EntriesCompactedError::new_err(msg))
        }
        Error::Forked { ref path, pid } => {
            Fields { pid: Some(pid), ..Fields::at(path) }.set(ForkedHandleError::new_err(msg))
        }
        Error::OutOfMemory { .. } => PyMemoryError::new_err(msg),
    }
}

/// The structured fields of an error, set as attributes on the raised instance (the
/// Python classes declare each with a `None` default, so unset means `None`).
#[derive(Default)]
struct Fields<'a> {
    path: Option<&'a Path>,
    offset: Option<u64>,
    seq: Option<u64>,
    first_seq: Option<u64>,
    pid: Option<u32>,
    reason: Option<&'a str>,
}

impl<'a> Fields<'a> {
    fn at(path: &'a Path) -> Self {
        Fields { path: Some(path), ..Fields::default() }
    }

    fn set(self, err: PyErr) -> PyErr {
        Python::attach(|py| {
            let v = err.value(py);
            // setattr on a plain exception instance cannot fail short of MemoryError, and
            // then the error itself is still worth raising.
            if let Some(p) = self.path {
                let _ = v.setattr("path", p.as_os_str());
            }
            let ints = [("offset", self.offset), ("seq", self.seq), ("first_seq", self.first_seq)];
            for (name, val) in ints {
                if let Some(x) = val {
                    let _ = v.setattr(name, x);
                }
            }
            if let Some(pid) = self.pid {
                let _ = v.setattr("pid", pid);
            }
            if let Some(r) = self.reason {
                let _ = v.setattr("reason", r);
            }
        });
        err
    }
}

/// A journal identity as Python sees it: 32 hex digits, or None (0: no identity).
pub fn journal_id_text(id: Option<u128>) -> Option<String> {
    id.filter(|&i| i != 0).map(|i| format!("{i:032x}"))
}

const fn libc_eio() -> i32 {
    5
}

/// Book errors: a refused operation (book unchanged, nothing journaled); replay and
/// snapshot problems mean the data on disk does not hold together: corruption.
pub fn engine_err(e: EngineError) -> PyErr {
    match e {
        EngineError::Book(b) => OrderBookError::new_err(b.to_string()),
        EngineError::Journal(j) => to_py(j),
        EngineError::Snapshot(s) => CorruptionError::new_err(format!("invalid snapshot: {s}")),
        EngineError::AlreadyJournaled | EngineError::JournalTaken => {
            InvalidArgumentError::new_err(e.to_string())
        }
        EngineError::Replay { seq, .. } | EngineError::UnexpectedKind { seq, .. } => {
            Fields { seq: Some(seq), ..Fields::default() }.set(CorruptionError::new_err(e.to_string()))
        }
        EngineError::Gap { expected, .. } => {
            Fields { seq: Some(expected), ..Fields::default() }.set(CorruptionError::new_err(e.to_string()))
        }
    }
}

/// `len`: the snapshot's size, to place the error: the header at 0, the CRC in its last
/// 4 bytes (`offset` stays None where the record at fault is not known).
pub fn snapshot_err(e: SnapshotError, len: usize) -> PyErr {
    let offset = match e {
        SnapshotError::HeaderLength { .. } => Some(0),
        SnapshotError::ChecksumMismatch { .. } => Some(len.saturating_sub(4) as u64),
        _ => None,
    };
    Fields { offset, ..Fields::default() }.set(CorruptionError::new_err(format!("invalid snapshot: {e}")))
}

/// A snapshot header that cannot be read (`path`: the file, or None for bytes given):
/// another format version (or flags) is UnsupportedFormatError, anything else corruption
/// of the header (offset 0).
pub fn snapshot_header_err(e: SnapshotError, path: Option<&Path>) -> PyErr {
    let place = path.map_or_else(|| "snapshot bytes".to_string(), |p| p.display().to_string());
    let msg = format!("{place}: {e}");
    let fields = Fields { path, ..Fields::default() };
    match e {
        SnapshotError::UnsupportedVersion(_) | SnapshotError::UnsupportedFlags(_) => {
            fields.set(UnsupportedFormatError::new_err(msg))
        }
        _ => {
            let reason = e.to_string();
            Fields { offset: Some(0), reason: Some(&reason), ..fields }.set(CorruptionError::new_err(msg))
        }
    }
}

/// A book operation payload that does not decode: the text replay gives it.
pub fn op_decode_err(e: CodecError) -> PyErr {
    let msg = BookError::Codec(e).to_string();
    Fields { reason: Some(&msg), ..Fields::default() }.set(CorruptionError::new_err(msg.clone()))
}

/// An I/O error of a read-only examination of `path`.
pub fn read_err(op: &'static str, path: &Path, e: std::io::Error) -> PyErr {
    to_py(Error::io(op, path, e))
}

/// A tick/lot sidecar that cannot be trusted (read from `path`): corruption, and
/// `MetaChecksumError` when its content fails its checksum.
pub fn meta_err(e: MetaError, path: &Path) -> PyErr {
    let err = match e {
        MetaError::Checksum(m) => MetaChecksumError::new_err(m),
        MetaError::Invalid(m) => CorruptionError::new_err(m),
    };
    Fields::at(path).set(err)
}

/// A vault file (read from `path`, as the caller names it) whose header this build cannot
/// read: VaultError, "PATH: why", with `path` set.
pub fn vault_header_err(e: VaultHeaderError, path: &str) -> PyErr {
    Fields::at(Path::new(path)).set(VaultError::new_err(format!("{path}: {e}")))
}

/// A `ratelimit.consume` payload that does not decode: corruption.
pub fn consumption_decode_err(e: ConsumptionError) -> PyErr {
    let reason = format!("invalid ratelimit.consume payload: {e}");
    Fields { reason: Some(&reason), ..Fields::default() }.set(CorruptionError::new_err(reason.clone()))
}

/// An incremental backup's entry stream that does not split into whole entries is
/// corruption (`offset`: the faulty entry's first byte); a payload too long to encode is
/// the caller's.
pub fn backup_stream_err(e: StreamError) -> PyErr {
    match e.offset() {
        Some(offset) => {
            let reason = e.to_string();
            Fields { offset: Some(offset as u64), reason: Some(&reason), ..Fields::default() }
                .set(CorruptionError::new_err(format!("incremental backup entries: {reason}")))
        }
        None => invalid(e.to_string()),
    }
}

pub fn invalid(msg: impl Into<String>) -> PyErr {
    InvalidArgumentError::new_err(msg.into())
}

pub fn type_error(msg: impl Into<String>) -> PyErr {
    PyTypeError::new_err(msg.into())
}

/// `map_err(to_py)` shorthand.
pub trait IntoPyResult<T> {
    fn py(self) -> pyo3::PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Error> {
    fn py(self) -> pyo3::PyResult<T> {
        self.map_err(to_py)
    }
}

/// Market-data pipeline errors: an unreadable input is an I/O error, a malformed message
/// corruption at (path, offset), a bad argument InvalidArgumentError.
pub fn marketdata_err(e: pinnacle_marketdata::Error) -> PyErr {
    use pinnacle_marketdata::Error as M;
    let msg = e.to_string();
    match e {
        M::Io { ref path, ref source } => {
            let errno = source.raw_os_error().unwrap_or(libc_eio());
            Fields::at(path).set(PinnacleIOError::new_err((errno, msg, path.clone().into_os_string())))
        }
        M::Parse { ref path, offset, ref reason } => {
            Fields { offset: Some(offset), reason: Some(reason), ..Fields::at(path) }
                .set(CorruptionError::new_err(msg))
        }
        M::Data(_) | M::InvalidArgument(_) => InvalidArgumentError::new_err(msg),
    }
}

/// A refused ledger operation (nothing changed, nothing journaled): `LedgerError` with
/// `code` set (`unknown_order`, `overfill`, `halted`...).
pub fn ledger_refused(e: pinnacle_ledger::LedgerError) -> PyErr {
    ledger_refused_code(e.code.name(), e.message)
}

/// A `LedgerError` raised by the bindings' own argument checks (`invalid_type`).
pub fn ledger_refused_code(code: &str, message: String) -> PyErr {
    let err = LedgerError::new_err(message);
    Python::attach(|py| {
        let _ = err.value(py).setattr("code", code);
    });
    err
}

/// Ledger errors: refusals are `LedgerError`; a journal that does not replay onto the
/// ledger is corruption (a record of a newer schema: UnsupportedFormatError).
pub fn ledger_err(e: pinnacle_core::WalError<pinnacle_ledger::LedgerError>) -> PyErr {
    use pinnacle_core::WalError as W;
    let msg = e.to_string();
    match e {
        W::Refused(r) => ledger_refused(r),
        W::Journal(j) => to_py(j),
        W::Replay { seq, error } if error.code == pinnacle_ledger::ErrorCode::Version => {
            Fields { seq: Some(seq), ..Fields::default() }.set(UnsupportedFormatError::new_err(msg))
        }
        W::Replay { seq, .. } | W::UnexpectedKind { seq, .. } => {
            Fields { seq: Some(seq), ..Fields::default() }.set(CorruptionError::new_err(msg))
        }
        W::Gap { expected, .. } => {
            Fields { seq: Some(expected), ..Fields::default() }.set(CorruptionError::new_err(msg))
        }
        W::AlreadyJournaled | W::JournalTaken => invalid(msg),
    }
}

pub fn corruption(msg: String) -> PyErr {
    CorruptionError::new_err(msg)
}

pub fn unsupported(msg: String) -> PyErr {
    UnsupportedFormatError::new_err(msg)
}
