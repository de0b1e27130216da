//! `impl WalState for Ledger`: every check that can fail runs in `validate` (checked
//! arithmetic included) and yields a [`Plan`] holding the computed results; `apply`
//! only stores them, so it cannot fail and a refused record changes nothing.

use crate::dec::Dec;
use crate::error::{ErrorCode, LedgerError};
use crate::position::after_fill;
use crate::record::{FillIn, LedgerRecord, Op, OrderType, Submit};
use crate::state::{Balance, Fill, FillKey, Ledger, Order, PosKey, Position, Status, Strategy};
use pinnacle_core::wal::{Pass, WalState};

pub struct FillPlan {
    fill: Fill,
    order: Order,
    pos_key: PosKey,
    position: Position,
    fee_total: Dec,
    realized_total: Dec,
}

pub enum Plan {
    Submit(Order),
    /// An order replaced by its new version.
    Order(Order),
    Fill(Box<FillPlan>),
    /// A re-delivered fill: nothing changes, nothing is journaled.
    DuplicateFill(Fill),
    Position(PosKey, Position),
    Balance((String, String), Balance),
    Halt(i64, String),
    Resume(i64),
    /// `Resume` while not halted, or a prune with nothing to prune.
    Nothing(i64),
    Config(i64, String, String),
    Strategy(i64, String, Strategy),
    Prune(i64, i64),
}

/// What an applied record gives back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Order(Order),
    /// The fill recorded (or, for a duplicate, recorded before) and whether it was new.
    Fill(Fill, bool),
    Done,
}

fn err(code: ErrorCode, msg: String) -> LedgerError {
    LedgerError::new(code, msg)
}

fn non_empty(what: &str, v: &str) -> Result<(), LedgerError> {
    if v.is_empty() {
        return Err(err(ErrorCode::InvalidValue, format!("{what} must not be empty")));
    }
    Ok(())
}

/// The most bytes an identifier (order, trade, strategy id, symbol, exchange, asset,
/// config key) may have.
pub const MAX_ID_BYTES: usize = 256;

