//! Conversions of the ledger bindings: Python numbers and strings to decimals and text
//! (refusals are `LedgerError`s), orders and fills to tuples of decimal text.

use crate::errors::{ledger_refused, ledger_refused_code};
use pinnacle_ledger::{Dec, LedgerError, Order};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

pub fn dec(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Dec> {
    let text = crate::grid::decimal_text(obj, what).map_err(|e| {
        let code = if e.is_instance_of::<pyo3::exceptions::PyTypeError>(obj.py()) {
            "invalid_type"
        } else {
            "invalid_value"
        };
        ledger_refused_code(code, e.value(obj.py()).to_string())
    })?;
    Dec::parse(&text).map_err(|e| ledger_refused(LedgerError::dec(&format!("{what} {text}"), e)))
}

pub fn text(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    obj.extract::<String>().map_err(|_| {
        if obj.is_instance_of::<pyo3::types::PyString>() {
            return ledger_refused_code(
                "invalid_value",
                format!("{what} is not valid Unicode (lone surrogates)"),
            );
        }
        let ty = obj.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        ledger_refused_code("invalid_type", format!("{what} must be a str, not {ty}"))
    })
}

/// A snapshot that cannot be trusted: corruption, or UnsupportedFormatError when newer.
pub fn snapshot_refused(e: LedgerError) -> PyErr {
    match e.code {
        pinnacle_ledger::ErrorCode::Version => crate::errors::unsupported(e.message),
        _ => crate::errors::corruption(e.message),
    }
}

pub fn now(ts: Option<i64>) -> i64 {
    ts.unwrap_or_else(pinnacle_core::wall_clock_ns)
}

/// An order as a tuple in `pinnacle.ledger.LedgerOrder`'s field order (decimals as text).
pub fn order_tuple<'py>(py: Python<'py>, o: &Order) -> PyResult<Bound<'py, PyTuple>> {
    let items: [Bound<'py, PyAny>; 14] = [
        o.client_id.as_str().into_pyobject(py)?.into_any(),
        o.symbol.as_str().into_pyobject(py)?.into_any(),
        o.exchange.as_str().into_pyobject(py)?.into_any(),
        o.side.as_str().into_pyobject(py)?.into_any(),
        o.order_type.as_str().into_pyobject(py)?.into_any(),
        o.price.map(Dec::text).into_pyobject(py)?.into_any(),
        o.quantity.text().into_pyobject(py)?.into_any(),
        o.filled.text().into_pyobject(py)?.into_any(),
        o.status.as_str().into_pyobject(py)?.into_any(),
        o.exchange_order_id.as_deref().into_pyobject(py)?.into_any(),
        o.strategy_id.as_deref().into_pyobject(py)?.into_any(),
        o.reason.as_deref().into_pyobject(py)?.into_any(),
        o.created_ns.into_pyobject(py)?.into_any(),
        o.updated_ns.into_pyobject(py)?.into_any(),
    ];
    PyTuple::new(py, items)
}

/// A fill as a tuple in `pinnacle.ledger.LedgerFill`'s field order (decimals as text).
pub fn fill_tuple<'py>(py: Python<'py>, f: &pinnacle_ledger::Fill) -> PyResult<Bound<'py, PyTuple>> {
    let items: [Bound<'py, PyAny>; 11] = [
        f.exchange.as_str().into_pyobject(py)?.into_any(),
        f.trade_id.as_str().into_pyobject(py)?.into_any(),
        f.client_id.as_str().into_pyobject(py)?.into_any(),
        f.symbol.as_str().into_pyobject(py)?.into_any(),
        f.side.as_str().into_pyobject(py)?.into_any(),
        f.price.text().into_pyobject(py)?.into_any(),
        f.quantity.text().into_pyobject(py)?.into_any(),
        f.fee.text().into_pyobject(py)?.into_any(),
        f.fee_asset.as_str().into_pyobject(py)?.into_any(),
        f.realized.text().into_pyobject(py)?.into_any(),
        f.ts_ns.into_pyobject(py)?.into_any(),
    ];
    PyTuple::new(py, items)
}
