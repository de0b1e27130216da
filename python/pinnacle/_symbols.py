"""One open symbol of a PersistenceManager, and creating a new one on disk: its tick/lot
sidecar, then its journal, then its snapshot pipeline (in that order, so a symbol found
by its journal always has a grid)."""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from decimal import Decimal

from pinnacle._core import Journal, OrderBook
from pinnacle._pipeline import SnapshotPipeline
from pinnacle._snapshot_format import SUFFIX
from pinnacle.config import PersistenceConfig
from pinnacle.paths import DataLayout, SymbolMeta, write_atomic
from pinnacle.snapshots import SnapshotManager

_log = logging.getLogger("pinnacle.persistence")

GridValue = int | float | str | Decimal
"""A tick or lot size: exact as a str or Decimal (``"0.01"``); floats are read as written."""


@dataclass(eq=False)
class Managed:
    """One open symbol: its book, grid, and (when persistent) its snapshot pipeline."""

    book: OrderBook
    meta: SymbolMeta
    pipe: SnapshotPipeline | None = None


def on_disk(layout: DataLayout, symbol: str) -> bool:
    """True if the symbol has a journal or a snapshot: it is recovered, not created."""
    if layout.journal_path(symbol).exists():
        return True
    d = layout.snapshot_dir(symbol)
    return d.is_dir() and any(n.endswith(SUFFIX) for n in os.listdir(d))


def open_journal(layout: DataLayout, cfg: PersistenceConfig, symbol: str) -> Journal:
    """The symbol's journal, opened (created if absent) as ``cfg`` says."""
    return Journal(
        layout.journal_path(symbol),
        sync=cfg.journal_sync_mode,
        sync_interval_ms=cfg.journal_sync_interval_ms,
        initial_size=cfg.journal_initial_size,
        growth_step=cfg.journal_growth_step,
    )


def snapshot_manager(layout: DataLayout, symbol: str, meta: SymbolMeta) -> SnapshotManager:
    """The symbol's snapshot manager; it never recreates a data directory removed under it."""
    d = layout.snapshot_dir(symbol)
    return SnapshotManager(symbol, d, meta.tick_size, meta.lot_size, create_parents=False)


def create_symbol(
    layout: DataLayout, cfg: PersistenceConfig, symbol: str, tick_size: GridValue, lot_size: GridValue
) -> Managed:
    """A new symbol with an empty journaled book."""
    _log.info("Initializing persistence for %s", symbol)
    book = OrderBook(symbol, tick_size, lot_size)  # validates the grid before any write
    meta = SymbolMeta(symbol, book.tick_size, book.lot_size)
    meta_path = layout.meta_path(symbol)
    write_atomic(meta_path, meta.to_json())  # before the journal exists
    try:
        journal = open_journal(layout, cfg, symbol)
    except BaseException:
        # No journal, no symbol: take its grid back too. (A leftover one would be
        # harmless, as symbols are found by their journals and snapshots and creation
        # overwrites it.) Kept if the journal was created after all (a failed sync).
        if not layout.journal_path(symbol).exists():
            with contextlib.suppress(OSError):
                meta_path.unlink()
        raise
    try:
        snaps = snapshot_manager(layout, symbol, meta)
        snaps.bind_journal(journal.journal_id)
        return Managed(book, meta, SnapshotPipeline(book, journal, snaps, 0))
    except BaseException:
        journal.close()
        raise


__all__ = ["GridValue", "Managed", "create_symbol", "on_disk", "open_journal", "snapshot_manager"]
