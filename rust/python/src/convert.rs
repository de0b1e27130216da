//! Argument conversion: payloads, kinds, timestamps, option strings.

use crate::errors::{invalid, type_error};
use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use std::ptr::NonNull;

pub fn kind(k: i64) -> PyResult<u16> {
    u16::try_from(k).map_err(|_| invalid(format!("kind must be between 0 and 65535, got {k}")))
}

pub fn timestamp(ts: Option<i64>) -> PyResult<Option<i64>> {
    match ts {
        Some(t) if t < 0 => {
            Err(invalid(format!("timestamp_ns must be >= 0 (ns since the Unix epoch), got {t}")))
        }
        t => Ok(t),
    }
}

/// Raw views of payload bytes that stay valid while `keep` holds their owners. Lets the
/// GIL be released around bulk copies: bytes objects are immutable and kept alive; a
/// mutable exporter (bytearray, numpy) has its buffer export held, so it cannot resize.
pub struct Payloads {
    views: Vec<(NonNull<u8>, usize)>,
    _keep_objects: Vec<Py<PyAny>>,
    _keep_buffers: Vec<PyBuffer<u8>>,
}

// SAFETY: the pointers are only read, and their owners (held above) outlive every use.
unsafe impl Send for Payloads {}
// SAFETY: as above; shared access only ever reads.
unsafe impl Sync for Payloads {}

impl Payloads {
    fn empty() -> Payloads {
        Payloads { views: Vec::new(), _keep_objects: Vec::new(), _keep_buffers: Vec::new() }
    }

    /// One payload held for use without the GIL.
    pub fn single(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Payloads> {
        let mut out = Payloads::empty();
        out.push_item(obj.clone(), || what.to_string())?;
        Ok(out)
    }

    fn push_item(&mut self, item: Bound<'_, PyAny>, what: impl FnOnce() -> String) -> PyResult<()> {
        if let Ok(b) = item.cast::<PyBytes>() {
            let s = b.as_bytes();
            self.views.push((non_null(s.as_ptr() as *mut u8), s.len()));
            self._keep_objects.push(item.unbind());
        } else {
            let buf = buffer_view(&item, &what())?;
            self.views.push((non_null(buf.buf_ptr() as *mut u8), buf.len_bytes()));
            self._keep_buffers.push(buf);
        }
        Ok(())
    }

    pub fn slices(&self) -> Vec<&[u8]> {
        // SAFETY: see the type's comment; each (ptr, len) came from a live buffer.
        self.views.iter().map(|&(p, n)| unsafe { std::slice::from_raw_parts(p.as_ptr(), n) }).collect()
    }

    pub fn len(&self) -> usize {
        self.views.len()
    }
}

fn buffer_view(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<PyBuffer<u8>> {
    let buf = PyBuffer::<u8>::get(obj).map_err(|_| {
        type_error(format!(
            "{what} must be bytes-like (bytes, bytearray, memoryview or a uint8 array), not {}",
            obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))
    })?;
    if !buf.is_c_contiguous() {
        return Err(invalid(format!("{what} must be C-contiguous")));
    }
    Ok(buf)
}

fn non_null(p: *mut u8) -> NonNull<u8> {
    NonNull::new(p).unwrap_or(NonNull::dangling())
}

/// One payload: bytes (fast path) or any C-contiguous byte buffer.
pub fn with_payload<R>(obj: &Bound<'_, PyAny>, what: &str, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(f(b.as_bytes()));
    }
    let buf = buffer_view(obj, what)?;
    // SAFETY: C-contiguous u8 buffer of len_bytes bytes, export held by `buf` meanwhile.
    let s = unsafe { std::slice::from_raw_parts(buf.buf_ptr() as *const u8, buf.len_bytes()) };
    Ok(f(s))
}

/// A sequence of payloads: a list/tuple of bytes-like objects, or a 2-D C-contiguous uint8
/// buffer (one row per payload).
pub fn payloads(obj: &Bound<'_, PyAny>) -> PyResult<Payloads> {
    let mut out = Payloads::empty();
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let n = obj.len()?;
        out.views.reserve(n);
        out._keep_objects.reserve(n);
        for (i, item) in obj.try_iter()?.enumerate() {
            out.push_item(item?, || format!("payloads[{i}]"))?;
        }
        return Ok(out);
    }
    if obj.is_instance_of::<PyBytes>() {
        return Err(type_error(
            "payloads must be a list of bytes-like objects or a 2-D uint8 array, not one bytes object",
        ));
    }
    let buf = PyBuffer::<u8>::get(obj).map_err(|_| {
        type_error("payloads must be a list/tuple of bytes-like objects or a 2-D C-contiguous uint8 array")
    })?;
    if buf.dimensions() != 2 || !buf.is_c_contiguous() {
        return Err(invalid(format!(
            "a payload array must be 2-D and C-contiguous (one row per entry), got shape {:?}",
            buf.shape()
        )));
    }
    let (rows, width) = (buf.shape()[0], buf.shape()[1]);
    let base = buf.buf_ptr() as *mut u8;
    for r in 0..rows {
        // SAFETY: row r lies inside the rows*width contiguous bytes of the buffer.
        out.views.push((non_null(unsafe { base.add(r * width) }), width));
    }
    out._keep_buffers.push(buf);
    Ok(out)
}

/// A checkpoint marker: bytes-like, or a non-negative int stored as 8 little-endian bytes.
pub fn marker(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(v) = obj.extract::<i64>() {
        if v < 0 {
            return Err(invalid(format!("an int checkpoint marker must be >= 0, got {v}")));
        }
        return Ok((v as u64).to_le_bytes().to_vec());
    }
    with_payload(obj, "marker", |s| s.to_vec())
}
