#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails
mod common;

use common::*;
use pinnacle_core::{Columns, Error, Journal, JournalReader, RecoveryMode};
use std::time::Duration;

#[test]
fn compaction_drops_the_prefix_and_never_resets_sequence_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 1000);
    let j = Journal::open(&p, small_opts()).unwrap();
    j.checkpoint(b"cp").unwrap(); // seq 1001
    assert_eq!(j.compact(600).unwrap(), 599);
    assert_eq!((j.first_seq(), j.last_seq(), j.entry_count()), (600, 1001, 402));
    assert_eq!(j.last_checkpoint().unwrap(), Some((1001, b"cp".to_vec())));
    assert_eq!(j.append(7, &payload(1002), Some(1)).unwrap(), 1002);
    assert_eq!(j.compact(10).unwrap(), 0, "nothing before the first entry to drop");
    let c = j.read_all(0).unwrap();
    assert_eq!(c.seq, (600..=1002).collect::<Vec<_>>());
    j.close().unwrap();
    let j = Journal::open(&p, small_opts()).unwrap();
    assert_eq!(seqs(&j), (600..=1002).collect::<Vec<_>>());
    assert!(j.recovery_report().is_clean());
    // Compacting everything leaves an empty journal that continues from the last seq.
    assert_eq!(j.compact(j.next_seq()).unwrap(), 403);
    assert_eq!((j.entry_count(), j.next_seq()), (0, 1003));
    j.close().unwrap();
    let j = Journal::open(&p, small_opts()).unwrap();
    assert_eq!(j.append(7, b"after", None).unwrap(), 1003);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn compaction_of_a_journal_larger_than_several_growth_steps() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.journal");
    let j = Journal::open(&p, small_opts()).unwrap();
    let blob = vec![3u8; 10_000];
    for _ in 0..50 {
        j.append(1, &blob, None).unwrap();
    }
    assert_eq!(j.compact(10).unwrap(), 9);
    assert_eq!(j.read_all(0).unwrap().len(), 41);
    j.append(1, &blob, None).unwrap();
    j.close().unwrap();
    assert_eq!(Journal::open(&p, small_opts()).unwrap().entry_count(), 42);
}

#[test]
fn compaction_after_skip_corrupted_leaves_the_damage_out() {
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 10);
    let mut img = std::fs::read(&p).unwrap();
    img[4096 + 200] ^= 0x40; // inside an early entry
    std::fs::write(&p, &img).unwrap();
    let j = Journal::open(&p, mode_opts(RecoveryMode::SkipCorrupted)).unwrap();
    let kept = seqs(&j);
    assert!(kept.len() == 9, "{kept:?}");
    j.compact(1).unwrap_or(0);
    j.compact(kept[1]).unwrap();
    j.close().unwrap();
    let j = Journal::open(&p, small_opts()).unwrap();
    assert_eq!(seqs(&j), kept[1..].to_vec());
    check_payloads(&j);
}

#[test]
fn a_stale_compaction_temp_file_is_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 3);
    let stale = dir.path().join(".j.journal.compact-1-2");
    std::fs::write(&stale, b"half written").unwrap();
    let j = Journal::open(&p, small_opts()).unwrap();
    assert!(!stale.exists());
    assert_eq!(j.entry_count(), 3);
}

#[test]
fn reader_tails_a_writer_through_growth_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tail.journal");
    let j = Journal::open(&p, small_opts()).unwrap();
    let mut r = JournalReader::open(&p, 0).unwrap();
    let mut got = Columns::default();
    assert_eq!(r.poll(100, &mut got).unwrap(), 0);
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 1..=3000u64 {
                j.append(7, &payload(i), None).unwrap();
                if i == 1500 {
                    // A compaction that drops nothing the reader still needs.
                    j.compact(2).unwrap();
                }
            }
        });
        // A deadline turns a reader that stops seeing entries into a failure, not a hang.
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while got.len() < 3000 {
            assert!(
                std::time::Instant::now() < deadline,
                "reader stuck at {} entries (last seq {:?}, next {}), writer at {}",
                got.len(),
                got.seq.last(),
                r.next_seq(),
                j.last_seq()
            );
            r.wait(Duration::from_secs(5), 1000, &mut got).unwrap();
        }
    });
    assert_eq!(got.seq[..3], [1, 2, 3]);
    assert_eq!(got.seq, (1..=3000).collect::<Vec<_>>());
    for i in 0..got.len() {
        assert_eq!(got.payload(i), &payload(got.seq[i])[..]);
    }
    // Compaction past what the reader has seen switches it to the new file.
    j.compact(2500).unwrap();
    j.append(7, &payload(3001), None).unwrap();
    let mut more = Columns::default();
    r.wait(Duration::from_secs(5), 10, &mut more).unwrap();
    assert_eq!(more.seq, vec![3001]);
    // A reader that fell behind a compaction is told so, then continues. It still holds
    // the file it opened (2500..=3001), so it falls behind only when a second compaction
    // drops entries appended after the first: 3002 lives only in the file between.
    let mut late = JournalReader::open(&p, 0).unwrap();
    assert_eq!(late.next_seq(), 2500);
    j.compact(3001).unwrap();
    assert_eq!(j.append(7, b"x", None).unwrap(), 3002);
    assert_eq!(j.append(7, b"y", None).unwrap(), 3003);
    j.compact(3003).unwrap();
    let mut seen = Columns::default();
    assert_eq!(late.poll(usize::MAX, &mut seen).unwrap(), 502);
    assert_eq!((seen.seq[0], seen.seq[501]), (2500, 3001));
    let e = late.poll(10, &mut Columns::default());
    assert!(
        matches!(e, Err(Error::Compacted { wanted_seq: 3002, first_seq: 3003, .. })),
        "{:?}",
        e.map(|_| ())
    );
    let mut after = Columns::default();
    late.poll(10, &mut after).unwrap();
    assert_eq!(after.seq, vec![3003]);
    assert_eq!(after.payload(0), b"y");
}

