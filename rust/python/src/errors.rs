//! The one place core errors become Python exceptions. The hierarchy lives in
//! `pinnacle/errors.py` (rooted at `PinnacleError`); I/O errors are also `OSError`s that
//! carry `errno`, bad arguments are also `ValueError`s.

use pinnacle_book::{EngineError, SnapshotError};
use pinnacle_core::Error;
use pyo3::exceptions::{PyMemoryError, PyTypeError};
use pyo3::{import_exception, PyErr};

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
            PinnacleIOError::new_err((errno, msg, path.clone().into_os_string()))
        }
        Error::Corruption { .. } => CorruptionError::new_err(msg),
        Error::UnsupportedVersion { .. } => UnsupportedFormatError::new_err(msg),
        Error::Poisoned { errno, .. } => JournalPoisonedError::new_err((errno.unwrap_or(libc_eio()), msg)),
        Error::Locked { .. } => JournalLockedError::new_err((e.errno().unwrap_or(0), msg)),
        Error::Closed { .. } => JournalClosedError::new_err(msg),
        Error::InvalidArgument(_) => InvalidArgumentError::new_err(msg),
        Error::Compacted { .. } => EntriesCompactedError::new_err(msg),
        Error::Forked { .. } => ForkedHandleError::new_err(msg),
        Error::OutOfMemory { .. } => PyMemoryError::new_err(msg),
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
        EngineError::Snapshot(s) => snapshot_err(s),
        EngineError::AlreadyJournaled | EngineError::JournalTaken => {
            InvalidArgumentError::new_err(e.to_string())
        }
        EngineError::Replay { .. } | EngineError::UnexpectedKind { .. } | EngineError::Gap { .. } => {
            CorruptionError::new_err(e.to_string())
        }
    }
}

pub fn snapshot_err(e: SnapshotError) -> PyErr {
    CorruptionError::new_err(format!("invalid snapshot: {e}"))
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
