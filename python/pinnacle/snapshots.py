"""The snapshot files of one symbol: atomic writes, ordering, loading with fallback,
restore (snapshot + journal replay), rotation.

Snapshots live in ``DATA/snapshots/SYMBOL/SYMBOL-<wall-clock ns>.snapshot``. The name is
for people; pinnacle orders snapshots by the ``covered_seq`` (then ``created_ns``) stored in
their headers — the journal sequence number they cover, which never resets — so neither a
reboot nor a clock step can make a stale snapshot look like the latest. A header is only
peeked at to order candidates; a snapshot is trusted only after
``OrderBook.from_snapshot`` verified all of it (magic, version, CRC, every bound).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from pinnacle._core import Journal, OrderBook, SnapshotInfo, peek_snapshot_header, snapshot_checksum_ok
from pinnacle._maintenance import MaintenanceReport
from pinnacle._pipeline import SnapshotPipeline
from pinnacle._snapshot_format import SUFFIX, SnapshotFile
from pinnacle.errors import CorruptionError, ForeignSnapshotError, GridMismatchError, UnsupportedFormatError
from pinnacle.paths import fsync_dir, make_private_dir, remove_stray_temps, validate_symbol, write_atomic

_log = logging.getLogger("pinnacle.persistence")

_UNBOUND = object()


@dataclass(frozen=True)
class LoadedSnapshot:
    """A verified snapshot: the file, the book it holds and its metadata."""

    file: SnapshotFile
    book: OrderBook
    info: SnapshotInfo


def _reason(e: BaseException, path: Path) -> str:
    """Why ``path`` could not be read, without repeating its name."""
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e).replace(f"{path}: ", "").replace(str(path), "the file")


class SnapshotManager:
    """The snapshots of one symbol. Thread-safe; every method takes the manager's lock.

    ``tick_size``/``lot_size`` (canonical strings) give the stored integer ticks and lots
    their meaning when a snapshot is loaded.
    """

    def __init__(
        self, symbol: str, directory: Path, tick_size: str, lot_size: str, *, create_parents: bool = True
    ) -> None:
        """Manages ``directory`` (created with mode 0700 at the first write; its parents
        too unless ``create_parents`` is false: a PersistenceManager never recreates a data
        directory that was removed under it)."""
        self._symbol = validate_symbol(symbol)
        self._dir = Path(directory)
        self._create_parents = create_parents
        self._tick = tick_size
        self._lot = lot_size
        self._lock = threading.RLock()
        self._verified: dict[str, tuple[int, int]] = {}  # name -> (size, mtime_ns) known valid
        self._journal_id: object = _UNBOUND

    def bind_journal(self, journal_id: str | None) -> None:
        """From now on, :meth:`load` refuses a snapshot recording another journal identity
        than ``journal_id`` (the journal's ``Journal.journal_id``; None for a journal
        without one, which accepts only snapshots without one)."""
        with self._lock:
            if self._journal_id != journal_id:
                self._verified.clear()
            self._journal_id = journal_id

    @property
    def symbol(self) -> str:
        """The symbol whose snapshots these are."""
        return self._symbol

    @property
    def directory(self) -> Path:
        """``DATA/snapshots/SYMBOL``."""
        return self._dir

    def files(self) -> list[SnapshotFile]:
        """Snapshot files with a readable header, newest (highest covered_seq) first."""
        return self._scan()[0]

    def _scan(self) -> tuple[list[SnapshotFile], list[tuple[Path, Exception]]]:
        good: list[SnapshotFile] = []
        bad: list[tuple[Path, Exception]] = []
        prefix = f"{self._symbol}-"
        try:
            names = os.listdir(self._dir)
        except FileNotFoundError:
            return good, bad
        for name in names:
            stamp = name[len(prefix) : -len(SUFFIX)]
            if not (name.startswith(prefix) and name.endswith(SUFFIX) and stamp.isdigit()):
                continue
            path = self._dir / name
            try:
                h = peek_snapshot_header(path)
                if h.symbol != self._symbol:
                    raise CorruptionError(
                        f"{path}: snapshot of {h.symbol!r} in the directory of {self._symbol!r}"
                    )
            except (OSError, CorruptionError, UnsupportedFormatError) as e:
                bad.append((path, e))
                continue
            good.append(SnapshotFile(path, h.symbol, h.covered_seq, h.created_ns))
        good.sort(key=lambda s: s.order_key, reverse=True)
        return good, bad

    def write(self, data: bytes | memoryview) -> SnapshotFile:
        """Writes snapshot bytes (as ``snapshot_bytes`` returns them) atomically and
        durably: temp file (O_EXCL, 0600), write, fsync, rename, fsync the directory.

        ``data`` comes from pinnacle's encoder (whose round trip, truncation and bit-flip
        sweeps and fuzzing are tested): its header and CRC are checked here, so bytes
        damaged on the way are never written, and it is fully verified whenever it is
        loaded (a second full decode here would double the cost of a large snapshot). The
        name carries the header's ``created_ns`` (bumped by 1 ns while taken)."""
        h = peek_snapshot_header(data)
        symbol, covered, created = h.symbol, h.covered_seq, h.created_ns
        if symbol != self._symbol:
            raise CorruptionError(f"snapshot bytes of {symbol!r} given to the manager of {self._symbol!r}")
        if not snapshot_checksum_ok(data):
            raise CorruptionError(f"snapshot bytes of {symbol!r} fail their checksum: not written")
        with self._lock:
            make_private_dir(self._dir, parents=self._create_parents)
            stamp = created
            while (self._dir / f"{self._symbol}-{stamp}{SUFFIX}").exists():
                stamp += 1
            path = self._dir / f"{self._symbol}-{stamp}{SUFFIX}"
            write_atomic(path, data)
            st = path.stat()
            self._verified[path.name] = (st.st_size, st.st_mtime_ns)
        return SnapshotFile(path, symbol, covered, created)

    def load(self, file: SnapshotFile) -> LoadedSnapshot:
        """Reads and verifies one snapshot; raises CorruptionError (or
        UnsupportedFormatError, OSError) if it cannot be trusted:
        :class:`ForeignSnapshotError` if it records another journal's identity than the
        bound one (:meth:`bind_journal`), :class:`GridMismatchError` if it records another
        tick/lot size than this manager's. Snapshots written before identities existed
        (format 1, or of a journal without one) record neither and are accepted."""
        with self._lock:
            data = file.path.read_bytes()
            book, info = OrderBook.from_snapshot(data, self._tick, self._lot)
            if info.symbol != self._symbol or info.covered_seq != file.covered_seq:
                raise CorruptionError(f"{file.path}: snapshot header does not match its file")
            if info.journal_id is not None and self._journal_id is not _UNBOUND:
                if info.journal_id != self._journal_id:
                    raise ForeignSnapshotError(
                        f"{file.path} belongs to another journal (journal_id {info.journal_id}; "
                        f"this journal's is {self._journal_id}): copied from another data directory?"
                    )
            if info.tick_size is not None and (info.tick_size, info.lot_size) != (self._tick, self._lot):
                raise GridMismatchError(
                    f"{file.path} records tick_size={info.tick_size}, lot_size={info.lot_size} but the "
                    f"sidecar says tick_size={self._tick}, lot_size={self._lot}: one of them was changed; "
                    "refusing to rescale prices (restore the sidecar, or remove the snapshot if the "
                    "sidecar is right)"
                )
            st = os.stat(file.path)
            self._verified[file.path.name] = (st.st_size, st.st_mtime_ns)
            return LoadedSnapshot(file, book, info)

    def _is_intact(self, file: SnapshotFile) -> bool | None:
        """True if the file was verified (written or loaded here) and is unchanged since,
        or its checksum holds; False if it is damaged; None if it cannot be judged (I/O
        error). Decodes nothing: bytes that pass the CRC are the bytes pinnacle's encoder
        produced (its output is checked before it is written), and loading verifies them
        in full anyway."""
        try:
            st = os.stat(file.path)
            if self._verified.get(file.path.name) == (st.st_size, st.st_mtime_ns):
                return True
            ok = snapshot_checksum_ok(file.path)
            if ok and self._journal_id is not _UNBOUND:
                try:
                    recorded = peek_snapshot_header(file.path).journal_id
                except (CorruptionError, UnsupportedFormatError):
                    recorded = None  # its CRC holds: a header only a newer pinnacle reads
                if recorded is not None and recorded != self._journal_id:
                    return None  # intact, but another journal's: not ours to use or to remove
        except OSError:
            return None
        if ok:
            self._verified[file.path.name] = (st.st_size, st.st_mtime_ns)
        return ok

    def load_newest(self, first_seq: int, last_seq: int) -> tuple[LoadedSnapshot | None, list[str]]:
        """The newest valid snapshot usable with a journal holding ``first_seq..=last_seq``
        (``first_seq <= covered_seq + 1``: the entries after it still exist), and the
        problems met on the way (each also logged as a warning naming the file).

        A verified snapshot covering more than ``last_seq`` means the journal lost
        entries the snapshot depends on: CorruptionError.
        """
        problems: list[str] = []

        def problem(msg: str) -> None:
            problems.append(msg)
            _log.warning("%s", msg)

        with self._lock:
            files, bad = self._scan()
            for path, err in bad:
                problem(f"Skipping snapshot {path}: {err}")
            for i, f in enumerate(files):
                try:
                    loaded = self.load(f)
                except GridMismatchError:
                    raise
                except ForeignSnapshotError as e:
                    problem(f"Skipping snapshot {f.path}: {e}")
                    continue
                except (CorruptionError, UnsupportedFormatError, OSError) as e:
                    older = files[i + 1 :]
                    then = f"trying the previous one, {older[0].path.name}" if older else "no older snapshot"
                    problem(f"Snapshot {f.path} is damaged or unreadable ({_reason(e, f.path)}); {then}")
                    continue
                if f.covered_seq > last_seq:
                    raise CorruptionError(
                        f"{f.path} covers journal seq {f.covered_seq} but the journal of {self._symbol!r} "
                        f"ends at seq {last_seq}: the journal lost entries the snapshot depends on"
                    )
                if f.covered_seq + 1 < first_seq:
                    problem(
                        f"Snapshot {f.path} covers seq {f.covered_seq} but the journal starts at seq "
                        f"{first_seq}: the entries after it were compacted; it cannot be used"
                    )
                    continue
                return loaded, problems
        return None, problems

    def restore(self, journal: Journal) -> Restored:
        """Rebuilds the book: the newest usable snapshot (falling back past damaged ones),
        then the journal's book ops after its covered_seq (nothing is journaled). Without a
        usable snapshot the journal must start at seq 1, else CorruptionError."""
        first, last = journal.first_seq, journal.next_seq - 1
        self.bind_journal(journal.journal_id)
        loaded, problems = self.load_newest(first, last)
        if loaded is not None:
            book, covered = loaded.book, loaded.file.covered_seq
            f = loaded.file
            _log.info(
                "Loading latest snapshot from %d (covers seq %d): %s", f.created_ns, covered, f.path.name
            )
        elif first > 1:
            raise CorruptionError(
                f"{journal.path} starts at seq {first} (entries 1..{first - 1} were compacted) and no "
                f"usable snapshot of {self._symbol!r} covers them; refusing to recover partial state"
                + "".join(f"\n  {p}" for p in problems)
            )
        else:
            book, covered = OrderBook(self._symbol, self._tick, self._lot), 0
        replayed = book.replay_journal(journal, covered + 1)
        # Logged after the fact so the count is exact (checkpoint entries are not replayed).
        _log.info("Replaying %d journal entries", replayed)
        return Restored(book, loaded, covered, replayed, problems)

    def recorded_grid(self) -> tuple[str, str, Path] | None:
        """(tick_size, lot_size, file) recorded by the newest valid snapshot of the bound
        journal that records a grid, or None. Used to repair a damaged sidecar."""
        with self._lock:
            for f in self._scan()[0]:
                try:
                    _, info = OrderBook.from_snapshot(f.path.read_bytes(), "1", "1")
                except (CorruptionError, UnsupportedFormatError, OSError):
                    continue
                bound = self._journal_id is not _UNBOUND and info.journal_id == self._journal_id
                if info.tick_size is not None and info.lot_size is not None and bound:
                    return info.tick_size, info.lot_size, f.path
        return None

    def rotate(self, keep: int) -> tuple[list[SnapshotFile], list[Path]]:
        """Keeps the ``keep`` newest intact snapshots and removes every older one, and every
        damaged one met on the way (each logged). Returns (the retained snapshots, newest
        first, and the removed paths).

        Only headers order the files; of the files kept, each is checked once (see
        :meth:`_is_intact`: free for snapshots written or loaded by this manager, one CRC
        pass otherwise), so a damaged newest snapshot never pushes out the last intact
        ones. Files to delete are never read past their header. Files that cannot be
        judged (I/O error, newer format) stay."""
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        removed: list[Path] = []
        retained: list[SnapshotFile] = []
        with self._lock:
            files, bad = self._scan()
            damaged = [p for p, e in bad if isinstance(e, CorruptionError)]
            old: list[Path] = []
            for f in files:
                if len(retained) >= keep:
                    old.append(f.path)
                    continue
                intact = self._is_intact(f)
                if intact is False:
                    damaged.append(f.path)
                elif intact:
                    retained.append(f)
            for path in damaged + old:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    continue
                self._verified.pop(path.name, None)
                removed.append(path)
                if path in damaged:
                    _log.warning("Removed damaged snapshot %s", path)
            if removed:
                fsync_dir(self._dir)
        return retained, removed

    def remove_stray_temps(self) -> list[Path]:
        """Removes temporary files of interrupted writes (call while holding the data
        directory lock)."""
        with self._lock:
            removed = remove_stray_temps(self._dir)
        for p in removed:
            _log.warning("Removed the temporary file of an interrupted snapshot write: %s", p)
        return removed


@dataclass(frozen=True)
class Restored:
    """What :meth:`SnapshotManager.restore` rebuilt."""

    book: OrderBook
    snapshot: LoadedSnapshot | None
    covered_seq: int
    """The journal seq the snapshot covers (0 without a snapshot); replay started after it."""
    replayed: int
    """Book operations applied from the journal."""
    problems: list[str]


__all__ = [
    "SUFFIX",
    "ForeignSnapshotError",
    "GridMismatchError",
    "LoadedSnapshot",
    "MaintenanceReport",
    "Restored",
    "SnapshotFile",
    "SnapshotManager",
    "SnapshotPipeline",
]
