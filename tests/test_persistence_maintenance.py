"""The background maintenance thread: periodic snapshots, compaction, rotation, prompt
stop, survival of errors, and concurrency with trading threads."""

from __future__ import annotations

import logging
import random
import threading
import time
from pathlib import Path
from typing import Literal

import pytest
from conftest import wait_for

from pinnacle import OrderBook, PersistenceConfig, PersistenceManager
from pinnacle.snapshots import SnapshotPipeline

SYM = "SOL-USD"
FAST = PersistenceConfig(
    snapshot_interval_min=0.001,  # 60 ms
    journal_sync_mode="interval",
    journal_sync_interval_ms=5,
    compaction_threshold=40,
    keep_snapshots=2,
)


def op(book: OrderBook, rng: random.Random, i: int) -> None:
    """One random, always-valid op with an explicit timestamp."""
    orders = book.orders()
    r = rng.random()
    if r < 0.6 or not orders:
        side: Literal["buy", "sell"] = rng.choice(["buy", "sell"])
        price = rng.randint(95, 105)
        book.add_order(i, side, price, rng.randint(1, 5), timestamp_ns=i)
    elif r < 0.8:
        book.cancel_order(rng.choice(orders).order_id, timestamp_ns=i)
    elif r < 0.9:
        o = rng.choice(orders)
        book.execute_order(o.order_id, rng.randint(1, int(o.remaining_quantity)), timestamp_ns=i)
    else:
        book.execute_market_order(rng.choice(["buy", "sell"]), rng.randint(1, 4), timestamp_ns=i)


def recovered_books(data: Path) -> dict[str, OrderBook]:
    with PersistenceManager(data, FAST, maintenance=False) as pm:
        pm.recover_state()
        return {s: b.copy() for s, b in pm.get_all_recovered_order_books().items()}


def snapshot_files(data: Path, symbol: str) -> list[Path]:
    d = data / "snapshots" / symbol
    return sorted(d.glob("*.snapshot")) if d.is_dir() else []


def test_thread_snapshots_compacts_rotates_and_stops_promptly(tmp_path: Path) -> None:
    pm = PersistenceManager(tmp_path, FAST)
    book = pm.order_book(SYM)
    journal = pm.get_journal(SYM)
    assert journal is not None
    rng = random.Random(1)
    i = 0

    def trade_some() -> bool:
        nonlocal i
        for _ in range(20):
            i += 1
            op(book, rng, i)
        return journal.first_seq > 1 and len(snapshot_files(tmp_path, SYM)) >= 2

    assert wait_for(trade_some), "no periodic snapshot + compaction happened"
    assert len(snapshot_files(tmp_path, SYM)) <= FAST.keep_snapshots + 1  # rotation (one may be in flight)
    expected = book.copy()
    t0 = time.monotonic()
    pm.shutdown()
    assert time.monotonic() - t0 < 1.0
    assert not any(t.name == "pinnacle-maintenance" and t.is_alive() for t in threading.enumerate())
    assert recovered_books(tmp_path)[SYM] == expected


def test_idle_books_are_not_snapshotted_again(tmp_path: Path) -> None:
    with PersistenceManager(tmp_path, FAST) as pm:
        book = pm.order_book(SYM)
        book.add_order(1, "buy", 10, 1)
        j = pm.get_journal(SYM)
        assert j is not None
        assert wait_for(lambda: j.last_checkpoint is not None)
        entries, files = j.entry_count, snapshot_files(tmp_path, SYM)
        time.sleep(0.4)  # several snapshot intervals
        assert (j.entry_count, snapshot_files(tmp_path, SYM)) == (entries, files)


def test_shutdown_is_prompt_with_a_long_interval(tmp_path: Path) -> None:
    pm = PersistenceManager(tmp_path, PersistenceConfig(snapshot_interval_min=15))
    pm.order_book(SYM).add_order(1, "buy", 1, 1)
    time.sleep(0.05)
    t0 = time.monotonic()
    pm.shutdown()
    assert time.monotonic() - t0 < 0.5


def test_thread_logs_errors_and_keeps_going(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = SnapshotPipeline.catch_up
    failures = [0]

    def flaky(self: SnapshotPipeline) -> int:
        if failures[0] < 3:
            failures[0] += 1
            raise OSError(28, "No space left on device")
        return real(self)

    monkeypatch.setattr(SnapshotPipeline, "catch_up", flaky)
    caplog.set_level(logging.INFO, logger="pinnacle")
    with PersistenceManager(tmp_path, FAST) as pm:
        pm.order_book(SYM).add_order(1, "buy", 10, 1)
        assert wait_for(lambda: len(snapshot_files(tmp_path, SYM)) > 0)
    failed = [r for r in caplog.records if r.getMessage() == f"Maintenance of {SYM} failed"]
    assert len(failed) == 3 and all(r.exc_info for r in failed)


def test_trading_threads_with_maintenance_and_snapshots_meanwhile(tmp_path: Path) -> None:
    symbols = [f"S{k}" for k in range(4)]
    pm = PersistenceManager(tmp_path, FAST)
    mirrors = {s: OrderBook(s) for s in symbols}
    errors: list[BaseException] = []
    stop = threading.Event()

    def trader(symbol: str, seed: int) -> None:
        try:
            book, mirror = pm.order_book(symbol), mirrors[symbol]
            rng, twin = random.Random(seed), random.Random(seed)
            for i in range(1, 1500):
                op(book, rng, i)
                op(mirror, twin, i)
        except BaseException as e:
            errors.append(e)

    def snapshotter() -> None:
        try:
            while not stop.is_set():
                pm.snapshot(random.choice(pm.symbols))
                pm.perform_maintenance()
        except BaseException as e:
            errors.append(e)

    for s in symbols:
        pm.order_book(s)
    threads = [threading.Thread(target=trader, args=(s, k)) for k, s in enumerate(symbols)]
    snap = threading.Thread(target=snapshotter)
    for t in [*threads, snap]:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    snap.join()
    assert errors == []
    for s in symbols:
        assert pm.order_book(s) == mirrors[s]
    assert all(pm.get_journal(s).first_seq > 1 for s in symbols)  # type: ignore[union-attr]
    pm.shutdown()
    assert recovered_books(tmp_path) == mirrors
