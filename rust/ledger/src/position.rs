//! Average-cost accounting of one position.
//!
//! - Adding to a position (same sign, or from flat) moves the average:
//!   `avg' = (|q|·avg + f·p) / |q + δ|`, rounded half-to-even at 18 decimals (the one
//!   rounding in the ledger).
//! - Reducing realizes `closed × (p − avg)` for a long, `closed × (avg − p)` for a short;
//!   the average is unchanged.
//! - A flip closes the whole old side (realizing as above) and opens the rest at `p`.

use crate::dec::Dec;
use crate::error::LedgerError;
use crate::record::Side;
use crate::state::Position;

/// The position after a fill of `qty` at `price` on `side`, and the P&L it realized.
pub fn after_fill(
    pos: &Position,
    side: Side,
    qty: Dec,
    price: Dec,
    ts_ns: i64,
) -> Result<(Position, Dec), LedgerError> {
    let ovf = |e| LedgerError::dec("position", e);
    let delta = match side {
        Side::Buy => qty,
        Side::Sell => qty.negated(),
    };
    let q = pos.quantity;
    let new_q = q.checked_add(delta).map_err(ovf)?;
    let same_side = q.is_zero() || q.signum() == delta.signum();
    let mut out = Position { quantity: new_q, updated_ns: ts_ns, ..pos.clone() };
    if same_side {
        out.avg_price = Dec::weighted(q.abs(), pos.avg_price, qty, price, new_q.abs()).map_err(ovf)?;
        return Ok((out, Dec::ZERO));
    }
    let closed = if qty < q.abs() { qty } else { q.abs() };
    let per_unit =
        if q.is_positive() { price.checked_sub(pos.avg_price) } else { pos.avg_price.checked_sub(price) };
    let realized = closed.checked_mul(per_unit.map_err(ovf)?).map_err(ovf)?;
    out.realized_pnl = pos.realized_pnl.checked_add(realized).map_err(ovf)?;
    out.avg_price = if new_q.is_zero() {
        Dec::ZERO
    } else if new_q.signum() == q.signum() {
        pos.avg_price
    } else {
        price
    };
    Ok((out, realized))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        Dec::parse(s).unwrap()
    }
    fn fill(p: &Position, side: Side, q: &str, px: &str) -> (Position, Dec) {
        after_fill(p, side, d(q), d(px), 1).unwrap()
    }

    #[test]
    fn adding_moves_the_average_reducing_realizes_and_a_flip_reopens() {
        let p = Position::default();
        let (p, r) = fill(&p, Side::Buy, "1", "100");
        assert_eq!((p.quantity, p.avg_price, r), (d("1"), d("100"), Dec::ZERO));
        let (p, _) = fill(&p, Side::Buy, "3", "120");
        assert_eq!(p.avg_price, d("115"));
        let (p, r) = fill(&p, Side::Sell, "1", "130");
        assert_eq!((p.quantity, p.avg_price, r), (d("3"), d("115"), d("15")));
        // flip: closes 3 at 110 (-15), opens 2 short at 110
        let (p, r) = fill(&p, Side::Sell, "5", "110");
        assert_eq!((p.quantity, p.avg_price, r), (d("-2"), d("110"), d("-15")));
        assert_eq!(p.realized_pnl, Dec::ZERO);
        // short reduced below its average: a gain
        let (p, r) = fill(&p, Side::Buy, "2", "100");
        assert_eq!((p.quantity, p.avg_price, r, p.realized_pnl), (Dec::ZERO, Dec::ZERO, d("20"), d("20")));
    }
}
