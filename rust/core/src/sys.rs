//! Every system call the core makes on journal files goes through here, so that tests can
//! make any of them fail (once or persistently) and see the error handling from outside.
//!
//! Durability primitive: on Linux `msync(MS_SYNC)` on a shared file mapping is implemented
//! as `vfs_fsync_range(file, .., datasync=1)`, i.e. exactly `fdatasync` on the file, so
//! [`datasync`] calls `fdatasync` once (which also covers pages dirtied through the
//! mapping). Elsewhere the caller msyncs the mapped range first and [`datasync`] uses
//! `F_FULLFSYNC` on macOS. A failed sync is never retried: the caller poisons its handle.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// The system calls a test can make fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Open,
    Fallocate,
    Msync,
    Fsync,
    Rename,
    /// The write of an atomic file's contents (a failing one first writes half: torn).
    Write,
}

impl std::str::FromStr for Call {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "open" => Call::Open,
            "fallocate" => Call::Fallocate,
            "msync" => Call::Msync,
            "fsync" => Call::Fsync,
            "rename" => Call::Rename,
            "write" => Call::Write,
            other => {
                return Err(Error::invalid(format!(
                    "unknown system call {other:?} (expected open, fallocate, msync, fsync, rename or write)"
                )))
            }
        })
    }
}

struct Fault {
    call: Call,
    errno: i32,
    /// Calls that still succeed before the failures start.
    pass: u32,
    /// How many more calls fail; `None` = every call until cleared.
    remaining: Option<u32>,
}

static ARMED: AtomicBool = AtomicBool::new(false);
static FAULTS: crate::locks::Mutex<Vec<Fault>> = crate::locks::Mutex::new(Vec::new());

/// Makes the next `times` calls of `call` (every call when `None`) fail with `errno`.
pub fn inject_fault(call: Call, errno: i32, times: Option<u32>) {
    inject_fault_after(call, errno, times, 0);
}

/// As [`inject_fault`], but the first `pass` calls succeed: targets one call of a
/// sequence (say the directory fsync that follows two file syncs).
pub fn inject_fault_after(call: Call, errno: i32, times: Option<u32>, pass: u32) {
    let mut f = FAULTS.lock();
    f.retain(|x| x.call != call);
    f.push(Fault { call, errno, pass, remaining: times });
    ARMED.store(true, Ordering::SeqCst);
}

pub fn clear_faults() {
    let mut f = FAULTS.lock();
    f.clear();
    ARMED.store(false, Ordering::SeqCst);
}

fn injected(call: Call) -> io::Result<()> {
    if !ARMED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut faults = FAULTS.lock();
    let Some(i) = faults.iter().position(|f| f.call == call) else {
        return Ok(());
    };
    let Some(fault) = faults.get_mut(i) else {
        return Ok(());
    };
    if fault.pass > 0 {
        fault.pass -= 1;
        return Ok(());
    }
    let errno = fault.errno;
    if let Some(n) = fault.remaining.as_mut() {
        *n = n.saturating_sub(1);
        if *n == 0 {
            faults.remove(i);
        }
    }
    Err(io::Error::from_raw_os_error(errno))
}

fn cvt(r: libc::c_int) -> io::Result<()> {
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Opens an existing file read-write (or read-only), refusing symlinks and directories
/// (read-only open(2) accepts a directory; mmap would then fail with a baffling ENODEV).
pub fn open_existing(path: &Path, write: bool) -> Result<File> {
    injected(Call::Open).map_err(|e| Error::io("open", path, e))?;
    let file = OpenOptions::new()
        .read(true)
        .write(write)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| Error::io("open", path, e))?;
    let meta = file.metadata().map_err(|e| Error::io("fstat", path, e))?;
    if meta.is_dir() {
        return Err(Error::io("open", path, io::Error::from_raw_os_error(libc::EISDIR)));
    }
    Ok(file)
}

/// Creates a new file with mode 0600; fails if anything exists at `path`.
pub fn create_new(path: &Path) -> Result<File> {
    create_new_mode(path, 0o600)
}

/// Creates a new file with `mode` (less the umask); fails if anything exists at `path`,
/// a symlink included.
pub fn create_new_mode(path: &Path, mode: u32) -> Result<File> {
    injected(Call::Open).map_err(|e| Error::io("open", path, e))?;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| Error::io("open", path, e))
}

