"""The audit journal's record format and its MAC chain.

Each record is one journal entry of kind :data:`AUDIT_KIND` (``audit.record`` in the
entry-kind registry, 512, in the audit range) whose payload is::

    mac (32 bytes) | prev (32 bytes) | body (UTF-8 JSON, keys sorted, no whitespace)

``body`` is ``{"actor": ..., "detail": {...}, "event": ..., "n": N, "t": UNIX_NS}``; ``n``
counts records from 0. ``prev`` is the previous record's ``mac`` (32 zero bytes for
record 0) and ``mac = HMAC-SHA256(key, DOMAIN | prev | body)``. A record is thus
authenticated on its own (a changed byte fails its MAC) and names its predecessor (a
deleted, inserted or reordered record breaks the chain where it happened).

The chain head ``{"n", "mac", "seq"}`` (the last record) is stored beside the journal in
``PATH.head`` (written atomically, with its own MAC) and optionally in the vault: a tail
cut after the last stored head is detected against it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from pinnacle._core import entry_kinds
from pinnacle.errors import InvalidArgumentError

AUDIT_KIND = entry_kinds()["audit.record"]
MAC_SIZE = 32
ZERO_MAC = bytes(MAC_SIZE)
DOMAIN = b"pinnacle-audit-v1\x00"
HEAD_DOMAIN = b"pinnacle-audit-head-v1\x00"
MAX_BODY = 64 * 1024
_EVENT_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Record:
    """A decoded audit record; ``seq`` is its journal entry's sequence number."""

    seq: int
    n: int
    time_ns: int
    event: str
    actor: str
    detail: dict[str, Any]
    mac: bytes
    prev: bytes
    body: bytes

    def as_json(self) -> dict[str, Any]:
        """The record as printed by ``pinnacle audit tail``."""
        return {
            "n": self.n,
            "seq": self.seq,
            "t": self.time_ns,
            "event": self.event,
            "actor": self.actor,
            "detail": self.detail,
            "mac": self.mac.hex(),
        }


def check_key(key: object) -> bytes:
    """``key`` if it is bytes of at least 32 bytes, else InvalidArgumentError."""
    if not isinstance(key, (bytes, bytearray)) or len(key) < 32:
        raise InvalidArgumentError("the audit key must be bytes, at least 32 of them")
    return bytes(key)


def mac_of(key: bytes, prev: bytes, body: bytes) -> bytes:
    """The record MAC."""
    return hmac.new(key, DOMAIN + prev + body, hashlib.sha256).digest()


def encode_body(n: int, time_ns: int, event: object, actor: object, detail: object) -> bytes:
    """The canonical body; InvalidArgumentError for a bad event, actor or detail (which
    must be a JSON object of plain values: a Secret is refused, never written)."""
    if not isinstance(event, str) or not _EVENT_RE.fullmatch(event):
        raise InvalidArgumentError(f"invalid audit event {event!r}: use 1 to 64 of a-z 0-9 . _ -")
    if not isinstance(actor, str) or not 0 < len(actor) <= 128:
        raise InvalidArgumentError("the audit actor must be a str of 1 to 128 characters")
    if detail is None:
        detail = {}
    if not isinstance(detail, dict):
        raise InvalidArgumentError(f"audit detail must be a dict, not {type(detail).__name__}")
    doc = {"actor": actor, "detail": detail, "event": event, "n": n, "t": time_ns}
    try:
        body = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as e:
        # the message names the type only: a refused value may be a secret
        raise InvalidArgumentError(
            "audit detail must hold only JSON values (str, int, float, bool, None, list, dict): "
            f"{_type_only(e)}"
        ) from None
    if len(body) > MAX_BODY:
        raise InvalidArgumentError(f"audit record too large ({len(body)} bytes, at most {MAX_BODY})")
    return body


def _type_only(e: Exception) -> str:
    m = re.search(r"Object of type (\w+)", str(e))
    return f"a {m.group(1)} was given" if m else "a non-finite or non-JSON value was given"


def decode(seq: int, payload: bytes) -> Record:
    """The record in ``payload``; ValueError if it is not well formed (not its MAC)."""
    if len(payload) < 2 * MAC_SIZE + 2:
        raise ValueError(f"payload of {len(payload)} bytes is too short")
    mac, prev, body = payload[:MAC_SIZE], payload[MAC_SIZE : 2 * MAC_SIZE], payload[2 * MAC_SIZE :]
    doc = json.loads(body.decode("utf-8"))
    if not isinstance(doc, dict) or set(doc) != {"actor", "detail", "event", "n", "t"}:
        raise ValueError("the body is not an audit record object")
    n, t, event, actor, detail = doc["n"], doc["t"], doc["event"], doc["actor"], doc["detail"]
    if not (isinstance(n, int) and n >= 0 and isinstance(t, int) and isinstance(detail, dict)):
        raise ValueError("bad n, t or detail")
    if not (isinstance(event, str) and isinstance(actor, str)):
        raise ValueError("bad event or actor")
    return Record(seq, n, t, event, actor, detail, bytes(mac), bytes(prev), bytes(body))


def head_doc(key: bytes, n: int, mac: bytes, seq: int) -> dict[str, Any]:
    """The chain head as stored in ``PATH.head`` and the vault."""
    tag = hmac.new(key, HEAD_DOMAIN + json.dumps([n, mac.hex(), seq]).encode(), hashlib.sha256)
    return {"n": n, "mac": mac.hex(), "seq": seq, "hmac": tag.hexdigest()}


def check_head(key: bytes, doc: object) -> tuple[int, bytes, int]:
    """(n, mac, seq) of a stored head; ValueError if it is malformed or fails its MAC."""
    if not isinstance(doc, dict) or not isinstance(doc.get("n"), int) or not isinstance(doc.get("seq"), int):
        raise ValueError("malformed chain head")
    try:
        mac = bytes.fromhex(str(doc.get("mac")))
    except ValueError:
        raise ValueError("malformed chain head mac") from None
    want = head_doc(key, doc["n"], mac, doc["seq"])["hmac"]
    if not hmac.compare_digest(want, str(doc.get("hmac"))):
        raise ValueError("the chain head fails its MAC (modified, or another key)")
    return doc["n"], mac, doc["seq"]
