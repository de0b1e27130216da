"""Read-only examination of snapshot files and whole persistence directories.

A snapshot is trusted only once ``OrderBook.from_snapshot`` verified all of it (magic,
version, CRC over the whole file, every record). A directory is checked symbol by symbol:
the tick/lot sidecar, the journal (:mod:`pinnacle.cli.journal_scan`), every snapshot, and
the chain recovery needs — the newest valid snapshot must cover at least
``journal.first_seq - 1`` (the entries after it still exist) and at most the journal's
last seq. Any other ``*.journal`` under the directory (the demo's maker ledgers) is
checked as a plain journal.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pinnacle._core import OrderBook, ShadowBook, file_format, peek_snapshot_header
from pinnacle.cli.journal_scan import JournalInfo, Problem, scan_journal
from pinnacle.errors import CorruptionError, InvalidArgumentError, UnsupportedFormatError
from pinnacle.paths import JOURNAL_SUFFIX, DataLayout, SymbolMeta, is_temp_name
from pinnacle.snapshots import SUFFIX as SNAPSHOT_SUFFIX


@dataclass
class SnapshotRow:
    """One snapshot file: its header fields and whether it verified."""

    path: Path
    size: int = 0
    symbol: str | None = None
    covered_seq: int | None = None
    created_ns: int | None = None
    order_count: int | None = None
    """Known only when the snapshot verified."""
    best_bid: float | None = None
    best_ask: float | None = None
    valid: bool = False
    journal_id: str | None = None
    """The journal identity the snapshot records (None: format 1 or no identity)."""
    grid: tuple[str, str] | None = None
    """(tick_size, lot_size) the snapshot records (None: format 1)."""
    foreign: bool = False
    """Valid, but of another journal: recovery skips it."""
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The stable JSON form (see docs/cli.md)."""
        return {
            "type": "snapshot",
            "path": str(self.path),
            "size": self.size,
            "symbol": self.symbol,
            "covered_seq": self.covered_seq,
            "created_ns": self.created_ns,
            "order_count": self.order_count,
            "best_bid": self.best_bid,
            "best_ask": self.best_ask,
            "valid": self.valid,
            "journal_id": self.journal_id,
            "foreign": self.foreign,
            "problems": [p.as_dict() for p in self.problems],
        }


def scan_snapshot(path: Path, tick: str = "1", lot: str = "1") -> SnapshotRow:
    """Reads and verifies one snapshot. ``tick``/``lot`` only scale the prices shown
    (verification does not depend on them)."""
    row = SnapshotRow(path)
    data = path.read_bytes()
    row.size = len(data)
    try:
        book, info = OrderBook.from_snapshot(data, tick, lot)
    except (CorruptionError, UnsupportedFormatError) as e:
        try:  # what the header says, if it is readable: shown next to the damage
            h = peek_snapshot_header(data)
            row.symbol, row.covered_seq, row.created_ns = h.symbol, h.covered_seq, h.created_ns
        except (CorruptionError, UnsupportedFormatError):
            pass
        msg = str(e).replace(f"{path}: ", "")
        offset = e.offset
        if offset is not None and offset > 0 and offset == len(data) - 4:
            msg += f"; the CRC at offset {offset} covers bytes 0..{offset} (the bad byte cannot be located)"
        row.problems.append(Problem(path, offset, msg))
        return row
    row.valid = True
    row.symbol, row.covered_seq, row.created_ns = info.symbol, info.covered_seq, info.created_ns
    row.order_count, row.best_bid, row.best_ask = info.order_count, book.best_bid, book.best_ask
    row.journal_id = info.journal_id
    if info.tick_size is not None and info.lot_size is not None:
        row.grid = (info.tick_size, info.lot_size)
    return row


