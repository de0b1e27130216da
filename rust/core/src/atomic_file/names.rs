//! The one temp-file name of the atomic-file protocol, and the names older pinnacle
//! releases used (still recognised, so their leftovers are swept).
//!
//! A temp for the file `NAME` is `.NAME.tmp-PID-NONCE`: hidden (never taken for a journal,
//! a snapshot or a symbol), named after its target (a sweep of one journal touches only
//! that journal's temps), carrying the creating process's id (a sweep removes it only once
//! that process is gone) and a nonce of 16 hex digits (unique within the process; `O_EXCL`
//! turns any collision into a retry with the next one).

use std::ffi::{OsStr, OsString};
use std::sync::atomic::{AtomicU64, Ordering};

/// The marker between the target's name and the creator's pid.
const MARK: &str = ".tmp-";
/// Markers of pinnacle-core 0.1's journal temps: `.NAME.new-PID-NS` (creation) and
/// `.NAME.compact-PID-NS` (compaction).
const LEGACY_MARKS: [&str; 2] = [".new-", ".compact-"];

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh temp name for the file named `target` (any bytes: file names need not be
/// UTF-8).
pub fn temp_name(target: &OsStr) -> OsString {
    // The clock makes names of successive runs of one pid differ; the counter makes
    // names within a run differ.
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nonce = (crate::wall_clock_ns() as u64).rotate_left(16) ^ n;
    let mut name = OsString::from(".");
    name.push(target);
    name.push(format!("{MARK}{}-{nonce:016x}", std::process::id()));
    name
}

/// A recognised temp name, split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TempName<'a> {
    /// The name of the file the temp was to become.
    pub target: &'a str,
    /// The process that created it.
    pub pid: u32,
    /// Made by pinnacle-core 0.1's compaction (only ever by the journal's lock holder).
    pub legacy_compaction: bool,
}

/// Splits `name` if it is a temp name (current or legacy), else None. A name that is not
/// UTF-8 is matched by its lossy text (its target compared the same way).
pub fn parse_temp_name(name: &str) -> Option<TempName<'_>> {
    let body = name.strip_prefix('.')?;
    let current = split(body, MARK, |n| n.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    if let Some((target, pid)) = current {
        return Some(TempName { target, pid, legacy_compaction: false });
    }
    for mark in LEGACY_MARKS {
        if let Some((target, pid)) = split(body, mark, |n| n.bytes().all(|b| b.is_ascii_digit())) {
            return Some(TempName { target, pid, legacy_compaction: mark == ".compact-" });
        }
    }
    None
}

/// `TARGET{mark}PID-NONCE` split at the last `mark`, PID decimal and NONCE non-empty and
/// accepted by `nonce_ok`.
fn split<'a>(body: &'a str, mark: &str, nonce_ok: impl Fn(&str) -> bool) -> Option<(&'a str, u32)> {
    let at = body.rfind(mark)?;
    let target = body.get(..at).filter(|t| !t.is_empty())?;
    let (pid, nonce) = body.get(at + mark.len()..)?.split_once('-')?;
    let pid_ok = !pid.is_empty() && pid.len() <= 10 && pid.bytes().all(|b| b.is_ascii_digit());
    if !pid_ok || nonce.is_empty() || !nonce_ok(nonce) {
        return None;
    }
    Some((target, pid.parse().ok()?))
}

/// Whether process `pid` exists (a process of another user counts: EPERM).
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_legacy_names_parse() {
        let n = temp_name(OsStr::new("AAA.meta.json")).into_string().unwrap();
        let t = parse_temp_name(&n).unwrap();
        assert_eq!((t.target, t.pid, t.legacy_compaction), ("AAA.meta.json", std::process::id(), false));
        assert_ne!(temp_name(OsStr::new("x")), temp_name(OsStr::new("x")));
        let legacy = parse_temp_name(".j.journal.new-42-1733").unwrap();
        assert_eq!((legacy.target, legacy.pid), ("j.journal", 42));
        assert!(parse_temp_name(".j.journal.compact-1-2").unwrap().legacy_compaction);
        assert_eq!(parse_temp_name(".a.tmp-9-00ff").unwrap().target, "a");
        for no in
            [".a.tmp-x-1", ".hidden", "a.tmp-1-ff", ".a.tmp-1-", ".a.tmp-1-FF", "..tmp-1-ff", ".a.new-1-ff"]
        {
            assert_eq!(parse_temp_name(no), None, "{no}");
        }
    }
}
