"""The OrderBook's Python face: exact grids, matching, errors, journaling, snapshots, replay."""

from __future__ import annotations

import gc
import threading
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pinnacle import (
    CorruptionError,
    InvalidArgumentError,
    Journal,
    JournalClosedError,
    OrderBook,
    OrderBookError,
    ShadowBook,
    Side,
)


def test_prices_and_quantities_are_exact_on_the_grid() -> None:
    b = OrderBook("BTC-USD", tick_size="0.01", lot_size=Decimal("0.0001"))
    assert (b.tick_size, b.lot_size) == ("0.01", "0.0001")
    b.add_order(1, "buy", 100.1, 0.3)
    b.add_order(2, "buy", Decimal("100.10"), "0.7")
    b.add_order(3, "buy", 100, 1)
    assert b.best_bid == 100.1
    depth = b.depth(5)
    assert depth.bid_price.tolist() == [100.1, 100.0]
    assert depth.bid_quantity.tolist() == [1.0, 1.0]  # 0.3 + 0.7 exactly, no drift
    assert depth.bid_count.tolist() == [2, 1] and depth.ask_price.size == 0
    for _ in range(1000):
        b.add_order(9, "buy", 100.1, 0.1)
        b.cancel_order(9)
    assert b.depth(1).bid_quantity.tolist() == [1.0]


@pytest.mark.parametrize(
    ("price", "qty"),
    [(100.005, 1), ("100.001", 1), (Decimal("1E-3"), 1), (100, 0.5), (100, "1.5"), (float("nan"), 1)],
)
def test_off_grid_values_are_refused(price: object, qty: object) -> None:
    b = OrderBook("X", tick_size=0.01, lot_size=1)
    with pytest.raises(InvalidArgumentError):
        b.add_order(1, "buy", price, qty)
    assert b.order_count == 0


class _Int(int):
    """An int subclass: takes the general conversion path, not the exact-int fast path."""


@pytest.mark.parametrize(("tick", "lot"), [("0.01", "0.0001"), ("5", "1"), ("2.5", "0.5"), ("1", "1")])
def test_int_fast_paths_agree_with_the_general_conversion(tick: str, lot: str) -> None:
    """Exact ints take a fast path; its ticks, lots and refusals are the general path's."""
    fast, slow = OrderBook("X", tick, lot), OrderBook("X", tick, lot)

    def outcome(book: OrderBook, *args: object) -> object:
        try:
            return [repr(f) for f in book.add_order(*args)]
        except InvalidArgumentError as e:
            return type(e), str(e)

    for i, (price, qty) in enumerate([(5, 1), (10, 2), (15, 3), (2**40, 5), (100, 10), (3, 7)]):
        side = "sell" if i % 2 else "buy"
        got = outcome(fast, i, side, price, qty, i + 1)
        assert got == outcome(slow, _Int(i), side, Decimal(price), str(qty), i + 1), (tick, lot, price, qty)
    assert [(o.order_id, o.price, o.quantity) for o in fast.orders()] == [
        (o.order_id, o.price, o.quantity) for o in slow.orders()
    ]
    for bad_price in (2**63, -(2**63) - 1, 2**70, True):
        with pytest.raises((InvalidArgumentError, TypeError)):
            fast.add_order(99, "buy", bad_price, 1)
    with pytest.raises(InvalidArgumentError, match="timestamp_ns"):
        fast.add_order(99, "buy", 5, 1, -1)
    with pytest.raises(TypeError, match="timestamp_ns"):
        fast.add_order(99, "buy", 5, 1, True)
    with pytest.raises(InvalidArgumentError, match="order_id"):
        fast.add_order(-1, "buy", 5, 1)
    with pytest.raises(TypeError, match="order_id"):
        fast.add_order(True, "buy", 5, 1)
    assert 99 not in [o.order_id for o in fast.orders()]


