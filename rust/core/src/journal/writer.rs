//! The journal writer: open (with recovery), append, read, flush, close.
//!
//! One exclusive `flock` per journal file: a second writer, in this process or another,
//! gets `Error::Locked`. Readers in other processes use [`super::reader::JournalReader`].
//! A handle does not cross a fork (see `crate::fork`): in a forked child every call that
//! could touch the file or a lock refuses with `Error::Forked`, checked before any lock.

use super::create::create;
use super::gate::{Durable, SyncGate};
use super::mapping::Mapping;
use super::prefault::{MapPublish, Prefaulter};
use super::reader::JournalReader;
use super::recovery::{scan, RecoveryReport};
use super::state::State;
use super::sync::{IntervalSync, Shared};
use crate::error::{Error, Result};
use crate::fork::{LockFd, Owner};
use crate::format::entry::{self, FLAG_CHECKPOINT};
use crate::format::header::{self, SlotError, HEADER_SIZE};
use crate::locks::Mutex;
use crate::options::{JournalOptions, SyncPolicy};
use crate::sys;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// An entry appended by [`Journal::append_deferred`], not yet waited for.
#[must_use = "pass it to Journal::wait_durable: under sync=\"always\" the entry is not durable yet"]
#[derive(Debug, Clone, Copy)]
pub struct Appended {
    pub seq: u64,
    /// The file generation and offset the entry ends at (what a sync must cover).
    epoch: u64,
    end: usize,
}

/// An open, writable journal. All methods take `&self`: share it between threads freely.
pub struct Journal {
    shared: Arc<Shared>,
    syncer: Mutex<Option<IntervalSync>>,
    prefaulter: Mutex<Option<Prefaulter>>,
    owner: Owner,
    /// Set while an order book journals into this handle (see [`Journal::claim`]).
    claimed: AtomicBool,
}

/// Batches of at least this many bytes have their pages populated in one call first.
const POPULATE_BATCH: usize = 256 << 10;

fn header_error(path: &Path, e: SlotError) -> Error {
    match e {
        SlotError::Empty => Error::corruption(path, 0, "no journal header: the first page is all zero"),
        SlotError::BadMagic => Error::corruption(path, 0, "not a pinnacle journal (bad magic)"),
        SlotError::Damaged(why) => {
            Error::corruption(path, 0, format!("both header slots are damaged: {why}"))
        }
        SlotError::Version(version) => Error::UnsupportedVersion { path: path.to_path_buf(), version },
    }
}

