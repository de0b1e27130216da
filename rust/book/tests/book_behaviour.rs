//! Example-based tests of matching, cancel, execute, modify and errors.

mod common;

use common::{book, int, run, sid};
use pinnacle_book::{ApplyError, BookError, Fill, Op, OrderBook, OrderId, Side};

fn fill(maker: OrderId, taker: Option<OrderId>, side: Side, price: i64, qty: i64, ts: i64) -> Fill {
    Fill { maker_id: maker, taker_id: taker, side, price, quantity: qty, timestamp_ns: ts }
}

fn ids(b: &OrderBook) -> Vec<OrderId> {
    b.orders().into_iter().map(|o| o.id).collect()
}

#[test]
fn price_then_time_priority() {
    let mut b = book();
    b.add_order(int(1), Side::Sell, 101, 5, 1).unwrap();
    b.add_order(int(2), Side::Sell, 100, 5, 2).unwrap();
    b.add_order(int(3), Side::Sell, 100, 5, 3).unwrap();
    b.add_order(int(4), Side::Sell, 99, 5, 4).unwrap();
    let fills = b.add_order(int(9), Side::Buy, 100, 12, 10).unwrap();
    assert_eq!(
        fills,
        vec![
            fill(int(4), Some(int(9)), Side::Sell, 99, 5, 10),
            fill(int(2), Some(int(9)), Side::Sell, 100, 5, 10),
            fill(int(3), Some(int(9)), Side::Sell, 100, 2, 10),
        ]
    );
    assert_eq!(b.best_ask(), Some((100, 3)));
    assert_eq!(b.best_bid(), None, "taker fully filled, nothing rests");
    assert_eq!(ids(&b), vec![int(3), int(1)]);
    b.check_invariants().unwrap();
}

#[test]
fn partial_fill_of_taker_rests_remainder() {
    let mut b = book();
    b.add_order(int(1), Side::Buy, 100, 4, 1).unwrap();
    let fills = b.add_order(sid("s"), Side::Sell, 99, 10, 2).unwrap();
    assert_eq!(fills, vec![fill(int(1), Some(sid("s")), Side::Buy, 100, 4, 2)]);
    let o = b.get_order(&sid("s")).unwrap();
    assert_eq!((o.price, o.quantity, o.filled, o.remaining(), o.timestamp_ns), (99, 10, 4, 6, 2));
    assert_eq!(b.best_ask(), Some((99, 6)));
    assert_eq!(b.best_bid(), None);
    assert!(b.get_order(&int(1)).is_none());
}

#[test]
fn partial_fill_of_maker_keeps_priority() {
    let mut b = book();
    b.add_order(int(1), Side::Buy, 100, 10, 1).unwrap();
    b.add_order(int(2), Side::Buy, 100, 10, 2).unwrap();
    b.add_order(int(3), Side::Sell, 100, 3, 3).unwrap();
    let o = b.get_order(&int(1)).unwrap();
    assert_eq!((o.filled, o.remaining()), (3, 7));
    assert_eq!(ids(&b), vec![int(1), int(2)]);
    assert_eq!(b.depth(5).0, vec![(100, 17, 2)]);
}

#[test]
fn non_crossing_limit_rests() {
    let mut b = book();
    b.add_order(int(1), Side::Sell, 101, 5, 1).unwrap();
    assert!(b.add_order(int(2), Side::Buy, 100, 5, 2).unwrap().is_empty());
    assert_eq!(b.best_bid(), Some((100, 5)));
    assert_eq!(b.best_ask(), Some((101, 5)));
}

#[test]
fn market_order_walks_levels_and_drops_unfilled() {
    let mut b = book();
    b.add_order(int(1), Side::Buy, 100, 5, 1).unwrap();
    b.add_order(int(2), Side::Buy, 99, 5, 2).unwrap();
    b.add_order(int(3), Side::Buy, 98, 5, 3).unwrap();
    let fills = b.execute_market_order(Side::Sell, 12, 7).unwrap();
    assert_eq!(
        fills,
        vec![
            fill(int(1), None, Side::Buy, 100, 5, 7),
            fill(int(2), None, Side::Buy, 99, 5, 7),
            fill(int(3), None, Side::Buy, 98, 2, 7),
        ]
    );
    assert_eq!(b.best_bid(), Some((98, 3)));
    let fills = b.execute_market_order(Side::Sell, 100, 8).unwrap();
    assert_eq!(fills.iter().map(|f| f.quantity).sum::<i64>(), 3);
    assert!(b.is_empty());
    assert!(b.execute_market_order(Side::Sell, 1, 9).unwrap().is_empty());
    assert!(b.execute_market_order(Side::Buy, 1, 9).unwrap().is_empty());
    assert_eq!(b.level_count(Side::Buy), 0);
}

