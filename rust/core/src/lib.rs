//! pinnacle's storage core: a memory-mapped, append-only journal whose every entry carries
//! a CRC32, with torn-tail recovery, crash-safe compaction and cross-process tailing.
//!
//! This crate owns every byte pinnacle puts on disk and knows nothing about Python. The
//! on-disk format is described in `docs/format.md` and implemented in [`format`].

pub mod atomic_file;
pub mod decimal;
pub mod error;
pub mod fork;
pub mod format;
pub mod journal;
pub mod kinds;
pub mod locks;
pub mod options;
mod sync_hooks;
pub mod sys;
#[doc(hidden)]
pub mod testing;
pub mod wal;

pub use error::{Error, Result};
pub use format::entry::{EntryRef, FLAG_CHECKPOINT};
pub use journal::reader::JournalReader;
pub use journal::recovery::{RecoveryReport, SkippedRange};
pub use journal::writer::{Appended, Journal};
pub use journal::{read_journal_id, Columns, Row};
pub use options::{GrowthStrategy, JournalOptions, RecoveryMode, SyncPolicy};
pub use wal::{Journaled, Record, WalError, WalState};

/// Wall-clock time in nanoseconds since the Unix epoch (never a monotonic clock: values
/// must stay meaningful across reboots).
pub fn wall_clock_ns() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}
