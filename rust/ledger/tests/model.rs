//! Property test: random operation sequences against an independent reference model in
//! exact rationals (num-rational), which applies the ledger's one documented rounding
//! (half-to-even at 18 decimals after the average-cost division and each product). The
//! ledger must accept exactly what the model accepts and end in the same figures; a
//! replay of its journal must end at the same checksum.

mod common;
use common::*;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{Signed, Zero};
use pinnacle_core::wal::replay;
use pinnacle_core::{Journal, JournalOptions, WalError};
use pinnacle_ledger::*;
use proptest::prelude::*;
use proptest::strategy::Strategy as _;
use std::collections::BTreeMap;
use std::sync::Arc;

type Q = BigRational;

fn q_of(d: Dec) -> Q {
    Q::new(BigInt::from(d.mantissa()), BigInt::from(10).pow(18))
}

/// Half-to-even at 18 decimals.
fn round18(x: &Q) -> Q {
    let scale = BigInt::from(10).pow(18);
    let y = x * Q::from_integer(scale.clone());
    let f = y.floor();
    let diff = &y - &f;
    let half = Q::new(1.into(), 2.into());
    let n = if diff > half || (diff == half && (f.to_integer() % 2 != BigInt::zero())) {
        f + Q::from_integer(1.into())
    } else {
        f
    };
    n / Q::from_integer(scale)
}

#[derive(Default)]
struct MOrder {
    buy: bool,
    qty: Q,
    filled: Q,
    closed: bool,
    acked: bool,
}

#[derive(Default)]
struct Model {
    orders: BTreeMap<u8, MOrder>,
    /// trade -> the order it was recorded for.
    trades: BTreeMap<u8, u8>,
    pos_q: Q,
    pos_avg: Q,
    realized: Q,
    fees: Q,
    halted: bool,
}

#[derive(Clone, Debug)]
enum G {
    Submit(u8, bool, u32),
    Fill(u8, u8, u32, u32),
    Cancel(u8),
    Ack(u8),
    Halt,
    Resume,
}

fn gen() -> impl proptest::strategy::Strategy<Value = G> {
    prop_oneof![
        3 => (0u8..8, any::<bool>(), 1u32..500).prop_map(|(i, b, q)| G::Submit(i, b, q)),
        5 => (0u8..8, 0u8..24, 1u32..300, 1u32..100_000).prop_map(|(i, t, q, p)| G::Fill(i, t, q, p)),
        1 => (0u8..8).prop_map(G::Cancel),
        1 => (0u8..8).prop_map(G::Ack),
        1 => Just(G::Halt),
        1 => Just(G::Resume),
    ]
}

/// Quantities in hundredths, prices in ten-thousandths (off-grid values are the
/// caller's to refuse; the ledger is exact whatever the decimals).
fn qd(n: u32) -> Dec {
    Dec::from_mantissa(i128::from(n) * 10_000_000_000_000_000)
}
fn pd(n: u32) -> Dec {
    Dec::from_mantissa(i128::from(n) * 100_000_000_000_000)
}

