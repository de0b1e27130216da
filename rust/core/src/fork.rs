//! Handles do not cross a fork (the rule SQLite and LMDB state for theirs).
//!
//! A child made by `fork()` gets a copy of every handle but none of the threads behind
//! them, and may hold the locks those threads held at the fork. Used there, a writer would
//! be a second writer nothing refuses, and its locks could stay held forever. So:
//!
//! - A process-wide fork generation is bumped in the child by a `pthread_atfork` child
//!   handler. Every handle records the generation (and pid) it was opened in, and every
//!   call compares it — one relaxed atomic load — *before* taking any lock, refusing with
//!   [`Error::Forked`] in another process.
//! - Writer mappings are `MADV_DONTFORK`: the child does not inherit them at all, so it
//!   can neither write nor sync the parent's file (and the mapping holds no reference to
//!   the file's open description, which would keep its `flock`).
//! - Every descriptor carrying a writer's `flock` is registered ([`LockFd`]); the child
//!   handler closes the child's copies. A flock belongs to the open file description, so
//!   closing a duplicate never unlocks the parent (no `LOCK_UN` is ever issued), and the
//!   lock goes when the parent closes its own, even while the child lives.
//! - In a child, closing or dropping an inherited handle releases nothing: its memory,
//!   descriptors and (absent) threads are leaked; no msync, no unlock, no join.
//! - A core [`crate::JournalReader`] takes no lock, writes nothing and owns no thread, so
//!   it would work in a child; the Python bindings refuse it anyway (their per-handle
//!   mutex may be held by a thread the child does not have), so one rule covers every
//!   handle there, and reopening a reader is cheap.
//! - A process-wide worker (a sync or prefault thread shared by journals) must compare
//!   its own [`Owner`] and start afresh in a child: its thread did not come along.
//! - A child's *own* journals work whatever its parent's threads were doing: their locks
//!   keep no process-wide state ([`crate::locks`]), nor does making their workers.
//! - Until a child's fork handler has run (a moment after the fork, longer on a busy
//!   machine), its copies of the descriptors share the parent's flocks, so the parent
//!   closing and at once reopening a journal may meanwhile find it `Locked`: the parent
//!   handler records when the process last forked, and a lock refused within
//!   [`CHILD_START_GRACE`] of a fork is retried ([`retry_while_children_start`]) until the
//!   grace has passed, so only a real second writer is reported `Locked`.
//!
//! Ordering: the registry is guarded by a spin lock that the prepare handler takes before
//! the fork and the parent and child handlers release, so the child never sees it half
//! updated. A registered descriptor is opened *and* registered under the lock, so no
//! child gets an unregistered copy, and removed *and* closed under it, so the child
//! handler never closes a number the process has since reused.

