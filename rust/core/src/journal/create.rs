//! Creating a journal file atomically: a fully written, synced temp file is linked into
//! place (failing if something appeared there meanwhile), then the directory is synced.
//! A journal path therefore never holds a half-written header.

use crate::error::{Error, Result};
use crate::format::header::{new_journal_id, Header, HEADER_SIZE, SLOT_OFFSETS};
use crate::locks::Mutex;
use crate::options::JournalOptions;
use crate::sys;
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Name of a temp file next to `path`; `what` is "new" or "compact". Files matching
/// `.NAME.compact-*` are removed by the writer at open (only the lock holder makes them).
pub(crate) fn temp_path(path: &Path, what: &str) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let nonce = crate::wall_clock_ns();
    sys::parent_dir(path).join(format!(".{name}.{what}-{}-{nonce}", std::process::id()))
}

/// Writes both header slots of a fresh file (slot 0 is the newer one).
pub(crate) fn write_fresh_header(file: &File, path: &Path, header: &Header) -> Result<()> {
    let older = Header { generation: header.generation - 1, ..*header };
    file.write_all_at(&header.encode(0), SLOT_OFFSETS[0] as u64)
        .and_then(|_| file.write_all_at(&older.encode(1), SLOT_OFFSETS[1] as u64))
        .map_err(|e| Error::io("write", path, e))
}

pub(crate) fn create(path: &Path, opts: &JournalOptions) -> Result<()> {
    let tmp = temp_path(path, "new");
    // The temp file's name is internal: a failure to create it (missing directory, no
    // permission, read-only or full file system) is reported against the journal's path.
    let file = sys::create_new(&tmp).map_err(|e| match e {
        Error::Io { source, .. } => Error::io("create", path, source),
        other => other,
    })?;
    // Errors name the journal, not the temp file (an internal name the user never chose).
    let made = (|| {
        sys::allocate(&file, path, 0, opts.initial_size)?;
        let header = Header {
            first_seq: 1,
            generation: 1,
            durable_end: HEADER_SIZE as u64,
            created_ns: crate::wall_clock_ns(),
            max_entry_size: opts.max_entry_size,
            journal_id: new_journal_id()
                .map_err(|e| Error::io("read /dev/urandom (journal identity)", path, e))?,
        };
        write_fresh_header(&file, path, &header)?;
        sys::datasync(&file, path)?;
        sys::link_new(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    match made {
        Ok(()) => sys::fsync_dir(sys::parent_dir(path)),
        // Another opener created it first: open theirs (the lock decides who writes).
        Err(Error::Io { op: "link", source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Removes temp files a crash left next to `path`. Only the lock holder calls it.
/// Compaction temps (`.NAME.compact-*`) are made only by lock holders, so any is stale.
/// Creation temps (`.NAME.new-PID-NONCE`) may belong to a process creating the file right
/// now: they are removed only when that process is gone.
pub(crate) fn remove_stale_temps(path: &Path) {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let compact = format!(".{name}.compact-");
    let new = format!(".{name}.new-");
    let dir = sys::parent_dir(path);
    for file in hidden_names(dir) {
        let stale = if file.starts_with(&compact) {
            true
        } else if let Some(rest) = file.strip_prefix(&new) {
            let pid = rest.split('-').next().and_then(|p| p.parse::<i32>().ok());
            pid.is_some_and(|pid| !process_alive(pid))
        } else {
            false
        };
        if stale {
            let _ = std::fs::remove_file(dir.join(file));
        }
    }
}

/// A directory's hidden names (temp files start with a dot) as last listed, and the
/// directory's mtime then.
type Listing = ((i64, i64), Vec<String>);

/// Listings by directory (device, inode). Opening 1,000 journals of one directory would
/// otherwise list it 1,000 times (quadratic). A listing is reused only while the
/// directory's mtime is unchanged, and kept only if the directory had not changed for
/// [`SETTLED`] before it was taken: any later change then shows as a newer mtime, even
/// with coarse file-system timestamps. (A temp missed anyway is only left over, never
/// wrongly removed: staleness is re-checked at every use.)
static LISTINGS: Mutex<Option<HashMap<(u64, u64), Listing>>> = Mutex::new(None);
const SETTLED: Duration = Duration::from_secs(2);

fn hidden_names(dir: &Path) -> Vec<String> {
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
    let names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    let changed = m.modified().unwrap_or(listed_at);
    if changed + SETTLED < listed_at {
        if let Some(mut cache) = LISTINGS.try_lock() {
            cache.get_or_insert_with(HashMap::new).insert(key, (mtime, names.clone()));
        }
    }
    names
}

fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
