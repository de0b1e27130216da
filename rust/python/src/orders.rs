//! Orders, fills and snapshot headers as Python objects, and the conversion of order
//! ids and sides from Python arguments.

use crate::errors::{invalid, type_error};
use pinnacle_book::{OrderId, Side, SnapshotMeta};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyString};

pub fn order_id(obj: &Bound<'_, PyAny>) -> PyResult<OrderId> {
    if let Some(v) = crate::convert::exact_i64(obj).filter(|v| *v >= 0) {
        return Ok(OrderId::Int(v as u64));
    }
    if let Ok(s) = obj.cast_exact::<PyString>() {
        if let Ok(text) = s.to_str() {
            return OrderId::string(text).map_err(|e| invalid(format!("order_id: {e}")));
        }
    }
    if obj.is_instance_of::<PyString>() {
        let s = crate::convert::text_arg(obj, "order_id")?;
        return OrderId::string(&s).map_err(|e| invalid(format!("order_id: {e}")));
    }
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        return obj
            .extract::<u64>()
            .map(OrderId::Int)
            .map_err(|_| invalid("order_id: an int order id must be between 0 and 2**64-1".to_string()));
    }
    Err(type_error(format!(
        "order_id must be a str (at most 64 UTF-8 bytes) or a non-negative int, not {}",
        obj.get_type().name()?
    )))
}

pub(crate) fn id_object(py: Python<'_>, id: &OrderId) -> PyResult<Py<PyAny>> {
    Ok(match id {
        OrderId::Int(v) => v.into_pyobject(py)?.into_any().unbind(),
        OrderId::Str(s) => PyString::new(py, s.as_str()).into_any().unbind(),
    })
}

pub(crate) fn side(obj: &Bound<'_, PyAny>) -> PyResult<Side> {
    // Fast path without copying the text; anything else (a lone surrogate, a bad value)
    // takes the checks below.
    if let Ok(s) = obj.cast::<PyString>() {
        match s.to_str() {
            Ok("buy" | "BUY" | "Buy") => return Ok(Side::Buy),
            Ok("sell" | "SELL" | "Sell") => return Ok(Side::Sell),
            _ => {}
        }
    }
    if !obj.is_instance_of::<PyString>() {
        return Err(type_error("side must be 'buy' or 'sell' (or pinnacle.Side)"));
    }
    match crate::convert::text_arg(obj, "side")?.as_str() {
        "buy" | "BUY" | "Buy" => Ok(Side::Buy),
        "sell" | "SELL" | "Sell" => Ok(Side::Sell),
        other => Err(invalid(format!("side must be 'buy' or 'sell', got {other:?}"))),
    }
}

pub(crate) fn side_name(s: Side) -> &'static str {
    match s {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

/// A resting order (a copy; later book changes do not alter it).
#[pyclass(name = "Order", module = "pinnacle._core", frozen, get_all)]
pub struct PyOrder {
    pub(crate) order_id: Py<PyAny>,
    pub(crate) side: &'static str,
    pub(crate) price: f64,
    pub(crate) quantity: f64,
    pub(crate) filled_quantity: f64,
    pub(crate) remaining_quantity: f64,
    pub(crate) timestamp_ns: i64,
}

#[pymethods]
impl PyOrder {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Order(order_id={}, side='{}', price={}, quantity={}, filled_quantity={}, timestamp_ns={})",
            self.order_id.bind(py).repr().map(|r| r.to_string()).unwrap_or_default(),
            self.side,
            self.price,
            self.quantity,
            self.filled_quantity,
            self.timestamp_ns
        )
    }
}

/// One execution: `side` is the resting (maker) order's side; `taker_order_id` is None
/// for `execute_order` and market orders.
#[pyclass(name = "Fill", module = "pinnacle._core", frozen, get_all)]
pub struct PyFill {
    pub(crate) maker_order_id: Py<PyAny>,
    pub(crate) taker_order_id: Option<Py<PyAny>>,
    pub(crate) side: &'static str,
    pub(crate) price: f64,
    pub(crate) quantity: f64,
    pub(crate) timestamp_ns: i64,
}

#[pymethods]
impl PyFill {
    fn __repr__(&self, py: Python<'_>) -> String {
        let id = |o: &Py<PyAny>| o.bind(py).repr().map(|r| r.to_string()).unwrap_or_default();
        format!(
            "Fill(maker_order_id={}, taker_order_id={}, side='{}', price={}, quantity={}, timestamp_ns={})",
            id(&self.maker_order_id),
            self.taker_order_id.as_ref().map_or("None".to_string(), id),
            self.side,
            self.price,
            self.quantity,
            self.timestamp_ns
        )
    }
}

/// Header of a validated snapshot.
#[pyclass(name = "SnapshotInfo", module = "pinnacle._core", frozen, get_all)]
pub struct PySnapshotInfo {
    pub(crate) covered_seq: u64,
    pub(crate) created_ns: i64,
    pub(crate) symbol: String,
    pub(crate) order_count: u64,
    /// The identity of the journal the snapshot belongs to (None: format 1 or a journal
    /// without identity).
    pub(crate) journal_id: Option<String>,
    /// The grid recorded in the snapshot (None: format 1).
    pub(crate) tick_size: Option<String>,
    pub(crate) lot_size: Option<String>,
}

impl From<SnapshotMeta> for PySnapshotInfo {
    fn from(m: SnapshotMeta) -> Self {
        let b = m.binding;
        PySnapshotInfo {
            covered_seq: m.covered_seq,
            created_ns: m.created_ns,
            symbol: m.symbol,
            order_count: m.order_count,
            journal_id: crate::errors::journal_id_text(b.as_ref().map(|b| b.journal_id)),
            tick_size: b.as_ref().map(|b| b.tick_size.clone()),
            lot_size: b.map(|b| b.lot_size),
        }
    }
}
