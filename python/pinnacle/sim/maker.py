"""The simulated market maker: two-sided quotes around a random-walk mid, skewed by
inventory, repriced when the mid moves, cancelled and replaced when stale; position and
P&L kept in its crash-safe ledger (:mod:`pinnacle.sim.ledger`).

Every book call goes through :func:`submit`, which writes the acknowledgement log around
it and keeps the ledger's write order: ledger intents *before* the call, ``PLACED``
*after* it, ``ABORT`` when the book refuses.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path

from pinnacle._core import Fill, Journal, OrderBook
from pinnacle.config import SyncMode
from pinnacle.errors import OrderBookError
from pinnacle.paths import make_private_dir, validate_symbol
from pinnacle.sim import ledger
from pinnacle.sim.ledger import MakerState, Totals
from pinnacle.sim.market import ID_SPACE_PER_CYCLE, MAKER_ID_BASE, Instrument, Op, RandomWalk, apply_op
from pinnacle.sim.oplog import OpLogWriter

LEDGER_DIR = "maker"
"""The ledgers live in ``DATA/maker/SYMBOL.journal`` (outside ``journals/``, which holds
only book journals)."""

STATE_EVERY = 400
"""Ledger entries between two ``STATE`` entries (after each, the ledger is compacted)."""


def ledger_path(data_dir: str | os.PathLike[str], symbol: str) -> Path:
    """``DATA/maker/SYMBOL.journal``."""
    return Path(data_dir) / LEDGER_DIR / f"{validate_symbol(symbol)}.journal"


def open_ledger(data_dir: str | os.PathLike[str], symbol: str, sync: SyncMode = "none") -> Journal:
    """Opens (creating) the maker ledger of ``symbol``; opening cuts a torn tail."""
    path = ledger_path(data_dir, symbol)
    make_private_dir(path.parent)
    return Journal(path, sync=sync, sync_interval_ms=10, initial_size=65536)


def submit(
    log: OpLogWriter,
    book: OrderBook,
    inst: Instrument,
    op: Op,
    before: Callable[[], None] | None = None,
    after: Callable[[], None] | None = None,
    refused: Callable[[], None] | None = None,
) -> list[Fill] | None:
    """Intent, ``before``, the call, ``after``, acknowledgement. Returns the fills, or
    None when the book refused the operation (``refused`` runs, then ``X`` is logged)."""
    log.intent(op)
    if before is not None:
        before()
    try:
        fills = apply_op(book, inst, op)
    except OrderBookError:
        if refused is not None:
            refused()
        log.refused()
        return None
    if after is not None:
        after()
    log.ack()
    return fills


class MarketMaker:
    """Quotes one instrument. Single-threaded: call :meth:`refresh` from the trading loop."""

    STALE_S = 0.5
    """A quote resting (unchanged) longer than this is cancelled and replaced."""

    def __init__(
        self,
        inst: Instrument,
        book: OrderBook,
        journal: Journal,
        state: MakerState,
        log: OpLogWriter,
        rng: random.Random,
        cycle: int,
    ) -> None:
        """Takes over ``state`` (as :func:`pinnacle.sim.ledger.recover` returned it: its
        open orders are the maker's orders resting in ``book``) and writes a ``STATE``
        entry at once, so the ledger's history starts from the settled state."""
        self.inst, self.book, self.journal, self.state = inst, book, journal, state
        self._log, self._rng = log, rng
        self._next_id = MAKER_ID_BASE + cycle * ID_SPACE_PER_CYCLE
        mid = book.mid_price
        self.walk = RandomWalk(inst, rng, inst.ticks(mid) if mid is not None else None)
        self.mid = round(self.walk.value)
        self.half_spread = max(2, round(inst.step_ticks * 1.5))
        self.quotes: dict[str, int | None] = {"buy": None, "sell": None}
        self._placed_at: dict[int, float] = {}
        self._orphans: list[int] = []
        for order_id in sorted(state.open):
            side = state.open[order_id].side
            old = self.quotes[side]
            if old is not None:
                self._orphans.append(old)
            self.quotes[side] = order_id
            self._placed_at[order_id] = 0.0
        self._entries = 0
        self.checkpoint()

    # ---------------------------------------------------------------- ledger

    def _append(self, kind: int, payload: bytes) -> None:
        self.journal.append(kind, payload)
        self._entries += 1

    def checkpoint(self) -> None:
        """Writes a ``STATE`` entry and compacts the ledger to it."""
        seq = self.journal.append(ledger.KIND_STATE, self.state.encode())
        self.journal.compact(seq)
        self._entries = 0

    # --------------------------------------------------------------- reading

    def totals(self) -> Totals:
        """Traded volume so far (closed segments plus fills of resting quotes)."""
        return self.state.totals(self.book, self.inst)

    # --------------------------------------------------------------- quoting

    def _targets(self, position: int) -> dict[str, int]:
        inst, h = self.inst, self.half_spread
        skew = -round(position / inst.quote_lots * h / 2)
        skew = max(-3 * h, min(3 * h, skew))
        bid, ask = self.mid - h + skew, self.mid + h + skew
        best_bid, best_ask = self.book.best_bid, self.book.best_ask
        if best_ask is not None:
            bid = min(bid, inst.ticks(best_ask) - 1)  # never cross: the maker only makes
        if best_bid is not None:
            ask = max(ask, inst.ticks(best_bid) + 1)
        return {"buy": max(1, bid), "sell": max(2, ask)}

    def _ts(self) -> int:
        return time.time_ns()

    def _place(self, side: str, price: int) -> None:
        self._next_id += 1
        order_id, qty = self._next_id, self.inst.quote_lots
        op = Op(self.inst.symbol, "add", order_id, side, price, qty, self._ts())

        def placed() -> None:
            self.state.placed(order_id, side, price, qty)
            self._append(ledger.KIND_PLACED, ledger.encode_placed(order_id, side, price, qty))

        if submit(self._log, self.book, self.inst, op, after=placed) is not None:
            self.quotes[side] = order_id
            self._placed_at[order_id] = time.monotonic()

    def _cancel(self, order_id: int, filled: int) -> None:
        op = Op(self.inst.symbol, "cancel", order_id, "-", 0, 0, self._ts())

        def intent() -> None:
            self._append(ledger.KIND_CANCEL, ledger.encode_cancel(order_id, filled))
            self.state.cancel(order_id, filled)

        submit(self._log, self.book, self.inst, op, before=intent, refused=self._abort(order_id))
        self._placed_at.pop(order_id, None)

    def _reprice(self, order_id: int, filled: int, price: int) -> None:
        remaining = self.inst.quote_lots
        op = Op(self.inst.symbol, "modify", order_id, "-", price, remaining, self._ts())

        def intent() -> None:
            self._append(
                ledger.KIND_REPRICE, ledger.encode_reprice(order_id, filled, price, filled + remaining)
            )
            self.state.reprice(order_id, filled, price, filled + remaining)

        if (
            submit(self._log, self.book, self.inst, op, before=intent, refused=self._abort(order_id))
            is not None
        ):
            self._placed_at[order_id] = time.monotonic()

    def _abort(self, order_id: int) -> Callable[[], None]:
        def abort() -> None:
            self._append(ledger.KIND_ABORT, ledger.encode_abort(order_id))
            self.state.abort()

        return abort

    def refresh(self) -> None:
        """Moves the mid one step and brings both quotes in line: a quote that filled
        completely is replaced, one off target is modified (or, when stale, cancelled
        and replaced)."""
        while self._orphans:
            orphan = self._orphans.pop()
            resting = self.book.get_order(orphan)
            if resting is None:
                self.state.filled_out(orphan)
            else:
                self._cancel(orphan, self.inst.lots(resting.filled_quantity))
        self.mid = self.walk.step()
        for side in ("buy", "sell"):
            oid = self.quotes[side]
            o = self.book.get_order(oid) if oid is not None else None
            if oid is not None and o is None:
                self.state.filled_out(oid)  # filled completely by other participants
                self._placed_at.pop(oid, None)
                self.quotes[side] = oid = None
            target = self._targets(self.totals().position)[side]
            if oid is None or o is None:
                self._place(side, target)
                continue
            off = abs(self.inst.ticks(o.price) - target) >= max(1, self.half_spread // 2)
            stale = time.monotonic() - self._placed_at.get(oid, 0.0) > self.STALE_S
            filled = self.inst.lots(o.filled_quantity)
            if stale or (off and self._rng.random() < 0.25):  # cancel and replace
                self.quotes[side] = None
                self._cancel(oid, filled)
                self._place(side, self._targets(self.totals().position)[side])
            elif off:
                self._reprice(oid, filled, target)
        if self._entries >= STATE_EVERY:
            self.checkpoint()


__all__ = ["LEDGER_DIR", "STATE_EVERY", "MarketMaker", "ledger_path", "open_ledger", "submit"]
