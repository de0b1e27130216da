"""``pinnacle recover DATA_DIR`` (dry run or ``--repair``) and ``pinnacle compact DATA_DIR``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pinnacle._core import Journal, OrderBook
from pinnacle.cli._console import (
    EXIT_FAILURE,
    EXIT_OK,
    CliError,
    StatusLine,
    UsageError,
    human_bytes,
    one_line,
    progress_display,
)
from pinnacle.cli.datadir import is_data_dir, lock_owner
from pinnacle.config import ConfigError, PersistenceConfig
from pinnacle.errors import CorruptionError
from pinnacle.paths import DataLayout, SymbolMeta
from pinnacle.persistence import PersistenceManager, RecoveryInfo
from pinnacle.snapshots import SnapshotManager

MODES = ("tolerate_tail", "skip_corrupted")
"""Recovery modes ``--mode`` offers (docs/cli.md explains why point_in_time is not one)."""


def add_parsers(sub: Any) -> None:
    """Registers ``recover`` and ``compact``."""
    p = sub.add_parser(
        "recover",
        help="recover a data directory: dry run on a copy (default) or --repair in place",
        description="Runs PersistenceManager.recover_state() and prints each book's top of book, order "
        "counts and what recovery did. By default on a temporary copy of DATA_DIR: nothing in DATA_DIR "
        "is written. --repair recovers in place, applying the repairs (cutting torn tails).",
    )
    p.add_argument("data_dir", type=Path, metavar="DATA_DIR")
    p.add_argument("--repair", action="store_true", help="recover in place (writes the repairs)")
    p.add_argument(
        "--mode",
        choices=MODES,
        default="tolerate_tail",
        help="tolerate_tail (default): cut torn tails, refuse corruption; skip_corrupted: drop damaged "
        "entries a valid snapshot covers (compacting to it; refused if operations would be lost)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output (keys: docs/cli.md)")
    p.set_defaults(run=run_recover)
    c = sub.add_parser(
        "compact",
        help="run maintenance now: rotate snapshots, compact journals",
        description="Recovers DATA_DIR, then runs PersistenceManager.perform_maintenance(): keeps the newest "
        "--keep-snapshots valid snapshots per symbol and compacts every journal holding more than "
        "--threshold entries up to the oldest retained snapshot.",
    )
    c.add_argument("data_dir", type=Path, metavar="DATA_DIR")
    c.add_argument("--config", type=Path, help="take keepSnapshots/compactionThreshold from this JSON file")
    c.add_argument(
        "--keep-snapshots", type=int, metavar="N", help="snapshots kept per symbol (default: config)"
    )
    c.add_argument(
        "--threshold",
        type=int,
        metavar="N",
        help="compact journals holding more than N entries (default 1: every journal a snapshot allows)",
    )
    c.add_argument("--snapshot", action="store_true", help="snapshot every book first (compacts the most)")
    c.set_defaults(run=run_compact)


def _check_dir(path: Path) -> None:
    if not path.exists():
        raise UsageError(f"{path}: no such directory")
    if not path.is_dir():
        raise UsageError(f"{path}: not a directory")
    if not is_data_dir(path):
        raise UsageError(f"{path}: not a pinnacle data directory (no journals/ or snapshots/ inside)")


@contextmanager
def capture_log(
    level: int = logging.INFO, on_record: Callable[[logging.LogRecord], None] | None = None
) -> Iterator[list[str]]:
    """Collects the ``pinnacle`` logger's records at ``level`` and above as
    ``[LEVEL] message`` lines while the block runs (and passes each to ``on_record``)."""
    lines: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(f"[{record.levelname}] {record.getMessage()}")
            if on_record is not None:
                on_record(record)

    lg = logging.getLogger("pinnacle")
    h, old = _Collect(level), lg.level
    lg.addHandler(h)
    lg.setLevel(min(level, old) if old else level)
    try:
        yield lines
    finally:
        lg.removeHandler(h)
        lg.setLevel(old)


def top_of_book(book: OrderBook) -> dict[str, Any]:
    """Best bid/ask with their level quantities, spread, and order counts per side."""
    d = book.depth(1)
    orders = book.orders()
    bids = sum(1 for o in orders if o.side == "buy")
    return {
        "orders": len(orders),
        "bid_orders": bids,
        "ask_orders": len(orders) - bids,
        "best_bid": float(d.bid_price[0]) if len(d.bid_price) else None,
        "best_bid_qty": float(d.bid_quantity[0]) if len(d.bid_quantity) else None,
        "best_ask": float(d.ask_price[0]) if len(d.ask_price) else None,
        "best_ask_qty": float(d.ask_quantity[0]) if len(d.ask_quantity) else None,
        "spread": book.spread,
    }


def info_dict(info: RecoveryInfo) -> dict[str, Any]:
    """A RecoveryInfo as JSON."""
    return {
        "snapshot": info.snapshot_file.name if info.snapshot_file else None,
        "snapshot_covered_seq": info.snapshot_covered_seq,
        "entries_replayed": info.entries_replayed,
        "duration_ms": round(info.duration_s * 1e3, 3),
        "journal_report": info.journal_report,
        "problems": list(info.problems),
    }


def _repair_journal(layout: DataLayout, symbol: str, mode: str, log: list[str]) -> None:
    """Repairs one book journal with ``mode`` (skip_corrupted) before the manager opens it
    (with tolerate_tail). Only a journal that tolerate_tail refuses is touched: opened with
    skip_corrupted, then compacted past the damage — which is allowed only when a valid
    snapshot covers every damaged entry, so that no operation is lost."""
    path = layout.journal_path(symbol)
    try:
        Journal(path).close()  # clean, or only a torn tail (the manager cuts it)
        return
    except CorruptionError:
        pass
    meta = SymbolMeta.read(layout.meta_path(symbol), symbol)
    snaps = SnapshotManager(symbol, layout.snapshot_dir(symbol), meta.tick_size, meta.lot_size)
    with Journal(path, recovery="skip_corrupted") as j:
        rep = j.recovery_report
        log.append(f"[WARNING] {symbol}: opened with recovery=skip_corrupted: {rep.summary()}")
        if not rep.skipped_ranges:
            return
        prev, gap_end = 0, 0
        for e in j.read():
            if prev and e.seq != prev + 1:
                gap_end = e.seq - 1  # entries prev+1 ..= e.seq-1 were skipped
            prev = e.seq
        loaded, _ = snaps.load_newest(j.first_seq, j.last_seq)
        covered = loaded.file.covered_seq if loaded else 0
        if covered < gap_end:
            raise CliError(
                f"{symbol}: damaged entries up to seq {gap_end} are not covered by a valid snapshot (the "
                f"newest covers seq {covered}): skipping them would lose operations"
            )
        dropped = j.compact(covered + 1)
        name = loaded.file.path.name if loaded else "-"
        log.append(
            f"[WARNING] {symbol}: compacted to seq {covered + 1} (snapshot {name} covers the damage): "
            f"{dropped} entries dropped, none lost"
        )


def run_recover(args: argparse.Namespace) -> int:
    """``pinnacle recover``."""
    src: Path = args.data_dir
    _check_dir(src)
    status = progress_display(sys.stderr)
    notes: list[str] = []
    tmp: str | None = None
    target = src
    if not args.repair:
        owner = lock_owner(src)
        if owner:
            notes.append(f"{src} is in use by {owner}: the copy may catch a write in progress")
        tmp = tempfile.mkdtemp(prefix="pinnacle-recover-")
        target = Path(tmp) / "data"
        _copy_with_progress(src, target, status)
    try:
        return _recover(args, target, status, notes)
    finally:
        status.clear()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _copy_with_progress(src: Path, dst: Path, status: StatusLine) -> None:
    total = sum(p.stat().st_size for p in src.rglob("*") if p.is_file() and not p.is_symlink())
    copied = 0

    def copy(a: str, b: str) -> None:
        nonlocal copied
        shutil.copy2(a, b)
        copied += os.path.getsize(b)
        status.update(f"copying {src}: {human_bytes(copied)} of {human_bytes(total)}", copied / max(total, 1))

    shutil.copytree(src, dst, symlinks=True, copy_function=copy)


class _RecoveryProgress:
    """Counts symbols as the manager logs the end of each one's recovery."""

    _DONE = frozenset({"Replaying %d journal entries", "Recovery of %s failed: %s"})

    def __init__(self, status: StatusLine, total: int) -> None:
        """``total``: the symbols on disk."""
        self._status, self._total, self._done = status, max(total, 1), 0

    def __call__(self, record: logging.LogRecord) -> None:
        """A log record of the manager: one more symbol done?"""
        if record.msg in self._DONE:
            self._done += 1
            self._status.update(
                f"recovering: {self._done} of {self._total} symbols", self._done / self._total
            )


