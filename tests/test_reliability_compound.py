"""Compound faults: a crash while recovering from damage, during compaction and during
snapshot rotation.

- A directory whose journals have a torn tail and/or whose newest snapshots are damaged
  is recovered by forked children that are SIGKILLed at random points, many times over
  the same directory (each kill leaves whatever the repair had done so far).
- Children that recover, trade and then compact (perform_maintenance) or snapshot with
  rotation down to one snapshot are SIGKILLed at random points inside that work.

After every kill: each symbol still has a valid snapshot that recovery uses (one existed
before), two recoveries give the same books, and they equal the acknowledged state
(plus, at most, the op in flight). COMPOUND_KILLS (default 40) sets the kills per test.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import struct
import time
from pathlib import Path
from random import Random
from typing import Any

import pytest
from reliability_support import (
    GRIDS,
    PLAIN,
    Pipe,
    apply_acked,
    apply_op,
    busy_wait,
    check_recovered,
    fork_child,
    fresh_model,
    gen_op,
    parse_ops,
    recover,
)
from scorecard import Cases

from pinnacle import Journal, OrderBook, OrderBookError, PersistenceConfig, PersistenceManager
from pinnacle.snapshots import SnapshotManager

pytestmark = pytest.mark.reliability("compound")

KILLS = int(os.environ.get("COMPOUND_KILLS", "40"))


def config(keep: int) -> PersistenceConfig:
    return PersistenceConfig(
        journal_sync_mode="none", snapshot_interval_min=0, keep_snapshots=keep, compaction_threshold=30
    )


def build(data: Path, rng: Random) -> dict[str, OrderBook]:
    """Three symbols, each with three snapshots and a compacted journal; returns the model."""
    model = fresh_model()
    ts = 0
    with PersistenceManager(data, config(keep=3), maintenance=False) as pm:
        books = {s: pm.order_book(s, *GRIDS[s]) for s in GRIDS}
        for _round in range(4):
            for s, b in books.items():
                for _ in range(60):
                    ts += 1
                    op = gen_op(rng, b, ts)
                    try:
                        apply_op(b, op)
                    except OrderBookError:
                        continue
                    apply_op(model[s], op)
                pm.snapshot(s)
            assert not pm.perform_maintenance().errors
        for s, b in books.items():
            for _ in range(20):
                ts += 1
                op = gen_op(rng, b, ts)
                try:
                    apply_op(b, op)
                except OrderBookError:
                    continue
                apply_op(model[s], op)
            assert pm.get_journal(s).first_seq > 1  # type: ignore[union-attr]
    return model


def snapshots(data: Path, symbol: str) -> SnapshotManager:
    return SnapshotManager(symbol, data / "snapshots" / symbol, *GRIDS[symbol])


def valid_snapshots(data: Path, symbol: str) -> list[Path]:
    """The snapshot files that load, newest first."""
    out = []
    for f in snapshots(data, symbol).files():
        try:
            OrderBook.from_snapshot(f.path.read_bytes(), *GRIDS[symbol])
        except Exception:
            continue
        out.append(f.path)
    return out


def tear_tail(path: Path, rng: Random) -> None:
    """Leaves a torn entry after the last one: a plausible header with a wrong CRC and
    part of its payload, as a writer killed mid-append would."""
    with Journal(path) as j:
        end, seq = j.recovery_report.end_offset, j.next_seq
    length = rng.choice([18, 26, 35, 60])
    head = struct.pack("<IIQqHHI", rng.randrange(1, 2**32), length, seq, time.time_ns(), 1, 0, 0)
    with open(path, "r+b") as f:
        f.seek(end)
        f.write(head[: rng.randrange(5, len(head) + 1)] + rng.randbytes(rng.randrange(0, length)))


def damage_newest_snapshot(data: Path, symbol: str, rng: Random) -> None:
    """Cuts or flips a bit of the newest valid snapshot, if an older valid one remains
    (the journal still holds what follows it: compaction keeps the oldest one's entries)."""
    valid = valid_snapshots(data, symbol)
    if len(valid) < 2:
        return
    raw = bytearray(valid[0].read_bytes())
    if rng.random() < 0.5:
        del raw[rng.randrange(1, len(raw)) :]
    else:
        raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
    valid[0].write_bytes(bytes(raw))


def check_state(data: Path, model: dict[str, OrderBook], inflight: Any, where: str) -> None:
    """A valid, used snapshot per symbol; two recoveries agree and equal the model."""
    for s in GRIDS:
        assert valid_snapshots(data, s), f"{where}: {s} has no valid snapshot left"
    got, infos = recover(data)
    again, _ = recover(data)
    assert again == got, f"{where}: recovering twice gave different books"
    check_recovered(got, model, inflight, where)
    for s, info in infos.items():
        assert info.snapshot_file is not None, f"{where}: {s} was not recovered from a snapshot"


# ------------------------------------------------------------- crash during recovery


def recoverer(data: Path) -> Any:
    def body(pipe: Pipe) -> None:
        t0 = time.perf_counter()
        with PersistenceManager(data, PLAIN, maintenance=False) as pm:
            pm.recover_state()
        pipe.say(f"D {time.perf_counter() - t0:.6f}")

    return body


@pytest.mark.parametrize("damage", ["torn_tail", "bad_snapshot", "both"])
def test_crash_during_recovery(tmp_path: Path, damage: str, cases: Cases) -> None:
    rng = Random(damage)
    data = tmp_path / "data"
    model = build(data, rng)

    def hurt() -> None:
        for s in GRIDS:
            if damage != "bad_snapshot":
                tear_tail(data / "journals" / f"{s}.journal", rng)
            if damage != "torn_tail" and rng.random() < 0.7:
                damage_newest_snapshot(data, s, rng)

    hurt()
    # How long a whole recovery of this directory takes (on a copy: it repairs).
    probe = tmp_path / "probe"
    shutil.copytree(data, probe)
    child = fork_child(recoverer(probe))
    line = child.read_line(30)
    child.kill()
    assert line is not None and line.startswith("D "), child.lines
    span = 1.3 * float(line[2:])
    completed = 0
    for k in range(KILLS):
        where = f"{damage} kill {k}"
        child = fork_child(recoverer(data))
        busy_wait(rng.uniform(0, span))
        child.kill()
        assert child.killed or child.exited_ok, f"{where}: status {child.status}: {child.lines}"
        # Check a copy, so that the next child meets exactly what this kill left.
        scratch = tmp_path / f"scratch{k}"
        shutil.copytree(data, scratch)
        check_state(scratch, model, None, where)
        shutil.rmtree(scratch)
        if child.exited_ok:
            completed += 1
            hurt()  # damage it again for the next rounds
        cases.add()
    print(f"\n{damage}: {KILLS} kills, {completed} recoveries finished first")
    assert completed < KILLS, "no kill landed inside a recovery"


# ----------------------------------------------- crash during compaction or rotation


def maintainer(data: Path, what: str, seed: int, base: int) -> Any:
    """Recovers, trades (T/A/E lines), then says "G!" and, on "go", compacts or takes a
    snapshot of every symbol with rotation to one snapshot; then "d <secs>"."""

    def body(pipe: Pipe) -> None:
        rng = Random(seed)
        keep = 1 if what == "rotation" else 2
        pm = PersistenceManager(data, config(keep), maintenance=False)
        pm.recover_state()
        books = {s: pm.order_book(s) for s in GRIDS}
        for k in range(rng.randint(20, 120)):
            s = rng.choice(sorted(GRIDS))
            op = gen_op(rng, books[s], base + k)
            pipe.say("T " + json.dumps(op))
            try:
                apply_op(books[s], op)
            except OrderBookError:
                pipe.say("E")
            else:
                pipe.say("A")
        pipe.say("G!")
        pipe.wait_go()
        t0 = time.perf_counter()
        if what == "compaction":
            report = pm.perform_maintenance()
            assert not report.errors, report.errors
        else:
            for s in GRIDS:
                pm.snapshot(s)
        pipe.say(f"d {time.perf_counter() - t0:.6f}")
        pipe.wait_go()

    return body


@pytest.mark.parametrize("what", ["compaction", "rotation"])
def test_crash_during_compaction_or_rotation(tmp_path: Path, what: str, cases: Cases) -> None:
    rng = Random(what)
    data = tmp_path / "data"
    model = build(data, rng)
    span, inside, durations = 0.002, 0, []
    for k in range(KILLS):
        where = f"{what} kill {k}"
        if what == "compaction" and rng.random() < 0.3:  # rotation must drop it, compaction skip it
            damage_newest_snapshot(data, rng.choice(sorted(GRIDS)), rng)
        child = fork_child(maintainer(data, what, rng.randrange(2**32), (k + 1) * 100_000))
        try:
            while (line := child.read_line(30)) != "G!":
                assert line is not None, f"{where}: the child stopped: {child.lines[-5:]}"
            child.go()
            if k % 8 == 0:  # now and then let it finish, to measure how long it takes
                while not (line := child.read_line(30) or "").startswith("d "):
                    assert line, f"{where}: the child stopped: {child.lines[-5:]}"
            else:
                busy_wait(rng.uniform(0, span))
        finally:
            child.kill()
        assert child.killed, f"{where}: status {child.status}"
        finished = [float(x[2:]) for x in child.lines if x.startswith("d ")]
        if finished:
            durations.append(finished[0])
            span = 1.5 * statistics.median(durations)
        else:
            inside += 1
        done, inflight = parse_ops(child.lines)
        assert inflight is None  # every op was acknowledged before "G!"
        for op, outcome in done:
            apply_acked(model, op, outcome)
        check_state(data, model, None, where)
        cases.add()
    print(f"\n{what}: {KILLS} kills, {inside} inside the {what}")
    assert inside > 0, "no kill landed inside the maintenance"
