//! The security layer's byte layouts (`pinnacle-security`): the vault header, the
//! `ratelimit.consume` record and the incremental backup's entry stream. Argument
//! conversion only; errors go through `errors.rs`.

use crate::convert::{self, int_value, with_payload};
use crate::entry::{bytes_copy, PyEntry};
use crate::errors::{backup_stream_err, consumption_decode_err, invalid, type_error, vault_header_err};
use pinnacle_core::Record;
use pinnacle_security::backup_entries::{self, StreamEntry};
use pinnacle_security::ratelimit::{self, Consumption};
use pinnacle_security::vault::{self, Header, KdfParams};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// (memory_kib, time_cost, parallelism, salt, nonce).
type HeaderFields<'py> = (u32, u32, u32, Bound<'py, PyBytes>, Bound<'py, PyBytes>);
/// (seq, kind, timestamp_ns, payload).
type StreamRow<'py> = (u64, u16, i64, Bound<'py, PyBytes>);

fn kdf_params(
    memory_kib: &Bound<'_, PyAny>,
    time_cost: &Bound<'_, PyAny>,
    lanes: &Bound<'_, PyAny>,
) -> PyResult<KdfParams> {
    let (m, t, p) = (
        int_value(memory_kib, "memory_kib")?,
        int_value(time_cost, "time_cost")?,
        int_value(lanes, "parallelism")?,
    );
    KdfParams::new(m, t, p).map_err(|e| invalid(e.to_string()))
}

/// Checks Argon2id costs against the vault format's bounds (parallelism 1..=16, time cost
/// 1..=64, memory 8 KiB per lane ..= 1 GiB); InvalidArgumentError naming the first out.
#[pyfunction]
pub fn check_vault_kdf(
    memory_kib: &Bound<'_, PyAny>,
    time_cost: &Bound<'_, PyAny>,
    parallelism: &Bound<'_, PyAny>,
) -> PyResult<()> {
    kdf_params(memory_kib, time_cost, parallelism).map(|_| ())
}

/// The 52-byte vault header (the AES-GCM associated data) for these costs, salt (16
/// bytes) and nonce (12 bytes).
#[pyfunction]
pub fn encode_vault_header<'py>(
    py: Python<'py>,
    memory_kib: &Bound<'py, PyAny>,
    time_cost: &Bound<'py, PyAny>,
    parallelism: &Bound<'py, PyAny>,
    salt: &Bound<'py, PyAny>,
    nonce: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let kdf = kdf_params(memory_kib, time_cost, parallelism)?;
    let salt = with_payload(salt, "salt", |s| s.to_vec())?;
    let header =
        with_payload(nonce, "nonce", |n| Header::new(kdf, &salt, n))?.map_err(|e| invalid(e.to_string()))?;
    Ok(PyBytes::new(py, &header.encode()))
}

/// The header of the vault file `data` (read from `path`): (memory_kib, time_cost,
/// parallelism, salt, nonce); VaultError naming `path` if this build cannot read it.
#[pyfunction]
pub fn decode_vault_header<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    path: &str,
) -> PyResult<HeaderFields<'py>> {
    let h = with_payload(data, "data", Header::decode)?.map_err(|e| vault_header_err(e, path))?;
    let k = h.kdf;
    Ok((
        k.memory_kib(),
        k.time_cost(),
        k.parallelism(),
        PyBytes::new(py, &h.salt),
        PyBytes::new(py, &h.nonce),
    ))
}

/// The payload of a `ratelimit.consume` entry: `cost` units of `key` taken at `t_ns`.
#[pyfunction]
pub fn encode_rate_consumption<'py>(
    py: Python<'py>,
    #[pyo3(from_py_with = convert::t_ns)] t_ns: i64,
    #[pyo3(from_py_with = convert::cost)] cost: u32,
    key: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let c = Consumption::new(t_ns, cost, key.to_owned()).map_err(|e| invalid(e.to_string()))?;
    let mut out = Vec::with_capacity(ratelimit::FIXED_SIZE + key.len());
    c.encode(&mut out);
    Ok(PyBytes::new(py, &out))
}

/// (t_ns, cost, key) of a `ratelimit.consume` payload; CorruptionError if it is not one.
#[pyfunction]
pub fn decode_rate_consumption(payload: &Bound<'_, PyAny>) -> PyResult<(i64, u32, String)> {
    let c = with_payload(payload, "payload", Consumption::decode)?.map_err(consumption_decode_err)?;
    Ok(c.into_parts())
}

/// The entry stream of an incremental backup for `entries` (journal `Entry` objects, in
/// order: each entry's seq, kind, timestamp and payload, back to back) and the seq of the
/// last one (None if there were none). Entries are consumed one at a time, so a journal
/// reader's iterator is never held whole.
#[pyfunction]
pub fn encode_backup_entries<'py>(
    py: Python<'py>,
    entries: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyBytes>, Option<u64>)> {
    let (mut out, mut last) = (Vec::new(), None);
    for item in entries.try_iter()? {
        let item = item?;
        let Ok(e) = item.cast::<PyEntry>() else {
            let name = item.get_type().name().map(|n| n.to_string()).unwrap_or_default();
            return Err(type_error(format!("entries must hold Entry objects, not {name}")));
        };
        let e = e.get();
        let payload = e.payload.bind(py).as_bytes();
        let s = StreamEntry { seq: e.seq, kind: e.kind, timestamp_ns: e.timestamp_ns, payload };
        backup_entries::encode_entry(&mut out, &s).map_err(backup_stream_err)?;
        last = Some(e.seq);
    }
    Ok((bytes_copy(py, &out)?, last))
}

/// (seq, kind, timestamp_ns, payload) of each entry of an incremental backup's entry
/// stream; CorruptionError (``offset``: the entry's first byte) if it does not split
/// into whole entries.
#[pyfunction]
pub fn decode_backup_entries<'py>(
    py: Python<'py>,
    blob: &Bound<'py, PyAny>,
) -> PyResult<Vec<StreamRow<'py>>> {
    let decoded = with_payload(blob, "blob", |s| {
        backup_entries::decode_all(s).map(|es| {
            es.into_iter()
                .map(|e| Ok((e.seq, e.kind, e.timestamp_ns, bytes_copy(py, e.payload)?)))
                .collect::<PyResult<Vec<_>>>()
        })
    })?;
    decoded.map_err(backup_stream_err)?
}

/// The format constants Python needs (sizes to slice and to draw randomness for, the
/// version it names, the key bound it checks first).
pub fn add_constants(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("VAULT_VERSION", vault::VERSION)?;
    m.add("VAULT_HEADER_SIZE", vault::HEADER_SIZE)?;
    m.add("VAULT_SALT_SIZE", vault::SALT_SIZE)?;
    m.add("VAULT_NONCE_SIZE", vault::NONCE_SIZE)?;
    m.add("VAULT_TAG_SIZE", vault::TAG_SIZE)?;
    m.add("RATELIMIT_MAX_KEY_BYTES", ratelimit::MAX_KEY_BYTES)
}
