"""The demo's simulation: the maker's position survives a crash at *every* point of
every operation (ledger + book, see pinnacle.sim.ledger), and the pieces the drill relies
on (acknowledgement log, reference replay) behave."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from pinnacle import Journal, OrderBook
from pinnacle.sim import ledger, maker
from pinnacle.sim.ledger import ZERO, MakerState, Totals
from pinnacle.sim.maker import MarketMaker, submit
from pinnacle.sim.market import MAKER_ID_BASE, Op, Participants, apply_op, instrument
from pinnacle.sim.oplog import OpLogWriter, read_oplog
from pinnacle.sim.reference import Reference, maker_fills

INST = instrument("BTC-USD")


class Crash(Exception):
    """Stands for SIGKILL: raised at the chosen side effect."""


class FakeClock:
    """Deterministic stand-in for the ``time`` module inside pinnacle.sim.maker."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        self.now += 0.013
        return self.now

    def time_ns(self) -> int:
        return 1_700_000_000_000_000_000 + int(self.monotonic() * 1e9)


class World:
    """A maker and participants on an unjournaled book (standing for the recovered
    one: the journal holds every applied op). Counts side effects — ledger appends,
    the moment before a book call, the moment after it — and crashes at number ``at``."""

    def __init__(
        self,
        tmp: Path,
        at: int,
        book: OrderBook | None = None,
        state: MakerState | None = None,
        cycle: int = 1,
        seed: int = 1,
    ) -> None:
        self.at, self.events = -1, 0  # no crash while the maker starts
        self.book = book if book is not None else INST.new_book()
        self.truth = ZERO  # maker fills of every op the book applied
        self.journal = Journal(tmp / "ledger.journal")
        self.log = OpLogWriter(tmp / f"ops-{cycle}.log")
        self.rng = random.Random(seed)
        self.clock = FakeClock()
        world = self

        class Proxy:
            def append(self, kind: int, payload: bytes) -> int:
                world.tick()
                return world.journal.append(kind, payload)

            def compact(self, seq: int) -> int:
                return world.journal.compact(seq)

        self.maker = MarketMaker(INST, self.book, Proxy(), state or MakerState(), self.log, self.rng, cycle)  # type: ignore[arg-type]
        self.parts = Participants(INST, self.rng, cycle)
        self.parts.adopt(self.book)
        self.at, self.events = at, 0

    def tick(self) -> None:
        self.events += 1
        if self.events == self.at:
            raise Crash

    def apply(self, book: OrderBook, inst: Any, op: Op) -> list[Any]:
        self.tick()
        fills = apply_op(book, inst, op)
        self.truth = maker_fills(INST, self.truth, fills)
        self.tick()
        return fills

    def run(self, steps: int, monkeypatch: pytest.MonkeyPatch) -> bool:
        """Trades ``steps`` steps; False if it crashed."""
        monkeypatch.setattr(maker, "apply_op", self.apply)
        monkeypatch.setattr(maker, "time", self.clock)
        try:
            for _ in range(steps):
                if self.rng.random() < 0.35:
                    self.maker.refresh()
                else:
                    submit(self.log, self.book, INST, self.parts.next_op(self.maker.mid, 1))
        except Crash:
            return False
        return True

    def recover(self) -> MakerState:
        return ledger.recover(self.journal.read(), self.book, INST)


def _maker_ids(book: OrderBook) -> set[int]:
    return {o.order_id for o in book.orders() if isinstance(o.order_id, int) and o.order_id >= MAKER_ID_BASE}


def test_a_crash_at_any_side_effect_recovers_the_exact_position(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "full").mkdir()
    full = World(tmp_path / "full", at=-1)
    assert full.run(250, monkeypatch)
    assert full.truth.bought and full.truth.sold, "the scenario must fill maker orders"
    points = list(range(1, 160)) + random.Random(5).sample(range(160, full.events), 60)
    for at in points:
        d = tmp_path / str(at)
        d.mkdir()
        w = World(d, at)
        assert not w.run(250, monkeypatch)
        st = w.recover()
        assert st.totals(w.book, INST) == w.truth, f"crash at side effect {at}"
        assert set(st.open) == _maker_ids(w.book)
        w.journal.close()


def test_restarting_on_a_recovered_state_and_crashing_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for at1, at2 in [(37, 51), (100, 9), (203, 120), (64, 333)]:
        d = tmp_path / f"{at1}-{at2}"
        d.mkdir()
        w1 = World(d, at1)
        assert not w1.run(300, monkeypatch)
        w1.journal.close()
        j = Journal(d / "ledger.journal")
        st = ledger.recover(j.read(), w1.book, INST)
        j.close()
        w2 = World(d, at2, book=w1.book, state=st, cycle=2, seed=at2)
        w2.truth = w1.truth
        assert not w2.run(300, monkeypatch)
        st2 = w2.recover()
        assert st2.totals(w2.book, INST) == w2.truth
        assert set(st2.open) == _maker_ids(w2.book)
        w2.journal.close()


def test_state_entries_round_trip_and_describe() -> None:
    st = MakerState(Totals(5, 500, 2, 210))
    st.placed(MAKER_ID_BASE + 1, "buy", 100, 10)
    st.reprice(MAKER_ID_BASE + 1, 4, 99, 14)
    back = MakerState.decode(st.encode())
    assert back.closed == Totals(9, 900, 2, 210) and back.open == st.open
    assert "1 open orders" in ledger.describe(ledger.KIND_STATE, st.encode())
    assert "malformed" in ledger.describe(ledger.KIND_PLACED, b"x")


def test_pnl_average_price_method() -> None:
    t = Totals(bought=10, bought_notional=1000, sold=4, sold_notional=440)  # 10 @ 100, 4 @ 110
    realized, unrealized = t.pnl(instrument("X-1"), 120)
    scale = 0.01  # tick 0.01 x lot 1
    assert realized == pytest.approx(4 * 10 * scale)
    assert unrealized == pytest.approx(6 * 20 * scale)
    assert realized + unrealized == pytest.approx((440 - 1000 + 6 * 120) * scale)


def test_oplog_in_flight_and_torn_line(tmp_path: Path) -> None:
    w = OpLogWriter(tmp_path / "ops")
    a = Op("BTC-USD", "add", 1, "buy", 3000000, 5, 7)
    w.intent(a)
    w.ack()
    w.intent(a._replace(order_id=2))
    w.refused()
    w.intent(a._replace(order_id=3))
    w.close()
    with open(tmp_path / "ops", "ab") as f:
        f.write(b"I BTC-USD add 4 b")  # torn by the kill
    log = read_oplog(tmp_path / "ops")
    assert log.acked == [a] and log.refused == 1 and log.torn_line
    assert log.in_flight == a._replace(order_id=3)


def test_reference_accepts_the_in_flight_op_either_way() -> None:
    ref = Reference(INST)
    add = Op("BTC-USD", "add", 1, "buy", 3000000, 5, 7)
    ref.apply(add)
    other = INST.new_book()
    apply_op(other, INST, add)
    flight = Op("BTC-USD", "add", 2, "sell", 3000100, 5, 8)
    assert ref.check(other.copy(), ZERO, flight).ok  # without it
    apply_op(other, INST, flight)
    c = ref.check(other, ZERO, flight)  # with it
    assert c.ok and c.in_flight_applied
    apply_op(other, INST, Op("BTC-USD", "cancel", 1, "-", 0, 0, 9))
    bad = ref.check(other, ZERO, None)
    assert not bad.ok and "recovered" in bad.detail