#[test]
fn cancel_in_middle_of_level() {
    let mut b = book();
    for i in 1..=5 {
        b.add_order(int(i), Side::Sell, 100, i as i64, i as i64).unwrap();
    }
    assert!(b.cancel_order(&int(3)).unwrap());
    assert!(!b.cancel_order(&int(3)).unwrap());
    assert_eq!(b.depth(1).1, vec![(100, 1 + 2 + 4 + 5, 4)]);
    assert_eq!(ids(&b), vec![int(1), int(2), int(4), int(5)]);
    // Head and tail cancels keep the list consistent.
    assert!(b.cancel_order(&int(1)).unwrap());
    assert!(b.cancel_order(&int(5)).unwrap());
    assert_eq!(ids(&b), vec![int(2), int(4)]);
    b.check_invariants().unwrap();
    let fills = b.execute_market_order(Side::Buy, 6, 9).unwrap();
    assert_eq!(fills.iter().map(|f| f.maker_id.clone()).collect::<Vec<_>>(), vec![int(2), int(4)]);
    assert_eq!(b.level_count(Side::Sell), 0);
    assert!(!b.cancel_order(&sid("nope")).unwrap());
}

#[test]
fn execute_order_partial_full_and_errors() {
    let mut b = book();
    b.add_order(int(1), Side::Buy, 100, 10, 1).unwrap();
    assert_eq!(b.execute_order(&int(1), 4, 5).unwrap(), fill(int(1), None, Side::Buy, 100, 4, 5));
    assert_eq!(b.best_bid(), Some((100, 6)));
    let err = b.execute_order(&int(1), 7, 6).unwrap_err();
    assert!(matches!(err, BookError::Overfill { requested: 7, remaining: 6, .. }), "{err}");
    assert!(matches!(b.execute_order(&int(1), 0, 6), Err(BookError::InvalidQuantity { qty: 0 })));
    assert!(matches!(b.execute_order(&int(2), 1, 6), Err(BookError::UnknownOrder { .. })));
    b.execute_order(&int(1), 6, 7).unwrap();
    assert!(b.is_empty());
    assert_eq!(b.best_bid(), None);
}

#[test]
fn modify_reduce_keeps_priority_and_timestamp() {
    let mut b = book();
    b.add_order(int(1), Side::Buy, 100, 10, 1).unwrap();
    b.add_order(int(2), Side::Buy, 100, 10, 2).unwrap();
    b.execute_order(&int(1), 2, 3).unwrap();
    b.modify_order(&int(1), None, Some(5), 4).unwrap();
    let o = b.get_order(&int(1)).unwrap();
    assert_eq!((o.quantity, o.filled, o.remaining(), o.timestamp_ns), (7, 2, 5, 1));
    assert_eq!(ids(&b), vec![int(1), int(2)]);
    assert_eq!(b.best_bid(), Some((100, 15)));
    // Same price given explicitly and unchanged quantity: no-op.
    b.modify_order(&int(1), Some(100), Some(5), 5).unwrap();
    assert_eq!(ids(&b), vec![int(1), int(2)]);
    assert_eq!(b.get_order(&int(1)).unwrap().timestamp_ns, 1);
}

