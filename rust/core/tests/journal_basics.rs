#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails
mod common;

use common::*;
use pinnacle_core::{Error, GrowthStrategy, Journal, JournalOptions, SyncPolicy};

#[test]
fn append_read_reopen_keeps_every_entry_and_seq() {
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 500);
    let j = Journal::open(&p, small_opts()).unwrap();
    assert_eq!(seqs(&j), (1..=500).collect::<Vec<_>>());
    check_payloads(&j);
    let c = j.read_all(0).unwrap();
    assert!(c.kind.iter().all(|&k| k == 7));
    assert_eq!(c.timestamp_ns[41], 42);
    assert_eq!(j.append(7, b"next", None).unwrap(), 501);
    assert!(j.recovery_report().is_clean());
}

#[test]
fn reopening_never_grows_the_file_or_moves_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 50);
    let size = std::fs::metadata(&p).unwrap().len();
    for _ in 0..5 {
        let j = Journal::open(&p, small_opts()).unwrap();
        assert_eq!(j.entry_count(), 50);
        assert_eq!(j.next_seq(), 51);
        j.close().unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), size);
    }
}

#[test]
fn growth_keeps_every_entry_under_both_strategies() {
    for growth in [GrowthStrategy::Auto, GrowthStrategy::Remap] {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.journal");
        let opts = JournalOptions { growth, ..small_opts() };
        let j = Journal::open(&p, opts.clone()).unwrap();
        let mut sizes = vec![j.size_bytes()];
        for i in 1..=3000u64 {
            j.append(1, &payload(i), None).unwrap();
            if j.size_bytes() != *sizes.last().unwrap() {
                sizes.push(j.size_bytes());
            }
        }
        assert!(sizes.len() > 10, "{growth:?} grew only {} times", sizes.len());
        // A payload bigger than one growth step.
        let big = vec![0xAB; 3 * 4096 + 5];
        assert_eq!(j.append(2, &big, None).unwrap(), 3001);
        check_payloads_upto(&j, 3000);
        j.close().unwrap();
        let j = Journal::open(&p, opts).unwrap();
        assert_eq!(j.entry_count(), 3001);
        assert_eq!(j.read_all(3001).unwrap().payload(0), &big[..]);
    }
}

fn check_payloads_upto(j: &Journal, n: u64) {
    let c = j.read_all(0).unwrap();
    for i in 0..n as usize {
        assert_eq!(c.payload(i), &payload(c.seq[i])[..]);
    }
}

#[test]
fn read_from_any_seq_uses_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 2000);
    let j = Journal::open(&p, small_opts()).unwrap();
    for from in [0, 1, 2, 255, 256, 257, 1023, 1999, 2000] {
        let c = j.read_all(from).unwrap();
        assert_eq!(c.seq.first().copied(), Some(from.max(1)));
        assert_eq!(c.len() as u64, 2000 - from.max(1) + 1);
    }
    assert!(j.read_all(2001).unwrap().is_empty());
}

#[test]
fn batch_append_is_contiguous_and_checkpoints_are_found_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("b.journal");
    let j = Journal::open(&p, small_opts()).unwrap();
    let rows: Vec<Vec<u8>> = (1..=100).map(payload).collect();
    let refs: Vec<&[u8]> = rows.iter().map(|r| &r[..]).collect();
    assert_eq!(j.append_batch(7, &refs, Some(5)).unwrap(), (1, 100));
    assert_eq!(j.checkpoint(b"snap-100").unwrap(), 101);
    assert_eq!(j.append(7, b"after", None).unwrap(), 102);
    j.close().unwrap();
    let j = Journal::open(&p, small_opts()).unwrap();
    assert_eq!(j.last_checkpoint().unwrap(), Some((101, b"snap-100".to_vec())));
    let c = j.read_all(101).unwrap();
    assert_eq!(c.flags[0] & pinnacle_core::FLAG_CHECKPOINT, pinnacle_core::FLAG_CHECKPOINT);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v.journal");
    let opts = JournalOptions { max_entry_size: 100, ..small_opts() };
    let j = Journal::open(&p, opts).unwrap();
    j.append(1, b"ok", None).unwrap();
    let before = (j.entry_count(), j.data_bytes());
    assert!(matches!(j.append(1, &[0; 101], None), Err(Error::InvalidArgument(_))));
    assert!(matches!(j.append(1, b"x", Some(-1)), Err(Error::InvalidArgument(_))));
    assert!(matches!(j.append_batch(1, &[], None), Err(Error::InvalidArgument(_))));
    assert!(matches!(j.append_batch(1, &[b"a", &[0; 101]], None), Err(Error::InvalidArgument(_))));
    assert!(matches!(j.compact(10), Err(Error::InvalidArgument(_))));
    assert_eq!((j.entry_count(), j.data_bytes()), before);
    j.close().unwrap();
    assert!(matches!(j.append(1, b"x", None), Err(Error::Closed { .. })));
    assert!(j.close().is_ok(), "close is idempotent");
    for bad in [
        JournalOptions { max_entry_size: 0, ..small_opts() },
        JournalOptions { initial_size: 10, ..small_opts() },
        JournalOptions { growth_step: 0, ..small_opts() },
        JournalOptions { sync: SyncPolicy::Interval(std::time::Duration::ZERO), ..small_opts() },
    ] {
        assert!(matches!(Journal::open(&p, bad), Err(Error::InvalidArgument(_))));
    }
}

