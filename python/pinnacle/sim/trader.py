"""The trading process of the crash drill (``pinnacle _trade``): recovers, then trades
until it is killed.

It reports to its parent on stdout, one JSON object per line: ``{"ready": ...}`` once
recovered, then a status object every ``status_interval`` seconds. Library warnings go to
stderr. It exits by itself only if its parent disappears or ``max_seconds`` pass (a
safety net: the drill always kills it first).
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pinnacle.config import PersistenceConfig, SyncMode
from pinnacle.persistence import PersistenceManager
from pinnacle.sim import ledger
from pinnacle.sim.ledger_flow import LedgerFlow
from pinnacle.sim.maker import MarketMaker, open_ledger, submit
from pinnacle.sim.market import Instrument, Participants, instrument
from pinnacle.sim.oplog import OpLogWriter

LEDGER_SHARE = 0.05
"""Share of the loop's steps that also drive the trading-state ledger (durable calls)."""

SNAPSHOT_INTERVAL_S = 0.5
"""The drill snapshots every changed book this often, so every recovery uses a snapshot."""


def drill_config(data_dir: str | os.PathLike[str], sync: SyncMode) -> PersistenceConfig:
    """The persistence settings of the drill: frequent snapshots (every 0.5 s), 3 kept,
    journals compacted beyond 20 000 entries, 10 ms sync interval."""
    return PersistenceConfig(
        data_directory=os.fspath(data_dir),
        journal_sync_mode=sync,
        journal_sync_interval_ms=10,
        snapshot_interval_min=SNAPSHOT_INTERVAL_S / 60,
        keep_snapshots=3,
        compaction_threshold=20_000,
    )


@dataclass(frozen=True)
class TradeOptions:
    """How one trading process runs."""

    data_dir: Path
    symbols: tuple[str, ...]
    seed: int
    cycle: int
    """1-based crash cycle: it selects the order-id range (ids never repeat)."""
    sync: SyncMode
    oplog: Path
    rate: float = 0.0
    """Operations per second (0 = as fast as possible)."""
    max_seconds: float = 300.0
    status_interval: float = 0.2


@dataclass
class _Market:
    inst: Instrument
    maker: MarketMaker
    participants: Participants


def _status(markets: list[_Market], ops: int, started: float) -> dict[str, object]:
    syms: dict[str, object] = {}
    for m in markets:
        t = m.maker.totals()
        realized, unrealized = t.pnl(m.inst, m.maker.mid)
        syms[m.inst.symbol] = {
            "mid": float(m.inst.price(m.maker.mid)),
            "position": float(m.inst.qty(t.position)),
            "realized": round(realized, 2),
            "unrealized": round(unrealized, 2),
            "orders": m.maker.book.order_count,
        }
    return {"t": round(time.monotonic() - started, 3), "ops": ops, "symbols": syms}


def run_trading(opts: TradeOptions, out: TextIO = sys.stdout) -> int:
    """Recovers the books and ledgers in ``opts.data_dir`` and trades until killed."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    lg = logging.getLogger("pinnacle")
    lg.addHandler(handler)
    lg.setLevel(logging.WARNING)
    parent = os.getppid()
    rng = random.Random(opts.seed)
    log = OpLogWriter(opts.oplog)
    pm = PersistenceManager(opts.data_dir, drill_config(opts.data_dir, opts.sync))
    pm.recover_state()
    markets: list[_Market] = []
    for s in opts.symbols:
        inst = instrument(s)
        book = pm.order_book(s, inst.tick, inst.lot)
        journal = open_ledger(opts.data_dir, s, opts.sync)
        state = ledger.recover(journal.read(), book, inst)
        maker = MarketMaker(inst, book, journal, state, log, rng, opts.cycle)
        parts = Participants(inst, rng, opts.cycle)
        parts.adopt(book)
        markets.append(_Market(inst, maker, parts))
    flow = LedgerFlow(
        pm.ledger, random.Random(opts.seed + 1), opts.cycle, opts.oplog.with_suffix(".ledgerlog")
    )
    flow_rng = random.Random(opts.seed + 2)
    started = time.monotonic()
    ready = {"ready": True, "pid": os.getpid(), "orders": {m.inst.symbol: len(m.maker.book) for m in markets}}
    out.write(json.dumps(ready) + "\n")
    out.flush()
    steps = 0
    next_status = started
    while True:
        m = markets[rng.randrange(len(markets))]
        if rng.random() < 0.3:
            m.maker.refresh()
        else:
            op = m.participants.next_op(m.maker.mid, time.time_ns())
            submit(log, m.maker.book, m.inst, op)
        if flow_rng.random() < LEDGER_SHARE:
            flow.step(float(markets[0].inst.price(markets[0].maker.mid)))
        steps += 1
        if steps & 63 and opts.rate <= 0:
            continue
        now = time.monotonic()
        if opts.rate > 0 and (ahead := log.intents / opts.rate - (now - started)) > 0:
            time.sleep(ahead)
        if now >= next_status:
            next_status = now + opts.status_interval
            out.write(json.dumps(_status(markets, log.intents, started)) + "\n")
            out.flush()
            if os.getppid() != parent or now - started > opts.max_seconds:
                pm.shutdown()
                return 3


__all__ = ["SNAPSHOT_INTERVAL_S", "TradeOptions", "drill_config", "run_trading"]
