"""Read-only examination of a journal file (``docs/format.md``).

Entries are read with :class:`~pinnacle.JournalReader`, which verifies every CRC, length
and sequence number in Rust and never writes. The reader stops at the first entry that is
not valid; this module then looks at the bytes from there to the end of the file: all zero
is the clean end; anything else is damage, located by offset and classified against the
header's ``durable_end`` (before it: corruption of durable data; after it: a torn tail,
unless valid entries follow it). Headers are parsed here, from the documented layout.
"""

from __future__ import annotations

import mmap
import os
import re
import struct
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pinnacle._core import Entry, JournalReader
from pinnacle.errors import CorruptionError, EntriesCompactedError, PinnacleError

JOURNAL_MAGIC = b"PNCLJRNL"
HEADER_SIZE = 4096
SLOT_OFFSETS = (0, 512)
SLOT_SIZE = 128
ENTRY_HEADER = 32
FLAG_CHECKPOINT = 1
FLAG_AFTER_GAP = 2
OP_KIND = 1
OP_NAMES = {1: "add", 2: "cancel", 3: "execute", 4: "market", 5: "modify"}
"""Book operation tags (byte 0 of a kind-1 payload)."""

_SLOT = struct.Struct("<8sHHIQQQqI")
_ENTRY = struct.Struct("<IIQqHHI")
_NONZERO = re.compile(rb"[^\x00]")
_LIVE_RETRIES = 5


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


@dataclass(frozen=True)
class HeaderSlot:
    """One of the two header slots."""

    offset: int
    state: str
    """``valid``, ``blank`` (all zero: never written) or ``damaged``."""
    version: int = 0
    generation: int = 0
    first_seq: int = 0
    durable_end: int = 0
    created_ns: int = 0
    max_entry_size: int = 0
    error: str = ""
    journal_id: str | None = None
    """32 hex digits (format 2); None for a format-1 journal."""


def parse_slots(page: bytes) -> list[HeaderSlot]:
    """Both header slots of a journal's first page (format 1: 64 bytes, CRC at 60;
    format 2: 128 bytes with the journal identity at 56, CRC at 124)."""
    out = []
    for off in SLOT_OFFSETS:
        raw = page[off : off + SLOT_SIZE]
        if len(raw) < SLOT_SIZE or not any(raw):
            out.append(HeaderSlot(off, "blank" if len(raw) == SLOT_SIZE else "damaged", error="truncated"))
            continue
        magic, ver, idx, hsize, first, gen, durable, created, max_entry = _SLOT.unpack_from(raw)
        crc_at = 124 if ver == 2 else 60
        (crc,) = struct.unpack_from("<I", raw, crc_at)
        computed = zlib.crc32(raw[:crc_at])
        err = ""
        if magic != JOURNAL_MAGIC:
            err = "bad magic"
        elif crc != computed:
            err = f"checksum mismatch (stored {crc:#010x}, computed {computed:#010x})"
        elif ver not in (1, 2):
            err = f"format version {ver} (this build reads 1 and 2)"
        elif idx != SLOT_OFFSETS.index(off) or hsize != HEADER_SIZE:
            err = "slot index or header size does not match"
        jid = int.from_bytes(raw[56:72], "little") if ver == 2 else 0
        state = "damaged" if err else "valid"
        out.append(
            HeaderSlot(
                off, state, ver, gen, first, durable, created, max_entry, err, f"{jid:032x}" if jid else None
            )
        )
    return out


def choose_slot(slots: list[HeaderSlot]) -> HeaderSlot | None:
    """The header in force: the valid slot with the highest generation."""
    valid = [s for s in slots if s.state == "valid"]
    return max(valid, key=lambda s: s.generation) if valid else None


def entry_size(payload_len: int) -> int:
    """Bytes an entry with a payload of ``payload_len`` bytes occupies."""
    return ENTRY_HEADER + (payload_len + 7) // 8 * 8


