//! Market-data pipeline core: an exact L2 book rebuilt from exchange depth files
//! (Binance diff-depth JSON lines, tardis.dev incremental_book_L2 CSV; plain or gzip),
//! with gap detection, drift statistics, sink sampling and checkpointable state.
//! No Python here: `pinnacle-python` converts types, the Python side persists.

pub mod binance;
pub mod book;
pub mod decimal;
pub mod engine;
pub mod input;
pub mod stats;
pub mod tardis;

pub use book::{L2Book, Side};
pub use engine::{Capture, Engine, EngineState, Format, Limits, Stop};
pub use input::Position;
pub use stats::{Drift, Gap, SinkRow};

use std::path::PathBuf;

#[derive(Debug)]
pub enum Error {
    /// Opening, reading or seeking an input file failed.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A message at `offset` of `path` is malformed (or names another symbol).
    Parse {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    /// A malformed value, before its location is known (see `Error::at`).
    Data(String),
    InvalidArgument(String),
}

impl Error {
    /// Gives a location to a `Data` error.
    pub fn at(self, path: &std::path::Path, offset: u64) -> Self {
        match self {
            Error::Data(reason) => Error::Parse { path: path.to_path_buf(), offset, reason },
            other => other,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Parse { path, offset, reason } => {
                write!(f, "{} at byte {offset}: {reason}", path.display())
            }
            Error::Data(reason) => write!(f, "{reason}"),
            Error::InvalidArgument(reason) => write!(f, "{reason}"),
        }
    }
}

impl std::error::Error for Error {}
