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
from pinnacle.bench.harness import Context, Section, SectionResult, Table, Target, num, times
from pinnacle.bench.machine import cpu_model

SYMBOL = "BENCH"


def per_op(n: int, chunks: int, op: Callable[[int], object]) -> float:
    """Median ns/op over ``chunks`` chunks of ``n // chunks`` calls (``op(i)``, i counting up)."""
    return per_op_timed(n, chunks, op)[0]


def per_op_timed(n: int, chunks: int, op: Callable[[int], object]) -> tuple[float, float]:
    """Median wall-clock and median process-CPU ns/op over ``chunks`` chunks of ``n // chunks``
    calls. CPU time counts every thread of this process (the journal's workers too) and
    none of the time other processes hold the cores, so it stays comparable on a busy
    machine where wall-clock medians do not."""
    size, wall, cpu, i = n // chunks, [], [], 0
    for _ in range(chunks):
        t, c = time.perf_counter_ns(), time.process_time_ns()
        for k in range(i, i + size):
            op(k)
        cpu.append((time.process_time_ns() - c) / size)
        wall.append((time.perf_counter_ns() - t) / size)
        i += size
    return statistics.median(wall), statistics.median(cpu)


# The call floor: no-op Python functions with the signatures of the book's methods. Each
# is called exactly as its method is (same loop, same lambda, same argument construction),
# so an op's ratio to its floor is what the book adds to a plain Python call.
def floor_add(
    order_id: object, side: object, price: object, quantity: object, timestamp_ns: object = None
) -> None:
    return None


def floor_execute(order_id: object, quantity: object, timestamp_ns: object = None) -> None:
    return None


def floor_market(side: object, quantity: object, timestamp_ns: object = None) -> None:
    return None


def floor_cancel(order_id: object, timestamp_ns: object = None) -> None:
    return None


OPS = ("add", "execute", "market", "cancel")