use crate::error::{Error, Result};
use std::cell::UnsafeCell;
use std::fs::File;
use std::os::unix::io::{AsRawFd, RawFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static GENERATION: AtomicU64 = AtomicU64::new(0);
/// CLOCK_MONOTONIC ns of this process's last fork (0: never), set by the parent handler.
static LAST_FORK_NS: AtomicU64 = AtomicU64::new(0);
/// How long after a fork a refused lock may still be a child's not-yet-closed copy.
pub const CHILD_START_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec we own; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

/// Runs `take` (a non-blocking lock attempt) and, while it reports `Locked` within
/// [`CHILD_START_GRACE`] of this process's last fork, again every millisecond: a child
/// that has not yet run its fork handler still holds copies of the parent's flocks.
/// Without a recent fork it is one attempt, as before.
pub fn retry_while_children_start(mut take: impl FnMut() -> Result<()>) -> Result<()> {
    let grace = u64::try_from(CHILD_START_GRACE.as_nanos()).unwrap_or(u64::MAX);
    loop {
        match take() {
            Err(Error::Locked { .. }) => {
                let forked = LAST_FORK_NS.load(Ordering::Acquire);
                if forked == 0 || monotonic_ns().saturating_sub(forked) >= grace {
                    return take();
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            other => return other,
        }
    }
}

/// The process a handle belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    generation: u64,
    pid: u32,
}

impl Owner {
    /// The current process (installs the fork handlers on first use).
    pub fn current() -> Owner {
        install();
        Owner { generation: GENERATION.load(Ordering::Acquire), pid: std::process::id() }
    }

    /// True in the process the handle was opened in (false in a forked child).
    #[inline]
    pub fn is_current(&self) -> bool {
        GENERATION.load(Ordering::Relaxed) == self.generation
    }

    /// The pid the handle was opened in.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `Error::Forked` naming `path` outside the owning process.
    #[inline]
    pub fn check(&self, path: &Path) -> Result<()> {
        if self.is_current() {
            Ok(())
        } else {
            Err(Error::Forked { path: path.to_path_buf(), pid: self.pid })
        }
    }
}

/// A descriptor that carries a writer's flock: registered so a forked child closes its
/// copy, and closed only by the process that opened it.
#[derive(Debug)]
pub struct LockFd {
    file: std::mem::ManuallyDrop<File>,
    owner: Owner,
}

impl LockFd {
    /// The descriptor `open` makes, registered before any fork can copy it: a child that
    /// got an unregistered copy would share the open file description, so the flock
    /// later taken through it would last until that child exits.
    pub fn open(open: impl FnOnce() -> Result<File>) -> Result<LockFd> {
        let owner = Owner::current();
        let file = with_registry(|fds| {
            let file = open()?;
            fds.push(file.as_raw_fd());
            Ok::<_, Error>(file)
        })?;
        Ok(LockFd { file: std::mem::ManuallyDrop::new(file), owner })
    }
}

impl std::ops::Deref for LockFd {
    type Target = File;
    fn deref(&self) -> &File {
        &self.file
    }
}

impl AsRawFd for LockFd {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

impl Drop for LockFd {
    fn drop(&mut self) {
        if !self.owner.is_current() {
            return; // the child handler closed our copy; the number may be reused since
        }
        let fd = self.file.as_raw_fd();
        with_registry(|fds| {
            if let Some(i) = fds.iter().position(|&f| f == fd) {
                fds.swap_remove(i);
            }
            // SAFETY: dropped once, here; closed under the registry lock (module comment).
            unsafe { std::mem::ManuallyDrop::drop(&mut self.file) };
        });
    }
}

/// Keeps a forked child from inheriting `[addr, addr + len)` (a writer's file mapping).
pub(crate) fn dont_fork(addr: *const u8, len: usize) {
    #[cfg(target_os = "linux")]
    if len > 0 {
        // SAFETY: advice on a mapping we own; it changes no contents. Failure (an old
        // kernel) only loses the protection, and the generation check still refuses use.
        unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_DONTFORK) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (addr, len);
}

/// Runs `f` with forks held off (another thread's fork waits until it returns). `f` must
/// be short, and must not fork nor open a [`LockFd`].
pub(crate) fn without_fork<R>(f: impl FnOnce() -> R) -> R {
    with_registry(|_| f())
}

struct Registry {
    busy: AtomicBool,
    fds: UnsafeCell<Vec<RawFd>>,
}

// SAFETY: `fds` is only touched with `busy` held (see lock/unlock).
unsafe impl Sync for Registry {}

static REGISTRY: Registry = Registry { busy: AtomicBool::new(false), fds: UnsafeCell::new(Vec::new()) };

fn lock() {
    while REGISTRY.busy.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
        std::thread::yield_now();
    }
}

fn unlock() {
    REGISTRY.busy.store(false, Ordering::Release);
}

/// Runs `f` with the registry locked (so no fork happens meanwhile); `f` must not take
/// the registry again nor fork.
fn with_registry<R>(f: impl FnOnce(&mut Vec<RawFd>) -> R) -> R {
    struct Unlock;
    impl Drop for Unlock {
        fn drop(&mut self) {
            unlock();
        }
    }
    lock();
    let _unlock = Unlock;
    // SAFETY: the lock is held.
    f(unsafe { &mut *REGISTRY.fds.get() })
}

extern "C" fn prepare() {
    lock();
}

extern "C" fn parent() {
    LAST_FORK_NS.store(monotonic_ns(), Ordering::Release);
    unlock();
}

/// Runs in the child right after the fork, single-threaded: only system calls and
/// atomics (no allocation, no lock another thread could hold).
extern "C" fn child() {
    // SAFETY: the prepare handler holds the lock for us.
    let fds = unsafe { &mut *REGISTRY.fds.get() };
    for &fd in fds.iter() {
        // SAFETY: a registered descriptor is open (module comment); this is our copy.
        unsafe { libc::close(fd) };
    }
    fds.clear();
    GENERATION.fetch_add(1, Ordering::AcqRel);
    unlock();
}

/// Registers the fork handlers (once per process). Every handle's opening calls it; call
/// it early too, before another thread may fork: a child forked while the first
/// registration is under way would wait for it forever. (The Python module calls it at
/// import.)
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: plain functions with static lifetime; the library is never unloaded
        // while the process runs (a Python extension module, or linked in).
        unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
    });
}
