"""AuditLog: a tamper-evident journal of security events.

Records (format in ``_audit_record``) are appended to a pinnacle :class:`~pinnacle.Journal`
with ``sync="always"``: :meth:`AuditLog.record` returns once the record is durable, so a
crash (kill -9, power loss) loses no record it acknowledged. Opening recovers the journal
like any other (a torn, unacknowledged tail is cut) and continues the chain from its last
record, which must pass its MAC under the given key.

The chain head is written to ``PATH.head`` (atomically, with :func:`pinnacle.paths.write_atomic`)
at the first record written while none is stored, every ``head_every`` records and at
:meth:`AuditLog.close`, and to the vault when one is given: a tail cut back past the last
stored head is reported by :meth:`AuditLog.verify`; records appended since the last stored
head could be cut without a trace. A log with records and no stored head at all (the
sidecar deleted, and no vault head) is reported too: a cut tail cannot be ruled out.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pinnacle._core import Journal, JournalReader
from pinnacle.errors import AuditError, InvalidArgumentError, PinnacleError
from pinnacle.paths import make_private_dir, write_atomic
from pinnacle.security._audit_record import (
    AUDIT_KIND,
    ZERO_MAC,
    Record,
    check_head,
    check_key,
    decode,
    encode_body,
    head_doc,
    mac_of,
)
from pinnacle.security._audit_verify import AuditProblem, AuditReport, verify_entries

if TYPE_CHECKING:
    from pinnacle.security.vault import CredentialVault

_log = logging.getLogger("pinnacle.security")


def head_path_for(path: Path) -> Path:
    """``PATH.head``: where the chain head of the audit journal ``path`` is stored."""
    return path.with_name(path.name + ".head")


def _fail(path: Path, msg: str) -> AuditError:
    e = AuditError(f"{path}: {msg}")
    e.path = str(path)
    return e


class AuditLog:
    """An append-only, MAC-chained log of security events at ``path`` (created, with its
    directory 0700, if missing). ``key`` (32+ bytes: ``CredentialVault.audit_key()`` or
    a key file's) authenticates every record. Thread-safe; one writer per file (a second
    one gets :class:`~pinnacle.JournalLockedError`)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        key: bytes,
        vault: CredentialVault | None = None,
        head_every: int = 64,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._key = check_key(key)
        if not isinstance(head_every, int) or isinstance(head_every, bool) or head_every < 1:
            raise InvalidArgumentError(f"head_every must be an int >= 1, got {head_every!r}")
        self._path = Path(os.fspath(path))
        self._head_path = head_path_for(self._path)
        self._vault = vault
        self._head_every = head_every
        self._clock = clock
        self._mutex = threading.Lock()
        if not self._path.parent.exists():
            make_private_dir(self._path.parent)
        self._journal = Journal(self._path, sync="always")
        try:
            self._next_n, self._last_mac = self._chain_tail()
        except BaseException:
            self._journal.close()
            raise
        self._since_head = 0
        # Invariant once record() returns: a head is stored (a missing one is a verify problem).
        self._head_stored = self._head_path.exists() or (vault is not None and vault.audit_head() is not None)
        self._last_seq = self._journal.last_seq if self._next_n else 0

    def _chain_tail(self) -> tuple[int, bytes]:
        if self._journal.entry_count == 0:
            return 0, ZERO_MAC
        last = next(iter(self._journal.read(self._journal.last_seq)))
        try:
            if last.kind != AUDIT_KIND:
                raise ValueError(f"its last entry (seq {last.seq}) has kind {last.kind}, not {AUDIT_KIND}")
            r = decode(last.seq, last.payload)
        except ValueError as e:
            raise _fail(self._path, f"not an audit journal: {e}") from None
        if mac_of(self._key, r.prev, r.body) != r.mac:
            raise _fail(
                self._path,
                f"its last record (n {r.n}, seq {r.seq}) fails its MAC: wrong key, or the journal was "
                "tampered with ('pinnacle audit verify' says where)",
            )
        return r.n + 1, r.mac

    @property
    def path(self) -> Path:
        """The audit journal."""
        return self._path

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._journal.closed

    def record(self, event: str, *, actor: str = "pinnacle", detail: dict[str, Any] | None = None) -> int:
        """Appends the event (``event``: 1-64 of ``a-z0-9._-``, e.g. ``vault.unlock``;
        ``actor``: who; ``detail``: a dict of JSON values, never a secret) and returns
        its record number once it is durable."""
        with self._mutex:
            n = self._next_n
            body = encode_body(n, int(self._clock()), event, actor, detail)
            mac = mac_of(self._key, self._last_mac, body)
            seq = self._journal.append(AUDIT_KIND, mac + self._last_mac + body)
            self._next_n, self._last_mac, self._last_seq = n + 1, mac, seq
            self._since_head += 1
            if self._since_head >= self._head_every or not self._head_stored:
                self._store_head_locked()
            return n

    def head(self) -> dict[str, Any] | None:
        """The chain head ``{"n", "mac", "seq", "hmac"}`` (None while empty): keep a copy
        elsewhere to detect a tail cut back past it."""
        with self._mutex:
            return self._head_locked()

    def _head_locked(self) -> dict[str, Any] | None:
        if self._next_n == 0:
            return None
        return head_doc(self._key, self._next_n - 1, self._last_mac, self._last_seq)

    def store_head(self) -> None:
        """Writes the chain head to ``PATH.head`` (and the vault, if given) now."""
        with self._mutex:
            self._store_head_locked()

    def _store_head_locked(self) -> None:
        head = self._head_locked()
        if head is None:
            return
        prefix = f".{self._head_path.name}.tmp-"
        for name in os.listdir(self._head_path.parent):  # an interrupted earlier write's
            if name.startswith(prefix):
                try:
                    os.unlink(self._head_path.parent / name)
                except FileNotFoundError:
                    pass
        write_atomic(self._head_path, (json.dumps(head) + "\n").encode())
        if self._vault is not None:
            self._vault.set_audit_head(head)
        self._since_head = 0
        self._head_stored = True

    def records(self, from_n: int = 0) -> Iterator[Record]:
        """The decoded records from number ``from_n`` on (not verified: see :meth:`verify`)."""
        for e in self._journal.read(0):
            if e.kind == AUDIT_KIND:
                r = decode(e.seq, e.payload)
                if r.n >= from_n:
                    yield r

    def verify(self) -> AuditReport:
        """Checks every record's MAC and the chain, and the tail against the stored heads."""
        with self._mutex:
            entries = [(e.seq, e.kind, e.payload) for e in self._journal.read(0)]
        return verify_entries(self._key, entries, stored_heads(self._key, self._path, self._vault))

    def close(self) -> None:
        """Stores the chain head and closes the journal. Idempotent."""
        with self._mutex:
            if self._journal.closed:
                return
            try:
                self._store_head_locked()
            finally:
                self._journal.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AuditLog({str(self._path)!r}, next record {self._next_n})"


