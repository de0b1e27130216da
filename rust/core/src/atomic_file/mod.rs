//! The one protocol by which pinnacle puts a whole file on disk (journals when created,
//! snapshots, tick/lot sidecars, configuration, reports): a crash or power loss at any
//! point leaves the old file or the new one under the target name, never a mix.
//!
//! Steps, in this order (each later step relies on every earlier one):
//! 1. create a temp file in the target's directory (`O_CREAT | O_EXCL | O_NOFOLLOW`, mode
//!    0600 unless told otherwise), named as [`names`] says;
//! 2. write every byte into it;
//! 3. sync it (`fdatasync`): its bytes are durable before any name points at them;
//! 4. rename it over the target ([`Place::Replace`]) or hard-link it there, failing if
//!    the target exists ([`Place::New`], then the temp name is removed);
//! 5. sync the directory: the new name is durable.
//!
//! A failure before step 4 removes the temp and leaves the target as it was; a failed
//! sync is an error, never retried. A crash leaves at most the temp, removed later by
//! [`remove_stale_temps`] once its creator is gone. Errors name the target, never the
//! temp (an internal name the user never chose). Tests fail any step through
//! [`crate::sys::inject_fault`] (open, write, fsync, rename; the directory sync is the
//! second fsync) and kill the process between steps through
//! [`crate::testing::crash_atomic_writes_at`].

mod names;
mod sweep;

pub use names::{parse_temp_name, process_alive, temp_name, TempName};
pub use sweep::{remove_stale_temps, remove_stale_temps_of};

use crate::error::{Error, Result};
use crate::sync_hooks::{crash_point, CrashPoint};
use crate::sys;
use std::fs::File;
use std::path::{Path, PathBuf};

/// How a finished temp takes the target's name (step 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Replace whatever the target is (rename).
    Replace,
    /// Only if nothing is there (hard link): an existing target fails with
    /// `AlreadyExists`, the temp is removed and the existing file is left alone.
    New,
}

/// A temp file being written for a target (steps 1 to 4). Dropped before
/// [`Temp::place`] succeeds, it removes the temp file.
#[derive(Debug)]
pub struct Temp {
    path: PathBuf,
    target: PathBuf,
    placed: bool,
}

/// Attempts at a free temp name before giving up (a collision needs a stale temp of the
/// same pid and nonce: a second attempt practically always succeeds).
const NAME_ATTEMPTS: u32 = 16;

impl Temp {
    /// Step 1: creates the temp for `target` with `mode` (less the umask); returns it and
    /// its open file (read-write).
    pub fn create(target: &Path, mode: u32) -> Result<(Temp, File)> {
        let name = target
            .file_name()
            .ok_or_else(|| Error::invalid(format!("path {} does not name a file", target.display())))?;
        let dir = sys::parent_dir(target);
        let mut last = None;
        for _ in 0..NAME_ATTEMPTS {
            let path = dir.join(temp_name(name));
            match sys::create_new_mode(&path, mode) {
                Ok(file) => return Ok((Temp { path, target: target.to_path_buf(), placed: false }, file)),
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
                    last = Some(source);
                }
                Err(Error::Io { source, .. }) => return Err(Error::io("create", target, source)),
                Err(e) => return Err(e),
            }
        }
        let source = last.unwrap_or_else(|| std::io::Error::from_raw_os_error(libc::EEXIST));
        Err(Error::io("create", target, source))
    }

    /// The temp file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The target's path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Steps 3 and 4: syncs `file` (this temp's, fully written) and gives it the target's
    /// name. The directory is not synced: call [`sync_dir`] next (a caller that must
    /// act on the new name first, as compaction switching to the new file, does so in
    /// between).
    pub fn place(mut self, file: &File, how: Place) -> Result<()> {
        crash_point(CrashPoint::Written);
        sys::datasync(file, &self.target)?;
        crash_point(CrashPoint::Synced);
        match how {
            Place::Replace => sys::rename(&self.path, &self.target)?,
            Place::New => sys::link_new(&self.path, &self.target)?,
        }
        // Replace: the temp name is gone. New: the temp is a second name, removed on drop.
        self.placed = how == Place::Replace;
        crash_point(CrashPoint::Renamed);
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.placed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Step 5: syncs the directory of `target`, making its new name durable.
pub fn sync_dir(target: &Path) -> Result<()> {
    sys::fsync_dir(sys::parent_dir(target))
}

/// Writes `data` to `target` atomically and durably (every step above), creating the
/// file with `mode` (less the umask) or replacing it (the new file has `mode`).
pub fn write_atomic(target: &Path, data: &[u8], mode: u32) -> Result<()> {
    let (temp, file) = Temp::create(target, mode)?;
    sys::write_all_at(&file, target, data, 0)?;
    temp.place(&file, Place::Replace)?;
    drop(file);
    sync_dir(target)
}

/// Creates `target` atomically: `fill` writes the temp's content (a journal's header),
/// then it is synced and linked into place only if nothing is there. Ok(false) when
/// another process created the target first (its file is left as it is).
pub fn create_atomic(target: &Path, mode: u32, fill: impl FnOnce(&File) -> Result<()>) -> Result<bool> {
    let (temp, file) = Temp::create(target, mode)?;
    fill(&file)?;
    match temp.place(&file, Place::New) {
        Ok(()) => {}
        Err(Error::Io { op: "link", source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
            return Ok(false)
        }
        Err(e) => return Err(e),
    }
    drop(file);
    sync_dir(target)?;
    Ok(true)
}
