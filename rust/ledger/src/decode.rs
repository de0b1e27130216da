//! Decoding the canonical encoding (`check.rs`) back into a ledger: the ledger's snapshot
//! body. Exact-length, never panics, refuses a newer version; the decoded ledger
//! re-encodes to the very same bytes (so it has the same checksum).

use crate::check::STATE_VERSION;
use crate::error::LedgerError;
use crate::record::{OrderType, Side};
use crate::state::*;
use crate::wire::Reader;

fn status(c: u8) -> Result<Status, LedgerError> {
    Ok(match c {
        0 => Status::Pending,
        1 => Status::Open,
        2 => Status::PartiallyFilled,
        3 => Status::Filled,
        4 => Status::Cancelled,
        5 => Status::Rejected,
        _ => return Err(LedgerError::decode(format!("bad order status code {c}"))),
    })
}

/// Counts are bounded by the bytes left (each item takes at least one byte), so a
/// corrupt count cannot make the decoder reserve memory it does not need.
fn count(r: &mut Reader<'_>) -> Result<u64, LedgerError> {
    r.u64()
}

impl Ledger {
    pub fn decode_canonical(bytes: &[u8]) -> Result<Ledger, LedgerError> {
        let mut r = Reader::new(bytes, "ledger state");
        r.schema_version(STATE_VERSION)?;
        let mut l = Ledger::new();
        for _ in 0..count(&mut r)? {
            let o = Order {
                client_id: r.string()?,
                symbol: r.string()?,
                exchange: r.string()?,
                side: Side::from_code(r.u8()?)?,
                order_type: OrderType::from_code(r.u8()?)?,
                price: r.opt_dec()?,
                quantity: r.dec()?,
                filled: r.dec()?,
                status: status(r.u8()?)?,
                exchange_order_id: r.opt_string()?,
                strategy_id: r.opt_string()?,
                reason: r.opt_string()?,
                created_ns: r.i64()?,
                updated_ns: r.i64()?,
            };
            l.orders.insert(o.client_id.clone(), o);
        }
        for _ in 0..count(&mut r)? {
            let f = Fill {
                exchange: r.string()?,
                trade_id: r.string()?,
                client_id: r.string()?,
                symbol: r.string()?,
                side: Side::from_code(r.u8()?)?,
                price: r.dec()?,
                quantity: r.dec()?,
                fee: r.dec()?,
                fee_asset: r.string()?,
                realized: r.dec()?,
                ts_ns: r.i64()?,
            };
            l.fills.insert((f.exchange.clone(), f.trade_id.clone()), f);
        }
        for _ in 0..count(&mut r)? {
            l.recent.push_back((r.string()?, r.string()?));
        }
        for _ in 0..count(&mut r)? {
            let key = (r.string()?, r.string()?);
            let p = Position {
                quantity: r.dec()?,
                avg_price: r.dec()?,
                realized_pnl: r.dec()?,
                updated_ns: r.i64()?,
            };
            l.positions.insert(key, p);
        }
        for _ in 0..count(&mut r)? {
            let asset = r.string()?;
            l.fees.insert(asset, r.dec()?);
        }
        l.realized_pnl = r.dec()?;
        for _ in 0..count(&mut r)? {
            let key = (r.string()?, r.string()?);
            l.balances.insert(key, Balance { total: r.dec()?, available: r.dec()?, updated_ns: r.i64()? });
        }
        l.risk = Risk { halted: r.bool()?, reason: r.opt_string()?, halt_ns: r.opt_i64()? };
        for _ in 0..count(&mut r)? {
            let k = r.string()?;
            l.config.insert(k, r.string()?);
        }
        l.config_version = r.u64()?;
        for _ in 0..count(&mut r)? {
            let id = r.string()?;
            let s = Strategy {
                parameters: r.string()?,
                custom_state: r.bytes()?,
                active: r.bool()?,
                last_signal_ns: r.opt_i64()?,
                updated_ns: r.i64()?,
            };
            l.strategies.insert(id, s);
        }
        for _ in 0..count(&mut r)? {
            l.symbols.insert(r.string()?);
        }
        l.last_update_ns = r.i64()?;
        l.ops = r.u64()?;
        r.finish()?;
        // Maps deduplicate: a hand-made encoding with repeated keys would decode to
        // another state; the re-encoding check refuses it.
        let mut again = Vec::with_capacity(bytes.len());
        l.encode_canonical(&mut again);
        if again != bytes {
            return Err(LedgerError::decode(
                "ledger state is not in canonical form (repeated or unordered keys)",
            ));
        }
        Ok(l)
    }
}