def test_execute_fill_names_the_maker_as_a_plain_id() -> None:
    b = OrderBook("X", 1, 1)
    b.add_order(2**64 - 1, "buy", 10, 5)
    b.add_order("abc", "buy", 10, 5)
    b.add_order(_Int(7), "buy", 10, 5)
    f = b.execute_order(2**64 - 1, 1)
    assert f.maker_order_id == 2**64 - 1 and type(f.maker_order_id) is int
    f = b.execute_order("abc", 1)
    assert f.maker_order_id == "abc" and type(f.maker_order_id) is str
    f = b.execute_order(_Int(7), 1)
    assert f.maker_order_id == 7 and type(f.maker_order_id) is int
    f = b.execute_order(7, 1)
    assert (f.maker_order_id, f.taker_order_id, f.side, f.price, f.quantity) == (7, None, "buy", 10.0, 1.0)


@pytest.mark.parametrize("bad", [0, -0.01, "abc", float("inf"), True, [1]])
def test_bad_grid_sizes_are_refused(bad: object) -> None:
    with pytest.raises((InvalidArgumentError, TypeError)):
        OrderBook("X", tick_size=bad)


def test_matching_price_time_priority_and_fills() -> None:
    b = OrderBook("X", tick_size=1, lot_size=1)
    b.add_order("s1", "sell", 101, 5, timestamp_ns=1)
    b.add_order("s2", Side.SELL, 101, 5, timestamp_ns=2)
    b.add_order("s3", "sell", 102, 5, timestamp_ns=3)
    fills = b.add_order("b1", "buy", 102, 12, timestamp_ns=4)
    assert [(f.maker_order_id, f.taker_order_id, f.price, f.quantity) for f in fills] == [
        ("s1", "b1", 101.0, 5.0),
        ("s2", "b1", 101.0, 5.0),
        ("s3", "b1", 102.0, 2.0),
    ]
    assert b.get_order("b1") is None and b.get_order("s3").remaining_quantity == 3
    market = b.execute_market_order("buy", 10)
    assert [(f.maker_order_id, f.quantity) for f in market] == [("s3", 3.0)]
    assert b.best_ask is None and b.spread is None and b.mid_price is None


def test_modify_keeps_or_loses_priority() -> None:
    b = OrderBook("X", tick_size=1, lot_size=1)
    b.add_order(1, "buy", 100, 10, timestamp_ns=1)
    b.add_order(2, "buy", 100, 10, timestamp_ns=2)
    b.modify_order(1, quantity=4, timestamp_ns=3)  # down: keeps priority
    assert [o.order_id for o in b.orders()] == [1, 2]
    b.modify_order(1, quantity=8, timestamp_ns=4)  # up: back of the queue
    assert [o.order_id for o in b.orders()] == [2, 1]
    b.modify_order(2, price=99, timestamp_ns=5)
    assert b.best_bid == 100 and b.get_order(2).price == 99
    with pytest.raises(InvalidArgumentError):
        b.modify_order(2)


@pytest.mark.parametrize(
    "call",
    [
        lambda b: b.add_order("o1", "buy", 100, 1),  # duplicate id
        lambda b: b.execute_order("nope", 1),  # unknown id
        lambda b: b.execute_order("o1", 6),  # overfill
        lambda b: b.execute_order("o1", 0),
        lambda b: b.add_order("o2", "buy", 100, -1),
        lambda b: b.add_order("o2", "buy", 0, 1),
        lambda b: b.add_order("x" * 65, "buy", 100, 1),
        lambda b: b.add_order("", "buy", 100, 1),
        lambda b: b.add_order(2**64, "buy", 100, 1),
        lambda b: b.add_order(1.5, "buy", 100, 1),
        lambda b: b.add_order("o2", "hold", 100, 1),
        lambda b: b.modify_order("o1", price=200),  # would cross the ask at 101
        lambda b: b.execute_market_order("sell", 0),
        lambda b: b.add_order("o2", "buy", 100, 1, timestamp_ns=-1),
    ],
)
def test_refused_operations_change_nothing_and_journal_nothing(tmp_path: Path, call) -> None:  # type: ignore[no-untyped-def]
    j = Journal(tmp_path / "b.journal")
    b = OrderBook("X", tick_size=1, lot_size=1, journal=j)
    b.add_order("o1", "buy", 100, 5)
    b.add_order("a1", "sell", 101, 5)
    before, seq = b.copy(), j.last_seq
    with pytest.raises((OrderBookError, InvalidArgumentError, TypeError)) as info:
        call(b)
    assert str(info.value)
    assert b == before and j.last_seq == seq


