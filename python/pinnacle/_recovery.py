"""Recovering one symbol from disk: which snapshot, what to replay, what to repair.

The decisions, in order: a symbol with snapshots but no journal is refused (the entries
after the newest snapshot are lost); a missing or damaged tick/lot sidecar is rebuilt from
the grid a snapshot of the same journal records, else refused; then
:meth:`SnapshotManager.restore` loads the newest usable snapshot (falling back past
damaged or foreign ones) and replays the journal after its ``covered_seq``. Every parse
is Rust's; nothing is journaled.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from pinnacle._core import Journal
from pinnacle._pipeline import SnapshotPipeline
from pinnacle._symbols import Managed, open_journal, snapshot_manager
from pinnacle.config import PersistenceConfig
from pinnacle.errors import CorruptionError
from pinnacle.paths import DataLayout, SymbolMeta, write_atomic
from pinnacle.snapshots import SnapshotManager

_log = logging.getLogger("pinnacle.persistence")


@dataclass(frozen=True)
class RecoveryInfo:
    """How one symbol was recovered (``PersistenceManager.last_recovery[symbol]``)."""

    symbol: str
    snapshot_file: Path | None
    """The snapshot loaded, or None (replayed from the journal's start)."""
    snapshot_covered_seq: int | None
    """The journal seq that snapshot covers (replay started after it)."""
    entries_replayed: int
    """Book operations applied from the journal (checkpoint entries not counted)."""
    orders: int
    """Orders in the recovered book."""
    duration_s: float
    journal_report: str
    """``Journal.recovery_report.summary()``: what opening the journal found and repaired."""
    problems: list[str] = field(default_factory=list)
    """Damaged or unusable snapshots skipped, repairs made (empty when all was clean)."""


def recover_symbol(layout: DataLayout, cfg: PersistenceConfig, symbol: str) -> tuple[Managed, RecoveryInfo]:
    """The symbol's book rebuilt from its snapshots and journal, and how."""
    t0 = time.perf_counter()
    _log.info("Initializing persistence for %s", symbol)
    if not layout.journal_path(symbol).exists():
        raise CorruptionError(
            f"{layout.journal_path(symbol)} is missing but snapshots of {symbol!r} exist: "
            "the entries after the newest snapshot are lost; refusing to recover partial state"
        )
    journal = open_journal(layout, cfg, symbol)
    try:
        meta, repaired = read_meta(layout, symbol, journal)
        snaps = snapshot_manager(layout, symbol, meta)
        r = snaps.restore(journal)
        r.problems[:0] = repaired
        m = Managed(r.book, meta, SnapshotPipeline(r.book, journal, snaps, r.covered_seq))
    except BaseException:
        journal.close()
        raise
    report = journal.recovery_report
    if not report.clean:
        r.problems.append(f"journal: {report.summary()}")
        _log.warning("Journal of %s was repaired: %s", symbol, report.summary())
    info = RecoveryInfo(
        symbol=symbol,
        snapshot_file=r.snapshot.file.path if r.snapshot else None,
        snapshot_covered_seq=r.covered_seq if r.snapshot else None,
        entries_replayed=r.replayed,
        orders=r.book.order_count,
        duration_s=time.perf_counter() - t0,
        journal_report=report.summary(),
        problems=r.problems,
    )
    _log.info(
        "Recovery completed successfully: %s, %d orders, %d journal entries replayed, %s in %.1f ms",
        symbol,
        info.orders,
        info.entries_replayed,
        f"snapshot {info.snapshot_file.name}" if info.snapshot_file else "no snapshot",
        info.duration_s * 1e3,
    )
    return m, info


def read_meta(layout: DataLayout, symbol: str, journal: Journal) -> tuple[SymbolMeta, list[str]]:
    """The symbol's tick/lot sidecar. One that is missing or fails its checks is rebuilt
    from the grid recorded in the newest valid snapshot of this journal (a problem is
    returned); without such a snapshot its error is raised."""
    path = layout.meta_path(symbol)
    try:
        return SymbolMeta.read(path, symbol), []
    except CorruptionError as e:
        probe = SnapshotManager(symbol, layout.snapshot_dir(symbol), "1", "1")
        probe.bind_journal(journal.journal_id)
        found = probe.recorded_grid()
        if found is None:
            raise
        tick, lot, source = found
        meta = SymbolMeta(symbol, tick, lot)
        write_atomic(path, meta.to_json())
        msg = f"{e}; rebuilt it from {source.name} (tick_size={tick}, lot_size={lot})"
        _log.warning("%s", msg)
        return meta, [msg]


__all__ = ["RecoveryInfo", "read_meta", "recover_symbol"]
