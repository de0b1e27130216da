"""``pinnacle inspect PATH``: what a journal, a snapshot or a data directory holds."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from pinnacle._core import (
    BOOK_OP_KIND,
    BOOK_OP_NAMES,
    Entry,
    decode_book_op,
    decode_snapshot_marker,
    kind_name,
)
from pinnacle.cli._console import (
    EXIT_FAILURE,
    EXIT_OK,
    SEQ_MAX,
    UsageError,
    human_bytes,
    int_in,
    progress_display,
    utc,
)
from pinnacle.cli.datadir import (
    DataDirReport,
    SnapshotRow,
    file_type,
    is_data_dir,
    scan_data_dir,
    scan_snapshot,
)
from pinnacle.cli.journal_scan import JournalInfo, Problem, list_entries
from pinnacle.cli.journal_scan import scan_journal as _scan_journal
from pinnacle.errors import CorruptionError, InvalidArgumentError
from pinnacle.paths import META_SUFFIX, SymbolMeta
from pinnacle.sim import ledger

MAX_KIND = 65535
_KIND_NAMES = {"op": BOOK_OP_KIND, "checkpoint": -1, **{name: BOOK_OP_KIND for name in BOOK_OP_NAMES}}


def add_parsers(sub: Any) -> None:
    """Registers ``inspect``."""
    p = sub.add_parser(
        "inspect",
        help="show what a journal, snapshot or data directory holds",
        description="Shows a journal's header, entry counts per kind, sequence range, size and last "
        "checkpoint; a snapshot's symbol, covered_seq, creation time and order count; or all of it for "
        "every symbol of a data directory. Reads only.",
    )
    p.add_argument("path", type=Path, help="a .journal file, a .snapshot file or a data directory")
    p.add_argument("--json", action="store_true", help="machine-readable output (keys: docs/cli.md)")
    p.add_argument("--entries", action="store_true", help="list the entries of a journal")
    p.add_argument("--symbol", help="with --entries on a data directory: whose journal to list")
    p.add_argument(
        "--kind", help="with --entries: a kind number, 'op', 'checkpoint' or an op (add, cancel...)"
    )
    seq = int_in(0, SEQ_MAX, "a sequence number")
    p.add_argument("--from-seq", type=seq, default=0, metavar="SEQ", help="with --entries: first seq")
    p.add_argument("--to-seq", type=seq, metavar="SEQ", help="with --entries: last seq")
    p.add_argument(
        "--limit",
        type=int_in(0, SEQ_MAX, "a count"),
        default=100,
        metavar="N",
        help="with --entries: at most N (0 = all; default 100)",
    )
    p.set_defaults(run=run)


def resolve(path: Path) -> str:
    """``dir``, ``journal`` or ``snapshot``; UsageError for anything else."""
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    if path.is_dir():
        if not is_data_dir(path):
            raise UsageError(f"{path}: not a pinnacle data directory (no journals/ or snapshots/ inside)")
        return "dir"
    if not path.is_file():
        raise UsageError(f"{path}: not a regular file")
    kind = file_type(path)
    if kind is None:
        raise UsageError(f"{path}: not a pinnacle journal or snapshot (unknown magic and suffix)")
    return kind


def grid_for(journal: Path) -> tuple[str, str] | None:
    """The tick/lot sidecar next to a book journal, if it is readable."""
    symbol = journal.name.removesuffix(".journal")
    try:
        m = SymbolMeta.read(journal.with_name(symbol + META_SUFFIX), symbol)
    except (CorruptionError, InvalidArgumentError, OSError):
        return None
    return m.tick_size, m.lot_size


def entry_row(e: Entry, grid: tuple[str, str] | None, is_ledger: bool) -> dict[str, object]:
    """One entry as the JSON row of ``inspect --entries --json`` (docs/cli.md)."""
    op: dict[str, int | str | None] | None = None
    if e.is_checkpoint:
        name, marker = "checkpoint", decode_snapshot_marker(e.payload)
        if marker is None:
            text = f"marker {e.payload.hex()}"
        elif marker[1] is None:
            text = f"covers seq {marker[0]}"
        else:
            text = f"covers seq {marker[0]} (snapshot created_ns {marker[1]})"
    elif is_ledger:
        name, text = ledger.KIND_NAMES.get(e.kind, str(e.kind)), ledger.describe(e.kind, e.payload)
    elif e.kind == BOOK_OP_KIND:
        name = "op"
        try:
            op = decode_book_op(e.payload)
            text = _op_text(op, grid)
        except CorruptionError as err:
            text = f"DAMAGED: {err}"
    else:
        name, text = kind_name(e.kind), e.payload[:24].hex() + ("..." if len(e.payload) > 24 else "")
    return {
        "seq": e.seq,
        "timestamp_ns": e.timestamp_ns,
        "kind": e.kind,
        "kind_name": name,
        "flags": e.flags,
        "length": len(e.payload),
        "op": op,
        "text": text,
        "payload_hex": e.payload.hex(),
    }


def _op_name(payload: bytes) -> str | None:
    """The name of the book operation ``payload`` holds, None if it does not decode."""
    try:
        return str(decode_book_op(payload)["op"])
    except CorruptionError:
        return None


def _op_text(op: dict[str, int | str | None], grid: tuple[str, str] | None) -> str:
    def px(v: object) -> str:
        return str(Decimal(str(v)) * Decimal(grid[0])) if grid else f"{v}t"

    def qty(v: object) -> str:
        return str(Decimal(str(v)) * Decimal(grid[1])) if grid else f"{v}l"

    name = op["op"]
    oid = f"#{op['id']}" if "id" in op else ""
    if name == "add":
        return f"add {oid} {op['side']} {qty(op['qty'])} @ {px(op['price'])}"
    if name == "market":
        return f"market {op['side']} {qty(op['qty'])}"
    if name == "execute":
        return f"execute {oid} {qty(op['qty'])}"
    if name == "modify":
        parts = [
            f"price {px(op['price'])}" if op["price"] else "",
            f"qty {qty(op['qty'])}" if op["qty"] else "",
        ]
        return f"modify {oid} " + ", ".join(x for x in parts if x)
    return f"{name} {oid}"


def _entries(args: argparse.Namespace, kind: str) -> int:
    path: Path = args.path
    if kind == "dir":
        if not args.symbol:
            raise UsageError("--entries on a data directory needs --symbol SYMBOL")
        path = path / "journals" / f"{args.symbol}.journal"
        if not path.is_file():
            raise UsageError(f"{path}: no journal for symbol {args.symbol!r}")
    elif kind != "journal":
        raise UsageError("--entries lists the entries of a journal, not of a snapshot")
    want: int | None = None
    op_name: str | None = None
    if args.kind is not None:
        if args.kind.isdigit():
            want = int(args.kind)
            if want > MAX_KIND:
                raise UsageError(f"--kind: an entry kind is between 0 and {MAX_KIND}, got {args.kind}")
        elif args.kind in _KIND_NAMES:
            want = _KIND_NAMES[args.kind]
            op_name = args.kind if args.kind in BOOK_OP_NAMES else None
        else:
            raise UsageError(
                f"--kind: expected a number, 'op', 'checkpoint' or one of {', '.join(BOOK_OP_NAMES)}"
            )

    def accept(e: Entry) -> bool:
        if want is None:
            return True
        if want == -1:
            return e.is_checkpoint
        if e.kind != want or e.is_checkpoint:
            return False
        return op_name is None or _op_name(e.payload) == op_name

    limit = args.limit if args.limit > 0 else None
    rows, more = list_entries(path, from_seq=args.from_seq, to_seq=args.to_seq, accept=accept, limit=limit)
    grid, is_ledger = grid_for(path), path.parent.name == "maker"
    if args.json:
        doc = {"path": str(path), "entries": [entry_row(e, grid, is_ledger) for e in rows], "truncated": more}
        json.dump(doc, sys.stdout, indent=2)
        print()
        return EXIT_OK
    print(f"{'seq':>10}  {'time (UTC)':<24}  {'kind':<14} {'flags':>5} {'bytes':>6}  content")
    for e in rows:
        r = entry_row(e, grid, is_ledger)
        flags = "C" if e.is_checkpoint else "-"
        print(
            f"{e.seq:>10}  {utc(e.timestamp_ns):<24}  {r['kind_name']!s:<14} {flags:>5} "
            f"{len(e.payload):>6}  {r['text']}"
        )
    if more:
        print("... more entries match (raise --limit, or --limit 0 for all)")
    return EXIT_OK


def print_journal(j: JournalInfo, indent: str = "") -> None:
    """The human-readable summary of a journal scan."""
    h = j.header
    is_ledger = j.path.parent.name == "maker"
    print(f"{indent}journal {j.path}" + (" (market-maker ledger of pinnacle demo)" if is_ledger else ""))
    if h is not None:
        print(
            f"{indent}  format version {h.version}, first_seq {h.first_seq}, durable_end {h.durable_end}, "
            f"generation {h.generation}, created {utc(h.created_ns)}"
        )
    print(
        f"{indent}  {human_bytes(j.disk_bytes)} on disk (file {human_bytes(j.file_size)}; "
        f"entries end at offset {j.data_end})"
    )
    if j.entries:
        print(
            f"{indent}  {j.entries} entries, seq {j.first_seq}..{j.last_seq}, "
            f"{utc(j.first_ts or 0)} .. {utc(j.last_ts or 0)}"
        )
    else:
        print(f"{indent}  no entries")
    for k, n in sorted(j.kinds.items()):
        ops = ", ".join(f"{name} {c}" for name, c in j.ops.most_common()) if k == BOOK_OP_KIND else ""
        label = f"book ops (kind {k})" if k == BOOK_OP_KIND and not is_ledger else f"kind {k}"
        if is_ledger and k in ledger.KIND_NAMES:
            label += f" ({ledger.KIND_NAMES[k]})"
        print(f"{indent}    {label}: {n}" + (f" ({ops})" if ops else ""))
    if j.checkpoints:
        seq, marker = j.last_checkpoint or (0, None)
        print(f"{indent}    checkpoints: {j.checkpoints} (last: seq {seq}, marker {marker})")
    for p in j.problems:
        print(f"{indent}  {p.severity.upper()}: {p}")


def print_snapshot(s: SnapshotRow, indent: str = "") -> None:
    """The human-readable summary of a snapshot."""
    state = "valid" if s.valid else "DAMAGED"
    orders = f"{s.order_count} orders" if s.order_count is not None else "orders unknown"
    created = utc(s.created_ns) if s.created_ns is not None else "?"
    print(
        f"{indent}snapshot {s.path.name}: {s.symbol}, covered_seq {s.covered_seq}, {orders}, "
        f"created {created}, {human_bytes(s.size)}, {state}"
    )
    if s.valid:
        print(f"{indent}  best bid {s.best_bid}, best ask {s.best_ask}")
    for p in s.problems:
        print(f"{indent}  {p.severity.upper()}: {p}")


def print_dir(rep: DataDirReport) -> None:
    """The human-readable summary of a data directory."""
    use = f"in use by {rep.in_use}" if rep.in_use else "not in use"
    print(f"data directory {rep.root} ({use}), {len(rep.symbols)} symbols")
    for s in rep.symbols:
        grid = f"tick {s.tick_size}, lot {s.lot_size}" if s.tick_size else "no valid tick/lot sidecar"
        print(f"\n{s.symbol} ({grid})")
        if s.journal:
            print_journal(s.journal, "  ")
        else:
            print("  no journal")
        for snap in s.snapshots:
            print_snapshot(snap, "  ")
        for p in s.problems:
            print(f"  {p.severity.upper()}: {p}")
    if rep.other_journals:
        print("\nother journals")
        for j in rep.other_journals:
            print_journal(j, "  ")
    for p in rep.problems:
        print(f"{p.severity.upper()}: {p}")


def run(args: argparse.Namespace) -> int:
    """``pinnacle inspect``."""
    kind = resolve(args.path)
    if args.entries:
        return _entries(args, kind)
    for opt in ("symbol", "kind", "to_seq"):
        if getattr(args, opt) is not None:
            raise UsageError(f"--{opt.replace('_', '-')} only applies with --entries")
    status = progress_display(sys.stderr)
    doc: dict[str, object]
    problems: list[Problem]
    if kind == "dir":
        rep = scan_data_dir(args.path, lambda what, done: status.update(f"inspecting {what}", done))
        status.clear()
        doc, problems = rep.as_dict(), rep.all_problems()
        if not args.json:
            print_dir(rep)
    elif kind == "journal":
        j = _scan_journal(args.path, progress=lambda n, done: status.update(f"reading entries: {n}", done))
        status.clear()
        doc, problems = j.as_dict(), j.problems
        if not args.json:
            print_journal(j)
    else:
        grid = grid_for_snapshot(args.path)
        s = scan_snapshot(args.path, *grid) if grid else scan_snapshot(args.path)
        doc, problems = s.as_dict(), s.problems
        if not args.json:
            print_snapshot(s)
    if args.json:
        json.dump(doc, sys.stdout, indent=2)
        print()
    # Damage shown (an ERROR line) is a failure, as with verify; warnings are not.
    return EXIT_FAILURE if any(p.severity == "error" for p in problems) else EXIT_OK


def grid_for_snapshot(path: Path) -> tuple[str, str] | None:
    """The sidecar of a snapshot inside a data directory (``DATA/snapshots/SYM/x``)."""
    data = path.resolve().parent.parent.parent
    return grid_for(data / "journals" / f"{path.parent.name}.journal")


__all__ = [
    "add_parsers",
    "entry_row",
    "grid_for",
    "print_dir",
    "print_journal",
    "print_snapshot",
    "resolve",
    "run",
]
