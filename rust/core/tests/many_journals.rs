//! Many journals in one process: their background work runs on one small shared pool of
//! threads (every `sync="interval"` journal still synced on its own schedule), and a
//! reader tailing a journal holds no file descriptor.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

use pinnacle_core::testing::{durable_image, scan_image, track_durability};
use pinnacle_core::{Columns, Journal, JournalOptions, JournalReader, RecoveryMode, SyncPolicy};
use std::time::{Duration, Instant};

const JOURNALS: usize = 64;

/// The thread count and the durability hook are process-wide: one test at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Threads of this process whose name starts with "pinnacle".
fn pinnacle_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("pinnacle"))
        .count()
}

fn durable_to(p: &std::path::Path) -> u64 {
    durable_image(p).map_or(0, |image| scan_image(&image, RecoveryMode::TolerateTail).unwrap().last_seq)
}

#[test]
#[cfg(target_os = "linux")]
fn many_interval_journals_share_a_few_threads_and_each_is_synced() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    track_durability(true);
    let dir = tempfile::tempdir().unwrap();
    let opts = JournalOptions {
        sync: SyncPolicy::Interval(Duration::from_millis(5)),
        initial_size: 64 << 10,
        ..Default::default()
    };
    let paths: Vec<_> = (0..JOURNALS).map(|i| dir.path().join(format!("{i}.journal"))).collect();
    let journals: Vec<Journal> = paths.iter().map(|p| Journal::open(p, opts.clone()).unwrap()).collect();
    for j in &journals {
        j.append(1, b"x", None).unwrap();
    }
    let threads = pinnacle_threads();
    assert!(threads <= 4, "{threads} background threads for {JOURNALS} journals");
    // Each journal's entry becomes durable without any flush: its periodic sync ran.
    let deadline = Instant::now() + Duration::from_secs(60);
    for p in &paths {
        while durable_to(p) < 1 {
            assert!(Instant::now() < deadline, "{} was never synced", p.display());
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    for j in &journals {
        j.close().unwrap();
    }
    track_durability(false);
    // With no journal open, no background thread is left (a fork then finds none parked).
    assert_eq!(pinnacle_threads(), 0);
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
#[cfg(target_os = "linux")]
fn readers_keep_no_descriptor_and_still_follow_growth_and_compaction() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.journal");
    let opts = JournalOptions { initial_size: 8192, growth_step: 4096, ..Default::default() };
    let j = Journal::open(&p, opts).unwrap();
    j.append(1, b"first", None).unwrap();
    // Other tests open and close files concurrently: compare over several readers.
    let before = open_fds();
    let mut readers: Vec<JournalReader> = (0..32).map(|_| JournalReader::open(&p, 1).unwrap()).collect();
    let held = open_fds().saturating_sub(before);
    assert!(held < 8, "32 readers hold {held} more descriptors");
    let payload = vec![7u8; 1000];
    for _ in 0..50 {
        j.append(1, &payload, None).unwrap(); // grows the file well past its first mapping
    }
    let mut cols = Columns::default();
    let r = &mut readers[0];
    assert_eq!(r.poll(1000, &mut cols).unwrap(), 51);
    assert!(j.size_bytes() > 8192);
    j.compact(40).unwrap();
    j.append(1, b"after", None).unwrap();
    cols.clear();
    assert_eq!(r.poll(1000, &mut cols).unwrap(), 1);
    assert_eq!(cols.payload(0), b"after");
}
