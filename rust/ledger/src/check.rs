//! The ledger's canonical encoding (the checksum's input), its checksum, its invariants
//! and its mark-to-market figures.
//!
//! Canonical encoding: every map in key order, every field in declaration order, with the
//! primitives of `wire.rs`, behind a version byte. Two ledgers with equal content encode
//! to equal bytes whatever order they were built in.

use crate::dec::Dec;
use crate::state::{Ledger, Status};
use crate::wire::*;
use std::collections::BTreeMap;

/// Version of the canonical encoding.
pub const STATE_VERSION: u8 = 1;

impl Ledger {
    pub fn encode_canonical(&self, out: &mut Vec<u8>) {
        put_u8(out, STATE_VERSION);
        put_u64(out, self.orders.len() as u64);
        for o in self.orders.values() {
            put_str(out, &o.client_id);
            put_str(out, &o.symbol);
            put_str(out, &o.exchange);
            put_u8(out, o.side.code());
            put_u8(out, o.order_type.code());
            put_opt_dec(out, o.price);
            put_dec(out, o.quantity);
            put_dec(out, o.filled);
            put_u8(out, o.status.code());
            put_opt_str(out, o.exchange_order_id.as_deref());
            put_opt_str(out, o.strategy_id.as_deref());
            put_opt_str(out, o.reason.as_deref());
            put_i64(out, o.created_ns);
            put_i64(out, o.updated_ns);
        }
        put_u64(out, self.fills.len() as u64);
        for f in self.fills.values() {
            put_str(out, &f.exchange);
            put_str(out, &f.trade_id);
            put_str(out, &f.client_id);
            put_str(out, &f.symbol);
            put_u8(out, f.side.code());
            put_dec(out, f.price);
            put_dec(out, f.quantity);
            put_dec(out, f.fee);
            put_str(out, &f.fee_asset);
            put_dec(out, f.realized);
            put_i64(out, f.ts_ns);
        }
        put_u64(out, self.recent.len() as u64);
        for (e, t) in &self.recent {
            put_str(out, e);
            put_str(out, t);
        }
        put_u64(out, self.positions.len() as u64);
        for ((s, e), p) in &self.positions {
            put_str(out, s);
            put_str(out, e);
            put_dec(out, p.quantity);
            put_dec(out, p.avg_price);
            put_dec(out, p.realized_pnl);
            put_i64(out, p.updated_ns);
        }
        put_u64(out, self.fees.len() as u64);
        for (a, v) in &self.fees {
            put_str(out, a);
            put_dec(out, *v);
        }
        put_dec(out, self.realized_pnl);
        put_u64(out, self.balances.len() as u64);
        for ((e, a), b) in &self.balances {
            put_str(out, e);
            put_str(out, a);
            put_dec(out, b.total);
            put_dec(out, b.available);
            put_i64(out, b.updated_ns);
        }
        put_u8(out, u8::from(self.risk.halted));
        put_opt_str(out, self.risk.reason.as_deref());
        put_opt_i64(out, self.risk.halt_ns);
        put_u64(out, self.config.len() as u64);
        for (k, v) in &self.config {
            put_str(out, k);
            put_str(out, v);
        }
        put_u64(out, self.config_version);
        put_u64(out, self.strategies.len() as u64);
        for (id, s) in &self.strategies {
            put_str(out, id);
            put_str(out, &s.parameters);
            put_bytes(out, &s.custom_state);
            put_u8(out, u8::from(s.active));
            put_opt_i64(out, s.last_signal_ns);
            put_i64(out, s.updated_ns);
        }
        put_u64(out, self.symbols.len() as u64);
        for s in &self.symbols {
            put_str(out, s);
        }
        put_i64(out, self.last_update_ns);
        put_u64(out, self.ops);
    }

    /// xxh3-64 of the canonical encoding.
    pub fn checksum(&self) -> u64 {
        let mut out = Vec::new();
        self.encode_canonical(&mut out);
        xxhash_rust::xxh3::xxh3_64(&out)
    }

