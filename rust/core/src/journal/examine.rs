//! Read-only examination of a journal file for `pinnacle inspect`/`verify`: its header
//! slots and the bytes past the last valid entry. Opens nothing for writing, takes no
//! lock, and decides nothing: the caller classifies what is reported here.

use crate::error::{Error, Result};
use crate::format::header::HEADER_SIZE;
use crate::format::slots::{self, HeaderReport};
use crate::format::tail;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Both header slots of the journal at `path` (a file shorter than the header page has
/// its missing slots reported as truncated).
pub fn read_header_report(path: &Path) -> Result<HeaderReport> {
    let f = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let mut page = Vec::with_capacity(HEADER_SIZE);
    f.take(HEADER_SIZE as u64).read_to_end(&mut page).map_err(|e| Error::io("read", path, e))?;
    Ok(slots::report(&page))
}

/// The bytes of a journal file from an offset on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailReport {
    /// The file's length.
    pub file_len: u64,
    /// The first non-zero byte at or after the offset; None when the rest is zero (the
    /// clean end of the data).
    pub first_nonzero: Option<u64>,
    /// One past the last non-zero byte of the file.
    pub nonzero_end: u64,
    /// Why the bytes at the offset are not the expected entry (None when all zero).
    pub damage: Option<String>,
    /// The first valid entry (offset, seq) past the offset with a higher seq than the
    /// expected one: valid data after the damage.
    pub next_valid: Option<(u64, u64)>,
}

/// Examines the journal at `path` from `from` (where the reader stopped, where the entry
/// with seq `expected_seq` should be), with the header's `max_payload`.
pub fn examine_tail(path: &Path, from: u64, expected_seq: u64, max_payload: u32) -> Result<TailReport> {
    let f = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let file_len = f.metadata().map_err(|e| Error::io("fstat", path, e))?.len();
    let empty = TailReport { file_len, first_nonzero: None, nonzero_end: 0, damage: None, next_valid: None };
    let Ok(pos) = usize::try_from(from) else { return Ok(empty) };
    if from >= file_len {
        return Ok(empty);
    }
    // SAFETY: a read-only mapping, only read through `buf`. pinnacle never shrinks a
    // journal (growth only extends it; compaction replaces it by rename), so the mapped
    // bytes stay backed; another program truncating the file under a scan would fault it,
    // as it would any reader of a mapped journal (`JournalReader` included).
    let map = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| Error::io("mmap", path, e))?;
    let buf: &[u8] = &map;
    let Some(nz) = tail::first_nonzero(buf, pos) else { return Ok(empty) };
    Ok(TailReport {
        file_len,
        first_nonzero: Some(nz as u64),
        nonzero_end: tail::nonzero_end(buf) as u64,
        damage: Some(tail::describe(buf, pos, expected_seq, max_payload)),
        next_valid: tail::resync(buf, pos.saturating_add(8), expected_seq.saturating_add(1), max_payload)
            .map(|(o, s)| (o as u64, s)),
    })
}
