//! Time: a new record stamped past the clock's tolerance is refused; a state whose
//! timestamps run ahead of the clock is sound (a clock stepped back), only warned of.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

mod common;
use common::*;
use pinnacle_ledger::*;

#[test]
fn a_record_past_the_tolerance_is_not_fresh() {
    let now = 1_000_000_000_000;
    assert!(rec(now + FUTURE_TOLERANCE_NS, submit("a", Side::Buy, "1", "1")).check_fresh(now).is_ok());
    let e =
        rec(now + FUTURE_TOLERANCE_NS + 1, submit("a", Side::Buy, "1", "1")).check_fresh(now).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidValue);
    assert!(e.message.contains("future"), "{}", e.message);
    assert!(rec(i64::MAX, Op::Resume).check_fresh(i64::MAX).is_ok(), "no overflow at the top");
}

#[test]
fn future_timestamps_are_apart_from_the_state_problems() {
    let led = JournaledLedger::new(Ledger::new(), None).unwrap();
    led.apply(rec(5_000, submit("a", Side::Buy, "1", "1"))).unwrap();
    led.with_state(|l| {
        assert!(l.state_problems().is_empty());
        let future = l.future_timestamps(1_000, 0);
        assert_eq!(future.len(), 2, "{future:?}"); // the order and the last update
        assert_eq!(l.problems(1_000, 0), future);
        assert!(l.future_timestamps(5_000, 0).is_empty());
    });
}
