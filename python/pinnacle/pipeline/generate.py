"""Synthetic depth files in both input formats: a random-walk mid price, bursts of
messages in the same millisecond, injected gaps (updates the recorder missed) and
reconnect snapshots, spread over several (optionally gzip-compressed) files.

Deterministic for a given seed. The generator keeps the true book, so missed updates
really change it and the pipeline's book is wrong (stale) until the next snapshot.
"""

from __future__ import annotations

import gzip
import json
import os
import random
from pathlib import Path

from pinnacle.errors import InvalidArgumentError
from pinnacle.paths import make_private_dir, write_atomic
from pinnacle.pipeline._args import count

TARDIS_HEADER = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n"


class _Market:
    def __init__(self, rng: random.Random, depth: int) -> None:
        self.rng = rng
        self.mid = 3_000_000  # ticks of 0.01
        self.depth = depth
        self.bids = {self.mid - i: self._qty() for i in range(1, depth + 1)}
        self.asks = {self.mid + i: self._qty() for i in range(1, depth + 1)}
        self.exchange_ms = 1_700_000_000_000

    def _qty(self) -> str:
        return f"{self.rng.randint(1, 50_000) / 1000:.3f}"

    def step(self) -> list[tuple[str, int, str]]:
        """Random changes (side, price ticks, qty text; "0.000" deletes)."""
        rng = self.rng
        self.mid += rng.choice((-1, 0, 0, 1))
        changes = []
        for _ in range(rng.randint(1, 4)):
            side = rng.choice(("bid", "ask"))
            book = self.bids if side == "bid" else self.asks
            off = rng.randint(1, self.depth)
            price = self.mid - off if side == "bid" else self.mid + off
            qty = "0.000" if (price in book and rng.random() < 0.3) else self._qty()
            if qty == "0.000":
                book.pop(price, None)
            else:
                book[price] = qty
            changes.append((side, price, qty))
        # Levels that crossed the mid disappear.
        for p in [p for p in self.bids if p >= self.mid]:
            del self.bids[p]
            changes.append(("bid", p, "0.000"))
        for p in [p for p in self.asks if p <= self.mid]:
            del self.asks[p]
            changes.append(("ask", p, "0.000"))
        # Bursts: many messages in one millisecond, then a pause.
        self.exchange_ms += 0 if rng.random() < 0.3 else rng.randint(1, 120)
        return changes

    def drift_ms(self) -> int:
        return self.rng.randint(1, 15) if self.rng.random() > 0.01 else self.rng.randint(50, 400)


def _px(ticks: int) -> str:
    return f"{ticks / 100:.2f}"


def _binance(m: _Market, symbol: str, n: int, gap_rate: float) -> list[list[str]]:
    rng = m.rng
    uid = 10_000
    msgs = [[_snapshot(m, uid)]]
    while len(msgs) < n:
        changes = m.step()
        first = uid + 1
        uid = first + rng.randint(0, 3)
        if rng.random() < gap_rate:  # the recorder missed this update: the book diverges
            if rng.random() < 0.5:  # reconnect: a snapshot, then an update it makes stale
                msgs.append([_snapshot(m, uid + 2)])
                msgs.append([_update(symbol, m, uid + 1, uid + 1, [])])
                uid += 2
            continue
        msgs.append([_update(symbol, m, first, uid, changes)])
    return msgs


def _snapshot(m: _Market, last_update_id: int) -> str:
    bids = [[_px(p), q] for p, q in sorted(m.bids.items(), reverse=True)]
    asks = [[_px(p), q] for p, q in sorted(m.asks.items())]
    return json.dumps({"lastUpdateId": last_update_id, "bids": bids, "asks": asks}, separators=(",", ":"))


def _update(symbol: str, m: _Market, first: int, last: int, changes: list[tuple[str, int, str]]) -> str:
    b = [[_px(p), q] for s, p, q in changes if s == "bid"]
    a = [[_px(p), q] for s, p, q in changes if s == "ask"]
    e = m.exchange_ms
    doc = {
        "e": "depthUpdate",
        "E": e,
        "s": symbol,
        "U": first,
        "u": last,
        "b": b,
        "a": a,
        "lt": e + m.drift_ms(),
    }
    return json.dumps(doc, separators=(",", ":"))


def _tardis(m: _Market, symbol: str, n: int, gap_rate: float) -> list[list[str]]:
    rng = m.rng
    local_us = m.exchange_ms * 1000 + 5_000
    msgs = [_tardis_snapshot(m, symbol, local_us)]
    while len(msgs) < n:
        changes = m.step()
        local_us = max(local_us + 1, m.exchange_ms * 1000 + m.drift_ms() * 1000 + rng.randint(0, 999))
        if rng.random() < gap_rate:  # missed; sometimes the recorder reconnects
            if rng.random() < 0.5:
                msgs.append(_tardis_snapshot(m, symbol, local_us))
            continue
        ts = m.exchange_ms * 1000
        msgs.append([f"binance,{symbol},{ts},{local_us},false,{s},{_px(p)},{q}" for s, p, q in changes])
    return msgs


def _tardis_snapshot(m: _Market, symbol: str, local_us: int) -> list[str]:
    ts = m.exchange_ms * 1000
    rows = [
        f"binance,{symbol},{ts},{local_us},true,bid,{_px(p)},{q}"
        for p, q in sorted(m.bids.items(), reverse=True)
    ]
    rows += [f"binance,{symbol},{ts},{local_us},true,ask,{_px(p)},{q}" for p, q in sorted(m.asks.items())]
    return rows


def generate(
    out_dir: str | os.PathLike[str],
    symbol: str = "BTCUSDT",
    format: str = "binance-depth",
    files: int = 3,
    events_per_file: int = 10_000,
    seed: int = 0,
    gap_rate: float = 0.001,
    depth: int = 50,
    gzip_files: bool = False,
) -> list[Path]:
    """Writes ``files`` input files for ``symbol`` under ``out_dir``; returns their paths
    in processing order."""
    if format not in ("binance-depth", "tardis-l2"):
        raise InvalidArgumentError(f"format {format!r} is not one of binance-depth, tardis-l2")
    for name, v in (("files", files), ("events_per_file", events_per_file), ("depth", depth)):
        count(name, v)
    if not 0 <= gap_rate < 1:
        raise InvalidArgumentError(f"gap_rate must be in [0, 1), not {gap_rate!r}")
    out = Path(out_dir)
    make_private_dir(out)
    m = _Market(random.Random(seed), depth)
    tardis = format == "tardis-l2"
    make = _tardis if tardis else _binance
    msgs = make(m, symbol, files * events_per_file, gap_rate)
    paths = []
    for i in range(files):
        chunk = msgs[i * events_per_file : (i + 1) * events_per_file]
        text = (TARDIS_HEADER if tardis else "") + "".join(line + "\n" for msg in chunk for line in msg)
        ext = ".csv" if tardis else ".jsonl"
        path = out / f"{symbol}-{i:03d}{ext}{'.gz' if gzip_files else ''}"
        data = text.encode()
        write_atomic(path, gzip.compress(data, compresslevel=1) if gzip_files else data)
        paths.append(path)
    return paths
