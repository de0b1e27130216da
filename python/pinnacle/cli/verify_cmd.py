"""``pinnacle verify PATH``: check every checksum and the snapshot/journal chain."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pinnacle.cli._console import EXIT_FAILURE, EXIT_OK, progress_display
from pinnacle.cli.datadir import scan_data_dir, scan_snapshot
from pinnacle.cli.inspect_cmd import grid_for_snapshot, resolve
from pinnacle.cli.journal_scan import JournalInfo, Problem, scan_journal


def add_parsers(sub: Any) -> None:
    """Registers ``verify``."""
    p = sub.add_parser(
        "verify",
        help="check every checksum and the snapshot/journal chain (read-only)",
        description="Verifies every journal entry (length, CRC, sequence), both journal header slots, every "
        "snapshot (CRC and every record) and, for a data directory, each symbol's tick/lot sidecar and "
        "snapshot/journal chain. Opens nothing for writing. Each problem is reported with its file and "
        "offset. Exit status 1 if anything is damaged; a torn tail (an interrupted last write, which the "
        "next open cuts) is a warning unless --strict.",
    )
    p.add_argument("path", type=Path, help="a .journal, a .snapshot or a data directory")
    p.add_argument("--strict", action="store_true", help="treat warnings (torn tails, temp files) as damage")
    p.add_argument("--json", action="store_true", help="machine-readable output (keys: docs/cli.md)")
    p.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    p.set_defaults(run=run)


def _journal_text(j: JournalInfo) -> str:
    seqs = f" (seq {j.first_seq}..{j.last_seq})" if j.entries else ""
    return f"journal {j.entries} {'valid entries before the damage' if j.damaged else 'entries'}{seqs}"


def run(args: argparse.Namespace) -> int:
    """``pinnacle verify``."""
    kind = resolve(args.path)
    status = progress_display(sys.stderr)
    checked: list[str] = []
    problems: list[Problem] = []
    if kind == "dir":
        rep = scan_data_dir(args.path, lambda what, done: status.update(f"verifying {what}", done))
        problems = rep.all_problems()
        for s in rep.symbols:
            j = s.journal
            jtxt = _journal_text(j) if j else "no journal"
            valid = sum(1 for x in s.snapshots if x.valid)
            snap = s.usable_snapshot()
            chain = f", newest valid covers seq {snap.covered_seq}" if snap else ""
            checked.append(f"{s.symbol}: {jtxt}, {valid}/{len(s.snapshots)} snapshots valid{chain}")
        for oj in rep.other_journals:
            checked.append(f"{oj.path.relative_to(args.path)}: {_journal_text(oj)}")
    elif kind == "journal":
        j = scan_journal(args.path, progress=lambda n, done: status.update(f"verifying entries: {n}", done))
        problems = j.problems
        checked.append(f"{args.path}: {_journal_text(j)}")
    else:
        grid = grid_for_snapshot(args.path)
        row = scan_snapshot(args.path, *grid) if grid else scan_snapshot(args.path)
        problems = row.problems
        checked.append(f"{args.path}: snapshot covering seq {row.covered_seq}, {row.order_count} orders")
    status.clear()
    errors = [p for p in problems if p.severity == "error" or args.strict]
    warnings = [p for p in problems if p not in errors]
    if args.json:
        doc = {
            "path": str(args.path),
            "ok": not errors,
            "errors": [p.as_dict() for p in errors],
            "warnings": [p.as_dict() for p in warnings],
            "checked": checked,
        }
        json.dump(doc, sys.stdout, indent=2)
        print()
        return EXIT_FAILURE if errors else EXIT_OK
    if not args.quiet:
        for line in checked:
            print(f"checked {line}")
    for p in errors:
        print(f"DAMAGED: {p}")
    for p in warnings:
        print(f"warning: {p}")
    if errors:
        print(f"FAILED: {len(errors)} problem(s) in {args.path}")
        return EXIT_FAILURE
    if not args.quiet:
        extra = f" ({len(warnings)} warning(s))" if warnings else ""
        chain = ", the snapshot/journal chain is sound" if kind == "dir" else ""
        print(f"OK: every checksum verified{chain}{extra}")
    return EXIT_OK


__all__ = ["add_parsers", "run"]