/// Takes the exclusive writer lock of a journal file without blocking.
pub fn lock_exclusive(file: &File, path: &Path) -> Result<()> {
    // SAFETY: flock on a file descriptor we own.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    match cvt(r) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => {
            Err(Error::Locked { path: path.to_path_buf() })
        }
        Err(e) => Err(Error::io("flock", path, e)),
    }
}

/// Makes sure `[from, len)` of the file has disk blocks, growing the file to `len`. A full
/// disk fails here with ENOSPC, never later as a SIGBUS on a mapped page.
pub fn allocate(file: &File, path: &Path, from: u64, len: u64) -> Result<()> {
    injected(Call::Fallocate).map_err(|e| Error::io("fallocate", path, e))?;
    allocate_raw(file, path, from, len)
}

fn allocate_raw(file: &File, path: &Path, from: u64, len: u64) -> Result<()> {
    let len = i64::try_from(len).map_err(|_| Error::invalid(format!("file length {len} too large")))?;
    let from = i64::try_from(from).unwrap_or(i64::MAX).min(len);
    #[cfg(target_os = "linux")]
    {
        // SAFETY: posix_fallocate on a descriptor we own; it returns the error number.
        let r = unsafe {
            libc::posix_fallocate(file.as_raw_fd(), from as libc::off_t, (len - from) as libc::off_t)
        };
        if r != 0 {
            return Err(Error::io("fallocate", path, io::Error::from_raw_os_error(r)));
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        use std::os::unix::fs::FileExt;
        let zeros = vec![0u8; 1 << 20];
        let mut off = from;
        while off < len {
            let n = ((len - off) as usize).min(zeros.len());
            file.write_all_at(&zeros[..n], off as u64).map_err(|e| Error::io("fallocate", path, e))?;
            off += n as i64;
        }
        Ok(())
    }
}

/// Fails with the injected error for `call`, if one is armed (for operations made of
/// several system calls that a test should fail as a whole).
pub fn fault_point(call: Call, path: &Path) -> Result<()> {
    let op = match call {
        Call::Open => "open",
        Call::Fallocate => "fallocate",
        Call::Msync => "msync",
        Call::Fsync => "fsync",
        Call::Rename => "rename",
        Call::Write => "write",
    };
    injected(call).map_err(|e| Error::io(op, path, e))
}

/// Grows the file from `from` to `len` bytes with its blocks allocated. On Linux the
/// blocks are reserved past the end of file first (`FALLOC_FL_KEEP_SIZE`) and only then
/// is the length extended, so the file's length only ever moves to a fully allocated size
/// (a reader that maps it cannot fault on an unallocated page) and a failed attempt gives
/// back whatever it partially reserved (ext4 keeps a partial allocation on ENOSPC), so a
/// smaller retry, or another journal, can use that space. Elsewhere: [`allocate`]. No
/// injected fault here: see [`fault_point`].
pub fn grow(file: &File, path: &Path, from: u64, len: u64) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        let (off, n) = match (i64::try_from(from), i64::try_from(len.saturating_sub(from))) {
            (Ok(o), Ok(n)) if n > 0 => (o, n),
            _ => return allocate_raw(file, path, from, len),
        };
        let fd = file.as_raw_fd();
        // SAFETY: fallocate/ftruncate on a descriptor we own; neither touches memory.
        if unsafe { libc::fallocate(fd, libc::FALLOC_FL_KEEP_SIZE, off, n) } != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EOPNOTSUPP) {
                return allocate_raw(file, path, from, len);
            }
            release_past_end(fd, off, n);
            return Err(Error::io("fallocate", path, e));
        }
        // SAFETY: as above.
        if unsafe { libc::ftruncate(fd, off + n) } != 0 {
            let e = io::Error::last_os_error();
            release_past_end(fd, off, n);
            return Err(Error::io("ftruncate", path, e));
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    allocate_raw(file, path, from, len)
}

/// Gives back blocks reserved past the end of file (`[off, off + n)`, the file still `off`
/// bytes long). Best effort: ext4 frees them on a same-size truncate, tmpfs and xfs on a
/// punched hole.
#[cfg(target_os = "linux")]
fn release_past_end(fd: libc::c_int, off: i64, n: i64) {
    // SAFETY: fstat into a zeroed struct, then calls on a descriptor we own. The length
    // is set only when it is already `off` (never shrinks the file), so no page changes.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) == 0 && st.st_size == off {
            libc::ftruncate(fd, off);
        }
        libc::fallocate(fd, libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE, off, n);
    }
}

