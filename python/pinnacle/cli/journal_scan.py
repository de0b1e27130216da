"""Read-only examination of a journal file (``docs/format.md``).

Entries are read with :class:`~pinnacle.JournalReader`, which verifies every CRC, length
and sequence number in Rust and never writes. The reader stops at the first entry that is
not valid; the bytes from there to the end of the file are then examined in Rust
(``examine_journal_tail``): all zero is the clean end; anything else is damage, located by
offset and classified here against the header's ``durable_end`` (before it: corruption of
durable data; after it: a torn tail, unless valid entries follow it). Header slots and
book operations are decoded in Rust too: this module holds no layout of its own.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pinnacle._core import (
    BOOK_OP_KIND,
    Entry,
    JournalHeaderSlot,
    JournalReader,
    decode_book_op,
    decode_snapshot_marker,
    examine_journal_tail,
    journal_entry_size,
    read_journal_header,
)
from pinnacle.errors import CorruptionError, EntriesCompactedError, PinnacleError
from pinnacle.paths import JOURNAL_SUFFIX, META_SUFFIX

_LIVE_RETRIES = 5
UNDECODABLE = "undecodable"
"""The ``ops`` key counting kind-1 entries that are not a valid book operation."""


@dataclass(frozen=True)
class Problem:
    """Something wrong in a file. ``severity`` is ``error`` (damage: exit 1) or
    ``warning`` (expected after a crash, or harmless)."""

    path: Path
    offset: int | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        """``PATH at offset N: message``."""
        at = f" at offset {self.offset}" if self.offset is not None else ""
        return f"{self.path}{at}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        """JSON form: ``path``, ``offset``, ``severity``, ``message``."""
        return {
            "path": str(self.path),
            "offset": self.offset,
            "severity": self.severity,
            "message": self.message,
        }


@dataclass
class JournalInfo:
    """What a scan found in one journal file."""

    path: Path
    file_size: int = 0
    disk_bytes: int = 0
    slots: list[JournalHeaderSlot] = field(default_factory=list)
    header: JournalHeaderSlot | None = None
    """The header slot in force (the valid one with the highest generation)."""
    entries: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    data_start: int = 0
    """Offset of the first entry (the header page's size)."""
    data_end: int = 0
    """Offset just past the last valid entry."""
    kinds: Counter[int] = field(default_factory=Counter)
    """Entries per kind (checkpoints excluded)."""
    ops: Counter[str] = field(default_factory=Counter)
    """Book operations (kind 1) per operation (``undecodable``: payloads Rust's decoder,
    and so replay, refuses)."""
    checkpoints: int = 0
    last_checkpoint: tuple[int, int | None] | None = None
    """(seq, the covered_seq its marker names, if it is a snapshot's)."""
    first_ts: int | None = None
    last_ts: int | None = None
    problems: list[Problem] = field(default_factory=list)
    book: bool = False
    """The journal of a book: every kind-1 entry must be a valid book operation (in other
    journals kind 1 is the user's, and only counted)."""

    @property
    def damaged(self) -> bool:
        """True if any problem is an error."""
        return any(p.severity == "error" for p in self.problems)

    def problem(self, offset: int | None, message: str, severity: str = "error") -> None:
        """Records a problem in this file."""
        self.problems.append(Problem(self.path, offset, message, severity))

    def account(self, e: Entry, offset: int) -> None:
        """Counts one valid entry found at ``offset``."""
        self.entries += 1
        if self.first_seq is None:
            self.first_seq, self.first_ts = e.seq, e.timestamp_ns
        self.last_seq, self.last_ts = e.seq, e.timestamp_ns
        if e.is_checkpoint:
            self.checkpoints += 1
            marker = decode_snapshot_marker(e.payload)
            self.last_checkpoint = (e.seq, marker[0] if marker else None)
        else:
            self.kinds[e.kind] += 1
            if e.kind == BOOK_OP_KIND:
                self.ops[self._op_name(e, offset)] += 1
        self.data_end = offset + journal_entry_size(len(e.payload))

    def _op_name(self, e: Entry, offset: int) -> str:
        """The operation a kind-1 entry holds, as Rust decodes it; the first one that does
        not decode is a problem (replay refuses it), the others are counted."""
        try:
            return str(decode_book_op(e.payload)["op"])
        except CorruptionError as err:
            if self.book and not self.ops[UNDECODABLE]:
                self.problem(
                    offset,
                    f"entry seq {e.seq} (kind {BOOK_OP_KIND}) is not a valid book operation: {err}; "
                    "replay refuses it (recovery fails unless a snapshot covers it)",
                )
            return UNDECODABLE

    def as_dict(self) -> dict[str, object]:
        """The stable JSON form (see docs/cli.md)."""
        h = self.header
        return {
            "type": "journal",
            "path": str(self.path),
            "file_size": self.file_size,
            "disk_bytes": self.disk_bytes,
            "format_version": h.version if h else None,
            "journal_id": h.journal_id if h else None,
            "first_seq": h.first_seq if h else None,
            "durable_end": h.durable_end if h else None,
            "generation": h.generation if h else None,
            "created_ns": h.created_ns if h else None,
            "max_entry_size": h.max_entry_size if h else None,
            "entries": self.entries,
            "seq_range": [self.first_seq, self.last_seq] if self.entries else None,
            "data_end": self.data_end,
            "kinds": {str(k): v for k, v in sorted(self.kinds.items())},
            "ops": dict(sorted(self.ops.items())),
            "checkpoints": self.checkpoints,
            "last_checkpoint": (
                {"seq": self.last_checkpoint[0], "marker": self.last_checkpoint[1]}
                if self.last_checkpoint
                else None
            ),
            "first_timestamp_ns": self.first_ts,
            "last_timestamp_ns": self.last_ts,
            "problems": [p.as_dict() for p in self.problems],
        }


def is_book_journal(path: Path) -> bool:
    """True for a book's journal: its tick/lot sidecar sits next to it."""
    return path.with_name(path.name.removesuffix(JOURNAL_SUFFIX) + META_SUFFIX).exists()


def scan_journal(
    path: str | os.PathLike[str],
    *,
    progress: Callable[[int, float], None] | None = None,
    book: bool | None = None,
) -> JournalInfo:
    """Verifies every entry of a journal without writing to it; see the module docstring.
    ``progress(entries_so_far, fraction_done)`` is called after each batch (the fraction
    of the header's durable data read so far, below 1 until the scan ends). ``book``: the
    journal holds a book's operations (None: it does if its sidecar is next to it), so a
    kind-1 entry that is not a valid operation is damage."""
    info = JournalInfo(Path(path))
    info.book = is_book_journal(info.path) if book is None else book
    st = os.stat(info.path)
    info.file_size, info.disk_bytes = st.st_size, st.st_blocks * 512
    head = read_journal_header(info.path)
    info.slots, info.header = head.slots, head.current
    info.data_start = info.data_end = head.data_start
    for s in info.slots:
        if s.state == "damaged":
            other = "the other slot is used; opening rewrites it" if info.header else "no valid header"
            info.problem(s.offset, f"header slot {s.index} is damaged: {s.error} ({other})")
    if info.header is None:
        return info
    try:
        with JournalReader(info.path) as reader:
            for _ in range(_LIVE_RETRIES):
                while batch := reader.poll(65536):
                    for e in batch:
                        info.account(e, info.data_end)
                    if progress is not None:
                        progress(info.entries, min(0.99, info.data_end / max(info.header.durable_end, 1)))
                found = len(info.problems)
                _check_tail(info)
                if len(info.problems) == found or info.data_end < info.header.durable_end:
                    break
                # A live writer may have completed the entry after we stopped: read on.
                batch = reader.poll(65536)
                if not batch:
                    break
                del info.problems[found:]
                for e in batch:
                    info.account(e, info.data_end)
    except PinnacleError as e:
        reason = e.reason if isinstance(e, CorruptionError) else None
        info.problem(e.offset, reason if reason is not None else str(e))
    if info.book and info.ops[UNDECODABLE] > 1:
        info.problem(
            None,
            f"{info.ops[UNDECODABLE]} entries of kind {BOOK_OP_KIND} in all are not valid book operations",
        )
    return info


def _check_tail(info: JournalInfo) -> None:
    h = info.header
    assert h is not None
    next_seq = (info.last_seq + 1) if info.last_seq is not None else h.first_seq
    if info.entries and info.first_seq != h.first_seq:
        info.problem(info.data_start, f"first entry has seq {info.first_seq}, the header says {h.first_seq}")
    tail = examine_journal_tail(info.path, info.data_end, next_seq, h.max_entry_size)
    if tail.first_nonzero is None:
        if info.data_end < h.durable_end:
            info.problem(
                info.data_end,
                f"the data ends at offset {info.data_end}, before the header's durable_end {h.durable_end}: "
                "entries that were durable are missing (zeroed or truncated); opening raises CorruptionError",
            )
        return
    pos, why = info.data_end, tail.damage
    if pos < h.durable_end:
        info.problem(
            pos,
            f"corruption in data that was durable (durable_end {h.durable_end}): {why}; "
            "opening raises CorruptionError",
        )
    elif tail.next_valid is not None:
        at, seq = tail.next_valid
        info.problem(
            pos,
            f"damaged entry ({why}) followed by valid entries from offset {at} (seq {seq}); "
            f"it lies after durable_end {h.durable_end}, so opening cuts everything from here",
        )
    else:
        info.problem(
            pos,
            f"torn tail: {tail.nonzero_end - pos} bytes of an incomplete write after the last complete "
            f"entry ({why}), beyond durable_end {h.durable_end}; the next open cuts it",
            "warning",
        )


def list_entries(
    path: str | os.PathLike[str],
    *,
    from_seq: int = 0,
    to_seq: int | None = None,
    accept: Callable[[Entry], bool] | None = None,
    limit: int | None = None,
) -> tuple[list[Entry], bool]:
    """Entries with ``from_seq <= seq <= to_seq`` that ``accept`` accepts, at most
    ``limit`` of them; and whether more matched. Read-only."""
    out: list[Entry] = []
    try:
        reader = JournalReader(path, from_seq)
    except EntriesCompactedError:
        reader = JournalReader(path)  # what is held from from_seq on starts at the first held
    with reader:
        while batch := reader.poll(4096):
            for e in batch:
                if to_seq is not None and e.seq > to_seq:
                    return out, False
                if e.seq < from_seq or (accept is not None and not accept(e)):
                    continue
                if limit is not None and len(out) >= limit:
                    return out, True
                out.append(e)
    return out, False


__all__ = [
    "UNDECODABLE",
    "JournalInfo",
    "Problem",
    "is_book_journal",
    "list_entries",
    "scan_journal",
]
