//! The one registry of journal entry kinds (the `kind u16` of every entry header).
//!
//! Every kind pinnacle writes is a named constant here and a row of [`REGISTERED`]; every
//! subsystem owns a range of [`RANGES`] and registers its kinds inside it. Invariants
//! (checked by `tests/entry_kinds.rs`, which also scans the sources for kinds written
//! without being registered):
//! - registered kinds and their names are unique;
//! - ranges do not overlap, and every registered kind lies in its owner's range;
//! - a kind, once written to a journal, keeps its number and meaning for ever (journals
//!   outlive releases): retire a kind by leaving its row, never reuse the number.
//!
//! The raw journal API still accepts any kind: applications journaling their own records
//! use the [`USER`] range, which pinnacle never writes.

/// A checkpoint marker ([`crate::Journal::checkpoint`], flagged `FLAG_CHECKPOINT`).
pub const CHECKPOINT: u16 = 0;
/// An order-book operation (`pinnacle_book::Op`, tag byte then fields).
pub const BOOK_OP: u16 = 1;
/// Simulator ledger (`pinnacle.sim.ledger`): a maker order was placed.
pub const SIM_PLACED: u16 = 16;
/// Simulator ledger: intent to cancel, with the quantity filled at that moment.
pub const SIM_CANCEL_INTENT: u16 = 17;
/// Simulator ledger: intent to reprice, with the quantity filled at that moment.
pub const SIM_REPRICE_INTENT: u16 = 18;
/// Simulator ledger: an intent whose call the book refused.
pub const SIM_ABORT: u16 = 19;
/// Simulator ledger: everything folded into one record (the ledger is compacted to it).
pub const SIM_STATE: u16 = 20;
/// Trading-state ledger (`pinnacle_ledger`): an order was submitted (status pending).
pub const LEDGER_ORDER_SUBMIT: u16 = 256;
/// Trading-state ledger (`pinnacle_ledger`): the exchange acknowledged an order (status open).
pub const LEDGER_ORDER_ACK: u16 = 257;
/// Trading-state ledger (`pinnacle_ledger`): an order was rejected.
pub const LEDGER_ORDER_REJECT: u16 = 258;
/// Trading-state ledger (`pinnacle_ledger`): a fill (trade) of an order.
pub const LEDGER_FILL_RECEIVED: u16 = 259;
/// Trading-state ledger (`pinnacle_ledger`): an order was cancelled.
pub const LEDGER_ORDER_CANCEL: u16 = 260;
/// Trading-state ledger (`pinnacle_ledger`): a position set to a reconciled quantity and average price.
pub const LEDGER_POSITION_UPDATE: u16 = 261;
/// Trading-state ledger (`pinnacle_ledger`): a balance set (total and available).
pub const LEDGER_BALANCE_UPDATE: u16 = 262;
/// Trading-state ledger (`pinnacle_ledger`): trading halted (circuit breaker), with its reason.
pub const LEDGER_RISK_HALT: u16 = 263;
/// Trading-state ledger (`pinnacle_ledger`): trading resumed.
pub const LEDGER_RISK_RESUME: u16 = 264;
/// Trading-state ledger (`pinnacle_ledger`): a configuration key set (version + 1).
pub const LEDGER_CONFIG_CHANGE: u16 = 265;
/// Trading-state ledger (`pinnacle_ledger`): a strategy's parameters (JSON text).
pub const LEDGER_STRATEGY_PARAMS: u16 = 266;
/// Trading-state ledger (`pinnacle_ledger`): a strategy's custom state bytes.
pub const LEDGER_STRATEGY_STATE: u16 = 267;
/// Trading-state ledger (`pinnacle_ledger`): a strategy activated or deactivated.
pub const LEDGER_STRATEGY_ACTIVE: u16 = 268;
/// Trading-state ledger (`pinnacle_ledger`): a strategy's last signal time.
pub const LEDGER_STRATEGY_SIGNAL: u16 = 269;
/// Trading-state ledger (`pinnacle_ledger`): fills older than a time left the recent-fills window.
pub const LEDGER_FILLS_PRUNED: u16 = 270;
/// Audit journal (`pinnacle.security.audit`): one HMAC-chained security event.
pub const AUDIT_RECORD: u16 = 512;
/// Rate limiter (`pinnacle.security.ratelimit`): budget consumed under a key.
pub const RATE_CONSUME: u16 = 768;
/// Rate limiter: a process opened the limiter (boot id, pid, time).
pub const RATE_OPEN: u16 = 769;
/// Rate limiter: the limiter was closed cleanly.
pub const RATE_CLOSE: u16 = 770;
/// Rate limiter: every key's state folded into one record (written before compaction).
pub const RATE_SNAPSHOT: u16 = 771;
/// Rate limiter: every key exhausted at a time (after an unclean shutdown on another boot).
pub const RATE_EXHAUST: u16 = 772;

/// One registered kind: its number, its name (shown by `inspect` and `verify`, and the
/// key of `pinnacle._core.entry_kinds()`) and the range that owns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kind {
    pub kind: u16,
    pub name: &'static str,
    pub range: &'static str,
}

/// A block of kinds owned by one subsystem (`first..=last`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindRange {
    pub name: &'static str,
    pub first: u16,
    pub last: u16,
    pub owner: &'static str,
}

impl KindRange {
    pub const fn contains(&self, kind: u16) -> bool {
        self.first <= kind && kind <= self.last
    }
}

/// The range applications use for their own kinds; pinnacle never registers one there.
pub const USER: KindRange =
    KindRange { name: "user", first: 0x8000, last: u16::MAX, owner: "applications (raw Journal.append)" };