def book_ops(n: int, book: OrderBook) -> dict[str, float]:
    """ns/op of add (resting, no cross), execute (partial), market and cancel on a book kept
    around 1k levels, and of each op's call floor (``floor_<op>``), measured just before the
    op with the same lambda."""
    add, execute, market, cancel = (
        book.add_order,
        book.execute_order,
        book.execute_market_order,
        book.cancel_order,
    )
    per_op(n, 4, lambda i: add(i, "buy", 1000 - i % 1000, 3, i + 1))  # warm-up, then clear
    per_op(n, 4, cancel)
    out: dict[str, float] = {}

    def both(
        name: str,
        count: int,
        call: Callable[[Callable[..., object]], Callable[[int], object]],
        op: Callable[..., object],
        floor: Callable[..., object],
    ) -> None:
        out[f"floor_{name}"], out[f"floor_{name}_cpu"] = per_op_timed(count, 7, call(floor))
        out[name], out[f"{name}_cpu"] = per_op_timed(count, 7, call(op))

    both(
        "add",
        n,
        lambda f: (
            lambda i: f(
                n + i, "buy" if i % 2 else "sell", 1000 - i % 500 if i % 2 else 2000 + i % 500, 3, i + 1
            )
        ),
        add,
        floor_add,
    )
    both("execute", n, lambda f: lambda i: f(n + i, 1, i + 1), execute, floor_execute)
    both("market", n // 4, lambda f: lambda i: f("sell", 1, i + 1), market, floor_market)
    both("cancel", n, lambda f: lambda i: f(n + i), cancel, floor_cancel)
    return out


def build_dir(path: Path, ops: int, resting: int) -> None:
    """A persistence directory whose journal holds ``ops`` book operations (adds, cancels and
    partial executions) and no snapshot, leaving about ``resting`` orders in the book. (A
    shutdown would snapshot the changed book: recovery would then replay nothing.)"""
    cfg = PersistenceConfig(journal_sync_mode="none", snapshot_interval_min=0, compaction_threshold=10**12)
    with PersistenceManager(path, cfg, maintenance=False) as pm:
        book = pm.order_book(SYMBOL, tick_size=1, lot_size=1)
        add, cancel, execute = book.add_order, book.cancel_order, book.execute_order
        for i in range(ops // 3):
            add(i, "buy" if i % 2 else "sell", 1000 - i % 900 if i % 2 else 2000 + i % 900, 5, i + 1)
            execute(i, 1, i + 1)
            if i >= resting:
                cancel(i - resting, i + 1)
        pm.shutdown(snapshot=False)


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
    cols = ["add_order", "execute_order (partial)", "execute_market_order", "cancel_order"]
    t = Table(
        "Order-book operations from Python: wall / CPU ns per call (medians of 7 chunks) and × the "
        "call floor (CPU)",
        ["book", *cols],
    )
    floors: list[str] = []

    def cell(f: dict[str, float], key: str) -> str:
        return f"{num(f[key])} / {num(f[f'{key}_cpu'])}"

    for label, journaled in (("in memory", False), ("journaled (sync='none')", True)):
        with ctx.store_path("ops") as path:
            path.mkdir()
            j = Journal(path / "b.journal", initial_size=256 << 20) if journaled else None
            f = book_ops(n, OrderBook(SYMBOL, tick_size=1, lot_size=1, journal=j))
            if j is not None:
                j.close()
        kind = "journaled" if journaled else "memory"
        ratio = {op: f[f"{op}_cpu"] / f[f"floor_{op}_cpu"] for op in OPS}
        t.rows.append([label, *(f"{cell(f, op)} ({times(ratio[op])})" for op in OPS)])
        floors.append(f"{label}: " + ", ".join(cell(f, f"floor_{op}") for op in OPS))
        for op in OPS:
            res.metrics[f"book_{op}_ns_{kind}"] = f[op]
            res.metrics[f"book_{op}_cpu_ns_{kind}"] = f[f"{op}_cpu"]
            res.metrics[f"book_{op}_floor_ns_{kind}"] = f[f"floor_{op}"]
            res.metrics[f"book_{op}_floor_cpu_ns_{kind}"] = f[f"floor_{op}_cpu"]
            res.metrics[f"book_{op}_ratio_{kind}"] = ratio[op]
            res.metrics[f"book_{op}_wall_ratio_{kind}"] = f[op] / f[f"floor_{op}"]
        if journaled:
            t.rows.insert(0, ["call floor (no-op Python function)", *(cell(f, f"floor_{op}") for op in OPS)])
    t.notes.append(
        f"{n:,} orders per run; integer ids, prices on a 1-tick grid, timestamps given by the caller; "
        f"adds rest (no cross). CPU: {cpu_model()}."
    )
    t.notes.append(
        "Call floor: a no-op Python function with the method's signature, called the same way (same "
        "loop, same lambda, same argument construction) just before the method. Wall = perf_counter; "
        "CPU = process CPU time (every thread of the process, so the journal's workers count; time "
        "other processes hold the cores does not); × = the method's CPU time / its floor's. The floor "
        "row shows the journaled run's floors; the in-memory run's were " + "; ".join(floors[:1]) + " ns."
    )
    res.tables.append(t)

    sizes = (100_000, 1_000_000, 10_000_000) if full else (100_000, 1_000_000)
    r = Table(
        "Recovery (PersistenceManager.recover_state, no snapshot) against journal length",
        ["journaled ops", "replayed", "recovery (s)", "ns/op", "resting orders", "peak RSS (MiB)"],
    )
    for ops in sizes:
        with ctx.store_path("recovery") as path:
            build_dir(path, ops, resting=min(ops // 10, 100_000))
            f = recover_in_child(path)
        r.rows.append(
            [
                f"{ops:,}",
                f"{f['replayed']:,}",
                num(f["s"], 3),
                num(f["s"] * 1e9 / ops),
                f"{f['orders']:,}",
                num(f["rss"]),
            ]
        )
        res.metrics[f"recovery_s_{ops}"] = f["s"]
    r.notes.append(
        "A fresh process per row (journal scan + CRC verify + Rust replay, no snapshot); the journal "
        "was just written (in the page cache). ns/op = recovery time / journaled ops."
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
        res.metrics[f"snapshot_load_per_write_{orders}"] = f["load_s"] / f["write_s"]
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
        Target(
            "journaled add_order (resting) ≤ 2.0× the call floor (CPU time)",
            "book_add_ratio_journaled",
            2.0,
            "×",
            True,
        ),
        Target(
            "journaled cancel_order ≤ 2.0× the call floor (CPU time)",
            "book_cancel_ratio_journaled",
            2.0,
            "×",
            True,
        ),
        Target(
            "journaled execute_order ≤ 2.0× the call floor (CPU time)",
            "book_execute_ratio_journaled",
            2.0,
            "×",
            True,
        ),
        Target("recovery of 1 M journaled operations ≤ 0.35 s", "recovery_s_1000000", 0.35, "s", True),
        Target("snapshot of 1 M resting orders: write ≤ 250 ms", "snapshot_write_s_1000000", 0.25, "s", True),
        Target("snapshot of 1 M resting orders: load ≤ 250 ms", "snapshot_load_s_1000000", 0.25, "s", True),
        Target(
            "snapshot of 1 M resting orders: load no slower than write",
            "snapshot_load_per_write_1000000",
            1.0,
            "×",
            True,
        ),
        Target("snapshot pauses the trading thread ≤ 5 ms", "snapshot_pause_ms_1000000", 5, "ms", True),
    ),
)
