"""RateLimiter: token-bucket and sliding-window limits per key whose consumption survives
restarts, so a crash loop cannot hand out a fresh budget.

Every granted acquisition is appended to a pinnacle journal (the registry's ``ratelimit.*`` kinds) before
:meth:`RateLimiter.try_acquire` returns True; the journal syncs on an interval
(``sync_interval_ms``), so appends stay cheap. The consumption record is encoded and
decoded in Rust (``rust/security/src/ratelimit.rs``); the other kinds carry JSON.
Opening replays the journal with the same pure state functions the live limiter uses
(``_ratelimit_policy``): the recovered state is the live state at the last granted
acquisition.

Why recovered state never holds more budget than before the crash:

* a process crash (kill -9, a crash loop) loses nothing: the journal is a shared memory
  map, and the page cache keeps what the process wrote;
* an OS crash or power cut may lose the consumptions of the last sync interval. Each
  session journals an open marker with the kernel boot id and a close marker when it
  ends; a session that did not close, on another boot (or with no boot id), means
  consumption may have been lost, so every key - also those never seen - restarts
  exhausted at the reopening time (journaled durably before anything is granted).

Rejections are recorded in the audit journal when one is given, at most one record per
key per ``audit_every_s`` (the rest counted in the next record's ``suppressed``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pinnacle import _core
from pinnacle._core import Journal, entry_kinds
from pinnacle.errors import InvalidArgumentError
from pinnacle.paths import make_private_dir
from pinnacle.security import _events
from pinnacle.security._ratelimit_policy import (
    Policy,
    SlidingWindow,
    TokenBucket,
    state_from_json,
    state_to_json,
)

if TYPE_CHECKING:
    from pinnacle.security.audit import AuditLog

_log = logging.getLogger("pinnacle.security")

_KINDS = entry_kinds()
KIND_CONSUME = _KINDS["ratelimit.consume"]
KIND_OPEN = _KINDS["ratelimit.open"]
KIND_CLOSE = _KINDS["ratelimit.close"]
KIND_SNAPSHOT = _KINDS["ratelimit.snapshot"]
KIND_EXHAUST = _KINDS["ratelimit.exhaust"]
MAX_KEY_BYTES = _core.RATELIMIT_MAX_KEY_BYTES
MAX_COST = 2**32 - 1


def read_boot_id() -> str | None:
    """The kernel's boot id (Linux), None where there is none."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip() or None
    except OSError:
        return None


