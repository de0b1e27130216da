"""``pinnacle bench``: the benchmark suite (``pinnacle.bench``), quick mode by default."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parsers(sub: Any) -> None:
    """Registers ``bench``."""
    p = sub.add_parser(
        "bench",
        help="run the benchmark suite against its baselines (quick mode; --full for people)",
        description="Measures pinnacle beside a buffered file, a pure-Python mmap journal, sqlite3 and "
        "lmdb in the same run and writes results.md, results.json and plots to OUT. Needs the extra "
        "dependencies of pip install 'pinnacle[bench]'. Exit status 1 if a section failed.",
    )
    p.add_argument("--full", action="store_true", help="full sizes (several minutes) instead of quick mode")
    p.add_argument("--out", type=Path, default=Path("bench-results"), help="output directory (%(default)s)")
    p.add_argument("--data-dir", type=Path, default=None, help="where the journals go (default: under OUT)")
    p.add_argument("--only", nargs="+", metavar="SECTION", help="run only these sections")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """``pinnacle bench``."""
    from pinnacle.bench.run import main as bench_main  # heavy imports only when asked for

    argv = ["--full" if args.full else "--quick", "--out", str(args.out)]
    if args.data_dir is not None:
        argv += ["--data-dir", str(args.data_dir)]
    if args.only:
        argv += ["--only", *args.only]
    return bench_main(argv)
