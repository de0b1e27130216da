//! Torn tails at every byte and single-bit flips at every bit, under every recovery mode.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

mod common;

use common::*;
use pinnacle_core::{Error, Journal, RecoveryMode};

const MODES: [RecoveryMode; 4] = [
    RecoveryMode::TolerateTail,
    RecoveryMode::Absolute,
    RecoveryMode::PointInTime,
    RecoveryMode::SkipCorrupted,
];

/// Opens a copy of `image` under `mode`; returns the seqs recovered (or the error).
fn recover(dir: &std::path::Path, image: &[u8], mode: RecoveryMode) -> Result<(Vec<u64>, Journal), Error> {
    let p = dir.join("image.journal");
    let _ = std::fs::remove_file(&p);
    std::fs::write(&p, image).unwrap();
    let j = Journal::open(&p, mode_opts(mode))?;
    Ok((seqs(&j), j))
}

#[test]
fn torn_last_entry_at_every_byte_is_cut_back_to_the_last_complete_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (p, tail) = crashed_journal(dir.path(), 20, 1);
    let image = std::fs::read(&p).unwrap();
    let body_end = tail as usize + 32 + payload(21).len();
    let last_end = body_end.next_multiple_of(8);
    let work = dir.path().join("w");
    std::fs::create_dir(&work).unwrap();
    for cut in tail as usize..last_end {
        // Cut the file (as a crash during growth would), then zero-fill instead.
        let truncated = image[..cut].to_vec();
        let mut zeroed = image.clone();
        zeroed[cut..last_end].fill(0);
        for img in [&truncated, &zeroed] {
            // Zeroing only padding leaves the entry intact (its CRC covers zero padding).
            let intact = std::ptr::eq(img, &zeroed) && cut >= body_end;
            let (got, j) = recover(&work, img, RecoveryMode::TolerateTail).unwrap();
            let r = j.recovery_report();
            if intact {
                assert_eq!(got, (1..=21).collect::<Vec<_>>(), "cut at {cut}");
                assert!(r.is_clean());
                continue;
            }
            assert_eq!(got, (1..=20).collect::<Vec<_>>(), "cut at {cut}");
            assert_eq!(r.tail_cut.is_some(), cut > tail as usize, "cut at {cut}: {}", r.summary());
            // The journal continues from the same sequence numbers.
            assert_eq!(j.append(7, &payload(21), Some(21)).unwrap(), 21);
            j.close().unwrap();
            let again = Journal::open(work.join("image.journal"), small_opts()).unwrap();
            assert_eq!(seqs(&again), (1..=21).collect::<Vec<_>>());
            assert!(again.recovery_report().is_clean(), "second open repairs nothing");
            check_payloads(&again);
            // absolute refuses any damaged tail; a clean cut at an entry boundary is no damage.
            if cut > tail as usize {
                assert!(recover(&work, img, RecoveryMode::Absolute).is_err(), "absolute, cut at {cut}");
            }
        }
    }
}

#[test]
fn every_bit_flip_in_durable_data_is_detected_under_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 4);
    let image = std::fs::read(&p).unwrap();
    let end = 4096 + (1..=4).map(|i| 32 + payload(i).len().next_multiple_of(8)).sum::<usize>();
    let work = dir.path().join("w");
    std::fs::create_dir(&work).unwrap();
    // Entry i spans [starts[i], starts[i+1]).
    let mut starts = vec![4096];
    for i in 1..=4u64 {
        starts.push(starts.last().unwrap() + 32 + payload(i).len().next_multiple_of(8));
    }
    let entry_of =
        |byte: usize| starts.windows(2).position(|w| (w[0]..w[1]).contains(&byte)).unwrap() as u64 + 1;
    let header_bits = (0..64 * 8).chain(512 * 8..576 * 8);
    for bit in header_bits.chain(4096 * 8..end * 8) {
        let mut img = image.clone();
        img[bit / 8] ^= 1 << (bit % 8);
        let byte = bit / 8;
        if byte < 4096 {
            // A damaged header slot: the other slot is used, and the damage reported.
            for mode in MODES {
                let (got, j) = recover(&work, &img, mode).unwrap();
                assert_eq!(got, vec![1, 2, 3, 4], "header bit {bit}");
                assert!(j.recovery_report().header_repaired.is_some() || byte >= 512, "bit {bit}");
            }
            continue;
        }
        let hit = entry_of(byte);
        for mode in MODES {
            let res = recover(&work, &img, mode);
            match mode {
                RecoveryMode::TolerateTail | RecoveryMode::Absolute => {
                    let e = res.err().unwrap_or_else(|| panic!("{mode:?} missed bit {bit}"));
                    assert!(
                        matches!(e, Error::Corruption { offset, .. } if offset == starts[hit as usize - 1] as u64),
                        "{e}"
                    );
                }
                RecoveryMode::PointInTime => {
                    let (got, j) = res.unwrap();
                    assert_eq!(got, (1..hit).collect::<Vec<_>>(), "bit {bit}");
                    assert!(j.recovery_report().tail_cut.is_some());
                }
                RecoveryMode::SkipCorrupted => {
                    let (got, j) = res.unwrap();
                    let r = j.recovery_report();
                    assert!(!got.contains(&hit), "bit {bit}: damaged entry {hit} kept");
                    // A flip in a length field can hide the entries it spans; every
                    // other entry must survive.
                    assert!(got.len() >= 2 || hit == 1, "bit {bit}: only {got:?}");
                    assert!(!r.skipped.is_empty() || r.tail_cut.is_some(), "bit {bit}: nothing reported");
                }
            }
        }
    }
}

