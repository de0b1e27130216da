//! Conversions of the ledger bindings: Python numbers and strings to decimals and text
//! (refusals are `LedgerError`s), orders and fills to dicts of decimal text.

use crate::errors::{ledger_refused, ledger_refused_code};
use pinnacle_ledger::{Dec, LedgerError, Order};
use pyo3::prelude::*;
use pyo3::types::PyDict;

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

pub fn order_dict<'py>(py: Python<'py>, o: &Order) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("client_id", &o.client_id)?;
    d.set_item("symbol", &o.symbol)?;
    d.set_item("exchange", &o.exchange)?;
    d.set_item("side", o.side.as_str())?;
    d.set_item("order_type", o.order_type.as_str())?;
    d.set_item("price", o.price.map(Dec::text))?;
    d.set_item("quantity", o.quantity.text())?;
    d.set_item("filled_quantity", o.filled.text())?;
    d.set_item("status", o.status.as_str())?;
    d.set_item("exchange_order_id", &o.exchange_order_id)?;
    d.set_item("strategy_id", &o.strategy_id)?;
    d.set_item("reason", &o.reason)?;
    d.set_item("created_ns", o.created_ns)?;
    d.set_item("updated_ns", o.updated_ns)?;
    Ok(d)
}

pub fn fill_dict<'py>(py: Python<'py>, f: &pinnacle_ledger::Fill) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("exchange", &f.exchange)?;
    d.set_item("trade_id", &f.trade_id)?;
    d.set_item("client_id", &f.client_id)?;
    d.set_item("symbol", &f.symbol)?;
    d.set_item("side", f.side.as_str())?;
    d.set_item("price", f.price.text())?;
    d.set_item("quantity", f.quantity.text())?;
    d.set_item("fee", f.fee.text())?;
    d.set_item("fee_asset", &f.fee_asset)?;
    d.set_item("realized_pnl", f.realized.text())?;
    d.set_item("timestamp_ns", f.ts_ns)?;
    Ok(d)
}
