//! Write-ahead entry points: `apply` (validate, journal, commit), `replay`
//! (decode, validate, commit) and the plain per-op methods.

use crate::book::OrderBook;
use crate::error::{ApplyError, BookError};
use crate::ops::Op;
use crate::plan::Plan;
use crate::types::{Fill, OrderId, Side};

/// What a successfully applied op did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Fills of an add (the order was the taker); any remainder rests.
    Added(Vec<Fill>),
    /// Whether a resting order was removed.
    Cancelled(bool),
    Executed(Fill),
    /// Fills of a market order (may total less than requested).
    Market(Vec<Fill>),
    Modified,
}

impl Outcome {
    /// All fills produced (empty for cancel/modify).
    pub fn fills(&self) -> &[Fill] {
        match self {
            Outcome::Added(f) | Outcome::Market(f) => f,
            Outcome::Executed(f) => std::slice::from_ref(f),
            Outcome::Cancelled(_) | Outcome::Modified => &[],
        }
    }

    pub fn into_fills(self) -> Vec<Fill> {
        match self {
            Outcome::Added(f) | Outcome::Market(f) => f,
            Outcome::Executed(f) => vec![f],
            Outcome::Cancelled(_) | Outcome::Modified => Vec::new(),
        }
    }
}

impl OrderBook {
    /// Like `plan` but moves the id of an add instead of cloning it.
    pub(crate) fn plan_owned(&self, op: Op) -> Result<Plan, BookError> {
        match op {
            Op::Add { id, side, price, qty, ts } => Ok(Plan::Add(self.check_add(id, side, price, qty, ts)?)),
            other => self.plan(&other),
        }
    }

    fn plan(&self, op: &Op) -> Result<Plan, BookError> {
        Ok(match op {
            Op::Add { id, side, price, qty, ts } => {
                Plan::Add(self.check_add(id.clone(), *side, *price, *qty, *ts)?)
            }
            Op::Cancel { id, .. } => Plan::Cancel(self.check_cancel(id)),
            Op::Execute { id, qty, ts } => Plan::Execute(self.check_execute(id, *qty, *ts)?),
            Op::Market { side, qty, ts } => Plan::Market(self.check_market(*side, *qty, *ts)?),
            Op::Modify { id, price, qty, ts } => Plan::Modify(self.check_modify(id, *price, *qty, *ts)?),
        })
    }

    pub(crate) fn commit(&mut self, plan: Plan) -> Outcome {
        match plan {
            Plan::Add(p) => Outcome::Added(self.commit_add(p)),
            Plan::Cancel(p) => Outcome::Cancelled(self.commit_cancel(p)),
            Plan::Execute(p) => Outcome::Executed(self.commit_execute(p)),
            Plan::Market(p) => Outcome::Market(self.commit_market(p)),
            Plan::Modify(p) => {
                self.commit_modify(p);
                Outcome::Modified
            }
        }
    }

    /// Applies `op` write-ahead style:
    /// 1. validates it against the current state (every check that can fail);
    /// 2. encodes it ([`Op::encode`]) and passes the bytes to `journal`;
    /// 3. commits it, which cannot fail.
    ///
    /// On `Err` the book is unchanged: `ApplyError::Book` means the op was
    /// rejected and `journal` was not called; `ApplyError::Journal` means the
    /// journal failed and nothing was applied. `Ok` implies `journal`
    /// succeeded, except for a cancel of an id that is not resting: it
    /// changes nothing, so it is not journaled (`Cancelled(false)`), and
    /// repeated bad cancels cannot grow the journal. Replaying such an entry
    /// from an older journal is still a no-op.
    pub fn apply<E>(
        &mut self,
        op: &Op,
        journal: impl FnOnce(&[u8]) -> Result<(), E>,
    ) -> Result<Outcome, ApplyError<E>> {
        let plan = self.plan(op)?;
        if matches!(&plan, Plan::Cancel(p) if p.finds_nothing()) {
            return Ok(Outcome::Cancelled(false));
        }
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        op.encode(&mut buf);
        let written = journal(&buf);
        self.scratch = buf;
        written.map_err(ApplyError::Journal)?;
        Ok(self.commit(plan))
    }

    /// [`OrderBook::apply`] without a journal (skips encoding).
    pub fn apply_unjournaled(&mut self, op: Op) -> Result<Outcome, BookError> {
        let plan = self.plan_owned(op)?;
        Ok(self.commit(plan))
    }

    /// Decodes one journaled op and applies it (no journal callback).
    /// Applying the same journal to the same starting state reproduces the
    /// same book, fills and time priority: ops are deterministic and carry
    /// their own timestamps.
    pub fn replay(&mut self, encoded: &[u8]) -> Result<Outcome, BookError> {
        let op = Op::decode(encoded)?;
        self.apply_unjournaled(op)
    }

    /// Adds a limit order. If it crosses the opposite best price it first
    /// trades (price-time priority, at the resting orders' prices, taker
    /// id = `id`); any remainder rests with timestamp `ts`. Errors: price or
    /// qty <= 0, `id` already resting, level total overflow.
    pub fn add_order(
        &mut self,
        id: OrderId,
        side: Side,
        price: i64,
        qty: i64,
        ts: i64,
    ) -> Result<Vec<Fill>, BookError> {
        let plan = self.check_add(id, side, price, qty, ts)?;
        Ok(self.commit_add(plan))
    }

    /// Removes a resting order; `Ok(false)` if `id` is not resting.
    pub fn cancel_order(&mut self, id: &OrderId) -> Result<bool, BookError> {
        let plan = self.check_cancel(id);
        Ok(self.commit_cancel(plan))
    }

    /// Fills `qty` of a resting order against an external taker
    /// (`taker_id: None`). A fully filled order leaves the book. Errors:
    /// unknown id, qty <= 0, qty > remaining.
    pub fn execute_order(&mut self, id: &OrderId, qty: i64, ts: i64) -> Result<Fill, BookError> {
        let plan = self.check_execute(id, qty, ts)?;
        Ok(self.commit_execute(plan))
    }

    /// Market order of taker side `side`: walks the opposite side best
    /// price first, FIFO within a level. If the book holds less than `qty`
    /// it fills what exists and the rest is dropped (nothing rests); compare
    /// the summed fill quantities with `qty`. Error: qty <= 0.
    pub fn execute_market_order(&mut self, side: Side, qty: i64, ts: i64) -> Result<Vec<Fill>, BookError> {
        let plan = self.check_market(side, qty, ts)?;
        Ok(self.commit_market(plan))
    }

    /// Changes a resting order's price and/or remaining quantity.
    ///
    /// `new_qty` is the new *remaining* quantity (the original `quantity`
    /// becomes `filled + new_qty`). Reducing it (or leaving it equal) at the
    /// same price keeps time priority and the timestamp. Increasing it, or
    /// changing the price, loses priority: the order moves to the back of
    /// the (new) level with timestamp `ts`. Errors: both `None`, price or
    /// qty <= 0, unknown id, a new price at or through the opposite best
    /// (modifies never trade), quantity overflow.
    pub fn modify_order(
        &mut self,
        id: &OrderId,
        new_price: Option<i64>,
        new_qty: Option<i64>,
        ts: i64,
    ) -> Result<(), BookError> {
        let plan = self.check_modify(id, new_price, new_qty, ts)?;
        self.commit_modify(plan);
        Ok(())
    }
}
