//! Removing the temp files that crashed writers left behind. A temp is removed only when
//! the process that created it is gone: a live one may be writing it right now (another
//! process creating the same journal, a snapshot being written). Staleness is decided at
//! each sweep, so a temp is never wrongly removed, at worst left for a later sweep.

use super::names::{parse_temp_name, process_alive, TempName};
use crate::error::{Error, Result};
use crate::locks::Mutex;
use crate::sys;
use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Whether a temp is stale. pinnacle-core 0.1's compaction temps were made only by a
/// journal's lock holder, and only that lock holder sweeps a journal's temps
/// ([`remove_stale_temps_of`]), so one of those is stale whoever made it.
fn stale(t: &TempName<'_>, lock_holder: bool) -> bool {
    (lock_holder && t.legacy_compaction) || !process_alive(t.pid)
}

/// Removes every stale temp in `dir` (of any target); returns the paths removed, and
/// syncs the directory if it removed any. A missing directory holds none.
pub fn remove_stale_temps(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", dir, e)),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", dir, e))?;
        let name = entry.file_name();
        let text = name.to_string_lossy();
        let Some(t) = parse_temp_name(&text) else { continue };
        if stale(&t, false) {
            let path = dir.join(&name);
            match std::fs::remove_file(&path) {
                Ok(()) => removed.push(path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove", &path, e)),
            }
        }
    }
    if !removed.is_empty() {
        sys::fsync_dir(dir)?;
    }
    Ok(removed)
}

/// Removes the stale temps of the one file `target` (best effort: a temp that cannot be
/// removed is left for a later sweep). Called by a journal's lock holder at every open,
/// so the directory listing is cached (see [`LISTINGS`]).
pub fn remove_stale_temps_of(target: &Path) {
    let Some(name) = target.file_name() else { return };
    let name = name.to_string_lossy();
    let dir = sys::parent_dir(target);
    for file in hidden_names(dir) {
        let text = file.to_string_lossy();
        let Some(t) = parse_temp_name(&text) else { continue };
        if t.target == name && stale(&t, true) {
            let _ = std::fs::remove_file(dir.join(&file));
        }
    }
}

/// A directory's hidden names (temp files start with a dot) as last listed, and the
/// directory's mtime then.
type Listing = ((i64, i64), Vec<OsString>);

/// Listings by directory (device, inode). Opening 1,000 journals of one directory would
/// otherwise list it 1,000 times (quadratic). A listing is reused only while the
/// directory's mtime is unchanged, and kept only if the directory had not changed for
/// [`SETTLED`] before it was taken: any later change then shows as a newer mtime, even
/// with coarse file-system timestamps. (A temp missed anyway is only left over, never
/// wrongly removed: staleness is re-checked at every use.)
static LISTINGS: Mutex<Option<HashMap<(u64, u64), Listing>>> = Mutex::new(None);
const SETTLED: Duration = Duration::from_secs(2);

fn hidden_names(dir: &Path) -> Vec<OsString> {
    let Ok(m) = std::fs::metadata(dir) else { return Vec::new() };
    let (key, mtime) = ((m.dev(), m.ino()), (m.mtime(), m.mtime_nsec()));
    // try_lock, never lock: the cache is best effort, and a child forked while another
    // thread held it must not wait for a thread it does not have.
    if let Some((at, names)) = LISTINGS.try_lock().as_ref().and_then(|l| l.as_ref()?.get(&key)) {
        if *at == mtime {
            return names.clone();
        }
    }
    let listed_at = SystemTime::now();
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let names: Vec<OsString> =
        entries.flatten().map(|e| e.file_name()).filter(|n| n.as_bytes().first() == Some(&b'.')).collect();
    let changed = m.modified().unwrap_or(listed_at);
    if changed + SETTLED < listed_at {
        if let Some(mut cache) = LISTINGS.try_lock() {
            cache.get_or_insert_with(HashMap::new).insert(key, (mtime, names.clone()));
        }
    }
    names
}
