"""CredentialVault: exchange credentials encrypted at rest (AES-256-GCM, Argon2id key).

The file format is in ``_vault_format``. Every change rewrites the whole file with
:func:`pinnacle.paths.write_atomic` (temporary file, fsync, rename, directory fsync): a
crash leaves the old vault or the new one. Writes are serialised across processes by an
``flock`` on ``.NAME.lock`` beside the vault, and a write is refused if the file changed
since this handle last read or wrote it (another process's change is never overwritten).
"""

from __future__ import annotations

import fcntl
import hmac
import json
import logging
import os
import re
import stat
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pinnacle.errors import CredentialNotFoundError, InvalidArgumentError, VaultError
from pinnacle.paths import fsync_dir, make_private_dir, write_atomic
from pinnacle.security import _events
from pinnacle.security import _vault_format as fmt
from pinnacle.security._vault_format import KdfParams
from pinnacle.security.secret import Credentials, Secret

if TYPE_CHECKING:
    from pinnacle.security.audit import AuditLog

_log = logging.getLogger("pinnacle.security")
_NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_FIELD_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")


def _password_bytes(password: object, what: str = "password") -> bytes:
    if not isinstance(password, str) or not password:
        raise InvalidArgumentError(f"the {what} must be a non-empty str")
    return password.encode("utf-8")


def _fail(path: Path, msg: str) -> VaultError:
    e = VaultError(f"{path}: {msg}")
    e.path = str(path)
    return e


