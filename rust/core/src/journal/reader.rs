//! A read-only tail of a journal that another process (or thread) is writing.
//!
//! It never takes the writer's lock and never writes. Every entry is copied out of the
//! shared mapping *before* it is verified (CRC first read, then an acquire fence, then the
//! body), so a concurrent writer can only make an entry look incomplete, never make a
//! partly written one pass. It follows growth (remaps when the file got longer) and
//! compaction (reopens when the path names a new file).
//!
//! It keeps no file descriptor open between calls (the mapping holds the file): it
//! learns the file's length from the path, by inode, and reopens the path only to remap
//! after growth. A process tailing 1,000 journals so needs no descriptor for them. Once
//! the path names another file (compaction), the old one no longer changes: the writer
//! has moved on. The reader then reads the old file only up to the length it last saw at
//! the path (it can no longer learn the old file's length) and continues in the new one,
//! which holds every entry of the old one from its `first_seq` on.

use super::recovery::resync;
use super::Columns;
use crate::error::{Error, Result};
use crate::format::entry::{encoded_len, parse, Parsed, ENTRY_HEADER, FLAG_AFTER_GAP, MAX_PAYLOAD_LIMIT};
use crate::format::header::{self, HEADER_SIZE};
use crate::sys;
use memmap2::{MmapOptions, MmapRaw};
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{fence, Ordering};
use std::time::{Duration, Instant};

/// How long an entry may look incomplete before the reader checks whether it is damage.
const STALL_CHECK_AFTER: Duration = Duration::from_millis(200);

pub struct JournalReader {
    path: PathBuf,
    map: MmapRaw,
    ino: u64,
    pos: usize,
    next_seq: u64,
    /// Entries with a lower seq are consumed but not returned: a reader resuming from a
    /// saved position never sees an older entry, even one appended after it opened.
    from_seq: u64,
    max_payload: u32,
    stalled_since: Option<(usize, Instant)>,
    scratch: Vec<u8>,
    /// The file's length when the current poll started: nothing past it is read (pages
    /// past a shrunken file's end would SIGBUS).
    file_len: usize,
}

enum Step {
    Entry,
    /// A complete entry below `from_seq`, consumed without being returned.
    Skipped,
    NothingYet,
    Incomplete,
}

impl JournalReader {
    /// Opens `path` for tailing: only entries with seq >= `from_seq` are returned, those
    /// already there and those appended later alike. `from_seq` 0 starts at the oldest
    /// entry held; any other `from_seq` before it is `Error::Compacted` (those entries
    /// were compacted away).
    pub fn open(path: impl AsRef<Path>, from_seq: u64) -> Result<JournalReader> {
        let path = path.as_ref().to_path_buf();
        let file = sys::open_existing(&path, false)?;
        let mut r = Self::attach(path, file, from_seq)?;
        if from_seq != 0 && from_seq < r.next_seq {
            return Err(Error::Compacted { path: r.path, wanted_seq: from_seq, first_seq: r.next_seq });
        }
        r.skip_to(from_seq)?;
        Ok(r)
    }

    /// Opens `path` with the reader at byte `pos`, where the entry with seq `next_seq`
    /// starts (or the data ends): what the file's writer knows without a scan; entries
    /// below `from_seq` are not returned (as with [`JournalReader::open`]). None when
    /// `path` no longer names the file with inode `ino` (compaction replaced it).
    pub(crate) fn open_at(
        path: &Path,
        ino: u64,
        pos: usize,
        next_seq: u64,
        from_seq: u64,
    ) -> Result<Option<JournalReader>> {
        let file = sys::open_existing(path, false)?;
        let mut r = Self::attach(path.to_path_buf(), file, from_seq)?;
        if r.ino != ino || pos < HEADER_SIZE {
            return Ok(None);
        }
        (r.pos, r.next_seq) = (pos, next_seq);
        Ok(Some(r))
    }

    fn attach(path: PathBuf, file: File, from_seq: u64) -> Result<JournalReader> {
        let meta = file.metadata().map_err(|e| Error::io("fstat", &path, e))?;
        if meta.len() < HEADER_SIZE as u64 {
            return Err(Error::corruption(&path, meta.len(), "file is too short to be a pinnacle journal"));
        }
        let map = map_file(&file, &path)?;
        let mut page = vec![0u8; HEADER_SIZE];
        copy_out(&map, 0, &mut page);
        let h = header::choose(&page).map_err(|e| match e {
            header::SlotError::Version(version) => Error::UnsupportedVersion { path: path.clone(), version },
            other => Error::corruption(&path, 0, format!("unreadable journal header: {other:?}")),
        })?;
        Ok(JournalReader {
            path,
            map,
            ino: meta.ino(),
            pos: HEADER_SIZE,
            next_seq: h.header.first_seq,
            from_seq,
            max_payload: h.header.max_entry_size.min(MAX_PAYLOAD_LIMIT),
            stalled_since: None,
            scratch: Vec::new(),
            file_len: meta.len() as usize,
        })
    }

