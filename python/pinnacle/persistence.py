"""PersistenceManager: journals, snapshots, recovery and maintenance of order books.

Every journaled book writes each change to ``DATA/journals/SYMBOL.journal`` before
applying it. Snapshots are encoded from a per-symbol :class:`~pinnacle.ShadowBook` fed from
the journal file, so taking one never pauses trading; after each snapshot a checkpoint
entry carrying its ``covered_seq`` is journaled. Recovery loads the newest valid snapshot
(ordered by ``covered_seq``, never by a clock) and replays the journal entries after it;
it writes nothing, so restarting does not grow the journal.

The manager orchestrates; each concern is its own module: creating a symbol
(``_symbols``), recovering one (``_recovery``), a maintenance pass (``_maintenance``),
the per-symbol snapshot pipeline (``_pipeline``), the snapshot files (``snapshots``,
``_snapshot_format``), and what is released at shutdown (``_lifecycle``).

Logging goes to the ``pinnacle.persistence`` logger; the library installs no handler
except a NullHandler on ``pinnacle``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pinnacle._core import Journal, OrderBook, canonical_grid
from pinnacle._ledger import LEDGER_NAME, open_ledger, snapshot_dir
from pinnacle._ledger import on_disk as ledger_on_disk
from pinnacle._ledger_upkeep import LedgerUpkeep
from pinnacle._lifecycle import Resources, maintenance_loop
from pinnacle._maintenance import MaintenanceReport, maintain
from pinnacle._recovery import RecoveryInfo, recover_symbol
from pinnacle._symbols import GridValue, Managed, create_symbol, on_disk
from pinnacle.config import PersistenceConfig
from pinnacle.errors import ForkedHandleError, InvalidArgumentError, JournalClosedError
from pinnacle.ledger import Ledger
from pinnacle.paths import (
    DataDirectoryLockedError,
    DataLayout,
    DirectoryLock,
    SymbolMeta,
    as_pinnacle_io,
    validate_symbol,
)
from pinnacle.security import _events as audit_events
from pinnacle.snapshots import SnapshotFile, SnapshotManager

if TYPE_CHECKING:
    from pinnacle.security import AuditLog

_log = logging.getLogger("pinnacle.persistence")
logging.getLogger("pinnacle").addHandler(logging.NullHandler())


class PersistenceManager:
    """Owns a persistence directory: the journaled order books of every symbol, their
    snapshots, recovery, and a background maintenance thread.

    ``config`` is a :class:`~pinnacle.PersistenceConfig` or the ``"persistence"`` JSON
    object as a mapping (camelCase keys, validated as :meth:`from_config_file` does).
    ``data_dir`` overrides ``config.data_directory``; a relative path is resolved against
    the current working directory once, here. With ``config.enabled`` false, books are
    in-memory only and nothing at all is written. Otherwise the directory is created (mode
    0700) and locked (failing that — read-only mount, a file in the way — with a
    :class:`~pinnacle.PinnacleIOError`): a second manager on it, in any process, gets
    :class:`~pinnacle.DataDirectoryLockedError`. ``maintenance=False`` starts no thread
    (call :meth:`perform_maintenance` and :meth:`snapshot` yourself).

    The maintenance thread wakes every min(1 s, snapshot interval): it feeds each shadow
    book and compacts journals over ``compaction_threshold``; every ``snapshot_interval_min``
    it snapshots each book changed since its last snapshot (idle books are left alone, so
    an idle journal does not grow) and rotates. It logs every error and keeps going.

    Thread-safe: any thread may call any method; books have their own locks. Call
    :meth:`shutdown` (or use the manager as a context manager) to release everything.

    A manager does not cross a fork: in a child process every method raises
    :class:`~pinnacle.ForkedHandleError` (checked before any lock, which a thread absent
    from the child may hold), and :meth:`shutdown` there releases nothing of the
    parent's. The child's copies of the directory lock and journal descriptors are closed
    at the fork, so a live child never keeps the parent from reopening the directory.

    ``audit`` (a :class:`pinnacle.security.AuditLog`, owned by the caller) receives the
    security events: ``persistence.open`` (and ``config.change`` when the configuration
    differs from the previous open's), ``datadir.lock_refused``, ``recovery.run`` with
    its result and ``recovery.repair``; each snapshot of a book stores the audit log's
    chain head (:meth:`~pinnacle.security.AuditLog.store_head`), so a tail of the audit
    log cut back past the newest snapshot is reported by its verify.

    A manager dropped without it is released when it is collected, and one still alive at
    interpreter exit has its journals flushed and closed then (both logged as a warning).

    If the directory's lock file is deleted or replaced under the manager (``rm -rf`` of
    the directory, another manager starting on a recreated one), it notices within a
    maintenance tick, at the latest at the next :meth:`snapshot` or :meth:`shutdown`:
    every journal is closed, so books refuse changes, the manager writes nothing more, and
    its calls raise :class:`~pinnacle.DataDirectoryLostError`.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        config: PersistenceConfig | Mapping[str, Any] | None = None,
        *,
        maintenance: bool = True,
        audit: AuditLog | None = None,
    ) -> None:
        """Opens (and locks) the persistence directory; see the class docstring."""
        self._audit = audit_events.check_audit(audit)
        if config is None:
            cfg = PersistenceConfig()
        elif isinstance(config, PersistenceConfig):
            cfg = config
        elif isinstance(config, Mapping):  # the "persistence" JSON object, camelCase keys
            cfg = PersistenceConfig.from_dict(config)
        else:
            raise InvalidArgumentError(
                "config must be a PersistenceConfig or a mapping of the JSON keys, "
                f"not {type(config).__name__}"
            )
        if data_dir is not None:
            d = os.fspath(data_dir) if isinstance(data_dir, (str, os.PathLike)) else None
            if not isinstance(d, str) or not d or "\0" in d:
                got = f"{d!r:.80}" if isinstance(d, str) else type(data_dir).__name__
                raise InvalidArgumentError(f"data_dir must be a non-empty str path without NUL, got {got}")
            cfg = dataclasses.replace(cfg, data_directory=d)
        self._config = cfg
        self._data_dir = cfg.data_path
        self._pid = os.getpid()
        # Shared with the maintenance thread and the finalizer, neither of which holds self.
        self._res = res = Resources(str(self._data_dir))
        self._lock = res.lock
        self._books: dict[str, Managed] = res.books
        self._recovered: dict[str, OrderBook] = {}
        self._last_recovery: dict[str, RecoveryInfo] = {}
        self._layout: DataLayout | None = None
        if not cfg.enabled:
            _log.info("Persistence disabled: order books are kept in memory only")
            return
        layout = DataLayout(self._data_dir)
        try:
            layout.create()
            dir_lock = DirectoryLock(layout.lock_file)
        except DataDirectoryLockedError as e:
            audit_events.lock_refused(self._audit, self._data_dir, e)
            raise
        except OSError as e:  # read-only mount, a file in the way, no permission...
            raise as_pinnacle_io(e, "open the persistence directory", self._data_dir) from e
        try:
            for p in layout.remove_stray_temps():
                _log.warning("Removed the temporary file of an interrupted write: %s", p)
        except BaseException as e:
            dir_lock.release()
            if isinstance(e, OSError):
                raise as_pinnacle_io(e, "clean up", self._data_dir) from e
            raise
        res.dir_lock = dir_lock
        self._layout = layout
        audit_events.opened(self._audit, self._data_dir, cfg.to_dict())
        weakref.finalize(self, res.finalize)  # also runs at interpreter exit
        if maintenance:
            res.thread = threading.Thread(
                target=maintenance_loop,
                args=(weakref.ref(self), res.stop, cfg.snapshot_interval_s),
                name="pinnacle-maintenance",
                daemon=True,
            )
            res.thread.start()

    @classmethod
    def from_config_file(
        cls, path: str | os.PathLike[str], *, maintenance: bool = True
    ) -> PersistenceManager:
        """A manager configured by the ``"persistence"`` object of a JSON file (see
        :class:`~pinnacle.PersistenceConfig`). ``dataDirectory`` is relative to the current
        working directory, not to the file."""
        return cls(None, PersistenceConfig.from_json_file(path), maintenance=maintenance)

    @property
    def config(self) -> PersistenceConfig:
        """The configuration in force."""
        return self._config

    @property
    def data_dir(self) -> Path:
        """The absolute persistence directory (not created when persistence is disabled)."""
        return self._data_dir

    @property
    def enabled(self) -> bool:
        """False when books are in-memory only."""
        return self._layout is not None

    @property
    def closed(self) -> bool:
        """True once :meth:`shutdown` completed (False while an interrupted one is not
        finished: call it again)."""
        return self._res.closed

    @property
    def symbols(self) -> list[str]:
        """The symbols with an open book, sorted."""
        self._check_process()
        with self._lock:
            return sorted(self._books)

    @property
    def last_recovery(self) -> dict[str, RecoveryInfo]:
        """Symbol -> how it was recovered, for every symbol recovered from disk (a copy);
        the ledger's under ``"@ledger"`` (a name no symbol can take), a
        :class:`~pinnacle._ledger.LedgerRecoveryInfo`."""
        self._check_process()
        with self._lock:
            return dict(self._last_recovery)

    # ----------------------------------------------------------------- recovery

    def recover_state(self) -> bool:
        """Recovers every symbol found on disk (newest valid snapshot + journal replay)
        that is not open yet, and the ledger (:attr:`ledger`) if its journal exists and it
        is not open yet; returns True if at least one was recovered.

        Every symbol that can be recovered is; then the first failure is raised (each is
        logged). A journal whose first entries were compacted away without a usable
        snapshot raises CorruptionError: partial state is never recovered silently. A
        tick/lot sidecar that is missing or fails its checksum is rebuilt from the grid a
        snapshot of the same journal records (a problem is reported), else CorruptionError;
        one that disagrees with such a snapshot raises CorruptionError (prices are never
        rescaled). Snapshots of another journal (copied from another directory) are skipped,
        with a problem.
        """
        self._check_process()
        with self._lock:
            self._require_open(check_lock=True)
            if self._layout is None:
                return False
            t0 = time.perf_counter()
            found, skipped = self._layout.symbols_on_disk()
            for name in skipped:
                _log.warning("Ignoring %r in %s: not a valid symbol name", name, self._layout.root)
            self._layout.check_case(found)
            recovered: list[str] = []
            errors: dict[str, Exception] = {}
            for s in sorted(found):
                if s in self._books or not on_disk(self._layout, s):
                    continue
                try:
                    m, self._last_recovery[s] = recover_symbol(self._layout, self._config, s)
                except Exception as e:
                    _log.error("Recovery of %s failed: %s", s, e)
                    errors[s] = e
                    continue
                self._books[s] = m
                self._bind_audit_head(m)
                self._recovered[s] = m.book
                recovered.append(s)
            if self._res.ledger is None and ledger_on_disk(self._layout):
                try:
                    self._open_ledger()
                    recovered.append(LEDGER_NAME)
                except Exception as e:
                    _log.error("Recovery of the ledger failed: %s", e)
                    errors[LEDGER_NAME] = e
            ms = (time.perf_counter() - t0) * 1e3
            audit_events.recovery(self._audit, self._layout.root, self._last_recovery, recovered, errors, ms)
            if errors:
                raise next(iter(errors.values()))
            if recovered:
                books = [s for s in recovered if s in self._books]
                orders = sum(self._books[s].book.order_count for s in books)
                _log.info("Recovered %d order books (%d orders) in %.1f ms", len(books), orders, ms)
            else:
                _log.info("No previous state to recover (clean start)")
            return bool(recovered)

    @property
    def ledger(self) -> Ledger:
        """The trading-state ledger (orders, fills, positions, balances, risk, config,
        strategies), journaled in ``journals/@ledger.journal`` with ``ledgerSyncMode``;
        recovered now if :meth:`recover_state` has not run. In-memory when persistence is
        disabled."""
        self._check_process()
        with self._lock:
            self._require_open(check_lock=self._res.ledger is None)
            if self._res.ledger is None:
                self._open_ledger()
            led: Ledger = self._res.ledger
            return led

    def snapshot_ledger(self) -> Path | None:
        """Snapshots the ledger now (``snapshots/@ledger/``, keeping ``keep_snapshots``);
        returns the file, or None when persistence is disabled."""
        _ = self.ledger  # opened (recovered) first
        upkeep: LedgerUpkeep | None = self._res.ledger_upkeep
        return None if upkeep is None else upkeep.snapshot(self._config.keep_snapshots)

    def _open_ledger(self) -> None:
        if self._layout is None:
            self._res.ledger = Ledger()
            return
        led, journal, info = open_ledger(self._layout, self._config)
        self._res.ledger, self._res.ledger_journal = led, journal
        self._res.ledger_upkeep = LedgerUpkeep(led, journal, snapshot_dir(self._layout))
        if info is not None:
            self._last_recovery[LEDGER_NAME] = info

    # -------------------------------------------------------------------- books

    def order_book(
        self,
        symbol: str,
        tick_size: GridValue | None = None,
        lot_size: GridValue | None = None,
    ) -> OrderBook:
        """The symbol's journaled book: the open one, the one recovered from disk (recovered
        now if :meth:`recover_state` has not run), or a new one (tick 0.01, lot 1 unless
        given; persisted in ``SYMBOL.meta.json``). A tick/lot size that differs from the
        persisted one raises InvalidArgumentError, as does a symbol that differs only in
        case from another."""
        self._check_process()
        symbol = validate_symbol(symbol)
        with self._lock:
            self._require_open()
            m = self._books.get(symbol)
            if m is None:
                self._require_open(check_lock=True)
                self._check_case(symbol)
                if self._layout is None:
                    book = OrderBook(symbol, _or(tick_size, "0.01"), _or(lot_size, "1"))
                    m = Managed(book, SymbolMeta(symbol, book.tick_size, book.lot_size))
                elif on_disk(self._layout, symbol):
                    m = self._recover_one(self._layout, symbol)
                else:
                    m = create_symbol(
                        self._layout, self._config, symbol, _or(tick_size, "0.01"), _or(lot_size, "1")
                    )
                self._books[symbol] = m
                self._bind_audit_head(m)
            tick, lot = canonical_grid(_or(tick_size, m.meta.tick_size), _or(lot_size, m.meta.lot_size))
            if (tick, lot) != (m.meta.tick_size, m.meta.lot_size):
                raise InvalidArgumentError(
                    f"{symbol}: tick_size={tick}, lot_size={lot} differ from the "
                    f"persisted tick_size={m.meta.tick_size}, lot_size={m.meta.lot_size}"
                )
            return m.book

    def _bind_audit_head(self, m: Managed) -> None:
        """Each snapshot stores the audit chain head (sidecar and vault): a tail cut back
        past it is reported by verify, so at most the records since the newest snapshot
        (or ``head_every``) could be cut unseen."""
        if m.pipe is not None and self._audit is not None:
            m.pipe.after_snapshot = self._audit.store_head

    def _recover_one(self, layout: DataLayout, symbol: str) -> Managed:
        """Recovers one symbol on first use (the caller holds the lock), audited."""
        t0 = time.perf_counter()
        try:
            m, self._last_recovery[symbol] = recover_symbol(layout, self._config, symbol)
        except Exception as e:
            ms = (time.perf_counter() - t0) * 1e3
            audit_events.recovery(self._audit, layout.root, {}, [], {symbol: e}, ms)
            raise
        self._recovered[symbol] = m.book
        ms = (time.perf_counter() - t0) * 1e3
        audit_events.recovery(self._audit, layout.root, self._last_recovery, [symbol], {}, ms)
        return m

    def _check_case(self, symbol: str) -> None:
        names = set(self._books) | (self._layout.symbols_on_disk()[0] if self._layout else set())
        for other in names:
            if other != symbol and other.lower() == symbol.lower():
                raise InvalidArgumentError(f"symbol {symbol!r} differs only in case from {other!r}")

    def get_recovered_order_book(self, symbol: str) -> OrderBook | None:
        """The book recovered from disk for ``symbol``, or None."""
        self._check_process()
        with self._lock:
            return self._recovered.get(validate_symbol(symbol))

    def get_all_recovered_order_books(self) -> dict[str, OrderBook]:
        """Symbol -> recovered book (a copy of the mapping; the books are the live ones)."""
        self._check_process()
        with self._lock:
            return dict(self._recovered)

    def has_recovered_order_books(self) -> bool:
        """True if any book was recovered (and not cleared)."""
        self._check_process()
        with self._lock:
            return bool(self._recovered)

    def clear_recovered_order_books(self) -> None:
        """Forgets which books were recovered. The books stay open and journaled:
        :meth:`order_book` still returns them."""
        self._check_process()
        with self._lock:
            self._recovered.clear()

    def get_journal(self, symbol: str) -> Journal | None:
        """The journal of an open symbol (None if not open or persistence is disabled).
        It belongs to the symbol's book: read, flush or inspect it, but ``append`` and
        ``append_many`` raise InvalidArgumentError (a foreign entry would make recovery
        fail), as does attaching another book to it."""
        self._check_process()
        with self._lock:
            m = self._books.get(validate_symbol(symbol))
            return m.pipe.journal if m and m.pipe else None

    def get_snapshot_manager(self, symbol: str) -> SnapshotManager | None:
        """The snapshot manager of an open symbol (None if not open or disabled)."""
        self._check_process()
        with self._lock:
            m = self._books.get(validate_symbol(symbol))
            return m.pipe.snapshots if m and m.pipe else None

    # ---------------------------------------------------------------- snapshots

    def snapshot(self, symbol: str) -> SnapshotFile | None:
        """Takes a snapshot of an open symbol now (without pausing its trading threads),
        journals a checkpoint, rotates old snapshots; returns the file (None when
        persistence is disabled)."""
        self._check_process()
        symbol = validate_symbol(symbol)
        with self._lock:
            self._require_open(check_lock=True)
            m = self._books.get(symbol)
            if m is None:
                raise InvalidArgumentError(f"symbol {symbol!r} has no open book: call order_book() first")
        if m.pipe is None:
            return None
        with m.pipe.lock:
            return m.pipe.take(self._config.keep_snapshots)

    def snapshot_all(self) -> dict[str, SnapshotFile]:
        """Snapshots every open book; raises the first failure after trying them all."""
        out: dict[str, SnapshotFile] = {}
        errors: list[Exception] = []
        for s in self.symbols:
            try:
                f = self.snapshot(s)
            except Exception as e:
                _log.exception("Snapshot of %s failed", s)
                errors.append(e)
                continue
            if f is not None:
                out[s] = f
        if errors:
            raise errors[0]
        return out

    # -------------------------------------------------------------- maintenance

    def perform_maintenance(self) -> MaintenanceReport:
        """Rotates every symbol's snapshots (keeping ``keep_snapshots`` valid ones) and
        compacts each journal holding more than ``compaction_threshold`` entries, to the
        oldest retained snapshot's ``covered_seq + 1`` (taking a snapshot first if there is
        none). Failures are logged and listed in the report."""
        self._check_process()
        with self._lock:
            self._require_open(check_lock=True)
        return self._maintain(periodic=False, rotate=True)

    def _maintain(self, *, periodic: bool, rotate: bool) -> MaintenanceReport:
        return maintain(self._res, self._config, periodic=periodic, rotate=rotate)

    # ----------------------------------------------------------------- shutdown

    def _check_process(self) -> None:
        if os.getpid() != self._pid:
            err = ForkedHandleError(
                f"this PersistenceManager ({self._data_dir}) was opened in process {self._pid}; "
                f"handles do not cross a fork: reopen it in this process ({os.getpid()}) with a new "
                "PersistenceManager"
            )
            err.pid, err.path = self._pid, str(self._data_dir)
            raise err

    def _require_open(self, *, check_lock: bool = False) -> None:
        """Raises JournalClosedError once shutdown began; with ``check_lock``,
        DataDirectoryLostError if the directory was lost (two system calls)."""
        if self._res.closing:
            more = "" if self._res.closed else " (interrupted: call shutdown() again to finish it)"
            raise JournalClosedError(f"the PersistenceManager was shut down{more}")
        if check_lock and (lost := self._res.check_lock()) is not None:
            raise lost

    def shutdown(self, *, snapshot: bool = True) -> None:
        """Stops the maintenance thread, snapshots every book this manager changed since
        its newest snapshot (unless ``snapshot`` is false; rotating to ``keep_snapshots``;
        a manager that only recovered writes nothing), flushes, syncs and closes every
        journal, and releases the directory. Books stay readable;
        changing a journaled book afterwards raises JournalClosedError.

        Idempotent, and every step runs even if an earlier one failed (the first error is
        raised at the end; a lost directory first). A shutdown interrupted by
        KeyboardInterrupt is finished by calling it again: :attr:`closed` stays False
        until then, and the manager accepts no new work meanwhile. In a forked child it
        releases nothing (the journals, lock and thread are the parent's) and returns."""
        if os.getpid() != self._pid:
            return
        errors = self._res.release(self._config.keep_snapshots if snapshot else None)
        if errors:
            raise errors[0]

    def __enter__(self) -> PersistenceManager:
        """Returns self; :meth:`shutdown` runs on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Shuts down."""
        self.shutdown()

    def __repr__(self) -> str:
        """A short description."""
        if os.getpid() != self._pid:
            return f"PersistenceManager({str(self._data_dir)!r}, opened in process {self._pid})"
        state = "closed" if self._res.closed else ("enabled" if self.enabled else "in-memory")
        return f"PersistenceManager({str(self._data_dir)!r}, {state}, symbols={self.symbols})"


def _or(v: GridValue | None, default: GridValue) -> GridValue:
    return default if v is None else v


__all__ = ["MaintenanceReport", "PersistenceManager", "RecoveryInfo"]
