"""What a PersistenceManager holds and how it lets go of it.

The manager's resources (books and their snapshot pipelines, the directory lock, the
maintenance thread) live in a :class:`Resources` object that never refers back to the
manager. The maintenance thread holds the manager only weakly, so dropping the last
reference to a manager releases it (``weakref.finalize``), and a manager still alive at
interpreter exit has its journals flushed, sealed and closed then.

Release is a chain of idempotent steps: stop the thread, snapshot what changed, close
every journal, unlock. The manager counts as closed only after the last step, and no
step is skipped by an earlier failure, so a shutdown interrupted anywhere (Ctrl-C) is
finished by calling it again, or by the finalizer.

Losing the directory (its lock file deleted or replaced under a running manager) closes
every journal at once: from then on books refuse changes, and the manager writes nothing
more, in particular no directory is recreated.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Protocol

from pinnacle.paths import DataDirectoryLostError, DirectoryLock

if TYPE_CHECKING:
    from pinnacle.snapshots import SnapshotPipeline

_log = logging.getLogger("pinnacle.persistence")

MAX_TICK_S = 1.0  # the maintenance thread wakes at least this often (catch-up, compaction check)


class Resources:
    """Everything a manager must release. ``lock`` guards ``books`` and the flags."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.pid = os.getpid()
        self.lock = threading.RLock()
        self.books: dict[str, Any] = {}
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.dir_lock: DirectoryLock | None = None
        self.closing = False
        """Shutdown began: no new work is accepted."""
        self.closed = False
        """Every release step completed."""
        self.lost: DataDirectoryLostError | None = None
        self.ledger: Any = None
        """The manager's ``pinnacle.Ledger`` once opened (``_ledger.open_ledger``)."""
        self.ledger_journal: Any = None
        self.ledger_upkeep: Any = None
        """The ledger's snapshots and compaction (``_ledger_upkeep.LedgerUpkeep``)."""

    def pipes(self) -> list[SnapshotPipeline]:
        with self.lock:
            return [m.pipe for m in self.books.values() if m.pipe is not None]

    def check_lock(self) -> DataDirectoryLostError | None:
        """The error if the directory was lost (deleted or replaced). The first time it is
        found, every journal is closed (logged as an error)."""
        if self.lost is None and self.dir_lock is not None and (err := self.dir_lock.lost()) is not None:
            with self.lock:
                first, self.lost = self.lost is None, self.lost or err
            if first:
                _log.error("%s. Every journal is closed: changes are refused from now on", err)
                # Errors expected (a sync into a deleted file fails): the one above says it.
                self.close_journals(f"the PersistenceManager lost its data directory: {err.strerror}")
        return self.lost

    def close_journals(self, reason: str | None = None) -> list[Exception]:
        """Flushes and closes every journal (idempotent); returns the errors, each logged
        unless a ``reason`` is given (see ``Journal.close``)."""
        errors: list[Exception] = []
        for p in self.pipes():
            with p.lock:
                try:
                    p.close(reason)
                except Exception as e:
                    if reason is None:
                        _log.exception("Closing the journal of %s failed", p.snapshots.symbol)
                    errors.append(e)
        if self.ledger_journal is not None:
            try:
                self.ledger_journal.close(reason)
            except Exception as e:
                if reason is None:
                    _log.exception("Closing the ledger journal failed")
                errors.append(e)
        return errors

    def snapshot_changed(self, keep: int) -> list[Exception]:
        """Snapshots each symbol with a book op journaled by this manager after its newest
        snapshot, rotating it to ``keep`` snapshots (a session that only recovered writes
        nothing); returns the errors, each logged."""
        errors: list[Exception] = []
        if self.ledger_upkeep is not None:
            try:
                self.ledger_upkeep.at_shutdown(keep)
            except Exception as e:
                _log.exception("Snapshot of the ledger at shutdown failed")
                errors.append(e)
        for p in self.pipes():
            with p.lock:
                if p.shadow is None or p.journal.closed:
                    continue
                try:
                    p.catch_up()
                    if p.changed(since_opened=True):
                        p.take(keep)  # rotates too
                except Exception as e:
                    _log.exception("Snapshot of %s at shutdown failed", p.snapshots.symbol)
                    errors.append(e)
        return errors

    def release(self, snapshot_keep: int | None) -> list[Exception]:
        """Runs every release step not done yet (see the module docstring); returns the
        errors met, a lost directory first. ``snapshot_keep`` None: no snapshot."""
        with self.lock:
            if self.closed:
                return []
            self.closing = True
        self.stop.set()
        t = self.thread
        if t is not None and t is not threading.current_thread():
            t.join()
        errors: list[Exception] = []
        lost = self.check_lock()
        if snapshot_keep is not None and lost is None:
            errors += self.snapshot_changed(snapshot_keep)
        errors += self.close_journals()
        if self.dir_lock is not None:
            self.dir_lock.release()  # closing our descriptor; a lost lock file is never touched
        with self.lock:
            first, self.closed = not self.closed, True
        if first:
            _log.info("Persistence shut down (%d books)", len(self.books))
        return ([lost] if lost is not None and first else []) + errors

    def finalize(self) -> None:
        """The manager was collected, or the interpreter exits with it alive: flush, seal
        and close its journals, unlock (no snapshot). Never raises. A forked child does
        nothing: the handles are its parent's."""
        if os.getpid() != self.pid or self.closed:
            return
        _log.warning("The PersistenceManager of %s was not shut down; releasing it", self.where)
        try:
            for e in self.release(None):
                _log.error("Releasing the PersistenceManager of %s: %s", self.where, e)
        except BaseException:
            _log.exception("Releasing the PersistenceManager of %s failed", self.where)


class _Maintainer(Protocol):
    def _maintain(self, *, periodic: bool, rotate: bool) -> object: ...


def maintenance_loop(manager: weakref.ref[_Maintainer], stop: threading.Event, interval: float) -> None:
    """The maintenance thread's body. Holds the manager only during a pass, so that the
    manager can be collected between passes; returns once ``stop`` is set or the manager
    is gone."""
    tick = min(MAX_TICK_S, interval) if interval > 0 else MAX_TICK_S
    next_snapshot = time.monotonic() + interval  # scheduling only; never orders snapshots
    while not stop.wait(tick):
        pm = manager()
        if pm is None:
            break
        try:
            periodic = interval > 0 and time.monotonic() >= next_snapshot
            if periodic:
                next_snapshot = time.monotonic() + interval
            pm._maintain(periodic=periodic, rotate=periodic)
        except Exception:
            _log.exception("Persistence maintenance failed; retrying in %.3f s", tick)
        del pm  # may run the finalizer, here: it does not join this thread
    _log.debug("Maintenance thread stopped")