def test_every_change_is_journaled_write_ahead_and_replays_exactly(tmp_path: Path) -> None:
    j = Journal(tmp_path / "b.journal")
    b = OrderBook("X", tick_size=0.5, lot_size=1, journal=j)
    assert b.journal is j
    b.add_order(1, "sell", 10.5, 3)
    b.add_order("two", "buy", 10.5, 1)
    b.modify_order(1, quantity=1)
    assert b.cancel_order("missing") is False  # changes nothing: journals nothing
    b.execute_market_order("buy", 5)
    assert j.last_seq == 4
    replayed = OrderBook("X", tick_size=0.5, lot_size=1)
    assert replayed.replay_journal(j, 1) == 4
    assert replayed == b
    with pytest.raises(InvalidArgumentError):
        b.attach_journal(j)


def test_snapshot_roundtrip_and_damage(tmp_path: Path) -> None:
    j = Journal(tmp_path / "b.journal")
    b = OrderBook("X", tick_size=0.01, lot_size=1, journal=j)
    for i in range(100):
        b.add_order(i, "buy" if i % 2 else "sell", 100 + (i % 7) / 100 if i % 2 else 101 + i / 100, 1 + i)
    data, covered = b.snapshot_bytes(created_ns=123)
    assert covered == j.last_seq == 100
    loaded, info = OrderBook.from_snapshot(data, 0.01, 1)
    assert loaded == b and loaded.journal is None
    assert (info.covered_seq, info.created_ns, info.symbol, info.order_count) == (100, 123, "X", 100)
    for cut in (0, 10, len(data) // 2, len(data) - 1):
        with pytest.raises(CorruptionError):
            OrderBook.from_snapshot(data[:cut], 0.01, 1)
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 4
    with pytest.raises(CorruptionError):
        OrderBook.from_snapshot(bytes(flipped), 0.01, 1)


def test_shadow_book_follows_the_journal_without_touching_the_live_book(tmp_path: Path) -> None:
    j = Journal(tmp_path / "b.journal")
    b = OrderBook("X", tick_size=1, lot_size=1, journal=j)
    shadow = ShadowBook(b.copy(), j.path, j.next_seq)
    for i in range(50):
        b.add_order(i, "buy", 100 - i % 5, 1)
    j.checkpoint(10)
    b.cancel_order(3)
    data, covered = shadow.snapshot_bytes(until_seq=20)
    assert covered == 20 == shadow.seq
    partial, _ = OrderBook.from_snapshot(data, 1, 1)
    assert partial.order_count == 20
    data, covered = shadow.snapshot_bytes()
    assert covered == j.last_seq
    assert OrderBook.from_snapshot(data, 1, 1)[0] == b


def test_replay_refuses_a_journal_that_does_not_belong(tmp_path: Path) -> None:
    j = Journal(tmp_path / "b.journal")
    b = OrderBook("X", tick_size=1, lot_size=1, journal=j)
    b.add_order(1, "buy", 100, 1)
    other = OrderBook("X", tick_size=1, lot_size=1)
    other.add_order(1, "buy", 100, 1)  # already holds order 1: replay must fail loudly
    with pytest.raises(CorruptionError, match="seq 1"):
        other.replay_journal(j, 1)
    plain = Journal(tmp_path / "plain.journal")  # not a book's: any kind may be appended
    plain.append(7, b"foreign kind")
    with pytest.raises(CorruptionError, match="kind 7"):
        OrderBook("X", tick_size=1, lot_size=1).replay_journal(plain, 1)


def test_cancelling_an_unknown_id_journals_nothing(tmp_path: Path) -> None:
    """Issue 11 item 7: refused or no-op operations do not grow the journal."""
    j = Journal(tmp_path / "b.journal")
    b = OrderBook("X", tick_size=1, lot_size=1, journal=j)
    b.add_order(1, "buy", 100, 1)
    for _ in range(100):
        assert b.cancel_order("no-such-id") is False
    assert j.last_seq == 1 and j.entry_count == 1
    assert b.cancel_order(1) is True and j.last_seq == 2


def test_a_journal_belongs_to_one_book(tmp_path: Path) -> None:
    """Issue 15 item 6 and issue 11 item 6: a second book on a book's journal, and direct
    appends to it, are refused (either would make its recovery fail); checkpoints,
    flushes and reads stay allowed. The journal is free again once its book is gone."""
    j = Journal(tmp_path / "b.journal")
    assert not j.owned_by_book
    b = OrderBook("X", tick_size=1, lot_size=1, journal=j)
    b.add_order(1, "buy", 100, 1)
    assert j.owned_by_book
    with pytest.raises(InvalidArgumentError, match="another order book"):
        OrderBook("X", tick_size=1, lot_size=1, journal=j)
    other = OrderBook("X", tick_size=1, lot_size=1)
    with pytest.raises(InvalidArgumentError, match="another order book"):
        other.attach_journal(j)
    for call in (
        lambda: j.append(7, b"foreign"),
        lambda: j.append(1, b"x"),
        lambda: j.append_many(7, [b"a"]),
    ):
        with pytest.raises(InvalidArgumentError, match="only the book appends"):
            call()
    j.checkpoint(1)
    j.flush()
    assert j.last_seq == 2 and len(list(j.read())) == 2
    replayed = OrderBook("X", tick_size=1, lot_size=1)
    assert replayed.replay_journal(j, 1) == 1 and replayed == b
    del b
    gc.collect()
    assert not j.owned_by_book
    again = OrderBook("X", tick_size=1, lot_size=1, journal=j)
    again.add_order(2, "buy", 99, 1)
    assert j.last_seq == 3


def test_threads_trading_one_journaled_book(tmp_path: Path) -> None:
    j = Journal(tmp_path / "b.journal")
    b = OrderBook("X", tick_size=1, lot_size=1, journal=j)

    def trade(t: int) -> None:
        for i in range(500):
            b.add_order(f"{t}-{i}", "buy" if t % 2 else "sell", 100 + (1 if t % 2 else 2), 1)
            if i % 3 == 0:
                b.cancel_order(f"{t}-{i}")

    threads = [threading.Thread(target=trade, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    replayed = OrderBook("X", tick_size=1, lot_size=1)
    replayed.replay_journal(j, 1)
    assert replayed == b


ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "cancel", "exec", "market", "modify"]),
        st.integers(0, 15),
        st.sampled_from(["buy", "sell"]),
        st.integers(95, 105),
        st.integers(1, 6),
    ),
    max_size=80,
)


