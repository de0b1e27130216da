//! Replay through the same validate/apply reproduces the state exactly (same checksum),
//! after an abandoned (crashed) journal too; each op lands under its own registered kind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

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

#[test]
fn a_snapshot_round_trips_and_refuses_damage_and_newer_versions() {
    use pinnacle_ledger::snapshot::{decode_snapshot, encode_snapshot, peek_header};
    let mut l = Ledger::new();
    replay_ops(&mut l);
    let bytes = encode_snapshot(&l, 42, 7, 99);
    let (h, back) = decode_snapshot(&bytes).unwrap();
    assert_eq!((h.journal_id, h.covered_seq, h.created_ns), (42, 7, 99));
    assert_eq!(back.checksum(), l.checksum());
    assert_eq!(peek_header(&bytes).unwrap(), h);
    for i in [0, 9, 20, 60, bytes.len() - 1] {
        let mut bad = bytes.clone();
        bad[i] ^= 1;
        assert!(decode_snapshot(&bad).is_err(), "flip at {i} accepted");
    }
    for n in 0..bytes.len() {
        assert!(decode_snapshot(&bytes[..n]).is_err());
    }
    let mut newer = bytes.clone();
    newer[8] = 2;
    assert_eq!(decode_snapshot(&newer).unwrap_err().code, ErrorCode::Version);
}

fn replay_ops(l: &mut Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let j = Arc::new(Journal::open(dir.path().join("s.journal"), JournalOptions::default()).unwrap());
    let led = JournaledLedger::new(Ledger::new(), Some(j.clone())).unwrap();
    led.apply(rec(1, submit("c-1", Side::Buy, "2", "100"))).unwrap();
    led.apply(rec(2, fill("c-1", "t1", "1", "100"))).unwrap();
    led.apply(rec(
        3,
        Op::Balance { exchange: "e".into(), asset: "USDT".into(), total: d("5"), available: d("1") },
    ))
    .unwrap();
    drop(led);
    replay(l, &j, 1).unwrap();
}

#[test]
fn a_past_state_is_the_replay_up_to_a_seq_or_a_time() {
    use pinnacle_ledger::history::replay_until;
    let dir = tempfile::tempdir().unwrap();
    let j = Arc::new(Journal::open(dir.path().join("h.journal"), JournalOptions::default()).unwrap());
    let led = JournaledLedger::new(Ledger::new(), Some(j.clone())).unwrap();
    let mut sums = vec![Ledger::new().checksum()];
    for (i, op) in [submit("c", Side::Buy, "3", "10"), fill("c", "t1", "1", "10"), fill("c", "t2", "1", "11")]
        .into_iter()
        .enumerate()
    {
        led.apply(rec(100 * (i as i64 + 1), op)).unwrap();
        sums.push(led.with_state(Ledger::checksum));
    }
    for (seq, want) in sums.iter().enumerate() {
        let mut l = Ledger::new();
        replay_until(&mut l, &j, 1, seq as u64, i64::MAX).unwrap();
        assert_eq!(l.checksum(), *want, "seq {seq}");
        let mut by_time = Ledger::new();
        replay_until(&mut by_time, &j, 1, u64::MAX, 100 * seq as i64 + 50).unwrap();
        assert_eq!(by_time.checksum(), *want, "time {seq}");
    }
}
