//! Group commit under `sync="always"`: appenders on many threads share syncs, and each
//! append is in what a sync made durable by the time it returns (simulated power loss:
//! the durable image is what the last successful fdatasync covered).

use pinnacle_core::testing::{durable_image, durable_syncs, scan_image, track_durability};
use pinnacle_core::{Journal, JournalOptions, RecoveryMode, SyncPolicy};

const THREADS: u64 = 8;
const PER_THREAD: u64 = 40;

#[test]
fn durable_appends_from_many_threads_share_syncs_and_are_durable_on_return() {
    track_durability(true);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("j.journal");
    let opts = JournalOptions { sync: SyncPolicy::Always, initial_size: 256 << 10, ..Default::default() };
    let j = Journal::open(&p, opts).unwrap();
    let syncs_before = durable_syncs();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (j, p) = (&j, &p);
            s.spawn(move || {
                for i in 0..PER_THREAD {
                    let seq = j.append(1, format!("t{t}-{i}").as_bytes(), None).unwrap();
                    let image = durable_image(p).expect("a sync recorded a durable image");
                    let held = scan_image(&image, RecoveryMode::TolerateTail).unwrap();
                    assert!(held.last_seq >= seq, "seq {seq} returned but durable only to {}", held.last_seq);
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