/// Makes the file's data durable (see the module comment for why one call suffices).
pub fn datasync(file: &File, path: &Path) -> Result<()> {
    injected(Call::Fsync).map_err(|e| Error::io("fdatasync", path, e))?;
    crate::sync_hooks::sync_hook();
    let before = crate::sync_hooks::before_sync(file);
    #[cfg(target_os = "macos")]
    // SAFETY: fcntl on a descriptor we own.
    let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_FULLFSYNC) };
    #[cfg(all(unix, not(target_os = "macos")))]
    // SAFETY: fdatasync on a descriptor we own.
    let r = unsafe { libc::fdatasync(file.as_raw_fd()) };
    cvt(r).map_err(|e| Error::io("fdatasync", path, e))?;
    crate::sync_hooks::after_sync(before);
    Ok(())
}

/// Err(ENOENT) if `file` has no name left (deleted, or replaced by a rename, while open).
pub fn check_linked(file: &File, path: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata().map_err(|e| Error::io("fstat", path, e))?;
    if meta.nlink() == 0 {
        return Err(Error::io(
            "sync (the journal file was deleted or replaced while open: what it holds is in no file)",
            path,
            io::Error::from_raw_os_error(libc::ENOENT),
        ));
    }
    Ok(())
}

/// msync(MS_SYNC) of a mapped range; needed before [`datasync`] where the mapping is not
/// the page cache itself (not Linux). Also the hook tests use to fail "msync".
pub fn msync(map: &memmap2::MmapMut, offset: usize, len: usize, path: &Path) -> Result<()> {
    injected(Call::Msync).map_err(|e| Error::io("msync", path, e))?;
    if cfg!(target_os = "linux") {
        return Ok(());
    }
    map.flush_range(offset, len).map_err(|e| Error::io("msync", path, e))
}

/// Makes bytes `[start, end)` of a mapped file durable, and the header page first when
/// `header_dirty`. Only that range is written: pages dirtied elsewhere (the prefault
/// thread's zero pages past the end) are left to background writeback.
///
/// Linux: `sync_file_range` writes the header page (an overwrite of allocated blocks: no
/// metadata), then `msync(MS_SYNC)` of the data range, which is `vfs_fsync_range(range,
/// datasync)`: the range's dirty pages, the metadata needed to read them (file size,
/// extent state) and one device flush, which also covers the header write.
///
/// # Safety
/// `base` must be the start of a live shared mapping of `file` covering `[0, end)`, and
/// stay mapped for the whole call (the journal holds the mapping's read lock).
pub unsafe fn sync_range(
    file: &File,
    path: &Path,
    base: *const u8,
    header_dirty: bool,
    start: usize,
    end: usize,
) -> Result<()> {
    injected(Call::Msync).map_err(|e| Error::io("msync", path, e))?;
    injected(Call::Fsync).map_err(|e| Error::io("fdatasync", path, e))?;
    crate::sync_hooks::sync_hook();
    let before = crate::sync_hooks::before_sync(file);
    let from = start / 4096 * 4096;
    #[cfg(target_os = "linux")]
    {
        if header_dirty {
            let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
                | libc::SYNC_FILE_RANGE_WRITE
                | libc::SYNC_FILE_RANGE_WAIT_AFTER;
            // SAFETY: sync_file_range on a descriptor we own.
            cvt(unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 4096, flags) })
                .map_err(|e| Error::io("sync_file_range", path, e))?;
        }
        // SAFETY: [base+from, base+end) is inside the live mapping (the caller's contract).
        cvt(unsafe { libc::msync(base.add(from) as *mut libc::c_void, end - from, libc::MS_SYNC) })
            .map_err(|e| Error::io("msync", path, e))?;
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = header_dirty;
        // SAFETY: as above; the header page is included by starting at 0.
        cvt(unsafe { libc::msync(base as *mut libc::c_void, end, libc::MS_SYNC) })
            .map_err(|e| Error::io("msync", path, e))?;
        datasync(file, path)?;
    }
    crate::sync_hooks::after_sync(before);
    Ok(())
}

/// End of the file's last data region (SEEK_DATA/SEEK_HOLE): every byte past it reads as
/// zero (a hole or a preallocated unwritten extent). `len` where the filesystem cannot say.
pub fn data_end(file: &File, len: u64) -> u64 {
    let fd = file.as_raw_fd();
    let (mut off, mut end) = (0i64, 0i64);
    loop {
        // SAFETY: lseek on a descriptor we own; it does not move data.
        let data = unsafe { libc::lseek(fd, off, libc::SEEK_DATA) };
        if data < 0 {
            return match io::Error::last_os_error().raw_os_error() {
                Some(libc::ENXIO) => u64::try_from(end).unwrap_or(len),
                _ => len,
            };
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) };
        if hole < 0 {
            return len;
        }
        end = hole;
        if u64::try_from(hole).map_or(true, |h| h >= len) {
            return len;
        }
        off = hole;
    }
}