class RateLimiter:
    """Per-key limits (``policies[key]``, else ``default``) persisted in the journal at
    ``path``. Thread-safe; one limiter per file (the journal's writer lock)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        policies: Mapping[str, Policy] | None = None,
        *,
        default: Policy | None = None,
        audit: AuditLog | None = None,
        audit_every_s: float = 1.0,
        sync_interval_ms: int = 50,
        compact_after: int = 100_000,
        clock: Callable[[], int] = time.time_ns,
        boot_id: Callable[[], str | None] = read_boot_id,
    ) -> None:
        pols = dict(policies or {})
        for k, pol in pols.items():
            _check_key(k)
            if not isinstance(pol, (TokenBucket, SlidingWindow)):
                raise InvalidArgumentError(f"policy of {k!r} must be a TokenBucket or SlidingWindow")
        if default is not None and not isinstance(default, (TokenBucket, SlidingWindow)):
            raise InvalidArgumentError("default must be a TokenBucket, a SlidingWindow or None")
        if not isinstance(compact_after, int) or compact_after < 1:
            raise InvalidArgumentError(f"compact_after must be an int >= 1, got {compact_after!r}")
        if not isinstance(audit_every_s, (int, float)) or not audit_every_s >= 0:
            raise InvalidArgumentError(f"audit_every_s must be a number >= 0, got {audit_every_s!r}")
        self._policies, self._default = pols, default
        self._audit = _events.check_audit(audit)
        self._audit_every_ns = int(audit_every_s * 1e9)
        self._rejects: dict[str, tuple[int, int]] = {}  # key -> (last recorded ns, suppressed)
        self._clock = clock
        self._mutex = threading.Lock()
        self._state: dict[str, Any] = {}
        self._floor: int | None = None  # unseen keys start exhausted at this time
        jpath = Path(os.fspath(path))
        if not jpath.parent.exists():
            make_private_dir(jpath.parent)
        self._journal = Journal(jpath, sync="interval", sync_interval_ms=sync_interval_ms)
        try:
            self._open_session(boot_id(), compact_after)
        except BaseException:
            self._journal.close()
            raise

    # ------------------------------------------------------------------ recovery
    def _open_session(self, boot: str | None, compact_after: int) -> None:
        crashed_boot: tuple[bool, str | None] | None = None  # (session open, its boot id)
        for e in self._journal.read(0):
            if e.kind == KIND_CONSUME:
                t, cost, key = _core.decode_rate_consumption(e.payload)
                if (pol := self._policy_or_none(key)) is not None:
                    pol.consume(self._get_state(key, pol), t, cost)
            elif e.kind == KIND_OPEN:
                crashed_boot = (True, json.loads(e.payload).get("boot_id"))
            elif e.kind == KIND_CLOSE:
                crashed_boot = None
            elif e.kind == KIND_EXHAUST:
                self._exhaust_all(json.loads(e.payload)["t"])
            elif e.kind == KIND_SNAPSHOT:
                self._load_snapshot(json.loads(e.payload))
        now = int(self._clock())
        if crashed_boot is not None and (boot is None or crashed_boot[1] != boot):
            _log.warning(
                "%s: the last session ended without closing on another boot (OS crash or power loss): "
                "consumption of its last sync interval may be lost, so every key restarts exhausted",
                self._journal.path,
            )
            self._exhaust_all(now)
            self._journal.append(KIND_EXHAUST, json.dumps({"t": now}).encode())
            self._journal.flush()
        if self._journal.entry_count > compact_after:
            seq = self._journal.append(KIND_SNAPSHOT, json.dumps(self._snapshot()).encode())
            self._journal.flush()
            self._journal.compact(seq)
        self._journal.append(KIND_OPEN, json.dumps({"boot_id": boot, "pid": os.getpid(), "t": now}).encode())

    def _exhaust_all(self, t: int) -> None:
        self._floor = t if self._floor is None else max(self._floor, t)
        for key, st in self._state.items():
            pol = self._policy_or_none(key)
            if pol is not None:
                pol.exhaust(st, t)

    def _snapshot(self) -> dict[str, Any]:
        states = {}
        for k, st in self._state.items():
            pol = self._policy_or_none(k)
            if pol is not None:
                states[k] = {"policy": type(pol).__name__, "state": state_to_json(pol, st)}
        return {"floor": self._floor, "keys": states}

    def _load_snapshot(self, doc: dict[str, Any]) -> None:
        self._floor = doc.get("floor")
        self._state.clear()
        for k, entry in doc.get("keys", {}).items():
            pol = self._policy_or_none(k)
            if pol is None:
                continue
            try:
                self._state[k] = state_from_json(pol, entry["state"])
            except (ValueError, KeyError, TypeError):  # the key's policy kind changed: be strict
                self._state[k] = pol.new_state(self._floor or 0)

    # ------------------------------------------------------------------ the API
    def _policy_or_none(self, key: str) -> Policy | None:
        return self._policies.get(key, self._default)

    def _policy(self, key: str) -> Policy:
        pol = self._policy_or_none(_check_key(key))
        if pol is None:
            raise InvalidArgumentError(f"no rate-limit policy for {key!r} and no default")
        return pol

    def _get_state(self, key: str, pol: Policy) -> Any:
        st = self._state.get(key)
        if st is None:
            st = self._state[key] = pol.new_state(self._floor)
        return st

    def try_acquire(self, key: str, cost: int = 1) -> bool:
        """Takes ``cost`` units of ``key``'s budget and returns True, or returns False
        (nothing taken) if the budget does not hold them now."""
        if not isinstance(cost, int) or isinstance(cost, bool) or not 1 <= cost <= MAX_COST:
            raise InvalidArgumentError(f"cost must be an int in [1, {MAX_COST}], got {cost!r}")
        pol = self._policy(key)
        with self._mutex:
            now = int(self._clock())
            st = self._get_state(key, pol)
            if pol.available(st, now) < cost:
                granted = False
            else:
                # journaled first: a grant the journal refused is not given
                self._journal.append(KIND_CONSUME, _core.encode_rate_consumption(now, cost, key))
                pol.consume(st, now, cost)
                granted = True
        if not granted:
            self._record_rejection(key, cost, now)
        return granted

    def available(self, key: str) -> float:
        """The units ``key`` could take now."""
        pol = self._policy(key)
        with self._mutex:
            return pol.available(self._get_state(key, pol), int(self._clock()))

    def _record_rejection(self, key: str, cost: int, now: int) -> None:
        if self._audit is None:
            return
        with self._mutex:
            last, suppressed = self._rejects.get(key, (None, 0))
            if last is not None and 0 <= now - last < self._audit_every_ns:
                self._rejects[key] = (last, suppressed + 1)
                return
            self._rejects[key] = (now, 0)
        _events.record(
            self._audit, "ratelimit.reject", {"key": key, "cost": cost, "suppressed": suppressed}, "ratelimit"
        )

    def close(self) -> None:
        """Journals the clean end of this session and closes the journal. Idempotent."""
        with self._mutex:
            if self._journal.closed:
                return
            try:
                self._journal.append(KIND_CLOSE, json.dumps({"t": int(self._clock())}).encode())
            finally:
                self._journal.close()

    def __enter__(self) -> RateLimiter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not key or len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidArgumentError(
            f"a rate-limit key must be a non-empty str of at most {MAX_KEY_BYTES} bytes"
        )
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgumentError("a rate-limit key must be valid text (no lone surrogates)") from None
    return key


__all__ = ["RateLimiter", "SlidingWindow", "TokenBucket", "read_boot_id"]
