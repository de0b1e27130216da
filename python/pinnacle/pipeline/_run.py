"""Pipeline: one symbol's input files through the Rust engine, with checkpoints.

Threads: ``run()``'s thread is the processing thread; it releases the GIL inside the
engine and, at each checkpoint trigger, takes a capture (a copy of book, counters and
input position at a message boundary: the only pause) and queues it. One background
thread persists captures in order: sink part, checkpoint files, manifest. The queue is
bounded (2), so a slow disk slows processing rather than piling up captures.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pinnacle._core import CheckpointTrigger, EngineCapture, MarketDataEngine
from pinnacle.errors import InvalidArgumentError
from pinnacle.paths import make_private_dir, validate_symbol
from pinnacle.pipeline._args import count
from pinnacle.pipeline._checkpoint import CheckpointStore, Restored
from pinnacle.pipeline._sink import ParquetSink

_log = logging.getLogger("pinnacle.pipeline")

FORMATS = ("binance-depth", "tardis-l2")


@dataclass
class PipelineResult:
    """What a run did. ``events_processed`` counts every message since the beginning of
    the inputs (across resumes); ``metrics`` holds this run's timings."""

    events_processed: int
    gaps: dict[str, Any]
    drift: dict[str, Any]
    metrics: dict[str, Any]
    book_checksum: int
    stale: bool
    resumed_from: int | None = None
    checkpoints: list[dict[str, Any]] = field(default_factory=list)


class BookView:
    """The pipeline's book, read-only: ``bids(n)``/``asks(n)`` as (Decimal price,
    Decimal size) lists, best first; ``checksum()``."""

    def __init__(self, engine: MarketDataEngine) -> None:
        self._engine = engine

    def bids(self, n: int = 10) -> list[tuple[Decimal, Decimal]]:
        return [(Decimal(p), Decimal(q)) for p, q in self._engine.top("bid", _count(n))]

    def asks(self, n: int = 10) -> list[tuple[Decimal, Decimal]]:
        return [(Decimal(p), Decimal(q)) for p, q in self._engine.top("ask", _count(n))]

    def checksum(self) -> int:
        return self._engine.checksum()


