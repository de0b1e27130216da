//! Compaction: drop the entries before a sequence number, crash-safely and online.
//!
//! Protocol: the atomic-file protocol ([`crate::atomic_file`]): write the retained
//! entries (bytes unchanged: their CRCs do not depend on position) after a fresh header
//! into a locked temp file in the same directory, fdatasync it, rename it over the
//! journal, fsync the directory. A crash before the rename leaves the old journal intact
//! (the temp file is removed at the next open once its creator is gone); after it, the
//! new one. Sequence numbers never change: the new header's `first_seq` is the first retained
//! entry's seq (the next seq when nothing is retained).
//!
//! Pausing writers: entries are immutable once written, so the bulk of the retained bytes
//! is copied (pread from the old file) and synced *without* the state lock; the lock is
//! taken only to copy what was appended meanwhile, sync that delta, rename and swap.
//! The sync gate is held throughout, so no sync or other compaction interleaves.

use super::create::write_fresh_header;
use super::gate::Durable;
use super::index::SeqIndex;
use super::mapping::Mapping;
use super::state::State;
use super::writer::Journal;
use crate::atomic_file::{self, Place, Temp};
use crate::error::{Error, Result};
use crate::fork::LockFd;
use crate::format::entry::{seal, ENTRY_HEADER, FLAG_AFTER_GAP};
use crate::format::header::{Header, HEADER_SIZE};
use crate::options::{round_up, PAGE};
use crate::sys;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::Arc;

/// What phase 1 (under the lock) decided.
struct Plan {
    cut: usize,
    dropped: u64,
    /// Write position when the plan was made: `[cut, end)` is copied without the lock.
    end: usize,
    old: Arc<LockFd>,
    first_seq: u64,
    header: Header,
}

impl Journal {
    /// Drops every entry with seq < `keep_from_seq`; returns how many were dropped. The
    /// handle stays usable and appends continue with the same sequence numbers.
    pub fn compact(&self, keep_from_seq: u64) -> Result<u64> {
        let shared = self.shared();
        let path = shared.path.as_path();
        self.check_owner()?;
        let gate = shared.gate.hold();
        let plan = {
            let mut st = shared.state.lock();
            st.check_writable(path)?;
            if keep_from_seq > st.next_seq {
                return Err(Error::invalid(format!(
                    "keep_from_seq {keep_from_seq} is past the next sequence number {}",
                    st.next_seq
                )));
            }
            let (cut, dropped) = st.locate(keep_from_seq);
            if cut == HEADER_SIZE {
                return Ok(0);
            }
            if !st.skipped.is_empty() {
                let dropped = compact_salvaged(&mut st, cut, path, shared.opts.initial_size);
                gate.record(Durable { epoch: st.epoch, end: st.durable_end });
                return dropped;
            }
            Plan {
                cut,
                dropped,
                end: st.write_pos,
                old: st.open_file(path)?.clone(),
                first_seq: st.entry_at(cut).map_or(st.next_seq, |e| e.seq),
                header: st.header,
            }
        };
        let (temp, file) = locked_temp(path)?;
        let tmp = temp.path().to_path_buf();
        let initial = shared.opts.initial_size;
        let bulk = (|| {
            let len = round_up((HEADER_SIZE + plan.end - plan.cut) as u64, PAGE).max(initial);
            sys::allocate(&file, &tmp, 0, len)?;
            copy_range(&plan.old, path, plan.cut as u64, plan.end as u64, &file, &tmp, HEADER_SIZE as u64)?;
            sys::datasync(&file, &tmp)?;
            Ok(len)
        })();
        let mut st = shared.state.lock();
        let swapped = bulk.and_then(|len| {
            st.check_writable(path)?;
            // Entries appended while the bulk was copied.
            let new_end = HEADER_SIZE + (st.write_pos - plan.cut);
            if new_end as u64 > len {
                sys::allocate(&file, &tmp, len, round_up(new_end as u64, PAGE))?;
            }
            let delta = mapped(&st, plan.end, st.write_pos, path)?;
            file.write_all_at(delta, (HEADER_SIZE + plan.end - plan.cut) as u64)
                .map_err(|e| Error::io("write", &tmp, e))?;
            let header = Header {
                first_seq: plan.first_seq,
                generation: 1,
                durable_end: new_end as u64,
                created_ns: plan.header.created_ns,
                max_entry_size: plan.header.max_entry_size,
                journal_id: plan.header.journal_id,
            };
            write_fresh_header(&file, &tmp, &header)?;
            let map = Mapping::new(&file, &tmp, shared.opts.growth)?;
            temp.place(&file, Place::Replace)?;
            Ok((map, header, new_end))
        });
        // On an error the temp was removed (dropped with the closure or by `place`).
        let (map, header, new_end) = swapped?;
        // The path now names the new file: switch to it whatever happens next.
        st.index.rebase(plan.cut, HEADER_SIZE, plan.dropped);
        st.last_checkpoint =
            st.last_checkpoint.filter(|&o| o >= plan.cut).map(|o| o - plan.cut + HEADER_SIZE);
        install(&mut st, file, map, header, new_end, plan.dropped);
        gate.record(Durable { epoch: st.epoch, end: st.durable_end });
        finish(&mut st, path, plan.dropped)
    }
}