    /// Problems with the state's invariants (empty: sound): [`Ledger::state_problems`]
    /// then [`Ledger::future_timestamps`].
    pub fn problems(&self, now_ns: i64, tolerance_ns: i64) -> Vec<String> {
        let mut out = self.state_problems();
        out.extend(self.future_timestamps(now_ns, tolerance_ns));
        out
    }

    /// Timestamps more than `tolerance_ns` past `now_ns`. Not a sign of a wrong state: the
    /// wall clock can step back (NTP, a VM restore) after records were journaled with the
    /// then-current time, so recovery reports these as warnings and does not refuse.
    pub fn future_timestamps(&self, now_ns: i64, tolerance_ns: i64) -> Vec<String> {
        let limit = now_ns.saturating_add(tolerance_ns);
        let mut out = Vec::new();
        for o in self.orders.values().filter(|o| o.updated_ns > limit) {
            out.push(format!("order {:?}: timestamp {} is in the future", o.client_id, o.updated_ns));
        }
        if self.last_update_ns > limit {
            out.push(format!("last update {} is in the future", self.last_update_ns));
        }
        out
    }

    /// Broken invariants that mean the state itself is wrong (empty: sound); independent
    /// of the clock.
    pub fn state_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for o in self.orders.values() {
            let id = &o.client_id;
            if o.filled > o.quantity {
                out.push(format!("order {id:?}: filled {} exceeds quantity {}", o.filled, o.quantity));
            }
            if o.filled.is_negative() || !o.quantity.is_positive() {
                out.push(format!("order {id:?}: negative fill or non-positive quantity"));
            }
            let expect_filled = o.status == Status::Filled;
            if expect_filled != (o.filled == o.quantity) {
                out.push(format!(
                    "order {id:?}: status {} but filled {} of {}",
                    o.status.as_str(),
                    o.filled,
                    o.quantity
                ));
            }
            if !o.status.is_closed() && !self.symbols.contains(&o.symbol) {
                out.push(format!("order {id:?}: unknown symbol {:?}", o.symbol));
            }
        }
        for ((s, e), p) in &self.positions {
            if p.quantity.is_zero() && !p.avg_price.is_zero() {
                out.push(format!("position {s}@{e}: flat but average price {}", p.avg_price));
            }
            if !p.quantity.is_zero() && !p.avg_price.is_positive() {
                out.push(format!("position {s}@{e}: exposure without a positive average price"));
            }
        }
        for key in &self.recent {
            if !self.fills.contains_key(key) {
                out.push(format!("recent fill {}@{} is not recorded", key.1, key.0));
            }
        }
        let fill_pnl = self.fills.values().try_fold(Dec::ZERO, |a, f| a.checked_add(f.realized).ok());
        if fill_pnl != Some(self.realized_pnl) {
            out.push(format!("realized P&L {} is not the sum over fills", self.realized_pnl));
        }
        if self.risk.halted && self.risk.reason.as_deref().map_or(true, str::is_empty) {
            out.push("trading halted without a reason".to_owned());
        }
        out
    }

    /// Unrealized P&L of each position with a mark price: `q × (mark − avg)`.
    pub fn unrealized(&self, marks: &BTreeMap<String, Dec>) -> Option<Dec> {
        let mut total = Dec::ZERO;
        for ((symbol, _), p) in &self.positions {
            if let Some(mark) = marks.get(symbol) {
                total = total
                    .checked_add(p.quantity.checked_mul(mark.checked_sub(p.avg_price).ok()?).ok()?)
                    .ok()?;
            }
        }
        Some(total)
    }

    /// (gross, net) exposure at mark (or average) prices.
    pub fn exposure(&self, marks: &BTreeMap<String, Dec>) -> Option<(Dec, Dec)> {
        let (mut gross, mut net) = (Dec::ZERO, Dec::ZERO);
        for ((symbol, _), p) in &self.positions {
            let px = marks.get(symbol).copied().unwrap_or(p.avg_price);
            let v = p.quantity.checked_mul(px).ok()?;
            gross = gross.checked_add(v.abs()).ok()?;
            net = net.checked_add(v).ok()?;
        }
        Some((gross, net))
    }
}