/// An identifier: not blank, at most [`MAX_ID_BYTES`], no control character (a NUL or a
/// newline in an id is a caller's bug that would otherwise be journaled for good).
fn identifier(what: &str, v: &str) -> Result<(), LedgerError> {
    non_empty(what, v)?;
    if v.trim().is_empty() {
        return Err(err(ErrorCode::InvalidValue, format!("{what} must not be blank")));
    }
    if v.len() > MAX_ID_BYTES {
        return Err(err(
            ErrorCode::InvalidValue,
            format!("{what} is {} bytes long (at most {MAX_ID_BYTES})", v.len()),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(err(ErrorCode::InvalidValue, format!("{what} {v:?} contains a control character")));
    }
    Ok(())
}

fn positive(what: &str, v: Dec) -> Result<(), LedgerError> {
    if !v.is_positive() {
        return Err(err(ErrorCode::InvalidQuantity, format!("{what} must be positive, got {v}")));
    }
    Ok(())
}

impl Ledger {
    fn live_order(&self, client_id: &str, what: &str) -> Result<&Order, LedgerError> {
        let o = self.orders.get(client_id).ok_or_else(|| {
            err(ErrorCode::UnknownOrder, format!("{what}: unknown client order id {client_id:?}"))
        })?;
        if o.status.is_closed() {
            return Err(err(
                ErrorCode::OrderClosed,
                format!("{what}: order {client_id:?} is {} (closed)", o.status.as_str()),
            ));
        }
        Ok(o)
    }

    fn plan_submit(&self, ts: i64, s: Submit) -> Result<Plan, LedgerError> {
        if self.risk.halted {
            let reason = self.risk.reason.as_deref().unwrap_or("");
            return Err(err(
                ErrorCode::Halted,
                format!("submit {:?}: trading is halted ({reason})", s.client_id),
            ));
        }
        identifier("client_id", &s.client_id)?;
        identifier("symbol", &s.symbol)?;
        identifier("exchange", &s.exchange)?;
        if self.orders.contains_key(&s.client_id) {
            return Err(err(
                ErrorCode::DuplicateOrder,
                format!("duplicate client order id {:?}", s.client_id),
            ));
        }
        positive("quantity", s.quantity)?;
        match (s.order_type, s.price) {
            (OrderType::Market, Some(p)) => {
                return Err(err(ErrorCode::InvalidValue, format!("a market order takes no price, got {p}")))
            }
            (OrderType::Market, None) => {}
            (t, None) => {
                return Err(err(ErrorCode::InvalidValue, format!("a {} order needs a price", t.as_str())))
            }
            (_, Some(p)) => positive("price", p)?,
        }
        if let Some(id) = &s.strategy_id {
            identifier("strategy_id", id)?;
        }
        Ok(Plan::Submit(Order {
            client_id: s.client_id,
            symbol: s.symbol,
            exchange: s.exchange,
            side: s.side,
            order_type: s.order_type,
            price: s.price,
            quantity: s.quantity,
            filled: Dec::ZERO,
            status: Status::Pending,
            exchange_order_id: None,
            strategy_id: s.strategy_id,
            reason: None,
            created_ns: ts,
            updated_ns: ts,
        }))
    }

    fn plan_fill(&self, ts: i64, f: FillIn) -> Result<Plan, LedgerError> {
        let o = self.orders.get(&f.client_id).ok_or_else(|| {
            err(ErrorCode::UnknownOrder, format!("fill: unknown client order id {:?}", f.client_id))
        })?;
        let key: FillKey = (o.exchange.clone(), f.trade_id);
        if let Some(seen) = self.fills.get(&key) {
            // A re-delivery names the same order; another order is a caller's bug.
            if seen.client_id != f.client_id {
                return Err(err(
                    ErrorCode::InvalidValue,
                    format!(
                        "trade {:?} on {} was recorded for order {:?}, not {:?}",
                        key.1, key.0, seen.client_id, f.client_id
                    ),
                ));
            }
            return Ok(Plan::DuplicateFill(seen.clone()));
        }
        let o = self.live_order(&f.client_id, "fill")?;
        identifier("trade_id", &key.1)?;
        positive("fill quantity", f.quantity)?;
        positive("fill price", f.price)?;
        if !f.fee.is_zero() {
            identifier("fee_asset", &f.fee_asset)?;
        }
        let filled = o.filled.checked_add(f.quantity).map_err(|e| LedgerError::dec("filled", e))?;
        if filled > o.quantity {
            return Err(err(
                ErrorCode::Overfill,
                format!(
                    "fill {:?} of {} overfills order {:?}: {} of {} already filled",
                    key.1, f.quantity, o.client_id, o.filled, o.quantity
                ),
            ));
        }
        let pos_key = (o.symbol.clone(), o.exchange.clone());
        let current = self.positions.get(&pos_key).cloned().unwrap_or_default();
        let (position, realized) = after_fill(&current, o.side, f.quantity, f.price, ts)?;
        let realized_total =
            self.realized_pnl.checked_add(realized).map_err(|e| LedgerError::dec("realized_pnl", e))?;
        let fee_total = self
            .fees
            .get(&f.fee_asset)
            .copied()
            .unwrap_or_default()
            .checked_add(f.fee)
            .map_err(|e| LedgerError::dec("fees", e))?;
        let status = if filled == o.quantity { Status::Filled } else { Status::PartiallyFilled };
        let order = Order { filled, status, updated_ns: ts, ..o.clone() };
        let fill = Fill {
            exchange: key.0,
            trade_id: key.1,
            client_id: f.client_id,
            symbol: o.symbol.clone(),
            side: o.side,
            price: f.price,
            quantity: f.quantity,
            fee: f.fee,
            fee_asset: f.fee_asset,
            realized,
            ts_ns: ts,
        };
        Ok(Plan::Fill(Box::new(FillPlan { fill, order, pos_key, position, fee_total, realized_total })))
    }

    fn plan_strategy(
        &self,
        ts: i64,
        id: &str,
        change: impl FnOnce(&mut Strategy),
    ) -> Result<Plan, LedgerError> {
        identifier("strategy id", id)?;
        let mut s = self.strategies.get(id).cloned().unwrap_or_default();
        change(&mut s);
        s.updated_ns = ts;
        Ok(Plan::Strategy(ts, id.to_owned(), s))
    }

    fn plan(&self, r: LedgerRecord) -> Result<Plan, LedgerError> {
        let ts = r.ts_ns;
        Ok(match r.op {
            Op::Submit(s) => self.plan_submit(ts, s)?,
            Op::Ack { client_id, exchange_order_id } => {
                let o = self.live_order(&client_id, "ack")?;
                identifier("exchange_order_id", &exchange_order_id)?;
                if let Some(prev) = &o.exchange_order_id {
                    return Err(err(
                        ErrorCode::InvalidValue,
                        format!("order {client_id:?} was already acknowledged as {prev:?}"),
                    ));
                }
                let status = if o.status == Status::Pending { Status::Open } else { o.status };
                Plan::Order(Order {
                    status,
                    exchange_order_id: Some(exchange_order_id),
                    updated_ns: ts,
                    ..o.clone()
                })
            }
            Op::Reject { client_id, reason } => {
                let o = self.live_order(&client_id, "reject")?;
                if !o.filled.is_zero() {
                    return Err(err(
                        ErrorCode::OrderClosed,
                        format!("reject: order {client_id:?} already has fills"),
                    ));
                }
                Plan::Order(Order {
                    status: Status::Rejected,
                    reason: Some(reason),
                    updated_ns: ts,
                    ..o.clone()
                })
            }
            Op::Cancel { client_id } => {
                let o = self.live_order(&client_id, "cancel")?;
                Plan::Order(Order { status: Status::Cancelled, updated_ns: ts, ..o.clone() })
            }
            Op::Fill(f) => self.plan_fill(ts, f)?,
            Op::Position { symbol, exchange, quantity, avg_price } => {
                identifier("symbol", &symbol)?;
                identifier("exchange", &exchange)?;
                if avg_price.is_negative() || (!quantity.is_zero() && avg_price.is_zero()) {
                    return Err(err(
                        ErrorCode::InvalidValue,
                        format!("avg_price must be positive for an open position, got {avg_price}"),
                    ));
                }
                let key = (symbol, exchange);
                let realized_pnl = self.positions.get(&key).map(|p| p.realized_pnl).unwrap_or_default();
                let avg_price = if quantity.is_zero() { Dec::ZERO } else { avg_price };
                Plan::Position(key, Position { quantity, avg_price, realized_pnl, updated_ns: ts })
            }
            Op::Balance { exchange, asset, total, available } => {
                identifier("exchange", &exchange)?;
                identifier("asset", &asset)?;
                if available > total {
                    return Err(err(
                        ErrorCode::InvalidValue,
                        format!("available {available} exceeds total {total}"),
                    ));
                }
                Plan::Balance((exchange, asset), Balance { total, available, updated_ns: ts })
            }
            Op::Halt { reason } => {
                non_empty("halt reason", &reason)?;
                Plan::Halt(ts, reason)
            }
            Op::Resume if self.risk.halted => Plan::Resume(ts),
            Op::Resume => Plan::Nothing(ts),
            Op::Config { key, value } => {
                identifier("config key", &key)?;
                self.config_version
                    .checked_add(1)
                    .ok_or_else(|| err(ErrorCode::Overflow, "config version overflows".into()))?;
                Plan::Config(ts, key, value)
            }
            Op::StrategyParams { id, json } => {
                if let Err(e) = serde_json::from_str::<serde_json::Value>(&json) {
                    return Err(err(
                        ErrorCode::InvalidValue,
                        format!("strategy {id:?} parameters are not JSON: {e}"),
                    ));
                }
                self.plan_strategy(ts, &id, |s| s.parameters = json)?
            }
            Op::StrategyState { id, state } => self.plan_strategy(ts, &id, |s| s.custom_state = state)?,
            Op::StrategyActive { id, active } => self.plan_strategy(ts, &id, |s| s.active = active)?,
            Op::StrategySignal { id } => self.plan_strategy(ts, &id, |s| s.last_signal_ns = Some(ts))?,
            Op::PruneFills { before_ns } => {
                if self.recent_fills().any(|f| f.ts_ns < before_ns) {
                    Plan::Prune(ts, before_ns)
                } else {
                    Plan::Nothing(ts)
                }
            }
        })
    }
}

impl WalState for Ledger {
    type Record = LedgerRecord;
    type Plan = Plan;
    type Outcome = Outcome;
    type Error = LedgerError;

    fn validate(&self, record: LedgerRecord, _: Pass) -> Result<Plan, LedgerError> {
        self.plan(record)
    }

    fn changes_nothing(plan: &Plan) -> bool {
        matches!(plan, Plan::DuplicateFill(_) | Plan::Nothing(_))
    }

    fn apply(&mut self, plan: Plan, _: Pass) -> Outcome {
        let stamp = |l: &mut Ledger, ts: i64| {
            l.last_update_ns = l.last_update_ns.max(ts);
            l.ops += 1;
        };
        match plan {
            Plan::Submit(o) | Plan::Order(o) => {
                stamp(self, o.updated_ns);
                self.symbols.insert(o.symbol.clone());
                self.orders.insert(o.client_id.clone(), o.clone());
                Outcome::Order(o)
            }
            Plan::Fill(p) => {
                let FillPlan { fill, order, pos_key, position, fee_total, realized_total } = *p;
                stamp(self, fill.ts_ns);
                let key = (fill.exchange.clone(), fill.trade_id.clone());
                self.orders.insert(order.client_id.clone(), order);
                self.positions.insert(pos_key, position);
                self.fees.insert(fill.fee_asset.clone(), fee_total);
                self.realized_pnl = realized_total;
                self.recent.push_back(key.clone());
                self.fills.insert(key, fill.clone());
                Outcome::Fill(fill, true)
            }
            Plan::DuplicateFill(f) => Outcome::Fill(f, false),
            Plan::Position(key, p) => {
                stamp(self, p.updated_ns);
                self.symbols.insert(key.0.clone());
                self.positions.insert(key, p);
                Outcome::Done
            }
            Plan::Balance(key, b) => {
                stamp(self, b.updated_ns);
                self.balances.insert(key, b);
                Outcome::Done
            }
            Plan::Halt(ts, reason) => {
                stamp(self, ts);
                self.risk = crate::state::Risk { halted: true, reason: Some(reason), halt_ns: Some(ts) };
                Outcome::Done
            }
            Plan::Resume(ts) => {
                stamp(self, ts);
                self.risk = crate::state::Risk::default();
                Outcome::Done
            }
            Plan::Nothing(_) => Outcome::Done,
            Plan::Config(ts, k, v) => {
                stamp(self, ts);
                self.config.insert(k, v);
                self.config_version = self.config_version.saturating_add(1);
                Outcome::Done
            }
            Plan::Strategy(ts, id, s) => {
                stamp(self, ts);
                self.strategies.insert(id, s);
                Outcome::Done
            }
            Plan::Prune(ts, before) => {
                stamp(self, ts);
                let fills = &self.fills;
                self.recent.retain(|k| fills.get(k).is_some_and(|f| f.ts_ns >= before));
                Outcome::Done
            }
        }
    }
}
