//! Binance diff-depth JSON lines: `depthUpdate` events (spot: `U`/`u`; futures: also `pu`)
//! and REST snapshot records (`lastUpdateId`, `bids`, `asks`). A line may carry `lt`, the
//! recorder's local receive time in ms (drift is measured only on lines that have it).

use crate::Error;
use serde::Deserialize;

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(default, borrow)]
    e: Option<&'a str>,
    #[serde(rename = "E", default)]
    event_ms: Option<i64>,
    #[serde(default, borrow)]
    s: Option<&'a str>,
    #[serde(rename = "U", default)]
    first: Option<u64>,
    #[serde(default)]
    u: Option<u64>,
    #[serde(default)]
    pu: Option<u64>,
    #[serde(default, borrow)]
    b: Vec<(&'a str, &'a str)>,
    #[serde(default, borrow)]
    a: Vec<(&'a str, &'a str)>,
    #[serde(rename = "lastUpdateId", default)]
    last_update_id: Option<u64>,
    #[serde(default, borrow)]
    bids: Vec<(&'a str, &'a str)>,
    #[serde(default, borrow)]
    asks: Vec<(&'a str, &'a str)>,
    #[serde(default)]
    lt: Option<i64>,
}

pub enum Message<'a> {
    Update {
        symbol: Option<&'a str>,
        first: u64,
        last: u64,
        prev: Option<u64>,
        event_ms: Option<i64>,
        local_ms: Option<i64>,
        bids: Vec<(&'a str, &'a str)>,
        asks: Vec<(&'a str, &'a str)>,
    },
    Snapshot {
        last_update_id: u64,
        local_ms: Option<i64>,
        bids: Vec<(&'a str, &'a str)>,
        asks: Vec<(&'a str, &'a str)>,
    },
}

pub fn parse(line: &[u8]) -> Result<Message<'_>, Error> {
    let raw: Raw<'_> = serde_json::from_slice(line).map_err(|e| Error::Data(format!("invalid JSON: {e}")))?;
    if let Some(id) = raw.last_update_id {
        return Ok(Message::Snapshot {
            last_update_id: id,
            local_ms: raw.lt,
            bids: raw.bids,
            asks: raw.asks,
        });
    }
    if raw.e != Some("depthUpdate") {
        return Err(Error::Data(format!(
            "not a depthUpdate event or snapshot record (e = {:?})",
            raw.e.unwrap_or("missing")
        )));
    }
    let (Some(first), Some(last)) = (raw.first, raw.u) else {
        return Err(Error::Data("depthUpdate without U and u".into()));
    };
    if first > last {
        return Err(Error::Data(format!("depthUpdate with U {first} > u {last}")));
    }
    Ok(Message::Update {
        symbol: raw.s,
        first,
        last,
        prev: raw.pu,
        event_ms: raw.event_ms,
        local_ms: raw.lt,
        bids: raw.b,
        asks: raw.a,
    })
}
