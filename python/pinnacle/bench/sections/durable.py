"""Durable appends: each call returns only once the record is on disk (fdatasync or equivalent),
single-threaded against the bare syscalls and the peers, then group commit from N threads."""

from __future__ import annotations

import statistics
import sys
import threading
import time
from functools import partial
from typing import Any

from pinnacle.bench.baselines import (
    FdatasyncLog,
    GroupCommitLog,
    LmdbLog,
    Method,
    PinnacleLog,
    SqliteLog,
    lmdb_missing,
)
from pinnacle.bench.harness import (
    KIND,
    PAYLOAD,
    Config,
    Context,
    OpStats,
    Section,
    SectionResult,
    Table,
    Target,
    journal_size,
    mean_or_none,
    num,
    per_op,
    run_ops,
    times,
)
from pinnacle.bench.sections.common import LATENCY_COLUMNS, latency_cells, measure_methods, plan_note

ALWAYS = "pinnacle_always"
BARE = "bare"


def _append_flush(journal: Any) -> None:
    journal.append(KIND, PAYLOAD)
    journal.flush()


def methods(cfg: Config) -> list[Method]:
    size = journal_size(cfg.durable.total_ops)
    return [
        Method(
            ALWAYS, "pinnacle sync='always' `append`", partial(PinnacleLog, sync="always", initial_size=size)
        ),
        Method(BARE, "bare `os.write` + `os.fdatasync` (O_APPEND file)", FdatasyncLog),
        Method(
            "bare_prealloc",
            "bare `os.pwrite` + `os.fdatasync` (preallocated file)",
            partial(FdatasyncLog, prealloc=True),
        ),
        Method(
            "pinnacle_flush",
            "pinnacle sync='none' `append` + `flush()`",
            partial(PinnacleLog, initial_size=size),
            op=lambda s: partial(_append_flush, s.journal),
        ),
        Method(
            "sqlite", "sqlite3 WAL, synchronous=FULL, commit per record", partial(SqliteLog, durable=True)
        ),
        Method(
            "lmdb",
            "py-lmdb, synced commit per record",
            partial(LmdbLog, durable=True),
            missing=lmdb_missing(),
        ),
    ]


def threaded_rate(op: Any, threads: int, ops_per_thread: int) -> float:
    """Durable appends/s when ``threads`` threads each call ``op`` ``ops_per_thread`` times."""
    errors: list[BaseException] = []
    start = threading.Barrier(threads + 1)

    def work() -> None:
        try:
            start.wait()
            run_ops(op, ops_per_thread)
        except BaseException as e:  # re-raised in the caller below
            errors.append(e)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    start.wait()
    t0 = time.perf_counter_ns()
    for w in workers:
        w.join()
    elapsed = time.perf_counter_ns() - t0
    if errors:
        raise errors[0]
    return threads * ops_per_thread * 1e9 / elapsed


def group_commit(ctx: Context, res: SectionResult, group: list[Method]) -> Table:
    cfg = ctx.cfg
    rates: dict[str, list[float]] = {}
    table = Table(
        "Group commit: N threads appending durably to ONE store",
        ["threads", "method", "durable appends/s (total)", "× 1-thread fdatasync", "disk flushes / append"],
    )
    found: list[tuple[int, Method, float, float | None]] = []
    for m in group:
        print(f"  {m.label}, {cfg.thread_counts} threads ...", file=sys.stderr, flush=True)
        for n in cfg.thread_counts:
            reps: list[float] = []
            flushes: list[float | None] = []
            for _ in range(cfg.thread_reps):
                with ctx.opened(m.key, m.open) as store:
                    op = m.op(store)
                    run_ops(op, 5)  # warm-up
                    before = ctx.flushes()
                    reps.append(threaded_rate(op, n, cfg.thread_ops))
                    flushes.append(per_op(before, ctx.flushes(), n * cfg.thread_ops))
            rate = statistics.median(reps)
            rates.setdefault(m.key, []).append(rate)
            found.append((n, m, rate, mean_or_none(flushes)))
    baseline = rates[BARE][cfg.thread_counts.index(1)]
    for n, m, rate, flush in sorted(found, key=lambda f: f[0]):
        table.rows.append(
            [n, m.label, num(rate), times(rate / baseline), "n/a" if flush is None else num(flush, 2)]
        )
        res.metrics[f"durable.group.{m.key}.{n}"] = rate
        res.metrics[f"durable.group_speedup.{m.key}.{n}"] = rate / baseline
    res.series["durable_threads"] = {
        "threads": list(cfg.thread_counts),
        "lines": {m.label: rates[m.key] for m in group},
        "baseline": baseline,
    }
    table.notes.append(
        f"Each thread makes {cfg.thread_ops} durable appends (median of {cfg.thread_reps} run(s), "
        "fresh store each run). × 1-thread fdatasync: against the bare `os.write` + `os.fdatasync` "
        "rate with 1 thread in this table. The bare rows show what the kernel gives N threads "
        "fsyncing one file without help; the pure-Python group commit (a leader syncs for everyone "
        "waiting, in `baselines.GroupCommitLog`) shows what grouping can reach from Python threads. "
        "Disk flushes count every process's flush requests on the data disk (below 1 = syncs were "
        "shared)."
    )
    return table