/// Appends small entries until the next one's header fits before the file's end but a
/// `big`-byte payload would not; returns every seq appended.
fn fill_to_just_before_the_end(j: &Journal, big: usize) -> Vec<u64> {
    let (header, big_total) = (32, pinnacle_core::format::entry::encoded_len(big));
    let mut seqs = Vec::new();
    loop {
        let room = j.size_bytes() - j.data_bytes();
        if (header..big_total as u64).contains(&room) {
            return seqs;
        }
        seqs.push(j.append(7, b"small", None).unwrap());
    }
}

/// The reader knows the file's length from its last look at the path. An entry that
/// starts before that length but ends after it (the writer grew the file for it) and a
/// compaction that replaced the file before the reader looked again: the rest of the old
/// file is out of the reader's sight, so it must follow the path to the new file rather
/// than wait for the entry to complete (it once waited forever).
#[test]
fn reader_follows_a_compaction_past_an_entry_straddling_the_end_it_last_saw() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("straddle.journal");
    let j = Journal::open(&p, small_opts()).unwrap();
    let big = vec![9u8; 200];
    let mut r = JournalReader::open(&p, 0).unwrap();
    let mut got = Columns::default();
    let mut want = fill_to_just_before_the_end(&j, big.len());
    assert_eq!(r.poll(usize::MAX, &mut got).unwrap(), want.len());
    let size = j.size_bytes();
    want.push(j.append(7, &big, None).unwrap());
    assert!(j.size_bytes() > size, "the entry made the file grow");
    j.compact(2).unwrap();
    r.wait(Duration::from_secs(2), usize::MAX, &mut got).unwrap();
    assert_eq!(got.seq, want);
    assert_eq!(got.payload(got.len() - 1), &big[..]);
    // Still following: the next compaction and growth are seen the same way.
    want.extend(fill_to_just_before_the_end(&j, big.len()));
    r.wait(Duration::from_secs(2), usize::MAX, &mut got).unwrap();
    want.push(j.append(7, &big, None).unwrap());
    j.compact(3).unwrap();
    r.wait(Duration::from_secs(2), usize::MAX, &mut got).unwrap();
    assert_eq!(got.seq, want);

    // When the compaction dropped the straddling entry, the reader is told it fell behind.
    let mut late = JournalReader::open(&p, 0).unwrap();
    fill_to_just_before_the_end(&j, big.len());
    let mut seen = Columns::default();
    late.poll(usize::MAX, &mut seen).unwrap();
    assert_eq!(seen.seq.last().copied(), Some(j.last_seq()));
    let dropped = j.append(7, &big, None).unwrap();
    j.compact(dropped + 1).unwrap();
    let e = late.wait(Duration::from_secs(2), 10, &mut seen);
    assert!(
        matches!(e, Err(Error::Compacted { wanted_seq, first_seq, .. }) if wanted_seq == dropped && first_seq == dropped + 1),
        "{:?}",
        e.map(|_| ())
    );
    assert_eq!(j.append(7, b"after", None).unwrap(), dropped + 1);
    let mut after = Columns::default();
    late.wait(Duration::from_secs(2), 10, &mut after).unwrap();
    assert_eq!(after.seq, vec![dropped + 1]);
}

