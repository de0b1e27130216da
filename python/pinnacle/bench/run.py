"""Runs pinnacle's benchmark suite and writes results.json, results.md and plots.

    pinnacle bench [--quick|--full] [--out DIR] [--data-dir DIR] [--only SECTION ...]

--quick (the default, < 60 s; CI's smoke test) or --full (several minutes, for people).
Exits non-zero if any section fails. Missed targets are reported as MISS, not as failures.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import shutil
import sys
import tempfile
import traceback
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

from pinnacle.bench.harness import FULL, QUICK, Context, Section, timer_overhead_ns
from pinnacle.bench.machine import (
    CpuSample,
    disk_flushes,
    filesystem_of,
    load_average,
    machine_info,
    memory_baseline,
    pinnacle_build,
)
from pinnacle.bench.report import write_markdown, write_plots
from pinnacle.bench.sections import ALL
from pinnacle.paths import write_atomic

MEMORY_FILESYSTEMS = {"tmpfs", "ramfs", "devtmpfs"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick", dest="mode", action="store_const", const="quick", help="smoke-test sizes (default)"
    )
    mode.add_argument("--full", dest="mode", action="store_const", const="full", help="full sizes (minutes)")
    p.set_defaults(mode="quick")
    p.add_argument("--out", type=Path, default=Path("bench-results"), help="output directory (%(default)s)")
    p.add_argument(
        "--data-dir",
        type=Path,
        help="where the scratch journals go (default: OUT); must be on the disk to measure, not tmpfs",
    )
    p.add_argument(
        "--only",
        nargs="+",
        choices=[s.name for s in ALL],
        metavar="SECTION",
        help=f"run only these sections: {', '.join(s.name for s in ALL)}",
    )
    return p.parse_args(argv)


def run_section(section: Section, ctx: Context) -> dict[str, Any]:
    print(f"[{section.name}] {section.title}", file=sys.stderr, flush=True)
    start = CpuSample.now()
    try:
        entry: dict[str, Any] = {"status": "ok", **asdict(section.run(ctx))}
    except Exception:
        error = traceback.format_exc()
        print(error, file=sys.stderr, flush=True)
        entry = {"status": "failed", "error": error}
    end = CpuSample.now()
    return {"title": section.title, **entry, "seconds": end.wall - start.wall, "cpu": end.since(start)}


def evaluate_targets(sections: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for s in ALL:
        for t in s.targets:
            ran = sections.get(s.name)
            value = ran.get("metrics", {}).get(t.metric) if ran else None
            if ran is None:
                result = "not run"
            elif ran["status"] != "ok":
                result = "section failed"
            elif value is None:
                result = "not measured"
            else:
                result = "PASS" if (value <= t.threshold if t.at_most else value >= t.threshold) else "MISS"
            out.append({"section": s.name, **asdict(t), "value": value, "result": result})
    return out


def missing_dependencies() -> str | None:
    """The message to show when the suite's extra dependencies are not installed."""
    try:
        import hdrh.histogram  # noqa: F401
    except ImportError:
        return "the benchmark suite needs its extra dependencies: pip install 'pinnacle[bench]'"
    return None


def main(argv: list[str] | None = None) -> int:
    """Runs the suite; returns the process exit code (1 if a section failed)."""
    args = parse_args(argv)
    problem = missing_dependencies()
    if problem:
        print(f"pinnacle bench: error: {problem}", file=sys.stderr)
        return 2
    cfg = FULL if args.mode == "full" else QUICK
    chosen = [s for s in ALL if not args.only or s.name in args.only]
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    parent = (args.data_dir or out).resolve()
    parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="data-", dir=parent))
    warnings = []
    if filesystem_of(scratch)["fstype"] in MEMORY_FILESYSTEMS:
        warnings.append(
            f"the data dir {scratch} is in memory ({filesystem_of(scratch)['fstype']}): "
            "disk figures (durable, cold reopen) are meaningless; pass --data-dir on a real disk"
        )
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)

    start = CpuSample.now()
    meta: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "mode": cfg.mode,
        "command": shlex.join(["pinnacle", "bench", *(argv if argv is not None else sys.argv[1:])]),
        "config": asdict(cfg),
        "load_start": load_average(),
        "machine": machine_info(scratch),
        "timer_overhead_ns": timer_overhead_ns(),
        "memory": memory_baseline(cfg.memory_bytes),
    }
    disk = meta["machine"]["data_disk"]
    try:
        ctx = Context(
            cfg=cfg,
            scratch=scratch,
            timer_overhead_ns=meta["timer_overhead_ns"],
            flushes=partial(disk_flushes, disk) if disk else lambda: None,
        )
        sections = {s.name: run_section(s, ctx) for s in chosen}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    end = CpuSample.now()
    meta |= {"load_end": load_average(), "duration_s": end.wall - start.wall, "cpu": end.since(start)}
    if meta["cpu"]["other_cores"] >= 0.25:
        warnings.append(
            f"other processes used {meta['cpu']['other_cores']} of {meta['machine']['cores']} cores "
            "on average during this run: figures are pessimistic and noisier than on an idle machine"
        )
    if pinnacle_build() != meta["machine"]["pinnacle_build"]:
        warnings.append(
            "pinnacle's compiled core was replaced on disk during the run (now: "
            f"{pinnacle_build()}); this run used the one loaded at start, but rerun to be sure"
        )
    meta["warnings"] = warnings

    results: dict[str, Any] = {"meta": meta, "sections": sections, "targets": evaluate_targets(sections)}
    write_atomic(out / "results.json", json.dumps(results, indent=1).encode())
    plots, plot_note = write_plots(results, out)
    write_markdown(results, out / "results.md", plots, plot_note)

    for t in results["targets"]:
        value = "—" if t["value"] is None else f"{t['value']:,.2f} {t['unit']}"
        print(f"{t['result']:>14}  {t['label']}: {value}")
    failed = [name for name, s in sections.items() if s["status"] != "ok"]
    print(f"wrote {out / 'results.md'} ({meta['duration_s']:.0f} s)")
    if failed:
        print(f"FAILED sections: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