def flush_checks(measured: list[tuple[Method, OpStats]]) -> list[str]:
    """Warnings read from the disk's flush counts, calibrated by the bare fdatasync baseline
    (one flush per call when the disk reports flushes and nobody else is flushing)."""
    bare = next(st.flushes_per_op for m, st in measured if m.key == BARE)
    if bare is None or bare < 0.9:
        return []
    notes = [
        f"**SUSPECT: {m.label} made {st.flushes_per_op:.2f} disk flushes per call: is it really durable?**"
        for m, st in measured
        if st.flushes_per_op is not None and st.flushes_per_op < 0.5
    ]
    if bare > 1.1:
        notes.append(
            f"**Other processes flushed the disk during this section** (the bare baseline saw {bare:.2f} "
            "flushes per call): the durable figures include waiting for their I/O."
        )
    return notes


def run(ctx: Context) -> SectionResult:
    all_methods = methods(ctx.cfg)
    measured, skipped = measure_methods(ctx, all_methods, ctx.cfg.durable)
    bare = next(st for m, st in measured if m.key == BARE)
    table = Table(
        "Durable single appends, µs per call",
        ["method", *LATENCY_COLUMNS, "durable appends/s", "disk flushes / call", "p50 × bare fdatasync"],
    )
    res = SectionResult(tables=[table])
    for m, st in measured:
        ratio = st.p50 / bare.p50
        flushes = "n/a" if st.flushes_per_op is None else num(st.flushes_per_op, 2)
        table.rows.append(
            [m.label, *latency_cells(st, 1000, 1), num(1e9 / st.median_ns), flushes, times(ratio)]
        )
        res.metrics[f"durable.{m.key}.median_ns"] = st.median_ns
        res.metrics[f"durable.{m.key}.p50"] = st.p50
        res.metrics[f"durable.ratio.{m.key}"] = ratio
    table.notes += [
        plan_note(ctx, ctx.cfg.durable),
        "durable appends/s = 1 s / the batch median. p50 × bare fdatasync = that method's per-call "
        "median / the O_APPEND `os.write` + `os.fdatasync` per-call median (lower is better; per-call "
        "medians, because one slow flush moves a batch mean). Disk flushes: flush requests the data "
        "disk completed per call after warm-up, from all processes. fdatasync cost depends "
        "on everything else writing to the disk: compare rows, not runs.",
        *flush_checks(measured),
        *skipped,
    ]
    group = [m for m in all_methods if m.key in (ALWAYS, BARE)]
    group.append(Method("pygroup", "pure-Python group commit (`os.write` + `os.fdatasync`)", GroupCommitLog))
    res.tables.append(group_commit(ctx, res, group))
    return res


SECTION = Section(
    name="durable",
    title="Durable appends",
    run=run,
    targets=(
        Target(
            "sync='always' append within 1.15× of bare fdatasync",
            f"durable.ratio.{ALWAYS}",
            1.15,
            "×",
            at_most=True,
        ),
        Target(
            "group commit, 8 threads ≥ 5× per-record fdatasync",
            f"durable.group_speedup.{ALWAYS}.8",
            5,
            "×",
            at_most=False,
        ),
    ),
)