    fn skip_to(&mut self, seq: u64) -> Result<()> {
        // One scratch row reused: a fresh `Columns` per entry skipped was six allocations
        // each, most of the time of opening a reader at the end of a long journal.
        let mut skipped = Columns::default();
        while self.next_seq < seq {
            skipped.clear();
            if !matches!(self.step(&mut skipped)?, Step::Entry | Step::Skipped) {
                break;
            }
        }
        Ok(())
    }

    /// The lowest sequence number the next returned entry can have (it is exactly that
    /// unless a damaged range was skipped when the journal was compacted).
    pub fn next_seq(&self) -> u64 {
        self.next_seq.max(self.from_seq)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies up to `max_entries` new complete entries into `out`; returns how many.
    pub fn poll(&mut self, max_entries: usize, out: &mut Columns) -> Result<usize> {
        if let Some(len) = self.len_at_path()? {
            self.file_len = len;
        }
        if self.file_len < self.pos {
            return Err(Error::corruption(
                &self.path,
                self.file_len as u64,
                "the journal was truncated below the reader's position by another process",
            ));
        }
        let mut n = 0;
        while n < max_entries {
            match self.step(out)? {
                Step::Entry => n += 1,
                Step::Skipped => {}
                Step::NothingYet => {
                    if n == 0 && self.replaced()? {
                        continue;
                    }
                    break;
                }
                Step::Incomplete => {
                    if n == 0 {
                        match self.check_stall(out)? {
                            Step::Entry => n += 1,
                            Step::Skipped => {}
                            Step::NothingYet | Step::Incomplete => break,
                        }
                        continue;
                    }
                    break;
                }
            }
        }
        if n > 0 {
            self.stalled_since = None;
        }
        Ok(n)
    }

    /// Polls until at least one entry arrives or `timeout` passes. A timeout beyond the
    /// clock's range (`Duration::MAX`, say) waits until an entry arrives.
    pub fn wait(&mut self, timeout: Duration, max_entries: usize, out: &mut Columns) -> Result<usize> {
        let deadline = Instant::now().checked_add(timeout);
        let mut nap = Duration::from_micros(50);
        loop {
            let n = self.poll(max_entries, out)?;
            let now = Instant::now();
            if n > 0 || deadline.is_some_and(|d| now >= d) {
                return Ok(n);
            }
            let left = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(now));
            std::thread::sleep(nap.min(left));
            nap = nap.saturating_mul(2).min(Duration::from_millis(5));
        }
    }

    fn step(&mut self, out: &mut Columns) -> Result<Step> {
        if !self.covers(self.pos + ENTRY_HEADER)? {
            return Ok(Step::NothingYet);
        }
        let mut head = [0u8; ENTRY_HEADER];
        let crc = read_crc(&self.map, self.pos);
        fence(Ordering::Acquire);
        copy_out(&self.map, self.pos, &mut head);
        head[0..4].copy_from_slice(&crc.to_le_bytes());
        if head.iter().all(|&b| b == 0) {
            return Ok(Step::NothingYet);
        }
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if len > self.max_payload {
            return Ok(Step::Incomplete);
        }
        let total = encoded_len(len as usize);
        if !self.covers(self.pos + total)? {
            // The entry runs past the end the reader last saw. While the path names this
            // file, the writer is still completing it (or growing the file for it). Once
            // the path names another file, that end is final for the reader (it can no
            // longer learn the retired file's length): the entry and everything after it
            // are in the successor or were compacted away, so this file has nothing more
            // to give (`poll` then switches files). Waiting for the entry to complete
            // here would wait forever.
            return Ok(if self.len_at_path()?.is_none() { Step::NothingYet } else { Step::Incomplete });
        }
        // `total` is at most the header's max_entry_size and lies inside the file.
        if total > self.scratch.len() {
            let more = total - self.scratch.len();
            Error::reserve(&mut self.scratch, more, "an entry being read")?;
            self.scratch.resize(total, 0);
        }
        let Some(scratch) = self.scratch.get_mut(..total) else {
            return Err(Error::OutOfMemory { bytes: total, what: "an entry being read" });
        };
        let Some((crc_field, body)) = scratch.split_first_chunk_mut::<4>() else {
            return Ok(Step::Incomplete);
        };
        copy_out(&self.map, self.pos + 4, body);
        *crc_field = crc.to_le_bytes();
        match parse(scratch, self.max_payload) {
            Parsed::Entry(e)
                if e.seq == self.next_seq || (e.flags & FLAG_AFTER_GAP != 0 && e.seq > self.next_seq) =>
            {
                let step = if e.seq < self.from_seq {
                    Step::Skipped
                } else {
                    out.push(&e)?;
                    Step::Entry
                };
                self.pos += total;
                self.next_seq = e.seq + 1;
                Ok(step)
            }
            _ => Ok(Step::Incomplete),
        }
    }

