//! Keeps the pages just past the write position mapped writable, so appends do not stall
//! on page faults (a first write to a fresh file page costs 1-4 µs; one page holds ~40
//! small entries). Linux only (`MADV_POPULATE_WRITE`, 5.14+); elsewhere, and on kernels
//! without it, nothing runs and appends fault as usual.
//!
//! Ordering rules:
//! - The writer publishes the mapping's base and length only while holding `lock` for
//!   writing, and takes it for every remap, unmap or swap of the mapping.
//! - The prefault task (run by the shared workers, service.rs) touches memory only while
//!   holding `lock` for reading, in small chunks, and never takes the journal's state
//!   mutex (so no lock-order cycle). An append wakes it through `service::wake`, which
//!   takes only the pool's mutex, and at most once per round (`queued`).
//! - `MADV_POPULATE_WRITE` changes no byte: it is safe on pages being appended to.
//!
//! The same task watches for the file being truncated behind the writer's back (another
//! process ignoring the lock): on a shrink it maps anonymous zero pages over the lost
//! range, so stray accesses cannot SIGBUS, and flags the handle, which then refuses every
//! call with a corruption error. Accesses in the ≤ 50 ms before detection can still fault,
//! as with any mmap-based store.

use super::service::{self, Task, TaskId};
use crate::locks::RwLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How far ahead of the write position pages are kept populated: as far as the journal
/// already holds (at least `MIN_AHEAD`, at most `AHEAD`). Populated pages are dirty zeros
/// the opening scan must read after a crash, so this keeps that work proportional to the
/// entries rather than to the preallocated space.
const AHEAD: usize = 32 << 20;
const MIN_AHEAD: usize = 1 << 20;

fn ahead(write_pos: usize) -> usize {
    write_pos.clamp(MIN_AHEAD, AHEAD)
}

/// Whether a write ending at `end` should wake the prefault task. Never once populated up to
/// the file's end: every append near the end of a small (growing) file would otherwise
/// wake it for nothing, a futex wake per append (p99 7 µs instead of 0.5 µs).
fn should_wake(end: usize, populated: usize, len: usize) -> bool {
    end + ahead(end) / 2 > populated && populated < len
}
/// Bytes populated per lock hold (bounds how long a remap may wait for the task).
const CHUNK: usize = 256 << 10;
const PAGE: usize = 4096;

pub(crate) struct MapPublish {
    pub lock: RwLock<()>,
    base: AtomicUsize,
    len: AtomicUsize,
    write_pos: AtomicUsize,
    /// Pages below this offset are populated; `usize::MAX` disables prefaulting.
    populated: AtomicUsize,
    /// Descriptor of the mapped file (valid while `lock` is held and `base != 0`).
    fd: std::sync::atomic::AtomicI32,
    truncated: std::sync::atomic::AtomicBool,
    /// The journal's prefault task, once registered.
    task: OnceLock<TaskId>,
    /// A round of the task is due or running (a write asked for one since the last began).
    queued: AtomicBool,
}

impl MapPublish {
    pub fn new(enabled: bool) -> Arc<MapPublish> {
        Arc::new(MapPublish {
            lock: RwLock::new(()),
            base: AtomicUsize::new(0),
            len: AtomicUsize::new(0),
            write_pos: AtomicUsize::new(0),
            populated: AtomicUsize::new(if enabled { 0 } else { usize::MAX }),
            fd: std::sync::atomic::AtomicI32::new(-1),
            truncated: std::sync::atomic::AtomicBool::new(false),
            task: OnceLock::new(),
            queued: AtomicBool::new(false),
        })
    }

    /// Records a (new) mapping. Call with `lock` held for writing. `ptes_kept`: the page
    /// tables moved with the mapping (mremap), so populated pages stay populated.
    pub fn set(&self, base: *const u8, len: usize, fd: i32, ptes_kept: bool) {
        self.fd.store(fd, Relaxed);
        self.base.store(base as usize, Relaxed);
        self.len.store(len, Relaxed);
        if !ptes_kept && self.populated.load(Relaxed) != usize::MAX {
            self.populated.store(0, Relaxed);
        }
    }

    #[inline]
    pub fn note_write(&self, end: usize) {
        self.write_pos.store(end, Relaxed);
        if should_wake(end, self.populated.load(Relaxed), self.len.load(Relaxed))
            && !self.queued.load(Relaxed)
            && !self.queued.swap(true, Relaxed)
        {
            if let Some(id) = self.task.get() {
                service::wake(*id);
            }
        }
    }

    /// True once the file was found shorter than the mapping.
    pub fn truncated(&self) -> bool {
        self.truncated.load(Relaxed)
    }

