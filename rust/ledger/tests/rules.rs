//! Every refusal names its problem, changes nothing and journals nothing; every accepted
//! record moves the state as documented.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

mod common;
use common::*;
use pinnacle_core::{Journal, JournalOptions};
use pinnacle_ledger::*;
use std::sync::Arc;

fn journaled() -> (tempfile::TempDir, Arc<Journal>, JournaledLedger) {
    let dir = tempfile::tempdir().unwrap();
    let j = Arc::new(Journal::open(dir.path().join("ledger.journal"), JournalOptions::default()).unwrap());
    let led = JournaledLedger::new(Ledger::new(), Some(j.clone())).unwrap();
    (dir, j, led)
}

fn refused(led: &JournaledLedger, j: &Journal, op: Op, code: ErrorCode, needle: &str) {
    let (before, seq) = (led.with_state(Ledger::checksum), j.next_seq());
    match led.apply(rec(99, op)) {
        Err(pinnacle_core::WalError::Refused(e)) => {
            assert_eq!(e.code, code, "{e}");
            assert!(e.message.contains(needle), "{:?} lacks {needle:?}", e.message);
        }
        other => panic!("not refused: {other:?}"),
    }
    assert_eq!(led.with_state(Ledger::checksum), before, "a refusal changed the state");
    assert_eq!(j.next_seq(), seq, "a refusal was journaled");
}

#[test]
fn refusals_name_the_problem_change_nothing_and_journal_nothing() {
    let (_d, j, led) = journaled();
    led.apply(rec(1, submit("c-1", Side::Buy, "1", "100"))).unwrap();
    refused(&led, &j, submit("c-1", Side::Buy, "1", "100"), ErrorCode::DuplicateOrder, "c-1");
    refused(&led, &j, submit("c-2", Side::Buy, "0", "100"), ErrorCode::InvalidQuantity, "quantity");
    refused(&led, &j, submit("c-2", Side::Buy, "-1", "100"), ErrorCode::InvalidQuantity, "quantity");
    refused(&led, &j, submit("c-2", Side::Buy, "1", "-5"), ErrorCode::InvalidQuantity, "price");
    refused(&led, &j, submit("", Side::Buy, "1", "5"), ErrorCode::InvalidValue, "client_id");
    refused(&led, &j, fill("nope", "t", "1", "100"), ErrorCode::UnknownOrder, "nope");
    refused(&led, &j, fill("c-1", "t-1", "1.5", "100"), ErrorCode::Overfill, "overfills");
    refused(&led, &j, fill("c-1", "t-1", "0", "100"), ErrorCode::InvalidQuantity, "quantity");
    refused(&led, &j, Op::Cancel { client_id: "zz".into() }, ErrorCode::UnknownOrder, "zz");
    led.apply(rec(2, Op::Cancel { client_id: "c-1".into() })).unwrap();
    refused(&led, &j, fill("c-1", "t-1", "1", "100"), ErrorCode::OrderClosed, "cancelled");
    refused(
        &led,
        &j,
        Op::Ack { client_id: "c-1".into(), exchange_order_id: "9".into() },
        ErrorCode::OrderClosed,
        "closed",
    );
    led.apply(rec(3, Op::Halt { reason: "daily loss".into() })).unwrap();
    refused(&led, &j, submit("c-3", Side::Buy, "1", "100"), ErrorCode::Halted, "daily loss");
    refused(&led, &j, Op::Halt { reason: String::new() }, ErrorCode::InvalidValue, "reason");
    led.apply(rec(4, Op::Resume)).unwrap();
    led.apply(rec(5, submit("c-3", Side::Buy, "1", "100"))).unwrap();
    refused(
        &led,
        &j,
        Op::Balance { exchange: "x".into(), asset: "USDT".into(), total: d("1"), available: d("2") },
        ErrorCode::InvalidValue,
        "exceeds",
    );
    refused(
        &led,
        &j,
        Op::StrategyParams { id: "s".into(), json: "{bad".into() },
        ErrorCode::InvalidValue,
        "JSON",
    );
    assert!(OrderType::parse("iceberg").unwrap_err().message.contains("order_type must be one of"));
    assert!(Side::parse("long").is_err());
}

#[test]
fn a_duplicate_fill_returns_the_recorded_one_and_journals_nothing() {
    let (_d, j, led) = journaled();
    led.apply(rec(1, submit("c-1", Side::Buy, "1", "100"))).unwrap();
    let Outcome::Fill(first, true) = led.apply(rec(2, fill("c-1", "t-9", "0.4", "100"))).unwrap() else {
        panic!()
    };
    let seq = j.next_seq();
    let Outcome::Fill(again, false) = led.apply(rec(3, fill("c-1", "t-9", "0.4", "101"))).unwrap() else {
        panic!()
    };
    assert_eq!(again, first);
    assert_eq!(j.next_seq(), seq);
    led.apply(rec(4, submit("c-2", Side::Buy, "1", "100"))).unwrap();
    let seq = j.next_seq();
    refused(
        &led,
        &j,
        fill("c-2", "t-9", "0.4", "100"),
        ErrorCode::InvalidValue,
        "recorded for order \"c-1\"",
    );
    assert_eq!(j.next_seq(), seq);
    led.with_state(|l| {
        assert_eq!(l.orders["c-1"].filled, d("0.4"));
        assert_eq!(l.orders["c-1"].status, Status::PartiallyFilled);
        assert_eq!(l.fills.len(), 1);
    });
}

