"""The snapshot pipeline of one journaled book: shadow, snapshot, checkpoint, rotation and
journal compaction (what maintenance runs per symbol)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pinnacle._core import Journal, OrderBook, ShadowBook, snapshot_marker
from pinnacle._snapshot_format import SnapshotFile
from pinnacle.errors import JournalClosedError

if TYPE_CHECKING:  # snapshots re-exports this module's class
    from pinnacle.snapshots import SnapshotManager

_log = logging.getLogger("pinnacle.persistence")


class SnapshotPipeline:
    """The snapshot pipeline of one journaled book: its journal, a :class:`ShadowBook` fed
    from the journal *file* (so encoding a snapshot never takes the book's lock), and its
    :class:`SnapshotManager`. ``lock`` serialises snapshot and maintenance work on the
    symbol; trading threads never take it.
    """

    def __init__(
        self, book: OrderBook, journal: Journal, snapshots: SnapshotManager, snapshot_seq: int
    ) -> None:
        """Starts the shadow from ``book``'s current state, which must be exactly the
        journal's state up to ``journal.next_seq - 1``, then attaches ``journal`` to
        ``book`` so that every later change is journaled. ``snapshot_seq`` is the
        covered_seq of the newest snapshot (0 if none)."""
        self.journal = journal
        self.snapshots = snapshots
        self.snapshot_seq = snapshot_seq
        self.opened_seq = journal.next_seq
        self.lock = threading.Lock()
        self.after_snapshot: Callable[[], None] | None = None
        """Called after each snapshot (the audit log's store_head); a failure is logged,
        the snapshot stands."""
        self.shadow: ShadowBook | None = ShadowBook(book, journal, journal.next_seq)  # copies book
        book.attach_journal(journal)

    def catch_up(self) -> int:
        """Feeds the shadow the entries journaled since; returns the last seq applied."""
        if self.shadow is None:
            raise JournalClosedError(f"the snapshot pipeline of {self.snapshots.symbol!r} is closed")
        return self.shadow.catch_up()

    def take(self, keep: int) -> SnapshotFile:
        """Writes a snapshot of everything journaled so far, journals a checkpoint with its
        covered_seq, and rotates to ``keep`` snapshots. Call with ``lock`` held."""
        if self.shadow is None or self.journal.closed:
            raise JournalClosedError(f"the journal of {self.snapshots.symbol!r} is closed")
        data, covered = self.shadow.snapshot_bytes(time.time_ns())
        self.journal.flush()  # a snapshot never covers entries that are not durable
        f = self.snapshots.write(data)
        self.snapshot_seq = covered
        # Names the snapshot: its covered_seq and created_ns (docs/format.md).
        self.journal.checkpoint(snapshot_marker(covered, f.created_ns))
        _log.info(
            "Snapshot of %s covering seq %d written: %s (%d bytes)", f.symbol, covered, f.path, len(data)
        )
        self.snapshots.rotate(keep)
        if self.after_snapshot is not None:
            try:
                self.after_snapshot()
            except Exception:
                _log.exception("Storing the audit chain head after the snapshot of %s failed", f.symbol)
        return f

    def changed(self, *, since_opened: bool = False) -> bool:
        """True if a book op was journaled after the newest snapshot (and, with
        ``since_opened``, after this pipeline was opened: recovering alone changes
        nothing)."""
        start = max(self.snapshot_seq, self.opened_seq - 1 if since_opened else 0)
        if self.journal.next_seq - 1 <= start:
            return False
        return any(not e.is_checkpoint for e in self.journal.read(start + 1))

    def compact(self, keep: int, threshold: int) -> tuple[SnapshotFile | None, list[Path], int]:
        """Rotates snapshots; then, if the journal holds more than ``threshold`` entries,
        compacts it to (smallest covered_seq among the retained valid snapshots) + 1,
        taking a snapshot first if none is valid: an entry a retained snapshot still needs
        is never dropped. Returns (snapshot taken, snapshots removed, entries dropped).
        Call with ``lock`` held."""
        retained, removed = self.snapshots.rotate(keep)
        j, taken = self.journal, None
        if j.entry_count <= threshold:
            return None, removed, 0
        if not retained:
            taken = self.take(keep)
            retained, more = self.snapshots.rotate(keep)
            removed += more
        keep_from = min(s.covered_seq for s in retained) + 1
        if keep_from <= j.first_seq:
            return taken, removed, 0
        dropped = j.compact(keep_from)
        _log.info(
            "Compacted journal of %s: %d entries removed, %d kept (from seq %d)",
            self.snapshots.symbol,
            dropped,
            j.entry_count,
            keep_from,
        )
        return taken, removed, dropped

    def close(self, reason: str | None = None) -> None:
        """Flushes and closes the journal (recording ``reason``, see ``Journal.close``)
        and drops the shadow. Idempotent. Call with ``lock`` held; raises the first error
        after trying both."""
        if self.shadow is not None:
            self.shadow.close()
        self.shadow = None
        if self.journal.closed:
            return
        try:
            self.journal.flush()
        finally:
            self.journal.close(reason)


__all__ = ["SnapshotPipeline"]
