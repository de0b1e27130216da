//! The writer's mutable state, guarded by one mutex. Every append, read, growth, header
//! write and compaction swap happens under it, so the mapping never moves under a reader
//! of this handle.

use super::index::SeqIndex;
use super::mapping::Mapping;
use super::prefault::MapPublish;
use super::recovery::RecoveryReport;
use crate::error::{Error, Result};
use crate::fork::LockFd;
use crate::format::entry::{self, EntryRef};
use crate::format::header::{Header, HEADER_SIZE, SLOT_OFFSETS, SLOT_SIZE};
use crate::options::{round_up, PAGE};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::Arc;

pub(crate) struct State {
    /// None once closed (the lock is released with it).
    pub file: Option<Arc<LockFd>>,
    pub map: Mapping,
    /// Offset where the next entry goes; `[HEADER_SIZE, write_pos)` holds only entries
    /// that were verified at open or written by this handle.
    pub write_pos: usize,
    pub first_seq: u64,
    pub next_seq: u64,
    pub entries: u64,
    pub index: SeqIndex,
    pub last_checkpoint: Option<usize>,
    /// Damaged byte ranges `skip_corrupted` left in place; every walk jumps over them.
    pub skipped: Vec<(usize, usize)>,
    pub header: Header,
    /// The slot holding `header`; the next header write goes to the other one.
    pub header_slot: usize,
    /// When `header` was last written.
    pub header_written: std::time::Instant,
    /// Everything before this offset of the current file is durable.
    pub durable_end: usize,
    /// Bumped when compaction swaps in a new file.
    pub epoch: u64,
    pub closed: bool,
    /// Why the handle was closed, if its owner gave a reason (named by every later error).
    pub closed_reason: Option<String>,
    /// Where the mapping is, for the prefault thread (see prefault.rs for the locking).
    pub publish: Arc<MapPublish>,
    pub poison: Option<(Option<i32>, String)>,
    pub report: RecoveryReport,
}

impl State {
    pub fn check_open(&self, path: &Path) -> Result<()> {
        if self.closed || self.file.is_none() {
            return Err(self.closed_error(path));
        }
        if self.publish.truncated() {
            return Err(Error::corruption(
                path,
                self.map.len() as u64,
                "the file was truncated by another process while open; reopen it to recover what remains",
            ));
        }
        Ok(())
    }

    pub fn check_writable(&self, path: &Path) -> Result<()> {
        self.check_open(path)?;
        if let Some((errno, cause)) = &self.poison {
            return Err(Error::Poisoned { path: path.to_path_buf(), errno: *errno, cause: cause.clone() });
        }
        Ok(())
    }

    pub fn open_file(&self, path: &Path) -> Result<&Arc<LockFd>> {
        self.file.as_ref().ok_or_else(|| self.closed_error(path))
    }

    fn closed_error(&self, path: &Path) -> Error {
        Error::Closed { path: path.to_path_buf(), reason: self.closed_reason.clone() }
    }

    /// Unmaps and closes the file (releasing its lock); every later call sees `Closed`.
    pub fn release(&mut self) {
        self.closed = true;
        let _remap = self.publish.lock.write();
        self.map.release();
        self.publish.set(std::ptr::null(), 0, -1, false);
        self.file = None;
    }

    pub fn poison_with(&mut self, e: &Error) {
        if self.poison.is_none() {
            self.poison = Some((e.errno(), e.to_string()));
        }
    }

