//! `pinnacle._core.OrderBook`: conversions around `pinnacle_book::JournaledBook`.

use crate::convert::{self, IntSteps};
use crate::errors::{engine_err, invalid, snapshot_err, OrderBookError};
use crate::grid::Grid;
use crate::journal::PyJournal;
use crate::orders::{self, id_object, side_name, PyFill, PyOrder, PySnapshotInfo};
use numpy::PyArray1;
use pinnacle_book::{
    decode_snapshot, BookError, EngineError, Fill, JournaledBook, Op, Order, OrderBook, Outcome,
};
use pinnacle_core::SyncPolicy;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A limit order book with price-time priority, exact tick/lot arithmetic, and (with a
/// journal) write-ahead journaling of every change.
#[pyclass(name = "OrderBook", module = "pinnacle._core", frozen)]
pub struct PyOrderBook {
    inner: Arc<JournaledBook>,
    price: Grid,
    qty: Grid,
    /// Int fast paths of `price` and `qty` (None: every value takes the general path).
    price_ints: Option<IntSteps>,
    qty_ints: Option<IntSteps>,
    symbol: String,
    journal: pinnacle_core::locks::Mutex<Option<Py<PyJournal>>>,
    /// The journal syncs every append: release the GIL around mutations.
    blocking: AtomicBool,
}

impl PyOrderBook {
    fn build(
        py: Python<'_>,
        book: OrderBook,
        price: Grid,
        qty: Grid,
        journal: Option<Py<PyJournal>>,
    ) -> PyResult<Self> {
        let symbol = book.symbol().to_string();
        let core = journal.as_ref().map(|j| j.get().core().clone());
        let blocking = core.as_ref().is_some_and(|j| j.options().sync == SyncPolicy::Always);
        let _ = py;
        Ok(PyOrderBook {
            inner: Arc::new(JournaledBook::new(book, core).map_err(engine_err)?),
            price,
            qty,
            price_ints: IntSteps::of_step(&price.text()),
            qty_ints: IntSteps::of_step(&qty.text()),
            symbol,
            journal: pinnacle_core::locks::Mutex::new(journal),
            blocking: AtomicBool::new(blocking),
        })
    }

    fn run(&self, py: Python<'_>, op: Op) -> PyResult<Outcome> {
        let result = if self.blocking.load(Ordering::Relaxed) {
            py.detach(|| self.inner.apply(op))
        } else {
            self.inner.apply(op)
        };
        result.map_err(|e| match e {
            EngineError::Book(b) => OrderBookError::new_err(self.describe(&b)),
            other => engine_err(other),
        })
    }

    /// A refusal in the caller's units: prices and quantities, not ticks and lots.
    fn describe(&self, e: &BookError) -> String {
        e.render(&|t| self.price.format(t), &|l| self.qty.format(l))
    }

    /// `price` in ticks: exact ints on the grid directly, anything else through the grid.
    #[inline]
    fn ticks(&self, price: &Bound<'_, PyAny>) -> PyResult<i64> {
        match self.price_ints.and_then(|g| g.units(price)) {
            Some(t) => Ok(t),
            None => self.price.units_of(price, "price"),
        }
    }

    /// `quantity` in lots (as [`PyOrderBook::ticks`]).
    #[inline]
    fn lots(&self, quantity: &Bound<'_, PyAny>) -> PyResult<i64> {
        match self.qty_ints.and_then(|g| g.units(quantity)) {
            Some(l) => Ok(l),
            None => self.qty.units_of(quantity, "quantity"),
        }
    }

    fn fill(&self, py: Python<'_>, f: &Fill) -> PyResult<PyFill> {
        self.fill_of(f, id_object(py, &f.maker_id)?, py)
    }

    fn fill_of(&self, f: &Fill, maker_order_id: Py<PyAny>, py: Python<'_>) -> PyResult<PyFill> {
        Ok(PyFill {
            maker_order_id,
            taker_order_id: f.taker_id.as_ref().map(|t| id_object(py, t)).transpose()?,
            side: side_name(f.side),
            price: self.price.float_of(f.price),
            quantity: self.qty.float_of(f.quantity),
            timestamp_ns: f.timestamp_ns,
        })
    }

    fn fills(&self, py: Python<'_>, fills: &[Fill]) -> PyResult<Vec<PyFill>> {
        fills.iter().map(|f| self.fill(py, f)).collect()
    }

    fn order(&self, py: Python<'_>, o: &Order) -> PyResult<PyOrder> {
        Ok(PyOrder {
            order_id: id_object(py, &o.id)?,
            side: side_name(o.side),
            price: self.price.float_of(o.price),
            quantity: self.qty.float_of(o.quantity),
            filled_quantity: self.qty.float_of(o.filled),
            remaining_quantity: self.qty.float_of(o.remaining()),
            timestamp_ns: o.timestamp_ns,
        })
    }

    fn ts(timestamp_ns: Option<i64>) -> PyResult<i64> {
        Ok(timestamp_ns.unwrap_or_else(pinnacle_core::wall_clock_ns))
    }

    pub fn core(&self) -> &Arc<JournaledBook> {
        &self.inner
    }

    /// ForkedHandleError when journaled and used in a forked child, before any lock.
    fn owned(&self) -> PyResult<()> {
        self.inner.check_owner().map_err(engine_err)
    }
}

#[pymethods]
impl PyOrderBook {
    #[new]
    #[pyo3(signature = (symbol, tick_size=None, lot_size=None, *, journal=None))]
    fn new(
        py: Python<'_>,
        #[pyo3(from_py_with = convert::symbol)] symbol: String,
        tick_size: Option<&Bound<'_, PyAny>>,
        lot_size: Option<&Bound<'_, PyAny>>,
        journal: Option<Py<PyJournal>>,
    ) -> PyResult<Self> {
        let price = match tick_size {
            Some(t) => Grid::parse(t, "tick_size")?,
            None => Grid::parse(PyString::new(py, "0.01").as_any(), "tick_size")?,
        };
        let qty = match lot_size {
            Some(l) => Grid::parse(l, "lot_size")?,
            None => Grid::parse(PyString::new(py, "1").as_any(), "lot_size")?,
        };
        let book = OrderBook::new(&symbol).map_err(|e| invalid(e.to_string()))?;
        Self::build(py, book, price, qty, journal)
    }

    /// Adds a limit order; a crossing order trades first. Returns the fills.
    #[pyo3(signature = (order_id, side, price, quantity, timestamp_ns=None))]
    fn add_order(
        &self,
        py: Python<'_>,
        order_id: &Bound<'_, PyAny>,
        side: &Bound<'_, PyAny>,
        price: &Bound<'_, PyAny>,
        quantity: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<Vec<PyFill>> {
        let op = Op::Add {
            id: orders::order_id(order_id)?,
            side: orders::side(side)?,
            price: self.ticks(price)?,
            qty: self.lots(quantity)?,
            ts: Self::ts(timestamp_ns)?,
        };
        let out = self.run(py, op)?;
        self.fills(py, out.fills())
    }

    /// Cancels a resting order; False when no such order rests.
    #[pyo3(signature = (order_id, timestamp_ns=None))]
    fn cancel_order(
        &self,
        py: Python<'_>,
        order_id: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<bool> {
        let op = Op::Cancel { id: orders::order_id(order_id)?, ts: Self::ts(timestamp_ns)? };
        Ok(matches!(self.run(py, op)?, Outcome::Cancelled(true)))
    }

    /// Fills part or all of a resting order.
    #[pyo3(signature = (order_id, quantity, timestamp_ns=None))]
    fn execute_order(
        &self,
        py: Python<'_>,
        order_id: &Bound<'_, PyAny>,
        quantity: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<PyFill> {
        let op = Op::Execute {
            id: orders::order_id(order_id)?,
            qty: self.lots(quantity)?,
            ts: Self::ts(timestamp_ns)?,
        };
        match self.run(py, op)? {
            // The maker is the order named: an exact int or str argument is that id already.
            Outcome::Executed(f) if order_id.is_exact_instance_of::<PyInt>() => {
                self.fill_of(&f, order_id.clone().unbind(), py)
            }
            Outcome::Executed(f) if order_id.is_exact_instance_of::<PyString>() => {
                self.fill_of(&f, order_id.clone().unbind(), py)
            }
            Outcome::Executed(f) => self.fill(py, &f),
            other => Err(invalid(format!("unexpected outcome {other:?}"))),
        }
    }

    /// A market order of the given (taker) side: walks the opposite side best-first and
    /// fills what liquidity there is.
    #[pyo3(signature = (side, quantity, timestamp_ns=None))]
    fn execute_market_order(
        &self,
        py: Python<'_>,
        side: &Bound<'_, PyAny>,
        quantity: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<Vec<PyFill>> {
        let op =
            Op::Market { side: orders::side(side)?, qty: self.lots(quantity)?, ts: Self::ts(timestamp_ns)? };
        let out = self.run(py, op)?;
        self.fills(py, out.fills())
    }

    /// Changes price and/or remaining quantity. Reducing the quantity keeps time
    /// priority; increasing it or changing the price loses it.
    #[pyo3(signature = (order_id, price=None, quantity=None, timestamp_ns=None))]
    fn modify_order(
        &self,
        py: Python<'_>,
        order_id: &Bound<'_, PyAny>,
        price: Option<&Bound<'_, PyAny>>,
        quantity: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = convert::timestamp_ns)] timestamp_ns: Option<i64>,
    ) -> PyResult<()> {
        if price.is_none() && quantity.is_none() {
            return Err(invalid("modify_order needs a new price, a new quantity or both"));
        }
        let op = Op::Modify {
            id: orders::order_id(order_id)?,
            price: price.map(|p| self.price.units_of(p, "price")).transpose()?,
            qty: quantity.map(|q| self.qty.units_of(q, "quantity")).transpose()?,
            ts: Self::ts(timestamp_ns)?,
        };
        self.run(py, op).map(drop)
    }

    #[getter]
    fn best_bid(&self) -> PyResult<Option<f64>> {
        self.owned()?;
        Ok(self.inner.with_book(|b| b.best_bid()).map(|(p, _)| self.price.float_of(p)))
    }

    #[getter]
    fn best_ask(&self) -> PyResult<Option<f64>> {
        self.owned()?;
        Ok(self.inner.with_book(|b| b.best_ask()).map(|(p, _)| self.price.float_of(p)))
    }

    #[getter]
    fn spread(&self) -> PyResult<Option<f64>> {
        self.owned()?;
        let (b, a) = self.inner.with_book(|b| (b.best_bid(), b.best_ask()));
        Ok(b.zip(a).map(|(b, a)| self.price.float_of(a.0 - b.0)))
    }

    #[getter]
    fn mid_price(&self) -> PyResult<Option<f64>> {
        self.owned()?;
        let (b, a) = self.inner.with_book(|b| (b.best_bid(), b.best_ask()));
        Ok(b.zip(a).map(|(b, a)| (self.price.float_of(a.0) + self.price.float_of(b.0)) / 2.0))
    }

    #[getter]
    fn order_count(&self) -> PyResult<usize> {
        self.owned()?;
        Ok(self.inner.with_book(|b| b.order_count()))
    }

    #[getter]
    fn symbol(&self) -> &str {
        &self.symbol
    }

    #[getter]
    pub(crate) fn tick_size(&self) -> String {
        self.price.text()
    }

    #[getter]
    pub(crate) fn lot_size(&self) -> String {
        self.qty.text()
    }

    #[getter]
    fn journal(&self, py: Python<'_>) -> Option<Py<PyJournal>> {
        self.journal.lock().as_ref().map(|j| j.clone_ref(py))
    }

    fn get_order(&self, py: Python<'_>, order_id: &Bound<'_, PyAny>) -> PyResult<Option<PyOrder>> {
        self.owned()?;
        let id = orders::order_id(order_id)?;
        self.inner.with_book(|b| b.get_order(&id)).map(|o| self.order(py, &o)).transpose()
    }

    /// Every resting order in priority order: bids best-first, then asks best-first.
    fn orders(&self, py: Python<'_>) -> PyResult<Vec<PyOrder>> {
        self.owned()?;
        let all = self.inner.with_book(|b| b.orders());
        all.iter().map(|o| self.order(py, o)).collect()
    }

    /// The best `levels` price levels per side as a pinnacle.BookDepth of numpy arrays.
    fn depth<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = convert::levels)] levels: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.owned()?;
        let n = levels;
        let (bids, asks) = self.inner.with_book(|b| b.depth(n));
        let col = |v: &[(i64, i64, usize)], which: usize| -> Bound<'py, PyAny> {
            match which {
                0 => PyArray1::from_vec(py, v.iter().map(|l| self.price.float_of(l.0)).collect()).into_any(),
                1 => PyArray1::from_vec(py, v.iter().map(|l| self.qty.float_of(l.1)).collect()).into_any(),
                _ => PyArray1::from_vec(py, v.iter().map(|l| l.2 as i64).collect()).into_any(),
            }
        };
        let cls = py.import("pinnacle._types")?.getattr("BookDepth")?;
        cls.call1((col(&bids, 0), col(&bids, 1), col(&bids, 2), col(&asks, 0), col(&asks, 1), col(&asks, 2)))
    }

    /// Journals every later change to `journal` (after recovery).
    fn attach_journal(&self, journal: Py<PyJournal>) -> PyResult<()> {
        self.owned()?;
        journal.get().core().check_owner().map_err(crate::errors::to_py)?;
        let core = journal.get().core().clone();
        let always = core.options().sync == SyncPolicy::Always;
        self.inner.attach(core).map_err(engine_err)?;
        self.blocking.store(always, Ordering::Relaxed);
        *self.journal.lock() = Some(journal);
        Ok(())
    }

    /// An unjournaled deep copy.
    fn copy(&self, py: Python<'_>) -> PyResult<Self> {
        self.owned()?;
        let book = self.inner.with_book(|b| b.clone());
        Self::build(py, book, self.price, self.qty, None)
    }

    /// Encodes the live book (writers wait meanwhile): (snapshot bytes, covered seq). The
    /// snapshot records the journal's identity and the book's tick and lot size.
    #[pyo3(signature = (created_ns=None))]
    fn snapshot_bytes<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = convert::created_ns)] created_ns: Option<i64>,
    ) -> PyResult<(Bound<'py, PyBytes>, u64)> {
        self.owned()?;
        let ts = Self::ts(created_ns)?;
        let (tick, lot) = (self.price.text(), self.qty.text());
        let (bytes, seq) = py.detach(|| self.inner.snapshot_bytes(ts, &tick, &lot)).map_err(engine_err)?;
        Ok((PyBytes::new(py, &bytes), seq))
    }

    /// Applies the book ops of `journal` with seq >= from_seq; returns how many.
    fn replay_journal(
        &self,
        py: Python<'_>,
        journal: &PyJournal,
        #[pyo3(from_py_with = convert::from_seq)] from_seq: u64,
    ) -> PyResult<u64> {
        let from = from_seq;
        let j = journal.core().clone();
        py.detach(|| self.inner.replay_journal(&j, from)).map_err(engine_err)
    }

    /// Loads a snapshot (verified: magic, version, CRC, every length and order).
    #[staticmethod]
    fn from_snapshot(
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        tick_size: &Bound<'_, PyAny>,
        lot_size: &Bound<'_, PyAny>,
    ) -> PyResult<(Self, PySnapshotInfo)> {
        let price = Grid::parse(tick_size, "tick_size")?;
        let qty = Grid::parse(lot_size, "lot_size")?;
        let p = convert::Payloads::single(data, "data")?;
        let data = p.first()?;
        let (book, meta) = py.detach(|| decode_snapshot(data)).map_err(|e| snapshot_err(e, data.len()))?;
        Ok((Self::build(py, book, price, qty, None)?, meta.into()))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(o) = other.cast::<PyOrderBook>() else { return Ok(false) };
        let o = o.get();
        if Arc::ptr_eq(&self.inner, &o.inner) {
            return Ok(true);
        }
        if (self.price, self.qty) != (o.price, o.qty) {
            return Ok(false);
        }
        self.owned()?;
        o.owned()?;
        let mine = self.inner.with_book(|b| b.clone());
        Ok(o.inner.with_book(|b| *b == mine))
    }

    fn __len__(&self) -> PyResult<usize> {
        self.order_count()
    }

    fn __repr__(&self) -> String {
        if self.owned().is_err() {
            return format!("OrderBook({:?}, journaled in another process)", self.symbol);
        }
        let (bid, ask, n) = self.inner.with_book(|b| (b.best_bid(), b.best_ask(), b.order_count()));
        let px =
            |l: Option<(i64, i64)>| l.map_or("None".to_string(), |(p, _)| self.price.float_of(p).to_string());
        format!(
            "OrderBook({:?}, orders={n}, best_bid={}, best_ask={}, journaled={})",
            self.symbol,
            px(bid),
            px(ask),
            self.inner.journal().is_some()
        )
    }
}
