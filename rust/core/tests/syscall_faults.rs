//! System-call failures injected through the core's hook. One test function: the hook is
//! process-wide, so these must not run concurrently with each other.

mod common;

use common::*;
use pinnacle_core::sys::{clear_faults, inject_fault, inject_fault_after, Call};
use pinnacle_core::{Error, Journal, JournalOptions, SyncPolicy};

#[test]
fn injected_failures_give_clean_errors_and_a_recoverable_journal() {
    let dir = tempfile::tempdir().unwrap();

    // open fails once: a clean I/O error naming the file; the next try works.
    let p = dir.path().join("open.journal");
    inject_fault(Call::Open, libc::EACCES, Some(1));
    let e = Journal::open(&p, small_opts()).err().unwrap();
    assert!(matches!(e, Error::Io { .. }) && e.errno() == Some(libc::EACCES), "{e}");
    assert!(e.to_string().contains("open.journal"));
    Journal::open(&p, small_opts()).unwrap().close().unwrap();

    // fallocate fails (disk full) when growing: the append fails, nothing is lost, and
    // the journal keeps working once space is back.
    let p = dir.path().join("full.journal");
    let j = Journal::open(&p, small_opts()).unwrap();
    let blob = vec![9u8; 3000];
    for _ in 0..2 {
        j.append(1, &blob, None).unwrap();
    }
    inject_fault(Call::Fallocate, libc::ENOSPC, None);
    let mut failures = 0;
    for _ in 0..5 {
        if let Err(e) = j.append(1, &blob, None) {
            assert_eq!(e.errno(), Some(libc::ENOSPC), "{e}");
            failures += 1;
        }
    }
    assert!(failures > 0);
    clear_faults();
    let n = j.entry_count();
    j.append(1, &blob, None).unwrap();
    j.close().unwrap();
    assert_eq!(Journal::open(&p, small_opts()).unwrap().entry_count(), n + 1);

    // fdatasync fails: the handle is poisoned; every later write raises; reopening
    // recovers every entry that was appended.
    for call in [Call::Fsync, Call::Msync] {
        let p = dir.path().join(format!("{call:?}.journal"));
        let _ = std::fs::remove_file(&p);
        let j = Journal::open(&p, JournalOptions { sync: SyncPolicy::Always, ..small_opts() }).unwrap();
        j.append(1, b"durable", None).unwrap();
        inject_fault(call, libc::EIO, Some(1));
        let e = j.append(1, b"maybe", None).err().unwrap();
        assert_eq!(e.errno(), Some(libc::EIO), "{e}");
        // The fault is gone, but the handle must not retry its way past the failure.
        let e = j.append(1, b"after", None).err().unwrap();
        assert!(matches!(e, Error::Poisoned { .. }), "{e}");
        assert!(matches!(j.flush(), Err(Error::Poisoned { .. })));
        assert!(j.poisoned().is_some());
        assert!(j.close().is_err(), "close reports the poison");
        let j = Journal::open(&p, small_opts()).unwrap();
        let c = j.read_all(0).unwrap();
        assert_eq!(c.payload(0), b"durable");
        assert!(c.len() <= 2);
    }

    // rename fails during compaction: the handle and file are unchanged, no temp file left.
    let cdir = dir.path().join("compact");
    std::fs::create_dir(&cdir).unwrap();
    let p = sealed_journal(&cdir, 20);
    let j = Journal::open(&p, small_opts()).unwrap();
    inject_fault(Call::Rename, libc::EXDEV, Some(1));
    assert!(j.compact(10).is_err());
    assert_eq!((j.first_seq(), j.entry_count()), (1, 20));
    j.append(7, &payload(21), None).unwrap();
    assert_eq!(j.compact(10).unwrap(), 9);
    j.close().unwrap();
    assert_eq!(std::fs::read_dir(&cdir).unwrap().count(), 1);
    assert_eq!(Journal::open(&p, small_opts()).unwrap().first_seq(), 10);

    // The directory fsync after compaction's rename fails (the two file syncs before it
    // pass): the rename may not be durable, so the handle is poisoned rather than trusted;
    // reopening finds the compacted file with every kept entry, and nothing else left.
    let ddir = dir.path().join("dirsync");
    std::fs::create_dir(&ddir).unwrap();
    let p = sealed_journal(&ddir, 30);
    let j = Journal::open(&p, small_opts()).unwrap();
    inject_fault_after(Call::Fsync, libc::EIO, Some(1), 2);
    let e = j.compact(11).err().unwrap();
    assert_eq!(e.errno(), Some(libc::EIO), "{e}");
    assert!(e.to_string().starts_with(&format!("fsync failed on {}:", ddir.display())), "{e}");
    assert!(matches!(j.append(7, b"after", None), Err(Error::Poisoned { .. })));
    let _ = j.close();
    let j = Journal::open(&p, small_opts()).unwrap();
    assert_eq!((j.first_seq(), j.last_seq()), (11, 30));
    let c = j.read_all(0).unwrap();
    assert!((0..c.len()).all(|i| c.payload(i) == &payload(c.seq[i])[..]));
    assert_eq!(std::fs::read_dir(&ddir).unwrap().count(), 1, "no temp file left");
    clear_faults();
}
