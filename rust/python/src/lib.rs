//! Python bindings of pinnacle: type conversion and error mapping only. Everything that
//! touches bytes on disk lives in `pinnacle-core`.

mod book;
mod convert;
mod entry;
mod errors;
mod grid;
mod journal;
mod orders;
mod reader;
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
    use super::journal::{EntryIterator, PyJournal};
    #[pymodule_export]
    use super::orders::{PyFill, PyOrder, PySnapshotInfo};
    #[pymodule_export]
    use super::reader::PyJournalReader;
    #[pymodule_export]
    use super::shadow::PyShadowBook;
    #[pymodule_export]
    use super::{_clear_faults, _durable_image, _inject_fault, _track_durability};

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}
