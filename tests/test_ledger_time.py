"""The ledger and time: an operation stamped past the clock's tolerance is refused before
it is journaled; a journaled timestamp ahead of a clock that stepped back is a recovery
warning, never a directory that no longer recovers. ``durable(seq)`` refuses a seq not
yet written and never leaves a thread behind (a regression fails by timeout, not a hang)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pinnacle import Journal, LedgerError, PersistenceManager

DAY_NS = 86_400 * 10**9
ORDER: dict[str, str] = dict(
    symbol="X-USD", exchange="e1", side="buy", order_type="limit", price="10", quantity="2"
)


def _journal(data: Path) -> Path:
    return data / "journals" / "@ledger.journal"


def test_an_operation_from_the_future_is_refused_and_not_journaled(tmp_path: Path) -> None:
    with PersistenceManager(tmp_path, maintenance=False) as pm:
        pm.recover_state()
        led = pm.ledger
        led.set_config("k", "v")
        seq, checksum = led.journal_seq, led.checksum()
        for ts in (time.time_ns() + DAY_NS, 2**63 - 1):
            with pytest.raises(LedgerError, match="future") as e:
                led.submit_order("f", timestamp_ns=ts, **ORDER)
            assert e.value.code == "invalid_value"
            with pytest.raises(LedgerError, match="future"):
                led.halt_trading("x", timestamp_ns=ts)
        assert led.journal_seq == seq and led.checksum() == checksum
        assert led.order("f") is None
        led.submit_order("g", timestamp_ns=time.time_ns() + 60 * 10**9, **ORDER)
    with PersistenceManager(tmp_path, maintenance=False) as pm:
        pm.recover_state()
        assert pm.ledger.order("f") is None and pm.ledger.order("g") is not None


def test_a_clock_that_stepped_back_does_not_brick_recovery(tmp_path: Path) -> None:
    """Records journaled at a time the clock has since stepped back from (NTP, a VM
    restore): recovery succeeds and reports them as a warning."""
    with PersistenceManager(tmp_path / "a", maintenance=False) as pm:
        pm.recover_state()
        pm.ledger.submit_order("f", **ORDER)  # type: ignore[arg-type]
        pm.shutdown(snapshot=False)
    src = Journal(_journal(tmp_path / "a"))
    (entry,) = list(src.read())
    kind, payload = entry.kind, bytearray(entry.payload)
    src.close()
    ahead = time.time_ns() + DAY_NS
    payload[2:10] = ahead.to_bytes(8, "little", signed=True)  # version, tag, then the timestamp
    data = tmp_path / "b"
    _journal(data).parent.mkdir(parents=True)
    dst = Journal(_journal(data))
    dst.append(kind, bytes(payload), timestamp_ns=ahead)
    dst.close()
    with PersistenceManager(data, maintenance=False) as pm:
        pm.recover_state()
        order = pm.ledger.order("f")
        assert order is not None and order.updated_ns == ahead
        problems = pm.last_recovery["@ledger"].problems
        assert any("clock:" in p and "future" in p for p in problems), problems
        pm.ledger.cancel_order("f")  # the ledger works on
    with PersistenceManager(data, maintenance=False) as pm:
        pm.recover_state()
        assert pm.ledger.order("f").status == "cancelled"  # type: ignore[union-attr]


DURABLE_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from pinnacle import LedgerError, PersistenceManager

    with PersistenceManager(sys.argv[1], {"ledgerSyncMode": sys.argv[2]}, maintenance=False) as pm:
        pm.recover_state()
        led = pm.ledger
        led.set_config("k", "v")
        last = led.journal_seq

        async def main() -> None:
            try:
                await asyncio.wait_for(led.durable(last + 5), 1)
            except LedgerError as e:
                assert e.code == "invalid_value" and str(last + 5) in str(e) and str(last) in str(e), e
                print("refused")
            # a cancelled waiter leaves nothing behind
            led.set_config("k", "w")
            task = asyncio.ensure_future(led.durable(led.journal_seq))
            await asyncio.sleep(0)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            assert led._durable is not None and not led._durable._waiters
            await asyncio.wait_for(led.durable(), 5)

        asyncio.run(main())
    print("exited")
    """
)


@pytest.mark.parametrize("mode", ["none", "interval", "always"])
def test_durable_refuses_an_unwritten_seq_and_never_hangs(tmp_path: Path, mode: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", DURABLE_CHILD, str(tmp_path), mode],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["refused", "exited"], out.stdout


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        ("1", "invalid_type"),
        (1.5, "invalid_type"),
        (True, "invalid_type"),
        (-1, "invalid_value"),
        (2**64, "invalid_value"),
    ],
)
def test_a_bad_timestamp_is_a_ledger_error(bad: object, code: str) -> None:
    from pinnacle import Ledger

    led = Ledger()
    calls: list[Callable[[], object]] = [
        lambda: led.submit_order("f", timestamp_ns=bad, **ORDER),  # type: ignore[arg-type]
        lambda: led.cancel_order("f", timestamp_ns=bad),  # type: ignore[arg-type]
        lambda: led.set_config("k", "v", timestamp_ns=bad),  # type: ignore[arg-type]
        lambda: led.strategy("s").record_signal(bad),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises(LedgerError, match="timestamp_ns") as e:
            call()
        assert e.value.code == code
    assert led.checksum() == Ledger().checksum()
