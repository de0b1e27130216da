//! The one error type of the core. Every variant that concerns a file names its path, and
//! every variant that concerns bytes on disk names the offset.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
pub enum Error {
    /// A system call failed; `op` names it ("open", "fallocate", "fdatasync", ...).
    Io { op: &'static str, path: PathBuf, source: io::Error },
    /// Bytes on disk failed validation.
    Corruption { path: PathBuf, offset: u64, reason: String },
    /// The file is a pinnacle journal of a format version this build cannot read.
    UnsupportedVersion { path: PathBuf, version: u16 },
    /// An earlier msync/fsync failed: what was written since the last successful sync may
    /// be lost, so the handle refuses every further write.
    Poisoned { path: PathBuf, errno: Option<i32>, cause: String },
    /// Another writer (this process or another) holds the journal.
    Locked { path: PathBuf },
    /// The handle was closed (`reason`: why, when its owner closed it for one).
    Closed { path: PathBuf, reason: Option<String> },
    /// The call's arguments are wrong; nothing was written.
    InvalidArgument(String),
    /// Entries a reader had not seen yet were removed by compaction.
    Compacted { path: PathBuf, wanted_seq: u64, first_seq: u64 },
    /// The handle was opened in another process (process `pid`, before a fork): handles
    /// do not cross a fork.
    Forked { path: PathBuf, pid: u32 },
    /// Memory for a result could not be had (sizes come from files, so this is an error
    /// the caller sees, never an abort); nothing was changed.
    OutOfMemory { bytes: usize, what: &'static str },
}

impl Error {
    pub fn io(op: &'static str, path: &Path, source: io::Error) -> Self {
        Error::Io { op, path: path.to_path_buf(), source }
    }

    pub fn corruption(path: &Path, offset: u64, reason: impl Into<String>) -> Self {
        Error::Corruption { path: path.to_path_buf(), offset, reason: reason.into() }
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }

    /// True for an I/O error meaning the disk (or quota, or file size limit) has no room.
    pub fn is_out_of_space(&self) -> bool {
        matches!(self.errno(), Some(libc::ENOSPC | libc::EDQUOT | libc::EFBIG))
            && matches!(self, Error::Io { .. })
    }

    /// Reserves room for `additional` more items in `v`, or says how much was wanted.
    pub fn reserve<T>(v: &mut Vec<T>, additional: usize, what: &'static str) -> Result<()> {
        v.try_reserve(additional).map_err(|_| Error::OutOfMemory {
            bytes: v.len().saturating_add(additional).saturating_mul(std::mem::size_of::<T>()),
            what,
        })
    }

    /// The OS error number, where there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } => source.raw_os_error(),
            Error::Poisoned { errno, .. } => *errno,
            Error::Locked { .. } => Some(libc::EWOULDBLOCK),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { op, path, source } => write!(f, "{op} failed on {}: {source}", path.display()),
            Error::Corruption { path, offset, reason } => {
                write!(f, "corruption in {} at offset {offset}: {reason}", path.display())
            }
            Error::UnsupportedVersion { path, version } => write!(
                f,
                "{} has journal format version {version}, which this pinnacle cannot read",
                path.display()
            ),
            Error::Poisoned { path, cause, .. } => write!(
                f,
                "journal {} refuses writes: an earlier sync failed ({cause}); entries since the \
                 last successful sync may not be durable. Close it and reopen to recover",
                path.display()
            ),
            Error::Locked { path } => write!(
                f,
                "journal {} is already open for writing (by this or another process)",
                path.display()
            ),
            Error::Closed { path, reason: None } => write!(f, "journal {} is closed", path.display()),
            Error::Closed { path, reason: Some(why) } => {
                write!(f, "journal {} is closed: {why}", path.display())
            }
            Error::InvalidArgument(msg) => f.write_str(msg),
            Error::Compacted { path, wanted_seq, first_seq } => write!(
                f,
                "entries from seq {wanted_seq} were compacted away in {} (it now starts at seq {first_seq})",
                path.display()
            ),
            Error::Forked { path, pid } => write!(
                f,
                "{} was opened in process {pid}; handles do not cross a fork: reopen it in this \
                 process ({})",
                path.display(),
                std::process::id()
            ),
            Error::OutOfMemory { bytes, what } => {
                write!(f, "out of memory: cannot allocate {bytes} bytes for {what}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
