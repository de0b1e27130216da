//! How journal files grow: geometrically from a small initial size up to the step cap,
//! with smaller steps tried before a full disk fails an append; and opening reads the
//! entries, not the preallocated space.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

mod common;

use common::*;
use pinnacle_core::sys::{clear_faults, inject_fault, Call};
use pinnacle_core::{Journal, JournalOptions};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

fn allocated(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().blocks() * 512
}

/// Injected faults are process-wide: a test's journal syscalls could take another
/// test's fault, so the tests of this file run one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn the_file_doubles_until_the_step_cap_then_grows_by_the_cap() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("g.journal");
    let opts = JournalOptions { initial_size: 8192, growth_step: 64 << 10, ..Default::default() };
    let j = Journal::open(&p, opts.clone()).unwrap();
    let mut sizes = vec![j.size_bytes()];
    let mut i = 0;
    while sizes.len() < 8 {
        i += 1;
        j.append(1, &payload(i), None).unwrap();
        if j.size_bytes() != *sizes.last().unwrap() {
            sizes.push(j.size_bytes());
            assert_eq!(std::fs::metadata(&p).unwrap().len(), j.size_bytes());
        }
    }
    let k = 1024;
    assert_eq!(sizes, [8 * k, 16 * k, 32 * k, 64 * k, 128 * k, 192 * k, 256 * k, 320 * k]);
    j.close().unwrap();
    assert_eq!(Journal::open(&p, opts).unwrap().entry_count(), i);
}

#[test]
fn a_journal_with_default_options_stays_small_after_its_first_growth() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.journal");
    let j = Journal::open(&p, JournalOptions::default()).unwrap();
    let blob = vec![5u8; 1000];
    while j.size_bytes() <= 1 << 20 {
        j.append(1, &blob, None).unwrap();
    }
    // 1 MiB, then 2 MiB: not the 65 MiB a fixed 64 MiB step allocated.
    assert_eq!(j.size_bytes(), 2 << 20);
    assert!(allocated(&p) <= 2 << 20, "{} bytes allocated", allocated(&p));
    j.close().unwrap();
}

#[test]
fn an_entry_larger_than_the_step_grows_the_file_to_fit_it() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.journal");
    let j = Journal::open(&p, small_opts()).unwrap();
    j.append(1, &vec![3u8; 100_000], None).unwrap();
    assert!(j.size_bytes() >= 4096 + 100_000 && j.size_bytes() % 4096 == 0);
    j.close().unwrap();
}

#[test]
fn a_failed_growth_changes_nothing_and_an_injected_fault_fails_it_as_a_whole() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.journal");
    let j = Journal::open(&p, small_opts()).unwrap();
    let blob = vec![9u8; 3000];
    j.append(1, &blob, None).unwrap();
    let size = j.size_bytes();
    // One failure is the growth's failure (not absorbed by a smaller retry).
    inject_fault(Call::Fallocate, libc::ENOSPC, Some(1));
    let mut failed = None;
    for _ in 0..3 {
        if let Err(e) = j.append(1, &blob, None) {
            failed = Some(e);
            break;
        }
    }
    clear_faults();
    let e = failed.expect("the growth failed");
    assert_eq!(e.errno(), Some(libc::ENOSPC));
    assert!(e.to_string().contains("f.journal"), "{e}");
    assert_eq!(j.size_bytes(), size);
    assert_eq!(std::fs::metadata(&p).unwrap().len(), size);
    let n = j.entry_count();
    j.append(1, &blob, None).unwrap();
    j.close().unwrap();
    assert_eq!(Journal::open(&p, small_opts()).unwrap().entry_count(), n + 1);
}

/// Waits until the file's written extent stops moving (the prefault thread is idle).
fn settle(p: &Path) {
    let mut last = (0, 0);
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let now = (allocated(p), data_extent(p));
        if now == last {
            return;
        }
        last = now;
    }
}

fn data_extent(p: &Path) -> u64 {
    let f = std::fs::File::open(p).unwrap();
    let len = f.metadata().unwrap().len();
    pinnacle_core::sys::data_end(&f, len)
}

#[test]
fn opening_reads_the_entries_not_the_preallocated_space() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("o.journal");
    let opts = JournalOptions { initial_size: 64 << 20, ..Default::default() };
    let j = Journal::open(&p, opts.clone()).unwrap();
    for i in 1..=2000 {
        j.append(1, &payload(i), None).unwrap();
    }
    let data = j.data_bytes();
    settle(&p); // whatever the prefault thread populates ahead is now in the file
    j.abandon(); // a crash: no close
    let j = Journal::open(&p, opts.clone()).unwrap();
    assert_eq!(j.entry_count(), 2000);
    let r = j.recovery_report();
    assert!(r.is_clean(), "{}", r.summary());
    // The entries, plus at most the prefault window of a journal this size (1 MiB).
    assert!(r.scanned_bytes >= data - 4096, "{} < {data}", r.scanned_bytes);
    assert!(
        r.scanned_bytes <= data + (1 << 20) + 4096,
        "scanned {} bytes for {data} of entries",
        r.scanned_bytes
    );
    j.close().unwrap();
    // A clean close leaves the same bound.
    let j = Journal::open(&p, opts).unwrap();
    assert!(j.recovery_report().scanned_bytes <= data + (1 << 20) + 4096);
}

#[test]
fn a_journal_that_cannot_be_created_is_named_in_the_error_and_leaves_no_file() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("BTC-USD.journal");
    for call in [Call::Fallocate, Call::Fsync] {
        inject_fault(call, libc::ENOSPC, Some(1));
        let e = Journal::open(&p, small_opts()).err().expect("creation failed");
        clear_faults();
        let msg = e.to_string();
        assert!(msg.contains(&format!("{}:", p.display())), "{msg}");
        assert!(!msg.contains(".new-"), "{msg}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "left a file behind");
    }
    Journal::open(&p, small_opts()).unwrap().close().unwrap();
}
