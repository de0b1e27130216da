//! The writer's mapping of the journal file, and how it grows.
//!
//! Invariant: the mapping always covers exactly the file's length, and the file's blocks
//! are allocated (fallocate) before the file or the mapping is extended over them.

use crate::error::{Error, Result};
use crate::options::GrowthStrategy;
use crate::sys;
use memmap2::MmapMut;
use std::fs::File;
use std::path::Path;

pub(crate) struct Mapping {
    map: MmapMut,
    strategy: GrowthStrategy,
}

impl Mapping {
    pub fn new(file: &File, path: &Path, strategy: GrowthStrategy) -> Result<Mapping> {
        // SAFETY: the writer holds the file's exclusive lock; other processes only read.
        // A process that truncates the file behind our back is outside what we defend.
        // Mapped and advised with forks held off: a child inheriting the mapping would
        // keep the file's open description, and so the writer's flock, while it lives.
        let map = crate::fork::without_fork(|| {
            let map = unsafe { MmapMut::map_mut(file) }?;
            crate::fork::dont_fork(map.as_ptr(), map.len());
            Ok(map)
        })
        .map_err(|e| Error::io("mmap", path, e))?;
        // No read-around on faults: the kernel would otherwise read up to `read_ahead_kb`
        // (8 MiB on some VMs) of preallocated zeros into the page cache around every
        // faulted page, and cached zero pages count as data to SEEK_DATA, so the next
        // opening would have to scan them. Reads of the entries are advised explicitly
        // ([`Mapping::will_need`]). Best effort: without it only opening gets slower.
        let _ = map.advise(memmap2::Advice::Random);
        Ok(Mapping { map, strategy })
    }

    /// Starts reading `[0, len)` into the page cache (the opening scan reads exactly it).
    pub fn will_need(&self, len: usize) {
        if len > 0 {
            let _ = self.map.advise_range(memmap2::Advice::WillNeed, 0, len.min(self.map.len()));
        }
    }

    /// Drops the file mapping (a zero-length anonymous map takes its place).
    pub fn release(&mut self) {
        if let Ok(empty) = MmapMut::map_anon(0) {
            self.map = empty;
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.map
    }

    pub fn raw(&self) -> &MmapMut {
        &self.map
    }

    pub fn strategy(&self) -> GrowthStrategy {
        self.strategy
    }

    pub fn base(&self) -> *const u8 {
        self.map.as_ptr()
    }

    /// True when growing keeps page tables (mremap), so populated pages stay populated.
    pub fn growth_keeps_pages(&self) -> bool {
        cfg!(target_os = "linux") && self.strategy == GrowthStrategy::Auto
    }

    /// Grows the file to `new_len` and the mapping over it. Entries already written keep
    /// their bytes and offsets; on failure the mapping is unchanged.
    pub fn grow(&mut self, file: &File, path: &Path, new_len: usize) -> Result<()> {
        sys::grow(file, path, self.map.len() as u64, new_len as u64)?;
        match self.strategy {
            #[cfg(target_os = "linux")]
            GrowthStrategy::Auto => {
                // SAFETY: no reference into the old mapping outlives this call (all access
                // goes through &self/&mut self), and the file now spans new_len bytes.
                unsafe { self.map.remap(new_len, memmap2::RemapOptions::new().may_move(true)) }
                    .map_err(|e| Error::io("mremap", path, e))?;
                // mremap keeps the flag; re-advising costs one call per growth.
                crate::fork::dont_fork(self.map.as_ptr(), self.map.len());
                Ok(())
            }
            _ => {
                // munmap + mmap: map the new length first so a failure leaves the old one.
                let fresh = Mapping::new(file, path, self.strategy)?;
                self.map = fresh.map;
                Ok(())
            }
        }
    }
}