class _UserTerms:
    """Rewrites a message of the library for the command line: paths inside the dry run's
    copy become the user's ``DATA_DIR``; the hint naming ``Journal(recovery=...)`` names
    ``--mode`` instead."""

    _PY_HINT = re.compile(r"\(use recovery='point_in_time' or 'skip_corrupted' to open it\)")
    _CLI_HINT = (
        "(pinnacle recover --mode skip_corrupted drops the damaged entries when a valid snapshot "
        "covers them; pinnacle verify shows what is damaged)"
    )

    def __init__(self, copy: Path, original: Path) -> None:
        """``copy`` is where recovery ran, ``original`` the directory the user named."""
        self._pairs = [] if copy == original else [(str(copy), str(original))]

    def __call__(self, text: str) -> str:
        """``text`` in the user's terms."""
        for a, b in self._pairs:
            text = text.replace(a, b)
        return self._PY_HINT.sub(self._CLI_HINT, text)


def _recover(args: argparse.Namespace, target: Path, status: StatusLine, notes: list[str]) -> int:
    cfg = PersistenceConfig(journal_sync_mode="none", snapshot_interval_min=0)
    books: dict[str, dict[str, Any]] = {}
    failure: str | None = None
    t0 = time.perf_counter()
    progress = _RecoveryProgress(status, len(DataLayout(target).symbols_on_disk()[0]))
    with capture_log(on_record=progress) as log, PersistenceManager(target, cfg, maintenance=False) as pm:
        status.update("recovering ...", 0.0, force=True)
        try:
            if args.mode != "tolerate_tail":
                layout = DataLayout(target)
                for symbol in sorted(layout.symbols_on_disk()[0]):
                    if layout.journal_path(symbol).exists():
                        _repair_journal(layout, symbol, args.mode, log)
            pm.recover_state()
        except Exception as e:  # every symbol that could be recovered was; report them too
            failure = one_line(e)
        for symbol, book in sorted(pm.get_all_recovered_order_books().items()):
            info = pm.last_recovery[symbol]
            books[symbol] = {**top_of_book(book), **info_dict(info)}
    status.clear()
    elapsed = time.perf_counter() - t0
    dry = not args.repair
    # Say everything in the user's terms: their directory, not the dry run's copy, and
    # the command line's option, not the library's.
    user = _UserTerms(target, args.data_dir)
    log = [user(line) for line in log]
    failure = user(failure) if failure is not None else None
    for b in books.values():
        b["journal_report"] = user(b["journal_report"])
        b["problems"] = [user(p) for p in b["problems"]]
    if args.json:
        doc = {
            "path": str(args.data_dir),
            "dry_run": dry,
            "mode": args.mode,
            "ok": failure is None,
            "error": failure,
            "books": books,
            "log": log,
            "notes": notes,
        }
        json.dump(doc, sys.stdout, indent=2)
        print()
        return EXIT_FAILURE if failure else EXIT_OK
    where = (
        f"a copy of {args.data_dir} (dry run: nothing in it is written)"
        if dry
        else f"{args.data_dir} in place"
    )
    print(f"recovering {where}, mode {args.mode}")
    for n in notes:
        print(f"note: {n}")
    for line in log:
        if "Persistence shut down" not in line:
            print(f"  {line}")
    for symbol, b in books.items():
        bid = f"{b['best_bid']} x {b['best_bid_qty']}" if b["best_bid"] is not None else "none"
        ask = f"{b['best_ask']} x {b['best_ask_qty']}" if b["best_ask"] is not None else "none"
        print(
            f"{symbol}: {b['orders']} orders ({b['bid_orders']} bids, {b['ask_orders']} asks); "
            f"best bid {bid}, best ask {ask}, spread {b['spread']}"
        )
        snap = (
            f"snapshot {b['snapshot']} (covers seq {b['snapshot_covered_seq']})"
            if b["snapshot"]
            else "no snapshot"
        )
        print(f"  {snap}, {b['entries_replayed']} journal entries replayed, {b['duration_ms']:.1f} ms")
        print(f"  journal: {b['journal_report']}")
        for p in b["problems"]:
            # the journal line above says it; a snapshot problem was logged above
            if not p.startswith("journal: ") and f"[WARNING] {p}" not in log:
                print(f"  problem: {p}")
    if failure:
        print(f"FAILED: {failure}")
        return EXIT_FAILURE
    done = "dry run: nothing was written; run with --repair to apply" if dry else "repairs written in place"
    print(
        f"recovered {len(books)} books ({sum(b['orders'] for b in books.values())} orders) "
        f"in {elapsed * 1e3:.1f} ms; {done}"
    )
    return EXIT_OK