def stored_heads(
    key: bytes, path: Path, vault: CredentialVault | None = None
) -> list[tuple[str, tuple[int, bytes, int]]]:
    """The chain heads stored for ``path`` (sidecar, vault) that pass their MAC. A head
    that fails it raises AuditError (it was modified, or belongs to another key)."""
    heads: list[tuple[str, tuple[int, bytes, int]]] = []
    sources: list[tuple[str, Any]] = []
    hp = head_path_for(path)
    try:
        sources.append((str(hp), json.loads(hp.read_text(encoding="utf-8"))))
    except FileNotFoundError:
        pass
    except ValueError as e:
        raise _fail(hp, f"the chain head file is not valid JSON: {e}") from None
    if vault is not None and (vh := vault.audit_head()) is not None:
        sources.append(("vault", vh))
    for where, doc in sources:
        try:
            heads.append((where, check_head(key, doc)))
        except ValueError as e:
            raise _fail(path, f"the {where} chain head is not usable: {e}") from None
    return heads


def verify_file(
    path: str | os.PathLike[str], *, key: bytes, vault: CredentialVault | None = None
) -> AuditReport:
    """Verifies the audit journal at ``path`` without opening it for writing (a running
    writer may hold it): read-only, never repairs; takes at least 0.3 s. Damage to the
    journal file itself (a failed CRC followed by valid entries) is reported as a
    ``journal`` problem; a torn tail a crash left (never acknowledged) is not a problem."""
    key = check_key(key)
    p = Path(os.fspath(path))
    if not p.is_file():
        raise _fail(p, "no audit journal there")
    entries: list[tuple[int, int, bytes]] = []
    damage: AuditProblem | None = None
    try:
        with JournalReader(p, 0) as reader:
            # After the last complete entry, wait past the reader's stall check (200 ms):
            # bytes that are not a valid entry but are followed by valid ones are damage
            # (an error), unlike a torn tail a crash left (nothing valid after it).
            waited = False
            while True:
                batch = reader.poll(4096)
                if not batch and not waited:
                    waited, batch = True, reader.wait(0.3, 4096)
                if not batch:
                    break
                entries += [(e.seq, e.kind, e.payload) for e in batch]
    except PinnacleError as e:
        damage = AuditProblem(
            "journal", f"the journal is damaged after {len(entries)} entries: {e}", seq=e.seq
        )
    report = verify_entries(key, entries, stored_heads(key, p, vault))
    if damage is not None:
        report.problems.insert(0, damage)
    if stat.S_IMODE(os.stat(p).st_mode) & 0o077:
        _log.warning("%s is accessible by group or others: chmod 600 it", p)
    return report


def follow(
    path: str | os.PathLike[str], from_seq: int = 0, timeout_s: float = 1.0
) -> Iterator[Record | None]:
    """Decoded records as they are appended (None after each quiet ``timeout_s``)."""
    with JournalReader(Path(os.fspath(path)), from_seq) as reader:
        while True:
            batch = reader.wait(timeout_s)
            if not batch:
                yield None
            for e in batch:
                if e.kind == AUDIT_KIND:
                    yield decode(e.seq, e.payload)