#[test]
fn modify_increase_or_price_change_loses_priority() {
    let mut b = book();
    b.add_order(int(1), Side::Sell, 100, 10, 1).unwrap();
    b.add_order(int(2), Side::Sell, 100, 10, 2).unwrap();
    b.add_order(int(3), Side::Sell, 101, 10, 3).unwrap();
    b.modify_order(&int(1), None, Some(11), 4).unwrap();
    assert_eq!(ids(&b), vec![int(2), int(1), int(3)]);
    assert_eq!(b.get_order(&int(1)).unwrap().timestamp_ns, 4);
    assert_eq!(b.depth(2).1, vec![(100, 21, 2), (101, 10, 1)]);
    // Price change: back of the new level, old level shrinks.
    b.modify_order(&int(2), Some(101), None, 5).unwrap();
    assert_eq!(ids(&b), vec![int(1), int(3), int(2)]);
    assert_eq!(b.depth(2).1, vec![(100, 11, 1), (101, 20, 2)]);
    // Moving the last order of a level removes the level.
    b.modify_order(&int(1), Some(102), Some(1), 6).unwrap();
    assert_eq!(b.depth(5).1, vec![(101, 20, 2), (102, 1, 1)]);
    b.check_invariants().unwrap();
}

#[test]
fn modify_errors() {
    let mut b = book();
    b.add_order(int(1), Side::Buy, 100, 10, 1).unwrap();
    b.add_order(int(2), Side::Sell, 105, 10, 2).unwrap();
    let before = b.clone();
    let crossing = b.modify_order(&int(1), Some(105), None, 3).unwrap_err();
    assert!(matches!(crossing, BookError::CrossingModify { opposite_best: 105, .. }), "{crossing}");
    assert!(b.modify_order(&int(2), Some(100), None, 3).is_err());
    assert!(matches!(b.modify_order(&int(1), None, None, 3), Err(BookError::EmptyModify { .. })));
    assert!(matches!(b.modify_order(&int(1), None, Some(0), 3), Err(BookError::InvalidQuantity { .. })));
    assert!(matches!(b.modify_order(&int(1), Some(-5), None, 3), Err(BookError::InvalidPrice { .. })));
    assert!(matches!(b.modify_order(&int(9), Some(99), None, 3), Err(BookError::UnknownOrder { .. })));
    assert_eq!(b, before);
    b.modify_order(&int(1), Some(104), None, 3).unwrap();
    assert_eq!(b.best_bid(), Some((104, 10)));
}

#[test]
fn duplicate_ids_and_id_kinds() {
    let mut b = book();
    b.add_order(int(5), Side::Buy, 100, 1, 1).unwrap();
    b.add_order(sid("5"), Side::Buy, 100, 1, 2).unwrap();
    let err = b.add_order(sid("5"), Side::Sell, 200, 1, 3).unwrap_err();
    assert_eq!(err.to_string(), "order id '5' already exists in BTC-USD");
    let err = b.add_order(int(5), Side::Sell, 200, 1, 3).unwrap_err();
    assert_eq!(err.to_string(), "order id 5 already exists in BTC-USD");
    assert_eq!(b.order_count(), 2);
    // An id that traded away completely can be reused.
    b.add_order(int(7), Side::Sell, 100, 2, 4).unwrap();
    assert!(b.get_order(&int(7)).is_none());
    b.add_order(int(7), Side::Sell, 101, 1, 5).unwrap();
    assert_eq!(b.get_order(&int(7)).unwrap().price, 101);
}