#[test]
fn order_lifecycle_positions_fees_balances_config_strategies() {
    let (_d, _j, led) = journaled();
    led.apply(rec(1, submit("c-1", Side::Buy, "2", "100"))).unwrap();
    assert_eq!(led.with_state(|l| l.orders["c-1"].status), Status::Pending);
    led.apply(rec(2, Op::Ack { client_id: "c-1".into(), exchange_order_id: "884".into() })).unwrap();
    assert_eq!(led.with_state(|l| l.orders["c-1"].status), Status::Open);
    led.apply(rec(3, fill("c-1", "t1", "1", "100"))).unwrap();
    led.apply(rec(4, fill("c-1", "t2", "1", "110"))).unwrap();
    led.apply(rec(5, submit("c-2", Side::Sell, "3", "120"))).unwrap();
    led.apply(rec(6, fill("c-2", "t3", "3", "120"))).unwrap();
    led.apply(rec(7, submit("c-3", Side::Buy, "1", "1"))).unwrap();
    led.apply(rec(8, Op::Reject { client_id: "c-3".into(), reason: "margin".into() })).unwrap();
    led.with_state(|l| {
        assert_eq!(l.orders["c-1"].status, Status::Filled);
        assert_eq!(l.orders["c-3"].status, Status::Rejected);
        let p = &l.positions[&("BTC-USD".to_owned(), "binance".to_owned())];
        // long 2 @105, sell 3 @120: realizes 2 × 15 = 30, opens 1 short @120
        assert_eq!((p.quantity, p.avg_price, p.realized_pnl), (d("-1"), d("120"), d("30")));
        assert_eq!(l.realized_pnl, d("30"));
        assert_eq!(l.fees["USDT"], d("0.03"));
        assert!(l.problems(10, 0).is_empty(), "{:?}", l.problems(10, 0));
    });
    led.apply(rec(9, Op::Config { key: "max_position.BTC-USD".into(), value: "2".into() })).unwrap();
    led.apply(rec(10, Op::Config { key: "max_position.BTC-USD".into(), value: "3".into() })).unwrap();
    led.apply(rec(11, Op::StrategyParams { id: "mm-1".into(), json: r#"{"spread_bps":4.0}"#.into() }))
        .unwrap();
    led.apply(rec(12, Op::StrategySignal { id: "mm-1".into() })).unwrap();
    led.apply(rec(
        13,
        Op::Balance { exchange: "binance".into(), asset: "USDT".into(), total: d("10"), available: d("9") },
    ))
    .unwrap();
    led.with_state(|l| {
        assert_eq!((l.config_version, l.config["max_position.BTC-USD"].as_str()), (2, "3"));
        assert_eq!(l.strategies["mm-1"].last_signal_ns, Some(12));
        assert_eq!(l.last_update_ns, 13);
        let marks = [("BTC-USD".to_owned(), d("110"))].into_iter().collect();
        assert_eq!(l.unrealized(&marks), Some(d("10")));
        assert_eq!(l.exposure(&marks), Some((d("110"), d("-110"))));
    });
}

#[test]
fn pruning_bounds_the_window_but_a_pruned_fill_is_still_recognised() {
    let (_d, j, led) = journaled();
    led.apply(rec(1, submit("c-1", Side::Buy, "3", "100"))).unwrap();
    led.apply(rec(10, fill("c-1", "t1", "1", "100"))).unwrap();
    led.apply(rec(20, fill("c-1", "t2", "1", "100"))).unwrap();
    led.apply(rec(30, Op::PruneFills { before_ns: 15 })).unwrap();
    assert_eq!(led.with_state(|l| l.recent_fills().map(|f| f.trade_id.clone()).collect::<Vec<_>>()), ["t2"]);
    let seq = j.next_seq();
    led.apply(rec(31, Op::PruneFills { before_ns: 15 })).unwrap();
    assert!(matches!(led.apply(rec(32, fill("c-1", "t1", "1", "100"))).unwrap(), Outcome::Fill(_, false)));
    assert_eq!(j.next_seq(), seq, "no-op prune and duplicate fill journal nothing");
}

#[test]
fn identifiers_are_refused_blank_overlong_or_with_control_characters() {
    let (_d, j, led) = journaled();
    let long = "x".repeat(pinnacle_ledger::apply::MAX_ID_BYTES + 1);
    for (id, says) in
        [(" ", "must not be blank"), ("a\0b", "control character"), ("a\nb", "control character")]
    {
        refused(&led, &j, submit(id, Side::Buy, "1", "100"), ErrorCode::InvalidValue, says);
    }
    refused(
        &led,
        &j,
        submit(&long, Side::Buy, "1", "100"),
        ErrorCode::InvalidValue,
        "bytes long (at most 256)",
    );
    let longest = "x".repeat(pinnacle_ledger::apply::MAX_ID_BYTES);
    led.apply(rec(1, submit(&longest, Side::Buy, "1", "100"))).unwrap();
    refused(
        &led,
        &j,
        fill(&longest, "\t", "0.4", "100"),
        ErrorCode::InvalidValue,
        "trade_id must not be blank",
    );
}
