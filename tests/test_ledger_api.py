"""The ledger's Python face: operations, typed Decimal views, refusals (LedgerError with
a code, nothing changed, nothing journaled), exactness against fractions.Fraction."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pinnacle import Journal, Ledger, LedgerError, PinnacleError, _core


def journaled(tmp_path: Path) -> tuple[Journal, Ledger]:
    j = Journal(str(tmp_path / "ledger.journal"))
    return j, Ledger(_core.Ledger(journal=j))


def test_the_issue_walkthrough(tmp_path: Path) -> None:
    j, led = journaled(tmp_path)
    o = led.submit_order(
        "c-1",
        symbol="BTC-USD",
        exchange="binance",
        side="buy",
        order_type="limit",
        price="64000.5",
        quantity="0.25",
        strategy_id="mm-1",
    )
    assert (o.status, o.price, o.quantity) == ("pending", Decimal("64000.5"), Decimal("0.25"))
    assert led.ack_order("c-1", exchange_order_id="884213").status == "open"
    led.submit_order("c-2", symbol="BTC-USD", exchange="binance", side="buy", order_type="market", quantity=1)
    assert led.reject_order("c-2", reason="insufficient margin").status == "rejected"
    f = led.record_fill("c-1", trade_id="t-9", price="64000.5", quantity="0.1", fee="0.64", fee_asset="USDT")
    assert (f.quantity, f.fee, f.exchange) == (Decimal("0.1"), Decimal("0.64"), "binance")
    assert led.orders["c-1"].status == "partially_filled"
    assert led.cancel_order("c-1").status == "cancelled"
    led.update_position("ETH-USD", "kraken", quantity="-3", avg_price="3100")
    led.update_balance("binance", "USDT", total="1000000", available="990000")
    led.set_mark_price("BTC-USD", "64100")
    led.halt_trading("daily loss limit")
    assert led.risk.trading_halted and led.risk.halt_reason == "daily loss limit"
    led.resume_trading()
    assert not led.risk.trading_halted
    led.set_config("max_position.BTC-USD", "2")
    assert (led.config["max_position.BTC-USD"], led.config_version) == ("2", 1)
    s = led.strategy("mm-1")
    s.set_parameters({"spread_bps": 4.0})
    s.set_custom_state(b"...")
    s.set_active(True)
    s.record_signal()
    st_ = led.strategies["mm-1"]
    assert st_.parameters == {"spread_bps": 4.0} and st_.custom_state == b"..." and st_.active
    assert st_.last_signal_time is not None
    pos = led.positions[("BTC-USD", "binance")]
    assert (pos.quantity, pos.avg_price) == (Decimal("0.1"), Decimal("64000.5"))
    assert led.unrealized_pnl == Decimal("0.1") * (Decimal("64100") - Decimal("64000.5"))
    assert led.risk.position_limit_usage["BTC-USD"] == Decimal("0.05")
    assert led.risk.gross_exposure == Decimal("6410") + Decimal("9300")
    assert led.balances[("binance", "USDT")].available == Decimal("990000")
    assert led.fees == {"USDT": Decimal("0.64")}
    assert [x.trade_id for x in led.recent_fills] == ["t-9"]
    assert led.open_orders == () and led.pending_orders == ()
    assert led.validate() == []
    assert led.last_update_timestamp > 0
    with pytest.raises(AttributeError):
        o.status = "open"  # type: ignore[misc]
    # replay of the journal gives the same checksum
    again = _core.Ledger()
    assert again.replay_journal(j, 1) == j.next_seq - 1
    assert again.checksum() == led.checksum()


def test_refusals_raise_ledger_error_change_nothing_journal_nothing(tmp_path: Path) -> None:
    j, led = journaled(tmp_path)
    led.submit_order("c-1", symbol="X", exchange="e", side="buy", order_type="limit", price=1, quantity=2)
    cases = [
        (
            "duplicate_order",
            lambda: led.submit_order(
                "c-1", symbol="X", exchange="e", side="buy", order_type="limit", price=1, quantity=1
            ),
        ),
        ("unknown_order", lambda: led.record_fill("nope", trade_id="t", price=1, quantity=1)),
        ("overfill", lambda: led.record_fill("c-1", trade_id="t", price=1, quantity=3)),
        (
            "invalid_quantity",
            lambda: led.submit_order(
                "c-2", symbol="X", exchange="e", side="buy", order_type="limit", price=1, quantity="-1"
            ),
        ),
        (
            "invalid_quantity",
            lambda: led.submit_order(
                "c-2", symbol="X", exchange="e", side="buy", order_type="limit", price=1, quantity=0
            ),
        ),
        (
            "invalid_value",
            lambda: led.submit_order(
                "c-2", symbol="X", exchange="e", side="long", order_type="limit", price=1, quantity=1
            ),
        ),
        (
            "invalid_value",
            lambda: led.submit_order(
                "c-2", symbol="X", exchange="e", side="buy", order_type="iceberg", price=1, quantity=1
            ),
        ),
        (
            "invalid_value",
            lambda: led.submit_order(
                "c-2", symbol="X", exchange="e", side="buy", order_type="limit", price="1e-19", quantity=1
            ),
        ),
        (
            "invalid_value",
            lambda: led.submit_order(
                "c-2",
                symbol="X",
                exchange="e",
                side="buy",
                order_type="limit",
                price=float("nan"),
                quantity=1,
            ),
        ),
        (
            "invalid_type",
            lambda: led.submit_order(
                "c-2", symbol="X", exchange="e", side="buy", order_type="limit", price=[1], quantity=1
            ),
        ),  # type: ignore[arg-type]
        (
            "invalid_type",
            lambda: led.submit_order(
                7, symbol="X", exchange="e", side="buy", order_type="limit", price=1, quantity=1
            ),
        ),  # type: ignore[arg-type]
        (
            "overflow",
            lambda: led.submit_order(
                "c-2", symbol="X", exchange="e", side="buy", order_type="limit", price=1, quantity="1e30"
            ),
        ),
        ("unknown_order", lambda: led.cancel_order("zz")),
        ("invalid_value", lambda: led.update_balance("e", "USDT", total=1, available=2)),
        ("invalid_value", lambda: led.strategy("s").set_parameters({"x": float("nan")})),
    ]
    for code, call in cases:
        before, seq = led.checksum(), j.next_seq
        with pytest.raises(LedgerError) as ei:
            call()
        assert ei.value.code == code, (code, str(ei.value))
        assert isinstance(ei.value, PinnacleError) and isinstance(ei.value, ValueError)
        assert (led.checksum(), j.next_seq) == (before, seq), code
    led.cancel_order("c-1")
    with pytest.raises(LedgerError, match="cancelled") as ei:
        led.record_fill("c-1", trade_id="t", price=1, quantity=1)
    assert ei.value.code == "order_closed"
    led.halt_trading("limit hit")
    with pytest.raises(LedgerError, match="limit hit") as ei:
        led.submit_order("c-3", symbol="X", exchange="e", side="buy", order_type="limit", price=1, quantity=1)
    assert ei.value.code == "halted"


def test_a_duplicate_fill_returns_the_recorded_one_and_journals_nothing(tmp_path: Path) -> None:
    j, led = journaled(tmp_path)
    led.submit_order("c-1", symbol="X", exchange="e", side="sell", order_type="limit", price=10, quantity=5)
    first = led.record_fill("c-1", trade_id="t-1", price=10, quantity=2)
    seq = j.next_seq
    again = led.record_fill("c-1", trade_id="t-1", price=10, quantity=2)
    assert again == first and j.next_seq == seq
    assert led.orders["c-1"].filled_quantity == Decimal(2)
    assert led.positions[("X", "e")].quantity == Decimal(-2)


def test_numbers_are_accepted_as_str_int_decimal_and_float_at_shortest_repr(tmp_path: Path) -> None:
    _, led = journaled(tmp_path)
    for i, price in enumerate(["0.1", 1, Decimal("0.1"), 0.1, 1e-8]):
        o = led.submit_order(
            f"c{i}", symbol="X", exchange="e", side="buy", order_type="limit", price=price, quantity=1
        )
        assert o.price == Decimal(str(price))


def test_prune_fills_bounds_the_window(tmp_path: Path) -> None:
    _, led = journaled(tmp_path)
    led.submit_order("c", symbol="X", exchange="e", side="buy", order_type="limit", price=1, quantity=5)
    led.record_fill("c", trade_id="old", price=1, quantity=1, timestamp_ns=1_000)
    led.record_fill("c", trade_id="new", price=1, quantity=1, timestamp_ns=10_000_000_000)
    led.prune_fills(older_than_s=5, now_ns=12_000_000_000)
    assert [f.trade_id for f in led.recent_fills] == ["new"]
    # a pruned fill re-delivered is still a duplicate
    assert led.record_fill("c", trade_id="old", price=1, quantity=1).timestamp_ns == 1_000
    assert led.orders["c"].filled_quantity == 2


# Exactness: random fills against an average-cost model in Fractions (the ledger's one
# rounding, half-even at 18 places after the average's division, applied to the model).
Q18 = Fraction(1, 10**18)


def round18(x: Fraction) -> Fraction:
    n = x / Q18
    f = n.numerator // n.denominator
    r = n - f
    if r > Fraction(1, 2) or (r == Fraction(1, 2) and f % 2):
        f += 1
    return f * Q18


prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999"), places=4)
qtys = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("50"), places=3)


@given(st.lists(st.tuples(st.booleans(), qtys, prices), min_size=1, max_size=40))
def test_positions_and_pnl_equal_a_fraction_model(fills: list[tuple[bool, Decimal, Decimal]]) -> None:
    led = Ledger()
    q, avg, realized = Fraction(0), Fraction(0), Fraction(0)
    for i, (buy, qty, px) in enumerate(fills):
        led.submit_order(
            f"c{i}",
            symbol="X",
            exchange="e",
            side="buy" if buy else "sell",
            order_type="limit",
            price=px,
            quantity=qty,
        )
        led.record_fill(f"c{i}", trade_id=f"t{i}", price=px, quantity=qty)
        f, p = Fraction(qty), Fraction(px)
        d = f if buy else -f
        if q == 0 or (q > 0) == (d > 0):
            avg = round18((abs(q) * avg + f * p) / abs(q + d))
        else:
            closed = min(f, abs(q))
            realized += round18(closed * ((p - avg) if q > 0 else (avg - p)))
            if q + d == 0:
                avg = Fraction(0)
            elif (q + d > 0) != (q > 0):
                avg = p
        q += d
    pos = led.positions[("X", "e")]
    assert Fraction(pos.quantity) == q
    assert Fraction(pos.avg_price) == avg
    assert Fraction(led.realized_pnl) == realized


@pytest.mark.parametrize("bad", [" ", "a\x00b", "a\nb", "x" * 257])
def test_blank_overlong_or_control_character_ids_are_refused(tmp_path: Path, bad: str) -> None:
    j, led = journaled(tmp_path)
    seq = j.next_seq
    with pytest.raises(LedgerError) as info:
        led.submit_order(
            bad, symbol="X-USD", exchange="e1", side="buy", order_type="limit", price="1", quantity="1"
        )
    assert info.value.code == "invalid_value"
    assert j.next_seq == seq and led.orders == {}