/// Ranges in ascending order. Numbers outside every range are unassigned (kept for
/// pinnacle's future subsystems).
pub const RANGES: &[KindRange] = &[
    KindRange { name: "core", first: 0, last: 15, owner: "checkpoints and the order book" },
    KindRange { name: "sim", first: 16, last: 31, owner: "the demo simulator (python/pinnacle/sim)" },
    KindRange { name: "ledger", first: 256, last: 511, owner: "trading-state ledger (issue 12)" },
    KindRange { name: "audit", first: 512, last: 767, owner: "tamper-evident audit journal (issue 14)" },
    KindRange { name: "ratelimit", first: 768, last: 1023, owner: "rate-limiter state (issue 14)" },
    KindRange { name: "marketdata", first: 1024, last: 1279, owner: "market-data pipeline (issue 13)" },
    USER,
];

/// Every kind pinnacle writes, in ascending order.
pub const REGISTERED: &[Kind] = &[
    Kind { kind: CHECKPOINT, name: "checkpoint", range: "core" },
    Kind { kind: BOOK_OP, name: "book.op", range: "core" },
    Kind { kind: SIM_PLACED, name: "sim.placed", range: "sim" },
    Kind { kind: SIM_CANCEL_INTENT, name: "sim.cancel-intent", range: "sim" },
    Kind { kind: SIM_REPRICE_INTENT, name: "sim.reprice-intent", range: "sim" },
    Kind { kind: SIM_ABORT, name: "sim.abort", range: "sim" },
    Kind { kind: SIM_STATE, name: "sim.state", range: "sim" },
    Kind { kind: LEDGER_ORDER_SUBMIT, name: "ledger.order-submit", range: "ledger" },
    Kind { kind: LEDGER_ORDER_ACK, name: "ledger.order-ack", range: "ledger" },
    Kind { kind: LEDGER_ORDER_REJECT, name: "ledger.order-reject", range: "ledger" },
    Kind { kind: LEDGER_FILL_RECEIVED, name: "ledger.fill-received", range: "ledger" },
    Kind { kind: LEDGER_ORDER_CANCEL, name: "ledger.order-cancel", range: "ledger" },
    Kind { kind: LEDGER_POSITION_UPDATE, name: "ledger.position-update", range: "ledger" },
    Kind { kind: LEDGER_BALANCE_UPDATE, name: "ledger.balance-update", range: "ledger" },
    Kind { kind: LEDGER_RISK_HALT, name: "ledger.risk-halt", range: "ledger" },
    Kind { kind: LEDGER_RISK_RESUME, name: "ledger.risk-resume", range: "ledger" },
    Kind { kind: LEDGER_CONFIG_CHANGE, name: "ledger.config-change", range: "ledger" },
    Kind { kind: LEDGER_STRATEGY_PARAMS, name: "ledger.strategy-params", range: "ledger" },
    Kind { kind: LEDGER_STRATEGY_STATE, name: "ledger.strategy-state", range: "ledger" },
    Kind { kind: LEDGER_STRATEGY_ACTIVE, name: "ledger.strategy-active", range: "ledger" },
    Kind { kind: LEDGER_STRATEGY_SIGNAL, name: "ledger.strategy-signal", range: "ledger" },
    Kind { kind: LEDGER_FILLS_PRUNED, name: "ledger.fills-pruned", range: "ledger" },
    Kind { kind: AUDIT_RECORD, name: "audit.record", range: "audit" },
    Kind { kind: RATE_CONSUME, name: "ratelimit.consume", range: "ratelimit" },
    Kind { kind: RATE_OPEN, name: "ratelimit.open", range: "ratelimit" },
    Kind { kind: RATE_CLOSE, name: "ratelimit.close", range: "ratelimit" },
    Kind { kind: RATE_SNAPSHOT, name: "ratelimit.snapshot", range: "ratelimit" },
    Kind { kind: RATE_EXHAUST, name: "ratelimit.exhaust", range: "ratelimit" },
];

/// The registered kind `kind`, if any.
pub fn lookup(kind: u16) -> Option<&'static Kind> {
    REGISTERED.iter().find(|k| k.kind == kind)
}

/// The registered kind called `name`, if any.
pub fn by_name(name: &str) -> Option<&'static Kind> {
    REGISTERED.iter().find(|k| k.name == name)
}

/// The range holding `kind`, if any.
pub fn range_of(kind: u16) -> Option<&'static KindRange> {
    RANGES.iter().find(|r| r.contains(kind))
}

/// A kind's name for people (inspect, verify): the registered name, else what its range
/// says about it (`"ledger kind 300 (unregistered)"`, `"user kind 40000"`,
/// `"kind 70 (unassigned)"`).
pub fn kind_name(kind: u16) -> String {
    if let Some(k) = lookup(kind) {
        return k.name.to_owned();
    }
    match range_of(kind) {
        Some(r) if r.name == USER.name => format!("user kind {kind}"),
        Some(r) => format!("{} kind {kind} (unregistered)", r.name),
        None => format!("kind {kind} (unassigned)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_registry_then_the_ranges() {
        assert_eq!(kind_name(BOOK_OP), "book.op");
        assert_eq!(kind_name(SIM_STATE), "sim.state");
        assert_eq!(kind_name(300), "ledger kind 300 (unregistered)");
        assert_eq!(kind_name(40_000), "user kind 40000");
        assert_eq!(kind_name(70), "kind 70 (unassigned)");
        assert_eq!(by_name("sim.abort").map(|k| k.kind), Some(SIM_ABORT));
        assert_eq!(range_of(u16::MAX).map(|r| r.name), Some("user"));
    }
}
