"""The market maker's position ledger: how position and P&L survive a crash.

The maker's fills happen inside book operations other participants submit, so they cannot
be journaled atomically with them. Instead the maker's position is *derived*, exactly,
from two crash-safe sources:

* the recovered order book: for every maker order still resting, its ``filled_quantity``
  is the truth;
* a small per-symbol :class:`~pinnacle.Journal` (``DATA/maker/SYMBOL.journal``, the
  *ledger*) recording the maker's own decisions: ``PLACED`` (after the add returned, before
  anything else can trade against the order), and, *before* the call, ``CANCEL`` and
  ``REPRICE`` intents carrying the filled quantity at that moment (the process is single
  threaded: nothing trades in between).

A maker order the ledger knows as open but that is no longer in the book was therefore
filled completely (the maker cancels only after logging an intent). The fills of an
order are accounted per *segment* (one price): a reprice closes the segment at the
quantity filled so far. A ``STATE`` entry folds everything into one record (closed totals
plus open segments), after which the ledger is compacted to it.

If the process dies between an intent and its call, the last ledger entry is an intent
that may or may not have been carried out; :func:`recover` settles it against the book
(the order still resting at its old price means it was not). ``ABORT`` undoes an intent
whose call the book refused.

Totals are integers: quantities in lots, notionals in ticks x lots.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from pinnacle._core import Entry, OrderBook, entry_kinds
from pinnacle.sim.market import MAKER_ID_BASE, Instrument

_KINDS = entry_kinds()
KIND_PLACED = _KINDS["sim.placed"]
KIND_CANCEL = _KINDS["sim.cancel-intent"]
KIND_REPRICE = _KINDS["sim.reprice-intent"]
KIND_ABORT = _KINDS["sim.abort"]
KIND_STATE = _KINDS["sim.state"]
KIND_NAMES = {
    KIND_PLACED: "placed",
    KIND_CANCEL: "cancel-intent",
    KIND_REPRICE: "reprice-intent",
    KIND_ABORT: "abort",
    KIND_STATE: "state",
}
"""Entry kinds of a ledger journal (numbers from the registry, ``pinnacle_core::kinds``)."""

_PLACED = struct.Struct("<QBqq")  # id, side, price, qty
_CANCEL = struct.Struct("<Qq")  # id, filled
_REPRICE = struct.Struct("<Qqqq")  # id, filled, new price, new total qty
_ABORT = struct.Struct("<Q")
_STATE_HEAD = struct.Struct("<qqqqI")  # bought, bought notional, sold, sold notional, n open
_STATE_SEG = struct.Struct("<QBqqq")  # id, side, price, qty, base


class Totals(NamedTuple):
    """The maker's traded volume on one symbol: lots and notionals (ticks x lots)."""

    bought: int
    bought_notional: int
    sold: int
    sold_notional: int

    @property
    def position(self) -> int:
        """Net position in lots (positive = long)."""
        return self.bought - self.sold

    def add(self, side: str, price: int, lots: int) -> Totals:
        """These totals plus one maker fill (``side`` is the maker order's side)."""
        if side == "buy":
            return self._replace(
                bought=self.bought + lots, bought_notional=self.bought_notional + price * lots
            )
        return self._replace(sold=self.sold + lots, sold_notional=self.sold_notional + price * lots)

    def pnl(self, inst: Instrument, mid_ticks: int | None) -> tuple[float, float]:
        """(realized, unrealized) P&L in quote currency, average-price method: the
        matched volume realizes (average sell - average buy); the open position is marked
        at ``mid_ticks`` against the average price of its side. Their sum is
        cash + position x mid, whatever the order of the fills. Without a mid
        (``None``: a one-sided book) the unrealized P&L is 0."""
        scale = float(inst.tick * inst.lot)
        matched = min(self.bought, self.sold)
        avg_b = self.bought_notional / self.bought if self.bought else 0.0
        avg_s = self.sold_notional / self.sold if self.sold else 0.0
        realized = matched * (avg_s - avg_b)
        pos, unrealized = self.position, 0.0
        if mid_ticks is not None and pos > 0:
            unrealized = pos * (mid_ticks - avg_b)
        elif mid_ticks is not None and pos < 0:
            unrealized = -pos * (avg_s - mid_ticks)
        return realized * scale, unrealized * scale


