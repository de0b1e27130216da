"""pinnacle: crash-safe state for latency-sensitive trading code.

A Rust core writes a memory-mapped, CRC32-checksummed, append-only journal; this package
drives it from Python. See README.md and docs/ for the guarantees and the on-disk format.
"""

from __future__ import annotations

from pinnacle._core import Entry, Journal, JournalReader, RecoveryReport, __version__
from pinnacle._types import EntryArray
from pinnacle.errors import (
    CorruptionError,
    EntriesCompactedError,
    InvalidArgumentError,
    JournalClosedError,
    JournalLockedError,
    JournalPoisonedError,
    PinnacleError,
    PinnacleIOError,
    UnsupportedFormatError,
)

__all__ = [
    "CorruptionError",
    "EntriesCompactedError",
    "Entry",
    "EntryArray",
    "InvalidArgumentError",
    "Journal",
    "JournalClosedError",
    "JournalLockedError",
    "JournalPoisonedError",
    "JournalReader",
    "PinnacleError",
    "PinnacleIOError",
    "RecoveryReport",
    "UnsupportedFormatError",
    "__version__",
]
