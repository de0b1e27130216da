//! Compaction: drop the entries before a sequence number, crash-safely and online.
//!
//! Protocol: write the retained entries (bytes unchanged: their CRCs do not depend on
//! position) after a fresh header into a locked temp file in the same directory, fdatasync
//! it, rename it over the journal, fsync the directory. A crash before the rename leaves
//! the old journal intact (the temp file is removed at the next open); after it, the new
//! one. Sequence numbers never change: the new header's `first_seq` is the first retained
//! entry's seq (the next seq when nothing is retained).

use super::create::{temp_path, write_fresh_header};
use super::index::SeqIndex;
use super::mapping::Mapping;
use super::writer::Journal;
use crate::error::{Error, Result};
use crate::format::entry::{seal, FLAG_AFTER_GAP};
use crate::format::header::{Header, HEADER_SIZE};
use crate::options::{round_up, PAGE};
use crate::sys;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::sync::Arc;

impl Journal {
    /// Drops every entry with seq < `keep_from_seq`; returns how many were dropped. The
    /// handle stays usable and appends continue with the same sequence numbers.
    pub fn compact(&self, keep_from_seq: u64) -> Result<u64> {
        let shared = self.shared();
        let path = shared.path.as_path();
        let _serial = shared.sync_lock.lock();
        let mut st = shared.state.lock();
        st.check_writable(path)?;
        if keep_from_seq > st.next_seq {
            return Err(Error::invalid(format!(
                "keep_from_seq {keep_from_seq} is past the next sequence number {}",
                st.next_seq
            )));
        }
        let cut = st.offset_of(keep_from_seq);
        if cut == HEADER_SIZE {
            return Ok(0);
        }
        // Runs of contiguous valid entries to keep (damage skipped at open is left out).
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
                // A new run after the first follows a removed range: its first entry is
                // rewritten flagged FLAG_AFTER_GAP below.
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
        };
        let new_len = round_up((new_end as u64).max(shared.opts.initial_size), PAGE);
        let tmp = temp_path(path, "compact");
        let file = sys::create_new(&tmp)?;
        let written = (|| {
            sys::lock_exclusive(&file, &tmp)?;
            sys::allocate(&file, &tmp, 0, new_len)?;
            write_fresh_header(&file, &tmp, &header)?;
            let mut at = HEADER_SIZE as u64;
            for (i, &(a, b)) in runs.iter().enumerate() {
                file.write_all_at(&st.map.bytes()[a..b], at).map_err(|e| Error::io("write", &tmp, e))?;
                if i > 0 {
                    let mut first = st.map.bytes()[a..a + st.entry_at(a).map_or(0, |e| e.total_len)].to_vec();
                    mark_after_gap(&mut first);
                    file.write_all_at(&first, at).map_err(|e| Error::io("write", &tmp, e))?;
                }
                at += (b - a) as u64;
            }
            sys::datasync(&file, &tmp)?;
            let map = Mapping::new(&file, &tmp, shared.opts.growth)?;
            sys::rename(&tmp, path)?;
            Ok(map)
        })();
        let map = match written {
            Ok(map) => map,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        // The path now names the new file: switch to it whatever happens next.
        let dropped = st.entries - retained;
        st.last_checkpoint = st.last_checkpoint.filter(|&o| o >= cut).map(|o| moved(&runs, o));
        st.skipped.clear();
        let fd = file.as_raw_fd();
        st.file = Some(Arc::new(file));
        st.replace_map(map, fd);
        st.write_pos = new_end;
        st.first_seq = header.first_seq;
        st.entries = retained;
        st.index = index;
        st.header = header;
        st.header_slot = 0;
        st.durable_end = new_end;
        st.epoch += 1;
        if let Err(e) = sys::fsync_dir(sys::parent_dir(path)) {
            st.poison_with(&e);
            return Err(e);
        }
        Ok(dropped)
    }
}

/// Sets FLAG_AFTER_GAP on an encoded entry and re-seals its CRC.
fn mark_after_gap(entry: &mut [u8]) {
    let flags = u16::from_le_bytes([entry[26], entry[27]]) | FLAG_AFTER_GAP;
    entry[26..28].copy_from_slice(&flags.to_le_bytes());
    seal(entry);
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
