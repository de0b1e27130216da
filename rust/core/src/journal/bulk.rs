//! Reads through the writer's handle: a chunk of entries, or every entry from a sequence
//! number on, into columns.
//!
//! `from_seq` 0 means "from the oldest entry held". Any other `from_seq` before the
//! journal's `first_seq` asks for entries compaction removed: `Error::Compacted`, as the
//! cross-process reader says, never a silent start at a later entry.
//!
//! The result columns are fresh memory, which costs a page fault per page (and, on a VM, a
//! hypervisor exit): for large reads a helper thread faults them in while the reader fills
//! them, so the two overlap on two cores.

use super::state::State;
use super::writer::Journal;
use super::Columns;
use crate::error::{Error, Result};
use crate::format::entry;
use crate::sys;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Result columns at least this large get a helper thread faulting their pages in.
const POPULATE_ALONGSIDE_MIN: usize = 16 << 20;

/// Faults in the columns' spare capacity, every column in step, front to back (the order
/// the reader fills them). Populating changes no byte, so it may race the reader's writes;
/// if a column was reallocated meanwhile its old address may be freed or reused, which a
/// populate still leaves unchanged (or refuses, ending the helper).
fn populate_alongside(columns: &[(usize, usize)], stop: &AtomicBool) {
    const STEPS: usize = 64;
    for k in 0..STEPS {
        for &(addr, len) in columns {
            let (from, to) = (len * k / STEPS, len * (k + 1) / STEPS);
            if stop.load(Ordering::Relaxed) || (to > from && !sys::populate_write(addr + from, to - from)) {
                return;
            }
        }
    }
}

/// `Error::Compacted` when `from_seq` (not 0) precedes the entries the file holds.
fn check_held(st: &State, from_seq: u64, path: &Path) -> Result<()> {
    if from_seq != 0 && from_seq < st.first_seq {
        return Err(Error::Compacted {
            path: path.to_path_buf(),
            wanted_seq: from_seq,
            first_seq: st.first_seq,
        });
    }
    Ok(())
}

impl Journal {
    /// Copies up to `max_entries` entries with seq >= `from_seq` into `out`; returns how
    /// many. The lock is held only for this call, so long reads go in chunks.
    pub fn read_into(&self, from_seq: u64, max_entries: usize, out: &mut Columns) -> Result<usize> {
        self.check_owner()?;
        let shared = self.shared();
        let st = shared.state.lock();
        st.check_open(&shared.path)?;
        check_held(&st, from_seq, &shared.path)?;
        let mut off = st.offset_of(from_seq);
        let mut n = 0;
        while n < max_entries && off < st.write_pos {
            let Some(e) = st.entry_at(off) else { break };
            out.push(&e)?;
            off = st.skip_damage(off + e.total_len);
            n += 1;
        }
        Ok(n)
    }

    /// Every entry with seq >= `from_seq`, read in chunks so appenders are not stalled.
    /// Memory is proportional to the entries read (their payloads are stored back to back).
    pub fn read_all(&self, from_seq: u64) -> Result<Columns> {
        self.check_owner()?;
        let (entries, bytes) = {
            let st = self.shared().state.lock();
            st.check_open(&self.shared().path)?;
            check_held(&st, from_seq, &self.shared().path)?;
            let (off, ordinal) = st.locate(from_seq);
            let damaged: usize =
                st.skipped.iter().map(|&(a, b)| b.min(st.write_pos).saturating_sub(a.max(off))).sum();
            ((st.entries - ordinal) as usize, st.write_pos - off - damaged)
        };
        // Payload bytes are at most the entries' bytes on disk less their headers; entries
        // appended meanwhile just grow the vectors.
        let mut out =
            Columns::try_with_capacity(entries, bytes.saturating_sub(entries * entry::ENTRY_HEADER))?;
        let spare = out.spare_capacity();
        let stop = AtomicBool::new(false);
        let two_cores = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        std::thread::scope(|s| {
            if two_cores && spare.iter().map(|r| r.1).sum::<usize>() >= POPULATE_ALONGSIDE_MIN {
                s.spawn(|| populate_alongside(&spare, &stop));
            }
            let mut next = from_seq;
            let read = loop {
                match self.read_into(next, 65_536, &mut out) {
                    Ok(0) => break Ok(()),
                    // A read that returned entries left the last one's seq in `out`.
                    Ok(_) => match out.seq.last() {
                        Some(&last) => next = last + 1,
                        None => break Ok(()),
                    },
                    Err(e) => break Err(e),
                }
            };
            stop.store(true, Ordering::Relaxed);
            read
        })?;
        Ok(out)
    }
}
