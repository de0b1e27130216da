//! Property tests: the book agrees with a naive model on every op, keeps its
//! internal invariants, and is left unchanged by every rejected op.

mod common;

use common::{arb_ops, book, run, Model};
use pinnacle_book::{Order, Side};
use proptest::prelude::*;

/// Level aggregates recomputed from the order list.
fn levels_from_orders(orders: &[Order], side: Side) -> Vec<(i64, i64, usize)> {
    let mut out: Vec<(i64, i64, usize)> = Vec::new();
    for o in orders.iter().filter(|o| o.side == side) {
        match out.last_mut() {
            Some(l) if l.0 == o.price => {
                l.1 += o.remaining();
                l.2 += 1;
            }
            _ => out.push((o.price, o.remaining(), 1)),
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn book_matches_naive_model(ops in arb_ops(120)) {
        let mut b = book();
        let mut m = Model::default();
        for op in &ops {
            let before = b.clone();
            let got = run(&mut b, op);
            let want = m.apply(op);
            match (&got, &want) {
                (Ok(f), Ok(g)) => prop_assert_eq!(f, g, "fills differ for {:?}", op),
                (Err(_), Err(())) => prop_assert_eq!(&b, &before, "error mutated book: {:?}", op),
                _ => prop_assert!(false, "book {:?} vs model {:?} for {:?}", got, want, op),
            }
            prop_assert_eq!(b.orders(), m.orders(), "after {:?}", op);
            if let Err(e) = b.check_invariants() {
                prop_assert!(false, "invariant broken after {:?}: {}", op, e);
            }
        }
    }

    #[test]
    fn level_totals_equal_sum_of_remaining(ops in arb_ops(150)) {
        let mut b = book();
        for op in &ops {
            let _ = run(&mut b, op);
        }
        let orders = b.orders();
        let (bids, asks) = b.depth(usize::MAX);
        prop_assert_eq!(bids, levels_from_orders(&orders, Side::Buy));
        prop_assert_eq!(asks, levels_from_orders(&orders, Side::Sell));
        prop_assert_eq!(b.order_count(), orders.len());
        prop_assert_eq!(b.level_count(Side::Buy) + b.level_count(Side::Sell),
            levels_from_orders(&orders, Side::Buy).len() + levels_from_orders(&orders, Side::Sell).len());
        prop_assert_eq!(b.best_bid(), levels_from_orders(&orders, Side::Buy).first().map(|l| (l.0, l.1)));
        prop_assert_eq!(b.best_ask(), levels_from_orders(&orders, Side::Sell).first().map(|l| (l.0, l.1)));
        for o in &orders {
            prop_assert_eq!(b.get_order(&o.id), Some(o.clone()));
        }
    }
}
