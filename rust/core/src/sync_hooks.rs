//! Sync hooks for tests of simulated power loss (driven through `crate::testing`; a leaf:
//! `sys` calls into it and it imports only `locks`). A kill -9 keeps the page cache, so it cannot
//! catch a missing sync; this records what each successful sync made durable instead.
//!
//! With tracking on, [`crate::sys::datasync`] copies the file's bytes just *before* the
//! sync (everything written by then is durable once the sync returns) and, if the sync
//! succeeds, stores them as the file's durable image, keyed by inode (so a compacted file
//! renamed into place keeps its image). Tests build crash images from the durable image
//! plus random subsets of the bytes written since. Off by default; costs one relaxed
//! atomic load per sync when off. [`hold_syncs`] makes every sync as slow as a test needs.
//! [`crash_atomic_writes_at`] makes the process die at one step of an atomic-file write.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// (device, inode) of a file.
type FileKey = (u64, u64);

static TRACKING: AtomicBool = AtomicBool::new(false);
static SYNCS: AtomicU64 = AtomicU64::new(0);
static IMAGES: crate::locks::Mutex<Option<HashMap<FileKey, Vec<u8>>>> = crate::locks::Mutex::new(None);

/// Turns tracking on (forgetting earlier images) or off.
pub fn track_durability(on: bool) {
    *IMAGES.lock() = on.then(HashMap::new);
    TRACKING.store(on, Ordering::SeqCst);
}

/// The durable image of the file now at `path`, if one was recorded.
pub fn durable_image(path: &Path) -> Option<Vec<u8>> {
    let m = std::fs::metadata(path).ok()?;
    IMAGES.lock().as_ref()?.get(&(m.dev(), m.ino())).cloned()
}

/// The file's bytes before a sync, when tracking is on.
pub(crate) fn before_sync(file: &File) -> Option<(FileKey, Vec<u8>)> {
    if !TRACKING.load(Ordering::Relaxed) {
        return None;
    }
    let m = file.metadata().ok()?;
    let mut bytes = vec![0u8; m.len() as usize];
    file.read_exact_at(&mut bytes, 0).ok()?;
    Some(((m.dev(), m.ino()), bytes))
}

/// Data syncs that succeeded while tracking was on (every journal in the process).
pub fn durable_syncs() -> u64 {
    SYNCS.load(Ordering::SeqCst)
}

pub(crate) fn after_sync(snapshot: Option<(FileKey, Vec<u8>)>) {
    if let Some((key, bytes)) = snapshot {
        SYNCS.fetch_add(1, Ordering::SeqCst);
        if let Some(images) = IMAGES.lock().as_mut() {
            images.insert(key, bytes);
        }
    }
}

static HOLDING: AtomicBool = AtomicBool::new(false);
/// (syncs are held, syncs waiting at the hook), and its change signal.
static HOLD: (crate::locks::Mutex<(bool, u64)>, crate::locks::Condvar) =
    (crate::locks::Mutex::new((false, 0)), crate::locks::Condvar::new());

/// Holds every data sync (of every journal in the process) at its start until called
/// again with `false`: a sync that takes as long as the test wants, without timing.
pub fn hold_syncs(on: bool) {
    let mut h = HOLD.0.lock();
    h.0 = on;
    HOLDING.store(on, Ordering::SeqCst);
    HOLD.1.notify_all();
}

/// Waits until at least `n` syncs are held by [`hold_syncs`].
pub fn wait_for_held_syncs(n: u64) {
    let mut h = HOLD.0.lock();
    while h.1 < n {
        HOLD.1.wait(&mut h);
    }
}

/// Called at the start of every data sync; blocks while syncs are held.
pub(crate) fn sync_hook() {
    if !HOLDING.load(Ordering::Relaxed) {
        return;
    }
    let mut h = HOLD.0.lock();
    h.1 += 1;
    HOLD.1.notify_all();
    while h.0 {
        HOLD.1.wait(&mut h);
    }
    h.1 -= 1;
}

/// Where a test can make the process die inside the atomic-file protocol
/// ([`crate::atomic_file`]), in the order they are reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CrashPoint {
    /// The temp file holds every byte, not yet synced.
    Written = 1,
    /// The temp file is synced, not yet renamed (or linked) into place.
    Synced = 2,
    /// The target names the new file; the directory is not synced yet.
    Renamed = 3,
}

/// Exit status of a process stopped at a [`CrashPoint`].
pub const CRASH_EXIT_CODE: i32 = 86;

static CRASH_AT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Makes the process `_exit` (no cleanup, no destructors: a crash as `kill -9` leaves it)
/// when any atomic-file write reaches `point`; `None` disarms.
pub fn crash_atomic_writes_at(point: Option<CrashPoint>) {
    CRASH_AT.store(point.map_or(0, |p| p as u8), Ordering::SeqCst);
}

/// Called by the protocol at each point; one relaxed load when disarmed.
pub(crate) fn crash_point(point: CrashPoint) {
    if CRASH_AT.load(Ordering::Relaxed) == point as u8 {
        // SAFETY: _exit ends the process at once; nothing runs after it.
        unsafe { libc::_exit(CRASH_EXIT_CODE) };
    }
}
