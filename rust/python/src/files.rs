//! Files written whole (`pinnacle_core::atomic_file`) and the tick/lot sidecar codec
//! (`pinnacle_book::meta`): argument conversion and error mapping only. The I/O runs
//! with the interpreter detached.

use crate::convert::Payloads;
use crate::errors::{meta_err, IntoPyResult};
use crate::grid::Grid;
use pinnacle_core::atomic_file;
use pinnacle_core::testing::{crash_atomic_writes_at, CrashPoint};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;

/// Writes `data` to `path` atomically and durably (temp file, write, fsync, rename,
/// directory fsync); the file gets `mode` (less the umask). `data`: any bytes-like object.
#[pyfunction]
#[pyo3(signature = (path, data, mode=0o600))]
pub fn write_atomic(py: Python<'_>, path: PathBuf, data: &Bound<'_, PyAny>, mode: u32) -> PyResult<()> {
    if mode & !0o777 != 0 {
        return Err(crate::errors::invalid(format!("mode {mode:#o} has bits beyond 0o777")));
    }
    let held = Payloads::single(data, "data")?;
    py.detach(|| {
        let slices = held.slices();
        atomic_file::write_atomic(&path, slices.first().copied().unwrap_or_default(), mode)
    })
    .py()
}

/// Removes the temp files of interrupted atomic writes in `directory` whose creating
/// process is gone; returns their paths.
#[pyfunction]
pub fn remove_stale_temps(py: Python<'_>, directory: PathBuf) -> PyResult<Vec<PathBuf>> {
    py.detach(|| atomic_file::remove_stale_temps(&directory)).py()
}

/// Whether `name` is the name of an atomic write's temp file (current or older pinnacle).
#[pyfunction]
pub fn is_temp_name(name: &str) -> bool {
    atomic_file::parse_temp_name(name).is_some()
}

/// fsyncs a directory, making renames, creations and removals in it durable.
#[pyfunction]
pub fn fsync_dir(py: Python<'_>, directory: PathBuf) -> PyResult<()> {
    py.detach(|| pinnacle_core::sys::fsync_dir(&directory)).py()
}

/// The bytes of `symbol`'s tick/lot sidecar (format 2, sizes written canonical).
#[pyfunction]
pub fn encode_symbol_meta<'py>(
    py: Python<'py>,
    symbol: &str,
    tick_size: &Bound<'py, PyAny>,
    lot_size: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let (tick, lot) =
        (Grid::parse(tick_size, "tick_size")?.text(), Grid::parse(lot_size, "lot_size")?.text());
    let bytes = pinnacle_book::meta::encode_meta(symbol, &tick, &lot)
        .map_err(|e| crate::errors::invalid(e.to_string()))?;
    Ok(PyBytes::new(py, &bytes))
}

/// Decodes and checks the sidecar bytes read from `path` for `symbol`: (tick_size,
/// lot_size, checksummed), sizes canonical; CorruptionError (MetaChecksumError when its
/// content fails its checksum) if it cannot be trusted.
#[pyfunction]
pub fn decode_symbol_meta(data: &[u8], symbol: &str, path: PathBuf) -> PyResult<(String, String, bool)> {
    let shown = path.display().to_string();
    let m = pinnacle_book::meta::decode_meta(data, symbol, &shown).map_err(|e| meta_err(e, &path))?;
    Ok((m.tick_size, m.lot_size, m.checksummed))
}

/// Test hook: make this process `_exit` when an atomic write reaches `point`
/// ("written", "synced" or "renamed"); None disarms.
#[pyfunction]
#[pyo3(signature = (point))]
pub fn _crash_atomic_writes_at(point: Option<&str>) -> PyResult<()> {
    let point = match point {
        None => None,
        Some("written") => Some(CrashPoint::Written),
        Some("synced") => Some(CrashPoint::Synced),
        Some("renamed") => Some(CrashPoint::Renamed),
        Some(other) => {
            return Err(crate::errors::invalid(format!(
                "unknown crash point {other:?} (expected written, synced or renamed)"
            )))
        }
    };
    crash_atomic_writes_at(point);
    Ok(())
}
