"""Single 64-byte appends: pinnacle (sync="none") against the four peers."""

from __future__ import annotations

import time
from functools import partial

from pinnacle.bench.baselines import (
    BufferedFileLog,
    LmdbLog,
    Method,
    MmapJournal,
    PinnacleLog,
    SqliteLog,
    TimingFloor,
    lmdb_missing,
)
from pinnacle.bench.harness import (
    KIND,
    MIB,
    PAYLOAD,
    Config,
    Context,
    Section,
    SectionResult,
    Table,
    Target,
    journal_size,
    num,
    times,
)
from pinnacle.bench.sections.common import LATENCY_COLUMNS, latency_cells, measure_methods, plan_note

HEADLINE = "pinnacle"
PEERS = ("file", "mmap", "sqlite", "lmdb")
FLOOR = "floor"


def methods(cfg: Config) -> list[Method]:
    size = journal_size(cfg.append.total_ops)
    sized = partial(PinnacleLog, initial_size=size)
    ts = time.time_ns()
    return [
        Method(HEADLINE, f"pinnacle `append(kind, payload)`, initial_size {size // MIB} MiB", sized),
        Method(
            "pinnacle_ts",
            "pinnacle `append(kind, payload, ts)` (caller's timestamp)",
            sized,
            op=lambda store: partial(store.append, KIND, PAYLOAD, ts),
        ),
        Method(
            "pinnacle_grow",
            "pinnacle `append(kind, payload)`, default initial_size (1 MiB, grows)",
            PinnacleLog,
        ),
        Method("file", "buffered file `f.write(struct.pack(...))`", BufferedFileLog),
        Method("mmap", "pure-Python mmap journal (struct + zlib.crc32)", MmapJournal),
        Method("sqlite", "sqlite3 WAL, synchronous=OFF, one txn, `INSERT`", SqliteLog),
        Method("lmdb", "py-lmdb `txn.put(append=True)`, one txn", LmdbLog, missing=lmdb_missing()),
        Method(FLOOR, "timing floor: a call that only takes `len(payload)` (no store)", TimingFloor),
    ]


def run(ctx: Context) -> SectionResult:
    measured, skipped = measure_methods(ctx, methods(ctx.cfg), ctx.cfg.append)
    head = next(st for m, st in measured if m.key == HEADLINE)
    table = Table(
        "Single 64-byte appends, ns per call (steady state after warm-up)",
        ["method", *LATENCY_COLUMNS, "page faults / 1k calls", "pinnacle speedup"],
    )
    res = SectionResult(tables=[table])
    for m, st in measured:
        speedup = st.median_ns / head.median_ns
        shown = "—" if m.key == FLOOR else times(speedup)
        table.rows.append([m.label, *latency_cells(st), num(st.faults_per_kop, 1), shown])
        for name in ("median_ns", "p50", "p99", "p999", "max"):
            res.metrics[f"append.{m.key}.{name}"] = getattr(st, name)
        if m.key in PEERS:
            res.metrics[f"append.speedup.{m.key}"] = speedup
    floor = next(st for m, st in measured if m.key == FLOOR)
    res.metrics["append.pinnacle.p999_above_floor"] = head.p999 - floor.p999
    res.series["latency_append"] = {
        m.label: {"curve": st.curve, "max": st.max, "samples": st.samples} for m, st in measured
    }
    table.notes += [
        plan_note(ctx, ctx.cfg.append),
        "Every method journals the same record: seq, wall-clock timestamp, kind and the 64-byte payload. "
        "pinnacle assigns seq and reads the clock inside `append`; the peers do it in Python "
        "(`time.time_ns()` + `struct.pack`), as a user of them would. "
        "The `(kind, payload, ts)` row shows pinnacle without its clock read.",
        "pinnacle speedup = that method's median / pinnacle's median (first row), same run. "
        "Page faults: minor faults of the calling thread (the writer), not of pinnacle's prefault thread.",
        "The timing floor row is no store at all, timed the same way: its tail (timer interrupts, "
        "hypervisor exits landing inside a timed call) is the machine's, and bounds what any row can show.",
        *skipped,
    ]
    return res


SECTION = Section(
    name="append",
    title="Single appends",
    run=run,
    targets=(
        Target("Python append median ≤ 250 ns", "append.pinnacle.median_ns", 250, "ns", at_most=True),
        Target("append p99.9 ≤ 2 µs", "append.pinnacle.p999", 2000, "ns", at_most=True),
        Target(
            "append p99.9 above the timing floor's p99.9 ≤ 2 µs",
            "append.pinnacle.p999_above_floor",
            2000,
            "ns",
            at_most=True,
        ),
        Target("≥ 1.4× faster than buffered f.write", "append.speedup.file", 1.4, "×", at_most=False),
        Target(
            "≥ 3.5× faster than the pure-Python mmap journal", "append.speedup.mmap", 3.5, "×", at_most=False
        ),
        Target("≥ 10× faster than sqlite3", "append.speedup.sqlite", 10, "×", at_most=False),
    ),
)
