"""Instruments, order-book operations as data, and the simulated exchange participants.

Prices are integer ticks and quantities integer lots everywhere in the simulation; the
books see exact ``Decimal`` values (``ticks * tick_size``), so nothing is ever rounded.
"""

from __future__ import annotations

import random
import zlib
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, NamedTuple

from pinnacle._core import Fill, OrderBook
from pinnacle.paths import validate_symbol

MAKER_ID_BASE = 1 << 48
"""Order ids at or above this belong to the market maker; below it, to other participants."""

ID_SPACE_PER_CYCLE = 1_000_000_000
"""Each trading process numbers its orders ``cycle * ID_SPACE_PER_CYCLE + n``: ids never
repeat across restarts without any counter having to be persisted."""


@dataclass(frozen=True)
class Instrument:
    """A tradable symbol: its grid, where its price starts and how the maker quotes it."""

    symbol: str
    tick: Decimal
    """Price increment (``OrderBook`` tick_size)."""
    lot: Decimal
    """Quantity increment (``OrderBook`` lot_size)."""
    start_ticks: int
    """Initial mid price, in ticks."""
    quote_lots: int
    """Size of each maker quote, in lots."""
    step_ticks: float
    """Standard deviation of one random-walk step of the mid, in ticks."""

    def price(self, ticks: int) -> Decimal:
        """The exact price of ``ticks``."""
        return Decimal(ticks) * self.tick

    def qty(self, lots: int) -> Decimal:
        """The exact quantity of ``lots``."""
        return Decimal(lots) * self.lot

    def ticks(self, price: float) -> int:
        """Integer ticks of a price the book returned (as a float)."""
        return round(Decimal(repr(price)) / self.tick)

    def lots(self, quantity: float) -> int:
        """Integer lots of a quantity the book returned (as a float)."""
        return round(Decimal(repr(quantity)) / self.lot)

    def new_book(self) -> OrderBook:
        """A fresh, unjournaled book on this instrument's grid."""
        return OrderBook(self.symbol, self.tick, self.lot)


_KNOWN: dict[str, tuple[str, str, str, int, float]] = {
    # symbol: tick, lot, start price, quote size (lots), step (ticks)
    "BTC-USD": ("0.01", "0.001", "30000.00", 50, 40.0),
    "ETH-USD": ("0.01", "0.01", "2000.00", 100, 8.0),
    "SOL-USD": ("0.01", "0.1", "150.00", 50, 3.0),
}


def instrument(symbol: str) -> Instrument:
    """The instrument of ``symbol``: BTC-USD, ETH-USD and SOL-USD have realistic grids;
    any other valid symbol gets tick 0.01, lot 1 and a start price derived from its name."""
    validate_symbol(symbol)
    tick, lot, start, size, step = _KNOWN.get(
        symbol, ("0.01", "1", f"{50 + zlib.crc32(symbol.encode()) % 450}.00", 10, 4.0)
    )
    t = Decimal(tick)
    return Instrument(symbol, t, Decimal(lot), int(Decimal(start) / t), size, step)


class Op(NamedTuple):
    """One order-book operation, as recorded in the acknowledgement log and replayed on
    the reference books. Prices in ticks, quantities in lots, 0 = not applicable."""

    symbol: str
    kind: str
    """``add``, ``cancel``, ``modify`` or ``market``."""
    order_id: int
    side: str
    """``buy``/``sell`` (add, market) or ``-``."""
    price: int
    qty: int
    """add: quantity; modify: new remaining quantity; market: quantity."""
    ts: int

    def describe(self, inst: Instrument | None = None) -> str:
        """A short human-readable form."""
        px = str(inst.price(self.price)) if inst else f"{self.price} ticks"
        q = str(inst.qty(self.qty)) if inst else f"{self.qty} lots"
        who = "maker" if self.order_id >= MAKER_ID_BASE else "participant"
        if self.kind == "add":
            return f"{self.symbol} add {who} #{self.order_id} {self.side} {q} @ {px}"
        if self.kind == "cancel":
            return f"{self.symbol} cancel {who} #{self.order_id}"
        if self.kind == "modify":
            return f"{self.symbol} modify {who} #{self.order_id} to {q} @ {px}"
        return f"{self.symbol} market {self.side} {q}"