class CredentialVault:
    """Named credentials (``api_key``, ``api_secret``, ``passphrase``...) encrypted in one
    file. Open it with :meth:`create` or :meth:`open`; :meth:`close` (or ``with``) wipes
    the decrypted values it holds and those of every :class:`Credentials` :meth:`get`
    returned (their ``reveal()`` then raises VaultError). Thread-safe."""

    _path: Path
    _key: bytearray
    _kdf: KdfParams
    _salt: bytes
    _raw: bytes
    _mutex: threading.RLock
    _closed: bool
    _entries: dict[str, dict[str, Secret]]
    _issued: list[weakref.ref[Secret]]
    """Every Secret get() handed out (Secret is unhashable: no WeakSet); dead refs are
    pruned when the list doubles, so get() stays amortised O(1)."""
    _issued_live: int
    _audit_key: bytearray
    _audit_head: dict[str, Any] | None
    _audit: AuditLog | None

    def __init__(self, *_a: object, **_k: object) -> None:
        raise TypeError("use CredentialVault.create(path, password) or CredentialVault.open(path, password)")

    @classmethod
    def _new(
        cls, path: Path, key: bytes, kdf: KdfParams, salt: bytes, doc: dict[str, Any], raw: bytes
    ) -> CredentialVault:
        self = object.__new__(cls)
        self._path = path
        self._key = bytearray(key)
        self._kdf = kdf
        self._salt = salt
        self._raw = raw
        self._mutex = threading.RLock()
        self._closed = False
        self._entries = {
            name: {f: Secret(v) for f, v in fields.items()} for name, fields in doc["entries"].items()
        }
        self._issued = []
        self._issued_live = 0
        self._audit_key = bytearray(bytes.fromhex(doc["audit_key"]))
        self._audit_head = doc.get("audit_head")
        self._audit = None
        return self

    # ------------------------------------------------------------------ opening
    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        password: str,
        *,
        kdf: KdfParams | None = None,
        audit: AuditLog | None = None,
    ) -> CredentialVault:
        """Creates an empty vault at ``path`` (refused if the file exists). Missing parent
        directories are created with mode 0700; the file is 0600. ``kdf`` overrides the
        Argon2id costs (lower them only in tests). ``audit`` receives ``vault.create`` and
        every later event (see :meth:`attach_audit`)."""
        p = Path(os.fspath(path))
        pw = _password_bytes(password)
        kdf = kdf if kdf is not None else KdfParams()
        if not isinstance(kdf, KdfParams):
            raise InvalidArgumentError(f"kdf must be a KdfParams, not {type(kdf).__name__}")
        if not p.parent.exists():
            make_private_dir(p.parent)
        elif (mode := stat.S_IMODE(os.stat(p.parent).st_mode)) & 0o077:
            _log.warning("%s has mode %o: a vault's directory should be private (chmod 700)", p.parent, mode)
        salt = fmt.new_salt()
        key = fmt.derive_key(pw, salt, kdf)
        doc = {"format": fmt.DOC_FORMAT, "entries": {}, "audit_key": os.urandom(32).hex(), "audit_head": None}
        audit = _events.check_audit(audit)
        vault = cls._new(p, key, kdf, salt, doc, b"")
        with vault._write_lock():
            if p.exists():
                raise _fail(p, "a file already exists there; open it, or remove it first")
            vault._store(expect_absent=True)
        _log.info("created credential vault %s", p)
        vault._audit = audit
        vault._event("vault.create", {})
        return vault

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], password: str, *, audit: AuditLog | None = None
    ) -> CredentialVault:
        """Opens the vault at ``path``. Raises VaultError for a wrong password or a file
        that was modified, truncated or written by a newer pinnacle; never writes.
        ``audit`` (keyed from a key file: the vault's own audit key is not readable
        before it is open) records the unlock, failed or not; see :meth:`attach_audit`."""
        p = Path(os.fspath(path))
        pw = _password_bytes(password)
        audit = _events.check_audit(audit)
        try:
            raw = p.read_bytes()
        except FileNotFoundError:
            raise _fail(p, "no vault there (create one with 'pinnacle vault init')") from None
        except OSError as e:
            raise _fail(p, f"cannot read the vault: {e.strerror or e}") from None
        try:
            header = fmt.parse_header(raw, str(p))
            key = fmt.derive_key(pw, header.salt, header.kdf)
            doc = fmt.parse_doc(fmt.unseal(key, header, raw, str(p)))
        except VaultError as e:
            _log.warning("credential vault %s: unlock failed", p)
            _events.record(
                audit, "vault.unlock", {"vault": str(p), "result": "failed", "error": str(e)}, "vault"
            )
            raise
        except ValueError as e:  # authenticated but malformed: written by a broken writer
            raise _fail(p, f"the decrypted document is malformed: {e}") from None
        if stat.S_IMODE(os.stat(p).st_mode) & 0o077:
            _log.warning("%s is readable by group or others: chmod 600 it", p)
        _log.info("opened credential vault %s", p)
        vault = cls._new(p, key, header.kdf, header.salt, doc, raw)
        if audit is not None:
            vault.attach_audit(audit)
        return vault

    def attach_audit(self, audit: AuditLog) -> None:
        """Records this vault's events in ``audit`` from now on (``vault.unlock`` now,
        then ``vault.read``, ``vault.set``, ``vault.delete``, ``vault.passwd``: names and
        field names only, never a value)."""
        from pinnacle.security.audit import AuditLog

        if not isinstance(audit, AuditLog):
            raise InvalidArgumentError(f"audit must be an AuditLog, not {type(audit).__name__}")
        with self._mutex:
            self._check_open()
            self._audit = audit
        self._event("vault.unlock", {"result": "ok"})

    def _event(self, event: str, detail: dict[str, Any]) -> None:
        _events.record(self._audit, event, {"vault": str(self._path), **detail}, "vault")

    # ------------------------------------------------------------------ reading
    @property
    def path(self) -> Path:
        """The vault file."""
        return self._path

    @property
    def kdf(self) -> KdfParams:
        """The Argon2id costs of this file."""
        return self._kdf

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def names(self) -> list[str]:
        """The names of the stored credentials, sorted."""
        with self._mutex:
            self._check_open()
            return sorted(self._entries)

    def get(self, name: str) -> Credentials:
        """The credentials stored under ``name`` (values wrapped in :class:`Secret`);
        CredentialNotFoundError if there are none."""
        with self._mutex:
            self._check_open()
            fields = self._entries.get(_check_name(name))
            if fields is None:
                e = CredentialNotFoundError(f"{self._path}: no credentials named {name!r}")
                e.path = str(self._path)
                raise e
            creds = Credentials(name, {f: Secret(s.reveal()) for f, s in fields.items()})
            self._issued += [weakref.ref(s) for s in creds.values()]
            if len(self._issued) > 2 * self._issued_live + 64:
                self._issued = [r for r in self._issued if r() is not None]
                self._issued_live = len(self._issued)
        self._event("vault.read", {"name": name, "fields": sorted(creds)})
        return creds

    def __contains__(self, name: object) -> bool:
        with self._mutex:
            return isinstance(name, str) and name in self._entries

    # ------------------------------------------------------------------ changing
    def set(self, name: str, **fields: str | Secret | None) -> None:
        """Stores (replacing) the credentials ``name``: each keyword is a field, e.g.
        ``api_key=..., api_secret=...``; a None field is left out. Durable on return."""
        _check_name(name)
        if not fields:
            raise InvalidArgumentError("give at least one field, e.g. api_key=...")
        new: dict[str, Secret] = {}
        for f, v in fields.items():
            if not _FIELD_RE.fullmatch(f):
                raise InvalidArgumentError(f"invalid field name {f!r}: use [a-z][a-z0-9_]{{0,31}}")
            if v is None:
                continue
            new[f] = Secret(v.reveal()) if isinstance(v, Secret) else Secret(v)
        if not new:
            raise InvalidArgumentError("every field is None: nothing to store")
        with self._mutex, self._write_lock():
            self._check_open()
            old = self._entries.get(name)
            self._entries[name] = new
            try:
                self._store()
            except BaseException:
                if old is None:
                    del self._entries[name]
                else:
                    self._entries[name] = old
                raise
        _log.info("credential vault %s: stored %r", self._path, name)
        self._event("vault.set", {"name": name, "fields": sorted(new)})

    def delete(self, name: str) -> None:
        """Removes the credentials ``name``; CredentialNotFoundError if there are none."""
        _check_name(name)
        with self._mutex, self._write_lock():
            self._check_open()
            old = self._entries.pop(name, None)
            if old is None:
                e = CredentialNotFoundError(f"{self._path}: no credentials named {name!r}")
                e.path = str(self._path)
                raise e
            try:
                self._store()
            except BaseException:
                self._entries[name] = old
                raise
        for s in old.values():
            s.wipe()
        _log.info("credential vault %s: deleted %r", self._path, name)
        self._event("vault.delete", {"name": name})

    def change_password(self, old: str, new: str, *, kdf: KdfParams | None = None) -> None:
        """Re-encrypts the vault under ``new`` with a fresh salt (and ``kdf``'s costs if
        given). ``old`` must be the current password (VaultError otherwise)."""
        old_pw, new_pw = _password_bytes(old, "old password"), _password_bytes(new, "new password")
        if kdf is not None and not isinstance(kdf, KdfParams):
            raise InvalidArgumentError(f"kdf must be a KdfParams, not {type(kdf).__name__}")
        # Events are recorded outside the write lock: recording may store the audit chain
        # head in this vault, which takes the lock again.
        with self._mutex, self._write_lock():
            self._check_open()
            refused = not hmac.compare_digest(fmt.derive_key(old_pw, self._salt, self._kdf), bytes(self._key))
            if not refused:
                prev = self._change_key(new_pw, kdf)
        if refused:
            _log.warning("credential vault %s: password change refused (wrong old password)", self._path)
            self._event("vault.passwd", {"result": "refused: wrong old password"})
            raise _fail(self._path, "the old password is wrong; nothing was changed")
        _wipe(prev)
        _log.info("credential vault %s: password changed", self._path)
        self._event("vault.passwd", {"result": "ok"})

    def _change_key(self, new_pw: bytes, kdf: KdfParams | None) -> bytearray:
        """Stores the vault under a key from ``new_pw`` and a fresh salt; returns the old
        key (to wipe). Call with the write lock held."""
        prev = (self._key, self._salt, self._kdf)
        self._kdf = kdf if kdf is not None else self._kdf
        self._salt = fmt.new_salt()
        self._key = bytearray(fmt.derive_key(new_pw, self._salt, self._kdf))
        try:
            self._store()
        except BaseException:
            self._key, self._salt, self._kdf = prev
            raise
        return prev[0]

    # ------------------------------------------------------------------ audit support
    def audit_key(self) -> bytes:
        """The vault's random 32-byte key for the audit journal's MACs."""
        with self._mutex:
            self._check_open()
            return bytes(self._audit_key)

    def audit_head(self) -> dict[str, Any] | None:
        """The audit chain head last stored with :meth:`set_audit_head`, or None."""
        with self._mutex:
            self._check_open()
            return dict(self._audit_head) if self._audit_head is not None else None

    def set_audit_head(self, head: dict[str, Any]) -> None:
        """Stores the audit chain head (``{"n": ..., "mac": ...}``), durably."""
        if (
            not isinstance(head, dict)
            or not isinstance(head.get("n"), int)
            or not isinstance(head.get("mac"), str)
        ):
            raise InvalidArgumentError("head must be a dict with an int 'n' and a str 'mac'")
        with self._mutex, self._write_lock():
            self._check_open()
            prev, self._audit_head = self._audit_head, dict(head)
            try:
                self._store()
            except BaseException:
                self._audit_head = prev
                raise

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        """Wipes the key, every decrypted value this handle holds and the values of the
        Credentials :meth:`get` returned that are still alive. Idempotent."""
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            for fields in self._entries.values():
                for s in fields.values():
                    s.wipe()
            self._entries.clear()
            for ref in self._issued:
                if (issued := ref()) is not None:
                    issued._wipe_closed(str(self._path))
            self._issued.clear()
            _wipe(self._key)
            _wipe(self._audit_key)

    def __enter__(self) -> CredentialVault:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if getattr(self, "_closed", True) else f"{len(self._entries)} entries"
        return f"CredentialVault({str(getattr(self, '_path', '?'))!r}, {state})"

    def __reduce__(self) -> Any:
        raise TypeError("a CredentialVault cannot be pickled")

    # ------------------------------------------------------------------ internals
    def _check_open(self) -> None:
        if self._closed:
            raise _fail(self._path, "this vault handle was closed")

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        """An exclusive flock on ``.NAME.lock`` for a read-check-write cycle; removes the
        temporary files that interrupted writes of this vault left behind."""
        lock_path = self._path.with_name(f".{self._path.name}.lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            prefix = f".{self._path.name}.tmp-"
            stray = [n for n in os.listdir(self._path.parent) if n.startswith(prefix)]
            for n in stray:
                try:
                    os.unlink(self._path.parent / n)
                except FileNotFoundError:
                    pass
            if stray:
                fsync_dir(self._path.parent)
            yield
        finally:
            os.close(fd)

    def _store(self, *, expect_absent: bool = False) -> None:
        """Encrypts the current state under a fresh nonce and replaces the file. Call
        with the write lock held. Refused if the file is not what this handle last saw."""
        if not expect_absent:
            try:
                current = self._path.read_bytes()
            except FileNotFoundError:
                current = None
            if current is None or not hmac.compare_digest(current, self._raw):
                raise _fail(
                    self._path,
                    "the vault file was changed or removed by someone else since this handle read it; "
                    "reopen it (nothing was written)",
                )
        doc = {
            "format": fmt.DOC_FORMAT,
            "entries": {n: {f: s.reveal() for f, s in fs.items()} for n, fs in self._entries.items()},
            "audit_key": self._audit_key.hex(),
            "audit_head": self._audit_head,
        }
        data = fmt.seal(bytes(self._key), self._kdf, self._salt, json.dumps(doc).encode("utf-8"))
        write_atomic(self._path, data)
        self._raw = data


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidArgumentError(f"invalid credential name {name!r}: use 1 to 64 of A-Z a-z 0-9 . _ -")
    return name


def _wipe(buf: bytearray) -> None:
    buf[:] = bytes(len(buf))


__all__ = ["CredentialVault", "KdfParams"]
