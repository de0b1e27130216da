//! Python bindings of pinnacle: type conversion and error mapping only. Everything that
//! touches bytes on disk lives in `pinnacle-core`, `pinnacle-book` and
//! `pinnacle-security`.

mod book;
mod convert;
mod entry;
mod errors;
mod files;
mod formats;
mod grid;
mod journal;
mod kinds;
mod ledger;
mod ledger_convert;
mod marketdata;
mod orders;
mod reader;
mod security;
mod shadow;

use pyo3::prelude::*;

/// Test hook: after `after` calls that succeed, make the next `times` calls (all calls
/// when None) of a system call fail.
#[pyfunction]
#[pyo3(signature = (call, errno, times=None, after=0))]
fn _inject_fault(call: &str, errno: i32, times: Option<u32>, after: u32) -> PyResult<()> {
    use errors::IntoPyResult;
    let call = call.parse().py()?;
    pinnacle_core::sys::inject_fault_after(call, errno, times, after);
    Ok(())
}

/// Test hook: remove every injected fault.
#[pyfunction]
fn _clear_faults() {
    pinnacle_core::sys::clear_faults();
}

/// Test hook: record what each successful sync makes durable (simulated power loss).
#[pyfunction]
fn _track_durability(on: bool) {
    pinnacle_core::testing::track_durability(on);
}

/// Test hook: the durable image recorded for the file at `path`, or None.
#[pyfunction]
fn _durable_image(py: Python<'_>, path: std::path::PathBuf) -> Option<Py<pyo3::types::PyBytes>> {
    pinnacle_core::testing::durable_image(&path).map(|b| pyo3::types::PyBytes::new(py, &b).unbind())
}

#[pymodule]
mod _core {
    #[pymodule_export]
    use super::book::PyOrderBook;
    #[pymodule_export]
    use super::entry::{PyEntry, PyRecoveryReport};
    #[pymodule_export]
    use super::files::{
        _crash_atomic_writes_at, decode_symbol_meta, encode_symbol_meta, fsync_dir, is_temp_name,
        remove_stale_temps, write_atomic,
    };
    #[pymodule_export]
    use super::formats::{
        decode_book_op, decode_snapshot_marker, examine_journal_tail, file_format, journal_entry_size,
        peek_snapshot_header_py, read_journal_header, snapshot_checksum_ok, snapshot_marker, PyJournalHeader,
        PyJournalHeaderSlot, PyJournalTail, PySnapshotHeader,
    };
    #[pymodule_export]
    use super::grid::canonical_grid;
    #[pymodule_export]
    use super::journal::{EntryIterator, PyJournal};
    #[pymodule_export]
    use super::kinds::{entry_kinds, kind_name, kind_ranges};
    #[pymodule_export]
    use super::ledger::PyLedger;
    #[pymodule_export]
    use super::marketdata::{l2_checksum, PyCapture, PyEngine, PyTrigger};
    #[pymodule_export]
    use super::orders::{PyFill, PyOrder, PySnapshotInfo};
    #[pymodule_export]
    use super::reader::PyJournalReader;
    #[pymodule_export]
    use super::security::{
        check_vault_kdf, decode_backup_entries, decode_rate_consumption, decode_vault_header,
        encode_backup_entries, encode_rate_consumption, encode_vault_header,
    };
    #[pymodule_export]
    use super::shadow::PyShadowBook;
    #[pymodule_export]
    use super::{_clear_faults, _durable_image, _inject_fault, _track_durability};

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        pinnacle_core::fork::install();
        super::warm_up(m.py())?;
        m.add("BOOK_OP_KIND", pinnacle_book::OP_KIND)?;
        m.add("BOOK_OP_NAMES", pyo3::types::PyTuple::new(m.py(), pinnacle_book::ops::OP_NAMES)?)?;
        super::security::add_constants(m)?;
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}

/// Runs, at import, every first-use initialisation that executes Python code (numpy's C
/// API and borrow-checking capsules, the exception types of `pinnacle.errors`). Done
/// lazily, a Ctrl-C landing in such an import made the first `read_array`, `depth` or
/// snapshot raise `PanicException` (the numpy crate panics on a failed lookup) instead of
/// KeyboardInterrupt. Here an interrupt fails the import with KeyboardInterrupt.
fn warm_up(py: Python<'_>) -> PyResult<()> {
    use numpy::{PyArray1, PyArrayMethods};
    use pyo3::exceptions::{PyImportError, PyKeyboardInterrupt};
    errors::warm_up(py)?;
    let touched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let a = PyArray1::<u8>::zeros(py, 2, false);
        let _ = a.reshape([1, 2]);
        a.readwrite().make_nonwriteable();
        numpy::npyffi::is_numpy_2(py)
    }));
    match touched {
        Ok(_) => Ok(()),
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            if why.contains("KeyboardInterrupt") {
                Err(PyKeyboardInterrupt::new_err(()))
            } else {
                Err(PyImportError::new_err(format!("pinnacle could not initialise numpy: {why}")))
            }
        }
    }
}
