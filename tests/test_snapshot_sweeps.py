"""Every truncation and every single-bit flip of a snapshot is rejected."""

from __future__ import annotations

import pytest
from scorecard import Cases

from pinnacle import CorruptionError, OrderBook


def small_snapshot() -> bytes:
    b = OrderBook("SWEEP", tick_size=1, lot_size=1)
    b.add_order(1, "buy", 100, 5, timestamp_ns=1)
    b.add_order("ask-1", "sell", 101, 3, timestamp_ns=2)
    b.execute_order(1, 2, timestamp_ns=3)
    return b.snapshot_bytes(created_ns=4)[0]


@pytest.mark.reliability("truncation")
def test_snapshot_cut_at_every_byte_is_rejected(cases: Cases) -> None:
    data = small_snapshot()
    OrderBook.from_snapshot(data, 1, 1)
    for cut in range(len(data)):
        with pytest.raises(CorruptionError):
            OrderBook.from_snapshot(data[:cut], 1, 1)
        cases.add()


@pytest.mark.reliability("bitflip")
def test_every_bit_flip_of_a_snapshot_is_rejected(cases: Cases) -> None:
    data = small_snapshot()
    for bit in range(len(data) * 8):
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(CorruptionError):
            OrderBook.from_snapshot(bytes(flipped), 1, 1)
        cases.add()
