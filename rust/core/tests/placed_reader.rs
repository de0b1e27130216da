//! `Journal::reader_from`: a reader placed by the writer's index reads exactly what a
//! reader that scanned from the start reads, including after compaction replaced the file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

mod common;

use common::*;
use pinnacle_core::{Columns, Error, Journal, JournalReader};

fn seqs(r: &mut JournalReader) -> Vec<u64> {
    let mut c = Columns::default();
    while r.poll(1000, &mut c).unwrap() > 0 {}
    c.seq
}

#[test]
fn a_placed_reader_reads_what_a_scanning_reader_reads() {
    let dir = tempfile::tempdir().unwrap();
    let p = sealed_journal(dir.path(), 300);
    let j = Journal::open(&p, small_opts()).unwrap();
    for from in [0, 1, 2, 150, 299, 300, 301, 400] {
        let mut placed = j.reader_from(from).unwrap();
        let mut scanned = JournalReader::open(&p, from).unwrap();
        assert_eq!(placed.next_seq(), scanned.next_seq(), "from {from}");
        j.append(7, b"later", None).unwrap();
        assert_eq!(seqs(&mut placed), seqs(&mut scanned), "from {from}");
    }
    j.compact(200).unwrap();
    let mut placed = j.reader_from(250).unwrap();
    assert_eq!(placed.next_seq(), 250);
    assert_eq!(seqs(&mut placed), (250..=j.last_seq()).collect::<Vec<_>>());
    // Before the oldest entry held: compacted away, as a scanning reader is told.
    assert!(matches!(j.reader_from(5), Err(Error::Compacted { wanted_seq: 5, first_seq: 200, .. })));
    assert!(matches!(
        JournalReader::open(&p, 5),
        Err(Error::Compacted { wanted_seq: 5, first_seq: 200, .. })
    ));
    assert_eq!(j.reader_from(0).unwrap().next_seq(), 200);
    j.close().unwrap();
    assert!(j.reader_from(1).is_err(), "a closed journal places no reader");
}
