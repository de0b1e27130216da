"""``await led.durable(seq)``: with ledgerSyncMode "none", many coroutines awaiting share
few fdatasyncs, and once they resolve their records survive a simulated power loss."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pinnacle import Ledger, PersistenceManager, _core


def test_awaited_records_are_durable_and_share_syncs(tmp_path: Path) -> None:
    _core._track_durability(True)
    try:
        with PersistenceManager(tmp_path / "live", {"ledgerSyncMode": "none"}, maintenance=False) as pm:
            led = pm.ledger
            model = Ledger()

            async def client(i: int) -> None:
                for target in (led, model):
                    target.submit_order(
                        f"c{i}",
                        symbol="X",
                        exchange="e",
                        side="buy",
                        order_type="limit",
                        price="1.5",
                        quantity=i + 1,
                        timestamp_ns=1_000 + i,
                    )
                seq = led.journal_seq
                await asyncio.sleep(0)  # let the other clients append meanwhile
                await led.durable(seq)

            async def main() -> None:
                await asyncio.gather(*(client(i) for i in range(50)))
                await led.durable()  # nothing pending: returns

            asyncio.run(main())
            assert led._durable is not None
            assert 1 <= led._durable.flushes < 10, led._durable.flushes
            image = _core._durable_image(tmp_path / "live" / "journals" / "@ledger.journal")
            assert image is not None
            pm.shutdown(snapshot=False)
    finally:
        _core._track_durability(False)
    where = tmp_path / "crash"
    (where / "journals").mkdir(parents=True)
    (where / "journals" / "@ledger.journal").write_bytes(image)
    with PersistenceManager(where, maintenance=False) as pm:
        pm.recover_state()
        assert pm.ledger.checksum() == model.checksum()


def test_an_in_memory_ledger_has_nothing_to_wait_for() -> None:
    led = Ledger()
    led.set_config("k", "v")
    asyncio.run(led.durable())
    assert led.journal_seq == 0
