//! The apply loop. One `Engine` reads one symbol's input files in order, applies every
//! message to the book, checks continuity, measures drift and samples the sink.
//!
//! Ordering rules that exact resume depends on:
//! * `run` returns only at a message boundary; `position()` is then where the next
//!   message starts (for tardis: the first row of the next `local_timestamp`, kept
//!   in `pending` until the next call).
//! * Everything a later message's processing depends on lives in `EngineState` or the
//!   book, both copied by `capture` together with the sink rows produced since the last
//!   capture; so (book, state) restored from a capture continues exactly.

use crate::book::{L2Book, Side};
use crate::input::{Inputs, Position};
use crate::stats::{Drift, Gap, SinkRow};
use crate::Error;
use serde::{Deserialize, Serialize};

mod binance_apply;
mod tardis_apply;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    #[serde(rename = "binance-depth")]
    BinanceDepth,
    #[serde(rename = "tardis-l2")]
    TardisL2,
}

impl std::str::FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "binance-depth" => Ok(Format::BinanceDepth),
            "tardis-l2" => Ok(Format::TardisL2),
            other => Err(Error::InvalidArgument(format!(
                "format {other:?} is not one of 'binance-depth', 'tardis-l2'"
            ))),
        }
    }
}

/// The checkpointed scalars and statistics (the book travels separately).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineState {
    pub events_processed: u64,
    pub position: Position,
    /// True until the first snapshot, and from a gap until the next snapshot.
    pub stale: bool,
    pub prev_u: Option<u64>,
    /// lastUpdateId of a snapshot whose first straddling update has not come yet.
    pub awaiting_snapshot: Option<u64>,
    pub last_update_id: Option<u64>,
    pub last_local_us: Option<i64>,
    pub last_exchange_ms: Option<i64>,
    pub snapshots: u64,
    pub dropped_before_snapshot: u64,
    pub gap_count: u64,
    pub gaps: Vec<Gap>,
    pub drift: Drift,
    pub in_snapshot_run: bool,
    pub sample_bucket: Option<i64>,
}

/// A consistent copy of the engine at a message boundary.
#[derive(Clone, Debug)]
pub struct Capture {
    pub book: L2Book,
    pub state: EngineState,
    /// Sink rows produced since the previous capture.
    pub sink_rows: Vec<SinkRow>,
}

#[derive(Default)]
pub struct Limits<'a> {
    /// Stop once `events_processed` reaches this.
    pub max_events: Option<u64>,
    pub deadline: Option<Instant>,
    /// Stop when set (the flag is cleared).
    pub trigger: Option<&'a AtomicBool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    End,
    EventLimit,
    Deadline,
    Trigger,
}

/// Sink sampling: a top-`levels` row at the first message of every `every_ms` bucket of
/// exchange time, plus one row per gap.
#[derive(Clone, Copy, Debug)]
pub struct SinkConfig {
    pub every_ms: i64,
    pub levels: usize,
}

pub struct Engine {
    symbol: String,
    format: Format,
    inputs: Inputs,
    book: L2Book,
    st: EngineState,
    sink: Option<SinkConfig>,
    sink_rows: Vec<SinkRow>,
    line: Vec<u8>,
    pending: Option<Position>,
    pending_line: Vec<u8>,
}

const CHECK_EVERY: u32 = 256;

impl Engine {
    /// A fresh engine, or one continuing from `restore` (a capture's book and state).
    pub fn new(
        symbol: &str,
        format: Format,
        files: Vec<PathBuf>,
        sink: Option<SinkConfig>,
        restore: Option<(L2Book, EngineState)>,
    ) -> Result<Self, Error> {
        if symbol.is_empty() {
            return Err(Error::InvalidArgument("symbol is empty".into()));
        }
        if let Some(s) = sink {
            if s.every_ms <= 0 || s.levels == 0 {
                return Err(Error::InvalidArgument("sink every_ms and levels must be positive".into()));
            }
        }
        let (book, st) =
            restore.unwrap_or_else(|| (L2Book::new(), EngineState { stale: true, ..Default::default() }));
        let inputs = Inputs::open(files, st.position)?;
        Ok(Self {
            symbol: symbol.to_string(),
            format,
            inputs,
            book,
            st,
            sink,
            sink_rows: Vec::new(),
            line: Vec::with_capacity(4096),
            pending: None,
            pending_line: Vec::new(),
        })
    }

