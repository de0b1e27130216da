"""pinnacle's exceptions. Every error pinnacle raises derives from :class:`PinnacleError`.

Errors from the operating system are also :class:`OSError` (with ``errno`` set), and bad
arguments are also :class:`ValueError`, so code written for the standard library's
conventions keeps working.

Every error carries its structured fields as attributes, ``None`` where they do not
apply, so code never needs to parse a message: :attr:`PinnacleError.path`,
:attr:`~PinnacleError.offset` and :attr:`~PinnacleError.seq` on every error, plus
:attr:`CorruptionError.reason`, :attr:`EntriesCompactedError.first_seq` and
:attr:`ForkedHandleError.pid`; I/O errors also set ``errno`` and ``filename``.
"""

from __future__ import annotations


class PinnacleError(Exception):
    """Root of every error pinnacle raises.

    Attributes (``None`` where they do not apply):

    * ``path``: the file concerned (journal, snapshot...), as a str.
    * ``offset``: the byte offset in ``path`` of the bytes concerned.
    * ``seq``: the journal sequence number concerned (the entry that failed to replay,
      the first entry a reader wanted that was compacted away...).
    """

    path: str | None = None
    offset: int | None = None
    seq: int | None = None


class CorruptionError(PinnacleError):
    """Bytes on disk failed validation (checksum, length, sequence). The message names the
    file and the byte offset; ``path`` and ``offset`` hold them, and ``reason`` the
    message without them (for a journal; ``None`` for a replay or snapshot problem)."""

    reason: str | None = None


class UnsupportedFormatError(PinnacleError):
    """The file is a pinnacle file of a format version this build cannot read."""


class InvalidArgumentError(PinnacleError, ValueError):
    """A call's arguments are wrong. Nothing was written."""


class OrderBookError(InvalidArgumentError):
    """An order-book operation was refused (duplicate or unknown id, off-grid price or
    quantity, overfill, crossing modify...). The book is unchanged and nothing was
    journaled."""


class JournalClosedError(PinnacleError, ValueError):
    """The journal (or reader) was closed."""


class ForkedHandleError(JournalClosedError):
    """A handle (Journal, JournalReader, journaled OrderBook, ShadowBook,
    PersistenceManager) was used in a process other than the one that opened it: a child
    made by ``fork()`` (``multiprocessing``'s default start method on Linux before Python
    3.14, a daemonizing server). Handles do not cross a fork: in the child they are
    closed, so reopen what the child needs there. The parent's handles are unaffected.
    ``pid`` is the process that opened the handle, ``path`` its file (a
    PersistenceManager's: its data directory)."""

    pid: int | None = None


class EntriesCompactedError(PinnacleError):
    """Entries a reader had not seen yet were removed by compaction. ``seq`` is the first
    entry wanted, ``first_seq`` the journal's first entry now, ``path`` the journal."""

    first_seq: int | None = None


class PinnacleIOError(PinnacleError, OSError):
    """A system call failed; ``errno`` says why and ``filename`` (also ``path``) names the
    file."""


class JournalPoisonedError(PinnacleIOError):
    """An earlier sync failed, so what was written since the last successful sync may not
    be durable. The handle refuses every further write; close it and reopen."""


class JournalLockedError(PinnacleIOError):
    """Another writer (this process or another) has the journal open."""


class ForeignSnapshotError(CorruptionError):
    """A valid snapshot of another journal (e.g. copied in from another data directory):
    its recorded journal identity is not this journal's. Recovery skips it."""


class MetaChecksumError(CorruptionError):
    """A tick/lot sidecar (``journals/SYMBOL.meta.json``) whose content does not match its
    ``crc32`` (it was changed or damaged): its grid cannot be trusted. ``path`` names it."""


class GridMismatchError(CorruptionError):
    """A snapshot of this journal records another tick/lot size than the sidecar: one of
    them was changed, and prices would be rescaled. Recovery refuses."""


class MissingDependencyError(PinnacleError, ImportError):
    """An optional part of pinnacle needs a package that is not installed; the message
    names it and the extra that brings it (``pip install 'pinnacle[security]'``)."""


class SecurityError(PinnacleError):
    """Root of the security layer's errors (:mod:`pinnacle.security`)."""


class VaultError(SecurityError):
    """A credential vault could not be opened or changed: wrong password, a file that
    was modified, truncated or written by a newer pinnacle, a vault changed by another
    process. ``path`` names the vault. Nothing on disk was changed."""


class CredentialNotFoundError(VaultError, KeyError):
    """The vault holds no credentials under that name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class BackupError(SecurityError):
    """An encrypted backup could not be created, decrypted, checked or restored: wrong
    passphrase or key, a damaged or incomplete file, no consistent copy. ``path`` names
    the file or directory concerned."""


class AuditError(SecurityError):
    """The audit journal could not be opened or written (its last record fails its MAC:
    wrong key or a tampered tail). ``path`` names the journal."""


class LedgerError(PinnacleError, ValueError):
    """A ledger operation was refused (unknown or duplicate client id, fill on an unknown
    or closed order, overfill, non-positive quantity, submit while halted, bad enum value,
    wrong type...). The ledger is unchanged and nothing was journaled. ``code`` names the
    problem for programs: ``unknown_order``, ``duplicate_order``, ``order_closed``,
    ``overfill``, ``invalid_quantity``, ``invalid_value``, ``invalid_type``, ``halted``,
    ``overflow``."""

    code: str | None = None


__all__ = [
    "AuditError",
    "BackupError",
    "CorruptionError",
    "CredentialNotFoundError",
    "EntriesCompactedError",
    "ForeignSnapshotError",
    "ForkedHandleError",
    "GridMismatchError",
    "InvalidArgumentError",
    "JournalClosedError",
    "JournalLockedError",
    "JournalPoisonedError",
    "LedgerError",
    "MetaChecksumError",
    "MissingDependencyError",
    "OrderBookError",
    "PinnacleError",
    "PinnacleIOError",
    "SecurityError",
    "UnsupportedFormatError",
    "VaultError",
]
