"""Snapshot files as Python sees them: their names, and the header fields peeked at to
order candidates.

Every byte of a snapshot is read in Rust: ``_core.peek_snapshot_header`` reads a header
(every field checked, not yet the CRC), ``_core.snapshot_checksum_ok`` checks the CRC
without building a book, and a snapshot is trusted only after ``OrderBook.from_snapshot``
verified all of it (magic, version, CRC, every bound).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SUFFIX = ".snapshot"


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


__all__ = ["SUFFIX", "SnapshotFile"]
