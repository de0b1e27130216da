"""kill -9 at random moments — while trading, while snapshotting, while the maintenance
thread compacts — then recover: the books hold exactly the acknowledged operations (plus,
at most, the one operation in flight when the process died)."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pinnacle import OrderBook, OrderBookError, PersistenceConfig, PersistenceManager

SYMBOLS = ["AAA", "BBB"]
TICK, LOT = "0.5", "1"

# Shared by the child (which trades) and the parent (which replays what was acknowledged).
APPLY = r"""
def apply_op(books, op, pm=None):
    kind, s = op[0], op[1]
    b = books[s]
    if kind == "add":
        b.add_order(op[2], op[3], op[4], op[5], timestamp_ns=op[6])
    elif kind == "cancel":
        b.cancel_order(op[2], timestamp_ns=op[3])
    elif kind == "exec":
        b.execute_order(op[2], op[3], timestamp_ns=op[4])
    elif kind == "market":
        b.execute_market_order(op[2], op[3], timestamp_ns=op[4])
    elif kind == "modify":
        b.modify_order(op[2], price=op[3], quantity=op[4], timestamp_ns=op[5])
    elif kind == "snapshot" and pm is not None:
        pm.snapshot(s)
"""

CHILD = r"""
import json, random, sys
import pinnacle
from pinnacle import PersistenceConfig, PersistenceManager
data, seed, base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cfg = PersistenceConfig(journal_sync_mode=sys.argv[4], journal_sync_interval_ms=2,
                        snapshot_interval_min=0.0005, compaction_threshold=60, keep_snapshots=2)
pm = PersistenceManager(data, cfg)
pm.recover_state()
books = {s: pm.order_book(s, tick_size="0.5", lot_size="1") for s in ("AAA", "BBB")}
# Compacts what earlier rounds left over the threshold: a short round may end before the
# maintenance thread's first tick, and the test must cross compactions on any machine.
pm.perform_maintenance()
rng = random.Random(seed)
out = sys.stdout
out.write("READY\n"); out.flush()
i = base
while True:
    i += 1
    s = rng.choice(("AAA", "BBB"))
    orders = books[s].orders()
    r = rng.random()
    if r < 0.45 or not orders:
        op = ["add", s, i, rng.choice(["buy", "sell"]), rng.randint(190, 210) / 2, rng.randint(1, 5), i]
    elif r < 0.6:
        op = ["cancel", s, rng.choice(orders).order_id, i]
    elif r < 0.7:
        o = rng.choice(orders)
        op = ["exec", s, o.order_id, rng.randint(1, int(o.remaining_quantity)), i]
    elif r < 0.78:
        op = ["market", s, rng.choice(["buy", "sell"]), rng.randint(1, 6), i]
    elif r < 0.9:
        o = rng.choice(orders)
        price = rng.randint(190, 210) / 2
        op = ["modify", s, o.order_id, price, rng.choice([None, rng.randint(1, 6)]), i]
    else:
        op = ["snapshot", s]
    out.write("T " + json.dumps(op) + "\n"); out.flush()
    try:
        apply_op(books, op, pm)
        out.write("A\n")
    except pinnacle.OrderBookError:
        out.write("E\n")
    out.flush()
"""

ns: dict[str, Any] = {}
exec(APPLY, ns)
apply_op = ns["apply_op"]


def run_and_kill(data: Path, rng: random.Random, base: int, sync: str, when: str) -> list[str]:
    """Runs a trading child, SIGKILLs it at a random moment, returns its complete lines."""
    proc = subprocess.Popen(
        [sys.executable, "-c", APPLY + CHILD, str(data), str(rng.randrange(10**9)), str(base), sync],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[str] = []
    try:
        first = proc.stdout.readline()
        assert first == "READY\n", proc.stderr.read()
        target, acks = rng.randint(20, 250), 0
        while True:
            line = proc.stdout.readline()
            assert line, f"child died: {proc.stderr.read()}"
            lines.append(line)
            if line in ("A\n", "E\n"):
                acks += 1
                if when == "trading" and acks >= target:
                    break
            elif when == "snapshot" and acks >= target and line.startswith('T ["snapshot"'):
                break  # the child is inside pm.snapshot() right now
    finally:
        proc.send_signal(signal.SIGKILL)
        rest = proc.stdout.read()
        proc.wait()
        proc.stderr.close()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    lines += rest.splitlines(keepends=True)
    return [x for x in lines if x.endswith("\n")]  # a torn last line was never acknowledged


def parse(lines: list[str]) -> tuple[list[tuple[list[Any], str]], list[Any] | None]:
    """(acknowledged ops with their outcome "A"/"E", the op in flight or None)."""
    done: list[tuple[list[Any], str]] = []
    pending: list[Any] | None = None
    for line in lines:
        if line.startswith("T "):
            assert pending is None
            pending = json.loads(line[2:])
        elif line in ("A\n", "E\n"):
            assert pending is not None
            done.append((pending, line[0]))
            pending = None
    return done, pending


def recover(data: Path) -> tuple[dict[str, OrderBook], dict[str, Any]]:
    with PersistenceManager(data, PersistenceConfig(snapshot_interval_min=0), maintenance=False) as pm:
        pm.recover_state()
        books = {s: b.copy() for s, b in pm.get_all_recovered_order_books().items()}
        return books, dict(pm.last_recovery)


@pytest.mark.parametrize(("sync", "seed"), [("none", 1), ("interval", 2), ("always", 3)])
def test_sigkill_at_random_moments_loses_no_acknowledged_operation(
    tmp_path: Path, sync: str, seed: int
) -> None:
    rng = random.Random(seed)
    expected = {s: OrderBook(s, TICK, LOT) for s in SYMBOLS}
    used_snapshot = compacted = 0
    for rnd in range(7):
        when = "snapshot" if rnd % 2 else "trading"
        lines = run_and_kill(tmp_path, rng, base=(rnd + 1) * 1_000_000, sync=sync, when=when)
        done, inflight = parse(lines)
        for op, outcome in done:
            if outcome == "A":
                apply_op(expected, op)
            else:  # refused in the child: refused here too, and nothing changed
                with pytest.raises(OrderBookError):
                    apply_op({op[1]: expected[op[1]].copy()}, op)
        got, infos = recover(tmp_path)
        assert sorted(got) == SYMBOLS
        assert recover(tmp_path)[0] == got  # recovery is idempotent (it writes nothing)
        for s in SYMBOLS:
            if got[s] == expected[s]:
                continue
            assert inflight is not None and inflight[1] == s, f"round {rnd}: {s} diverged"
            alt = {s: expected[s].copy()}
            apply_op(alt, inflight)
            assert got[s] == alt[s], f"round {rnd}: {s} is neither the acked state nor acked + in-flight"
            expected[s] = alt[s]
        used_snapshot += sum(i.snapshot_file is not None for i in infos.values())
        compacted += sum("seq 1..=" not in i.journal_report for i in infos.values())
    assert used_snapshot > 0 and compacted > 0  # the crashes did cross snapshots and compactions
