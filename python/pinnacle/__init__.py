"""pinnacle: crash-safe state for latency-sensitive trading code.

A Rust core writes a memory-mapped, CRC32-checksummed, append-only journal; this package
drives it from Python. See README.md and docs/ for the guarantees and the on-disk format.
"""

from __future__ import annotations

from pinnacle._core import (
    Entry,
    Fill,
    Journal,
    JournalReader,
    Order,
    OrderBook,
    RecoveryReport,
    ShadowBook,
    SnapshotInfo,
    __version__,
)
from pinnacle._types import BookDepth, EntryArray, Side
from pinnacle.config import ConfigError, PersistenceConfig
from pinnacle.errors import (
    CorruptionError,
    EntriesCompactedError,
    ForkedHandleError,
    InvalidArgumentError,
    JournalClosedError,
    JournalLockedError,
    JournalPoisonedError,
    LedgerError,
    OrderBookError,
    PinnacleError,
    PinnacleIOError,
    UnsupportedFormatError,
)
from pinnacle.ledger import (
    Balance,
    Ledger,
    LedgerFill,
    LedgerOrder,
    Position,
    RiskState,
    StrategyState,
)
from pinnacle.paths import DataDirectoryLockedError, DataDirectoryLostError
from pinnacle.persistence import MaintenanceReport, PersistenceManager, RecoveryInfo
from pinnacle.snapshots import SnapshotFile, SnapshotManager

__all__ = [
    "Balance",
    "BookDepth",
    "ConfigError",
    "CorruptionError",
    "DataDirectoryLockedError",
    "DataDirectoryLostError",
    "EntriesCompactedError",
    "Entry",
    "EntryArray",
    "Fill",
    "ForkedHandleError",
    "InvalidArgumentError",
    "Journal",
    "JournalClosedError",
    "JournalLockedError",
    "JournalPoisonedError",
    "JournalReader",
    "Ledger",
    "LedgerError",
    "LedgerFill",
    "LedgerOrder",
    "MaintenanceReport",
    "Order",
    "OrderBook",
    "OrderBookError",
    "PersistenceConfig",
    "PersistenceManager",
    "PinnacleError",
    "PinnacleIOError",
    "Position",
    "RecoveryInfo",
    "RecoveryReport",
    "RiskState",
    "ShadowBook",
    "Side",
    "SnapshotFile",
    "SnapshotInfo",
    "SnapshotManager",
    "StrategyState",
    "UnsupportedFormatError",
    "__version__",
]
