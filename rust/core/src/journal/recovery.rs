//! Opening scan: verifies every entry's CRC and sequence number and decides, by recovery
//! mode, what to do with damage.
//!
//! Rules (docs/format.md, "Recovery"):
//! - Entries must carry consecutive sequence numbers starting at the header's `first_seq`;
//!   a jump is accepted only after a range `skip_corrupted` skips, or on an entry flagged
//!   `FLAG_AFTER_GAP` (written by compaction when it leaves such a range out).
//! - An all-zero entry header ends the data only if every byte after it is zero too;
//!   otherwise the zeros are a hole (damage).
//! - Damage at or after the header's `durable_end` lies in bytes no completed sync covered:
//!   a torn tail. Damage before it hit data that was durable: corruption.

use super::index::SeqIndex;
use crate::error::{Error, Result};
use crate::format::entry::{parse, Parsed, ALIGN, ENTRY_HEADER, FLAG_AFTER_GAP, MAX_PAYLOAD_LIMIT};
use crate::format::header::{Header, HEADER_SIZE};
use crate::format::{le_u64, nonzero_end};
use crate::options::RecoveryMode;
use std::path::Path;
use std::time::Duration;

/// A byte range skipped by `skip_corrupted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkippedRange {
    pub start: u64,
    pub end: u64,
    pub reason: &'static str,
}

/// What opening found and did; exposed to users as `recovery_report`.
#[derive(Debug, Clone, Default)]
pub struct RecoveryReport {
    pub mode: &'static str,
    pub entries: u64,
    pub first_seq: u64,
    /// Last sequence number held, 0 when the journal holds no entry.
    pub last_seq: u64,
    /// Where the next entry goes.
    pub end_offset: u64,
    /// Offset and reason of a damaged tail that was cut off.
    pub tail_cut: Option<(u64, &'static str)>,
    /// Bytes of damaged tail that were zeroed.
    pub truncated_bytes: u64,
    /// Valid-looking entries that followed the cut and were dropped with it.
    pub dropped_entries: u64,
    pub skipped: Vec<SkippedRange>,
    /// A header slot that was damaged and rewritten.
    pub header_repaired: Option<&'static str>,
    /// Bytes of the file the opening scan read: the entries and the written part of the
    /// tail after them. Preallocated space never written (a hole to `SEEK_DATA`) is not
    /// read, so opening costs time in proportion to the entries.
    pub scanned_bytes: u64,
    pub duration: Duration,
}

impl RecoveryReport {
    /// True when opening found nothing to repair.
    pub fn is_clean(&self) -> bool {
        self.tail_cut.is_none() && self.skipped.is_empty() && self.header_repaired.is_none()
    }