    /// Checks the file's size; on a shrink, covers the lost range with anonymous pages.
    #[cfg(target_os = "linux")]
    fn watch_truncation(&self) {
        if self.truncated() {
            return;
        }
        let _mapped = self.lock.write();
        let (base, len, fd) = (self.base.load(Relaxed), self.len.load(Relaxed), self.fd.load(Relaxed));
        if base == 0 || fd < 0 {
            return;
        }
        // SAFETY: fstat into a zeroed struct on a descriptor kept open while `lock` is held.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(fd, &mut st) } != 0 {
            return;
        }
        // A size fstat reports is never negative; were it, nothing is known to be cut.
        let Ok(size) = usize::try_from(st.st_size) else { return };
        if size >= len {
            return;
        }
        let keep = size.div_ceil(PAGE) * PAGE;
        if keep < len {
            // SAFETY: replaces pages of our own mapping (no reference into them outlives
            // the state lock, and every later call fails on `truncated`).
            unsafe {
                libc::mmap(
                    (base + keep) as *mut libc::c_void,
                    len - keep,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                );
            }
        }
        self.truncated.store(true, Relaxed);
    }

    #[cfg(not(target_os = "linux"))]
    fn watch_truncation(&self) {}

    /// Populates one chunk; false when there is nothing (more) to do.
    #[cfg(target_os = "linux")]
    fn populate_chunk(&self) -> bool {
        let _mapped = self.lock.read();
        let (base, len) = (self.base.load(Relaxed), self.len.load(Relaxed));
        let pop = self.populated.load(Relaxed);
        if base == 0 || pop == usize::MAX {
            return false;
        }
        let wp = self.write_pos.load(Relaxed) / PAGE * PAGE;
        let from = pop.max(wp);
        let target = len.min(wp + ahead(wp)) / PAGE * PAGE;
        if from >= target {
            return false;
        }
        let n = CHUNK.min(target - from);
        // [base+from, base+from+n) lies inside the live mapping (lock held).
        if !crate::sys::populate_write(base + from, n) {
            // Unsupported kernel (EINVAL) or anything else: stop prefaulting for good.
            self.populated.store(usize::MAX, Relaxed);
            return false;
        }
        self.populated.store(from + n, Relaxed);
        true
    }

    #[cfg(not(target_os = "linux"))]
    fn populate_chunk(&self) -> bool {
        false
    }
}

/// Most chunks populated per round, so one journal's burst does not hold up the other
/// journals' rounds on the shared workers.
const CHUNKS_PER_ROUND: usize = 8;
/// A journal's round comes at least this often (the truncation watch).
const WATCH_EVERY: Duration = Duration::from_millis(50);

/// The prefault and truncation-watch work of one journal, run by the shared worker pool
/// (service.rs).
pub(crate) struct Prefaulter {
    id: TaskId,
}

struct PrefaultTask {
    publish: Arc<MapPublish>,
    /// The write position at open: populating starts with the first append after it, so
    /// journals opened and not (yet) written to cost no memory and no worker time (a
    /// process recovering 1,000 symbols would otherwise populate them all at once).
    opened_at: usize,
    /// Set once the write position moved (it may later drop below `opened_at`: compaction).
    written: AtomicBool,
}

impl Task for PrefaultTask {
    fn run(&self) -> Option<Duration> {
        let p = &self.publish;
        // Cleared before looking at the work: a write noted from now on wakes a new round.
        p.queued.store(false, Relaxed);
        p.watch_truncation();
        if !self.written.load(Relaxed) {
            if p.write_pos.load(Relaxed) == self.opened_at {
                return Some(WATCH_EVERY);
            }
            self.written.store(true, Relaxed);
        }
        for _ in 0..CHUNKS_PER_ROUND {
            if !p.populate_chunk() {
                return Some(WATCH_EVERY);
            }
        }
        Some(Duration::ZERO)
    }
}

impl Prefaulter {
    /// Registers the work where prefaulting is supported; None elsewhere (or if no worker
    /// could be started: appends then fault as usual).
    pub fn start(publish: Arc<MapPublish>) -> Option<Prefaulter> {
        if !cfg!(target_os = "linux") || publish.populated.load(Relaxed) == usize::MAX {
            return None;
        }
        let opened_at = publish.write_pos.load(Relaxed);
        let task =
            Arc::new(PrefaultTask { publish: publish.clone(), opened_at, written: AtomicBool::new(false) });
        let id = service::register(task, Duration::ZERO).ok()?;
        let _ = publish.task.set(id);
        Some(Prefaulter { id })
    }

    /// Stops the work; when this returns, no round is in progress or will start.
    pub fn stop(self) {
        service::cancel(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thread_is_woken_only_when_there_is_something_to_populate() {
        let mib = 1 << 20;
        assert!(should_wake(100, 0, 2 * mib));
        assert!(!should_wake(100, mib + 4096, 2 * mib), "far enough ahead");
        assert!(!should_wake(2 * mib - 100, 2 * mib, 2 * mib), "populated to the file's end");
        assert!(should_wake(2 * mib - 100, 2 * mib, 4 * mib), "after growth");
        assert!(!should_wake(100, usize::MAX, 2 * mib), "prefaulting off");
    }

    #[test]
    fn the_window_follows_the_data_between_its_bounds() {
        assert_eq!(ahead(0), MIN_AHEAD);
        assert_eq!(ahead(5 << 20), 5 << 20);
        assert_eq!(ahead(1 << 30), AHEAD);
    }
}