ZERO = Totals(0, 0, 0, 0)


@dataclass
class Segment:
    """An open maker order as the ledger knows it: fills below ``base`` are already in
    the closed totals; those above it (up to ``qty``) happen at ``price``."""

    side: str
    price: int
    qty: int
    """Total quantity in lots (filled + remaining)."""
    base: int = 0


@dataclass
class MakerState:
    """Closed totals plus open segments, and the undo record of the last intent."""

    closed: Totals = ZERO
    open: dict[int, Segment] = field(default_factory=dict)
    _undo: tuple[int, Segment, Totals] | None = None

    # ---- transitions (each one is also a ledger entry, except filled_out)

    def placed(self, order_id: int, side: str, price: int, qty: int) -> None:
        """A maker order now rests (nothing filled yet)."""
        self.open[order_id] = Segment(side, price, qty)
        self._undo = None

    def _close_segment(self, order_id: int, filled: int) -> Segment:
        seg = self.open[order_id]
        self._undo = (order_id, replace(seg), self.closed)
        if filled > seg.base:
            self.closed = self.closed.add(seg.side, seg.price, filled - seg.base)
        return seg

    def cancel(self, order_id: int, filled: int) -> None:
        """Intent: the order is about to be cancelled with ``filled`` lots filled."""
        self._close_segment(order_id, filled)
        del self.open[order_id]

    def reprice(self, order_id: int, filled: int, price: int, qty: int) -> None:
        """Intent: the order is about to move to ``price`` with total quantity ``qty``."""
        seg = self._close_segment(order_id, filled)
        seg.base, seg.price, seg.qty = filled, price, qty

    def abort(self) -> None:
        """The last intent's call was refused: undo it."""
        if self._undo is not None:
            order_id, seg, closed = self._undo
            self.open[order_id], self.closed = seg, closed
        self._undo = None

    def filled_out(self, order_id: int) -> None:
        """The order left the book without a cancel: it filled completely."""
        seg = self.open.pop(order_id)
        self.closed = self.closed.add(seg.side, seg.price, seg.qty - seg.base)
        self._undo = None

    # ---- reading

    def totals(self, book: OrderBook, inst: Instrument) -> Totals:
        """Closed totals plus the fills of the open orders, read from ``book``."""
        t = self.closed
        for order_id, seg in self.open.items():
            o = book.get_order(order_id)
            filled = seg.qty if o is None else inst.lots(o.filled_quantity)
            if filled > seg.base:
                t = t.add(seg.side, seg.price, filled - seg.base)
        return t

    # ---- encoding

    def encode(self) -> bytes:
        """The ``STATE`` entry payload."""
        out = [_STATE_HEAD.pack(*self.closed, len(self.open))]
        for i, s in sorted(self.open.items()):
            out.append(_STATE_SEG.pack(i, s.side == "sell", s.price, s.qty, s.base))
        return b"".join(out)

    @classmethod
    def decode(cls, payload: bytes) -> MakerState:
        """The state a ``STATE`` payload holds."""
        *closed, n = _STATE_HEAD.unpack_from(payload)
        st = cls(Totals(*closed))
        for k in range(n):
            i, sell, price, qty, base = _STATE_SEG.unpack_from(
                payload, _STATE_HEAD.size + k * _STATE_SEG.size
            )
            st.open[i] = Segment("sell" if sell else "buy", price, qty, base)
        return st


def encode_placed(order_id: int, side: str, price: int, qty: int) -> bytes:
    """``PLACED`` payload."""
    return _PLACED.pack(order_id, side == "sell", price, qty)


def encode_cancel(order_id: int, filled: int) -> bytes:
    """``CANCEL`` intent payload."""
    return _CANCEL.pack(order_id, filled)


