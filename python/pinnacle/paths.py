"""The persistence directory: layout, symbol names, the directory lock, atomic files and
the per-symbol tick/lot sidecar.

Layout (directories 0700, files 0600)::

    DATA/.lock                               exclusive flock while a PersistenceManager runs
    DATA/journals/SYMBOL.journal             the symbol's journal
    DATA/journals/SYMBOL.meta.json           its tick and lot size (the journal stores integers)
    DATA/snapshots/SYMBOL/SYMBOL-<ns>.snapshot   snapshots, <ns> = wall-clock creation time
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import stat
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from pinnacle import _core
from pinnacle.errors import CorruptionError, InvalidArgumentError, MetaChecksumError, PinnacleIOError

_log = logging.getLogger("pinnacle.persistence")

MAX_SYMBOL_LEN = 64
_SYMBOL_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
JOURNAL_SUFFIX = ".journal"
META_SUFFIX = ".meta.json"
META_FORMAT = 2
"""Format 2 carries a ``crc32``; format 1 (older pinnacle, no checksum) is still read."""


class DataDirectoryLockedError(PinnacleIOError):
    """Another PersistenceManager (in this process or another) holds the data directory."""


class DataDirectoryLostError(PinnacleIOError):
    """The data directory's lock file (or the directory) was deleted or replaced under a
    running PersistenceManager: what it writes may no longer reach the files recovery
    reads, and another manager may own the path now. The manager refuses every further
    write; shut it down and check the directory."""


def validate_symbol(symbol: object) -> str:
    """Returns ``symbol`` if it is safe as a file name, else raises InvalidArgumentError.

    A symbol is 1..64 characters of ``[A-Za-z0-9._-]`` not starting with a dot: no path
    separator, NUL, control character, ``.`` or ``..`` can reach the file system.
    """
    if not isinstance(symbol, str):
        raise InvalidArgumentError(f"symbol must be a str, not {type(symbol).__name__}")
    if not _SYMBOL_RE.fullmatch(symbol) or symbol.startswith("."):
        raise InvalidArgumentError(
            f"invalid symbol {symbol!r}: use 1 to {MAX_SYMBOL_LEN} characters of A-Z a-z 0-9 . _ -, "
            "not starting with a dot"
        )
    return symbol


def as_pinnacle_io(e: OSError, action: str, path: Path) -> PinnacleIOError:
    """``e`` as a :class:`PinnacleIOError` (errno kept, its file or else ``path`` named);
    an error that already is one is returned unchanged."""
    if isinstance(e, PinnacleIOError):
        return e
    where = e.filename if e.filename is not None else str(path)
    return PinnacleIOError(e.errno or errno.EIO, f"cannot {action} {where}: {e.strerror or e}", where)


def fsync_dir(directory: Path) -> None:
    """fsyncs a directory, making renames, creations and removals in it durable."""
    _core.fsync_dir(directory)


def make_private_dir(directory: Path, *, parents: bool = True) -> bool:
    """Creates ``directory`` (and missing parents unless ``parents`` is false: then a
    missing parent raises FileNotFoundError) with mode 0700, fsyncing each parent; returns
    True if it was created, False if it already existed as a directory."""
    if parents and not directory.parent.exists():
        make_private_dir(directory.parent)
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        if not directory.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory", str(directory)) from None
        return False
    fsync_dir(directory.parent)
    return True


def write_atomic(path: Path, data: bytes | bytearray | memoryview, mode: int = 0o600) -> None:
    """Writes ``data`` to ``path`` atomically and durably, through the core's one
    atomic-file protocol (docs/format.md, "Files written whole").

    A new temporary file in the same directory (O_CREAT | O_EXCL, ``mode``, 0600 by
    default) receives all the bytes and is fsynced, then renamed over ``path``, then the
    directory is fsynced. A crash leaves either the old file or the new one, never a mix;
    every error is raised as :class:`PinnacleIOError` (an OSError with ``errno``) and the
    temporary file removed. This is the only way pinnacle writes a whole file."""
    _core.write_atomic(path, data, mode)


def remove_stray_temps(directory: Path) -> list[Path]:
    """Removes the temporary files that interrupted atomic writes left in ``directory``
    whose writing process is gone (a live one may still be writing); returns them."""
    return [Path(p) for p in _core.remove_stale_temps(directory)]


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is the name of an atomic write's temporary file."""
    return _core.is_temp_name(name)


