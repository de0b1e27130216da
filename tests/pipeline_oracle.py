"""Determinism oracle of the market-data pipeline, run as its own process by
tests/test_pipeline_resume.py (so no test's threads or pyarrow state are forked).

For each configuration it runs the pipeline once uninterrupted (in a forked child), then
repeatedly: fork a child that runs the pipeline (resuming from its checkpoints), SIGKILL
it at a random moment, and when a child finally completes, compares its book checksum,
event count, gap statistics, drift and sink rows with the uninterrupted run's.
Prints one JSON summary line.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet  # noqa: F401  (imported once, before forking: importing starts no thread)

from pinnacle.pipeline import ParquetSink, Pipeline, generate


def outcome(work: Path, cfg: dict[str, Any], files: list[str]) -> dict[str, Any]:
    sink = ParquetSink(work / "sink", every_ms=200, levels=3)
    p = Pipeline(
        "BTCUSDT",
        files,
        format=cfg["format"],
        checkpoint_dir=work / "ckpt",
        every_events=cfg["every"],
        sink=sink,
        keep=2,
    )
    r = p.run()
    return {
        "events": r.events_processed,
        "checksum": r.book_checksum,
        "gaps": r.gaps,
        "drift": r.drift,
        "stale": r.stale,
        "sink": sink.read_rows(),
    }


def child(work: Path, cfg: dict[str, Any], files: list[str], out: Path) -> None:
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            out.write_text(json.dumps(outcome(work, cfg, files)))
        except BaseException as e:
            out.write_text(json.dumps({"error": repr(e)}))
            code = 1
        os._exit(code)
    return pid  # type: ignore[return-value]


def main() -> None:
    root = Path(sys.argv[1])
    target_kills = int(sys.argv[2])
    rng = random.Random(int(sys.argv[3]))
    configs = [
        {"format": "binance-depth", "every": 131, "gz": False},
        {"format": "tardis-l2", "every": 89, "gz": True},
    ]
    refs = []
    for i, cfg in enumerate(configs):
        files = [
            str(p)
            for p in generate(
                root / f"in{i}",
                format=cfg["format"],
                files=3,
                events_per_file=400,
                seed=i,
                gap_rate=0.01,
                depth=20,
                gzip_files=cfg["gz"],
            )
        ]
        durations = []
        for attempt in range(2):  # the second run's duration is the warm one
            t0 = time.perf_counter()
            pid = child(root / f"ref{i}-{attempt}", cfg, files, root / "ref.json")
            os.waitpid(pid, 0)
            durations.append(time.perf_counter() - t0)
            ref = json.loads((root / "ref.json").read_text())
            assert "error" not in ref, ref
        refs.append((cfg, files, ref, min(durations)))
    kills = completed = 0
    mismatches: list[str] = []
    while kills < target_kills:
        for i, (cfg, files, ref, duration) in enumerate(refs):
            work = root / f"run{i}"
            shutil.rmtree(work, ignore_errors=True)
            in_sequence = 0
            while True:
                out = root / "out.json"
                out.unlink(missing_ok=True)
                pid = child(work, cfg, files, out)
                # Up to 20 kills per sequence (then it runs to completion and is compared).
                if in_sequence < 20:
                    time.sleep(rng.uniform(0, duration / 2))
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                _, status = os.waitpid(pid, 0)
                if os.WIFSIGNALED(status):
                    kills += 1
                    in_sequence += 1
                    continue
                got = json.loads(out.read_text())
                completed += 1
                for key in ("events", "checksum", "gaps", "drift", "stale", "sink"):
                    if got.get(key) != ref[key]:
                        mismatches.append(f"config {i}: {key} differs ({str(got.get(key))[:200]})")
                break
    summary = {
        "kills": kills,
        "completed": completed,
        "mismatches": mismatches,
        "events": [r[2]["events"] for r in refs],
        "gaps": [r[2]["gaps"]["count"] for r in refs],
        "sink_rows": [len(r[2]["sink"]) for r in refs],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