    pub fn book(&self) -> &L2Book {
        &self.book
    }

    pub fn state(&self) -> &EngineState {
        &self.st
    }

    pub fn files(&self) -> &[PathBuf] {
        self.inputs.files()
    }

    /// Where the next message starts.
    pub fn position(&self) -> Position {
        self.pending.unwrap_or_else(|| self.inputs.position())
    }

    /// Copies book, state and position; hands over the sink rows since the last capture.
    pub fn capture(&mut self) -> Capture {
        let mut state = self.st.clone();
        state.position = self.position();
        Capture { book: self.book.clone(), state, sink_rows: std::mem::take(&mut self.sink_rows) }
    }

    pub fn run(&mut self, limits: &Limits<'_>) -> Result<Stop, Error> {
        let mut n = 0u32;
        loop {
            if limits.max_events.is_some_and(|m| self.st.events_processed >= m) {
                return Ok(Stop::EventLimit);
            }
            n += 1;
            if n >= CHECK_EVERY {
                n = 0;
                if limits.trigger.is_some_and(|t| t.swap(false, Ordering::AcqRel)) {
                    return Ok(Stop::Trigger);
                }
                if limits.deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(Stop::Deadline);
                }
            }
            let more = match self.format {
                Format::BinanceDepth => self.step_binance()?,
                Format::TardisL2 => self.step_tardis()?,
            };
            if !more {
                return Ok(Stop::End);
            }
        }
    }

    fn path_of(&self, index: usize) -> PathBuf {
        self.inputs.path(index).map(PathBuf::from).unwrap_or_default()
    }

    fn file_name(&self, index: usize) -> String {
        self.inputs.path(index).map(|p| p.display().to_string()).unwrap_or_default()
    }

    fn apply_levels(&mut self, side: Side, levels: &[(&str, &str)]) -> Result<(), Error> {
        for (p, q) in levels {
            self.book.set_text(side, p, q)?;
        }
        Ok(())
    }

    fn gap(
        &mut self,
        kind: &str,
        at: Position,
        expected: u64,
        got: u64,
        exchange_ms: Option<i64>,
        local_us: Option<i64>,
    ) {
        let gap = Gap {
            kind: kind.to_string(),
            file_index: at.file_index,
            file: self.file_name(at.file_index),
            offset: at.offset,
            expected,
            got,
            exchange_ms,
            local_us,
        };
        self.st.gap_count += 1;
        self.st.stale = true;
        if self.sink.is_some() {
            self.sink_rows.push(SinkRow {
                kind: "gap",
                ts_ms: exchange_ms.unwrap_or(0),
                events: self.st.events_processed,
                stale: true,
                bids: Vec::new(),
                asks: Vec::new(),
                gap: Some(gap.clone()),
            });
        }
        self.st.gaps.push(gap);
    }

    fn sample(&mut self, exchange_ms: i64) {
        let Some(cfg) = self.sink else { return };
        let bucket = exchange_ms.div_euclid(cfg.every_ms);
        if self.st.sample_bucket.is_some_and(|b| bucket <= b) {
            return;
        }
        self.st.sample_bucket = Some(bucket);
        self.sink_rows.push(SinkRow {
            kind: "book",
            ts_ms: bucket.saturating_mul(cfg.every_ms),
            events: self.st.events_processed,
            stale: self.st.stale,
            bids: self.book.top(Side::Bid, cfg.levels),
            asks: self.book.top(Side::Ask, cfg.levels),
            gap: None,
        });
    }
}
