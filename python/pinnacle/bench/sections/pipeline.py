"""Market-data pipeline: events/s rebuilding a book from Binance JSON lines and tardis CSV,
pinnacle (Rust apply loop) against a pure-Python baseline (json or csv + dict
book) in the same run; throughput with checkpoints against without; the capture pause at
10 k levels per side; resume time. Needs pyarrow (``pinnacle[pipeline]``) for the
checkpoint figures."""

from __future__ import annotations

import csv
import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pinnacle.bench.harness import Context, Section, SectionResult, Table, Target, num, times

_loads: Callable[[bytes], Any] = json.loads
JSON_NAME = "json"


def _zero(q: str) -> bool:
    return q.strip("0.") == ""


def baseline_binance(files: list[Path]) -> int:
    """A user's pure-Python loop: parse each line, check continuity, update dict books."""
    bids: dict[str, str] = {}
    asks: dict[str, str] = {}
    prev: int | None = None
    n = 0
    for path in files:
        with open(path, "rb") as f:
            for line in f:
                d = _loads(line)
                n += 1
                if "lastUpdateId" in d:
                    bids = {p: q for p, q in d["bids"]}
                    asks = {p: q for p, q in d["asks"]}
                    prev = None
                    continue
                if prev is not None and d["U"] != prev + 1:
                    pass  # a gap: counted by the real pipeline
                prev = d["u"]
                for side, levels in ((bids, d["b"]), (asks, d["a"])):
                    for p, q in levels:
                        if _zero(q):
                            side.pop(p, None)
                        else:
                            side[p] = q
    return n


def baseline_tardis(files: list[Path]) -> int:
    bids: dict[str, str] = {}
    asks: dict[str, str] = {}
    n = 0
    last_local = None
    in_snapshot = False
    for path in files:
        with open(path, newline="") as f:
            rows = csv.reader(f)
            next(rows)
            for _ex, _sym, _ts, local, snap, side, price, amount in rows:
                if local != last_local:
                    n += 1
                    last_local = local
                if snap == "true":
                    if not in_snapshot:
                        bids.clear()
                        asks.clear()
                        in_snapshot = True
                else:
                    in_snapshot = False
                book = bids if side == "bid" else asks
                if _zero(amount):
                    book.pop(price, None)
                else:
                    book[price] = amount
    return n


def _pinnacle(files: list[Path], fmt: str) -> int:
    from pinnacle.pipeline import Pipeline

    return Pipeline("BTCUSDT", files, format=fmt).run().events_processed


def _best_rate(fn: Callable[[], int], reps: int) -> float:
    rates = []
    for _ in range(reps):
        t0 = time.perf_counter()
        n = fn()
        rates.append(n / (time.perf_counter() - t0))
    return max(rates)


def run(ctx: Context) -> SectionResult:
    from pinnacle.pipeline import Pipeline, generate

    quick = ctx.cfg.mode == "quick"
    events = 200_000 if quick else 2_000_000
    reps = 3
    table = Table(
        "Market-data pipeline: rebuilding an L2 book (events/s, best of 3, one core)",
        ["input", "pinnacle (events/s)", f"pure Python ({JSON_NAME}/csv + dict)", "pinnacle ×"],
    )
    res = SectionResult(tables=[table])
    for fmt, baseline in (("binance-depth", baseline_binance), ("tardis-l2", baseline_tardis)):
        with ctx.store_path(f"pipeline-{fmt}") as d:
            files = generate(d / "in", format=fmt, files=2, events_per_file=events // 2, gap_rate=0.0005)
            print(f"  pipeline {fmt} ...", file=sys.stderr, flush=True)
            ours = _best_rate(partial(_pinnacle, files, fmt), reps)
            theirs = _best_rate(partial(baseline, files), reps)
            key = fmt.split("-")[0]
            res.metrics[f"pipeline.{key}.events_per_s"] = ours
            res.metrics[f"pipeline.{key}.speedup"] = ours / theirs
            table.rows.append([fmt, num(ours), num(theirs), times(ours / theirs)])
    ckpt = Table("Checkpoints (Binance input)", ["figure", "value"])
    res.tables.append(ckpt)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        ckpt.notes.append("**skipped** — pyarrow is not installed (pip install 'pinnacle[pipeline]')")
        return res
    with ctx.store_path("pipeline-ckpt") as d:
        files = generate(d / "in", files=2, events_per_file=events // 2, gap_rate=0.0005)
        every = events // 4
        plain = statistics.median(
            Pipeline("BTCUSDT", files).run().metrics["events_per_s"] for _ in range(reps)
        )
        rates, resume = [], []
        for i in range(reps):
            p = Pipeline("BTCUSDT", files, checkpoint_dir=d / f"ck{i}", every_events=every)
            rates.append(p.run().metrics["events_per_s"])
            resume.append(Pipeline("BTCUSDT", files, checkpoint_dir=d / f"ck{i}").run().metrics["resume_ms"])
        with_ckpt = statistics.median(rates)
        deep = generate(d / "deep", files=1, events_per_file=20_000, depth=10_000, gap_rate=0)
        r = Pipeline("BTCUSDT", deep, checkpoint_dir=d / "deep-ck", every_events=200).run()
        sync = sorted(c["sync_duration_ms"] for c in r.checkpoints)
        p99 = sync[min(len(sync) - 1, int(0.99 * len(sync)))]
        size = r.checkpoints[-1]["checkpointed_size"]
        async_ms = statistics.median(c["async_duration_ms"] for c in r.checkpoints)
    res.metrics["pipeline.ckpt_throughput_ratio"] = with_ckpt / plain
    res.metrics["pipeline.capture_p99_ms"] = p99
    res.metrics["pipeline.resume_ms"] = statistics.median(resume)
    ckpt.rows += [
        [f"throughput, checkpoint every {every:,} events / none", times(with_ckpt / plain)],
        ["resume: find, verify, load, seek (median)", f"{statistics.median(resume):.1f} ms"],
        [f"capture (sync) duration p99, 10 k levels per side ({len(sync)} checkpoints)", f"{p99:.3f} ms"],
        ["persist (async) duration, median, 10 k levels per side", f"{async_ms:.1f} ms"],
        ["checkpointed size, 10 k levels per side", f"{size:,} bytes"],
    ]
    return res


SECTION = Section(
    name="pipeline",
    title="Market-data pipeline",
    run=run,
    targets=(
        Target(
            "JSON lines ≥ 1 M events/s", "pipeline.binance.events_per_s", 1_000_000, "events/s", at_most=False
        ),
        Target("≥ 5× the pure-Python baseline (JSON)", "pipeline.binance.speedup", 5, "×", at_most=False),
        Target("capture pause ≤ 1 ms p99 at 10 k levels", "pipeline.capture_p99_ms", 1, "ms", at_most=True),
        Target(
            "checkpointing throughput ≥ 0.97×", "pipeline.ckpt_throughput_ratio", 0.97, "×", at_most=False
        ),
        Target("resume ≤ 200 ms", "pipeline.resume_ms", 200, "ms", at_most=True),
    ),
)
