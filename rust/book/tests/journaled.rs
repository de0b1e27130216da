//! `JournaledBook`: a journal belongs to one book; snapshots carry the journal's binding.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

use pinnacle_book::{decode_snapshot, EngineError, JournaledBook, Op, OrderBook, OrderId, Side};
use pinnacle_core::{Journal, JournalOptions};
use std::sync::Arc;

fn journal(dir: &std::path::Path) -> Arc<Journal> {
    Arc::new(Journal::open(dir.join("b.journal"), JournalOptions::default()).unwrap())
}

#[test]
fn a_journal_is_claimed_by_one_book_until_it_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(dir.path());
    let a = JournaledBook::new(OrderBook::new("X").unwrap(), Some(j.clone())).unwrap();
    assert!(j.is_claimed());
    let b = JournaledBook::new(OrderBook::new("X").unwrap(), None).unwrap();
    assert!(matches!(b.attach(j.clone()), Err(EngineError::JournalTaken)));
    assert!(matches!(
        JournaledBook::new(OrderBook::new("X").unwrap(), Some(j.clone())),
        Err(EngineError::JournalTaken)
    ));
    drop(a);
    assert!(!j.is_claimed());
    b.attach(j.clone()).unwrap();
}

#[test]
fn unknown_cancels_are_not_journaled_and_snapshots_carry_the_binding() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(dir.path());
    let book = JournaledBook::new(OrderBook::new("X").unwrap(), Some(j.clone())).unwrap();
    let add = Op::Add { id: OrderId::Int(1), side: Side::Buy, price: 100, qty: 1, ts: 1 };
    book.apply(add).unwrap();
    for ts in 0..10 {
        book.apply(Op::Cancel { id: OrderId::Int(99), ts }).unwrap();
    }
    assert_eq!(j.last_seq(), 1);
    let (bytes, covered) = book.snapshot_bytes(5, "0.01", "1").unwrap();
    let (_, meta) = decode_snapshot(&bytes).unwrap();
    let binding = meta.binding.unwrap();
    assert_eq!((covered, binding.journal_id), (1, j.journal_id().unwrap()));
    assert_eq!((binding.tick_size.as_str(), binding.lot_size.as_str()), ("0.01", "1"));
    assert!(book.snapshot_bytes(5, "1e-2", "1").is_err());
}
