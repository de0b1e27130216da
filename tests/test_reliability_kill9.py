"""Kill-9 crash loop: a forked writer trades several symbols through a PersistenceManager
(random adds, cancels, executions, market orders and modifies with int and str ids, plus
snapshots, perform_maintenance() and the background maintenance thread with a tiny
snapshot interval and compaction threshold) and is SIGKILLed at a random moment: while
starting up (recovering), trading, creating a symbol, inside a snapshot, inside
perform_maintenance (rotation, compaction) or inside a background maintenance pass.

After every kill, recovery must give exactly the acknowledged operations (an op is
acknowledged once its call returned), plus at most the one in flight; recovering twice
must give the same books. The next child recovers and keeps trading, so the history
accumulates over the cycles. KILL9_CYCLES (default 300) is split between the three journal
sync modes.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import threading
import time
from collections import Counter
from pathlib import Path
from random import Random
from typing import Any

import pytest
from reliability_support import (
    GRIDS,
    Child,
    Pipe,
    apply_acked,
    apply_op,
    busy_wait,
    check_recovered,
    check_recovery_idempotent,
    fork_child,
    fresh_model,
    gen_op,
    parse_ops,
)
from scorecard import Cases

from pinnacle import OrderBook, OrderBookError, PersistenceConfig, PersistenceManager

CYCLES = int(os.environ.get("KILL9_CYCLES", "300"))
MODES = ("none", "interval", "always")
WEIGHTS = {"AAA": 0.5, "BB.B-2": 0.44, "C_C": 0.06}


def child_config(sync: str) -> PersistenceConfig:
    return PersistenceConfig(
        journal_sync_mode=sync,  # type: ignore[arg-type]
        journal_sync_interval_ms=1,
        snapshot_interval_min=0.0002,  # 12 ms: the maintenance thread snapshots and compacts often
        keep_snapshots=2,
        compaction_threshold=25,
    )


class _FailOnError(logging.Handler):
    """Any error the library logs in the child (a failed maintenance pass) fails the test."""

    def __init__(self, pipe: Pipe) -> None:
        super().__init__(logging.ERROR)
        self.pipe = pipe

    def emit(self, record: logging.LogRecord) -> None:
        self.pipe.say("X " + json.dumps(f"logged in the child: {self.format(record)}"))


def trader(data: Path, sync: str, plan: dict[str, Any], seed: int, base: int) -> Any:
    """The child: recover, then trade ``plan["ops"]`` ops, then wait to be killed.

    Lines: R (recovered), T <op> then A/E (applied/refused, written after the call
    returned), S/s <secs> around pm.snapshot, M/m <secs> around perform_maintenance, C/c
    <secs> around creating a symbol, B/b <secs> around a background maintenance pass,
    a "!" suffix on the marker the parent answers with "go" before killing, D (done)."""

    def body(pipe: Pipe) -> None:
        original = PersistenceManager._maintain

        def marked(self: PersistenceManager, *, periodic: bool, rotate: bool) -> Any:
            if threading.current_thread().name != "pinnacle-maintenance":
                return original(self, periodic=periodic, rotate=rotate)
            t0 = time.perf_counter()
            pipe.say("B")
            report = original(self, periodic=periodic, rotate=rotate)
            pipe.say(f"b {time.perf_counter() - t0:.6f}")
            return report

        PersistenceManager._maintain = marked  # type: ignore[method-assign]  # the child's copy only
        logging.getLogger("pinnacle").addHandler(_FailOnError(pipe))

        pm = PersistenceManager(data, child_config(sync))
        pm.recover_state()
        books: dict[str, OrderBook] = {s: pm.order_book(s) for s in pm.symbols}
        pipe.say("R")
        rng = Random(seed)
        symbols, weights = list(WEIGHTS), list(WEIGHTS.values())

        def timed(marker: str, handshake: bool, fn: Any) -> Any:
            pipe.say(marker.upper() + ("!" if handshake else ""))
            if handshake:
                pipe.wait_go()
            t0 = time.perf_counter()
            out = fn()
            pipe.say(f"{marker} {time.perf_counter() - t0:.6f}")
            return out

        for k in range(plan["ops"]):
            at = k == plan["at"]
            r = rng.random()
            if (at and plan["kind"] == "snapshot") or r < 0.03:
                if books:
                    s = rng.choice(sorted(books))
                    timed("s", at and plan["kind"] == "snapshot", lambda s=s: pm.snapshot(s))
                continue
            if (at and plan["kind"] == "maint") or r < 0.06:
                report = timed("m", at and plan["kind"] == "maint", pm.perform_maintenance)
                assert not report.errors, report.errors
                continue
            s = rng.choices(symbols, weights)[0]
            if s not in books:
                handshake = plan["kind"] == "create"
                books[s] = timed("c", handshake, lambda s=s: pm.order_book(s, *GRIDS[s]))
            op = gen_op(rng, books[s], base + k)
            pipe.say("T " + json.dumps(op))
            try:
                apply_op(books[s], op)
            except OrderBookError:
                pipe.say("E")
            else:
                pipe.say("A")
        pipe.say("D")
        pipe.wait_go()  # killed here

    return body


def choose_plan(rng: Random, missing: bool) -> dict[str, Any]:
    ops = rng.randint(5, 160)
    kinds = ["startup", "time", "acks", "snapshot", "maint", "bg"] + (["create"] * 2 if missing else [])
    kind = rng.choice(kinds)
    plan: dict[str, Any] = {"kind": kind, "ops": ops, "at": rng.randrange(ops)}
    if kind == "acks":
        plan["acks"] = rng.randint(0, ops)
    return plan


class Timings:
    """Observed durations per marker, to spread kill delays over the whole operation."""

    def __init__(self) -> None:
        self.seen: dict[str, list[float]] = {}
        self.default = {"s": 0.004, "m": 0.003, "c": 0.003, "b": 0.003, "R": 0.01, "ops": 0.02}

    def add(self, key: str, secs: float) -> None:
        self.seen.setdefault(key, []).append(secs)

    def delay(self, rng: Random, key: str) -> float:
        xs = self.seen.get(key, [])
        span = statistics.quantiles(xs, n=10)[-1] if len(xs) >= 5 else self.default[key]
        return rng.uniform(0, 1.25 * span)


def drive(child: Child, plan: dict[str, Any], rng: Random, timings: Timings) -> None:
    """Reads the child's lines until the plan's moment to kill; returns then."""
    kind = plan["kind"]
    if kind == "startup":
        busy_wait(timings.delay(rng, "R"))
        return
    deadline = None
    acks = 0
    limit = time.perf_counter() + 60
    while True:
        wait = 10.0 if deadline is None else max(0.0, deadline - time.perf_counter())
        line = child.read_line(wait)
        if line is None:
            if deadline is not None and time.perf_counter() >= deadline:
                return
            assert not child.eof, f"the child exited early; its last lines: {child.lines[-5:]}"
            raise AssertionError(f"the child hangs; its last lines: {child.lines[-5:]}")
        assert time.perf_counter() < limit, "the cycle takes too long"
        if line == "R":
            timings.add("R", time.perf_counter() - child.started)
            if kind == "time":
                deadline = time.perf_counter() + timings.delay(rng, "ops")
        elif line in ("A", "E"):
            acks += 1
            if kind == "acks" and acks >= plan["acks"]:
                return
        elif line[:2] in ("s ", "m ", "c ", "b "):
            timings.add(line[0], float(line[2:]))
        elif line.endswith("!"):
            child.go()
            busy_wait(timings.delay(rng, line[0].lower()))
            return
        elif line == "B" and kind == "bg":
            busy_wait(timings.delay(rng, "b"))
            return
        elif line == "D":
            timings.add("ops", time.perf_counter() - child.started)
            return


def phase_at_death(lines: list[str]) -> str:
    """Where the child was when it died, from the markers it wrote."""
    if "R" not in lines:
        return "startup"
    open_: dict[str, bool] = {}
    for line in lines:
        head = line[0]
        if head in "SMCB" and (len(line) == 1 or line[1] == "!"):
            open_[head] = True
        elif head in "smcb" and line[1:2] == " ":
            open_[head.upper()] = False
    names = {"S": "snapshot", "M": "maintenance", "C": "create", "B": "background"}
    inside = [names[k] for k, v in open_.items() if v]
    return "+".join(sorted(inside)) or "trading"


def run_loop(data: Path, sync: str, cycles: int, seed: int) -> Counter[str]:
    rng = Random(seed)
    model = fresh_model()
    timings = Timings()
    stats: Counter[str] = Counter()
    on_disk: set[str] = set()
    for cycle in range(cycles):
        plan = choose_plan(rng, missing=len(on_disk) < len(GRIDS))
        where = f"{sync} cycle {cycle} ({plan['kind']})"
        child = fork_child(trader(data, sync, plan, rng.randrange(2**32), (cycle + 1) * 1_000_000))
        try:
            drive(child, plan, rng, timings)
        finally:
            child.kill()
        assert child.killed, f"{where}: the child ended with status {child.status}: {child.lines[-5:]}"
        stats[phase_at_death(child.lines)] += 1
        done, inflight = parse_ops(child.lines)
        for op, outcome in done:
            apply_acked(model, op, outcome)
        stats["ops acknowledged"] += len(done)
        got, infos = check_recovery_idempotent(data, where)
        check_recovered(got, model, inflight, where)
        on_disk = set(got)
        for i in infos.values():
            stats["recovered from a snapshot"] += i.snapshot_file is not None
            stats["recovered a compacted journal"] += "seq 1..=" not in i.journal_report
            stats["torn tail cut"] += "cut damaged tail" in i.journal_report
    return stats


@pytest.mark.reliability("kill9")
@pytest.mark.parametrize("sync", MODES)
def test_kill9_crash_loop(tmp_path: Path, sync: str, cases: Cases) -> None:
    cycles = -(-CYCLES // len(MODES))
    stats = run_loop(tmp_path / "data", sync, cycles, seed=MODES.index(sync) + 9)
    cases.add(cycles)
    print(f"\nkill9[{sync}] {cycles} cycles: {dict(stats)}")
    if cycles >= 60:  # the kills did land in every phase, and recovery did meet snapshots and compaction
        for phase in ("startup", "trading", "snapshot", "maintenance", "background"):
            hits = sum(n for k, n in stats.items() if phase in k.split("+"))
            assert hits > 0, f"no kill landed in {phase}: {dict(stats)}"
        assert stats["recovered from a snapshot"] > 0 and stats["recovered a compacted journal"] > 0


def creator(data: Path, symbol: str) -> Any:
    def body(pipe: Pipe) -> None:
        t0 = time.perf_counter()
        with PersistenceManager(data, child_config("none"), maintenance=False) as pm:
            pm.order_book(symbol, *GRIDS["AAA"])
        pipe.say(f"D {time.perf_counter() - t0:.6f}")

    return body


@pytest.mark.reliability("kill9")
def test_kill9_while_creating_a_book_leaves_no_temporary_file(tmp_path: Path, cases: Cases) -> None:
    """Children creating new symbols are killed at random points of order_book(); a later
    manager that recovers and creates those symbols must leave no temporary file behind."""
    rng = Random(5)
    data = tmp_path / "data"
    probe = fork_child(creator(tmp_path / "probe", "P"))
    line = probe.read_line(30)
    probe.kill()
    assert line is not None and line.startswith("D "), probe.lines
    span = 1.3 * float(line[2:])
    debris: list[str] = []
    tried = 0
    for k in range(200):
        tried += 1
        child = fork_child(creator(data, f"S{k}"))
        busy_wait(rng.uniform(0, span))
        child.kill()
        cases.add()
        names = os.listdir(data / "journals") if (data / "journals").exists() else []
        debris = [n for n in names if ".journal.tmp-" in n]
        if debris:
            break
    if not debris:
        pytest.skip("no kill landed while a journal file was being created")
    with PersistenceManager(data, child_config("none"), maintenance=False) as pm:
        pm.recover_state()
        for k in range(tried):
            pm.order_book(f"S{k}", *GRIDS["AAA"])
    left = sorted(n for n in os.listdir(data / "journals") if n.startswith("."))
    assert not left, f"temporary files left behind: {left}"