class DirectoryLock:
    """An exclusive, non-blocking ``flock`` on ``DATA/.lock``, held until :meth:`release`.

    flock locks belong to the open file description, so a second lock attempt fails even
    from the same process. The lock file holds the owner's pid (for the error message
    only) and is never deleted.

    A forked child closes its copy of the descriptor right after the fork (it never
    unlocks: the description, and so the lock, stays the parent's), so a live child (a
    ``multiprocessing`` worker) does not keep the directory locked after the parent
    releases it. In the child the lock reads as not held. :meth:`lost` tells whether the
    path still names the file this lock holds (``rm -rf`` of the directory or a replaced
    lock file make it lie).
    """

    def __init__(self, path: Path) -> None:
        """Takes the lock or raises :class:`DataDirectoryLockedError`."""
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            owner = _read_owner(path)
            raise DataDirectoryLockedError(
                errno.EWOULDBLOCK,
                f"the persistence directory {path.parent} is in use by another PersistenceManager"
                f"{f' (pid {owner})' if owner else ''}; shut it down first",
                str(path),
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            st = os.fstat(fd)
        except OSError:
            os.close(fd)
            raise
        self._fd: int | None = fd
        _HELD.add(self)
        self._ident = (st.st_dev, st.st_ino)

    def lost(self) -> DataDirectoryLostError | None:
        """None while ``path`` still names the locked file; else the error saying what
        happened (deleted, replaced). A released lock is not lost."""
        fd = self._fd
        if fd is None:
            return None
        try:
            st = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        except OSError as e:
            return DataDirectoryLostError(
                e.errno, f"cannot check the lock file {self.path}: {e}", str(self.path)
            )
        if st is None:
            return DataDirectoryLostError(
                errno.ENOENT,
                f"the lock file {self.path} was deleted while this PersistenceManager ran (was the "
                "data directory removed?): its journals may no longer be the files recovery reads",
                str(self.path),
            )
        if (st.st_dev, st.st_ino) != self._ident:
            return DataDirectoryLostError(
                errno.ESTALE,
                f"the lock file {self.path} was replaced while this PersistenceManager ran (was the "
                "data directory removed and recreated, maybe by another manager?)",
                str(self.path),
            )
        return None

    @property
    def held(self) -> bool:
        """True until :meth:`release`."""
        return self._fd is not None

    def release(self) -> None:
        """Releases the lock. Idempotent."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the last descriptor releases the flock


_HELD: weakref.WeakSet[DirectoryLock] = weakref.WeakSet()


def _forget_inherited_locks() -> None:
    """After a fork, in the child: closes the child's copy of every held lock descriptor.
    Closing a duplicate never releases the parent's flock (no LOCK_UN is issued)."""
    for lock in list(_HELD):
        fd, lock._fd = lock._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_inherited_locks)


def _read_owner(path: Path) -> str:
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


