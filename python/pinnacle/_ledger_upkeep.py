"""The ledger's share of maintenance: snapshots (periodic, explicit, at shutdown) and
journal compaction, serialized by one lock.

Compaction keeps every entry after the *oldest* retained snapshot (``covered_seq + 1``),
so each retained snapshot stays usable for recovery and ``state_at``; a journal over the
threshold without any snapshot gets one first. A snapshot is taken only when records were
journaled since the last one (an idle ledger writes nothing).
"""

from __future__ import annotations

import threading
from pathlib import Path

from pinnacle import _core
from pinnacle import _ledger_snapshots as snapshots
from pinnacle.ledger import Ledger


class LedgerUpkeep:
    def __init__(self, led: Ledger, journal: _core.Journal, directory: Path) -> None:
        self.led, self.journal, self.directory = led, journal, directory
        self.lock = threading.Lock()
        self._seen = journal.next_seq  # next_seq after the last snapshot (or at opening)

    def _changed(self) -> bool:
        return self.journal.next_seq != self._seen

    def _take(self, keep: int) -> Path:
        snap = snapshots.take(self.led._core, self.journal, self.directory, keep)
        self._seen = self.journal.next_seq
        return snap.path

    def snapshot(self, keep: int) -> Path:
        """A snapshot now."""
        with self.lock:
            return self._take(keep)

    def at_shutdown(self, keep: int) -> None:
        with self.lock:
            if not self.journal.closed and self._changed():
                self._take(keep)

    def maintain(self, periodic: bool, keep: int, threshold: int) -> tuple[Path | None, int]:
        """(the snapshot taken or None, journal entries compacted away)."""
        with self.lock:
            if self.journal.closed:
                return None, 0
            taken = self._take(keep) if periodic and self._changed() else None
            if self.journal.entry_count <= threshold:
                return taken, 0
            kept = snapshots.files(self.directory)
            if not kept:
                taken = self._take(keep)
                kept = snapshots.files(self.directory)
            keep_from = min(s.covered_seq for s in kept) + 1
            if keep_from <= self.journal.first_seq:
                return taken, 0
            return taken, self.journal.compact(keep_from)


__all__ = ["LedgerUpkeep"]
