//! Replay through the same validate/apply reproduces the state exactly (same checksum),
//! after an abandoned (crashed) journal too; each op lands under its own registered kind.

mod common;
use common::*;
use pinnacle_core::wal::replay;
use pinnacle_core::{kinds, Columns, Journal, JournalOptions, Record};
use pinnacle_ledger::*;
use std::sync::Arc;

#[test]
fn an_abandoned_journal_replays_to_the_same_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.journal");
    let expected = {
        let j = Arc::new(Journal::open(&path, JournalOptions::default()).unwrap());
        let led = JournaledLedger::new(Ledger::new(), Some(j.clone())).unwrap();
        led.apply(rec(1, submit("c-1", Side::Buy, "1", "100"))).unwrap();
        led.apply(rec(2, Op::Ack { client_id: "c-1".into(), exchange_order_id: "e1".into() })).unwrap();
        led.apply(rec(3, fill("c-1", "t1", "0.25", "99.5"))).unwrap();
        led.apply(rec(4, Op::Halt { reason: "limit".into() })).unwrap();
        led.apply(rec(5, Op::StrategyState { id: "s".into(), state: vec![0, 1, 2] })).unwrap();
        let _ = led.apply(rec(6, fill("c-1", "t1", "0.25", "99.5"))); // duplicate: not journaled
        let mut cols = Columns::default();
        j.read_into(1, 100, &mut cols).unwrap();
        assert_eq!(
            cols.kind,
            [
                kinds::LEDGER_ORDER_SUBMIT,
                kinds::LEDGER_ORDER_ACK,
                kinds::LEDGER_FILL_RECEIVED,
                kinds::LEDGER_RISK_HALT,
                kinds::LEDGER_STRATEGY_STATE
            ]
        );
        let sum = led.with_state(Ledger::checksum);
        j.abandon(); // a crash: no close, no sync
        sum
    };
    let j = Journal::open(&path, JournalOptions::default()).unwrap();
    let mut l = Ledger::new();
    assert_eq!(replay(&mut l, &j, 1).unwrap(), 5);
    assert_eq!(l.checksum(), expected);
    assert!(l.risk.halted);
}

#[test]
fn records_round_trip_and_bad_bytes_are_refused() {
    let r = rec(7, submit("c-1", Side::Sell, "0.000000000000000001", "64000.5"));
    let mut b = Vec::new();
    r.encode(&mut b);
    assert_eq!(LedgerRecord::decode(&b).unwrap(), r);
    let mut newer = b.clone();
    newer[0] = RECORD_VERSION + 1;
    let e = LedgerRecord::decode(&newer).unwrap_err();
    assert_eq!(e.code, ErrorCode::Version);
    assert!(e.message.contains("newer"));
    b.push(0);
    assert!(LedgerRecord::decode(&b).unwrap_err().message.contains("trailing"));
    for n in 0..b.len() - 1 {
        assert!(LedgerRecord::decode(&b[..n]).is_err());
    }
}

#[test]
fn the_canonical_encoding_decodes_to_the_same_state_and_refuses_damage() {
    let dir = tempfile::tempdir().unwrap();
    let j = Arc::new(Journal::open(dir.path().join("l.journal"), JournalOptions::default()).unwrap());
    let led = JournaledLedger::new(Ledger::new(), Some(j)).unwrap();
    led.apply(rec(1, submit("c-1", Side::Buy, "2", "100"))).unwrap();
    led.apply(rec(2, fill("c-1", "t1", "1", "100"))).unwrap();
    led.apply(rec(3, Op::Config { key: "k".into(), value: "v".into() })).unwrap();
    led.apply(rec(4, Op::StrategyActive { id: "s".into(), active: true })).unwrap();
    led.apply(rec(5, Op::Halt { reason: "r".into() })).unwrap();
    let mut bytes = Vec::new();
    led.with_state(|l| l.encode_canonical(&mut bytes));
    let back = Ledger::decode_canonical(&bytes).unwrap();
    assert_eq!(led.with_state(|l| l.clone()), back);
    let mut newer = bytes.clone();
    newer[0] = 2;
    assert_eq!(Ledger::decode_canonical(&newer).unwrap_err().code, ErrorCode::Version);
    for n in 0..bytes.len() {
        assert!(Ledger::decode_canonical(&bytes[..n]).is_err());
    }
}
