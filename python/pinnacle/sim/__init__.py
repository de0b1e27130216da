"""A small market simulation for the crash-recovery drill (``pinnacle demo``).

* :mod:`~pinnacle.sim.market` — instruments, operations as data, the random-walk mid and
  the other exchange participants;
* :mod:`~pinnacle.sim.maker` — the market maker (inventory-skewed quotes, reprices,
  stale-quote replacement);
* :mod:`~pinnacle.sim.ledger` — how the maker's position and P&L are persisted and
  recovered;
* :mod:`~pinnacle.sim.oplog` — the acknowledgement log (the drill's independent record);
* :mod:`~pinnacle.sim.trader` — the trading process the drill kills;
* :mod:`~pinnacle.sim.reference` — replaying acknowledged operations and comparing.
"""

from __future__ import annotations

from pinnacle.sim.ledger import MakerState, Totals
from pinnacle.sim.maker import MarketMaker
from pinnacle.sim.market import MAKER_ID_BASE, Instrument, Op, Participants, RandomWalk, apply_op, instrument
from pinnacle.sim.oplog import OpLog, OpLogWriter, read_oplog
from pinnacle.sim.reference import Reference, SymbolCheck
from pinnacle.sim.trader import TradeOptions, drill_config, run_trading

__all__ = [
    "MAKER_ID_BASE",
    "Instrument",
    "MakerState",
    "MarketMaker",
    "Op",
    "OpLog",
    "OpLogWriter",
    "Participants",
    "RandomWalk",
    "Reference",
    "SymbolCheck",
    "Totals",
    "TradeOptions",
    "apply_op",
    "drill_config",
    "instrument",
    "read_oplog",
    "run_trading",
]