/// Writes all of `data` at `offset`. An injected failure writes the first half first
/// (a torn write), as a full disk can.
pub fn write_all_at(file: &File, path: &Path, data: &[u8], offset: u64) -> Result<()> {
    use std::os::unix::fs::FileExt;
    if let Err(e) = injected(Call::Write) {
        let half = data.get(..data.len() / 2).unwrap_or_default();
        let _ = file.write_all_at(half, offset);
        return Err(Error::io("write", path, e));
    }
    file.write_all_at(data, offset).map_err(|e| Error::io("write", path, e))
}

/// Renames within one directory.
pub fn rename(from: &Path, to: &Path) -> Result<()> {
    injected(Call::Rename).map_err(|e| Error::io("rename", to, e))?;
    std::fs::rename(from, to).map_err(|e| Error::io("rename", to, e))
}

/// Links `from` at `to`, failing if `to` exists (an atomic create-if-absent).
pub fn link_new(from: &Path, to: &Path) -> Result<()> {
    injected(Call::Rename).map_err(|e| Error::io("link", to, e))?;
    std::fs::hard_link(from, to).map_err(|e| Error::io("link", to, e))
}

/// fsyncs a directory, making renames and creations inside it durable.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    injected(Call::Fsync).map_err(|e| Error::io("fsync", dir, e))?;
    let d = File::open(dir).map_err(|e| Error::io("open", dir, e))?;
    d.sync_all().map_err(|e| Error::io("fsync", dir, e))
}

/// The directory holding `path` ("." for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Faults in the pages of `[addr, addr + len)` writable (zero-filled where new) without
/// changing a byte, so later writes there do not stop on page faults. Linux 5.14+
/// (`MADV_POPULATE_WRITE`); false where unsupported, or when the range is not mapped
/// writable (the kernel refuses it with an error rather than a signal).
/// Populates the pages of a batch about to be written to a journal mapping (which is
/// MADV_RANDOM: see mapping.rs) with the kernel's normal read-around for the duration, so
/// the fresh pages come in large folios rather than one read per page (2.7x the time of a
/// 1 M-entry `append_many`). Read-around may cache some zeros past the batch; the opening
/// scan then reads those too, at most one read-around window. Best effort.
pub fn populate_batch(addr: usize, len: usize) {
    #[cfg(target_os = "linux")]
    {
        let start = addr / 4096 * 4096;
        let span = addr + len - start;
        // SAFETY: advice and population change no contents of our own live mapping.
        unsafe {
            libc::madvise(start as *mut libc::c_void, span, libc::MADV_NORMAL);
            libc::madvise(start as *mut libc::c_void, span, libc::MADV_POPULATE_WRITE);
            libc::madvise(start as *mut libc::c_void, span, libc::MADV_RANDOM);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (addr, len);
}

pub fn populate_write(addr: usize, len: usize) -> bool {
    #[cfg(target_os = "linux")]
    {
        let start = addr / 4096 * 4096;
        // SAFETY: MADV_POPULATE_WRITE changes no contents; a range that is not mapped
        // writable is refused with an error.
        unsafe {
            libc::madvise(start as *mut libc::c_void, addr + len - start, libc::MADV_POPULATE_WRITE) == 0
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (addr, len);
        false
    }
}

/// Starts loading the cache line holding `value` (a hint for a lookup a few steps ahead;
/// no-op off x86_64). Reads nothing and changes nothing.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it never faults and has no architectural effect, and
    // the address is that of a live reference anyway.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            std::ptr::from_ref(value).cast::<i8>(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Asks for transparent huge pages on a large buffer's capacity (no-op below 2 MiB, off
/// Linux, or when THP is disabled). Purely advisory: errors are ignored.
pub fn advise_hugepages<T>(v: &Vec<T>) {
    const HUGE: usize = 2 << 20;
    let bytes = v.capacity() * std::mem::size_of::<T>();
    if !cfg!(target_os = "linux") || bytes < HUGE {
        return;
    }
    let start = (v.as_ptr() as usize).next_multiple_of(4096);
    let end = (v.as_ptr() as usize + bytes) / 4096 * 4096;
    if end > start {
        // SAFETY: advice on memory this Vec owns; MADV_HUGEPAGE changes no contents.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
    }
}
