"""Order books and persistence (issue targets of the order-book work): operations from
Python with and without journaling, recovery time and memory against journal length,
snapshot write/load against book size, and how long a snapshot pauses the trading thread."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pinnacle import Journal, OrderBook, PersistenceConfig, PersistenceManager
from pinnacle.bench.harness import Context, Section, SectionResult, Table, Target, num

SYMBOL = "BENCH"


def per_op(n: int, chunks: int, op: Callable[[int], object]) -> float:
    """Median ns/op over ``chunks`` chunks of ``n // chunks`` calls (``op(i)``, i counting up)."""
    size, results, i = n // chunks, [], 0
    for _ in range(chunks):
        t = time.perf_counter_ns()
        for k in range(i, i + size):
            op(k)
        results.append((time.perf_counter_ns() - t) / size)
        i += size
    return statistics.median(results)


def book_ops(n: int, book: OrderBook) -> dict[str, float]:
    """ns/op of add, execute (partial), market and cancel on a book kept around 1k levels."""
    add, execute, market, cancel = (
        book.add_order,
        book.execute_order,
        book.execute_market_order,
        book.cancel_order,
    )
    per_op(n, 4, lambda i: add(i, "buy", 1000 - i % 1000, 3, i + 1))  # warm-up, then clear
    per_op(n, 4, cancel)
    out = {
        "add": per_op(
            n,
            7,
            lambda i: add(
                n + i, "buy" if i % 2 else "sell", 1000 - i % 500 if i % 2 else 2000 + i % 500, 3, i + 1
            ),
        )
    }
    out["execute"] = per_op(n, 7, lambda i: execute(n + i, 1, i + 1))
    out["market"] = per_op(n // 4, 7, lambda i: market("sell", 1, i + 1))
    out["cancel"] = per_op(n, 7, lambda i: cancel(n + i))
    return out


def build_dir(path: Path, ops: int, resting: int) -> None:
    """A persistence directory whose journal holds ``ops`` book operations (adds, cancels and
    partial executions) and no snapshot, leaving about ``resting`` orders in the book."""
    cfg = PersistenceConfig(journal_sync_mode="none", snapshot_interval_min=0, compaction_threshold=10**12)
    with PersistenceManager(path, cfg, maintenance=False) as pm:
        book = pm.order_book(SYMBOL, tick_size=1, lot_size=1)
        add, cancel, execute = book.add_order, book.cancel_order, book.execute_order
        for i in range(ops // 3):
            add(i, "buy" if i % 2 else "sell", 1000 - i % 900 if i % 2 else 2000 + i % 900, 5, i + 1)
            execute(i, 1, i + 1)
            if i >= resting:
                cancel(i - resting, i + 1)


def recover_in_child(path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "pinnacle.bench.recover_child", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    r = json.loads(out.stdout)
    return {
        "s": r["ns"] / 1e9,
        "replayed": r["replayed"],
        "orders": r["orders"],
        "rss": r["after"]["VmHWM"] / 2**20,
    }


def snapshot_figures(ctx: Context, orders: int) -> dict[str, float]:
    """Encode + write (temp, fsync, rename, dir fsync) and load of a book of ``orders``
    resting orders, and the longest trading call while a snapshot is taken."""
    with ctx.store_path("snapshot") as path:
        cfg = PersistenceConfig(journal_sync_mode="none", snapshot_interval_min=0)
        with PersistenceManager(path, cfg, maintenance=False) as pm:
            book = pm.order_book(SYMBOL, tick_size=1, lot_size=1)
            for i in range(orders):
                book.add_order(
                    i, "buy" if i % 2 else "sell", 1000 - i % 900 if i % 2 else 2000 + i % 900, 1, i + 1
                )
            pm.snapshot(SYMBOL)  # the shadow book catches up with the build first
            book.add_order(orders, "buy", 1, 1)
            t = time.perf_counter_ns()
            snap = pm.snapshot(SYMBOL)
            write_s = (time.perf_counter_ns() - t) / 1e9
            assert snap is not None
            data = snap.path.read_bytes()
            gaps: list[int] = []
            done = threading.Event()

            def trade() -> None:
                i, last = orders + 1, time.perf_counter_ns()
                while not done.is_set():
                    book.add_order(i, "buy", 1 + i % 50, 1)
                    book.cancel_order(i)
                    now = time.perf_counter_ns()
                    gaps.append(now - last)
                    last, i = now, i + 1

            trader = threading.Thread(target=trade)
            trader.start()
            time.sleep(0.05)
            t = time.perf_counter_ns()
            pm.snapshot(SYMBOL)
            busy_s = (time.perf_counter_ns() - t) / 1e9
            done.set()
            trader.join()
        t = time.perf_counter_ns()
        OrderBook.from_snapshot(data, 1, 1)
        load_s = (time.perf_counter_ns() - t) / 1e9
    return {
        "write_s": write_s,
        "busy_s": busy_s,
        "load_s": load_s,
        "bytes": len(data),
        "max_gap_ms": max(gaps) / 1e6,
    }


def run(ctx: Context) -> SectionResult:
    full = ctx.cfg.mode == "full"
    res = SectionResult()
    n = 300_000 if full else 60_000
    t = Table(
        "Order-book operations from Python, ns per call (median of 7 chunks)",
        ["book", "add_order", "execute_order (partial)", "execute_market_order", "cancel_order"],
    )
    for label, journaled in (("in memory", False), ("journaled (sync='none')", True)):
        with ctx.store_path("ops") as path:
            path.mkdir()
            j = Journal(path / "b.journal", initial_size=256 << 20) if journaled else None
            f = book_ops(n, OrderBook(SYMBOL, tick_size=1, lot_size=1, journal=j))
            if j is not None:
                j.close()
        t.rows.append([label, num(f["add"]), num(f["execute"]), num(f["market"]), num(f["cancel"])])
        res.metrics[f"book_add_ns_{'journaled' if journaled else 'memory'}"] = f["add"]
    t.notes.append(
        f"{n:,} orders per run; integer ids, prices on a 1-tick grid, timestamps given by the caller."
    )
    res.tables.append(t)

    sizes = (100_000, 1_000_000, 10_000_000) if full else (100_000, 1_000_000)
    r = Table(
        "Recovery (PersistenceManager.recover_state, no snapshot) against journal length",
        ["journaled ops", "recovery (s)", "ns/op", "resting orders", "peak RSS (MiB)"],
    )
    for ops in sizes:
        with ctx.store_path("recovery") as path:
            build_dir(path, ops, resting=min(ops // 10, 100_000))
            f = recover_in_child(path)
        r.rows.append(
            [f"{ops:,}", num(f["s"], 3), num(f["s"] * 1e9 / ops), f"{f['orders']:,}", num(f["rss"])]
        )
        res.metrics[f"recovery_s_{ops}"] = f["s"]
    r.notes.append(
        "A fresh process per row (journal scan + CRC verify + Rust replay); the journal was just written."
    )
    res.tables.append(r)
    res.series["recovery_length"] = {
        "ops": list(sizes),
        "seconds": [res.metrics[f"recovery_s_{ops}"] for ops in sizes],
    }

    s = Table(
        "Snapshots against book size",
        [
            "resting orders",
            "size (MiB)",
            "write (ms)",
            "load (ms)",
            "write while a thread trades (ms)",
            "longest trading call meanwhile (ms)",
        ],
    )
    for orders in (10_000, 100_000, 1_000_000):
        f = snapshot_figures(ctx, orders)
        s.rows.append(
            [
                f"{orders:,}",
                num(f["bytes"] / 2**20),
                num(f["write_s"] * 1e3),
                num(f["load_s"] * 1e3),
                num(f["busy_s"] * 1e3),
                num(f["max_gap_ms"], 2),
            ]
        )
        res.metrics[f"snapshot_write_s_{orders}"] = f["write_s"]
        res.metrics[f"snapshot_load_s_{orders}"] = f["load_s"]
        res.metrics[f"snapshot_pause_ms_{orders}"] = f["max_gap_ms"]
    s.notes.append(
        "write = pm.snapshot() on a quiet book: the shadow book catches up and encodes, the journal is "
        "flushed, the file is written (temp, fsync, rename, directory fsync). load = OrderBook.from_snapshot "
        "(CRC and every field checked). Then a thread adds and cancels in a loop (one of the 2 cores, flat "
        "out) while another snapshot is taken: that write includes replaying its operations; the longest "
        "trading call includes Python's thread switching (5 ms switch interval)."
    )
    res.tables.append(s)
    return res


SECTION = Section(
    name="book",
    title="Order books and persistence",
    run=run,
    targets=(
        Target("journaled add_order from Python ≤ 700 ns", "book_add_ns_journaled", 700, "ns", True),
        Target("recovery of 1 M journaled operations ≤ 0.35 s", "recovery_s_1000000", 0.35, "s", True),
        Target("snapshot of 1 M resting orders: write ≤ 250 ms", "snapshot_write_s_1000000", 0.25, "s", True),
        Target("snapshot of 1 M resting orders: load ≤ 250 ms", "snapshot_load_s_1000000", 0.25, "s", True),
        Target("snapshot pauses the trading thread ≤ 5 ms", "snapshot_pause_ms_1000000", 5, "ms", True),
    ),
)
