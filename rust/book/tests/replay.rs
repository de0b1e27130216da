//! Write-ahead `apply` and journal `replay`.

mod common;

use common::{arb_ops, book, int, run, sid};
use pinnacle_book::{ApplyError, BookError, CodecError, Op, OrderBook, Outcome, Side};
use proptest::prelude::*;

/// Applies every op through `apply`, collecting journaled bytes and the outcomes of the
/// journaled ops (an unknown-id cancel is neither journaled nor collected).
fn journal_all(b: &mut OrderBook, ops: &[Op]) -> (Vec<Vec<u8>>, Vec<Outcome>) {
    let mut journal = Vec::new();
    let mut outcomes = Vec::new();
    for op in ops {
        let before = journal.len();
        let r = b.apply(op, |bytes| -> Result<(), ()> {
            journal.push(bytes.to_vec());
            Ok(())
        });
        if let Ok(o) = r {
            if journal.len() > before {
                outcomes.push(o);
            } else {
                assert_eq!(o, Outcome::Cancelled(false), "only an unknown-id cancel skips the journal");
            }
        }
    }
    (journal, outcomes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn replay_reproduces_book_and_outcomes(ops in arb_ops(150)) {
        let mut live = book();
        let (journal, outcomes) = journal_all(&mut live, &ops);
        prop_assert_eq!(journal.len(), outcomes.len());
        let mut replayed = book();
        for (bytes, want) in journal.iter().zip(&outcomes) {
            let got = replayed.replay(bytes);
            prop_assert_eq!(got.as_ref(), Ok(want));
        }
        prop_assert_eq!(&replayed, &live);
        prop_assert_eq!(replayed.depth(usize::MAX), live.depth(usize::MAX));
        prop_assert!(replayed.check_invariants().is_ok());
    }

    #[test]
    fn apply_agrees_with_plain_methods(ops in arb_ops(100)) {
        let mut via_apply = book();
        let mut plain = book();
        for op in &ops {
            let a = via_apply.apply(op, |_| Ok::<(), ()>(()));
            let p = run(&mut plain, op);
            prop_assert_eq!(a.is_ok(), p.is_ok());
            if let (Ok(a), Ok(p)) = (a, p) {
                prop_assert_eq!(a.into_fills(), p);
            }
        }
        prop_assert_eq!(via_apply, plain);
    }

    #[test]
    fn failing_journal_applies_nothing(ops in arb_ops(60)) {
        let mut b = book();
        for op in &ops {
            let before = b.clone();
            let r = b.apply(op, |_| Err("disk full"));
            match r {
                Err(ApplyError::Journal(e)) => prop_assert_eq!(e, "disk full"),
                Err(ApplyError::Book(_)) => {}
                // Cancelling an id that is not resting changes nothing and journals nothing.
                Ok(Outcome::Cancelled(false)) => {}
                Ok(_) => prop_assert!(false, "applied despite journal failure"),
            }
            prop_assert_eq!(&b, &before);
            let _ = run(&mut b, op);
        }
    }
}

#[test]
fn journal_receives_encoded_op() {
    let mut b = book();
    let op = Op::Add { id: sid("x1"), side: Side::Buy, price: 100, qty: 5, ts: 42 };
    let mut seen = Vec::new();
    let out = b
        .apply(&op, |bytes| {
            seen = bytes.to_vec();
            Ok::<(), ()>(())
        })
        .unwrap();
    assert_eq!(out, Outcome::Added(vec![]));
    assert_eq!(seen, op.to_bytes());
    assert_eq!(Op::decode(&seen).unwrap(), op);
    // A cancel of an unknown id changes nothing and is not journaled (issue 11 item 7);
    // an old journal holding one still replays it as a no-op.
    let mut called = false;
    let cancel = Op::Cancel { id: int(9), ts: 43 };
    let out = b
        .apply(&cancel, |_| {
            called = true;
            Ok::<(), ()>(())
        })
        .unwrap();
    assert_eq!(out, Outcome::Cancelled(false));
    assert!(!called, "a cancel of an unknown id was journaled");
    let before = b.clone();
    assert_eq!(b.replay(&cancel.to_bytes()).unwrap(), Outcome::Cancelled(false));
    assert_eq!(b, before);
}

#[test]
fn journal_error_is_reported_and_displayed() {
    let mut b = book();
    let op = Op::Add { id: int(1), side: Side::Sell, price: 10, qty: 1, ts: 1 };
    let err = b.apply(&op, |_| Err(std::io::Error::other("no space"))).unwrap_err();
    assert_eq!(err.to_string(), "journal write failed, op not applied: no space");
    assert!(b.is_empty());
    let err = b
        .apply(&Op::Market { side: Side::Buy, qty: 0, ts: 1 }, |_| Ok::<(), std::io::Error>(()))
        .unwrap_err();
    assert!(matches!(err, ApplyError::Book(BookError::InvalidQuantity { qty: 0 })));
}

#[test]
fn replay_rejects_garbage_without_change() {
    let mut b = book();
    b.add_order(int(1), Side::Buy, 10, 1, 1).unwrap();
    let before = b.clone();
    assert!(matches!(b.replay(&[]), Err(BookError::Codec(CodecError::UnexpectedEnd { .. }))));
    assert!(matches!(b.replay(&[77, 1, 2]), Err(BookError::Codec(CodecError::UnknownOpTag(77)))));
    // A well-formed op that is invalid for the current state.
    let dup = Op::Add { id: int(1), side: Side::Buy, price: 10, qty: 1, ts: 2 }.to_bytes();
    assert!(matches!(b.replay(&dup), Err(BookError::DuplicateId { .. })));
    assert_eq!(b, before);
}

#[test]
fn replay_preserves_time_priority_and_fills() {
    let ops = vec![
        Op::Add { id: int(1), side: Side::Sell, price: 100, qty: 5, ts: 1 },
        Op::Add { id: int(2), side: Side::Sell, price: 100, qty: 5, ts: 2 },
        Op::Modify { id: int(1), price: None, qty: Some(6), ts: 3 },
        Op::Add { id: sid("t"), side: Side::Buy, price: 100, qty: 7, ts: 4 },
        Op::Execute { id: int(1), qty: 1, ts: 5 },
        Op::Market { side: Side::Buy, qty: 2, ts: 6 },
    ];
    let mut live = book();
    let (journal, outcomes) = journal_all(&mut live, &ops);
    assert_eq!(outcomes[3].fills()[0].maker_id, int(2), "modify-up lost priority");
    let mut replayed = book();
    for (bytes, want) in journal.iter().zip(&outcomes) {
        assert_eq!(&replayed.replay(bytes).unwrap(), want);
    }
    assert_eq!(replayed.orders(), live.orders());
    assert_eq!(live.order_count(), 1);
}
