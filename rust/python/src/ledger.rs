//! `pinnacle._core.Ledger`: the trading-state ledger (`pinnacle_ledger`) journaled
//! write-ahead. Conversion only: Python numbers to exact decimals (floats at their
//! shortest repr), records built from arguments, views returned as tuples of decimal text
//! (`pinnacle.ledger` makes them typed views with `Decimal`s). Every refusal is a
//! `LedgerError` (errors.rs).

use crate::convert;
use crate::errors::{ledger_err, ledger_refused, ledger_refused_code};
use crate::journal::PyJournal;
use crate::ledger_convert::{dec, fill_tuple, now, order_tuple, snapshot_refused, text};
use pinnacle_core::locks::Mutex;
use pinnacle_core::SyncPolicy;
use pinnacle_ledger::{history, snapshot};
use pinnacle_ledger::{
    Dec, FillIn, JournaledLedger, Ledger, LedgerRecord, Op, OrderType, Outcome, Side, Submit,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

#[pyclass(name = "Ledger", module = "pinnacle._core", frozen)]
pub struct PyLedger {
    inner: JournaledLedger,
    /// A past state (`state_at`): every operation is refused.
    read_only: bool,
    /// Mark prices (not journaled): they only feed unrealized P&L and exposure.
    marks: Mutex<BTreeMap<String, Dec>>,
    /// Journaled with sync "always": the GIL is released while a record becomes durable.
    blocking: AtomicBool,
}

/// A snapshot header: (journal id as 32 hex digits or None, covered seq, created ns).
type SnapHeader = (Option<String>, u64, i64);

impl PyLedger {
    fn build(state: Ledger, journal: Option<&PyJournal>) -> PyResult<PyLedger> {
        let core = journal.map(|j| j.core().clone());
        let blocking = core.as_ref().is_some_and(|j| j.options().sync == SyncPolicy::Always);
        Ok(PyLedger {
            inner: JournaledLedger::new(state, core).map_err(ledger_err)?,
            read_only: false,
            marks: Mutex::new(BTreeMap::new()),
            blocking: AtomicBool::new(blocking),
        })
    }

    fn run(&self, py: Python<'_>, ts: Option<i64>, op: Op) -> PyResult<Outcome> {
        if self.read_only {
            return Err(ledger_refused_code(
                "read_only",
                "this is a past state of the ledger (state_at): read-only".into(),
            ));
        }
        let record = LedgerRecord { ts_ns: now(ts), op };
        // Before journaling: a record from the future would be journaled for good.
        record.check_fresh(pinnacle_core::wall_clock_ns()).map_err(ledger_refused)?;
        let result = if self.blocking.load(Ordering::Relaxed) {
            py.detach(|| self.inner.apply(record))
        } else {
            self.inner.apply(record)
        };
        result.map_err(ledger_err)
    }

    fn run_order<'py>(&self, py: Python<'py>, ts: Option<i64>, op: Op) -> PyResult<Bound<'py, PyTuple>> {
        match self.run(py, ts, op)? {
            Outcome::Order(o) => order_tuple(py, &o),
            _ => Err(ledger_refused_code("internal", "the ledger gave no order back".into())),
        }
    }

    fn done(&self, py: Python<'_>, ts: Option<i64>, op: Op) -> PyResult<()> {
        self.run(py, ts, op).map(|_| ())
    }
}

#[pymethods]
impl PyLedger {
    #[new]
    #[pyo3(signature = (*, journal=None))]
    fn new(journal: Option<PyRef<'_, PyJournal>>) -> PyResult<Self> {
        Self::build(Ledger::new(), journal.as_deref())
    }

    /// Journals every later record to `journal` (after recovery).
    fn attach_journal(&self, journal: PyRef<'_, PyJournal>) -> PyResult<()> {
        let core = journal.core().clone();
        let always = core.options().sync == SyncPolicy::Always;
        self.inner.attach(core).map_err(ledger_err)?;
        self.blocking.store(always, Ordering::Relaxed);
        Ok(())
    }

