//! Background work of many journals runs on one small shared pool of threads, and every
//! `sync="interval"` journal is still synced on its own schedule.

use pinnacle_core::testing::{durable_image, scan_image, track_durability};
use pinnacle_core::{Journal, JournalOptions, RecoveryMode, SyncPolicy};
use std::time::{Duration, Instant};

const JOURNALS: usize = 64;

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
}
