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
from pinnacle.errors import BackupError, CorruptionError, InvalidArgumentError
from pinnacle.paths import make_private_dir, write_atomic
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
    bytes_plain: int = 0


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


def _stage(data: Path, staging: Path) -> dict[str, int]:
    files = list(_walk(data))
    for rel, p in files:
        if not rel.endswith(".journal"):
            _copy(p, staging / rel)
    streams: dict[str, int] = {}
    for rel, p in files:
        if rel.endswith(".journal") and _copy(p, staging / rel):
            with Journal(staging / rel, recovery="point_in_time") as j:
                streams[rel] = j.last_seq
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
) -> BackupInfo:
    """Writes an encrypted backup of ``data_dir`` to ``out`` (module docstring). Refuses
    an existing ``out``."""
    _check_keys(passphrase, recipients)
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
        info = BackupInfo(time.time_ns(), str(data.resolve()), {}, streams)
        for rel, p in _walk(staging / "data"):
            body = p.read_bytes()
            info.files[rel] = {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
            info.bytes_plain += len(body)
        plain = _tar(staging / "data", info)
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


def _tar(root: Path, info: BackupInfo) -> bytes:
    buf = io.BytesIO()
    manifest = {
        "format": FORMAT,
        "created_ns": info.created_ns,
        "source": info.source,
        "streams": info.streams,
        "files": info.files,
    }
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
        for rel in info.files:
            _add(tar, f"data/{rel}", (root / rel).read_bytes())
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
    return _check_archive(p, plain)


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
    path: str | os.PathLike[str],
    new_dir: str | os.PathLike[str],
    *,
    passphrase: str | None = None,
    identities: Sequence[str] = (),
) -> BackupInfo:
    """Checks the backup, then writes its files into ``new_dir`` (which must not exist,
    or be empty): directories 0700, files 0600. Recovering ``new_dir`` then gives the
    state at each stream's recorded seq."""
    info, files = read_backup(path, passphrase=passphrase, identities=identities)
    dest = Path(os.fspath(new_dir))
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidArgumentError(f"{dest} exists and is not an empty directory")
    make_private_dir(dest)
    for rel, body in files.items():
        target = dest / rel
        make_private_dir(target.parent)
        write_atomic(target, body)
    _log.info("restored %s into %s (%d files)", path, dest, len(files))
    return info


__all__ = ["BackupError", "BackupInfo", "create_backup", "read_backup", "restore_backup"]
