"""The drill's reference state: the acknowledged operations replayed on fresh,
unjournaled books, and the comparison with what recovery produced.

The maker's position is recomputed here from the *fills* the replayed operations produce
(any fill whose resting order is the maker's), which shares nothing with the ledger the
trading process keeps: the two must agree to the lot.
"""

from __future__ import annotations

from dataclasses import dataclass

from pinnacle._core import Fill, OrderBook
from pinnacle.errors import OrderBookError
from pinnacle.sim.ledger import ZERO, Totals
from pinnacle.sim.market import MAKER_ID_BASE, Instrument, Op, apply_op


def maker_fills(inst: Instrument, totals: Totals, fills: list[Fill]) -> Totals:
    """``totals`` plus every fill in ``fills`` whose resting (maker) order is the maker's."""
    for f in fills:
        if isinstance(f.maker_order_id, int) and f.maker_order_id >= MAKER_ID_BASE:
            totals = totals.add(f.side, inst.ticks(f.price), inst.lots(f.quantity))
    return totals


def order_rows(book: OrderBook) -> list[tuple[object, ...]]:
    """Every resting order as a comparable tuple, in priority order."""
    return [
        (o.order_id, o.side, o.price, o.quantity, o.filled_quantity, o.timestamp_ns) for o in book.orders()
    ]


def describe_difference(got: OrderBook, want: OrderBook) -> str:
    """The first difference between two books, in words."""
    a, b = order_rows(got), order_rows(want)
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"order #{i + 1} in priority order: recovered {x}, expected {y}"
    if len(a) != len(b):
        return f"recovered {len(a)} resting orders, expected {len(b)}"
    return "the books differ"


@dataclass
class SymbolCheck:
    """The outcome of comparing one recovered symbol with the reference."""

    symbol: str
    ok: bool
    book_ok: bool
    totals_ok: bool
    in_flight_applied: bool
    """The recovered state includes the operation that was in flight."""
    totals: Totals
    """The maker's recovered totals."""
    expected: Totals
    orders: int = 0
    """Resting orders in the recovered book."""
    detail: str = ""


class Reference:
    """One symbol's reference book and maker totals."""

    def __init__(self, inst: Instrument) -> None:
        """Starts from an empty book and a flat position."""
        self.inst = inst
        self.book = inst.new_book()
        self.totals = ZERO
        self.applied = 0

    def apply(self, op: Op) -> None:
        """Applies an acknowledged operation. A refusal means the reference diverged from
        the trading process: it raises ``OrderBookError``."""
        self.totals = maker_fills(self.inst, self.totals, apply_op(self.book, self.inst, op))
        self.applied += 1

    def check(self, book: OrderBook, totals: Totals, in_flight: Op | None) -> SymbolCheck:
        """Compares a recovered book and maker totals with the acknowledged state, or with
        the acknowledged state plus ``in_flight`` (either is correct). On a match the
        reference becomes the matching state. A mismatch is described against the
        candidate whose book matches, if one does."""
        s = self.inst.symbol
        candidates = [(self.book, self.totals, False)]
        if in_flight is not None:
            alt, alt_totals = self.book.copy(), self.totals
            try:
                alt_totals = maker_fills(self.inst, alt_totals, apply_op(alt, self.inst, in_flight))
            except OrderBookError:
                pass  # the book would have refused it: same state as without it
            candidates.append((alt, alt_totals, True))
        for want, want_totals, applied in candidates:
            if book == want and totals == want_totals:
                self.book, self.totals = want, want_totals
                return SymbolCheck(s, True, True, True, applied, totals, want_totals, len(book))
        for want, want_totals, applied in candidates:
            if book == want:
                why = f"maker totals {tuple(totals)} recovered, {tuple(want_totals)} expected"
                return SymbolCheck(s, False, True, False, applied, totals, want_totals, len(book), why)
        detail = [describe_difference(book, self.book)]
        if totals != self.totals:
            detail.append(f"maker totals {tuple(totals)} recovered, {tuple(self.totals)} expected")
        ok_totals = totals == self.totals
        return SymbolCheck(
            s, False, False, ok_totals, False, totals, self.totals, len(book), "; ".join(detail)
        )


__all__ = ["Reference", "SymbolCheck", "describe_difference", "maker_fills", "order_rows"]
