"""Recovery: time and memory to reopen (scan + verify) journals of growing size, each reopen in
a fresh subprocess, with the file in the page cache (hot) and evicted from it (cold)."""

from __future__ import annotations

import errno
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

import pinnacle
from pinnacle.bench.harness import (
    KIND,
    MIB,
    PAYLOAD_SIZE,
    Context,
    Section,
    SectionResult,
    Table,
    journal_size,
    num,
)

CHUNK = 100_000  # rows per append_many while building a journal


def build(path: Path, n: int) -> int:
    """Writes a journal of ``n`` 64-byte entries; returns its data bytes."""
    rows = np.random.default_rng(1).integers(0, 256, (CHUNK, PAYLOAD_SIZE), dtype=np.uint8)
    with pinnacle.Journal(path, initial_size=journal_size(n)) as j:
        for start in range(0, n, CHUNK):
            j.append_many(KIND, rows[: min(CHUNK, n - start)])
        data = int(j.data_bytes)
    return data


def data_end(path: Path) -> int:
    """End of the file's last data region by SEEK_DATA / SEEK_HOLE (holes and preallocated,
    never-written extents do not count): the part of the file a reopen scans."""
    fd = os.open(path, os.O_RDONLY)
    try:
        end = 0
        while True:
            try:
                start = os.lseek(fd, end, os.SEEK_DATA)
            except OSError as e:
                if e.errno == errno.ENXIO:  # no data after ``end``
                    return end
                raise
            end = os.lseek(fd, start, os.SEEK_HOLE)
    finally:
        os.close(fd)


def evict(path: Path) -> None:
    """Drops the file's pages from the page cache (written back first), for a cold reopen."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def reopen(path: Path, expected: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "pinnacle.bench.reopen_child", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"reopen child exited {out.returncode}: {out.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout)
    if result["entries"] != expected or not result["clean"]:
        raise RuntimeError(
            f"reopen found {result['entries']} entries (clean={result['clean']}), expected {expected}"
        )
    return result


def measure(path: Path, n: int, reps: int) -> dict[str, Any]:
    hot = [reopen(path, n) for _ in range(reps)]
    cold = []
    for _ in range(reps):
        evict(path)
        cold.append(reopen(path, n))
    last = hot[-1]
    return {
        "hot_ns": statistics.median(r["open_ns"] for r in hot),
        "cold_ns": statistics.median(r["open_ns"] for r in cold),
        "report_s": statistics.median(r["report_duration_s"] for r in hot),
        "peak_rss": last["after"]["VmHWM"],
        "peak_added": last["after"]["VmHWM"] - last["before"]["VmHWM"],
        "anon_added": last["after"]["RssAnon"] - last["before"]["RssAnon"],
    }


def run(ctx: Context) -> SectionResult:
    cfg = ctx.cfg
    table = Table(
        "Reopen (scan + verify) of journals of 64-byte entries, one fresh subprocess per reopen",
        [
            "entries",
            "data (MiB)",
            "scanned region (MiB): built → after the reopens",
            "hot reopen (ms)",
            "hot ns/entry",
            "cold reopen (ms)",
            "cold ns/entry",
            "child peak RSS (MiB)",
            "peak RSS added by open (MiB)",
            "anon RSS added (MiB)",
        ],
    )
    res = SectionResult(tables=[table])
    for n in (0, *cfg.recovery_sizes):
        print(f"  {n:,} entries ...", file=sys.stderr, flush=True)
        with ctx.store_path(f"recovery-{n}") as path:
            data = build(path, n)
            scanned = data_end(path)
            r = measure(path, n, cfg.recovery_reps)
            r["data_end_before"], r["data_end_after"] = scanned, data_end(path)
        per = {f"{k}_ns_per_entry": r[f"{k}_ns"] / n for k in ("hot", "cold")} if n else {}
        if n:
            per["hot_ms_per_scanned_mib"] = r["hot_ns"] / 1e6 / (r["data_end_before"] / MIB)
        table.rows.append(
            [
                num(n),
                num(data / MIB, 1),
                f"{num(r['data_end_before'] / MIB, 1)} → {num(r['data_end_after'] / MIB, 1)}",
                num(r["hot_ns"] / 1e6, 2),
                num(per["hot_ns_per_entry"], 1) if n else "—",
                num(r["cold_ns"] / 1e6, 2),
                num(per["cold_ns_per_entry"], 1) if n else "—",
                num(r["peak_rss"] / MIB, 1),
                num(r["peak_added"] / MIB, 1),
                num(r["anon_added"] / MIB, 1),
            ]
        )
        res.metrics.update({f"recovery.{n}.{k}": v for k, v in (r | per).items()})
    sizes = cfg.recovery_sizes
    flat = (
        res.metrics[f"recovery.{sizes[-1]}.hot_ns_per_entry"]
        / res.metrics[f"recovery.{sizes[0]}.hot_ns_per_entry"]
    )
    res.metrics["recovery.hot_ns_per_entry_ratio"] = flat
    table.notes += [
        f"Median of {cfg.recovery_reps} reopen(s) per row; the 0-entries row is the fixed cost "
        "(process-side open, mapping, header). Hot: the file was just written; cold: fsync + "
        "POSIX_FADV_DONTNEED on the file first. Memory from the child's /proc/self/status: VmHWM "
        "after the open, and what the open added to VmHWM and to RssAnon (file pages mapped by the "
        "scan count in RSS but are page cache). Scanned region: the end of the file's data by "
        "SEEK_DATA / SEEK_HOLE, which bounds the reopen scan, after the build and after all the "
        "reopens (zero pages prefaulted past the last entry become data and get scanned too).",
        f"Linearity: hot ns/entry at {sizes[-1]:,} entries / at {sizes[0]:,} entries = {flat:.2f} "
        "(1.0 = the same cost per entry at both sizes; the 0-entries row is the fixed cost). Per MiB "
        "scanned (region at build time), hot: "
        + ", ".join(
            f"{num(res.metrics[f'recovery.{n}.hot_ms_per_scanned_mib'], 2)} ms at {n:,} entries"
            for n in sizes
        )
        + ".",
    ]
    return res


SECTION = Section(name="recovery", title="Recovery (reopen)", run=run)
