"""Rate-limit policies and their per-key state, as pure functions of (state, time, cost).

The live limiter and recovery apply the same functions to the same journaled
consumptions in the same order, so a recovered state is the live state at the last
journaled consumption (bit for bit: the same float operations). A clock that goes back
never adds budget: elapsed time is clamped at zero and window entries are pruned against
the current time only.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from pinnacle.errors import InvalidArgumentError

NS = 1_000_000_000


def _positive(name: str, v: Any, *, zero_ok: bool = False, integral: bool = False) -> None:
    ok_type = isinstance(v, int) if integral else isinstance(v, (int, float))
    if (
        not ok_type
        or isinstance(v, bool)
        or not (v >= 0 if zero_ok else v > 0)
        or v != v
        or v == float("inf")
    ):
        kind = "an int" if integral else "a finite number"
        raise InvalidArgumentError(f"{name} must be {kind} {'>= 0' if zero_ok else '> 0'}, got {v!r}")


@dataclass(frozen=True)
class TokenBucket:
    """Up to ``capacity`` units at once, refilled at ``refill_per_s`` units per second
    (0: a fixed quota)."""

    capacity: float
    refill_per_s: float

    def __post_init__(self) -> None:
        _positive("TokenBucket.capacity", self.capacity)
        _positive("TokenBucket.refill_per_s", self.refill_per_s, zero_ok=True)

    def new_state(self, exhausted_at: int | None) -> list[Any]:
        """[tokens, last_ns]: full, or empty at ``exhausted_at``."""
        if exhausted_at is None:
            return [float(self.capacity), -(1 << 62)]
        return [0.0, exhausted_at]

    def available(self, st: list[Any], now: int) -> float:
        tokens, last = st
        return float(min(self.capacity, tokens + self.refill_per_s * max(0, now - last) / NS))

    def consume(self, st: list[Any], now: int, cost: int) -> None:
        st[0] = self.available(st, now) - cost
        st[1] = max(st[1], now)

    def exhaust(self, st: list[Any], now: int) -> None:
        st[0], st[1] = min(0.0, self.available(st, now)), max(st[1], now)


@dataclass(frozen=True)
class SlidingWindow:
    """At most ``limit`` units in any ``window_s`` seconds."""

    limit: int
    window_s: float

    def __post_init__(self) -> None:
        _positive("SlidingWindow.limit", self.limit, integral=True)
        _positive("SlidingWindow.window_s", self.window_s)

    @property
    def window_ns(self) -> int:
        return int(self.window_s * NS)

    def new_state(self, exhausted_at: int | None) -> deque[tuple[int, int]]:
        """The (time, cost) consumptions in the window: none, or the whole limit at
        ``exhausted_at``."""
        return deque() if exhausted_at is None else deque([(exhausted_at, self.limit)])

    def _prune(self, st: deque[tuple[int, int]], now: int) -> None:
        horizon = now - self.window_ns
        while st and st[0][0] <= horizon:
            st.popleft()

    def available(self, st: deque[tuple[int, int]], now: int) -> float:
        horizon = now - self.window_ns
        return float(self.limit - sum(c for t, c in st if t > horizon))

    def consume(self, st: deque[tuple[int, int]], now: int, cost: int) -> None:
        self._prune(st, now)
        st.append((now, cost))

    def exhaust(self, st: deque[tuple[int, int]], now: int) -> None:
        self.consume(st, now, self.limit)


Policy = TokenBucket | SlidingWindow


def state_to_json(policy: Policy, st: Any) -> Any:
    """A state as JSON (the limiter's snapshot entries)."""
    if isinstance(policy, TokenBucket):
        return {"tokens": st[0].hex(), "last": st[1]}
    return {"events": [list(e) for e in st]}


def state_from_json(policy: Policy, doc: Any) -> Any:
    """The inverse of :func:`state_to_json`; ValueError if ``doc`` does not fit ``policy``."""
    if isinstance(policy, TokenBucket) and isinstance(doc, dict) and "tokens" in doc:
        return [float.fromhex(doc["tokens"]), int(doc["last"])]
    if isinstance(policy, SlidingWindow) and isinstance(doc, dict) and "events" in doc:
        return deque((int(t), int(c)) for t, c in doc["events"])
    raise ValueError("the stored state is of another policy kind")