def _count(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise InvalidArgumentError(f"n must be an int >= 0, not {n!r}")
    return n


class _Persister(threading.Thread):
    def __init__(self, store: CheckpointStore | None, sink: ParquetSink | None, files: list[str]) -> None:
        super().__init__(name="pinnacle-pipeline-persist", daemon=True)
        self.store, self.sink, self.files = store, sink, files
        self.jobs: queue.Queue[tuple[EngineCapture, int, float, int] | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.done: list[dict[str, Any]] = []

    def run(self) -> None:
        while (job := self.jobs.get()) is not None:
            if self.error is not None:
                continue
            cap, seq, sync_ms, sink_rows = job
            try:
                if self.sink is not None:
                    self.sink.write_part(seq, cap.sink_rows())
                if self.store is not None:
                    self.done.append(self.store.write(cap, seq, self.files, sync_ms, sink_rows))
            except BaseException as e:  # reported on the processing thread
                self.error = e

    def submit(self, job: tuple[EngineCapture, int, float, int]) -> None:
        if self.error is not None:
            raise self.error
        self.jobs.put(job)

    def finish(self) -> None:
        self.jobs.put(None)
        self.join()
        if self.error is not None:
            raise self.error


class Pipeline:
    """Rebuilds the L2 book of ``symbol`` from ``inputs`` (in order), checkpointing
    every ``every_events`` messages and every ``every_s`` seconds (and on
    :meth:`request_checkpoint`) into ``checkpoint_dir``; ``run()`` resumes from the
    newest valid checkpoint there. ``keep``: checkpoints kept."""

    def __init__(
        self,
        symbol: str,
        inputs: Sequence[str | os.PathLike[str]],
        format: str = "binance-depth",
        checkpoint_dir: str | os.PathLike[str] | None = None,
        every_events: int = 1_000_000,
        every_s: float = 300.0,
        sink: ParquetSink | None = None,
        keep: int = 3,
    ) -> None:
        self.symbol = validate_symbol(symbol)
        if isinstance(inputs, (str, bytes, os.PathLike)) or not inputs:
            raise InvalidArgumentError("inputs must be a non-empty list of file paths")
        self.inputs = [os.fspath(p) for p in inputs]
        if format not in FORMATS:
            raise InvalidArgumentError(f"format {format!r} is not one of {', '.join(FORMATS)}")
        count("every_events", every_events)
        if isinstance(every_s, bool) or not isinstance(every_s, (int, float)) or not every_s > 0:
            raise InvalidArgumentError(f"every_s must be a number > 0, not {every_s!r}")
        if sink is not None and not isinstance(sink, ParquetSink):
            raise InvalidArgumentError(f"sink must be a ParquetSink or None, not {type(sink).__name__}")
        self.format = format
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.every_events = every_events
        self.every_s = float(every_s)
        self.sink = sink
        self.keep = keep
        self._trigger = CheckpointTrigger()
        self._engine: MarketDataEngine | None = None
        # Called about twice a second from run() with {events, events_per_s, checkpoints}.
        self.on_progress: Callable[[dict[str, Any]], None] | None = None

    def request_checkpoint(self) -> None:
        """Asks the running pipeline for a checkpoint at the next message boundary
        (within 256 messages). Thread-safe."""
        self._trigger.set()

    @property
    def book(self) -> BookView:
        if self._engine is None:
            raise InvalidArgumentError("the pipeline has no book before run()")
        return BookView(self._engine)

    def _open(self) -> tuple[CheckpointStore | None, Restored | None]:
        store = None
        restored = None
        if self.checkpoint_dir is not None:
            make_private_dir(self.checkpoint_dir)
            store = CheckpointStore(self.checkpoint_dir, self.symbol, self.format, self.keep)
            restored = store.load(self.inputs)
        if self.sink is not None:
            self.sink.open()
            removed = self.sink.discard_after(restored.seq if restored else 0)
            if removed:
                _log.info("sink: discarded %d part(s) written after the checkpoint", len(removed))
        return store, restored

    def run(self) -> PipelineResult:
        """Processes the inputs to their end (resuming if a checkpoint exists)."""
        t_open = time.perf_counter()
        store, restored = self._open()
        sink = self.sink
        engine = MarketDataEngine(
            self.symbol,
            self.format,
            self.inputs,
            sink.every_ms if sink else None,
            sink.levels if sink else 10,
            (restored.bids, restored.asks, restored.state_json) if restored else None,
        )
        self._engine = engine
        resume_ms = (time.perf_counter() - t_open) * 1000
        if restored:
            _log.info("resumed %s from checkpoint %d (%.1f ms)", self.symbol, restored.seq, resume_ms)
        seq = restored.seq if restored else 0
        sink_rows = int(restored.entry.get("sink_rows", 0)) if restored else 0
        start_events = restored.entry["events_processed"] if restored else 0
        last_ckpt_events = start_events
        persister = _Persister(store, sink, self.inputs)
        persister.start()
        sync: list[float] = []
        t0 = time.perf_counter()
        next_time = time.monotonic() + self.every_s
        try:
            while True:
                remaining = max(next_time - time.monotonic(), 0.0)
                budget = min(remaining, 0.5) if self.on_progress is not None else remaining
                reason = engine.run(last_ckpt_events + self.every_events, budget, self._trigger)
                events = engine.events_processed
                due = reason in ("events", "trigger") or (reason == "time" and time.monotonic() >= next_time)
                if due or (reason == "end" and events != last_ckpt_events):
                    c0 = time.perf_counter()
                    cap = engine.capture()
                    sync.append((time.perf_counter() - c0) * 1000)
                    seq += 1
                    sink_rows += cap.sink_row_count
                    persister.submit((cap, seq, sync[-1], sink_rows))
                    last_ckpt_events = cap.events_processed
                    next_time = time.monotonic() + self.every_s
                if self.on_progress is not None:
                    rate = (events - start_events) / max(time.perf_counter() - t0, 1e-9)
                    self.on_progress({"events": events, "events_per_s": rate, "checkpoints": seq})
                if reason == "end":
                    break
        finally:
            persister.finish()
        elapsed = time.perf_counter() - t0
        return self._result(engine, restored, start_events, elapsed, resume_ms, sync, persister.done)

    def _result(
        self,
        engine: MarketDataEngine,
        restored: Restored | None,
        start_events: int,
        elapsed: float,
        resume_ms: float,
        sync: list[float],
        done: list[dict[str, Any]],
    ) -> PipelineResult:
        st = json.loads(engine.state_json())
        count, negative, dmin, dmax, p50, p99, ewma = engine.drift()
        kinds: dict[str, int] = {}
        for g in st["gaps"]:
            kinds[g["kind"]] = kinds.get(g["kind"], 0) + 1
        gaps = {
            "count": st["gap_count"],
            "by_kind": kinds,
            "records": st["gaps"],
            "dropped_before_snapshot": st["dropped_before_snapshot"],
            "snapshots": st["snapshots"],
        }
        drift = {
            "count": count,
            "negative": negative,
            "min_us": dmin,
            "max_us": dmax,
            "p50_us": p50,
            "p99_us": p99,
            "trend_ewma_us": ewma,
        }
        this_run = st["events_processed"] - start_events
        metrics = {
            "events_this_run": this_run,
            "elapsed_s": elapsed,
            "events_per_s": this_run / elapsed if elapsed > 0 else 0.0,
            "checkpoints": len(done),
            "sync_duration_ms_max": max(sync, default=0.0),
            "async_duration_ms_max": max((d["async_duration_ms"] for d in done), default=0.0),
            "checkpointed_size": done[-1]["checkpointed_size"] if done else None,
            "resume_ms": resume_ms,
            "last_update_id": st["last_update_id"],
            "last_local_us": st["last_local_us"],
        }
        return PipelineResult(
            events_processed=st["events_processed"],
            gaps=gaps,
            drift=drift,
            metrics=metrics,
            book_checksum=engine.checksum(),
            stale=st["stale"],
            resumed_from=restored.seq if restored else None,
            checkpoints=done,
        )