    /// True when `[0, end)` is mapped, remapping if the file has grown.
    fn covers(&mut self, end: usize) -> Result<bool> {
        if end <= self.map.len().min(self.file_len) {
            return Ok(true);
        }
        if let Some(len) = self.len_at_path()? {
            self.file_len = len;
        }
        if self.file_len > self.map.len() {
            let file = sys::open_existing(&self.path, false)?;
            let meta = file.metadata().map_err(|e| Error::io("fstat", &self.path, e))?;
            // Raced with a replacement: `replaced` follows the new file.
            if meta.ino() == self.ino {
                self.map = map_file(&file, &self.path)?;
            }
        }
        Ok(end <= self.map.len().min(self.file_len))
    }

    /// The length of the mapped file while the path still names it; None once it names
    /// another file or nothing.
    fn len_at_path(&self) -> Result<Option<usize>> {
        match std::fs::symlink_metadata(&self.path) {
            Ok(m) if m.ino() == self.ino => Ok(Some(m.len() as usize)),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("stat", &self.path, e)),
        }
    }

    /// An entry that stays invalid while a valid later one exists is damage, not a write
    /// in progress (the writer completes entries in order). Returns what a last look at
    /// the entry found (an entry completed meanwhile goes to `out`).
    fn check_stall(&mut self, out: &mut Columns) -> Result<Step> {
        let now = Instant::now();
        match self.stalled_since {
            Some((pos, since)) if pos == self.pos => {
                if now.saturating_duration_since(since) < STALL_CHECK_AFTER {
                    return Ok(Step::Incomplete);
                }
            }
            _ => {
                self.stalled_since = Some((self.pos, now));
                return Ok(Step::Incomplete);
            }
        }
        self.stalled_since = Some((self.pos, now));
        let mut rest = Vec::new();
        let len = self.map.len().min(self.file_len).saturating_sub(self.pos);
        Error::reserve(&mut rest, len, "the rest of the journal")?;
        rest.resize(len, 0);
        copy_out(&self.map, self.pos, &mut rest);
        if resync(&rest, 8, self.next_seq + 1, self.max_payload).is_none() {
            return Ok(Step::Incomplete);
        }
        match self.step(out)? {
            Step::Incomplete => {
                Err(Error::corruption(&self.path, self.pos as u64, "damaged entry followed by valid ones"))
            }
            step => Ok(step),
        }
    }

    /// Switches to a new file when compaction replaced the one at `path`.
    fn replaced(&mut self) -> Result<bool> {
        let ino = match std::fs::symlink_metadata(&self.path) {
            Ok(m) => m.ino(),
            Err(_) => return Ok(false),
        };
        if ino == self.ino {
            return Ok(false);
        }
        let file = sys::open_existing(&self.path, false)?;
        let wanted = self.next_seq();
        *self = Self::attach(self.path.clone(), file, self.from_seq)?;
        if self.next_seq > wanted {
            return Err(Error::Compacted {
                path: self.path.clone(),
                wanted_seq: wanted,
                first_seq: self.next_seq,
            });
        }
        self.skip_to(wanted)?;
        Ok(true)
    }
}

fn map_file(file: &File, path: &Path) -> Result<MmapRaw> {
    MmapOptions::new().map_raw_read_only(file).map_err(|e| Error::io("mmap", path, e))
}

fn read_crc(map: &MmapRaw, at: usize) -> u32 {
    // SAFETY: `at + 4 <= map.len()` (checked by the caller); the word may be written
    // concurrently by another process, hence the volatile read.
    let v = unsafe { std::ptr::read_volatile(map.as_ptr().add(at).cast::<[u8; 4]>()) };
    u32::from_le_bytes(v)
}

fn copy_out(map: &MmapRaw, at: usize, dst: &mut [u8]) {
    debug_assert!(at + dst.len() <= map.len());
    // SAFETY: bounds checked by the callers against map.len(); the source is shared memory
    // another process may be writing, which is why it is copied before being verified.
    unsafe { std::ptr::copy_nonoverlapping(map.as_ptr().add(at), dst.as_mut_ptr(), dst.len()) }
}