@dataclass(frozen=True)
class SymbolMeta:
    """The sidecar ``SYMBOL.meta.json``: the grid that gives the journal's integer ticks
    and lots their meaning. Written atomically when the symbol's journal is created, with
    a ``crc32`` over its content; every snapshot also records the grid, so recovery can
    cross-check the two and repair a damaged sidecar."""

    symbol: str
    tick_size: str
    """Canonical decimal string, as ``OrderBook.tick_size`` returns it."""
    lot_size: str
    """Canonical decimal string, as ``OrderBook.lot_size`` returns it."""
    checksummed: bool = field(default=True, compare=False)
    """False for a format-1 sidecar (older pinnacle): its content could not be verified."""

    def to_json(self) -> bytes:
        """The sidecar file's bytes (encoded by the core: docs/format.md)."""
        return _core.encode_symbol_meta(self.symbol, self.tick_size, self.lot_size)

    @classmethod
    def read(cls, path: Path, symbol: str) -> SymbolMeta:
        """Reads and checks a sidecar (decoded by the core); raises CorruptionError if it
        is missing, malformed, belongs to another symbol or holds an invalid tick/lot size,
        and :class:`MetaChecksumError` if its content does not match its ``crc32``. A
        format-1 sidecar (no checksum) is accepted with a warning (``checksummed`` False).
        The sizes returned are canonical (``OrderBook.tick_size``)."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise CorruptionError(
                f"{path}: the tick/lot size sidecar of {symbol!r} is missing: the journal stores "
                "prices and quantities as integer ticks and lots, and cannot be interpreted without "
                "it. Restore it (recovery rebuilds it from a snapshot of this journal when there is one)"
            ) from None
        tick, lot, checksummed = _core.decode_symbol_meta(raw, symbol, path)
        if not checksummed:
            _log.warning(
                "%s is in format 1 (written by an older pinnacle) and has no checksum: its tick/lot "
                "size is checked only against the snapshots that record one",
                path,
            )
        return cls(symbol, tick, lot, checksummed=checksummed)


@dataclass(frozen=True)
class DataLayout:
    """Where each file of a persistence directory lives (see the module docstring)."""

    root: Path

    @property
    def journals(self) -> Path:
        """``DATA/journals``."""
        return self.root / "journals"

    @property
    def snapshots(self) -> Path:
        """``DATA/snapshots``."""
        return self.root / "snapshots"

    @property
    def lock_file(self) -> Path:
        """``DATA/.lock``."""
        return self.root / ".lock"

    def journal_path(self, symbol: str) -> Path:
        """``DATA/journals/SYMBOL.journal``."""
        return self.journals / f"{validate_symbol(symbol)}{JOURNAL_SUFFIX}"

    def meta_path(self, symbol: str) -> Path:
        """``DATA/journals/SYMBOL.meta.json``."""
        return self.journals / f"{validate_symbol(symbol)}{META_SUFFIX}"

    def snapshot_dir(self, symbol: str) -> Path:
        """``DATA/snapshots/SYMBOL``."""
        return self.snapshots / validate_symbol(symbol)

    def create(self) -> None:
        """Creates the root, ``journals/`` and ``snapshots/`` (mode 0700) if missing. An
        existing one that group or others may access is left as is, with a warning."""
        for d in (self.root, self.journals, self.snapshots):
            if not make_private_dir(d) and (mode := stat.S_IMODE(os.stat(d).st_mode)) & 0o077:
                _log.warning("%s has mode %o: recovery files should be private (chmod 700)", d, mode)

    def remove_stray_temps(self) -> list[Path]:
        """Removes the temporary files of interrupted atomic writes in ``journals/`` and
        every snapshot directory; returns them. Call only while holding the lock."""
        removed = remove_stray_temps(self.journals)
        for name in _listdir(self.snapshots):
            if not name.startswith(".") and (self.snapshots / name).is_dir():
                removed += remove_stray_temps(self.snapshots / name)
        return removed

    def check_case(self, symbols: set[str]) -> None:
        """Raises CorruptionError if two of ``symbols`` differ only in case (the layout
        must work on case-insensitive file systems)."""
        seen: dict[str, str] = {}
        for s in sorted(symbols):
            if (other := seen.setdefault(s.lower(), s)) != s:
                raise CorruptionError(
                    f"{self.root} holds symbols {other!r} and {s!r}, which differ only in case"
                )

    def symbols_on_disk(self) -> tuple[set[str], list[str]]:
        """Symbols with a journal or a snapshot directory, and the names skipped because
        they are not valid symbols (not pinnacle's files)."""
        found: set[str] = set()
        skipped: list[str] = []
        names = [n[: -len(JOURNAL_SUFFIX)] for n in _listdir(self.journals) if n.endswith(JOURNAL_SUFFIX)]
        names += [n for n in _listdir(self.snapshots) if (self.snapshots / n).is_dir()]
        for name in names:
            if name.startswith((".", "@")):
                continue  # hidden: temporary files; "@": reserved, no symbol (the ledger's journal)
            try:
                found.add(validate_symbol(name))
            except InvalidArgumentError:
                skipped.append(name)
        return found, skipped


def _listdir(directory: Path) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except FileNotFoundError:
        return []


__all__ = [
    "DataDirectoryLockedError",
    "DataDirectoryLostError",
    "DataLayout",
    "DirectoryLock",
    "MetaChecksumError",
    "SymbolMeta",
    "fsync_dir",
    "is_temp_name",
    "make_private_dir",
    "remove_stray_temps",
    "validate_symbol",
    "write_atomic",
]
