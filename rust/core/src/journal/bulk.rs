//! Bulk reads: every entry from a sequence number on, into columns.
//!
//! The result columns are fresh memory, which costs a page fault per page (and, on a VM, a
//! hypervisor exit): for large reads a helper thread faults them in while the reader fills
//! them, so the two overlap on two cores.

use super::writer::Journal;
use super::Columns;
use crate::error::Result;
use crate::format::entry;
use crate::sys;
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

impl Journal {
    /// Every entry with seq >= `from_seq`, read in chunks so appenders are not stalled.
    pub fn read_all(&self, from_seq: u64) -> Result<Columns> {
        self.check_owner()?;
        let (entries, bytes) = {
            let st = self.shared().state.lock();
            st.check_open(&self.shared().path)?;
            let (off, ordinal) = st.locate(from_seq);
            let damaged: usize =
                st.skipped.iter().map(|&(a, b)| b.min(st.write_pos).saturating_sub(a.max(off))).sum();
            ((st.entries - ordinal) as usize, st.write_pos - off - damaged)
        };
        // Payload bytes are at most the entries' bytes on disk less their headers; entries
        // appended meanwhile just grow the vectors.
        let mut out = Columns::with_capacity(entries, bytes.saturating_sub(entries * entry::ENTRY_HEADER));
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
                    Ok(_) => next = out.seq[out.len() - 1] + 1,
                    Err(e) => break Err(e),
                }
            };
            stop.store(true, Ordering::Relaxed);
            read
        })?;
        Ok(out)
    }
}
