//! Group commit under `sync="always"`: appenders on many threads share syncs, and each
//! append is in what a sync made durable by the time it returns (simulated power loss:
//! the durable image is what the last successful fdatasync covered).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

use pinnacle_core::sys::{clear_faults, inject_fault_after, Call};
use pinnacle_core::testing::{durable_image, durable_syncs, scan_image, track_durability};
use pinnacle_core::{Error, Journal, JournalOptions, RecoveryMode, SyncPolicy};
use std::path::Path;
use std::sync::Mutex;

const THREADS: u64 = 8;
const PER_THREAD: u64 = 40;

/// Durability tracking and the fault hook are process-wide: one test at a time.
static HOOKS: Mutex<()> = Mutex::new(());

fn durable_to(p: &Path) -> u64 {
    let image = durable_image(p).expect("a sync recorded a durable image");
    scan_image(&image, RecoveryMode::TolerateTail).unwrap().last_seq
}

fn always(p: &Path) -> Journal {
    let opts = JournalOptions { sync: SyncPolicy::Always, initial_size: 256 << 10, ..Default::default() };
    Journal::open(p, opts).unwrap()
}

#[test]
fn durable_appends_from_many_threads_share_syncs_and_are_durable_on_return() {
    let _hooks = HOOKS.lock().unwrap_or_else(|e| e.into_inner());
    track_durability(true);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("j.journal");
    let j = always(&p);
    let syncs_before = durable_syncs();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (j, p) = (&j, &p);
            s.spawn(move || {
                for i in 0..PER_THREAD {
                    let seq = j.append(1, format!("t{t}-{i}").as_bytes(), None).unwrap();
                    let held = durable_to(p);
                    assert!(held >= seq, "seq {seq} returned but durable only to {held}");
                }
            });
        }
    });
    let appends = THREADS * PER_THREAD;
    let syncs = durable_syncs() - syncs_before;
    assert!(syncs < appends, "{syncs} syncs for {appends} concurrent durable appends: none shared");
    assert_eq!(j.entry_count(), appends);
    j.close().unwrap();
    track_durability(false);
    let reopened = Journal::open(&p, JournalOptions::default()).unwrap();
    assert_eq!(reopened.entry_count(), appends);
}

/// The 21st sync fails while 8 threads append durably: the leader gets the I/O error,
/// every thread waiting on that group and every later append gets an error (the handle
/// is poisoned, nothing is retried), no thread hangs, and every append that returned Ok
/// was durable when it returned and is there after reopening.
#[test]
fn a_failed_sync_under_group_commit_fails_every_waiter_and_loses_nothing_acknowledged() {
    let _hooks = HOOKS.lock().unwrap_or_else(|e| e.into_inner());
    track_durability(true);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("j.journal");
    let j = always(&p);
    inject_fault_after(Call::Fsync, libc::EIO, Some(1), 20);
    let acked: Vec<u64> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (j, p) = (&j, &p);
                s.spawn(move || {
                    let mut acked = Vec::new();
                    for i in 0.. {
                        match j.append(1, format!("t{t}-{i}").as_bytes(), None) {
                            Ok(seq) => {
                                let held = durable_to(p);
                                assert!(held >= seq, "seq {seq} returned but durable only to {held}");
                                acked.push(seq);
                            }
                            Err(e) => {
                                assert_eq!(e.errno(), Some(libc::EIO), "{e}");
                                let later = j.append(1, b"later", None).expect_err("poisoned");
                                assert!(matches!(later, Error::Poisoned { .. }), "{later}");
                                return acked;
                            }
                        }
                    }
                    unreachable!()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    clear_faults();
    assert!(j.poisoned().is_some());
    assert!(j.close().is_err(), "close reports the poison");
    track_durability(false);
    let reopened = Journal::open(&p, JournalOptions::default()).unwrap();
    let held = reopened.read_all(0).unwrap().seq;
    assert!(acked.len() >= 20, "{} acknowledged before the failed sync", acked.len());
    assert!(acked.iter().all(|s| held.contains(s)), "an acknowledged append is missing");
}
