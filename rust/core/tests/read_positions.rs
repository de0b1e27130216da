//! Where reads start: a saved position past the end, a position compaction removed, and
//! timeouts and sizes no read may panic or abort on.

mod common;

use common::*;
use pinnacle_core::{Columns, Error, Journal, JournalReader};
use std::time::Duration;

#[test]
fn a_reader_resuming_past_the_end_returns_only_entries_from_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 10);
    let j = Journal::open(&p, small_opts()).unwrap();
    let mut r = JournalReader::open(&p, 50).unwrap();
    assert_eq!(r.next_seq(), 50);
    for i in 11..=15 {
        j.append(7, &payload(i), None).unwrap();
    }
    let mut got = Columns::default();
    assert_eq!(r.poll(usize::MAX, &mut got).unwrap(), 0);
    assert!(got.is_empty(), "returned seqs {:?}", got.seq);
    assert_eq!(r.next_seq(), 50);
    for i in 16..=52 {
        j.append(7, &payload(i), None).unwrap();
    }
    assert_eq!(r.poll(usize::MAX, &mut got).unwrap(), 3);
    assert_eq!(got.seq, vec![50, 51, 52]);
    assert_eq!(got.payload(0), &payload(50)[..]);
    assert_eq!(r.next_seq(), 53);
}

#[test]
fn a_reader_waiting_for_a_later_position_is_not_disturbed_by_compaction_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 10);
    let j = Journal::open(&p, small_opts()).unwrap();
    let mut r = JournalReader::open(&p, 30).unwrap();
    for i in 11..=20 {
        j.append(7, &payload(i), None).unwrap();
    }
    j.compact(20).unwrap();
    for i in 21..=31 {
        j.append(7, &payload(i), None).unwrap();
    }
    let mut got = Columns::default();
    r.poll(usize::MAX, &mut got).unwrap();
    r.poll(usize::MAX, &mut got).unwrap();
    assert_eq!(got.seq, vec![30, 31]);
}

#[test]
fn reading_from_a_compacted_position_is_an_error_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 100);
    let j = Journal::open(&p, small_opts()).unwrap();
    assert_eq!(j.compact(40).unwrap(), 39);
    let compacted =
        |r: Result<usize, Error>| matches!(r, Err(Error::Compacted { wanted_seq: 1, first_seq: 40, .. }));
    assert!(compacted(j.read_into(1, 10, &mut Columns::default())));
    assert!(compacted(j.read_all(1).map(|c| c.len())));
    assert!(compacted(JournalReader::open(&p, 1).map(|r| r.next_seq() as usize)));
    assert!(matches!(j.read_all(39), Err(Error::Compacted { wanted_seq: 39, .. })));
    // 0 means "from the oldest entry held"; the first held seq itself is fine.
    assert_eq!(j.read_all(0).unwrap().seq, (40..=100).collect::<Vec<_>>());
    assert_eq!(j.read_all(40).unwrap().len(), 61);
    let mut c = Columns::default();
    assert_eq!(j.read_into(40, 1, &mut c).unwrap(), 1);
    assert_eq!(c.seq, vec![40]);
    let mut r = JournalReader::open(&p, 0).unwrap();
    assert_eq!(r.next_seq(), 40);
    assert_eq!(r.poll(usize::MAX, &mut Columns::default()).unwrap(), 61);
    // Compacting everything: the journal starts at its next seq.
    j.compact(j.next_seq()).unwrap();
    assert!(matches!(j.read_all(100), Err(Error::Compacted { first_seq: 101, .. })));
    assert!(j.read_all(101).unwrap().is_empty());
    assert!(JournalReader::open(&p, 101).is_ok());
}

#[test]
fn a_wait_longer_than_the_clock_can_hold_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 3);
    let mut r = JournalReader::open(&p, 0).unwrap();
    let mut got = Columns::default();
    assert_eq!(r.wait(Duration::MAX, 10, &mut got).unwrap(), 3);
    // Nothing is there yet: the wait returns when an entry arrives.
    let j = Journal::open(&p, small_opts()).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(20));
            j.append(7, &payload(4), None).unwrap();
        });
        let mut more = Columns::default();
        assert_eq!(r.wait(Duration::MAX, 10, &mut more).unwrap(), 1);
        assert_eq!(more.seq, vec![4]);
    });
}

#[test]
fn columns_too_large_to_reserve_are_an_error_not_an_abort() {
    let e = Columns::try_with_capacity(usize::MAX / 4, 0).unwrap_err();
    assert!(matches!(e, Error::OutOfMemory { .. }), "{e:?}");
    let e = Columns::try_with_capacity(0, usize::MAX / 2).unwrap_err();
    assert!(e.to_string().starts_with("out of memory: cannot allocate"), "{e}");
}
