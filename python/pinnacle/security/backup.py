"""Encrypted backups of a persistence directory with age (the ``pyrage`` package).

``create_backup(DATA, OUT)`` copies the directory while a PersistenceManager keeps
trading (nothing is paused), into a private staging directory beside ``OUT``:

1. every file that is not a journal (snapshots, tick/lot sidecars, the vault, the audit
   chain head...), then
2. every ``*.journal``, byte for byte from an open descriptor (a compaction that renames
   a new file in meanwhile leaves the copied one whole). An append racing the copy can
   leave the copy's last entries torn: each staged journal is opened with
   ``recovery="point_in_time"``, which keeps the longest valid prefix, and that prefix's
   last sequence number is the stream's **recorded seq**. Snapshots were copied first, so
   none covers more than its journal's copy.
3. The staged directory is recovered once (a trial :class:`~pinnacle.PersistenceManager`
   recovery): a compaction between steps 1 and 2 that left a journal without a usable
   snapshot is retried (3 attempts) instead of producing a backup that cannot be restored.

The archive is a tar with ``manifest.json`` first (format, time, every file's size and
SHA-256, each journal's recorded seq), encrypted with age to a passphrase (scrypt) or to
X25519 recipients, and written with :func:`pinnacle.paths.write_atomic`: a crash leaves no
``OUT`` or a complete one. The archive is built in memory: a backup must fit in RAM.
With ``base=`` the backup is incremental (``_backup_incremental``).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import stat
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pinnacle._core import Journal
from pinnacle.errors import BackupError, CorruptionError, InvalidArgumentError, PinnacleError
from pinnacle.paths import make_private_dir, write_atomic
from pinnacle.security import _backup_incremental as inc
from pinnacle.security._deps import require

_log = logging.getLogger("pinnacle.security")
FORMAT = 1
MANIFEST = "manifest.json"
_SKIP = {".lock"}
_ATTEMPTS = 3


def _fail(path: Path, msg: str) -> BackupError:
    e = BackupError(f"{path}: {msg}")
    e.path = str(path)
    return e


@dataclass
class BackupInfo:
    """What a backup holds (its manifest) and what checking it found."""

    created_ns: int
    source: str
    files: dict[str, dict[str, Any]]
    streams: dict[str, int] = field(default_factory=dict)
    """Journal (relative path) -> recorded seq: the backup holds its entries up to it."""
    journal_ids: dict[str, str | None] = field(default_factory=dict)
    """Journal -> its identity (None for a format-1 journal)."""
    state: dict[str, str] = field(default_factory=dict)
    """Every non-journal file of the backed-up directory -> its SHA-256 (an incremental
    backup's archive holds only those that changed)."""
    kind: str = "full"
    """``full`` or ``incremental``."""
    base_sha256: str | None = None
    """An incremental backup's base: the SHA-256 of the base backup file."""
    deleted: list[str] = field(default_factory=list)
    """Files of the base that no longer exist (incremental)."""
    entries: dict[str, list[int]] = field(default_factory=dict)
    """Journal -> [first, last] seq held as entries after the base (incremental)."""
    bytes_plain: int = 0
    file_sha256: str = ""
    """The SHA-256 of the backup file itself (what a later increment names as its base)."""


def _walk(root: Path) -> Iterator[tuple[str, Path]]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            if name in _SKIP or ".tmp-" in name or not stat.S_ISREG(os.lstat(p).st_mode):
                continue
            yield rel, p


def _copy(src: Path, dst: Path) -> bool:
    """Copies from one open descriptor; False if ``src`` vanished (a rotated snapshot)."""
    try:
        fd = os.open(src, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    with os.fdopen(fd, "rb") as f:
        make_private_dir(dst.parent)
        out = os.open(dst, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o600)
        with os.fdopen(out, "wb") as g:
            shutil.copyfileobj(f, g, 1 << 20)
    return True


def _stage(data: Path, staging: Path) -> dict[str, tuple[int, int, str | None]]:
    """Copies ``data`` into ``staging``; journal -> (first seq, recorded seq, identity)."""
    files = list(_walk(data))
    for rel, p in files:
        if not rel.endswith(".journal"):
            _copy(p, staging / rel)
    streams: dict[str, tuple[int, int, str | None]] = {}
    for rel, p in files:
        if rel.endswith(".journal") and _copy(p, staging / rel):
            with Journal(staging / rel, recovery="point_in_time") as j:
                streams[rel] = (j.first_seq, j.last_seq, j.journal_id)
    return streams


def _trial_recovery(staging: Path) -> None:
    from pinnacle.persistence import PersistenceManager

    if not (staging / "journals").is_dir() and not (staging / "snapshots").is_dir():
        return
    with PersistenceManager(staging, maintenance=False) as pm:
        pm.recover_state()
        pm.shutdown(snapshot=False)
    (staging / ".lock").unlink(missing_ok=True)


def _encrypt(plain: bytes, passphrase: str | None, recipients: Sequence[str]) -> bytes:
    pyrage = require("pyrage", "pyrage")
    if passphrase is not None:
        out: bytes = pyrage.passphrase.encrypt(plain, passphrase)
        return out
    try:
        rs = [pyrage.x25519.Recipient.from_str(r) for r in recipients]
    except Exception as e:
        raise InvalidArgumentError(f"invalid age recipient: {e}") from None
    out = pyrage.encrypt(plain, rs)
    return out


def _check_keys(passphrase: object, recipients: object) -> None:
    if (passphrase is None) == (not recipients):
        raise InvalidArgumentError("give either a passphrase or X25519 recipients (age1...), not both")
    if passphrase is not None and (not isinstance(passphrase, str) or not passphrase):
        raise InvalidArgumentError("the backup passphrase must be a non-empty str")


def create_backup(
    data_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    passphrase: str | None = None,
    recipients: Sequence[str] = (),
    base: str | os.PathLike[str] | None = None,
    base_identities: Sequence[str] = (),
) -> BackupInfo:
    """Writes an encrypted backup of ``data_dir`` to ``out`` (module docstring). Refuses
    an existing ``out``. With ``base`` (an earlier backup of the same directory, read
    with ``passphrase`` or ``base_identities``) it is incremental: only what changed."""
    _check_keys(passphrase, recipients)
    prior: BackupInfo | None = None
    if base is not None:
        prior, _ = read_backup(base, passphrase=passphrase, identities=base_identities)
    data, dest = Path(os.fspath(data_dir)), Path(os.fspath(out))
    if not data.is_dir():
        raise InvalidArgumentError(f"{data}: not a directory")
    if dest.exists():
        raise _fail(dest, "exists; choose another name or remove it")
    if not dest.parent.is_dir():
        raise InvalidArgumentError(f"{dest.parent}: no such directory")
    _remove_dead_staging(dest)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.staging-{os.getpid()}-", dir=dest.parent))
    try:
        for attempt in range(1, _ATTEMPTS + 1):
            streams = _stage(data, staging / "data")
            try:
                _trial_recovery(staging / "data")
                break
            except CorruptionError as e:
                if attempt == _ATTEMPTS:
                    raise _fail(data, f"no consistent copy after {_ATTEMPTS} attempts: {e}") from None
                _log.warning("backup of %s: staged copy not recoverable (%s); copying again", data, e)
                shutil.rmtree(staging / "data")
        info, members = _contents(staging / "data", str(data.resolve()), streams, prior)
        plain = _tar(info, members)
        write_atomic(dest, _encrypt(plain, passphrase, recipients))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _log.info("backup of %s written to %s (%d files, streams %s)", data, dest, len(info.files), info.streams)
    return info


def _remove_dead_staging(dest: Path) -> None:
    """Removes the staging directories (plaintext copies) and temporary files that
    killed backups to ``dest`` left behind (those whose process is gone)."""
    for name in os.listdir(dest.parent):
        for prefix in (f".{dest.name}.staging-", f".{dest.name}.tmp-"):
            if name.startswith(prefix):
                pid = name[len(prefix) :].split("-", 1)[0]
                if pid.isdigit() and not _alive(int(pid)):
                    p = dest.parent / name
                    if p.is_dir():
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        p.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _contents(
    root: Path, source: str, streams: dict[str, tuple[int, int, str | None]], prior: BackupInfo | None
) -> tuple[BackupInfo, dict[str, bytes]]:
    """The manifest and the archive members of the staged directory ``root``: every
    file, or (``prior`` given) only what changed since that backup."""
    info = BackupInfo(time.time_ns(), source, {}, {r: s[1] for r, s in streams.items()})
    info.journal_ids = {r: s[2] for r, s in streams.items()}
    members: dict[str, bytes] = {}
    present: set[str] = set()
    for rel, p in _walk(root):
        present.add(rel)
        if rel in streams and prior is not None and rel in prior.streams:
            first, last, jid = streams[rel]
            b_seq = prior.streams[rel]
            if inc.can_continue(b_seq, prior.journal_ids.get(rel), jid, first, last):
                blob, _ = inc.encode_entries(p, b_seq + 1)
                members[rel + inc.ENTRIES_SUFFIX] = blob
                info.entries[rel] = [b_seq + 1, last]
                continue
        body = p.read_bytes()
        digest = hashlib.sha256(body).hexdigest()
        if rel not in streams:
            info.state[rel] = digest
            if prior is not None and prior.state.get(rel) == digest:
                continue
        members[rel] = body
    if prior is not None:
        info.kind, info.base_sha256 = "incremental", prior.file_sha256
        info.deleted = sorted((set(prior.state) | set(prior.streams)) - present)
    for rel, body in members.items():
        info.files[rel] = {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        info.bytes_plain += len(body)
    return info, members


def _tar(info: BackupInfo, members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    manifest = {
        "format": FORMAT,
        "kind": info.kind,
        "created_ns": info.created_ns,
        "source": info.source,
        "base_sha256": info.base_sha256,
        "streams": info.streams,
        "journal_ids": info.journal_ids,
        "state": info.state,
        "deleted": info.deleted,
        "entries": info.entries,
        "files": info.files,
    }
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
        for rel, body in members.items():
            _add(tar, f"data/{rel}", body)
    return buf.getvalue()


def _add(tar: tarfile.TarFile, name: str, body: bytes) -> None:
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime = len(body), 0o600, int(time.time())
    tar.addfile(ti, io.BytesIO(body))


def read_backup(
    path: str | os.PathLike[str], *, passphrase: str | None = None, identities: Sequence[str] = ()
) -> tuple[BackupInfo, dict[str, bytes]]:
    """Decrypts and checks the backup at ``path``: the manifest, every file's size and
    SHA-256, nothing missing or extra. BackupError on a wrong key or any damage."""
    if (passphrase is None) == (not identities):
        raise InvalidArgumentError("give either a passphrase or X25519 identities (AGE-SECRET-KEY-...)")
    p = Path(os.fspath(path))
    pyrage = require("pyrage", "pyrage")
    try:
        blob = p.read_bytes()
    except OSError as e:
        raise _fail(p, f"cannot read: {e.strerror or e}") from None
    try:
        if passphrase is not None:
            plain = pyrage.passphrase.decrypt(blob, passphrase)
        else:
            plain = pyrage.decrypt(blob, [pyrage.x25519.Identity.from_str(i) for i in identities])
    except Exception as e:  # pyrage's DecryptError / IdentityError
        raise _fail(
            p, f"cannot decrypt (wrong passphrase or key, or a damaged or incomplete file): {e}"
        ) from None
    info, files = _check_archive(p, plain)
    info.file_sha256 = hashlib.sha256(blob).hexdigest()
    return info, files


def _check_archive(p: Path, plain: bytes) -> tuple[BackupInfo, dict[str, bytes]]:
    try:
        with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as tar:
            members = tar.getmembers()
            if not members or members[0].name != MANIFEST:
                raise ValueError("the archive does not start with its manifest")
            contents: dict[str, bytes] = {}
            for m in members:
                f = tar.extractfile(m)
                if not m.isfile() or f is None or m.name in contents:
                    raise ValueError(f"unexpected member {m.name!r}")
                contents[m.name] = f.read()
        doc = json.loads(contents.pop(MANIFEST))
        if doc.get("format") != FORMAT:
            raise ValueError(f"manifest format {doc.get('format')!r}, this pinnacle reads {FORMAT}")
        info = BackupInfo(doc["created_ns"], doc["source"], doc["files"], doc["streams"])
        info.journal_ids, info.state, info.kind = doc["journal_ids"], doc["state"], doc["kind"]
        info.base_sha256, info.deleted, info.entries = doc["base_sha256"], doc["deleted"], doc["entries"]
        if info.kind not in ("full", "incremental") or (info.kind == "incremental") != bool(info.base_sha256):
            raise ValueError(f"inconsistent backup kind {info.kind!r}")
        files: dict[str, bytes] = {}
        for name, body in contents.items():
            rel = name.removeprefix("data/")
            want = info.files.get(rel)
            if not name.startswith("data/") or want is None or ".." in Path(rel).parts or rel.startswith("/"):
                raise ValueError(f"file {name!r} is not in the manifest")
            if len(body) != want["size"] or hashlib.sha256(body).hexdigest() != want["sha256"]:
                raise ValueError(f"{rel} does not match its manifest checksum")
            files[rel] = body
            info.bytes_plain += len(body)
        if missing := sorted(set(info.files) - set(files)):
            raise ValueError(f"files missing from the archive: {missing}")
    except (ValueError, KeyError, TypeError, tarfile.TarError) as e:
        raise _fail(p, f"not a valid pinnacle backup: {e}") from None
    return info, files


def restore_backup(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    new_dir: str | os.PathLike[str],
    *,
    passphrase: str | None = None,
    identities: Sequence[str] = (),
) -> BackupInfo:
    """Checks the backup, then writes its files into ``new_dir`` (which must not exist,
    or be empty): directories 0700, files 0600. ``path`` may be a chain: a full backup
    then its increments, in order (each must name the previous one as its base).
    Recovering ``new_dir`` then gives the state at each stream's recorded seq."""
    chain = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    if not chain:
        raise InvalidArgumentError("no backup given")
    dest = Path(os.fspath(new_dir))
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidArgumentError(f"{dest} exists and is not an empty directory")
    read = [read_backup(p, passphrase=passphrase, identities=identities) for p in chain]
    for k, (info, _) in enumerate(read):
        want = "full" if k == 0 else "incremental"
        if info.kind != want or (k and info.base_sha256 != read[k - 1][0].file_sha256):
            raise _fail(Path(os.fspath(chain[k])), f"is not the {want} backup that comes next in this chain")
    make_private_dir(dest)
    for p, (info, files) in zip(chain, read, strict=True):
        try:
            _apply(dest, info, files)
        except (ValueError, PinnacleError) as e:
            raise _fail(Path(os.fspath(p)), f"cannot be applied: {e}") from None
        _log.info("restored %s into %s (%d files)", p, dest, len(files))
    return read[-1][0]


def _apply(dest: Path, info: BackupInfo, files: dict[str, bytes]) -> None:
    for rel in info.deleted:
        (dest / rel).unlink(missing_ok=True)
    for rel, body in files.items():
        journal = rel.removesuffix(inc.ENTRIES_SUFFIX)
        if journal in info.entries and rel != journal:
            first, last = info.entries[journal]
            inc.apply_entries(dest / journal, body, first, last)
            continue
        make_private_dir((dest / rel).parent)
        write_atomic(dest / rel, body)


__all__ = ["BackupError", "BackupInfo", "create_backup", "read_backup", "restore_backup"]
