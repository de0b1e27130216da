"""The snapshot file format as Python sees it: names, and the header fields peeked at to
order candidates and to judge a file before removing it.

A header is only peeked at; a snapshot is trusted only after ``OrderBook.from_snapshot``
(Rust) verified all of it (magic, version, CRC, every bound).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from pinnacle.errors import CorruptionError, UnsupportedFormatError

MAGIC = b"PNCLSNAP"
FORMAT_VERSION = 2
"""Written by this build; version 1 (no journal identity, no grid) is still read."""
_READ_VERSIONS = (1, 2)
SUFFIX = ".snapshot"
PEEK_BYTES = 18 + 64 + 16  # fixed header, longest symbol, covered_seq, created_ns


@dataclass(frozen=True)
class SnapshotFile:
    """A snapshot file and the ordering fields read from its header (not yet verified)."""

    path: Path
    symbol: str
    covered_seq: int
    """The last journal sequence number the snapshot includes."""
    created_ns: int
    """Wall-clock creation time (ns since the Unix epoch)."""

    @property
    def order_key(self) -> tuple[int, int, str]:
        """Candidates sort by this key: covered_seq, then created_ns (then name)."""
        return (self.covered_seq, self.created_ns, self.path.name)


def _at_header(e: CorruptionError) -> CorruptionError:
    e.offset = 0
    return e


def parse_header(data: bytes, where: str = "snapshot") -> tuple[str, int, int]:
    """(symbol, covered_seq, created_ns) from the start of a snapshot file.

    Raises CorruptionError if the bytes are not a snapshot header, UnsupportedFormatError
    for another format version. The fields are *not* verified (the CRC is at the end).
    """
    if len(data) < 18 or data[:8] != MAGIC:
        raise _at_header(CorruptionError(f"{where}: not a pinnacle snapshot (bad magic or too short)"))
    version, _flags, _hlen, slen = struct.unpack_from("<HHIH", data, 8)
    if version not in _READ_VERSIONS:
        raise UnsupportedFormatError(f"{where}: snapshot format version {version} (this build reads 1 and 2)")
    if not 1 <= slen <= 64 or len(data) < 34 + slen:
        raise _at_header(CorruptionError(f"{where}: truncated or malformed snapshot header"))
    try:
        symbol = data[18 : 18 + slen].decode("utf-8")
    except UnicodeDecodeError:
        raise CorruptionError(f"{where}: snapshot symbol is not UTF-8") from None
    covered, created = struct.unpack_from("<Qq", data, 18 + slen)
    return symbol, covered, created


def crc_holds(path: Path, size: int) -> bool:
    """True if the CRC32 in the last 4 of the ``size`` bytes of ``path`` matches the bytes
    before it (read in 1 MiB pieces: no copy of a large file, no mapping another process
    could truncate under us)."""
    if size < 8:
        return False
    crc, left = 0, size - 4
    buf = memoryview(bytearray(min(left, 1 << 20)))
    with open(path, "rb", buffering=0) as fh:
        while left:
            n = fh.readinto(buf[: min(left, len(buf))])
            if not n:
                return False  # shrank while read
            crc = zlib.crc32(buf[:n], crc)
            left -= n
        stored = fh.read(4)
    return len(stored) == 4 and crc == int.from_bytes(stored, "little")


def recorded_journal_id(path: Path) -> str | None:
    """The ``journal_id`` a version-2 snapshot header records (32 hex digits), or None
    (version 1, no identity, or too short to say). Not verified: the caller checks the CRC."""
    with open(path, "rb") as fh:
        data = fh.read(34 + 64 + 8 + 16)
    if len(data) < 18 or struct.unpack_from("<H", data, 8)[0] < 2:
        return None
    slen = struct.unpack_from("<H", data, 16)[0]
    raw = data[42 + slen : 58 + slen]
    ident = int.from_bytes(raw, "little") if len(raw) == 16 else 0
    return f"{ident:032x}" if ident else None


__all__ = ["FORMAT_VERSION", "MAGIC", "SUFFIX", "SnapshotFile", "parse_header"]
