//! tardis.dev `incremental_book_L2` CSV rows:
//! `exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount` (µs times,
//! absolute amounts). Rows sharing `local_timestamp` form one message (engine.rs).

use crate::book::Side;
use crate::Error;

pub const HEADER_PREFIX: &[u8] = b"exchange,symbol,";

pub struct Row<'a> {
    pub symbol: &'a str,
    pub timestamp_us: i64,
    pub local_us: i64,
    pub is_snapshot: bool,
    pub side: Side,
    pub price: &'a str,
    pub amount: &'a str,
}

pub fn parse(line: &[u8]) -> Result<Row<'_>, Error> {
    let text = std::str::from_utf8(line).map_err(|_| Error::Data("row is not UTF-8".into()))?;
    let mut it = text.split(',');
    let mut field = |name: &str| it.next().ok_or_else(|| Error::Data(format!("row has no {name} column")));
    let _exchange = field("exchange")?;
    let symbol = field("symbol")?;
    let ts = field("timestamp")?;
    let local = field("local_timestamp")?;
    let snap = field("is_snapshot")?;
    let side = field("side")?;
    let price = field("price")?;
    let amount = field("amount")?;
    if it.next().is_some() {
        return Err(Error::Data("row has more than 8 columns".into()));
    }
    let int = |s: &str, name: &str| {
        s.parse::<i64>().map_err(|_| Error::Data(format!("{name} {s:?} is not an integer")))
    };
    Ok(Row {
        symbol,
        timestamp_us: int(ts, "timestamp")?,
        local_us: int(local, "local_timestamp")?,
        is_snapshot: match snap {
            "true" => true,
            "false" => false,
            other => return Err(Error::Data(format!("is_snapshot {other:?} is not true/false"))),
        },
        side: match side {
            "bid" => Side::Bid,
            "ask" => Side::Ask,
            other => return Err(Error::Data(format!("side {other:?} is not bid/ask"))),
        },
        price,
        amount,
    })
}