/// Points the state at the compacted file.
fn install(st: &mut State, file: LockFd, map: Mapping, header: Header, new_end: usize, dropped: u64) {
    let fd = file.as_raw_fd();
    st.file = Some(Arc::new(file));
    st.replace_map(map, fd);
    st.write_pos = new_end;
    st.first_seq = header.first_seq;
    st.entries -= dropped;
    st.header = header;
    st.header_slot = 0;
    st.header_written = std::time::Instant::now();
    st.durable_end = new_end;
    st.epoch += 1;
}

/// A locked temp file for the compacted copy of the journal at `path` (its descriptor
/// registered for fork safety like the journal's own).
fn locked_temp(path: &Path) -> Result<(Temp, LockFd)> {
    let mut temp = None;
    let file = LockFd::open(|| {
        let (t, f) = Temp::create(path, 0o600)?;
        temp = Some(t);
        Ok(f)
    })?;
    let temp = temp.ok_or_else(|| Error::invalid("compaction temp file was not created"))?;
    sys::lock_exclusive(&file, temp.path())?;
    Ok((temp, file))
}

/// Makes the rename durable (the protocol's last step); a failure poisons the handle
/// (the directory entry may revert).
fn finish(st: &mut State, path: &Path, dropped: u64) -> Result<u64> {
    if let Err(e) = atomic_file::sync_dir(path) {
        st.poison_with(&e);
        return Err(e);
    }
    Ok(dropped)
}

/// Copies `[from, to)` of `src` to `dst` at `at`, in 1 MiB chunks.
fn copy_range(
    src: &File,
    src_path: &Path,
    from: u64,
    to: u64,
    dst: &File,
    dst_path: &Path,
    at: u64,
) -> Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    let mut off = from;
    while off < to {
        let n = usize::try_from(to - off).unwrap_or(usize::MAX).min(buf.len());
        // `n` is at most the buffer's length.
        let Some(chunk) = buf.get_mut(..n) else {
            return Err(Error::invalid(format!("internal error: a {n}-byte copy exceeds its buffer")));
        };
        src.read_exact_at(chunk, off).map_err(|e| Error::io("read", src_path, e))?;
        dst.write_all_at(chunk, at + (off - from)).map_err(|e| Error::io("write", dst_path, e))?;
        off += n as u64;
    }
    Ok(())
}