    /// Room for `total` more bytes at `write_pos`. The file grows geometrically (by its
    /// own length, at most `max_step`), so a journal's preallocated tail stays within its
    /// data size until the cap; when the disk cannot hold that step, smaller ones are
    /// tried, down to the pages the entry needs, before the append fails.
    pub fn reserve(&mut self, total: usize, max_step: u64, path: &Path) -> Result<usize> {
        let pos = self.write_pos;
        let need =
            pos.checked_add(total).ok_or_else(|| Error::invalid("journal would exceed the address space"))?;
        if need > self.map.len() {
            let len = self.map.len() as u64;
            let least = round_up(need as u64, PAGE);
            let mut want = round_up(len.saturating_add(len.clamp(PAGE, max_step)), PAGE).max(least);
            let file = self.open_file(path)?.clone();
            // An injected fault fails the growth as a whole, not one of its attempts.
            crate::sys::fault_point(crate::sys::Call::Fallocate, path)?;
            let _remap = self.publish.lock.write();
            loop {
                let new_len = usize::try_from(want)
                    .map_err(|_| Error::invalid("journal would exceed the address space"))?;
                match self.map.grow(&file, path, new_len) {
                    Ok(()) => break,
                    Err(e) if want > least && e.is_out_of_space() => {
                        // Halve the step; `least` last (also when halving makes no
                        // progress, as with a file length that is not whole pages).
                        let half = round_up(len + (want - len) / 2, PAGE).max(least);
                        want = if half < want { half } else { least };
                    }
                    Err(e) => return Err(e),
                }
            }
            self.publish.set(
                self.map.base(),
                self.map.len(),
                file.as_raw_fd(),
                self.map.growth_keeps_pages(),
            );
        }
        Ok(pos)
    }

    #[inline]
    pub fn commit(&mut self, pos: usize, total: usize, seq: u64, checkpoint: bool) {
        self.index.note(seq, pos);
        if checkpoint {
            self.last_checkpoint = Some(pos);
        }
        self.write_pos = pos + total;
        self.next_seq = seq + 1;
        self.entries += 1;
        self.publish.note_write(self.write_pos);
    }

    /// Installs a new mapping (after compaction swapped the file).
    pub fn replace_map(&mut self, map: Mapping, fd: i32) {
        let _remap = self.publish.lock.write();
        self.map = map;
        self.publish.set(self.map.base(), self.map.len(), fd, false);
    }

    /// Writes a new header generation into the slot not holding the current one.
    pub fn write_header(&mut self, durable_end: usize) {
        let (slot, at) = if self.header_slot == 0 { (1, SLOT_OFFSETS[1]) } else { (0, SLOT_OFFSETS[0]) };
        let h =
            Header { generation: self.header.generation + 1, durable_end: durable_end as u64, ..self.header };
        // The mapping always covers the header page (no shorter file is opened); were it
        // not to, the header held here stays the one on disk.
        let Some(dst) = self.map.bytes_mut().get_mut(at..at + SLOT_SIZE) else { return };
        dst.copy_from_slice(&h.encode(slot));
        self.header = h;
        self.header_slot = slot;
        self.header_written = std::time::Instant::now();
    }

    /// The entry at `off`, which must lie in the verified region.
    #[inline]
    pub fn entry_at(&self, off: usize) -> Option<EntryRef<'_>> {
        entry::decode_verified(self.map.bytes().get(off..self.write_pos)?)
    }

    /// `off`, or the end of the skipped damaged range starting there.
    #[inline]
    pub fn skip_damage(&self, off: usize) -> usize {
        if self.skipped.is_empty() {
            return off;
        }
        match self.skipped.binary_search_by_key(&off, |r| r.0) {
            Ok(i) => self.skipped.get(i).map_or(off, |r| r.1),
            Err(_) => off,
        }
    }

    /// Offset of the first entry with seq >= `seq` (`write_pos` when there is none).
    pub fn offset_of(&self, seq: u64) -> usize {
        self.locate(seq).0
    }

    /// Offset and ordinal (position in the file) of the first entry with seq >= `seq`.
    pub fn locate(&self, seq: u64) -> (usize, u64) {
        let start = self.index.floor(seq).map_or((HEADER_SIZE, 0), |p| (p.offset, p.ordinal));
        let (mut off, mut ordinal) = (self.skip_damage(start.0), start.1);
        while off < self.write_pos {
            match self.entry_at(off) {
                Some(e) if e.seq < seq => {
                    off = self.skip_damage(off + e.total_len);
                    ordinal += 1;
                }
                _ => break,
            }
        }
        (off, ordinal)
    }

    pub fn map_growth(&self) -> crate::options::GrowthStrategy {
        self.map.strategy()
    }

    pub fn last_seq(&self) -> u64 {
        if self.entries == 0 {
            0
        } else {
            self.next_seq - 1
        }
    }
}
