//! Journal options and their validation.

use crate::error::{Error, Result};
use crate::format::entry::MAX_PAYLOAD_LIMIT;
use std::time::Duration;

/// When appended entries become durable (survive power loss, not just a process crash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Entries live in the page cache: they survive a process kill, not a power cut, until
    /// `flush()` or `close()`.
    None,
    /// A background thread makes everything durable every interval.
    Interval(Duration),
    /// Each append is durable before it returns (concurrent appenders share one sync).
    Always,
}

/// What opening does with damage found while scanning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryMode {
    /// Cut a damaged tail (bytes written after the last completed sync); raise on damage
    /// in data that was durable.
    TolerateTail,
    /// Any damage, tail included, raises.
    Absolute,
    /// Keep the prefix before the first damage, drop everything after it.
    PointInTime,
    /// Keep every valid entry, skipping damaged ranges (reported).
    SkipCorrupted,
}

/// How the mapping grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrowthStrategy {
    /// mremap on Linux, munmap + mmap elsewhere.
    Auto,
    /// munmap + mmap everywhere (the macOS path, selectable on Linux for testing).
    Remap,
}

impl std::str::FromStr for SyncPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(SyncPolicy::None),
            "interval" => Ok(SyncPolicy::Interval(Duration::from_millis(100))),
            "always" => Ok(SyncPolicy::Always),
            other => {
                Err(Error::invalid(format!("sync must be 'none', 'interval' or 'always', not {other:?}")))
            }
        }
    }
}

impl std::str::FromStr for RecoveryMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "tolerate_tail" => Ok(RecoveryMode::TolerateTail),
            "absolute" => Ok(RecoveryMode::Absolute),
            "point_in_time" => Ok(RecoveryMode::PointInTime),
            "skip_corrupted" => Ok(RecoveryMode::SkipCorrupted),
            other => Err(Error::invalid(format!(
                "recovery must be 'tolerate_tail', 'absolute', 'point_in_time' or 'skip_corrupted', not {other:?}"
            ))),
        }
    }
}

impl std::str::FromStr for GrowthStrategy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(GrowthStrategy::Auto),
            "remap" => Ok(GrowthStrategy::Remap),
            other => Err(Error::invalid(format!("growth must be 'auto' or 'remap', not {other:?}"))),
        }
    }
}

impl RecoveryMode {
    pub fn name(self) -> &'static str {
        match self {
            RecoveryMode::TolerateTail => "tolerate_tail",
            RecoveryMode::Absolute => "absolute",
            RecoveryMode::PointInTime => "point_in_time",
            RecoveryMode::SkipCorrupted => "skip_corrupted",
        }
    }
}

#[derive(Debug, Clone)]
pub struct JournalOptions {
    pub sync: SyncPolicy,
    pub recovery: RecoveryMode,
    pub growth: GrowthStrategy,
    /// Size of a new journal file, bytes (rounded up to the page size).
    pub initial_size: u64,
    /// The largest growth, bytes (rounded up to the page size): a full file grows by its
    /// own length, at most this much; on a full disk smaller steps are tried, down to
    /// what the entry needs.
    pub growth_step: u64,
    /// Largest payload an append accepts, bytes.
    pub max_entry_size: u32,
}

pub const PAGE: u64 = 4096;
pub const MIN_SIZE: u64 = 2 * PAGE;
pub const MAX_FILE_STEP: u64 = 1 << 40;

impl Default for JournalOptions {
    fn default() -> Self {
        JournalOptions {
            sync: SyncPolicy::None,
            recovery: RecoveryMode::TolerateTail,
            growth: GrowthStrategy::Auto,
            initial_size: 1 << 20,
            growth_step: 64 << 20,
            max_entry_size: 16 << 20,
        }
    }
}

impl JournalOptions {
    /// Checks every field; returns the options with sizes rounded up to whole pages.
    pub fn validated(mut self) -> Result<Self> {
        if let SyncPolicy::Interval(d) = self.sync {
            if d.is_zero() || d > Duration::from_secs(3600) {
                return Err(Error::invalid(format!(
                    "sync_interval_ms must be between 1 and 3600000, got {}",
                    d.as_millis()
                )));
            }
        }
        if self.max_entry_size == 0 || self.max_entry_size > MAX_PAYLOAD_LIMIT {
            return Err(Error::invalid(format!(
                "max_entry_size must be between 1 and {MAX_PAYLOAD_LIMIT}, got {}",
                self.max_entry_size
            )));
        }
        for (name, v) in [("initial_size", self.initial_size), ("growth_step", self.growth_step)] {
            if !(PAGE..=MAX_FILE_STEP).contains(&v) {
                return Err(Error::invalid(format!(
                    "{name} must be between {PAGE} and {MAX_FILE_STEP} bytes, got {v}"
                )));
            }
        }
        self.initial_size = round_up(self.initial_size.max(MIN_SIZE), PAGE);
        self.growth_step = round_up(self.growth_step, PAGE);
        Ok(self)
    }
}

pub fn round_up(v: u64, to: u64) -> u64 {
    v.div_ceil(to) * to
}
