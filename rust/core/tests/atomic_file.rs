//! The atomic-file protocol (temp, write, sync, rename, directory sync, stale-temp
//! sweep): a failure at each step, and a process killed between steps, leave the old
//! content or the new one under the target name, never a mix; a crash's temp is swept
//! only once its creator is dead. The fault hooks are process-wide: every test here
//! takes `SERIAL`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

mod common;

use common::small_opts;
use pinnacle_core::atomic_file::{self, parse_temp_name, temp_name, write_atomic};
use pinnacle_core::sys::{clear_faults, inject_fault, inject_fault_after, Call};
use pinnacle_core::testing::{crash_atomic_writes_at, CrashPoint, CRASH_EXIT_CODE};
use pinnacle_core::{Error, Journal};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    let g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    clear_faults();
    g
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn temps(dir: &Path) -> Vec<PathBuf> {
    names(dir).into_iter().filter(|n| parse_temp_name(n).is_some()).map(|n| dir.join(n)).collect()
}

fn mode_of(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Runs `body` in a forked child and returns its exit status (`_exit`ed, no unwinding).
fn in_child(body: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child runs `body` (plain system calls) and `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(99);
        // SAFETY: ends the child without running the parent's exit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for our own child (it is reaped: its pid is dead afterwards).
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "child died of a signal: {status}");
    libc::WEXITSTATUS(status)
}

#[test]
fn writes_create_private_files_and_replace_whole() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.json");
    write_atomic(&p, b"first", 0o600).unwrap();
    assert_eq!((std::fs::read(&p).unwrap(), mode_of(&p)), (b"first".to_vec(), 0o600));
    write_atomic(&p, b"second, longer", 0o600).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"second, longer");
    write_atomic(&p, b"", 0o600).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"");
    // A given mode is used (less the umask, which never adds bits).
    let q = dir.path().join("report.txt");
    write_atomic(&q, b"r", 0o640).unwrap();
    assert_eq!(mode_of(&q) & !0o640, 0);
    assert_eq!(names(dir.path()), ["f.json", "report.txt"], "no temp left");
    // File names need not be UTF-8.
    use std::os::unix::ffi::OsStrExt;
    let odd = dir.path().join(std::ffi::OsStr::from_bytes(b"p-\xff.journal"));
    write_atomic(&odd, b"odd", 0o600).unwrap();
    assert_eq!(std::fs::read(&odd).unwrap(), b"odd");
    std::fs::remove_file(&odd).unwrap();
    Journal::open(&odd, small_opts()).unwrap().close().unwrap();
    std::fs::remove_file(&odd).unwrap();
    // A missing directory: a clean error naming the target, not the temp.
    let e = write_atomic(&dir.path().join("no/such"), b"x", 0o600).unwrap_err();
    assert_eq!(e.errno(), Some(libc::ENOENT), "{e}");
    assert!(e.to_string().contains("no/such") && !e.to_string().contains(".tmp-"), "{e}");
    // A symlink at a temp name is never followed (O_EXCL | O_NOFOLLOW): no file to point
    // through can be planted; the target name itself is simply replaced.
    let link = dir.path().join("l");
    std::os::unix::fs::symlink(&q, &link).unwrap();
    write_atomic(&link, b"new", 0o600).unwrap();
    assert!(!std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read(&q).unwrap(), b"r", "the symlink's target is untouched");
}

#[test]
fn a_failure_at_each_step_leaves_old_or_new_and_no_temp() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.snapshot");
    let new = vec![7u8; 100_000];
    // (fault, calls that pass first, content after): every step before the rename leaves
    // the old file; a failed directory sync (the second fsync) comes after it.
    let cases: [(Call, u32, &[u8]); 5] = [
        (Call::Open, 0, b"old"),
        (Call::Write, 0, b"old"),
        (Call::Fsync, 0, b"old"),
        (Call::Rename, 0, b"old"),
        (Call::Fsync, 1, &new),
    ];
    for (call, pass, after) in cases {
        write_atomic(&p, b"old", 0o600).unwrap();
        inject_fault_after(call, libc::EIO, Some(1), pass);
        let e = write_atomic(&p, &new, 0o600).unwrap_err();
        clear_faults();
        assert!(matches!(e, Error::Io { .. }) && e.errno() == Some(libc::EIO), "{call:?}: {e}");
        // Named after the target (the directory, for its sync), never the temp.
        let named = if pass == 0 { p.clone() } else { dir.path().to_path_buf() };
        assert!(e.to_string().contains(&*named.to_string_lossy()) && !e.to_string().contains(".tmp-"), "{e}");
        assert!(std::fs::read(&p).unwrap() == after, "{call:?} after {pass}: wrong content");
        assert_eq!(names(dir.path()), ["f.snapshot"], "{call:?}: a temp was left");
    }
    // A persistent fault fails every attempt; a sync failure is never retried within one.
    inject_fault(Call::Fsync, libc::EIO, None);
    assert!(write_atomic(&p, b"x", 0o600).is_err());
    assert!(write_atomic(&p, b"x", 0o600).is_err());
    clear_faults();
    write_atomic(&p, b"x", 0o600).unwrap();
}

#[test]
fn a_crash_between_steps_leaves_old_or_new_and_a_temp_swept_once_its_pid_is_dead() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("AAA.meta.json");
    let new = vec![b'n'; 50_000];
    for (point, expect_new) in
        [(CrashPoint::Written, false), (CrashPoint::Synced, false), (CrashPoint::Renamed, true)]
    {
        write_atomic(&p, b"old", 0o600).unwrap();
        let code = in_child(|| {
            crash_atomic_writes_at(Some(point));
            let _ = write_atomic(&p, &new, 0o600);
            0 // not reached: the write dies at `point`
        });
        assert_eq!(code, CRASH_EXIT_CODE, "{point:?}: the child did not stop there");
        let content = std::fs::read(&p).unwrap();
        assert!(content == if expect_new { &new[..] } else { b"old" }, "{point:?}: torn or wrong");
        let left = temps(dir.path());
        if expect_new {
            assert!(left.is_empty(), "{point:?}: {left:?}");
        } else {
            assert_eq!(left.len(), 1, "{point:?}: the crash leaves its temp");
            assert_eq!(std::fs::read(&left[0]).unwrap(), new, "the temp holds every byte");
            assert_eq!(mode_of(&left[0]), 0o600);
            let t = parse_temp_name(left[0].file_name().unwrap().to_str().unwrap()).unwrap();
            assert_eq!(t.target, "AAA.meta.json");
            // The child is reaped: its pid is dead, so the sweep removes its temp.
            assert_eq!(atomic_file::remove_stale_temps(dir.path()).unwrap(), left);
        }
        assert_eq!(names(dir.path()), ["AAA.meta.json"]);
    }
}

#[test]
fn the_sweep_keeps_temps_of_live_processes_and_other_files() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Ours (alive), pid 1 (alive: init), a dead child's, legacy names, and non-temps.
    let dead = in_child(|| 0);
    assert_eq!(dead, 0);
    // SAFETY: fork + immediate _exit; the parent reaps it to learn a dead pid.
    let dead_pid = unsafe {
        let pid = libc::fork();
        if pid == 0 {
            libc::_exit(0);
        }
        libc::waitpid(pid, std::ptr::null_mut(), 0);
        pid
    };
    let ours = temp_name(std::ffi::OsStr::new("a.snapshot")).into_string().unwrap();
    let alive_other = ".b.snapshot.tmp-1-00ff".to_string();
    let stale = [
        format!(".c.snapshot.tmp-{dead_pid}-abcdef012345"),
        format!(".j.journal.new-{dead_pid}-1733000000"),
        format!(".j.journal.compact-{dead_pid}-5"),
    ];
    let keep = ["x.snapshot", ".hidden", ".a.tmp-x-1", ".lock", "y.tmp-5-ff"];
    for n in stale.iter().chain([&ours, &alive_other]).map(String::as_str).chain(keep) {
        std::fs::write(d.join(n), b"t").unwrap();
    }
    let mut removed = atomic_file::remove_stale_temps(d).unwrap();
    removed.sort();
    let mut want: Vec<PathBuf> = stale.iter().map(|n| d.join(n)).collect();
    want.sort();
    assert_eq!(removed, want);
    let mut left = keep.iter().map(|s| s.to_string()).chain([ours, alive_other]).collect::<Vec<_>>();
    left.sort();
    assert_eq!(names(d), left);
    assert_eq!(atomic_file::remove_stale_temps(&d.join("missing")).unwrap(), Vec::<PathBuf>::new());
}

#[test]
fn journal_creation_uses_the_protocol_and_survives_a_crash_at_each_step() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    for point in [CrashPoint::Written, CrashPoint::Synced, CrashPoint::Renamed] {
        let p = dir.path().join(format!("{point:?}.journal"));
        let code = in_child(|| {
            crash_atomic_writes_at(Some(point));
            let _ = Journal::open(&p, small_opts());
            0
        });
        assert_eq!(code, CRASH_EXIT_CODE, "{point:?}");
        // Before the link: no journal at all; after it: a whole one (header synced).
        assert_eq!(p.exists(), point == CrashPoint::Renamed, "{point:?}");
        assert_eq!(temps(dir.path()).len(), 1, "{point:?}: the crash leaves its temp");
        let j = Journal::open(&p, small_opts()).unwrap();
        assert_eq!(j.entry_count(), 0);
        j.append(1, b"after the crash", None).unwrap();
        j.close().unwrap();
        assert_eq!(mode_of(&p), 0o600);
        assert!(temps(dir.path()).is_empty(), "{point:?}: opening swept the dead creator's temp");
    }
}
