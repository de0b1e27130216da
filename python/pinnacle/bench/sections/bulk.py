"""Bulk paths: appending a (N, 64) uint8 array, reading everything back into numpy, and
iterating record by record in Python, for pinnacle and the peers' equivalents."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import numpy as np

from pinnacle.bench.baselines import (
    BufferedFileLog,
    LmdbLog,
    Method,
    MmapJournal,
    PinnacleLog,
    SqliteLog,
    lmdb_missing,
)
from pinnacle.bench.harness import (
    KIND,
    PAYLOAD_SIZE,
    Config,
    Context,
    Section,
    SectionResult,
    Table,
    Target,
    journal_size,
    median_time_ns,
    num,
    process_minflt,
    times,
)

HEADLINE = "pinnacle"


def methods(cfg: Config) -> list[Method]:
    size = journal_size(entries(cfg))
    return [
        Method(
            HEADLINE,
            "pinnacle: `append_many(kind, array)` / `read_array()` / `for e in j.read()`",
            partial(PinnacleLog, initial_size=size),
        ),
        Method(
            "file",
            "buffered file: `f.write(numpy records)` / `np.fromfile` (no checksum) / `struct.iter_unpack`",
            BufferedFileLog,
        ),
        Method(
            "mmap",
            "pure-Python mmap journal: numpy records + crc32 per record, one slice assignment / "
            "verify + `np.frombuffer` / verifying generator",
            MmapJournal,
        ),
        Method("sqlite", "sqlite3 (sync=OFF): `executemany` / `fetchall()` / cursor iteration", SqliteLog),
        Method(
            "lmdb",
            "py-lmdb: `putmulti(append=True)` / `list(cursor)` / cursor iteration",
            LmdbLog,
            missing=lmdb_missing(),
        ),
    ]


def entries(cfg: Config) -> int:
    return (cfg.bulk_warmup + cfg.bulk_reps) * cfg.bulk_rows


def iterate(records: Iterable[Any]) -> int:
    """A user's ``for`` loop over the records; returns how many there were."""
    n = 0
    for n, _ in enumerate(records, 1):  # noqa: B007 - the loop is what is measured
        pass
    return n


def checked(label: str, read: Callable[[], int], expected: int) -> None:
    """Runs ``read`` once (this also warms it up) and checks it saw every entry."""
    got = read()
    if got != expected:
        raise RuntimeError(f"{label}: read {got} entries, expected {expected}")


def timed(fn: Callable[[], object], reps: int, warmup: int, entries_per_call: int) -> tuple[float, float]:
    """Median ns per call of ``fn``, and the process's page faults per 1000 entries over all calls."""
    before = process_minflt()
    ns = median_time_ns(fn, reps, warmup)
    return ns, 1000 * (process_minflt() - before) / ((reps + warmup) * entries_per_call)


def measure(ctx: Context, m: Method, rows: np.ndarray) -> dict[str, float]:
    cfg = ctx.cfg
    n = entries(cfg)
    with ctx.opened(m.key, m.open) as store:
        append = partial(store.append_many, KIND, rows)
        write_ns, write_faults = timed(append, cfg.bulk_reps, cfg.bulk_warmup, len(rows))
        store.commit()
        checked(m.label, store.read_bulk, n)
        read_ns, read_faults = timed(store.read_bulk, cfg.read_reps, 0, n)

        def scan() -> int:
            return iterate(store.read_iter())

        checked(m.label, scan, n)
        iter_ns = median_time_ns(scan, cfg.read_reps, warmup=0)
    return {
        "append_meps": len(rows) / write_ns * 1e3,
        "append_faults_per_k": write_faults,
        "read_meps": n / read_ns * 1e3,
        "read_faults_per_k": read_faults,
        "iter_ns": iter_ns / n,
    }


def run(ctx: Context) -> SectionResult:
    cfg = ctx.cfg
    rows = np.random.default_rng(0).integers(0, 256, (cfg.bulk_rows, PAYLOAD_SIZE), dtype=np.uint8)
    table = Table(
        "Bulk append, bulk read and Python iteration of 64-byte entries",
        [
            "method (append / bulk read / iteration)",
            "append (M entries/s)",
            "pinnacle ×",
            "page faults / 1k",
            "bulk read (M entries/s)",
            "pinnacle ×",
            "page faults / 1k",
            "iterate (ns/entry)",
            "pinnacle ×",
        ],
    )
    res = SectionResult(tables=[table])
    results: list[tuple[Method, dict[str, float]]] = []
    for m in methods(cfg):
        if m.missing:
            table.notes.append(f"**{m.label}: skipped** — {m.missing}")
            continue
        print(f"  {m.label} ...", file=sys.stderr, flush=True)
        results.append((m, measure(ctx, m, rows)))
    head = next(r for m, r in results if m.key == HEADLINE)
    for m, r in results:
        ratios = {
            "append": head["append_meps"] / r["append_meps"],
            "read": head["read_meps"] / r["read_meps"],
            "iter": r["iter_ns"] / head["iter_ns"],
        }
        table.rows.append(
            [
                m.label,
                num(r["append_meps"], 2),
                times(ratios["append"]),
                num(r["append_faults_per_k"], 1),
                num(r["read_meps"], 2),
                times(ratios["read"]),
                num(r["read_faults_per_k"], 1),
                num(r["iter_ns"], 0),
                times(ratios["iter"]),
            ]
        )
        res.metrics.update({f"bulk.{m.key}.{k}": v for k, v in r.items()})
        res.metrics.update({f"bulk.speedup_{k}.{m.key}": v for k, v in ratios.items()})
    table.notes += [
        f"append: median of {cfg.bulk_reps} calls of {cfg.bulk_rows:,} rows each after {cfg.bulk_warmup} "
        f"warm-up call(s), into one store per method; the peers pack their records from the same (N, 64) "
        f"uint8 array (numpy structured arrays; packing time included).",
        f"bulk read / iterate: everything appended ({entries(cfg):,} entries, page cache hot), median of "
        f"{cfg.read_reps} after one checked untimed pass. pinnacle × = how many times faster pinnacle is.",
        "Page faults: minor faults of the whole process per 1000 entries (a 4 KiB page of fresh memory "
        "costs a hypervisor fault on this kind of VM; numpy asks for transparent huge pages on large "
        "arrays, plain malloc/Rust allocations do not).",
    ]
    return res


SECTION = Section(
    name="bulk",
    title="Bulk append and reads",
    run=run,
    targets=(
        Target("append_many ≥ 25 M entries/s", "bulk.pinnacle.append_meps", 25, "M entries/s", at_most=False),
        Target("read_array ≥ 30 M entries/s", "bulk.pinnacle.read_meps", 30, "M entries/s", at_most=False),
        Target("read iteration ≤ 200 ns/entry", "bulk.pinnacle.iter_ns", 200, "ns/entry", at_most=True),
    ),
)