impl Model {
    /// Whether the model accepts `g` (and applies it if so).
    fn step(&mut self, g: &G) -> bool {
        match *g {
            G::Submit(i, buy, n) => {
                if self.halted || self.orders.contains_key(&i) {
                    return false;
                }
                self.orders.insert(i, MOrder { buy, qty: q_of(qd(n)), ..Default::default() });
                true
            }
            G::Fill(i, t, n, p) => {
                let Some(o) = self.orders.get_mut(&i) else { return false };
                if let Some(&owner) = self.trades.get(&t) {
                    return owner == i; // a re-delivery: accepted, changes nothing; another order's: refused
                }
                let (f, px) = (q_of(qd(n)), q_of(pd(p)));
                if o.closed || &o.filled + &f > o.qty {
                    return false;
                }
                o.filled += &f;
                o.closed = o.filled == o.qty;
                self.trades.insert(t, i);
                self.fees += q_of(d("0.01"));
                let delta = if o.buy { f.clone() } else { -f.clone() };
                let q = self.pos_q.clone();
                if q.is_zero() || q.signum() == delta.signum() {
                    let new_q = &q + &delta;
                    self.pos_avg = round18(&((q.abs() * &self.pos_avg + &f * &px) / new_q.abs()));
                    self.pos_q = new_q;
                } else {
                    let closed = if f < q.abs() { f.clone() } else { q.abs() };
                    let per = if q.is_positive() { &px - &self.pos_avg } else { &self.pos_avg - &px };
                    self.realized += round18(&(closed * per));
                    let new_q = &q + &delta;
                    if new_q.is_zero() {
                        self.pos_avg = Q::zero();
                    } else if new_q.signum() != q.signum() {
                        self.pos_avg = px;
                    }
                    self.pos_q = new_q;
                }
                true
            }
            G::Cancel(i) | G::Ack(i) => {
                let Some(o) = self.orders.get_mut(&i) else { return false };
                if o.closed {
                    return false;
                }
                if matches!(g, G::Ack(_)) {
                    if o.acked {
                        return false;
                    }
                    o.acked = true;
                } else {
                    o.closed = true;
                }
                true
            }
            G::Halt => {
                self.halted = true;
                true
            }
            G::Resume => {
                self.halted = false;
                true
            }
        }
    }
}

fn op_of(g: &G) -> Op {
    let id = |i: u8| format!("c-{i}");
    match *g {
        G::Submit(i, buy, n) => {
            let side = if buy { Side::Buy } else { Side::Sell };
            let Op::Submit(mut s) = submit(&id(i), side, "1", "1") else { unreachable!() };
            s.quantity = qd(n);
            Op::Submit(s)
        }
        G::Fill(i, t, n, p) => {
            let Op::Fill(mut f) = fill(&id(i), &format!("t-{t}"), "1", "1") else { unreachable!() };
            (f.quantity, f.price) = (qd(n), pd(p));
            Op::Fill(f)
        }
        G::Cancel(i) => Op::Cancel { client_id: id(i) },
        G::Ack(i) => Op::Ack { client_id: id(i), exchange_order_id: format!("x-{i}") },
        G::Halt => Op::Halt { reason: "test".into() },
        G::Resume => Op::Resume,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    #[test]
    fn the_ledger_equals_the_rational_model_and_its_replay(ops in proptest::collection::vec(gen(), 1..120)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.journal");
        let j = Arc::new(Journal::open(&path, JournalOptions::default()).unwrap());
        let led = JournaledLedger::new(Ledger::new(), Some(j.clone())).unwrap();
        let mut model = Model::default();
        for (n, g) in ops.iter().enumerate() {
            let want = model.step(g);
            let got = led.apply(rec(n as i64, op_of(g)));
            match got {
                Ok(_) => prop_assert!(want, "ledger accepted what the model refuses: {g:?}"),
                Err(WalError::Refused(e)) => prop_assert!(!want, "ledger refused {g:?}: {e}"),
                Err(e) => panic!("{e}"),
            }
        }
        let sum = led.with_state(|l| {
            let p = l.positions.values().next().cloned().unwrap_or_default();
            assert_eq!(q_of(p.quantity), model.pos_q);
            assert_eq!(q_of(p.avg_price), model.pos_avg);
            assert_eq!(q_of(l.realized_pnl), model.realized);
            assert_eq!(q_of(p.realized_pnl), model.realized);
            assert_eq!(q_of(l.fees.get("USDT").copied().unwrap_or_default()), model.fees);
            for (i, mo) in &model.orders {
                let o = &l.orders[&format!("c-{i}")];
                assert_eq!(q_of(o.filled), mo.filled);
                assert_eq!(o.status.is_closed(), mo.closed);
            }
            assert!(l.problems(i64::MAX / 2, 0).is_empty(), "{:?}", l.problems(i64::MAX / 2, 0));
            l.checksum()
        });
        let mut again = Ledger::new();
        replay(&mut again, &j, 1).unwrap();
        prop_assert_eq!(again.checksum(), sum);
    }
}
