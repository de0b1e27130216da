//! `pinnacle._core.MarketDataEngine` and friends: conversion only; the pipeline core is
//! `pinnacle-marketdata`, persistence is Python's (`pinnacle.pipeline`).

use crate::errors::{invalid, marketdata_err};
use pinnacle_marketdata::engine::SinkConfig;
use pinnacle_marketdata::{
    Capture, Engine, EngineState, Format, L2Book, Limits, Position, Side, SinkRow, Stop,
};
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

type Levels = Vec<(String, String)>;

/// A checkpoint request flag, settable from any thread.
#[pyclass(name = "CheckpointTrigger", module = "pinnacle._core", frozen)]
pub struct PyTrigger {
    flag: Arc<AtomicBool>,
}

#[pymethods]
impl PyTrigger {
    #[new]
    fn new() -> Self {
        Self { flag: Arc::new(AtomicBool::new(false)) }
    }

    fn set(&self) {
        self.flag.store(true, Ordering::Release);
    }

    fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }
}

fn side_of(s: &str) -> PyResult<Side> {
    match s {
        "bid" => Ok(Side::Bid),
        "ask" => Ok(Side::Ask),
        other => Err(invalid(format!("side {other:?} is not 'bid' or 'ask'"))),
    }
}

fn book_from(bids: &Levels, asks: &Levels) -> PyResult<L2Book> {
    let mut book = L2Book::new();
    for (side, levels) in [(Side::Bid, bids), (Side::Ask, asks)] {
        for (p, q) in levels {
            book.set_text(side, p, q).map_err(marketdata_err)?;
        }
    }
    Ok(book)
}

/// Checksum of the book given by its levels (as a checkpoint stores them).
#[pyfunction]
pub fn l2_checksum(bids: Levels, asks: Levels) -> PyResult<u32> {
    Ok(book_from(&bids, &asks)?.checksum())
}

#[pyclass(name = "MarketDataEngine", module = "pinnacle._core", frozen)]
pub struct PyEngine {
    inner: Mutex<Engine>,
}

impl PyEngine {
    fn lock(&self) -> PyResult<MutexGuard<'_, Engine>> {
        self.inner.try_lock().map_err(|_| invalid("the engine is running in another thread"))
    }
}

#[pymethods]
impl PyEngine {
    /// `restore`: (bids, asks, state_json) of a checkpoint to continue from.
    #[new]
    #[pyo3(signature = (symbol, format, files, sink_every_ms=None, sink_levels=10, restore=None))]
    fn new(
        symbol: &str,
        format: &str,
        files: Vec<PathBuf>,
        sink_every_ms: Option<i64>,
        sink_levels: usize,
        restore: Option<(Levels, Levels, String)>,
    ) -> PyResult<Self> {
        let format: Format = format.parse().map_err(marketdata_err)?;
        let sink = sink_every_ms.map(|every_ms| SinkConfig { every_ms, levels: sink_levels });
        let restore = match restore {
            None => None,
            Some((bids, asks, state)) => {
                let st: EngineState = serde_json::from_str(&state)
                    .map_err(|e| invalid(format!("checkpoint state is not valid: {e}")))?;
                Some((book_from(&bids, &asks)?, st))
            }
        };
        let engine = Engine::new(symbol, format, files, sink, restore).map_err(marketdata_err)?;
        Ok(Self { inner: Mutex::new(engine) })
    }

