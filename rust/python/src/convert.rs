//! Argument conversion: payloads, kinds, timestamps, option strings.

use crate::errors::{invalid, type_error};
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt, PyList, PyString, PyTuple};
use std::path::PathBuf;
use std::ptr::NonNull;

// Integer arguments. pyo3's own `i64` extraction raises a bare OverflowError (not naming
// the argument) for ints >= 2**63 and takes `True` as 1, so every int argument of the
// bindings goes through `#[pyo3(from_py_with = convert::NAME)]`, one extractor per
// argument name: a wrong type is a TypeError and a value out of range an
// InvalidArgumentError, both naming the argument.

/// The value of an exact `int` (not a subclass, so never a bool) that fits in i64; None for
/// anything else, which then takes the general path with its checks and error messages. A
/// fast path: every caller returns what the general path would for the ints it accepts.
#[inline]
pub fn exact_i64(obj: &Bound<'_, PyAny>) -> Option<i64> {
    if !obj.is_exact_instance_of::<PyInt>() {
        return None;
    }
    let mut overflow: std::os::raw::c_int = 0;
    // SAFETY: `obj` is a live exact int (GIL held through `Bound`); on overflow CPython sets
    // the flag, not an exception, and an exact int cannot fail its `__index__`.
    let v = unsafe { pyo3::ffi::PyLong_AsLongLongAndOverflow(obj.as_ptr(), &mut overflow) };
    (overflow == 0 && !(v == -1 && PyErr::occurred(obj.py()))).then_some(v)
}

/// Whole grid steps of an exact int value, computed in i64: a grid step `digits * 10^-scale`
/// turns a value `v` into `v * 10^scale / digits` steps when that division is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntSteps {
    mul: i64,
    div: i64,
}

impl IntSteps {
    /// From a step's canonical decimal text (`Grid::text`: "0.01", "5", "2.5"); None when
    /// it does not fit i64 (every value then takes the general path).
    pub fn of_step(text: &str) -> Option<IntSteps> {
        let (int_part, frac) = text.split_once('.').unwrap_or((text, ""));
        let div: i64 = format!("{int_part}{frac}").parse().ok()?;
        let mul = 10i64.checked_pow(u32::try_from(frac.len()).ok()?)?;
        (div > 0).then_some(IntSteps { mul, div })
    }

    /// `obj`'s steps when it is an exact int on the grid whose product fits i64; None: the
    /// general conversion decides (and words any refusal).
    #[inline]
    pub fn units(self, obj: &Bound<'_, PyAny>) -> Option<i64> {
        let num = exact_i64(obj)?.checked_mul(self.mul)?;
        (num % self.div == 0).then_some(num / self.div)
    }
}

/// An int of any size (anything with `__index__`, bool excepted), saturated to i128.
pub fn int_value(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<i128> {
    if obj.is_instance_of::<PyBool>() {
        return Err(type_error(format!("{name} must be an int, not bool")));
    }
    match obj.extract::<i128>() {
        Ok(v) => Ok(v),
        Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) && obj.is_instance_of::<PyInt>() => {
            Ok(if obj.gt(0)? { i128::MAX } else { i128::MIN })
        }
        Err(_) => Err(type_error(format!("{name} must be an int, not {}", type_name(obj)))),
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
}

/// `obj` as an int in lo..=hi, or an error naming `name` and the allowed range.
fn int_in(obj: &Bound<'_, PyAny>, name: &str, lo: i128, hi: i128, unit: &str) -> PyResult<i128> {
    let v = int_value(obj, name)?;
    if (lo..=hi).contains(&v) {
        return Ok(v);
    }
    let got =
        if v == i128::MAX || v == i128::MIN { "an int beyond 2**127".to_string() } else { v.to_string() };
    let range =
        if v < lo && hi >= i64::MAX as i128 { format!(">= {lo}") } else { format!("between {lo} and {hi}") };
    Err(invalid(format!("{name} must be {range}{unit}, got {got}")))
}

fn optional<T>(
    obj: &Bound<'_, PyAny>,
    f: impl FnOnce(&Bound<'_, PyAny>) -> PyResult<T>,
) -> PyResult<Option<T>> {
    if obj.is_none() {
        Ok(None)
    } else {
        f(obj).map(Some)
    }
}

/// Extractors for unsigned (u64) int arguments, one per argument name.
macro_rules! seq_args {
    ($($name:ident),*) => {$(
        pub fn $name(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
            int_in(obj, stringify!($name), 0, u64::MAX as i128, "").map(|v| v as u64)
        }
    )*};
}
seq_args!(from_seq, keep_from_seq, initial_size, growth_step, offset, expected_seq, payload_len, covered_seq);

pub fn kind(obj: &Bound<'_, PyAny>) -> PyResult<u16> {
    int_in(obj, "kind", 0, u16::MAX as i128, "").map(|v| v as u16)
}

pub fn levels(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    int_in(obj, "levels", 0, i64::MAX as i128, "").map(|v| v as usize)
}

/// A rate-limit cost: units of budget, 1..=u32::MAX.
pub fn cost(obj: &Bound<'_, PyAny>) -> PyResult<u32> {
    int_in(obj, "cost", 1, u32::MAX as i128, "").map(|v| v as u32)
}

/// A time in ns since the Unix epoch, any i64 (a limiter's clock may be set back).
pub fn t_ns(obj: &Bound<'_, PyAny>) -> PyResult<i64> {
    int_in(obj, "t_ns", i64::MIN as i128, i64::MAX as i128, "").map(|v| v as i64)
}

pub fn sync_interval_ms(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    int_in(obj, "sync_interval_ms", 1, 3_600_000, "").map(|v| v as u64)
}

pub fn max_entry_size(obj: &Bound<'_, PyAny>) -> PyResult<u32> {
    int_in(obj, "max_entry_size", 1, 1 << 30, "").map(|v| v as u32)
}

pub fn until_seq(obj: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
    optional(obj, |o| int_in(o, "until_seq", 0, u64::MAX as i128, "").map(|v| v as u64))
}

/// None: no limit.
pub fn max_entries(obj: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
    optional(obj, |o| int_in(o, "max_entries", 1, i64::MAX as i128, "").map(|v| v as usize))
}

const NS: &str = " (ns since the Unix epoch)";

pub fn timestamp_ns(obj: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
    if let Some(v) = exact_i64(obj).filter(|v| *v >= 0) {
        return Ok(Some(v));
    }
    optional(obj, |o| int_in(o, "timestamp_ns", 0, i64::MAX as i128, NS).map(|v| v as i64))
}

pub fn created_ns(obj: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
    optional(obj, |o| int_in(o, "created_ns", 0, i64::MAX as i128, NS).map(|v| v as i64))
}

/// A str argument. A lone surrogate ("\\udcff") cannot be UTF-8: a bad value naming the
/// argument, not pyo3's bare UnicodeEncodeError.
pub fn text_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    let s = obj
        .cast::<PyString>()
        .map_err(|_| type_error(format!("{name} must be a str, not {}", type_name(obj))))?;
    s.to_str()
        .map(str::to_owned)
        .map_err(|_| invalid(format!("{name} must be valid Unicode text (no lone surrogates)")))
}

/// `obj` as one of `allowed` (a fixed set of option names, so the result is `'static`).
fn choice(obj: &Bound<'_, PyAny>, name: &str, allowed: &[&'static str]) -> PyResult<&'static str> {
    let s = text_arg(obj, name)?;
    allowed
        .iter()
        .copied()
        .find(|a| *a == s)
        .ok_or_else(|| invalid(format!("{name} must be one of {}, got {:.80?}", allowed.join(", "), s)))
}