#[test]
fn reader_from_seq_and_reader_never_writes() {
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 100);
    let before = std::fs::read(&p).unwrap();
    let mut r = JournalReader::open(&p, 40).unwrap();
    let mut got = Columns::default();
    r.poll(usize::MAX, &mut got).unwrap();
    assert_eq!(got.seq, (40..=100).collect::<Vec<_>>());
    assert_eq!(std::fs::read(&p).unwrap(), before);
}

#[test]
fn reader_reports_damage_followed_by_valid_entries() {
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 10);
    let mut img = std::fs::read(&p).unwrap();
    img[4096 + 100] ^= 1;
    std::fs::write(&p, &img).unwrap();
    let mut r = JournalReader::open(&p, 0).unwrap();
    let mut got = Columns::default();
    let mut err = None;
    for _ in 0..50 {
        match r.poll(100, &mut got) {
            Ok(_) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    assert!(matches!(err, Some(Error::Corruption { .. })), "{err:?}");
}

#[test]
fn compaction_while_threads_append_keeps_every_entry_and_the_index_right() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("busy.journal");
    let j = Journal::open(&p, small_opts()).unwrap();
    for i in 1..=2000u64 {
        j.append(7, &payload(i), None).unwrap();
    }
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let seq = j.append(7, &payload(j.next_seq()), None).unwrap();
                assert!(seq > 2000);
                n += 1;
            }
            n
        });
        for round in 1..=20u64 {
            let keep = (round * 100).min(j.next_seq());
            j.compact(keep).unwrap();
            assert_eq!(j.first_seq(), keep);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(writer.join().unwrap() > 0);
    });
    let c = j.read_all(0).unwrap();
    assert_eq!(c.seq, (2000..j.next_seq()).collect::<Vec<_>>());
    assert_eq!(j.entry_count() as usize, c.len());
    for from in [2000, 2001, 2255, 2256, 2600, j.next_seq() - 1] {
        assert_eq!(j.read_all(from).unwrap().seq.first().copied(), Some(from));
    }
    check_payloads_upto_end(&j);
    j.close().unwrap();
    let j = Journal::open(&p, small_opts()).unwrap();
    assert_eq!(j.read_all(0).unwrap().seq, c.seq);
}

fn check_payloads_upto_end(j: &Journal) {
    let c = j.read_all(0).unwrap();
    for i in 0..c.len() {
        assert_eq!(c.payload(i), &payload(c.seq[i])[..], "seq {}", c.seq[i]);
    }
}

/// Large enough for a helper thread to fault the result columns in while they are filled,
/// with a writer appending meanwhile (so the columns may outgrow what was reserved).
#[test]
fn a_large_bulk_read_while_a_writer_appends_returns_every_entry_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path().join("big.journal"), small_opts()).unwrap();
    let payloads: Vec<Vec<u8>> = (1..=400_000u64).map(payload).collect();
    for chunk in payloads.chunks(50_000) {
        j.append_batch(7, &chunk.iter().map(|p| &p[..]).collect::<Vec<_>>(), None).unwrap();
    }
    let c = std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..2_000 {
                j.append(7, &payload(j.next_seq()), None).unwrap();
            }
        });
        j.read_all(0).unwrap()
    });
    assert!(c.len() >= 400_000);
    assert_eq!(c.seq, (1..=c.len() as u64).collect::<Vec<_>>());
    for i in 0..c.len() {
        assert_eq!(c.payload(i), &payload(c.seq[i])[..], "seq {}", c.seq[i]);
    }
    check_payloads_upto_end(&j);
}

/// Snapshots are bound to a journal by its header identity: no compaction (plain or
/// salvaging) and no reopen may change it, and two journals never share one.
#[test]
fn compaction_keeps_the_journal_identity() {
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 10);
    let id = pinnacle_core::read_journal_id(&p).unwrap().expect("new journals have an identity");
    let j = Journal::open(&p, small_opts()).unwrap();
    assert_eq!(j.journal_id(), Some(id));
    j.compact(5).unwrap();
    assert_eq!(j.journal_id(), Some(id));
    j.close().unwrap();
    assert_eq!(pinnacle_core::read_journal_id(&p).unwrap(), Some(id));
    let mut img = std::fs::read(&p).unwrap();
    img[4096 + 100] ^= 0x40; // inside an entry: skip_corrupted salvages around it
    std::fs::write(&p, &img).unwrap();
    let j = Journal::open(&p, mode_opts(RecoveryMode::SkipCorrupted)).unwrap();
    let kept = seqs(&j);
    j.compact(kept[1]).unwrap();
    assert_eq!(j.journal_id(), Some(id));
    j.close().unwrap();
    assert_eq!(Journal::open(&p, small_opts()).unwrap().journal_id(), Some(id));
    let other = Journal::open(dir.path().join("other.journal"), small_opts()).unwrap();
    assert!(other.journal_id().is_some_and(|o| o != id));
}