impl Journal {
    /// Opens the journal at `path`, creating it if absent. An existing journal is scanned
    /// entry by entry (every CRC verified) and repaired according to `opts.recovery`; what
    /// was found is in [`Journal::recovery_report`].
    pub fn open(path: impl AsRef<Path>, opts: JournalOptions) -> Result<Journal> {
        let started = Instant::now();
        let owner = Owner::current();
        let opts = opts.validated()?;
        let path = path.as_ref().to_path_buf();
        if path.as_os_str().is_empty() {
            return Err(Error::invalid("journal path is empty"));
        }
        let file = match LockFd::open(|| sys::open_existing(&path, true)) {
            Ok(f) => f,
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                create(&path, &opts)?;
                LockFd::open(|| sys::open_existing(&path, true))?
            }
            Err(e) => return Err(e),
        };
        crate::fork::retry_while_children_start(|| sys::lock_exclusive(&file, &path))?;
        crate::atomic_file::remove_stale_temps_of(&path);
        let meta = file.metadata().map_err(|e| Error::io("fstat", &path, e))?;
        if !meta.is_file() {
            return Err(Error::invalid(format!("{} is not a regular file", path.display())));
        }
        if meta.len() < HEADER_SIZE as u64 {
            return Err(Error::corruption(&path, meta.len(), "file is too short to be a pinnacle journal"));
        }
        let mut map = Mapping::new(&file, &path, opts.growth)?;
        // Past the last data region (SEEK_DATA) the file reads as zeros: skip reading it.
        // Asked before the first access through the mapping, which caches pages.
        let data_end = (sys::data_end(&file, map.len() as u64) as usize).clamp(HEADER_SIZE, map.len());
        map.will_need(data_end);
        let choice = header::choose(map.bytes()).map_err(|e| header_error(&path, e))?;
        // `data_end` is clamped to the mapping above.
        let found =
            scan(map.bytes().get(..data_end).unwrap_or_default(), &choice.header, opts.recovery, &path)?;
        if found.dirty_end > found.end {
            // Stale bytes past the new end would be misread after the next append.
            if let Some(stale) = map.bytes_mut().get_mut(found.end..found.dirty_end) {
                stale.fill(0);
            }
        }
        let publish = MapPublish::new(cfg!(target_os = "linux"));
        publish.set(map.base(), map.len(), std::os::unix::io::AsRawFd::as_raw_fd(&file), false);
        publish.note_write(found.end);
        let mut report = found.report;
        report.header_repaired = choice.other_damaged;
        let state = State {
            file: Some(Arc::new(file)),
            map,
            write_pos: found.end,
            first_seq: found.first_seq,
            next_seq: found.next_seq,
            entries: found.entries,
            index: found.index,
            last_checkpoint: found.last_checkpoint,
            skipped: report.skipped.iter().map(|r| (r.start as usize, r.end as usize)).collect(),
            header: choice.header,
            header_slot: choice.slot,
            header_written: Instant::now(),
            durable_end: (choice.header.durable_end as usize).min(found.end),
            epoch: 0,
            closed: false,
            closed_reason: None,
            publish: publish.clone(),
            poison: None,
            report,
        };
        let needs_seal = !state.report.is_clean() || (state.header.durable_end as usize) != state.write_pos;
        let gate = SyncGate::new(Durable { epoch: state.epoch, end: state.durable_end });
        let shared = Arc::new(Shared { path, opts, state: Mutex::new(state), gate });
        if needs_seal {
            if choice.header.durable_end as usize > found.end {
                // The header claimed more durable bytes than survive (a cut file): make
                // the next sync rewrite it rather than trust it.
                let mut st = shared.state.lock();
                st.durable_end = HEADER_SIZE;
            }
            shared.seal()?;
        }
        shared.state.lock().report.duration = started.elapsed();
        let syncer = match shared.opts.sync {
            SyncPolicy::Interval(every) => Some(
                IntervalSync::start(&shared, every)
                    .map_err(|e| Error::io("start sync worker", &shared.path, e))?,
            ),
            _ => None,
        };
        let prefaulter = Prefaulter::start(publish);
        Ok(Journal {
            shared,
            syncer: Mutex::new(syncer),
            prefaulter: Mutex::new(prefaulter),
            claimed: AtomicBool::new(false),
            owner,
        })
    }

    fn check_payload(&self, len: usize) -> Result<()> {
        let max = self.shared.opts.max_entry_size as usize;
        if len > max {
            return Err(Error::invalid(format!(
                "payload of {len} bytes exceeds max_entry_size ({max} bytes)"
            )));
        }
        Ok(())
    }

    fn check_timestamp(ts: Option<i64>) -> Result<()> {
        match ts {
            Some(t) if t < 0 => Err(Error::invalid(format!("timestamp_ns must be >= 0, got {t}"))),
            _ => Ok(()),
        }
    }

    /// Appends one entry and returns its sequence number. With `sync="always"` the entry is
    /// durable when this returns.
    pub fn append(&self, kind: u16, payload: &[u8], timestamp_ns: Option<i64>) -> Result<u64> {
        let appended = self.append_deferred(kind, payload, timestamp_ns)?;
        self.wait_durable(appended)
    }

    /// Appends one entry without waiting for it to be durable: the entry is in the journal
    /// (readers see it, later appends follow it) but, under `sync="always"`, not yet
    /// synced. Pass the result to [`Journal::wait_durable`] — typically after releasing
    /// whatever lock ordered the append, so that threads appending through one lock still
    /// share syncs (group commit).
    pub fn append_deferred(&self, kind: u16, payload: &[u8], timestamp_ns: Option<i64>) -> Result<Appended> {
        self.append_flagged(kind, 0, payload, timestamp_ns)
    }

    /// Returns once `appended` is as durable as the sync policy promises (under
    /// `sync="always"`: synced, by this thread or by a sync another thread led); its seq.
    /// A failed sync poisons the handle and is returned here.
    pub fn wait_durable(&self, appended: Appended) -> Result<u64> {
        if self.shared.opts.sync == SyncPolicy::Always {
            self.shared.make_durable(Some((appended.epoch, appended.end)))?;
        }
        Ok(appended.seq)
    }

    fn append_flagged(
        &self,
        kind: u16,
        flags: u16,
        payload: &[u8],
        timestamp_ns: Option<i64>,
    ) -> Result<Appended> {
        self.check_owner()?;
        self.check_payload(payload.len())?;
        Self::check_timestamp(timestamp_ns)?;
        let total = entry::encoded_len(payload.len());
        let appended = {
            let mut st = self.shared.state.lock();
            st.check_writable(&self.shared.path)?;
            let pos = st.reserve(total, self.shared.opts.growth_step, &self.shared.path)?;
            let seq = st.next_seq;
            let ts = timestamp_ns.unwrap_or_else(crate::wall_clock_ns);
            if !entry::write(reserved(&mut st, pos, total, &self.shared.path)?, seq, ts, kind, flags, payload)
            {
                return Err(outside_reserved(pos, total, &self.shared.path));
            }
            st.commit(pos, total, seq, flags & FLAG_CHECKPOINT != 0);
            Appended { seq, epoch: st.epoch, end: pos + total }
        };
        Ok(appended)
    }

    /// Appends every payload as one entry of `kind`, all under one lock (no other entry
    /// interleaves) and with one sync under `sync="always"`. Returns (first, last) seq.
    pub fn append_batch(
        &self,
        kind: u16,
        payloads: &[&[u8]],
        timestamp_ns: Option<i64>,
    ) -> Result<(u64, u64)> {
        self.check_owner()?;
        if payloads.is_empty() {
            return Err(Error::invalid("append_many needs at least one payload"));
        }
        Self::check_timestamp(timestamp_ns)?;
        let mut total = 0usize;
        for p in payloads {
            self.check_payload(p.len())?;
            total += entry::encoded_len(p.len());
        }
        let (first, last, epoch, end) = {
            let mut st = self.shared.state.lock();
            st.check_writable(&self.shared.path)?;
            let mut pos = st.reserve(total, self.shared.opts.growth_step, &self.shared.path)?;
            if total >= POPULATE_BATCH {
                sys::populate_batch(st.map.base() as usize + pos, total);
            }
            let ts = timestamp_ns.unwrap_or_else(crate::wall_clock_ns);
            let first = st.next_seq;
            for p in payloads {
                let n = entry::encoded_len(p.len());
                let seq = st.next_seq;
                if !entry::write(reserved(&mut st, pos, n, &self.shared.path)?, seq, ts, kind, 0, p) {
                    return Err(outside_reserved(pos, n, &self.shared.path));
                }
                st.commit(pos, n, seq, false);
                pos += n;
            }
            (first, st.next_seq - 1, st.epoch, pos)
        };
        if self.shared.opts.sync == SyncPolicy::Always {
            self.shared.make_durable(Some((epoch, end)))?;
        }
        Ok((first, last))
    }

    /// Journals a checkpoint marker (an entry flagged as a checkpoint, kind 0).
    pub fn checkpoint(&self, marker: &[u8]) -> Result<u64> {
        let appended = self.append_flagged(crate::kinds::CHECKPOINT, FLAG_CHECKPOINT, marker, None)?;
        self.wait_durable(appended)
    }

    /// The newest checkpoint entry still held: (seq, marker).
    pub fn last_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>> {
        self.check_owner()?;
        let st = self.shared.state.lock();
        st.check_open(&self.shared.path)?;
        let Some(e) = st.last_checkpoint.and_then(|off| st.entry_at(off)) else { return Ok(None) };
        let mut marker = Vec::new();
        Error::reserve(&mut marker, e.payload.len(), "a checkpoint marker")?;
        marker.extend_from_slice(e.payload);
        Ok(Some((e.seq, marker)))
    }

    /// Makes everything appended so far durable, with one fdatasync. The header's durable
    /// mark catches up at the next sync (or close): until then damage in these bytes is
    /// reported as a cut tail rather than raised as corruption.
    pub fn flush(&self) -> Result<()> {
        self.check_owner()?;
        self.shared.make_durable(None)
    }

    /// A [`JournalReader`] of this journal from the first entry with seq >= `from_seq`,
    /// placed by this handle's index instead of reading every entry before it.
    pub fn reader_from(&self, from_seq: u64) -> Result<JournalReader> {
        let (ino, pos, seq) = {
            let st = self.shared.state.lock();
            st.check_open(&self.shared.path)?;
            let file = st.open_file(&self.shared.path)?;
            let ino = file.metadata().map_err(|e| Error::io("fstat", &self.shared.path, e))?.ino();
            let first = st.header.first_seq;
            if from_seq != 0 && from_seq < first {
                // As `JournalReader::open`: those entries were compacted away.
                return Err(Error::Compacted {
                    path: self.shared.path.clone(),
                    wanted_seq: from_seq,
                    first_seq: first,
                });
            }
            let pos = st.offset_of(from_seq);
            let seq = if pos < st.write_pos {
                st.entry_at(pos).map_or(st.next_seq, |e| e.seq)
            } else {
                st.next_seq
            };
            (ino, pos, seq)
        };
        match JournalReader::open_at(&self.shared.path, ino, pos, seq, from_seq)? {
            Some(r) => Ok(r),
            None => JournalReader::open(&self.shared.path, from_seq),
        }
    }

    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// `Error::Forked` in a process other than the one that opened the handle (a forked
    /// child). The methods returning a `Result` check it themselves; the plain getters
    /// below do not (they would lock state that a thread absent from the child may hold),
    /// so bindings call this first.
    #[inline]
    pub fn check_owner(&self) -> Result<()> {
        self.owner.check(&self.shared.path)
    }

    /// The process the handle belongs to.
    pub fn owner(&self) -> Owner {
        self.owner
    }

    /// The journal's random 128-bit identity, fixed at creation and kept by compaction;
    /// None for a journal created before identities existed (format version 1).
    pub fn journal_id(&self) -> Option<u128> {
        self.with_state(|s| Some(s.header.journal_id).filter(|&id| id != 0))
    }

    /// Marks the journal as owned by one consumer (an order book); false if it already
    /// is. Advisory: the owner's appends go through as before, and bindings refuse other
    /// appends while [`Journal::is_claimed`].
    pub fn claim(&self) -> bool {
        !self.claimed.swap(true, Ordering::AcqRel)
    }

    /// Ends the claim taken by [`Journal::claim`].
    pub fn release_claim(&self) {
        self.claimed.store(false, Ordering::Release);
    }

    pub fn is_claimed(&self) -> bool {
        self.claimed.load(Ordering::Acquire)
    }

    fn with_state<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.shared.state.lock())
    }

    /// Sequence number of the first entry held (the next seq when empty).
    pub fn first_seq(&self) -> u64 {
        self.with_state(|s| if s.entries == 0 { s.next_seq } else { s.first_seq })
    }

    /// Sequence number of the last entry held; 0 when the journal holds none.
    pub fn last_seq(&self) -> u64 {
        self.with_state(|s| s.last_seq())
    }

    /// The sequence number the next append gets.
    pub fn next_seq(&self) -> u64 {
        self.with_state(|s| s.next_seq)
    }

    pub fn entry_count(&self) -> u64 {
        self.with_state(|s| s.entries)
    }

    /// Length of the file on disk, preallocated space included.
    pub fn size_bytes(&self) -> u64 {
        self.with_state(|s| s.map.len() as u64)
    }

    /// Bytes used by the header and entries.
    pub fn data_bytes(&self) -> u64 {
        self.with_state(|s| s.write_pos as u64)
    }

    pub fn recovery_report(&self) -> RecoveryReport {
        self.with_state(|s| s.report.clone())
    }

    pub fn is_closed(&self) -> bool {
        self.with_state(|s| s.closed)
    }

    /// The error that poisoned the handle, if a sync failed.
    pub fn poisoned(&self) -> Option<String> {
        self.with_state(|s| s.poison.as_ref().map(|p| p.1.clone()))
    }

    pub fn options(&self) -> &JournalOptions {
        &self.shared.opts
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    fn stop_threads(&self) {
        if let Some(t) = self.syncer.lock().take() {
            t.stop();
        }
        if let Some(p) = self.prefaulter.lock().take() {
            p.stop();
        }
    }

    /// Flushes, records the durable end in the header and releases the file. Idempotent.
    /// A poisoned handle is released too, and its error returned.
    /// In a forked child it releases nothing (the parent's file, lock and threads are the
    /// parent's) and returns Ok.
    pub fn close(&self) -> Result<()> {
        if !self.owner.is_current() {
            return Ok(());
        }
        self.stop_threads();
        let result = if self.is_closed() { Ok(()) } else { self.shared.seal() };
        self.shared.state.lock().release();
        result
    }

    /// [`close`](Self::close), recording `reason`: every later call's `Closed` error names
    /// it (a journal closed before keeps its first reason, or none).
    pub fn close_because(&self, reason: &str) -> Result<()> {
        {
            let mut st = self.shared.state.lock();
            if !st.closed && st.closed_reason.is_none() {
                st.closed_reason = Some(reason.to_owned());
            }
        }
        self.close()
    }

    /// Test hook: releases the file as a crash would (no sync, no header update).
    #[doc(hidden)]
    pub fn abandon(&self) {
        if !self.owner.is_current() {
            return;
        }
        self.stop_threads();
        self.shared.state.lock().release();
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        if !self.owner.is_current() {
            // A forked child: the state may be locked by threads it does not have, and
            // its mapping and descriptor are gone (crate::fork): leak it all, join nothing.
            // (The background work is the parent's pool's: service.rs never touches it here.)
            std::mem::forget(self.shared.clone());
            return;
        }
        let _ = self.close();
    }
}
/// The bytes `pos..pos + len` of the mapping, which `State::reserve` made room for (an
/// error, never a panic, should that ever not hold; nothing was written then).
fn reserved<'a>(st: &'a mut State, pos: usize, len: usize, path: &Path) -> Result<&'a mut [u8]> {
    st.map.bytes_mut().get_mut(pos..pos.saturating_add(len)).ok_or_else(|| outside_reserved(pos, len, path))
}

fn outside_reserved(pos: usize, len: usize, path: &Path) -> Error {
    Error::invalid(format!(
        "internal error: an entry of {len} bytes at offset {pos} does not fit the space reserved in {}",
        path.display()
    ))
}
