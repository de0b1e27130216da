#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

use pinnacle_core::{Journal, JournalOptions, RecoveryMode};
use std::path::{Path, PathBuf};

pub fn small_opts() -> JournalOptions {
    JournalOptions { initial_size: 8192, growth_step: 4096, ..Default::default() }
}

pub fn mode_opts(mode: RecoveryMode) -> JournalOptions {
    JournalOptions { recovery: mode, ..small_opts() }
}

pub fn payload(i: u64) -> Vec<u8> {
    format!("entry-{i:06}-{}", "x".repeat((i % 23) as usize)).into_bytes()
}

/// A journal with `n` entries, closed cleanly (sealed: every byte durable).
pub fn sealed_journal(dir: &Path, n: u64) -> PathBuf {
    let p = dir.join("j.journal");
    let j = Journal::open(&p, small_opts()).unwrap();
    for i in 1..=n {
        j.append(7, &payload(i), Some(i as i64)).unwrap();
    }
    j.close().unwrap();
    p
}

/// A journal whose first `durable` entries were sealed (written, then the journal closed
/// and reopened) and the rest appended after the last sync, then abandoned as a crash
/// would leave it. Returns the path and the offset where the unsynced entries start.
pub fn crashed_journal(dir: &Path, durable: u64, unsynced: u64) -> (PathBuf, u64) {
    let p = dir.join("j.journal");
    let j = Journal::open(&p, small_opts()).unwrap();
    for i in 1..=durable {
        j.append(7, &payload(i), Some(i as i64)).unwrap();
    }
    j.close().unwrap();
    let j = Journal::open(&p, small_opts()).unwrap();
    let tail = j.data_bytes();
    for i in durable + 1..=durable + unsynced {
        j.append(7, &payload(i), Some(i as i64)).unwrap();
    }
    j.abandon();
    (p, tail)
}

pub fn seqs(j: &Journal) -> Vec<u64> {
    j.read_all(0).unwrap().seq
}

pub fn check_payloads(j: &Journal) {
    let c = j.read_all(0).unwrap();
    for i in 0..c.len() {
        assert_eq!(c.payload(i), &payload(c.seq[i])[..], "payload of seq {}", c.seq[i]);
    }
}