@dataclass
class JournalInfo:
    """What a scan found in one journal file."""

    path: Path
    file_size: int = 0
    disk_bytes: int = 0
    slots: list[HeaderSlot] = field(default_factory=list)
    header: HeaderSlot | None = None
    entries: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    data_end: int = HEADER_SIZE
    """Offset just past the last valid entry."""
    kinds: Counter[int] = field(default_factory=Counter)
    """Entries per kind (checkpoints excluded)."""
    ops: Counter[str] = field(default_factory=Counter)
    """Book operations (kind 1) per operation."""
    checkpoints: int = 0
    last_checkpoint: tuple[int, int | None] | None = None
    """(seq, marker as u64 when it is 8 bytes)."""
    first_ts: int | None = None
    last_ts: int | None = None
    problems: list[Problem] = field(default_factory=list)

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
        if e.flags & FLAG_CHECKPOINT:
            self.checkpoints += 1
            p = e.payload  # the manager's: covered_seq u64 (then created_ns i64)
            self.last_checkpoint = (e.seq, int.from_bytes(p[:8], "little") if len(p) in (8, 16) else None)
        else:
            self.kinds[e.kind] += 1
            if e.kind == OP_KIND and e.payload:
                self.ops[OP_NAMES.get(e.payload[0], f"tag {e.payload[0]}")] += 1
        self.data_end = offset + entry_size(len(e.payload))

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


def _first_nonzero(buf: mmap.mmap | bytes, start: int) -> int | None:
    m = _NONZERO.search(buf, start)
    return m.start() if m else None


def _describe_at(buf: mmap.mmap | bytes, pos: int, expected_seq: int, max_len: int) -> str:
    head = bytes(buf[pos : pos + ENTRY_HEADER])
    if len(head) < ENTRY_HEADER:
        return f"a partial entry header ({len(head)} bytes) at the end of the file"
    if not any(head):
        nz = _first_nonzero(buf, pos)
        return f"an all-zero entry header, but non-zero bytes follow at offset {nz}"
    crc, length, seq, _ts, _kind, flags, reserved = _ENTRY.unpack(head)
    total = entry_size(length)
    if length > max_len:
        return f"entry length {length} exceeds the journal's maximum of {max_len}"
    if pos + total > len(buf):
        return f"an entry of {total} bytes runs past the end of the file"
    if seq != expected_seq and not (flags & FLAG_AFTER_GAP and seq > expected_seq):
        return f"sequence number {seq} where {expected_seq} was expected"
    computed = zlib.crc32(bytes(buf[pos + 4 : pos + total]))
    if computed != crc:
        return f"checksum mismatch (stored {crc:#010x}, computed {computed:#010x})"
    if flags & ~(FLAG_CHECKPOINT | FLAG_AFTER_GAP) or reserved:
        return f"invalid flags {flags:#x} or reserved field {reserved:#x}"
    return "an entry the reader rejected"


