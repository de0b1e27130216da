#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails
#![allow(dead_code)]
use pinnacle_ledger::*;

pub fn d(s: &str) -> Dec {
    Dec::parse(s).unwrap()
}

pub fn rec(ts: i64, op: Op) -> LedgerRecord {
    LedgerRecord { ts_ns: ts, op }
}

pub fn submit(id: &str, side: Side, qty: &str, price: &str) -> Op {
    Op::Submit(Submit {
        client_id: id.into(),
        symbol: "BTC-USD".into(),
        exchange: "binance".into(),
        side,
        order_type: OrderType::Limit,
        price: Some(d(price)),
        quantity: d(qty),
        strategy_id: Some("mm-1".into()),
    })
}

pub fn fill(id: &str, trade: &str, qty: &str, price: &str) -> Op {
    Op::Fill(FillIn {
        client_id: id.into(),
        trade_id: trade.into(),
        price: d(price),
        quantity: d(qty),
        fee: d("0.01"),
        fee_asset: "USDT".into(),
    })
}
