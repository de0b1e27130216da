"""Run configuration, timing and latency histograms for the benchmarks (machine facts: machine.py).

Methodology (see benches/README.md in the source repository):
- per-call latency: ``perf_counter_ns`` around every single call, minus the timer overhead
  (median of back-to-back ``perf_counter_ns`` pairs timed with the same code), recorded into
  an HDR histogram;
- throughput: median ns/op over batches of back-to-back calls (loop overhead included, as a
  user's loop would have it);
- every method is warmed up on its own store before anything is recorded, then the methods
  of a table are measured interleaved (round-robin), so interference hits all of them alike;
- the garbage collector is off while timing (as ``timeit`` does).
"""

from __future__ import annotations

import gc
import resource
import shutil
import statistics
import time
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

KIND = 1
PAYLOAD_SIZE = 64
PAYLOAD = bytes(range(PAYLOAD_SIZE))
MIB = 1 << 20

# Percentiles at which latency curves are stored for plots: 0, 90, 99, ... 99.9999 and
# points in between, so a CCDF is smooth on a log axis (the max is stored on its own).
CURVE_PERCENTILES = (0.0, *(round(100 * (1 - 10 ** (-k / 8)), 6) for k in range(1, 49)))


@dataclass(frozen=True)
class Plan:
    """How many calls to make in each phase of one measurement."""

    warmup_ops: int
    batches: int
    batch_ops: int
    samples: int

    @property
    def total_ops(self) -> int:
        return self.warmup_ops + self.batches * (self.rewarm_ops + self.batch_ops) + self.samples

    @property
    def rewarm_ops(self) -> int:
        """Untimed calls before each turn of an interleaved measurement."""
        return max(1, self.batch_ops // 10)


@dataclass(frozen=True)
class Config:
    """Sizes of one run mode (``--quick`` or ``--full``)."""

    mode: str
    append: Plan
    durable: Plan
    bulk_rows: int  # rows per append_many call
    bulk_warmup: int  # append_many calls before timing
    bulk_reps: int  # timed append_many calls (median reported)
    read_reps: int  # timed full reads (median reported)
    thread_counts: tuple[int, ...]
    thread_ops: int  # durable appends per thread in the group-commit runs
    thread_reps: int  # runs per thread count (median reported)
    recovery_sizes: tuple[int, ...]
    recovery_reps: int
    memory_bytes: int  # buffer size of the machine memory baseline


QUICK = Config(
    mode="quick",
    append=Plan(warmup_ops=200_000, batches=7, batch_ops=10_000, samples=200_000),
    durable=Plan(warmup_ops=20, batches=7, batch_ops=30, samples=200),
    bulk_rows=100_000,
    bulk_warmup=1,
    bulk_reps=4,
    read_reps=2,
    thread_counts=(1, 2, 4, 8),
    thread_ops=50,
    thread_reps=1,
    recovery_sizes=(100_000, 1_000_000),
    recovery_reps=1,
    memory_bytes=256 * MIB,
)

FULL = Config(
    mode="full",
    append=Plan(warmup_ops=1_000_000, batches=21, batch_ops=10_000, samples=1_000_000),
    durable=Plan(warmup_ops=50, batches=9, batch_ops=200, samples=2_000),
    bulk_rows=200_000,
    bulk_warmup=3,
    bulk_reps=15,
    read_reps=5,
    thread_counts=(1, 2, 4, 8),
    thread_ops=400,
    thread_reps=3,
    recovery_sizes=(100_000, 1_000_000, 10_000_000),
    recovery_reps=3,
    memory_bytes=1024 * MIB,
)


@dataclass
class Table:
    """One markdown table of a section: ``rows`` hold display-ready values."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class SectionResult:
    """What a section hands back: tables for people, ``metrics`` (flat name -> number) for
    targets, and ``series`` (named, JSON-serialisable) for plots."""

    tables: list[Table] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    series: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """An issue target: ``metric`` compared with ``threshold`` (``at_most`` or at least)."""

    label: str
    metric: str
    threshold: float
    unit: str
    at_most: bool


class Closable(Protocol):
    def close(self) -> None: ...


S = TypeVar("S", bound=Closable)


@dataclass
class Context:
    """What every section gets: the run's sizes, a scratch directory and the timer overhead."""

    cfg: Config
    scratch: Path
    timer_overhead_ns: int
    # Flush requests completed so far by the data disk (all processes), None if unknown.
    flushes: Callable[[], int | None] = lambda: None
    _counter: int = 0

    @contextmanager
    def store_path(self, name: str) -> Iterator[Path]:
        """A path in a fresh directory of the scratch directory, removed afterwards."""
        self._counter += 1
        folder = self.scratch / f"{self._counter:03d}-{name}"
        folder.mkdir()
        try:
            yield folder / "store"
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    @contextmanager
    def opened(self, name: str, open_store: Callable[[Path], S]) -> Iterator[S]:
        """``open_store(path)`` on a fresh path; closed and removed afterwards."""
        with self.store_path(name) as path:
            store = open_store(path)
            try:
                yield store
            finally:
                store.close()


@dataclass(frozen=True)
class Section:
    """A benchmark section: ``run`` measures, ``targets`` name the metrics it must reach."""

    name: str
    title: str
    run: Callable[[Context], SectionResult]
    targets: tuple[Target, ...] = ()


@dataclass
class OpStats:
    """One method's per-op figures (nanoseconds)."""

    median_ns: float  # median over batches of ns/op
    p50: float
    p99: float
    p999: float
    max: float
    mean: float
    samples: int
    faults_per_kop: float  # minor page faults of the calling thread per 1000 calls
    curve: list[list[float]]  # [percentile, ns] pairs for plots
    flushes_per_op: float | None = None  # data-disk flush requests per call (after warm-up)


def thread_minflt() -> int:
    return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt


def process_minflt() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


@contextmanager
def gc_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def run_ops(op: Callable[[], object], n: int) -> int:
    """Calls ``op`` n times back to back; returns the elapsed ns."""
    pc = time.perf_counter_ns
    t0 = pc()
    for _ in range(n):
        op()
    return pc() - t0


def _timed_calls(op: Callable[[], object] | None, n: int) -> array[int]:
    # One loop for both the calibration (op=None) and the measurement, so the timer code
    # that is subtracted is exactly the timer code that was measured.
    pc = time.perf_counter_ns
    out = array("q", bytes(8 * n))
    if op is None:
        for i in range(n):
            t0 = pc()
            out[i] = pc() - t0
    else:
        for i in range(n):
            t0 = pc()
            op()
            out[i] = pc() - t0
    return out


def timer_overhead_ns(n: int = 200_000) -> int:
    """Median cost of the ``t0 = perf_counter_ns(); ... = perf_counter_ns() - t0`` pair."""
    with gc_off():
        return int(statistics.median(_timed_calls(None, n)))


def histogram_stats(values: np.ndarray) -> dict[str, Any]:
    """Percentiles of non-negative ns values via an HDR histogram (3 significant digits)."""
    from hdrh.histogram import HdrHistogram  # a benchmark dependency: see requirements.txt

    hist = HdrHistogram(1, 3600 * 10**9, 3)
    uniq, counts = np.unique(values, return_counts=True)
    for v, c in zip(uniq.tolist(), counts.tolist(), strict=True):
        hist.record_value(v, c)
    at = hist.get_value_at_percentile
    return {
        "p50": at(50),
        "p99": at(99),
        "p999": at(99.9),
        "max": hist.get_max_value(),
        "mean": hist.get_mean_value(),
        "samples": hist.get_total_count(),
        "curve": [[p, at(p)] for p in CURVE_PERCENTILES if p <= 100 * (1 - 1 / len(values))],
    }


@dataclass
class _Tally:
    """What ``measure_interleaved`` collects for one op."""

    batches: list[float] = field(default_factory=list)
    latencies: list[array[int]] = field(default_factory=list)
    faults: int = 0
    flushes: list[float | None] = field(default_factory=list)


def measure_interleaved(
    ops: list[Callable[[], object]], plan: Plan, overhead_ns: int, flushes: Callable[[], int | None]
) -> list[OpStats]:
    """Measures ``ops`` round-robin: each is warmed up, then every one of ``plan.batches``
    rounds runs, for each op in turn, a few untimed calls, one batch (for the median ns/op)
    and one chunk of individually timed calls (for the histogram). Interference (other processes, the disk
    flushing for someone else) is then spread over all ops instead of landing on one."""
    chunk = -(-plan.samples // plan.batches)
    tallies = [_Tally() for _ in ops]
    with gc_off():
        for op in ops:
            run_ops(op, plan.warmup_ops)
        for _ in range(plan.batches):
            for op, t in zip(ops, tallies, strict=True):
                run_ops(op, plan.rewarm_ops)  # caches are cold after the other ops' turns
                faults, flushed = thread_minflt(), flushes()
                t.batches.append(run_ops(op, plan.batch_ops) / plan.batch_ops)
                t.latencies.append(_timed_calls(op, chunk))
                t.faults += thread_minflt() - faults
                t.flushes.append(per_op(flushed, flushes(), plan.batch_ops + chunk))
    calls = plan.batches * (plan.batch_ops + chunk)
    return [
        OpStats(
            median_ns=statistics.median(t.batches),
            faults_per_kop=1000 * t.faults / calls,
            flushes_per_op=mean_or_none(t.flushes),
            **histogram_stats(
                np.maximum(np.frombuffer(b"".join(t.latencies), dtype=np.int64) - overhead_ns, 0)
            ),
        )
        for t in tallies
    ]


def median_time_ns(fn: Callable[[], object], reps: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``reps`` calls after ``warmup`` untimed calls."""
    with gc_off():
        for _ in range(warmup):
            fn()
        return statistics.median(run_ops(fn, 1) for _ in range(reps))


def mean_or_none(values: list[float | None]) -> float | None:
    """The mean of ``values``, or None if any is None (a counter that is not available)."""
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if len(known) == len(values) else None


def per_op(before: int | None, after: int | None, ops: int) -> float | None:
    """(after - before) / ops, or None when the counter is not available."""
    return None if before is None or after is None else (after - before) / ops


def journal_size(entries: int) -> int:
    """A pinnacle ``initial_size`` that holds ``entries`` 64-byte entries without growing
    (at least 256 MiB, in steps of 64 MiB)."""
    step = 64 * MIB
    return max(256 * MIB, -(-entries * 128 // step) * step)


def num(x: float, digits: int = 0) -> str:
    """A number for a table: thousands separators, ``digits`` decimals."""
    return f"{x:,.{digits}f}"


def times(x: float) -> str:
    """A ratio for a table."""
    return f"{x:.2f}×"