def apply_op(book: OrderBook, inst: Instrument, op: Op) -> list[Fill]:
    """Applies ``op`` to ``book``; returns the fills it caused. Raises ``OrderBookError``
    (changing nothing) when the book refuses it."""
    side: Literal["buy", "sell"] = "sell" if op.side == "sell" else "buy"
    if op.kind == "add":
        return book.add_order(op.order_id, side, inst.price(op.price), inst.qty(op.qty), op.ts)
    if op.kind == "cancel":
        book.cancel_order(op.order_id, op.ts)
        return []
    if op.kind == "modify":
        book.modify_order(op.order_id, inst.price(op.price), inst.qty(op.qty), op.ts)
        return []
    if op.kind == "market":
        return book.execute_market_order(side, inst.qty(op.qty), op.ts)
    raise ValueError(f"unknown operation kind {op.kind!r}")


class RandomWalk:
    """The fair mid price of one instrument: a Gaussian random walk in ticks, pulled
    gently back towards where it started so a long run stays plausible."""

    def __init__(self, inst: Instrument, rng: random.Random, start_ticks: int | None = None) -> None:
        """Starts at ``start_ticks`` (default: the instrument's start price)."""
        self.inst = inst
        self._rng = rng
        self.value = float(start_ticks if start_ticks is not None else inst.start_ticks)

    def step(self) -> int:
        """Moves one step; returns the new mid in whole ticks (always >= 10)."""
        drift = (self.inst.start_ticks - self.value) * 1e-4
        self.value = max(10.0, self.value + drift + self._rng.gauss(0.0, self.inst.step_ticks))
        return round(self.value)


class Participants:
    """The other side of the exchange for one instrument: passive limit orders around
    the mid, aggressive limit orders and market orders that trade through the maker's
    quotes, and cancels of their own resting orders (oldest first, so the book stays
    bounded)."""

    MAX_RESTING = 80

    def __init__(self, inst: Instrument, rng: random.Random, cycle: int) -> None:
        """Order ids start at ``cycle * ID_SPACE_PER_CYCLE``."""
        self.inst = inst
        self._rng = rng
        self._next_id = cycle * ID_SPACE_PER_CYCLE
        self._resting: deque[int] = deque()

    def adopt(self, book: OrderBook) -> None:
        """Takes over the participant orders resting in a recovered book (so they get
        cancelled in due course)."""
        ids = [
            o.order_id for o in book.orders() if isinstance(o.order_id, int) and o.order_id < MAKER_ID_BASE
        ]
        self._resting.extend(sorted(i for i in ids if isinstance(i, int)))

    def next_op(self, mid: int, ts: int) -> Op:
        """The next participant action against a fair mid of ``mid`` ticks."""
        rng, inst = self._rng, self.inst
        side = rng.choice(("buy", "sell"))
        sign = 1 if side == "buy" else -1
        r = rng.random()
        if len(self._resting) > self.MAX_RESTING or (r < 0.18 and self._resting):
            return Op(inst.symbol, "cancel", self._resting.popleft(), "-", 0, 0, ts)
        qty = max(1, round(inst.quote_lots * rng.choice((0.2, 0.5, 1.0, 1.5, 3.0))))
        if r < 0.30:
            return Op(inst.symbol, "market", 0, side, 0, qty, ts)
        self._next_id += 1
        if r < 0.48:  # aggressive: crosses the spread by a few ticks
            price = mid + sign * rng.randint(2, 30)
        else:  # passive: rests a few ticks away from the mid
            price = mid - sign * rng.randint(3, 60)
        self._resting.append(self._next_id)
        return Op(inst.symbol, "add", self._next_id, side, max(1, price), qty, ts)


__all__ = [
    "ID_SPACE_PER_CYCLE",
    "MAKER_ID_BASE",
    "Instrument",
    "Op",
    "Participants",
    "RandomWalk",
    "apply_op",
    "instrument",
]