    #[pyo3(signature = (client_id, symbol, exchange, side, order_type, price, quantity, strategy_id=None, timestamp_ns=None))]
    #[allow(clippy::too_many_arguments)]
    fn submit<'py>(
        &self,
        py: Python<'py>,
        client_id: &Bound<'_, PyAny>,
        symbol: &Bound<'_, PyAny>,
        exchange: &Bound<'_, PyAny>,
        side: &Bound<'_, PyAny>,
        order_type: &Bound<'_, PyAny>,
        price: Option<&Bound<'_, PyAny>>,
        quantity: &Bound<'_, PyAny>,
        strategy_id: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let s = Submit {
            client_id: text(client_id, "client_id")?,
            symbol: text(symbol, "symbol")?,
            exchange: text(exchange, "exchange")?,
            side: Side::parse(&text(side, "side")?).map_err(ledger_refused)?,
            order_type: OrderType::parse(&text(order_type, "order_type")?).map_err(ledger_refused)?,
            price: price.map(|p| dec(p, "price")).transpose()?,
            quantity: dec(quantity, "quantity")?,
            strategy_id: strategy_id.map(|s| text(s, "strategy_id")).transpose()?,
        };
        self.run_order(py, timestamp_ns, Op::Submit(s))
    }

    #[pyo3(signature = (client_id, exchange_order_id, timestamp_ns=None))]
    fn ack<'py>(
        &self,
        py: Python<'py>,
        client_id: &Bound<'_, PyAny>,
        exchange_order_id: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let op = Op::Ack {
            client_id: text(client_id, "client_id")?,
            exchange_order_id: text(exchange_order_id, "exchange_order_id")?,
        };
        self.run_order(py, timestamp_ns, op)
    }

    #[pyo3(signature = (client_id, reason, timestamp_ns=None))]
    fn reject<'py>(
        &self,
        py: Python<'py>,
        client_id: &Bound<'_, PyAny>,
        reason: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let op = Op::Reject { client_id: text(client_id, "client_id")?, reason: text(reason, "reason")? };
        self.run_order(py, timestamp_ns, op)
    }

    #[pyo3(signature = (client_id, timestamp_ns=None))]
    fn cancel<'py>(
        &self,
        py: Python<'py>,
        client_id: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        self.run_order(py, timestamp_ns, Op::Cancel { client_id: text(client_id, "client_id")? })
    }

    /// Records a fill: (the fill, True), or for a re-delivered (exchange, trade_id) the
    /// fill recorded before and False (nothing journaled).
    #[pyo3(signature = (client_id, trade_id, price, quantity, fee=None, fee_asset=None, timestamp_ns=None))]
    #[allow(clippy::too_many_arguments)]
    fn fill<'py>(
        &self,
        py: Python<'py>,
        client_id: &Bound<'_, PyAny>,
        trade_id: &Bound<'_, PyAny>,
        price: &Bound<'_, PyAny>,
        quantity: &Bound<'_, PyAny>,
        fee: Option<&Bound<'_, PyAny>>,
        fee_asset: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<(Bound<'py, PyTuple>, bool)> {
        let f = FillIn {
            client_id: text(client_id, "client_id")?,
            trade_id: text(trade_id, "trade_id")?,
            price: dec(price, "price")?,
            quantity: dec(quantity, "quantity")?,
            fee: fee.map(|f| dec(f, "fee")).transpose()?.unwrap_or_default(),
            fee_asset: fee_asset.map(|a| text(a, "fee_asset")).transpose()?.unwrap_or_default(),
        };
        match self.run(py, timestamp_ns, Op::Fill(f))? {
            Outcome::Fill(f, new) => Ok((fill_tuple(py, &f)?, new)),
            _ => Err(ledger_refused_code("internal", "the ledger gave no fill back".into())),
        }
    }

    #[pyo3(signature = (symbol, exchange, quantity, avg_price, timestamp_ns=None))]
    fn set_position(
        &self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        exchange: &Bound<'_, PyAny>,
        quantity: &Bound<'_, PyAny>,
        avg_price: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<()> {
        let op = Op::Position {
            symbol: text(symbol, "symbol")?,
            exchange: text(exchange, "exchange")?,
            quantity: dec(quantity, "quantity")?,
            avg_price: dec(avg_price, "avg_price")?,
        };
        self.done(py, timestamp_ns, op)
    }

    #[pyo3(signature = (exchange, asset, total, available, timestamp_ns=None))]
    fn set_balance(
        &self,
        py: Python<'_>,
        exchange: &Bound<'_, PyAny>,
        asset: &Bound<'_, PyAny>,
        total: &Bound<'_, PyAny>,
        available: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<()> {
        let op = Op::Balance {
            exchange: text(exchange, "exchange")?,
            asset: text(asset, "asset")?,
            total: dec(total, "total")?,
            available: dec(available, "available")?,
        };
        self.done(py, timestamp_ns, op)
    }

    #[pyo3(signature = (reason, timestamp_ns=None))]
    fn halt(
        &self,
        py: Python<'_>,
        reason: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<()> {
        self.done(py, timestamp_ns, Op::Halt { reason: text(reason, "reason")? })
    }

    #[pyo3(signature = (timestamp_ns=None))]
    fn resume(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<()> {
        self.done(py, timestamp_ns, Op::Resume)
    }

    #[pyo3(signature = (key, value, timestamp_ns=None))]
    fn set_config(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<()> {
        self.done(
            py,
            timestamp_ns,
            Op::Config { key: text(key, "config key")?, value: text(value, "config value")? },
        )
    }

    /// `what`: "parameters" (JSON text), "custom_state" (bytes), "active" (bool) or
    /// "signal" (value None).
    #[pyo3(signature = (strategy_id, what, value=None, timestamp_ns=None))]
    fn strategy_update(
        &self,
        py: Python<'_>,
        strategy_id: &Bound<'_, PyAny>,
        what: &str,
        value: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<()> {
        let id = text(strategy_id, "strategy_id")?;
        let bad = |m: &str| ledger_refused_code("invalid_type", m.to_owned());
        let op = match (what, value) {
            ("parameters", Some(v)) => Op::StrategyParams { id, json: text(v, "strategy parameters")? },
            ("custom_state", Some(v)) => Op::StrategyState {
                id,
                state: v
                    .cast::<PyBytes>()
                    .map_err(|_| bad("custom_state must be bytes"))?
                    .as_bytes()
                    .to_vec(),
            },
            ("active", Some(v)) => Op::StrategyActive {
                id,
                active: v.extract::<bool>().map_err(|_| bad("active must be a bool"))?,
            },
            ("signal", None) => Op::StrategySignal { id },
            _ => return Err(bad(&format!("unknown strategy update {what:?}"))),
        };
        self.done(py, timestamp_ns, op)
    }

    #[pyo3(signature = (before_ns, timestamp_ns=None))]
    fn prune_fills(
        &self,
        py: Python<'_>,
        before_ns: i64,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<()> {
        self.done(py, timestamp_ns, Op::PruneFills { before_ns })
    }

    /// Sets a mark price (not journaled): feeds unrealized P&L and exposure.
    fn set_mark(&self, symbol: &Bound<'_, PyAny>, price: &Bound<'_, PyAny>) -> PyResult<()> {
        let (s, p) = (text(symbol, "symbol")?, dec(price, "mark price")?);
        if !p.is_positive() {
            return Err(ledger_refused_code(
                "invalid_value",
                format!("mark price must be positive, got {p}"),
            ));
        }
        self.marks.lock().insert(s, p);
        Ok(())
    }

    fn orders<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.inner.with_state(|l| l.orders.values().map(|o| order_tuple(py, o)).collect())
    }

    fn order<'py>(
        &self,
        py: Python<'py>,
        client_id: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let id = text(client_id, "client_id")?;
        self.inner.with_state(|l| l.order(&id).map(|o| order_tuple(py, o)).transpose())
    }

    fn recent_fills<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.inner.with_state(|l| l.recent_fills().map(|f| fill_tuple(py, f)).collect())
    }

    /// [(symbol, exchange, quantity, avg_price, realized_pnl, updated_ns)].
    fn positions(&self) -> Vec<(String, String, String, String, String, i64)> {
        self.inner.with_state(|l| {
            l.positions
                .iter()
                .map(|((s, e), p)| {
                    (
                        s.clone(),
                        e.clone(),
                        p.quantity.text(),
                        p.avg_price.text(),
                        p.realized_pnl.text(),
                        p.updated_ns,
                    )
                })
                .collect()
        })
    }

    /// [(exchange, asset, total, available, updated_ns)].
    fn balances(&self) -> Vec<(String, String, String, String, i64)> {
        self.inner.with_state(|l| {
            l.balances
                .iter()
                .map(|((e, a), b)| (e.clone(), a.clone(), b.total.text(), b.available.text(), b.updated_ns))
                .collect()
        })
    }

    fn fees(&self) -> BTreeMap<String, String> {
        self.inner.with_state(|l| l.fees.iter().map(|(a, v)| (a.clone(), v.text())).collect())
    }

    /// (halted, reason, halt_ns, realized, unrealized, gross exposure, net exposure);
    /// figures None when they overflow.
    #[allow(clippy::type_complexity)]
    fn risk(
        &self,
    ) -> (bool, Option<String>, Option<i64>, String, Option<String>, Option<String>, Option<String>) {
        let marks = self.marks.lock().clone();
        self.inner.with_state(|l| {
            let exposure = l.exposure(&marks);
            (
                l.risk.halted,
                l.risk.reason.clone(),
                l.risk.halt_ns,
                l.realized_pnl.text(),
                l.unrealized(&marks).map(Dec::text),
                exposure.map(|e| e.0.text()),
                exposure.map(|e| e.1.text()),
            )
        })
    }

    fn config(&self) -> (BTreeMap<String, String>, u64) {
        self.inner.with_state(|l| (l.config.clone(), l.config_version))
    }

    /// [(id, parameters JSON, custom_state, active, last_signal_ns, updated_ns)].
    #[allow(clippy::type_complexity)]
    fn strategies<'py>(
        &self,
        py: Python<'py>,
    ) -> Vec<(String, String, Bound<'py, PyBytes>, bool, Option<i64>, i64)> {
        self.inner.with_state(|l| {
            l.strategies
                .iter()
                .map(|(id, s)| {
                    (
                        id.clone(),
                        s.parameters.clone(),
                        PyBytes::new(py, &s.custom_state),
                        s.active,
                        s.last_signal_ns,
                        s.updated_ns,
                    )
                })
                .collect()
        })
    }

    /// (last update ns, records applied).
    fn stats(&self) -> (i64, u64) {
        self.inner.with_state(|l| (l.last_update_ns, l.ops))
    }

    fn checksum(&self) -> u64 {
        self.inner.with_state(Ledger::checksum)
    }

    /// Broken invariants (empty: sound); timestamps may run `tolerance_ns` ahead of now.
    #[pyo3(signature = (tolerance_ns=60_000_000_000))]
    fn problems(&self, tolerance_ns: i64) -> Vec<String> {
        let now = pinnacle_core::wall_clock_ns();
        self.inner.with_state(|l| l.problems(now, tolerance_ns))
    }

    /// Broken invariants that mean the state is wrong, whatever the clock says.
    fn state_problems(&self) -> Vec<String> {
        self.inner.with_state(Ledger::state_problems)
    }

    /// Timestamps more than `tolerance_ns` ahead of now (a clock stepped back, or a bad
    /// record journaled before they were refused): warnings, not corruption.
    fn future_timestamps(&self, tolerance_ns: i64) -> Vec<String> {
        let now = pinnacle_core::wall_clock_ns();
        self.inner.with_state(|l| l.future_timestamps(now, tolerance_ns))
    }

    /// Applies the ledger records of `journal` with seq >= from_seq; returns how many.
    fn replay_journal(
        &self,
        py: Python<'_>,
        journal: PyRef<'_, PyJournal>,
        #[pyo3(from_py_with = convert::from_seq)] from_seq: u64,
    ) -> PyResult<u64> {
        let j = journal.core().clone();
        py.detach(|| self.inner.replay_journal(&j, from_seq)).map_err(ledger_err)
    }

    /// The canonical encoding of the state and the last journal seq it holds (0 when
    /// unjournaled): a consistent pair (no record lands in between).
    fn state_bytes<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyBytes>, u64)> {
        let journal = self.inner.journal().cloned();
        let (bytes, seq) = self.inner.with_state(|l| {
            let mut out = Vec::new();
            l.encode_canonical(&mut out);
            (out, journal.as_ref().map_or(0, |j| j.next_seq().saturating_sub(1)))
        });
        Ok((PyBytes::new(py, &bytes), seq))
    }

    /// A ledger from `state_bytes` (refused: newer schema, damage, non-canonical bytes).
    #[staticmethod]
    #[pyo3(signature = (data, *, journal=None))]
    fn from_state_bytes(data: &[u8], journal: Option<PyRef<'_, PyJournal>>) -> PyResult<Self> {
        let state = Ledger::decode_canonical(data).map_err(|e| {
            let msg = format!("ledger state: {e}");
            match e.code {
                pinnacle_ledger::ErrorCode::Version => crate::errors::unsupported(msg),
                _ => crate::errors::corruption(msg),
            }
        })?;
        Self::build(state, journal.as_deref())
    }

    /// A snapshot of the live state bound to its journal: (bytes, covered seq). Writers
    /// wait meanwhile (the state and the seq it covers are one consistent pair).
    #[pyo3(signature = (created_ns=None))]
    fn snapshot_bytes<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = convert::created_ns)] created_ns: Option<i64>,
    ) -> PyResult<(Bound<'py, PyBytes>, u64)> {
        let journal = self.inner.journal().cloned();
        let id = journal.as_ref().and_then(|j| j.journal_id()).unwrap_or(0);
        let ts = now(created_ns);
        let (bytes, seq) = self.inner.with_state(|l| {
            let seq = journal.as_ref().map_or(0, |j| j.next_seq().saturating_sub(1));
            (snapshot::encode_snapshot(l, id, seq, ts), seq)
        });
        Ok((PyBytes::new(py, &bytes), seq))
    }

    /// A ledger from a verified snapshot and its header (journal id as 32 hex digits or
    /// None, covered seq, created ns).
    #[staticmethod]
    fn from_snapshot(py: Python<'_>, data: &[u8]) -> PyResult<(Self, SnapHeader)> {
        let (h, state) = py.detach(|| snapshot::decode_snapshot(data)).map_err(snapshot_refused)?;
        let id = crate::errors::journal_id_text(Some(h.journal_id));
        Ok((Self::build(state, None)?, (id, h.covered_seq, h.created_ns)))
    }

    /// The header of a ledger snapshot (not verified beyond itself): (journal id, covered
    /// seq, created ns).
    #[staticmethod]
    fn peek_snapshot(data: &[u8]) -> PyResult<SnapHeader> {
        let h = snapshot::peek_header(data).map_err(snapshot_refused)?;
        Ok((crate::errors::journal_id_text(Some(h.journal_id)), h.covered_seq, h.created_ns))
    }

    /// The read-only state after applying, on top of this (unjournaled) ledger, the
    /// entries of `journal` from `from_seq` with seq <= `until_seq` and timestamp <=
    /// `until_ns`.
    #[pyo3(signature = (journal, from_seq, until_seq=None, until_ns=None))]
    fn state_at(
        &self,
        py: Python<'_>,
        journal: PyRef<'_, PyJournal>,
        #[pyo3(from_py_with = convert::from_seq)] from_seq: u64,
        until_seq: Option<u64>,
        until_ns: Option<i64>,
    ) -> PyResult<Self> {
        let mut state = self.inner.with_state(Ledger::clone);
        let j = journal.core().clone();
        let (seq, ns) = (until_seq.unwrap_or(u64::MAX), until_ns.unwrap_or(i64::MAX));
        py.detach(|| history::replay_until(&mut state, &j, from_seq, seq, ns)).map_err(ledger_err)?;
        let mut past = Self::build(state, None)?;
        past.read_only = true;
        Ok(past)
    }

    /// ForkedHandleError when journaled and used in a forked child.
    fn check_owner(&self) -> PyResult<()> {
        self.inner.check_owner().map_err(ledger_err)
    }

    /// The seq of the last entry in the ledger's journal, read under the ledger's lock (0:
    /// unjournaled or empty): every record applied so far has a seq at most this.
    #[getter]
    fn journal_seq(&self) -> u64 {
        let journal = self.inner.journal().cloned();
        self.inner.with_state(|_| journal.map_or(0, |j| j.next_seq().saturating_sub(1)))
    }

    #[getter]
    fn journaled(&self) -> bool {
        self.inner.journal().is_some()
    }

    #[getter]
    fn journal_path(&self) -> Option<std::path::PathBuf> {
        self.inner.journal().map(|j| j.path().to_path_buf())
    }
}
