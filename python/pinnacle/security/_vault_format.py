"""The credential vault's file format (docs/security.md § Credential vault): a 52-byte
header (magic, format version, KDF id and Argon2id costs, salt, nonce), then the
AES-256-GCM ciphertext of the UTF-8 JSON document and its 16-byte tag.

The 52 header bytes are the associated data: a changed KDF parameter, salt or version
fails authentication like a changed ciphertext byte. The key is Argon2id(password, salt,
params) -> 32 bytes. Parameters read from a file are bounded before the KDF runs, so a
tampered header cannot make opening allocate more than 1 GiB or run for long.

The header's layout and every check of its fields and bounds are in Rust
(``pinnacle-security``, ``rust/security/src/vault.rs``), called through
``pinnacle._core``; this module keeps the cryptography (``cryptography``, ``argon2-cffi``)
and the JSON document.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from pinnacle import _core
from pinnacle.errors import InvalidArgumentError, VaultError
from pinnacle.security._deps import require

VERSION = _core.VAULT_VERSION
HEADER_SIZE = _core.VAULT_HEADER_SIZE  # 52
TAG_SIZE = _core.VAULT_TAG_SIZE
SALT_SIZE = _core.VAULT_SALT_SIZE
NONCE_SIZE = _core.VAULT_NONCE_SIZE
KEY_SIZE = 32
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
        for name in ("parallelism", "time_cost", "memory_kib"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool):
                raise InvalidArgumentError(f"KdfParams.{name} must be an int, got {v!r}")
        # the bounds (InvalidArgumentError naming the first out): the format's, in Rust
        _core.check_vault_kdf(self.memory_kib, self.time_cost, self.parallelism)


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
    mem, t, p, salt, nonce = _core.decode_vault_header(data, path)
    return Header(
        KdfParams(memory_kib=mem, time_cost=t, parallelism=p), salt, nonce, bytes(data[:HEADER_SIZE])
    )


def seal(key: bytes, kdf: KdfParams, salt: bytes, plaintext: bytes) -> bytes:
    """The whole vault file for ``plaintext``, under a fresh random nonce."""
    aead = require("cryptography.hazmat.primitives.ciphers.aead", "cryptography")
    nonce = os.urandom(NONCE_SIZE)
    header = _core.encode_vault_header(kdf.memory_kib, kdf.time_cost, kdf.parallelism, salt, nonce)
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