def _resync(buf: mmap.mmap | bytes, start: int, min_seq: int, max_len: int) -> tuple[int, int] | None:
    """The first valid entry (offset, seq) at or after ``start`` with seq >= ``min_seq``.

    An entry's seq (bytes 8..16) is never zero, so an entry starting at ``p`` has a
    non-zero byte before ``p + 16``: zero runs are skipped with a regex search."""
    pos = start + (-start) % 8
    size = len(buf)
    while pos + ENTRY_HEADER <= size:
        nz = _first_nonzero(buf, pos)
        if nz is None:
            return None
        pos = max(pos, (nz - 15) // 8 * 8)
        if pos + ENTRY_HEADER > size:
            return None
        crc, length, seq, _ts, _kind, flags, reserved = _ENTRY.unpack_from(buf, pos)
        total = entry_size(length)
        if (
            min_seq <= seq < min_seq + (1 << 40)
            and length <= max_len
            and pos + total <= size
            and not reserved
            and not flags & ~(FLAG_CHECKPOINT | FLAG_AFTER_GAP)
            and zlib.crc32(bytes(buf[pos + 4 : pos + total])) == crc
        ):
            return pos, seq
        pos += 8
    return None


def _last_nonzero(buf: mmap.mmap | bytes, start: int) -> int:
    end = len(buf)
    while end > start:
        lo = max(start, end - (1 << 20))
        block = bytes(buf[lo:end]).rstrip(b"\0")
        if block:
            return lo + len(block) - 1
        end = lo
    return start - 1


def scan_journal(
    path: str | os.PathLike[str],
    *,
    progress: Callable[[int, float], None] | None = None,
) -> JournalInfo:
    """Verifies every entry of a journal without writing to it; see the module docstring.
    ``progress(entries_so_far, fraction_done)`` is called after each batch (the fraction
    of the header's durable data read so far, below 1 until the scan ends)."""
    info = JournalInfo(Path(path))
    st = os.stat(info.path)
    info.file_size, info.disk_bytes = st.st_size, st.st_blocks * 512
    with open(info.path, "rb") as f:
        page = f.read(HEADER_SIZE)
    info.slots = parse_slots(page)
    info.header = choose_slot(info.slots)
    for s in info.slots:
        if s.state == "damaged":
            other = "the other slot is used; opening rewrites it" if info.header else "no valid header"
            info.problem(
                s.offset, f"header slot {SLOT_OFFSETS.index(s.offset)} is damaged: {s.error} ({other})"
            )
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
    return info


def _check_tail(info: JournalInfo) -> None:
    h = info.header
    assert h is not None
    next_seq = (info.last_seq + 1) if info.last_seq is not None else h.first_seq
    if info.entries and info.first_seq != h.first_seq:
        info.problem(HEADER_SIZE, f"first entry has seq {info.first_seq}, the header says {h.first_seq}")
    missing = (
        f"the data ends at offset {info.data_end}, before the header's durable_end {h.durable_end}: "
        "entries that were durable are missing (zeroed or truncated); opening raises CorruptionError"
    )
    if info.file_size <= info.data_end:
        if info.data_end < h.durable_end:
            info.problem(info.data_end, missing)
        return
    with open(info.path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        nz = _first_nonzero(buf, info.data_end)
        if nz is None:
            if info.data_end < h.durable_end:
                info.problem(info.data_end, missing)
            return
        pos = info.data_end
        why = _describe_at(buf, pos, next_seq, h.max_entry_size)
        if pos < h.durable_end:
            info.problem(
                pos,
                f"corruption in data that was durable (durable_end {h.durable_end}): {why}; "
                "opening raises CorruptionError",
            )
            return
        after = _resync(buf, pos + 8, next_seq + 1, h.max_entry_size)
        if after is not None:
            info.problem(
                pos,
                f"damaged entry ({why}) followed by valid entries from offset {after[0]} (seq {after[1]}); "
                f"it lies after durable_end {h.durable_end}, so opening cuts everything from here",
            )
            return
        end = _last_nonzero(buf, nz)
        info.problem(
            pos,
            f"torn tail: {end + 1 - pos} bytes of an incomplete write after the last complete entry "
            f"({why}), beyond durable_end {h.durable_end}; the next open cuts it",
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


def _read_id(p: bytes, at: int) -> tuple[int | str, int]:
    if p[at] == 0:
        return struct.unpack_from("<Q", p, at + 1)[0], at + 9
    n = p[at + 1]
    return p[at + 2 : at + 2 + n].decode("utf-8"), at + 2 + n


def decode_op(p: bytes) -> dict[str, object]:
    """A book operation payload as a dict (``op``, ``id``, ``side``, ``price``, ``qty``,
    ``ts``: price in ticks, qty in lots). Raises ValueError on a malformed payload."""
    try:
        tag = p[0]
        name = OP_NAMES[tag]
        if tag == 4:
            side, qty, ts = struct.unpack_from("<Bqq", p, 1)
            return {"op": name, "side": ("buy", "sell")[side], "qty": qty, "ts": ts}
        oid, at = _read_id(p, 1)
        if tag == 1:
            side, price, qty, ts = struct.unpack_from("<Bqqq", p, at)
            return {
                "op": name,
                "id": oid,
                "side": ("buy", "sell")[side],
                "price": price,
                "qty": qty,
                "ts": ts,
            }
        if tag == 2:
            return {"op": name, "id": oid, "ts": struct.unpack_from("<q", p, at)[0]}
        if tag == 3:
            qty, ts = struct.unpack_from("<qq", p, at)
            return {"op": name, "id": oid, "qty": qty, "ts": ts}
        price, qty, ts = struct.unpack_from("<qqq", p, at)
        return {"op": name, "id": oid, "price": price, "qty": qty, "ts": ts}
    except (IndexError, KeyError, struct.error, UnicodeDecodeError) as e:
        raise ValueError(f"malformed book operation: {e}") from None


__all__ = [
    "FLAG_AFTER_GAP",
    "FLAG_CHECKPOINT",
    "HEADER_SIZE",
    "JOURNAL_MAGIC",
    "OP_KIND",
    "OP_NAMES",
    "HeaderSlot",
    "JournalInfo",
    "Problem",
    "choose_slot",
    "decode_op",
    "entry_size",
    "list_entries",
    "parse_slots",
    "scan_journal",
]