#[test]
fn a_second_writer_is_refused_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("l.journal");
    let j = Journal::open(&p, small_opts()).unwrap();
    let e = Journal::open(&p, small_opts()).err().unwrap();
    assert!(matches!(e, Error::Locked { .. }), "{e}");
    assert!(e.to_string().contains("already open for writing"));
    j.close().unwrap();
    Journal::open(&p, small_opts()).unwrap();
}

#[test]
fn foreign_and_short_files_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [("empty", vec![]), ("short", b"hello".to_vec()), ("foreign", vec![b'A'; 8192])] {
        let p = dir.path().join(name);
        std::fs::write(&p, &bytes).unwrap();
        let e = Journal::open(&p, small_opts()).err().unwrap();
        assert!(matches!(e, Error::Corruption { .. }), "{name}: {e}");
        assert!(e.to_string().contains(name), "error names the file: {e}");
        assert_eq!(std::fs::read(&p).unwrap(), bytes, "{name} was modified");
    }
}

#[test]
fn symlinked_journal_path_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = sealed_journal(dir.path(), 3);
    let link = dir.path().join("link.journal");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert!(matches!(Journal::open(&link, small_opts()), Err(Error::Io { .. })));
}

#[test]
fn new_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 1);
    assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 1, "temp files left behind: {leftovers:?}");
}

#[test]
fn threads_appending_at_once_lose_and_interleave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.journal");
    for sync in [SyncPolicy::None, SyncPolicy::Always] {
        let _ = std::fs::remove_file(&p);
        let j = Journal::open(&p, JournalOptions { sync, ..small_opts() }).unwrap();
        let per = if sync == SyncPolicy::Always { 50 } else { 5000 };
        std::thread::scope(|s| {
            for t in 0..4u16 {
                let j = &j;
                s.spawn(move || {
                    let mut last = 0;
                    for i in 0..per {
                        let seq = j.append(t, format!("{t}:{i}").as_bytes(), None).unwrap();
                        assert!(seq > last);
                        last = seq;
                    }
                });
            }
        });
        let c = j.read_all(0).unwrap();
        assert_eq!(c.seq, (1..=4 * per as u64).collect::<Vec<_>>());
        for t in 0..4u16 {
            let mine: Vec<String> = (0..c.len())
                .filter(|&i| c.kind[i] == t)
                .map(|i| String::from_utf8(c.payload(i).to_vec()).unwrap())
                .collect();
            let want: Vec<String> = (0..per).map(|i| format!("{t}:{i}")).collect();
            assert_eq!(mine, want, "thread {t}'s entries out of order");
        }
    }
}

#[test]
fn interval_sync_thread_makes_data_durable_and_stops_on_close() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("i.journal");
    let opts =
        JournalOptions { sync: SyncPolicy::Interval(std::time::Duration::from_millis(5)), ..small_opts() };
    let j = Journal::open(&p, opts).unwrap();
    j.append(1, b"a", None).unwrap();
    // The header is refreshed at most every 100 ms; leave room for two refreshes.
    std::thread::sleep(std::time::Duration::from_millis(150));
    j.append(1, b"b", None).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    // Two syncs have completed, so the header records the first entry as durable: damage
    // to it is corruption, not a torn tail.
    j.abandon();
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[4096 + 12] ^= 1; // inside the first entry (bytes 4096..4136)
    std::fs::write(&p, &bytes).unwrap();
    assert!(matches!(Journal::open(&p, small_opts()), Err(Error::Corruption { .. })));
}

#[test]
fn a_sync_into_a_deleted_or_replaced_file_fails_and_poisons_the_handle() {
    let dir = tempfile::tempdir().unwrap();
    for replace in [false, true] {
        let p = dir.path().join(format!("gone-{replace}.journal"));
        let j = Journal::open(&p, JournalOptions { sync: SyncPolicy::Always, ..small_opts() }).unwrap();
        j.append(1, b"kept", None).unwrap();
        std::fs::remove_file(&p).unwrap();
        if replace {
            std::fs::write(&p, b"someone else's file").unwrap();
        }
        let err = j.append(1, b"lost", None).unwrap_err();
        assert!(err.to_string().contains("deleted or replaced"), "{err}");
        assert_eq!(err.errno(), Some(libc::ENOENT));
        assert!(matches!(j.append(1, b"again", None), Err(Error::Poisoned { .. })));
        assert!(j.poisoned().is_some());
        let _ = j.close();
        if replace {
            assert_eq!(std::fs::read(&p).unwrap(), b"someone else's file");
        }
    }
}

#[test]
fn close_because_names_the_reason_in_every_later_error() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path().join("r.journal"), small_opts()).unwrap();
    j.append(1, b"x", None).unwrap();
    j.close_because("the data directory was removed").unwrap();
    let err = j.append(1, b"y", None).unwrap_err();
    assert!(matches!(err, Error::Closed { reason: Some(_), .. }));
    assert!(err.to_string().ends_with("is closed: the data directory was removed"), "{err}");
    j.close_because("another reason").unwrap();
    assert!(j.append(1, b"y", None).unwrap_err().to_string().ends_with("was removed"));
}
