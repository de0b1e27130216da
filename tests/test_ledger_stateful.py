"""Hypothesis stateful test: random ledger operations on a PersistenceManager's ledger
(ledgerSyncMode "always"), with simulated power losses in between: the durable image of
the ledger journal at that moment, recovered in another directory, must equal the model
built from the acknowledged operations (an in-memory ledger fed the same calls), exactly
(same checksum, same views). Refused operations must be refused by both."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pinnacle import Ledger, LedgerError, PersistenceManager, _core

IDS = st.sampled_from([f"c{i}" for i in range(6)])
TRADES = st.sampled_from([f"t{i}" for i in range(10)])
QTY = st.sampled_from(["0.1", "0.25", "1", "3", "0"])
PX = st.sampled_from(["100", "100.5", "99.25", "0.001"])


class LedgerCrashes(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="ledger-sm-"))
        _core._track_durability(True)
        self.pm = PersistenceManager(self.dir / "live", maintenance=False)
        self.led = self.pm.ledger
        self.model = Ledger()
        self.ts = 1_000
        self.crashes = 0

    def both(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.ts += 1
        kwargs["timestamp_ns"] = self.ts
        outcome = []
        for target in (self.led, self.model):
            try:
                getattr(target, name)(*args, **kwargs)
                outcome.append(None)
            except LedgerError as e:
                outcome.append(e.code)
        assert outcome[0] == outcome[1], (name, args, outcome)

    @rule(cid=IDS, side=st.sampled_from(["buy", "sell"]), qty=QTY, px=PX)
    def submit(self, cid: str, side: str, qty: str, px: str) -> None:
        self.both(
            "submit_order",
            cid,
            symbol="BTC-USD",
            exchange="ex",
            side=side,
            order_type="limit",
            price=px,
            quantity=qty,
        )

    @rule(cid=IDS)
    def ack(self, cid: str) -> None:
        self.both("ack_order", cid, exchange_order_id=f"x-{cid}")

    @rule(cid=IDS, trade=TRADES, qty=QTY, px=PX)
    def fill(self, cid: str, trade: str, qty: str, px: str) -> None:
        self.both("record_fill", cid, trade_id=trade, price=px, quantity=qty, fee="0.01", fee_asset="USDT")

    @rule(cid=IDS)
    def cancel(self, cid: str) -> None:
        self.both("cancel_order", cid)

    @rule(halt=st.booleans())
    def risk(self, halt: bool) -> None:
        if halt:
            self.both("halt_trading", "limit")
        else:
            self.both("resume_trading")

    @rule(key=st.sampled_from(["a", "b"]), value=st.text(max_size=3))
    def config(self, key: str, value: str) -> None:
        self.both("set_config", key, value)

    @precondition(lambda self: self.crashes < 3)
    @rule()
    def power_loss(self) -> None:
        """Recover the journal's durable image elsewhere: every acknowledged op is there."""
        self.crashes += 1
        image = _core._durable_image(self.dir / "live" / "journals" / "@ledger.journal")
        where = self.dir / f"crash{self.crashes}"
        (where / "journals").mkdir(parents=True)
        if image is not None:
            (where / "journals" / "@ledger.journal").write_bytes(image)
        with PersistenceManager(where, maintenance=False) as pm:
            pm.recover_state()
            got = pm.ledger
            assert got.checksum() == self.model.checksum()
            assert (got.orders, got.positions, got.recent_fills, got.fees) == (
                self.model.orders,
                self.model.positions,
                self.model.recent_fills,
                self.model.fees,
            )

    @invariant()
    def live_equals_model(self) -> None:
        assert self.led.checksum() == self.model.checksum()

    def teardown(self) -> None:
        self.pm.shutdown()
        _core._track_durability(False)
        shutil.rmtree(self.dir, ignore_errors=True)


LedgerCrashes.TestCase.settings = settings(max_examples=15, stateful_step_count=30, deadline=None)
TestLedgerCrashes = LedgerCrashes.TestCase