#[test]
fn a_hole_in_unsynced_data_is_a_torn_tail_but_below_the_durable_end_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let (p, tail) = crashed_journal(dir.path(), 10, 10);
    let image = std::fs::read(&p).unwrap();
    let work = dir.path().join("w");
    std::fs::create_dir(&work).unwrap();
    // Power loss: an unsynced entry never reached the disk but a later page did.
    let mut holed = image.clone();
    holed[tail as usize + 64..tail as usize + 96].fill(0);
    let (got, j) = recover(&work, &holed, RecoveryMode::TolerateTail).unwrap();
    assert!(got.starts_with(&(1..=10).collect::<Vec<_>>()) && got.len() < 20);
    let r = j.recovery_report();
    assert!(r.dropped_entries > 0, "{}", r.summary());
    drop(j);
    // The same hole inside the durable prefix raises.
    let mut rotten = image.clone();
    rotten[4096 + 64..4096 + 72].fill(0);
    let e = recover(&work, &rotten, RecoveryMode::TolerateTail).err().unwrap();
    assert!(e.to_string().contains("durable"), "{e}");
    // skip_corrupted keeps everything around it.
    let (got, _) = recover(&work, &rotten, RecoveryMode::SkipCorrupted).unwrap();
    assert!(got.len() >= 18, "{got:?}");
}

#[test]
fn a_cut_file_that_lost_durable_entries_is_corruption_under_tolerate_tail() {
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 10);
    let image = std::fs::read(&p).unwrap();
    let work = dir.path().join("w");
    std::fs::create_dir(&work).unwrap();
    let j = Journal::open(&p, small_opts()).unwrap();
    let end = j.data_bytes() as usize;
    j.close().unwrap();
    let cut = &image[..end - 8];
    assert!(recover(&work, cut, RecoveryMode::TolerateTail).is_err());
    let (got, _) = recover(&work, cut, RecoveryMode::PointInTime).unwrap();
    assert_eq!(got, (1..=9).collect::<Vec<_>>());
}

#[test]
fn huge_length_fields_are_rejected_without_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let (p, tail) = crashed_journal(dir.path(), 3, 1);
    let mut image = std::fs::read(&p).unwrap();
    let work = dir.path().join("w");
    std::fs::create_dir(&work).unwrap();
    for len in [u32::MAX, 1 << 31, (1 << 30) + 1] {
        image[tail as usize + 4..tail as usize + 8].copy_from_slice(&len.to_le_bytes());
        let (got, j) = recover(&work, &image, RecoveryMode::TolerateTail).unwrap();
        assert_eq!(got, vec![1, 2, 3]);
        assert!(j.recovery_report().tail_cut.is_some());
    }
}

#[test]
fn damage_in_flushed_but_unsealed_bytes_is_cut_and_reported_not_silent() {
    // flush() is one fdatasync; the header's durable mark catches up at the next sync or
    // close. Damage in between is reported as a cut tail (with the entries it dropped).
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.journal");
    let j = Journal::open(&p, small_opts()).unwrap();
    for i in 1..=10 {
        j.append(7, &payload(i), Some(i as i64)).unwrap();
    }
    j.flush().unwrap();
    j.abandon();
    let mut img = std::fs::read(&p).unwrap();
    img[4096 + 100] ^= 1;
    let work = dir.path().join("w");
    std::fs::create_dir(&work).unwrap();
    let (got, j) = recover(&work, &img, RecoveryMode::TolerateTail).unwrap();
    let r = j.recovery_report();
    assert!(got.len() < 10 && r.tail_cut.is_some() && r.dropped_entries > 0, "{}", r.summary());
}

/// Found by the CLI's verify tests: after point_in_time cut durable data, the header kept
/// its old durable mark, so the next default open refused the file.
#[test]
fn a_cut_below_the_durable_mark_is_recorded_in_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 10);
    let mut img = std::fs::read(&p).unwrap();
    img[4096 + 200] ^= 1;
    std::fs::write(&p, &img).unwrap();
    let j = Journal::open(&p, mode_opts(RecoveryMode::PointInTime)).unwrap();
    let kept = seqs(&j);
    assert!(!kept.is_empty() && kept.len() < 10);
    j.close().unwrap();
    let j = Journal::open(&p, small_opts()).unwrap();
    assert_eq!(seqs(&j), kept);
    assert!(j.recovery_report().is_clean());
    assert_eq!(j.append(7, b"next", None).unwrap(), kept.len() as u64 + 1);
}

#[test]
fn a_creation_temp_file_of_a_dead_process_is_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 1);
    let dead = dir.path().join(".j.journal.new-999999999-5");
    let ours = dir.path().join(format!(".j.journal.new-{}-5", std::process::id()));
    std::fs::write(&dead, b"x").unwrap();
    std::fs::write(&ours, b"x").unwrap();
    drop(Journal::open(&p, small_opts()).unwrap());
    assert!(!dead.exists(), "a dead creator's temp file is stale");
    assert!(ours.exists(), "a live process's temp file may be in use");
}