def _sizes(pm: PersistenceManager) -> dict[str, tuple[int, int, int]]:
    out = {}
    for s in pm.symbols:
        j, sm = pm.get_journal(s), pm.get_snapshot_manager(s)
        if j is not None and sm is not None:
            out[s] = (j.entry_count, os.stat(j.path).st_blocks * 512, len(sm.files()))
    return out


def run_compact(args: argparse.Namespace) -> int:
    """``pinnacle compact``."""
    _check_dir(args.data_dir)
    base = PersistenceConfig.from_json_file(args.config) if args.config else PersistenceConfig()
    try:
        cfg = PersistenceConfig(
            journal_sync_mode="none",
            snapshot_interval_min=0,
            keep_snapshots=args.keep_snapshots if args.keep_snapshots is not None else base.keep_snapshots,
            compaction_threshold=args.threshold if args.threshold is not None else 1,
        )
    except ConfigError as e:
        raise UsageError(
            str(e)
            .replace("persistence.keepSnapshots", "--keep-snapshots")
            .replace("persistence.compactionThreshold", "--threshold")
        ) from None
    status = StatusLine(sys.stderr)
    with capture_log(logging.WARNING) as log, PersistenceManager(args.data_dir, cfg, maintenance=False) as pm:
        status.update("recovering ...", force=True)
        pm.recover_state()
        before = _sizes(pm)
        if args.snapshot:
            status.update("snapshotting ...", force=True)
            pm.snapshot_all()
        status.update("compacting ...", force=True)
        report = pm.perform_maintenance()
        after = _sizes(pm)
    status.clear()
    print(
        f"maintenance of {args.data_dir} (keep {cfg.keep_snapshots} snapshots, threshold "
        f"{cfg.compaction_threshold} entries)"
    )
    for line in log:
        print(f"  {line}")
    for s, (n0, b0, k0) in before.items():
        n1, b1, k1 = after.get(s, (n0, b0, k0))
        print(
            f"{s}: journal {n0} -> {n1} entries ({human_bytes(b0)} -> {human_bytes(b1)} on disk), "
            f"snapshots {k0} -> {k1}"
        )
    for p in report.snapshots_removed:
        print(f"  removed {p}")
    for err in report.errors:
        print(f"  ERROR: {err}")
    print(report.summary())
    return EXIT_FAILURE if report.errors else EXIT_OK


__all__ = ["add_parsers", "capture_log", "info_dict", "run_compact", "run_recover", "top_of_book"]
