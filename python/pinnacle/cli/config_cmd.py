"""``pinnacle config init [PATH]`` and ``pinnacle config check FILE``.

The file is plain JSON (``PersistenceConfig.from_json_file`` reads its ``"persistence"``
object and rejects unknown keys inside it), so ``init`` writes no comments into it: it
prints what each key means instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from pinnacle.cli._console import EXIT_OK, CliError, UsageError
from pinnacle.config import ConfigError, PersistenceConfig
from pinnacle.paths import write_atomic

DEFAULT_NAME = "default_config.json"

EXPLANATIONS: dict[str, str] = {
    "enabled": "false keeps order books in memory only: no file or directory is written",
    "dataDirectory": "base directory for journals/ and snapshots/ (relative to the working directory)",
    "journalSyncIntervalMs": 'period of the background sync with journalSyncMode "interval" (ms)',
    "journalSyncMode": '"none" (survives kill -9, not power loss, until flushed), "interval" or '
    '"always" (each append durable before it returns)',
    "ledgerSyncMode": 'the trading-state ledger\'s journal: "always" (default: each operation durable '
    'before it returns), "interval" or "none"',
    "journalInitialSize": "size of a new journal file (bytes, >= 4096; rounded up to 4 KiB pages)",
    "journalGrowthStep": "a full journal grows by its own size, at most this many bytes at a time",
    "snapshotIntervalMin": "minutes between snapshots of each changed book (fractions allowed; 0 = off)",
    "keepSnapshots": "snapshots retained per symbol (>= 1); older ones are deleted",
    "compactionThreshold": "journals holding more entries than this are compacted by maintenance",
}
"""One line per key of the ``"persistence"`` object."""


def add_parsers(sub: Any) -> None:
    """Registers ``config init`` and ``config check``."""
    p = sub.add_parser("config", help="write or check a persistence configuration file")
    csub = p.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    csub.required = True
    i = csub.add_parser(
        "init",
        help=f"write a {DEFAULT_NAME} with every default",
        description='Writes a JSON file with the "persistence" block and every key at its default, and '
        "prints what each key means. PATH is a file or a directory (default: ./" + DEFAULT_NAME + ").",
    )
    i.add_argument("path", nargs="?", type=Path, default=Path(DEFAULT_NAME), metavar="PATH")
    i.add_argument("--force", action="store_true", help="overwrite an existing file")
    i.set_defaults(run=run_init)
    c = csub.add_parser(
        "check",
        help="validate a configuration file and print the effective configuration",
        description="Validates FILE as PersistenceConfig.from_json_file does and prints the effective "
        "configuration (defaults marked). Exit status 1 with the offending key when it is invalid.",
    )
    c.add_argument("file", type=Path, metavar="FILE")
    c.add_argument("--json", action="store_true", help='print the effective "persistence" object as JSON')
    c.set_defaults(run=run_check)


def _json_value(v: object) -> object:
    return os.fspath(v) if isinstance(v, os.PathLike) else v


def run_init(args: argparse.Namespace) -> int:
    """``pinnacle config init``."""
    path: Path = args.path
    if path.is_dir():
        path = path / DEFAULT_NAME
    if path.exists() and not args.force:
        raise CliError(f"{path} exists; use --force to overwrite it")
    if not path.parent.is_dir():
        raise UsageError(f"{path.parent}: no such directory")
    doc = {"persistence": {k: _json_value(v) for k, v in PersistenceConfig().to_dict().items()}}
    text = json.dumps(doc, indent=2) + "\n"
    PersistenceConfig.from_dict(doc["persistence"])  # what we write must load
    write_atomic(path, text.encode("utf-8"))
    print(f"wrote {path}:")
    print(text, end="")
    print('\nkeys of "persistence" (all optional; unknown keys are rejected, other top-level keys ignored):')
    width = max(map(len, EXPLANATIONS))
    for k, text in EXPLANATIONS.items():
        print(f"  {k:<{width}}  {text}")
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    """``pinnacle config check``."""
    path: Path = args.file
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if path.is_dir():
        raise UsageError(f"{path}: is a directory, not a configuration file")
    try:
        cfg = PersistenceConfig.from_json_file(path)
    except ConfigError as e:
        msg = str(e).removeprefix(f"{path}: ")
        raise CliError(f"{path}: invalid configuration: {msg}") from None
    except UnicodeDecodeError as e:
        raise CliError(f"{path}: not UTF-8 text: {e}") from None
    given = set(json.loads(path.read_text(encoding="utf-8")).get("persistence", {}))
    eff = {k: _json_value(v) for k, v in cfg.to_dict().items()}
    if args.json:
        json.dump({"persistence": eff}, sys.stdout, indent=2)
        print()
        return EXIT_OK
    print(f"{path}: valid")
    width = max(map(len, eff))
    for k, v in eff.items():
        mark = "" if k in given else "  (default)"
        print(f"  {k:<{width}}  {json.dumps(v)}{mark}")
    print(f"  data directory resolves to {cfg.data_path}")
    if not cfg.enabled:
        print("  note: persistence is disabled: books would be in memory only")
    return EXIT_OK


__all__ = ["DEFAULT_NAME", "EXPLANATIONS", "add_parsers", "run_check", "run_init"]