@given(ops)
def test_random_operation_sequences_replay_to_the_same_book(
    seq: list[tuple[str, int, str, int, int]],
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        j = Journal(Path(d) / "h.journal")
        b = OrderBook("H", tick_size=1, lot_size=1, journal=j)
        for ts, (op, oid, side, price, qty) in enumerate(seq, start=1):
            try:
                if op == "add":
                    b.add_order(oid, side, price, qty, timestamp_ns=ts)
                elif op == "cancel":
                    b.cancel_order(oid, timestamp_ns=ts)
                elif op == "exec":
                    b.execute_order(oid, qty, timestamp_ns=ts)
                elif op == "market":
                    b.execute_market_order(side, qty, timestamp_ns=ts)
                else:
                    b.modify_order(oid, price=price, timestamp_ns=ts)
            except OrderBookError:
                pass
        replayed = OrderBook("H", tick_size=1, lot_size=1)
        replayed.replay_journal(j, 1)
        assert replayed == b
        total = sum(o.remaining_quantity for o in b.orders())
        d5 = b.depth(100)
        assert total == float(np.sum(d5.bid_quantity) + np.sum(d5.ask_quantity))
        j.close()


def test_snapshot_of_a_fully_compacted_journal_covers_the_last_seq(tmp_path: Path) -> None:
    j = Journal(tmp_path / "c.journal")
    b = OrderBook("X", tick_size=1, lot_size=1, journal=j)
    b.add_order(1, "buy", 100, 1)
    b.add_order(2, "buy", 99, 1)
    j.compact(j.next_seq)
    assert j.entry_count == 0
    _, covered = b.snapshot_bytes()
    assert covered == 2


def test_closed_shadow_book_refuses_calls(tmp_path: Path) -> None:
    j = Journal(tmp_path / "s.journal")
    shadow = ShadowBook(OrderBook("X"), j.path, 1)
    shadow.close()
    with pytest.raises(JournalClosedError):
        shadow.catch_up()
