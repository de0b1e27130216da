"""Shared by the test_reliability_* files: random order-book operations as JSON-able lists
(so a child process can report them and the parent replay them), a reference model built
from unjournaled OrderBooks, forked children that report over a pipe, and recovery checks.

An op is ``[kind, symbol, ...]``; every op carries its own timestamp, so replaying the same
ops on a fresh unjournaled book gives the same book as the journaled one.
"""

from __future__ import annotations

import json
import os
import select
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from random import Random
from typing import Any

from pinnacle import OrderBook, OrderBookError, PersistenceConfig, PersistenceManager, RecoveryInfo

Op = list[Any]

# symbol -> (tick size, lot size): three different grids, symbol names with . - _
GRIDS: dict[str, tuple[str, str]] = {"AAA": ("0.01", "1"), "BB.B-2": ("0.5", "0.1"), "C_C": ("5", "10")}

PLAIN = PersistenceConfig(snapshot_interval_min=0, journal_sync_mode="none")
"""For recovering in the parent: no maintenance, no syncing."""


def price(symbol: str, ticks: int) -> str:
    return str(Decimal(ticks) * Decimal(GRIDS[symbol][0]))


def qty(symbol: str, lots: int) -> str:
    return str(Decimal(lots) * Decimal(GRIDS[symbol][1]))


def lots(symbol: str, quantity: float) -> int:
    return round(Decimal(str(quantity)) / Decimal(GRIDS[symbol][1]))


def new_id(rng: Random, i: int) -> int | str:
    """A fresh id: int, its decimal string (a different id), a short string, a 64-byte one."""
    r = rng.random()
    if r < 0.55:
        return i
    if r < 0.7:
        return str(i)
    if r < 0.9:
        return f"o-{i}"
    s = f"{i}é"
    return s + "x" * (64 - len(s.encode()))


def gen_op(rng: Random, book: OrderBook, i: int) -> Op:
    """A random op on ``book`` with timestamp ``i`` (ids made from ``i`` are fresh). About
    one in ten is refused by the book (duplicate id, overfill, crossing modify, unknown id)."""
    s = book.symbol
    orders = book.orders()
    side = rng.choice(["buy", "sell"])
    r = rng.random()
    if r < 0.03 and orders:  # refused: duplicate id
        return ["add", s, rng.choice(orders).order_id, side, price(s, 1000), qty(s, 1), i]
    if r < 0.5 or not orders:
        p, n = price(s, rng.randint(985, 1015)), qty(s, rng.randint(1, 9))
        return ["add", s, new_id(rng, i), side, p, n, i]
    o = rng.choice(orders)
    if r < 0.62:
        oid = o.order_id if rng.random() < 0.9 else f"gone-{i}"  # an unknown id: a journaled no-op
        return ["cancel", s, oid, i]
    if r < 0.74:
        rem = lots(s, o.remaining_quantity)
        n = rem + 1 if rng.random() < 0.08 else rng.randint(1, rem)  # rem + 1: refused
        return ["exec", s, o.order_id, qty(s, n), i]
    if r < 0.82:
        return ["market", s, side, qty(s, rng.randint(1, 15)), i]
    new_price = price(s, rng.randint(985, 1015)) if rng.random() < 0.6 else None
    new_qty = qty(s, rng.randint(1, 9)) if new_price is None or rng.random() < 0.5 else None
    oid = o.order_id if rng.random() < 0.95 else f"gone-{i}"
    return ["modify", s, oid, new_price, new_qty, i]


def apply_op(book: OrderBook, op: Op) -> Any:
    """Applies ``op`` to ``book`` and returns what the call returned (fills, a bool or
    None); a refused op raises OrderBookError and changes nothing."""
    kind = op[0]
    if kind == "add":
        return book.add_order(op[2], op[3], op[4], op[5], timestamp_ns=op[6])
    if kind == "cancel":
        return book.cancel_order(op[2], timestamp_ns=op[3])
    if kind == "exec":
        return book.execute_order(op[2], op[3], timestamp_ns=op[4])
    if kind == "market":
        return book.execute_market_order(op[2], op[3], timestamp_ns=op[4])
    if kind == "modify":
        return book.modify_order(op[2], price=op[3], quantity=op[4], timestamp_ns=op[5])
    raise AssertionError(f"unknown op {op!r}")


def fresh_model() -> dict[str, OrderBook]:
    return {s: OrderBook(s, t, lot) for s, (t, lot) in GRIDS.items()}


def apply_acked(model: dict[str, OrderBook], op: Op, outcome: str) -> None:
    """Replays an op the child acknowledged: "A" must apply, "E" must be refused here too."""
    book = model[op[1]]
    if outcome == "A":
        apply_op(book, op)
        return
    probe = book.copy()
    try:
        apply_op(probe, op)
    except OrderBookError:
        return
    raise AssertionError(f"{op!r} was refused in the child but applies to the model")


def with_op(book: OrderBook, op: Op) -> OrderBook:
    """``book`` after ``op`` (a copy; unchanged if the op is refused)."""
    out = book.copy()
    try:
        apply_op(out, op)
    except OrderBookError:
        pass
    return out


def recover(data: Path) -> tuple[dict[str, OrderBook], dict[str, RecoveryInfo]]:
    """Recovers ``data`` in a fresh manager and shuts it down: (book copies, how)."""
    with PersistenceManager(data, PLAIN, maintenance=False) as pm:
        pm.recover_state()
        books = {s: b.copy() for s, b in pm.get_all_recovered_order_books().items()}
        return books, pm.last_recovery