def encode_reprice(order_id: int, filled: int, price: int, qty: int) -> bytes:
    """``REPRICE`` intent payload."""
    return _REPRICE.pack(order_id, filled, price, qty)


def encode_abort(order_id: int) -> bytes:
    """``ABORT`` payload."""
    return _ABORT.pack(order_id)


def describe(kind: int, payload: bytes) -> str:
    """A ledger entry in words (for ``pinnacle inspect --entries``)."""
    try:
        if kind == KIND_PLACED:
            i, sell, p, q = _PLACED.unpack(payload)
            return f"placed #{i} {'sell' if sell else 'buy'} {q} lots @ {p} ticks"
        if kind == KIND_CANCEL:
            i, f = _CANCEL.unpack(payload)
            return f"cancel intent #{i} (filled {f} lots)"
        if kind == KIND_REPRICE:
            i, f, p, q = _REPRICE.unpack(payload)
            return f"reprice intent #{i} to {q} lots @ {p} ticks (filled {f} lots)"
        if kind == KIND_ABORT:
            return f"abort #{_ABORT.unpack(payload)[0]}"
        if kind == KIND_STATE:
            st = MakerState.decode(payload)
            return f"state: position {st.closed.position} lots closed, {len(st.open)} open orders"
    except struct.error:
        return f"malformed {KIND_NAMES.get(kind, kind)} payload ({len(payload)} bytes)"
    return f"kind {kind} ({len(payload)} bytes)"


def fold(entries: Iterable[Entry]) -> MakerState:
    """Replays ledger entries (from the newest ``STATE`` on, or from the start)."""
    st = MakerState()
    for e in entries:
        p = e.payload
        if e.kind == KIND_STATE:
            st = MakerState.decode(p)
        elif e.kind == KIND_PLACED:
            i, sell, price, qty = _PLACED.unpack(p)
            st.placed(i, "sell" if sell else "buy", price, qty)
        elif e.kind == KIND_CANCEL:
            i, filled = _CANCEL.unpack(p)
            if i in st.open:
                st.cancel(i, filled)
            else:
                st._undo = None
        elif e.kind == KIND_REPRICE:
            i, filled, price, qty = _REPRICE.unpack(p)
            if i in st.open:
                st.reprice(i, filled, price, qty)
            else:
                st._undo = None
        elif e.kind == KIND_ABORT:
            st.abort()
    return st


def recover(entries: Iterable[Entry], book: OrderBook, inst: Instrument) -> MakerState:
    """The maker's state after a crash: the ledger folded, the last intent settled
    against ``book``, maker orders the ledger never saw adopted, and orders gone from the
    book accounted as completely filled. Afterwards ``open`` is exactly the set of maker
    orders resting in ``book``."""
    st = fold(entries)
    if st._undo is not None:  # the process died between an intent and its call (or just after)
        order_id, before, _ = st._undo
        o = book.get_order(order_id)
        if o is not None and inst.ticks(o.price) == before.price:
            st.abort()  # still resting at its old price: the call never happened
    resting = {
        o.order_id: o for o in book.orders() if isinstance(o.order_id, int) and o.order_id >= MAKER_ID_BASE
    }
    for order_id in [i for i in st.open if i not in resting]:
        st.filled_out(order_id)
    for order_id, o in resting.items():
        if isinstance(order_id, int) and order_id not in st.open:  # placed, died before PLACED
            st.open[order_id] = Segment(o.side, inst.ticks(o.price), inst.lots(o.quantity))
    st._undo = None
    return st


__all__ = [
    "KIND_ABORT",
    "KIND_CANCEL",
    "KIND_NAMES",
    "KIND_PLACED",
    "KIND_REPRICE",
    "KIND_STATE",
    "ZERO",
    "MakerState",
    "Segment",
    "Totals",
    "describe",
    "encode_abort",
    "encode_cancel",
    "encode_placed",
    "encode_reprice",
    "fold",
    "recover",
]