/// Compaction of a journal opened with `skip_corrupted` that still holds damaged ranges:
/// copies only the valid runs (under the lock) and flags the first entry after each
/// removed range with FLAG_AFTER_GAP so the seq jump reads as intended.
fn compact_salvaged(st: &mut State, cut: usize, path: &Path, initial: u64) -> Result<u64> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut index = SeqIndex::default();
    let (mut off, mut retained, mut first_kept, mut new_end) = (cut, 0u64, None, HEADER_SIZE);
    while off < st.write_pos {
        let Some(e) = st.entry_at(off) else { break };
        index.note(e.seq, new_end);
        first_kept.get_or_insert(e.seq);
        retained += 1;
        new_end += e.total_len;
        match runs.last_mut() {
            Some(run) if run.1 == off => run.1 += e.total_len,
            _ => runs.push((off, off + e.total_len)),
        }
        off = st.skip_damage(off + e.total_len);
    }
    let header = Header {
        first_seq: first_kept.unwrap_or(st.next_seq),
        generation: 1,
        durable_end: new_end as u64,
        created_ns: st.header.created_ns,
        max_entry_size: st.header.max_entry_size,
        journal_id: st.header.journal_id,
    };
    let (temp, file) = locked_temp(path)?;
    let tmp = temp.path().to_path_buf();
    let written = (|| {
        sys::allocate(&file, &tmp, 0, round_up((new_end as u64).max(initial), PAGE))?;
        write_fresh_header(&file, &tmp, &header)?;
        let mut at = HEADER_SIZE as u64;
        for (i, &(a, b)) in runs.iter().enumerate() {
            file.write_all_at(mapped(st, a, b, path)?, at).map_err(|e| Error::io("write", &tmp, e))?;
            if i > 0 {
                // A new run after the first follows a removed range.
                let mut first = Vec::new();
                let entry = mapped(st, a, a + st.entry_at(a).map_or(0, |e| e.total_len), path)?;
                Error::reserve(&mut first, entry.len(), "an entry being copied")?;
                first.extend_from_slice(entry);
                if !mark_after_gap(&mut first) {
                    return Err(Error::corruption(path, a as u64, "entry too short to carry flags"));
                }
                file.write_all_at(&first, at).map_err(|e| Error::io("write", &tmp, e))?;
            }
            at += (b - a) as u64;
        }
        let map = Mapping::new(&file, &tmp, st.map_growth())?;
        temp.place(&file, Place::Replace)?;
        Ok(map)
    })();
    // On an error the temp was removed (dropped with the closure or by `place`).
    let map = written?;
    let dropped = st.entries - retained;
    st.last_checkpoint = st.last_checkpoint.filter(|&o| o >= cut).map(|o| moved(&runs, o));
    st.skipped.clear();
    st.index = index;
    install(st, file, map, header, new_end, dropped);
    finish(st, path, dropped)
}

/// Sets FLAG_AFTER_GAP on an encoded entry and re-seals its CRC; false (nothing changed)
/// when `entry` is shorter than an entry header.
fn mark_after_gap(entry: &mut [u8]) -> bool {
    let Some(head) = entry.first_chunk_mut::<ENTRY_HEADER>() else { return false };
    let flags = u16::from_le_bytes([head[26], head[27]]) | FLAG_AFTER_GAP;
    head[26..28].copy_from_slice(&flags.to_le_bytes());
    seal(entry)
}

/// The mapped bytes `[from, to)` of the journal being compacted: entries this handle
/// verified or wrote, so inside the mapping (an error, never a panic, should that not hold).
fn mapped<'a>(st: &'a State, from: usize, to: usize, path: &Path) -> Result<&'a [u8]> {
    st.map.bytes().get(from..to).ok_or_else(|| {
        Error::corruption(path, from as u64, format!("range {from}..{to} lies outside the mapped journal"))
    })
}

/// Where the byte at old offset `o` (inside one of `runs`) lands in the compacted file.
fn moved(runs: &[(usize, usize)], o: usize) -> usize {
    let mut at = HEADER_SIZE;
    for &(a, b) in runs {
        if (a..b).contains(&o) {
            return at + (o - a);
        }
        at += b - a;
    }
    HEADER_SIZE
}
