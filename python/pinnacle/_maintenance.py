"""One maintenance pass over a manager's symbols, and its report."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pinnacle._lifecycle import Resources
    from pinnacle.config import PersistenceConfig

_log = logging.getLogger("pinnacle.persistence")


@dataclass(frozen=True)
class MaintenanceReport:
    """What one maintenance pass did."""

    snapshots_taken: dict[str, Path] = field(default_factory=dict)
    journals_compacted: dict[str, int] = field(default_factory=dict)
    """Symbol -> journal entries removed by compaction."""
    snapshots_removed: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """One line per symbol whose maintenance failed (also logged with its traceback)."""

    def summary(self) -> str:
        """A one-line account."""
        removed = sum(self.journals_compacted.values())
        return (
            f"{len(self.snapshots_taken)} snapshots taken, {len(self.journals_compacted)} journals "
            f"compacted ({removed} entries removed), {len(self.snapshots_removed)} snapshots removed, "
            f"{len(self.errors)} errors"
        )


def maintain(res: Resources, cfg: PersistenceConfig, *, periodic: bool, rotate: bool) -> MaintenanceReport:
    """One pass over every open symbol: feed its shadow; with ``periodic``, snapshot it if it
    changed; rotate (with ``rotate``) and compact a journal over ``compaction_threshold``.
    A symbol's failure is logged and reported, and the pass goes on."""
    report = MaintenanceReport()
    with res.lock:
        if res.closing:
            return report
        pipes = res.pipes()
    if (lost := res.check_lock()) is not None:
        report.errors.append(f"{type(lost).__name__}: {lost}")
        return report
    for p in pipes:
        symbol = p.snapshots.symbol
        try:
            with p.lock:
                if p.shadow is None:
                    continue  # closed by shutdown
                p.catch_up()
                if periodic and p.changed():
                    report.snapshots_taken[symbol] = p.take(cfg.keep_snapshots).path
                if rotate or p.journal.entry_count > cfg.compaction_threshold:
                    taken, removed, dropped = p.compact(cfg.keep_snapshots, cfg.compaction_threshold)
                    if taken is not None:
                        report.snapshots_taken[symbol] = taken.path
                    report.snapshots_removed.extend(removed)
                    if dropped:
                        report.journals_compacted[symbol] = dropped
        except Exception as e:
            _log.exception("Maintenance of %s failed", symbol)
            report.errors.append(f"{symbol}: {type(e).__name__}: {e}")
    if (upkeep := res.ledger_upkeep) is not None:  # the trading-state ledger, "@ledger"
        try:
            taken, dropped = upkeep.maintain(periodic, cfg.keep_snapshots, cfg.compaction_threshold)
            if taken is not None:
                report.snapshots_taken["@ledger"] = taken
            if dropped:
                report.journals_compacted["@ledger"] = dropped
        except Exception as e:
            _log.exception("Maintenance of the ledger failed")
            report.errors.append(f"@ledger: {type(e).__name__}: {e}")
    if report.snapshots_taken or report.journals_compacted or report.snapshots_removed or report.errors:
        _log.info("Maintenance: %s", report.summary())
    return report


__all__ = ["MaintenanceReport", "maintain"]
