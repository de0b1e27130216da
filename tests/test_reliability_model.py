"""Hypothesis state machine over a PersistenceManager: trading on three symbols (applied to
the journaled books and to a reference model of plain unjournaled OrderBooks, with the
same results), snapshots, maintenance with compaction, shutdown + reopen, crashes (every
journal abandoned, no shutdown) and double recoveries. Invariant: the open books equal the
model.

A crash is simulated in-process: each journal is ``_abandon()``ed (released as a dead
process's would be: the page cache keeps what was written) and the data-directory lock,
an flock the kernel would drop with the process, is released by hand. The abandoned
manager is kept alive for a while and dropped later, so its objects' finalizers run while
the new manager owns the files.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from random import Random

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from reliability_support import GRIDS, apply_op, check_recovered, fresh_model, gen_op, recover
from scorecard import Cases

from pinnacle import OrderBook, OrderBookError, PersistenceConfig, PersistenceManager

SYMS = sorted(GRIDS)


class ManagerModel(RuleBasedStateMachine):
    steps = 0

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="pinnacle-model-"))
        self.cfg = PersistenceConfig()
        self.pm: PersistenceManager | None = None
        self.books: dict[str, OrderBook] = {}
        self.model = fresh_model()
        self.ts = 0
        self.ghosts: list[PersistenceManager] = []  # crashed managers, not yet dropped

    def open(self) -> None:
        self.pm = PersistenceManager(self.dir, self.cfg, maintenance=False)
        self.pm.recover_state()
        self.books = dict(self.pm.get_all_recovered_order_books())

    def teardown(self) -> None:
        if self.pm is not None:
            self.pm.shutdown()
        self.ghosts.clear()
        shutil.rmtree(self.dir)

    @initialize(
        sync=st.sampled_from(["none", "interval", "always"]),
        keep=st.integers(1, 3),
        threshold=st.integers(1, 40),
    )
    def start(self, sync: str, keep: int, threshold: int) -> None:
        self.cfg = PersistenceConfig(
            journal_sync_mode=sync,  # type: ignore[arg-type]
            journal_sync_interval_ms=1,
            snapshot_interval_min=0,
            keep_snapshots=keep,
            compaction_threshold=threshold,
        )
        self.open()

    @rule(symbol=st.sampled_from(SYMS), rnd=st.randoms(use_true_random=False), n=st.integers(1, 8))
    def trade(self, symbol: str, rnd: Random, n: int) -> None:
        assert self.pm is not None
        book = self.books.get(symbol)
        if book is None:
            book = self.books[symbol] = self.pm.order_book(symbol, *GRIDS[symbol])
        for _ in range(n):
            self.ts += 1
            op = gen_op(rnd, book, self.ts)
            want = self.model[symbol].copy()
            try:
                expected = apply_op(want, op)
            except OrderBookError:
                with pytest.raises(OrderBookError):
                    apply_op(book, op)
                continue
            assert repr(apply_op(book, op)) == repr(expected), f"{op!r} gave other results"
            self.model[symbol] = want

    @precondition(lambda self: self.books)
    @rule(data=st.data())
    def snapshot(self, data: st.DataObject) -> None:
        assert self.pm is not None
        symbol = data.draw(st.sampled_from(sorted(self.books)))
        assert self.pm.snapshot(symbol) is not None

    @rule()
    def maintenance(self) -> None:
        assert self.pm is not None
        report = self.pm.perform_maintenance()
        assert not report.errors, report.errors

    @rule()
    def reopen(self) -> None:
        assert self.pm is not None
        self.pm.shutdown()
        self.open()

    @rule(drop_now=st.booleans())
    def crash(self, drop_now: bool) -> None:
        old = self.pm
        assert old is not None and old._res.dir_lock is not None
        for s in old.symbols:
            journal = old.get_journal(s)
            assert journal is not None
            journal._abandon()
        old._res.dir_lock.release()  # as the kernel does for a dead process
        self.ghosts.append(old)
        self.pm = None
        self.open()
        if drop_now or len(self.ghosts) > 2:
            del old
            self.ghosts.pop(0)  # freed now (reference counting): its journals' finalizers run

    @rule()
    def recover_twice(self) -> None:
        """Two independent recoveries of the directory agree and equal the model."""
        assert self.pm is not None
        self.pm.shutdown()
        self.pm = None
        first, _ = recover(self.dir)
        second, _ = recover(self.dir)
        assert first == second, "recovering twice gave different books"
        check_recovered(first, self.model, None, "recover")
        self.open()

    @invariant()
    def books_equal_the_model(self) -> None:
        ManagerModel.steps += 1
        if self.pm is None:
            return
        for s, want in self.model.items():
            have = self.books.get(s)
            if have is None:
                assert want == OrderBook(s, *GRIDS[s]), f"{s} was lost"
                continue
            assert have == want, f"{s}: {have.orders()} != model {want.orders()}"


@pytest.mark.reliability("model")
def test_persistence_manager_state_machine(cases: Cases) -> None:
    ManagerModel.steps = 0
    run_state_machine_as_test(ManagerModel, settings=settings(stateful_step_count=40))
    cases.add(ManagerModel.steps)
    print(f"\nmodel: {ManagerModel.steps} steps")


# Found while checking refusals against the model: the messages give raw ticks and lots.


def test_overfill_refusal_names_quantities_not_lots() -> None:
    b = OrderBook("X", "0.5", "0.1")
    b.add_order(1, "buy", 10, "0.2", timestamp_ns=1)
    with pytest.raises(OrderBookError, match=r"cannot execute 0\.5 .* only 0\.2 remaining"):
        b.execute_order(1, "0.5", timestamp_ns=2)


def test_crossing_modify_refusal_names_prices_not_ticks() -> None:
    b = OrderBook("X", "0.5", "0.1")
    b.add_order(1, "buy", 10, "0.2", timestamp_ns=1)
    b.add_order(2, "sell", 11, "0.3", timestamp_ns=2)
    with pytest.raises(OrderBookError, match=r"to price 12 would cross the opposite best 11\b"):
        b.modify_order(1, price=12, timestamp_ns=3)
