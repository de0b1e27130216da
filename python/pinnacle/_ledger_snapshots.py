"""Ledger snapshots: ``DATA/snapshots/@ledger/@ledger-<ns>.snapshot``.

The file is Rust's (``pinnacle_ledger::snapshot``: a versioned header bound to the
journal's identity and the seq it covers, the versioned canonical state, a CRC), written
with the atomic file protocol, followed by a checkpoint marker in the journal (as book
snapshots are). Snapshots are ordered by ``covered_seq`` (then ``created_ns``), never by a
clock; one is trusted only after it verified entirely and is bound to this journal, and
recovery falls back past damaged or foreign ones (each reported as a problem).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from pinnacle import _core
from pinnacle.errors import CorruptionError, LedgerError, UnsupportedFormatError
from pinnacle.paths import fsync_dir, make_private_dir, write_atomic

_log = logging.getLogger("pinnacle.persistence")

SUFFIX = ".snapshot"


@dataclass(frozen=True)
class LedgerSnapshot:
    path: Path
    covered_seq: int
    created_ns: int


def files(directory: Path) -> list[LedgerSnapshot]:
    """The snapshots whose header reads, newest (highest covered_seq) first."""
    out: list[LedgerSnapshot] = []
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    for name in names:
        if name.startswith(".") or not name.endswith(SUFFIX):
            continue
        path = directory / name
        try:
            with open(path, "rb") as f:
                head = f.read(64)
            _id, covered, created = _core.Ledger.peek_snapshot(head + b"\0" * max(0, 64 - len(head)))
        except (OSError, CorruptionError, UnsupportedFormatError):
            continue  # load() reports it if it is ever the candidate
        out.append(LedgerSnapshot(path, covered, created))
    out.sort(key=lambda s: (s.covered_seq, s.created_ns, s.path.name), reverse=True)
    return out


def take(core: _core.Ledger, journal: _core.Journal, directory: Path, keep: int) -> LedgerSnapshot:
    """Snapshots the live ledger, journals a checkpoint marker, keeps the newest ``keep``."""
    created = time.time_ns()
    data, covered = core.snapshot_bytes(created)
    make_private_dir(directory, parents=False)
    path = directory / f"@ledger-{created}{SUFFIX}"
    write_atomic(path, data)
    journal.checkpoint(_core.snapshot_marker(covered, created))
    for old in files(directory)[keep:]:
        with contextlib.suppress(FileNotFoundError):
            old.path.unlink()
    fsync_dir(directory)
    _log.info("Ledger snapshot %s (covers seq %d, %d bytes)", path.name, covered, len(data))
    return LedgerSnapshot(path, covered, created)


def newest_usable(
    directory: Path, journal: _core.Journal, *, max_seq: int | None = None, problems: list[str]
) -> tuple[_core.Ledger, LedgerSnapshot] | None:
    """The newest snapshot of this journal that verifies (and covers at most ``max_seq``),
    loaded; damaged and foreign ones are skipped with a problem each."""
    last = journal.next_seq - 1
    for snap in files(directory):
        if snap.covered_seq > last or (max_seq is not None and snap.covered_seq > max_seq):
            continue
        try:
            core, (jid, _c, _t) = _core.Ledger.from_snapshot(snap.path.read_bytes())
        except (OSError, CorruptionError, UnsupportedFormatError) as e:
            problems.append(f"{snap.path.name}: skipped, {e}")
            continue
        if jid is not None and jid != journal.journal_id:
            problems.append(f"{snap.path.name}: skipped, a snapshot of another journal ({jid})")
            continue
        if snap.covered_seq + 1 < journal.first_seq:
            problems.append(f"{snap.path.name}: skipped, entries after it were compacted away")
            continue
        return core, snap
    return None


def state_at(
    journal: _core.Journal, directory: Path, seq: int | None, timestamp_ns: int | None
) -> _core.Ledger:
    """The read-only ledger as it was after entry ``seq`` / at ``timestamp_ns``."""
    problems: list[str] = []
    base, start = _core.Ledger(), 1
    if journal.first_seq > 1:
        found = newest_usable(directory, journal, max_seq=seq, problems=problems)
        if found is not None and timestamp_ns is not None and found[0].stats()[0] > timestamp_ns:
            found = None
        if found is None:
            err = LedgerError(
                f"the ledger's history before seq {journal.first_seq} was compacted and no snapshot "
                "covers the point asked for"
            )
            err.code = "compacted"
            raise err
        base, start = found[0], found[1].covered_seq + 1
    return base.state_at(journal, start, seq, timestamp_ns)


__all__ = ["LedgerSnapshot", "files", "newest_usable", "state_at", "take"]
