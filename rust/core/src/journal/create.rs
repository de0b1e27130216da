//! Creating a journal file atomically: a fully written, synced temp file is linked into
//! place (failing if something appeared there meanwhile), then the directory is synced.
//! A journal path therefore never holds a half-written header.

use crate::atomic_file;
use crate::error::{Error, Result};
use crate::format::header::{new_journal_id, Header, HEADER_SIZE, SLOT_OFFSETS};
use crate::options::JournalOptions;
use crate::sys;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Writes both header slots of a fresh file (slot 0 is the newer one).
pub(crate) fn write_fresh_header(file: &File, path: &Path, header: &Header) -> Result<()> {
    let older = Header { generation: header.generation - 1, ..*header };
    file.write_all_at(&header.encode(0), SLOT_OFFSETS[0] as u64)
        .and_then(|_| file.write_all_at(&older.encode(1), SLOT_OFFSETS[1] as u64))
        .map_err(|e| Error::io("write", path, e))
}

/// Creates the journal at `path` through the atomic-file protocol ([`crate::atomic_file`]):
/// a temp file gets its blocks and both header slots, is synced, and is linked into place
/// only if nothing is there. Another opener that created it first wins (Ok: the caller
/// opens theirs, and the lock decides who writes).
pub(crate) fn create(path: &Path, opts: &JournalOptions) -> Result<()> {
    atomic_file::create_atomic(path, 0o600, |file| {
        // Errors name the journal, not the temp file (an internal name the user never chose).
        sys::allocate(file, path, 0, opts.initial_size)?;
        let header = Header {
            first_seq: 1,
            generation: 1,
            durable_end: HEADER_SIZE as u64,
            created_ns: crate::wall_clock_ns(),
            max_entry_size: opts.max_entry_size,
            journal_id: new_journal_id()
                .map_err(|e| Error::io("read /dev/urandom (journal identity)", path, e))?,
        };
        write_fresh_header(file, path, &header)
    })
    .map(|_created| ())
}
