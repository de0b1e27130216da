"""The crash drill's trading-state ledger traffic and its independent check.

In the trading process, :class:`LedgerFlow` drives ``pm.ledger`` like an execution layer:
it submits limit orders on one exchange, acknowledges them, fills them (partly or fully)
and hedges every fill with a market order on a second exchange, re-delivers fills already
recorded (as exchanges do after a reconnect: the ledger must return the recorded fill and
journal nothing), cancels, and updates balances. Every call is logged *before* it is made
(``I`` + JSON: method and arguments, timestamps included) and acknowledged *after* it
returns (``A``), with one unbuffered ``write(2)`` each, as the book drill's oplog does.

In the drill, :class:`LedgerModel` rebuilds the expected ledger from the acknowledged calls
alone — an in-memory ledger fed the same calls — and compares it with the recovered one:
same checksum, so the same orders, fills, positions, balances, fees and P&L. The call in
flight at the kill may or may not have reached the journal; the model accepts either and
keeps what recovery showed.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pinnacle import _core
from pinnacle.ledger import Ledger

MAKER, HEDGE, SYMBOL = "binance", "kraken", "BTC-USD"


class LedgerFlow:
    """Ledger operations of one trading process (crash cycle ``cycle``)."""

    def __init__(self, led: Ledger, rng: random.Random, cycle: int, log_path: Path) -> None:
        self.led, self.rng, self.cycle = led, rng, cycle
        self._fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self._n = 0
        # What the flow may act on, from the recovered ledger (then kept up to date).
        self.pending = [o.client_id for o in led.pending_orders if o.exchange == MAKER]
        self.open = {o.client_id: o.remaining_quantity for o in led.open_orders if o.exchange == MAKER}
        self.fills = [(f.client_id, f.trade_id, str(f.price), str(f.quantity)) for f in led.recent_fills][
            -50:
        ]

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        kwargs["timestamp_ns"] = time.time_ns()
        os.write(self._fd, b"I " + json.dumps([method, args, kwargs]).encode() + b"\n")
        out = getattr(self.led, method)(*args, **kwargs)
        os.write(self._fd, b"A\n")
        return out

    def _id(self, tag: str) -> str:
        self._n += 1
        return f"{tag}{self.cycle}-{self._n}"

    def step(self, mid: float) -> None:
        r = self.rng.random()
        if r < 0.3 or not (self.pending or self.open):
            side = self.rng.choice(("buy", "sell"))
            price = f"{mid + (-1 if side == 'buy' else 1) * self.rng.randint(1, 50) * 0.5:.1f}"
            qty = f"{self.rng.randint(1, 40) * 0.005:.3f}"
            cid = self._id("L")
            self._call(
                "submit_order",
                cid,
                symbol=SYMBOL,
                exchange=MAKER,
                side=side,
                order_type="limit",
                price=price,
                quantity=qty,
                strategy_id="mm-1",
            )
            self.pending.append(cid)
        elif r < 0.5 and self.pending:
            cid = self.pending.pop(self.rng.randrange(len(self.pending)))
            o = self._call("ack_order", cid, exchange_order_id=f"x-{cid}")
            self.open[cid] = o.remaining_quantity
        elif r < 0.8 and self.open:
            self._fill(self.rng.choice(sorted(self.open)), mid)
        elif r < 0.88 and self.fills:
            cid, trade, price, qty = self.rng.choice(self.fills)
            self._call("record_fill", cid, trade_id=trade, price=price, quantity=qty)  # re-delivered
        elif r < 0.95 and self.open:
            cid = self.rng.choice(sorted(self.open))
            self._call("cancel_order", cid)
            del self.open[cid]
        else:
            total = self.rng.randint(100_000, 200_000)
            self._call("update_balance", MAKER, "USDT", total=str(total), available=str(total - 5_000))

    def _fill(self, cid: str, mid: float) -> None:
        left = self.open[cid]
        half = (left / 2).quantize(Decimal("0.001"))
        qty = left if self.rng.random() < 0.4 or half <= 0 else half
        o = self.led.order(cid)
        assert o is not None
        price = str(o.price)
        f = self._call(
            "record_fill",
            cid,
            trade_id=self._id("T"),
            price=price,
            quantity=str(qty),
            fee="0.01",
            fee_asset="USDT",
        )
        self.fills = [*self.fills[-49:], (cid, f.trade_id, price, str(qty))]
        self.open[cid] = left - qty
        if self.open[cid] <= 0:
            del self.open[cid]
        hedge = self._id("H")
        side = "sell" if o.side == "buy" else "buy"
        self._call(
            "submit_order",
            hedge,
            symbol=SYMBOL,
            exchange=HEDGE,
            side=side,
            order_type="market",
            quantity=str(qty),
        )
        self._call("ack_order", hedge, exchange_order_id=f"x-{hedge}")
        px = f"{mid + (0.5 if side == 'buy' else -0.5):.1f}"
        self._call(
            "record_fill",
            hedge,
            trade_id=self._id("K"),
            price=px,
            quantity=str(qty),
            fee="0.02",
            fee_asset="USD",
        )


@dataclass
class LedgerCheck:
    ok: bool
    acked: int
    in_flight: str | None
    in_flight_applied: bool
    detail: str


def read_log(path: Path) -> tuple[list[list[Any]], list[Any] | None]:
    """(acknowledged calls, the call in flight or None). A torn last line was never acked."""
    acked: list[list[Any]] = []
    pending: list[Any] | None = None
    text = path.read_bytes().decode() if path.exists() else ""
    lines = text.split("\n")
    for line in lines[:-1]:  # the last piece has no newline: torn or empty
        if line.startswith("I "):
            pending = json.loads(line[2:])
        elif line == "A" and pending is not None:
            acked.append(pending)
            pending = None
    return acked, pending


def _apply(led: Ledger, call: list[Any]) -> None:
    method, args, kwargs = call
    getattr(led, method)(*args, **kwargs)


def _copy(led: Ledger) -> Ledger:
    return Ledger(_core.Ledger.from_state_bytes(led._core.state_bytes()[0]))


class LedgerModel:
    """The ledger the drill expects, built from acknowledged calls only."""

    def __init__(self) -> None:
        self.led = Ledger()

    def check(self, recovered: Ledger, log_path: Path) -> LedgerCheck:
        acked, flight = read_log(log_path)
        for call in acked:
            _apply(self.led, call)
        with_flight: Ledger | None = None
        if flight is not None:
            with_flight = _copy(self.led)
            _apply(with_flight, flight)
        got = recovered.checksum()
        shown = None if flight is None else f"{flight[0]}({flight[1][0] if flight[1] else ''})"
        if got == self.led.checksum():
            return LedgerCheck(True, len(acked), shown, False, "matches")
        if with_flight is not None and got == with_flight.checksum():
            self.led = with_flight
            return LedgerCheck(True, len(acked), shown, True, "matches")
        return LedgerCheck(False, len(acked), shown, False, _difference(self.led, recovered))


def _difference(want: Ledger, got: Ledger) -> str:
    for name in ("orders", "recent_fills", "positions", "balances", "fees", "realized_pnl", "config"):
        a, b = getattr(want, name), getattr(got, name)
        if a != b:
            return f"ledger {name} differ from the acknowledged operations"
    return "ledger checksum differs from the acknowledged operations"


def summary(led: Ledger) -> str:
    """One line of figures: orders, fills, positions, P&L, fees."""
    pos = ", ".join(f"{s}@{e} {p.quantity:+}" for (s, e), p in sorted(led.positions.items()))
    fees = ", ".join(f"{v} {a}" for a, v in sorted(led.fees.items()))
    return (
        f"{len(led.orders)} orders ({len(led.open_orders)} open), {len(led.recent_fills)} fills, "
        f"positions {pos or 'none'}, realized P&L {led.realized_pnl:+}, fees {fees or 'none'}"
    )


__all__ = ["LedgerCheck", "LedgerFlow", "LedgerModel", "read_log", "summary"]