def lock_owner(root: Path) -> str | None:
    """``pid N`` (or ``another process``) if a PersistenceManager holds ``root``, else
    None. Probes the lock with a shared, non-blocking flock released at once; writes
    nothing."""
    try:
        fd = os.open(root / ".lock", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return f"pid {text}" if text.isdigit() else "another process"
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


@dataclass
class SymbolReport:
    """One symbol of a data directory."""

    symbol: str
    tick_size: str | None = None
    lot_size: str | None = None
    journal: JournalInfo | None = None
    snapshots: list[SnapshotRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    """Sidecar and chain problems (file problems are on the journal and snapshots)."""

    def all_problems(self) -> list[Problem]:
        """Every problem of this symbol: files first, then sidecar and chain."""
        out = list(self.journal.problems) if self.journal else []
        for s in self.snapshots:
            out += s.problems
        return out + self.problems

    def usable_snapshot(self) -> SnapshotRow | None:
        """The snapshot recovery would load, if the chain is sound."""
        valid = [s for s in self.snapshots if s.valid and not s.foreign]
        valid.sort(key=lambda s: (s.covered_seq or 0, s.created_ns or 0), reverse=True)
        return valid[0] if valid else None

    def as_dict(self) -> dict[str, object]:
        """The stable JSON form (see docs/cli.md)."""
        snap = self.usable_snapshot()
        return {
            "symbol": self.symbol,
            "tick_size": self.tick_size,
            "lot_size": self.lot_size,
            "journal": self.journal.as_dict() if self.journal else None,
            "snapshots": [s.as_dict() for s in self.snapshots],
            "newest_valid_snapshot": str(snap.path) if snap else None,
            "problems": [p.as_dict() for p in self.problems],
        }


@dataclass
class DataDirReport:
    """A whole persistence directory."""

    root: Path
    in_use: str | None = None
    symbols: list[SymbolReport] = field(default_factory=list)
    other_journals: list[JournalInfo] = field(default_factory=list)
    """``*.journal`` files outside ``journals/`` (e.g. the demo's maker ledgers)."""
    problems: list[Problem] = field(default_factory=list)

    def all_problems(self) -> list[Problem]:
        """Every problem found."""
        out = list(self.problems)
        for s in self.symbols:
            out += s.all_problems()
        for j in self.other_journals:
            out += j.problems
        return out

    def as_dict(self) -> dict[str, object]:
        """The stable JSON form (see docs/cli.md)."""
        return {
            "type": "data_directory",
            "path": str(self.root),
            "in_use": self.in_use,
            "symbols": [s.as_dict() for s in self.symbols],
            "other_journals": [j.as_dict() for j in self.other_journals],
            "problems": [p.as_dict() for p in self.problems],
        }


def is_data_dir(path: Path) -> bool:
    """True if ``path`` looks like a persistence directory."""
    return (path / "journals").is_dir() or (path / "snapshots").is_dir()


def file_type(path: Path) -> str | None:
    """``journal`` or ``snapshot`` by magic (either journal header slot) or, for a
    damaged file, by suffix; None when it is neither."""
    by_magic = file_format(path)
    if by_magic is not None:
        return by_magic
    if path.name.endswith(SNAPSHOT_SUFFIX):
        return "snapshot"
    if path.name.endswith(JOURNAL_SUFFIX):
        return "journal"
    return None


def _check_binding(rep: SymbolReport, meta_ok: bool) -> None:
    """Flags snapshots of another journal (recovery skips them) and snapshots whose grid
    differs from a readable sidecar (recovery refuses)."""
    j = rep.journal
    jid = j.header.journal_id if j is not None and j.header is not None else None
    for s in rep.snapshots:
        if not s.valid:
            continue
        if s.journal_id is not None and j is not None and j.header is not None and s.journal_id != jid:
            s.foreign = True
            s.problems.append(
                Problem(
                    s.path,
                    None,
                    f"belongs to another journal (journal_id {s.journal_id}, this journal's is {jid}): "
                    "copied from another data directory? recovery skips it",
                )
            )
        elif meta_ok and s.grid is not None and s.grid != (rep.tick_size, rep.lot_size):
            s.problems.append(
                Problem(
                    s.path,
                    None,
                    f"records tick_size={s.grid[0]}, lot_size={s.grid[1]} but the sidecar says "
                    f"tick_size={rep.tick_size}, lot_size={rep.lot_size}: recovery refuses to rescale prices",
                )
            )


def _check_chain(rep: SymbolReport, layout: DataLayout) -> None:
    j, path = rep.journal, layout.journal_path(rep.symbol)
    valid = [s for s in rep.snapshots if s.valid and not s.foreign]
    valid.sort(key=lambda s: (s.covered_seq or 0, s.created_ns or 0), reverse=True)
    if j is None:
        if rep.snapshots:
            rep.problems.append(
                Problem(path, None, "journal missing while snapshots exist: the entries after them are lost")
            )
        return
    if j.header is None or j.damaged:
        return  # the journal's own damage is the problem; its valid prefix says nothing of the chain
    first = j.header.first_seq
    last = j.last_seq if j.last_seq is not None else first - 1
    newest = valid[0] if valid else None
    if newest is not None and (newest.covered_seq or 0) > last:
        rep.problems.append(
            Problem(
                newest.path,
                None,
                f"covers journal seq {newest.covered_seq} but the journal ends at seq {last}: "
                "the journal lost entries this snapshot depends on (recovery refuses)",
            )
        )
    elif first > 1 and (newest is None or (newest.covered_seq or 0) + 1 < first):
        have = f"the newest valid snapshot covers seq {newest.covered_seq}" if newest else "no valid snapshot"
        rep.problems.append(
            Problem(
                path, None, f"starts at seq {first} (1..{first - 1} compacted) but {have}: cannot recover"
            )
        )
    elif rep.tick_size is not None and rep.lot_size is not None:
        _check_replay(rep, path, newest)


def _check_replay(rep: SymbolReport, path: Path, snap: SnapshotRow | None) -> None:
    """Replays the journal's book operations after the snapshot recovery would load, as
    recovery does (read-only), so that verify and recovery agree on every entry."""
    tick, lot = rep.tick_size, rep.lot_size
    assert tick is not None and lot is not None
    try:
        if snap is None:
            book, covered = OrderBook(rep.symbol, tick, lot), 0
        else:
            book, info = OrderBook.from_snapshot(snap.path.read_bytes(), tick, lot)
            covered = info.covered_seq
        ShadowBook(book, path, covered + 1).catch_up()
    except (CorruptionError, InvalidArgumentError, OSError) as e:
        rep.problems.append(Problem(path, None, f"{e}: recovery refuses this journal"))


def _entries_of(
    tell: Callable[[str, float], None], symbol: str, index: int, total: int
) -> Callable[[int, float], None]:
    """Progress within one symbol's journal as progress through the whole directory."""
    return lambda n, done: tell(f"{symbol}: {n} entries", (index + done) / total)


def scan_data_dir(root: Path, progress: Callable[[str, float], None] | None = None) -> DataDirReport:
    """Examines a persistence directory without writing anything. ``progress(what,
    fraction_done)`` is called as it goes (journals count by symbol, and within one by the
    bytes read)."""
    rep = DataDirReport(root, in_use=lock_owner(root))

    def tell(what: str, done: float) -> None:
        if progress is not None:
            progress(what, done)

    layout = DataLayout(root)
    found, skipped = layout.symbols_on_disk()
    for name in skipped:
        rep.problems.append(Problem(root, None, f"ignoring {name!r}: not a valid symbol name", "warning"))
    for d in [layout.journals, *(p for p in layout.snapshots.glob("*") if p.is_dir())]:
        for p in sorted(d.glob(".*")) if d.is_dir() else []:
            if is_temp_name(p.name):
                msg = "temp file of an interrupted write (removed at the next start if its writer exited)"
                rep.problems.append(Problem(p, None, msg, "warning"))
    others = sorted(p for p in root.rglob(f"*{JOURNAL_SUFFIX}") if p.parent != layout.journals)
    total = max(1, len(found) + len(others))
    for i, symbol in enumerate(sorted(found)):
        tell(symbol, i / total)
        sr = SymbolReport(symbol)
        rep.symbols.append(sr)
        tick, lot = "1", "1"
        meta_error: str | None = None
        try:
            meta = SymbolMeta.read(layout.meta_path(symbol), symbol)
            sr.tick_size, sr.lot_size = tick, lot = meta.tick_size, meta.lot_size
            if not meta.checksummed:
                msg = "format 1 (older pinnacle): no checksum, so a changed tick/lot size goes unnoticed"
                sr.problems.append(Problem(layout.meta_path(symbol), None, msg, "warning"))
        except (CorruptionError, InvalidArgumentError, OSError) as e:
            meta_error = str(e).split(": ", 1)[-1]
        jpath = layout.journal_path(symbol)
        if jpath.exists():
            sr.journal = scan_journal(jpath, progress=_entries_of(tell, symbol, i, total), book=True)
        sdir = layout.snapshot_dir(symbol)
        if sdir.is_dir():
            for p in sorted(sdir.iterdir()):
                if p.name.endswith(SNAPSHOT_SUFFIX) and not p.name.startswith("."):
                    sr.snapshots.append(scan_snapshot(p, tick, lot))
        _check_binding(sr, meta_error is None)
        if meta_error is not None:
            source = next((s for s in sr.snapshots if s.valid and not s.foreign and s.grid), None)
            if source is not None and source.grid is not None and sr.journal is not None:
                meta_error += (
                    f" (recovery rebuilds it from {source.path.name}: tick_size, lot_size = {source.grid})"
                )
                sr.tick_size, sr.lot_size = source.grid
            sr.problems.append(Problem(layout.meta_path(symbol), None, meta_error))
        _check_chain(sr, layout)
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        if d == root:
            dirnames[:] = [n for n in dirnames if n not in ("journals", "snapshots")]
        for n in sorted(filenames):
            if n.endswith(JOURNAL_SUFFIX) and not n.startswith("."):
                k = len(found) + len(rep.other_journals)
                tell(str((d / n).relative_to(root)), k / total)
                rep.other_journals.append(scan_journal(d / n))
    return rep


__all__ = [
    "DataDirReport",
    "SnapshotRow",
    "SymbolReport",
    "file_type",
    "is_data_dir",
    "lock_owner",
    "scan_data_dir",
    "scan_snapshot",
]