    pub fn summary(&self) -> String {
        let mut s = if self.entries == 0 {
            format!("no entries, mode {}", self.mode)
        } else {
            format!(
                "{} entries (seq {}..={}), mode {}",
                self.entries, self.first_seq, self.last_seq, self.mode
            )
        };
        if let Some((off, why)) = self.tail_cut {
            s += &format!(
                "; cut damaged tail at offset {off} ({why}): {} bytes zeroed, {} later entries dropped",
                self.truncated_bytes, self.dropped_entries
            );
        }
        for r in &self.skipped {
            s += &format!("; skipped bytes {}..{} ({})", r.start, r.end, r.reason);
        }
        if let Some(why) = self.header_repaired {
            s += &format!("; header slot repaired ({why})");
        }
        s
    }
}

/// The result of scanning a journal image.
pub(crate) struct Scan {
    pub end: usize,
    pub first_seq: u64,
    pub next_seq: u64,
    pub entries: u64,
    pub index: SeqIndex,
    pub last_checkpoint: Option<usize>,
    /// Bytes `[end, dirty_end)` are damage that must be zeroed before appending.
    pub dirty_end: usize,
    pub report: RecoveryReport,
}

/// Scans `buf` (the file up to the end of its written data) under `mode`.
pub(crate) fn scan(buf: &[u8], header: &Header, mode: RecoveryMode, path: &Path) -> Result<Scan> {
    let max = header.max_entry_size.min(MAX_PAYLOAD_LIMIT);
    let durable_end = usize::try_from(header.durable_end).unwrap_or(usize::MAX);
    let mut s = Scan {
        end: HEADER_SIZE,
        first_seq: header.first_seq,
        next_seq: header.first_seq,
        entries: 0,
        index: SeqIndex::default(),
        last_checkpoint: None,
        dirty_end: HEADER_SIZE,
        report: RecoveryReport { mode: mode.name(), first_seq: header.first_seq, ..Default::default() },
    };
    let mut pos = HEADER_SIZE;
    let mut after_skip = false;
    loop {
        let damage: &'static str = match parse(buf.get(pos..).unwrap_or(&[]), max) {
            Parsed::Entry(e)
                if e.seq == s.next_seq
                    || ((after_skip || e.flags & FLAG_AFTER_GAP != 0) && e.seq > s.next_seq) =>
            {
                if e.is_checkpoint() {
                    s.last_checkpoint = Some(pos);
                }
                s.index.note(e.seq, pos);
                s.entries += 1;
                s.next_seq = e.seq + 1;
                pos += e.total_len;
                after_skip = false;
                continue;
            }
            Parsed::Entry(_) => "sequence number out of order",
            Parsed::Empty => {
                let rest = buf.get(pos..).unwrap_or(&[]);
                if nonzero_end(rest) == 0 {
                    if pos < durable_end {
                        "file ends before its durable end"
                    } else {
                        break;
                    }
                } else {
                    "zero-filled hole before further data"
                }
            }
            Parsed::Invalid(why) => why,
        };
        let next_valid = resync(buf, pos + ALIGN, s.next_seq, max);
        match mode {
            RecoveryMode::Absolute => return Err(Error::corruption(path, pos as u64, damage)),
            RecoveryMode::TolerateTail if pos < durable_end => {
                return Err(Error::corruption(
                    path,
                    pos as u64,
                    format!("{damage} in data that was durable (use recovery='point_in_time' or 'skip_corrupted' to open it)"),
                ))
            }
            RecoveryMode::SkipCorrupted => {
                if let Some((off, _)) = next_valid {
                    s.report.skipped.push(SkippedRange { start: pos as u64, end: off as u64, reason: damage });
                    pos = off;
                    after_skip = true;
                    continue;
                }
            }
            _ => {}
        }
        s.report.tail_cut = Some((pos as u64, damage));
        s.dirty_end = pos + nonzero_end(buf.get(pos..).unwrap_or(&[]));
        s.report.truncated_bytes = (s.dirty_end - pos) as u64;
        s.report.dropped_entries = next_valid.map_or(0, |(off, seq)| count_chain(buf, off, seq, max));
        break;
    }
    s.end = pos;
    s.dirty_end = s.dirty_end.max(pos);
    s.report.entries = s.entries;
    s.report.last_seq = if s.entries == 0 { 0 } else { s.next_seq - 1 };
    s.report.end_offset = pos as u64;
    s.report.scanned_bytes = buf.len().saturating_sub(HEADER_SIZE) as u64;
    Ok(s)
}

/// The first 8-aligned offset at or after `from` holding a valid entry with seq >=
/// `min_seq` (a stale older entry is not live data).
pub(crate) fn resync(buf: &[u8], from: usize, min_seq: u64, max: u32) -> Option<(usize, u64)> {
    let mut off = from.next_multiple_of(ALIGN);
    while off + ENTRY_HEADER <= buf.len() {
        // A live entry's seq field (bytes 8..16) is never zero.
        if le_u64(buf, off + 8).is_some_and(|seq| seq != 0) {
            if let Parsed::Entry(e) = parse(buf.get(off..).unwrap_or_default(), max) {
                if e.seq >= min_seq {
                    return Some((off, e.seq));
                }
            }
        }
        off += ALIGN;
    }
    None
}

/// How many entries with consecutive seqs follow from `off`.
fn count_chain(buf: &[u8], mut off: usize, mut seq: u64, max: u32) -> u64 {
    let mut n = 0;
    // Past the end of `buf` there is nothing, which parses as empty.
    while let Parsed::Entry(e) = parse(buf.get(off..).unwrap_or_default(), max) {
        if e.seq != seq {
            break;
        }
        n += 1;
        seq += 1;
        off += e.total_len;
    }
    n
}
