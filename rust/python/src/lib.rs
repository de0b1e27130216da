//! Python bindings of pinnacle: type conversion and error mapping only. Everything that
//! touches bytes on disk lives in `pinnacle-core`.

mod book;
mod convert;
mod entry;
mod errors;
mod grid;
mod journal;
mod reader;
mod shadow;

use pyo3::prelude::*;

/// Test hook: make the next `times` calls (all calls when None) of a system call fail.
#[pyfunction]
#[pyo3(signature = (call, errno, times=None))]
fn _inject_fault(call: &str, errno: i32, times: Option<u32>) -> PyResult<()> {
    use errors::IntoPyResult;
    let call = call.parse().py()?;
    pinnacle_core::sys::inject_fault(call, errno, times);
    Ok(())
}

/// Test hook: remove every injected fault.
#[pyfunction]
fn _clear_faults() {
    pinnacle_core::sys::clear_faults();
}

#[pymodule]
mod _core {
    #[pymodule_export]
    use super::book::{PyFill, PyOrder, PyOrderBook, PySnapshotInfo};
    #[pymodule_export]
    use super::entry::{PyEntry, PyRecoveryReport};
    #[pymodule_export]
    use super::journal::{EntryIterator, PyJournal};
    #[pymodule_export]
    use super::reader::PyJournalReader;
    #[pymodule_export]
    use super::shadow::PyShadowBook;
    #[pymodule_export]
    use super::{_clear_faults, _inject_fault};

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}