#[test]
fn every_error_leaves_book_unchanged() {
    let mut b = book();
    b.add_order(int(1), Side::Buy, 100, 10, 1).unwrap();
    b.add_order(int(2), Side::Buy, 99, 10, 2).unwrap();
    b.add_order(sid("a"), Side::Sell, 102, 10, 3).unwrap();
    b.add_order(sid("b"), Side::Sell, 102, i64::MAX - 20, 4).unwrap();
    b.execute_order(&int(1), 3, 5).unwrap();
    let before = b.clone();
    let (orders, depth) = (b.orders(), b.depth(10));
    let failing = [
        Op::Add { id: int(3), side: Side::Buy, price: 0, qty: 1, ts: 9 },
        Op::Add { id: int(3), side: Side::Buy, price: 101, qty: -1, ts: 9 },
        Op::Add { id: int(1), side: Side::Sell, price: 90, qty: 1, ts: 9 },
        Op::Add { id: sid("a"), side: Side::Buy, price: 102, qty: 1, ts: 9 },
        Op::Add { id: int(3), side: Side::Sell, price: 102, qty: 100, ts: 9 },
        Op::Execute { id: int(1), qty: 8, ts: 9 },
        Op::Execute { id: int(1), qty: -1, ts: 9 },
        Op::Execute { id: int(42), qty: 1, ts: 9 },
        Op::Market { side: Side::Buy, qty: 0, ts: 9 },
        Op::Modify { id: int(1), price: Some(102), qty: None, ts: 9 },
        Op::Modify { id: sid("a"), price: Some(99), qty: Some(1), ts: 9 },
        Op::Modify { id: sid("a"), price: None, qty: Some(100), ts: 9 },
        Op::Modify { id: int(1), price: None, qty: Some(i64::MAX), ts: 9 },
        Op::Modify { id: int(1), price: None, qty: None, ts: 9 },
        Op::Modify { id: sid("zz"), price: None, qty: Some(1), ts: 9 },
    ];
    for op in &failing {
        let err = run(&mut b, op);
        assert!(err.is_err(), "{op:?} should fail");
        assert_eq!(b.orders(), orders, "{op:?}");
        assert_eq!(b.depth(10), depth, "{op:?}");
        assert_eq!(b, before);
        // The write-ahead path rejects it before journaling.
        let mut journaled = false;
        let r = b.apply(op, |_| -> Result<(), ()> {
            journaled = true;
            Ok(())
        });
        assert!(matches!(r, Err(ApplyError::Book(_))) && !journaled, "{op:?}");
        assert_eq!(b, before);
    }
    b.check_invariants().unwrap();
}

#[test]
fn quantity_overflow_is_rejected() {
    let mut b = book();
    b.add_order(int(1), Side::Buy, 100, i64::MAX - 1, 1).unwrap();
    let before = b.clone();
    assert!(matches!(b.add_order(int(2), Side::Buy, 100, 2, 2), Err(BookError::QuantityOverflow { .. })));
    assert_eq!(b, before);
    b.add_order(int(3), Side::Buy, 99, 2, 2).unwrap();
    assert!(matches!(b.modify_order(&int(3), Some(100), None, 3), Err(BookError::QuantityOverflow { .. })));
    b.execute_order(&int(1), 5, 4).unwrap();
    // filled (5) + new remaining (i64::MAX) overflows the original quantity.
    assert!(matches!(
        b.modify_order(&int(1), None, Some(i64::MAX), 5),
        Err(BookError::QuantityOverflow { .. })
    ));
    b.cancel_order(&int(3)).unwrap();
    b.modify_order(&int(1), None, Some(i64::MAX - 5), 6).unwrap();
    assert_eq!(b.best_bid(), Some((100, i64::MAX - 5)));
    b.check_invariants().unwrap();
}

#[test]
fn ids_and_symbols_are_validated() {
    assert!(OrderId::string("").is_err());
    assert!(OrderId::string(&"x".repeat(64)).is_ok());
    assert!(matches!(OrderId::string(&"x".repeat(65)), Err(BookError::InvalidId { len: 65 })));
    assert!(OrderId::try_from("é").is_ok());
    assert!(OrderBook::new("").is_err());
    assert!(OrderBook::new(&"S".repeat(65)).is_err());
    assert_eq!(OrderBook::new("ETH").unwrap().symbol(), "ETH");
}

#[test]
fn queries() {
    let mut b = book();
    for (i, p) in [100, 100, 99, 98, 97].into_iter().enumerate() {
        b.add_order(int(i as u64), Side::Buy, p, 1 + i as i64, i as i64).unwrap();
    }
    b.add_order(sid("a1"), Side::Sell, 105, 3, 10).unwrap();
    b.add_order(sid("a2"), Side::Sell, 103, 4, 11).unwrap();
    let (bids, asks) = b.depth(3);
    assert_eq!(bids, vec![(100, 3, 2), (99, 3, 1), (98, 4, 1)]);
    assert_eq!(asks, vec![(103, 4, 1), (105, 3, 1)]);
    assert_eq!(b.level_count(Side::Buy), 4);
    assert_eq!(b.level_count(Side::Sell), 2);
    assert_eq!(b.order_count(), 7);
    assert_eq!(b.level_orders(Side::Buy, 100).len(), 2);
    assert!(b.level_orders(Side::Sell, 100).is_empty());
    assert_eq!(ids(&b)[5..], [sid("a2"), sid("a1")]);
    assert!(b.contains(&sid("a1")));
    assert!(!b.contains(&sid("a3")));
}