def check_recovered(
    got: dict[str, OrderBook], model: dict[str, OrderBook], inflight: Op | dict[str, Op] | None, where: str
) -> None:
    """Every symbol recovered equals the model (a symbol not on disk is empty), or, for the
    symbol of an op in flight (at most one per symbol), the model plus that op; the model
    then takes the op."""
    if inflight is None:
        inflight = {}
    elif isinstance(inflight, list):
        inflight = {inflight[1]: inflight}
    assert set(got) <= set(model), f"{where}: unexpected symbols {sorted(set(got) - set(model))}"
    for s, want in model.items():
        have = got.get(s)
        if have is None:
            have = OrderBook(s, *GRIDS[s])
        if have == want:
            continue
        op = inflight.get(s)
        assert op is not None, (
            f"{where}: {s} recovered {have.orders()} but the acknowledged state is {want.orders()}"
        )
        alt = with_op(want, op)
        assert have == alt, (
            f"{where}: {s} is neither the acknowledged state nor it plus the in-flight op {op!r}"
            f"\n recovered {have.orders()}\n acked     {want.orders()}\n +inflight {alt.orders()}"
        )
        model[s] = alt


def check_recovery_idempotent(data: Path, where: str) -> tuple[dict[str, OrderBook], dict[str, RecoveryInfo]]:
    """Recovers twice (each in its own manager); both must give the same books, and no
    snapshot may have been unusable (kill -9 never tears a renamed file, and compaction
    never drops entries a retained snapshot needs)."""
    got, infos = recover(data)
    again, _ = recover(data)
    assert again == got, f"{where}: recovering twice gave different books"
    for info in infos.values():
        bad = [p for p in info.problems if p.startswith(("Snapshot ", "Skipping snapshot"))]
        assert not bad, f"{where}: {info.symbol}: a snapshot was unusable: {bad}"
    return got, infos


# ------------------------------------------------------------------ forked children


class Pipe:
    """The child's side: one ``os.write`` per line (atomic below PIPE_BUF, so lines written
    by two threads never interleave)."""

    def __init__(self, wfd: int, rfd: int) -> None:
        self.wfd, self.rfd = wfd, rfd

    def say(self, line: str) -> None:
        os.write(self.wfd, (line + "\n").encode())

    def wait_go(self) -> None:
        """Blocks until the parent sends a byte (the parent kills us some time after)."""
        os.read(self.rfd, 1)


def fork_child(body: Callable[[Pipe], None]) -> Child:
    """Forks; the child runs ``body`` and ``os._exit``s (0 if it returned, 3 after writing
    "X <traceback>" if it raised). The caller must hold no open journal or manager."""
    r, w = os.pipe()
    cr, cw = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            os.close(r)
            os.close(cw)
            body(Pipe(w, cr))
        except BaseException:
            code = 3
            try:
                os.write(w, ("X " + json.dumps(traceback.format_exc()) + "\n").encode())
            except BaseException:
                pass
        finally:
            os._exit(code)
    os.close(w)
    os.close(cr)
    return Child(pid, r, cw, time.perf_counter())


@dataclass
class Child:
    """The parent's side of a forked child: read its lines, send "go", kill it."""

    pid: int
    rfd: int
    wfd: int
    started: float
    lines: list[str] = field(default_factory=list)
    _buf: bytes = b""
    eof: bool = False
    status: int | None = None

    def read_line(self, timeout: float) -> str | None:
        """The next complete line (without newline), None on timeout or EOF."""
        end = time.perf_counter() + timeout
        while b"\n" not in self._buf:
            if self.eof:
                return None
            left = end - time.perf_counter()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.rfd], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.rfd, 65536)
            if not chunk:
                self.eof = True
                continue
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        text = line.decode()
        self.lines.append(text)
        if text.startswith("X "):
            self.kill()
            raise AssertionError(f"the child failed:\n{json.loads(text[2:])}")
        return text

    def go(self) -> None:
        os.write(self.wfd, b"g")

    def kill(self) -> None:
        """SIGKILLs the child (if still running), reads everything it wrote, reaps it."""
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            while not self.eof:
                chunk = os.read(self.rfd, 65536)
                if not chunk:
                    self.eof = True
                self._buf += chunk
            _, self.status = os.waitpid(self.pid, 0)
            os.close(self.rfd)
            os.close(self.wfd)
            *complete, _torn = self._buf.split(b"\n")  # a torn last line was never written whole
            self._buf = b""
            for line in complete:
                text = line.decode()
                self.lines.append(text)
                if text.startswith("X "):
                    raise AssertionError(f"the child failed:\n{json.loads(text[2:])}")

    @property
    def killed(self) -> bool:
        return self.status is not None and os.WIFSIGNALED(self.status) and os.WTERMSIG(self.status) == 9

    @property
    def exited_ok(self) -> bool:
        return self.status is not None and os.WIFEXITED(self.status) and os.WEXITSTATUS(self.status) == 0


def busy_wait(seconds: float) -> None:
    """Sleeps precisely (time.sleep overshoots short delays by tens of microseconds)."""
    end = time.perf_counter() + seconds
    if seconds > 0.002:
        time.sleep(seconds - 0.001)
    while time.perf_counter() < end:
        pass


def parse_ops(lines: list[str]) -> tuple[list[tuple[Op, str]], Op | None]:
    """(ops acknowledged with "A"/"E", the op in flight or None) from "T <json>" / "A" / "E"
    lines; every other line is a marker and ignored."""
    done: list[tuple[Op, str]] = []
    pending: Op | None = None
    for line in lines:
        if line.startswith("T "):
            assert pending is None, "two ops in flight"
            pending = json.loads(line[2:])
        elif line in ("A", "E"):
            assert pending is not None, "an ack without an op"
            done.append((pending, line))
            pending = None
    return done, pending