pub fn sync(obj: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    choice(obj, "sync", &["none", "interval", "always"])
}

pub fn recovery(obj: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    choice(obj, "recovery", &["tolerate_tail", "absolute", "point_in_time", "skip_corrupted"])
}

pub fn growth(obj: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    choice(obj, "growth", &["auto", "remap"])
}

pub fn symbol(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    text_arg(obj, "symbol")
}

/// A file path argument (str or os.PathLike). A NUL byte cannot reach the OS: it is a bad
/// argument, not an I/O error without an errno.
fn path_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<PathBuf> {
    let p: PathBuf = obj
        .extract()
        .map_err(|_| type_error(format!("{name} must be a str or os.PathLike, not {}", type_name(obj))))?;
    if p.as_os_str().as_encoded_bytes().contains(&0) {
        return Err(invalid(format!("{name} must not contain a NUL byte, got {:?}", p)));
    }
    if p.as_os_str().is_empty() {
        return Err(invalid(format!("{name} must not be empty")));
    }
    Ok(p)
}

pub fn path(obj: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    path_arg(obj, "path")
}

pub fn journal_path(obj: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    path_arg(obj, "journal_path")
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
            self.views.push((non_null(s.as_ptr().cast_mut()), s.len()));
            self._keep_objects.push(item.unbind());
        } else {
            let buf = buffer_view(&item, &what())?;
            self.views.push((non_null(buf.buf_ptr().cast::<u8>()), buf.len_bytes()));
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

    /// The payload of a [`Payloads::single`] (the first of several).
    pub fn first(&self) -> PyResult<&[u8]> {
        let &(p, n) = self.views.first().ok_or_else(|| invalid("expected a payload, got none"))?;
        // SAFETY: see the type's comment; (ptr, len) came from a live buffer.
        Ok(unsafe { std::slice::from_raw_parts(p.as_ptr(), n) })
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
    let (&[rows, width], true) = (buf.shape(), buf.is_c_contiguous()) else {
        return Err(invalid(format!(
            "payloads: an array must be 2-D and C-contiguous (one row per entry), got shape {:?}",
            buf.shape()
        )));
    };
    let base = buf.buf_ptr().cast::<u8>();
    for r in 0..rows {
        // SAFETY: row r lies inside the rows*width contiguous bytes of the buffer.
        out.views.push((non_null(unsafe { base.add(r * width) }), width));
    }
    out._keep_buffers.push(buf);
    Ok(out)
}

/// A checkpoint marker: bytes-like, or an int in 0..2**64 stored as 8 little-endian bytes.
pub fn marker(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    // numpy int scalars too (an array's __index__ raises: it is a buffer)
    let int_like = obj.is_instance_of::<PyInt>() || obj.call_method0("__index__").is_ok();
    if int_like && !obj.is_instance_of::<PyBool>() {
        let v = int_in(obj, "marker", 0, u64::MAX as i128, "")?;
        return Ok((v as u64).to_le_bytes().to_vec());
    }
    with_payload(obj, "marker", |s| s.to_vec())
}
