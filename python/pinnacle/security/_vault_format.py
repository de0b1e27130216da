"""The credential vault's file format (see docs/security.md).

::

    offset  size  field
    0       8     magic b"PNVAULT\\x00"
    8       2     format version, u16 LE (1)
    10      1     KDF id (2 = Argon2id, version 0x13)
    11      1     reserved, 0
    12      4     Argon2 memory cost, KiB, u32 LE
    16      4     Argon2 time cost (passes), u32 LE
    20      4     Argon2 parallelism (lanes), u32 LE
    24      16    salt (random, new for each file: created or password changed)
    40      12    AES-GCM nonce (random, new for each write)
    52      ...   AES-256-GCM ciphertext of the UTF-8 JSON document, then the 16-byte tag

The 52 header bytes are the associated data: a changed KDF parameter, salt or version
fails authentication like a changed ciphertext byte. The key is Argon2id(password, salt,
params) -> 32 bytes. Parameters read from a file are bounded before the KDF runs, so a
tampered header cannot make opening allocate more than MAX_MEMORY_KIB or run for long.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from typing import Any

from pinnacle.errors import InvalidArgumentError, VaultError
from pinnacle.security._deps import require

MAGIC = b"PNVAULT\x00"
VERSION = 1
KDF_ARGON2ID = 2
_HEADER = struct.Struct("<8sHBBIII16s12s")
HEADER_SIZE = _HEADER.size  # 52
TAG_SIZE = 16
SALT_SIZE = 16
NONCE_SIZE = 12
KEY_SIZE = 32
MAX_MEMORY_KIB = 1 << 20  # 1 GiB
MAX_TIME_COST = 64
MAX_PARALLELISM = 16
DOC_FORMAT = 1


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost parameters. The default (64 MiB, 2 passes, 2 lanes) took 0.35 to
    0.58 s on the 2-core AMD EPYC VM pinnacle is developed on (loaded by other builds);
    lower values are for tests only. A file records its own costs."""

    memory_kib: int = 64 * 1024
    time_cost: int = 2
    parallelism: int = 2

    def __post_init__(self) -> None:
        for name, lo, hi in (
            ("parallelism", 1, MAX_PARALLELISM),
            ("time_cost", 1, MAX_TIME_COST),
            ("memory_kib", 8 * self.parallelism if isinstance(self.parallelism, int) else 8, MAX_MEMORY_KIB),
        ):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                raise InvalidArgumentError(f"KdfParams.{name} must be an int in [{lo}, {hi}], got {v!r}")


@dataclass(frozen=True)
class Header:
    """A parsed header; ``raw`` is its 52 bytes (the associated data)."""

    kdf: KdfParams
    salt: bytes
    nonce: bytes
    raw: bytes


def derive_key(password: bytes, salt: bytes, kdf: KdfParams) -> bytes:
    """Argon2id(password, salt) with ``kdf``'s costs: a 32-byte key."""
    low = require("argon2.low_level", "argon2-cffi")
    key: bytes = low.hash_secret_raw(
        secret=password,
        salt=salt,
        time_cost=kdf.time_cost,
        memory_cost=kdf.memory_kib,
        parallelism=kdf.parallelism,
        hash_len=KEY_SIZE,
        type=low.Type.ID,
        version=0x13,
    )
    return key


def new_salt() -> bytes:
    """A fresh random salt."""
    return os.urandom(SALT_SIZE)


def parse_header(data: bytes, path: str) -> Header:
    """The header of the vault file ``data``; VaultError (naming ``path``) if it is not
    one this build reads. Nothing is authenticated yet: the caller decrypts next."""

    def fail(msg: str) -> VaultError:
        e = VaultError(f"{path}: {msg}")
        e.path = path
        return e

    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        raise fail("not a pinnacle credential vault (bad magic)")
    if len(data) < HEADER_SIZE + TAG_SIZE:
        raise fail(f"truncated vault: {len(data)} bytes, at least {HEADER_SIZE + TAG_SIZE} needed")
    _magic, version, kdf_id, reserved, mem, t, p, salt, nonce = _HEADER.unpack_from(data)
    if version > VERSION:
        raise fail(f"vault format {version} was written by a newer pinnacle (this one reads {VERSION})")
    if version != VERSION or kdf_id != KDF_ARGON2ID or reserved != 0:
        raise fail(f"unsupported vault header (format {version}, kdf {kdf_id}): the file is damaged")
    try:
        kdf = KdfParams(memory_kib=mem, time_cost=t, parallelism=p)
    except InvalidArgumentError as e:
        raise fail(f"implausible KDF parameters in the header ({e}): the file is damaged") from None
    return Header(kdf, salt, nonce, bytes(data[:HEADER_SIZE]))


def seal(key: bytes, kdf: KdfParams, salt: bytes, plaintext: bytes) -> bytes:
    """The whole vault file for ``plaintext``, under a fresh random nonce."""
    aead = require("cryptography.hazmat.primitives.ciphers.aead", "cryptography")
    nonce = os.urandom(NONCE_SIZE)
    header = _HEADER.pack(
        MAGIC, VERSION, KDF_ARGON2ID, 0, kdf.memory_kib, kdf.time_cost, kdf.parallelism, salt, nonce
    )
    ct: bytes = aead.AESGCM(key).encrypt(nonce, plaintext, header)
    return header + ct


def unseal(key: bytes, header: Header, data: bytes, path: str) -> bytes:
    """The plaintext of vault file ``data``; VaultError if authentication fails."""
    aead = require("cryptography.hazmat.primitives.ciphers.aead", "cryptography")
    exc = require("cryptography.exceptions", "cryptography")
    try:
        pt: bytes = aead.AESGCM(key).decrypt(header.nonce, data[HEADER_SIZE:], header.raw)
    except exc.InvalidTag:
        e = VaultError(
            f"{path}: wrong password, or the vault file was modified or truncated (authentication failed)"
        )
        e.path = path
        raise e from None
    return pt


def parse_doc(pt: bytes) -> dict[str, Any]:
    """The decrypted JSON document; ValueError if it is not a format-1 vault document."""
    doc = json.loads(pt.decode("utf-8"))
    if not isinstance(doc, dict) or doc.get("format") != DOC_FORMAT:
        raise ValueError("not a format-1 vault document")
    entries = doc.get("entries")
    if not isinstance(entries, dict) or not all(
        isinstance(fs, dict) and all(isinstance(v, str) for v in fs.values()) for fs in entries.values()
    ):
        raise ValueError("'entries' must map names to objects of strings")
    ak = doc.get("audit_key")
    if not isinstance(ak, str) or len(ak) != 64:
        raise ValueError("'audit_key' must be 64 hex digits")
    return doc