    /// Applies messages until the end of the inputs, `max_events` processed in total,
    /// `max_seconds` elapsed or `trigger` set; returns why it stopped ("end", "events",
    /// "time", "trigger"). Always stops at a message boundary. The GIL is released.
    #[pyo3(signature = (max_events=None, max_seconds=None, trigger=None))]
    fn run(
        &self,
        py: Python<'_>,
        max_events: Option<u64>,
        max_seconds: Option<f64>,
        trigger: Option<&PyTrigger>,
    ) -> PyResult<&'static str> {
        // A budget too large for an Instant means no deadline.
        let deadline = match max_seconds {
            Some(s) if s.is_nan() || s < 0.0 => {
                return Err(invalid(format!("max_seconds {s} is not a number >= 0")))
            }
            Some(s) => Duration::try_from_secs_f64(s).ok().and_then(|d| Instant::now().checked_add(d)),
            None => None,
        };
        let flag = trigger.map(|t| Arc::clone(&t.flag));
        let stop = py.detach(|| {
            let Ok(mut engine) = self.inner.try_lock() else {
                return None;
            };
            let limits = Limits { max_events, deadline, trigger: flag.as_deref() };
            Some(engine.run(&limits))
        });
        let stop = stop.ok_or_else(|| invalid("the engine is running in another thread"))?;
        Ok(match stop.map_err(marketdata_err)? {
            Stop::End => "end",
            Stop::EventLimit => "events",
            Stop::Deadline => "time",
            Stop::Trigger => "trigger",
        })
    }

    #[getter]
    fn events_processed(&self) -> PyResult<u64> {
        Ok(self.lock()?.state().events_processed)
    }

    /// A consistent copy of book, state and position, with the sink rows since the last.
    fn capture(&self) -> PyResult<PyCapture> {
        Ok(PyCapture { inner: self.lock()?.capture() })
    }

    fn top(&self, side: &str, n: usize) -> PyResult<Levels> {
        Ok(self.lock()?.book().top(side_of(side)?, n))
    }

    fn checksum(&self) -> PyResult<u32> {
        Ok(self.lock()?.book().checksum())
    }

    /// Drift summary (µs): (count, negative, min, max, p50, p99, ewma).
    #[allow(clippy::type_complexity)]
    fn drift(&self) -> PyResult<(u64, u64, Option<i64>, Option<i64>, Option<i64>, Option<i64>, f64)> {
        let e = self.lock()?;
        let d = &e.state().drift;
        Ok((d.count, d.negative, d.min_us, d.max_us, d.quantile(0.5), d.quantile(0.99), d.ewma_us))
    }

    fn state_json(&self) -> PyResult<String> {
        let e = self.lock()?;
        let mut st = e.state().clone();
        st.position = e.position();
        serde_json::to_string(&st).map_err(|e| invalid(e.to_string()))
    }
}

/// Position as (file index, byte offset).
fn pos(p: Position) -> (usize, u64) {
    (p.file_index, p.offset)
}

type RowTuple = (&'static str, i64, u64, bool, Levels, Levels, Option<String>);

fn row_tuple(r: &SinkRow) -> RowTuple {
    let gap = r.gap.as_ref().and_then(|g| serde_json::to_string(g).ok());
    (r.kind, r.ts_ms, r.events, r.stale, r.bids.clone(), r.asks.clone(), gap)
}

#[pyclass(name = "EngineCapture", module = "pinnacle._core", frozen)]
pub struct PyCapture {
    inner: Capture,
}

#[pymethods]
impl PyCapture {
    #[getter]
    fn events_processed(&self) -> u64 {
        self.inner.state.events_processed
    }

    #[getter]
    fn position(&self) -> (usize, u64) {
        pos(self.inner.state.position)
    }

    #[getter]
    fn last_update_id(&self) -> Option<u64> {
        self.inner.state.last_update_id
    }

    #[getter]
    fn last_local_us(&self) -> Option<i64> {
        self.inner.state.last_local_us
    }

    #[getter]
    fn sink_row_count(&self) -> usize {
        self.inner.sink_rows.len()
    }

    fn checksum(&self) -> u32 {
        self.inner.book.checksum()
    }

    /// (bids best first, asks best first) as (price, size) texts.
    fn levels(&self, py: Python<'_>) -> (Levels, Levels) {
        py.detach(|| (self.inner.book.top(Side::Bid, usize::MAX), self.inner.book.top(Side::Ask, usize::MAX)))
    }

    fn state_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner.state).map_err(|e| invalid(e.to_string()))
    }

    /// (kind, ts_ms, events, stale, bids, asks, gap JSON or None) per sink row.
    fn sink_rows(&self) -> Vec<RowTuple> {
        self.inner.sink_rows.iter().map(row_tuple).collect()
    }
}
