"""Hostile values for every public call: only documented exceptions come out, each naming
its argument, and nothing stored changes when a call is refused.

Documented: ``InvalidArgumentError`` (a ValueError) naming the argument for a bad value;
``TypeError`` naming it for a value of the wrong type (bools are not ints);
``PinnacleIOError`` (an OSError with errno and filename) for I/O; the other
``PinnacleError`` subclasses for what they document (a refused book operation, a replay
that does not fit). Never a panic, OverflowError, AttributeError or a bare ValueError.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pinnacle import (
    CorruptionError,
    EntriesCompactedError,
    InvalidArgumentError,
    Journal,
    JournalReader,
    Ledger,
    LedgerError,
    OrderBook,
    OrderBookError,
    PersistenceConfig,
    PersistenceManager,
    PinnacleIOError,
    ShadowBook,
)

# ------------------------------------------------------- the property test

# fmt: off
FIXED: list[Any] = [
    -1, 0, 1, 7, 2**16, -(2**63) - 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**200, -(2**200), 10**5000,
    True, False, 1.5, -0.0, math.nan, math.inf, -math.inf, 1e300,
    "", "0", "buy", "a\0b", "x" * 100_000, "../../etc/passwd", "\udcff",
    b"", b"\0", b"x" * 70_000, bytearray(b"ab"), None, [], [b"a", 1], {}, object(),
    Decimal("NaN"), Decimal("1e-999999999"), Decimal("1e999999999"), np.int64(-1), np.uint64(2**64 - 1),
    np.zeros((2, 3), dtype=np.float64), np.zeros((2, 3), dtype=np.uint8)[:, ::2],
]
# fmt: on
HOSTILE = st.one_of(
    st.sampled_from(FIXED), st.integers(), st.floats(), st.text(max_size=40), st.binary(max_size=40)
)


def _show(v: object) -> str:
    try:
        return f"{v!r:.60}"
    except ValueError:  # an int beyond sys.get_int_max_str_digits()
        return f"<{type(v).__name__} of {v.bit_length()} bits>" if isinstance(v, int) else "<unprintable>"


def _int(v: object) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _buffer(v: object) -> bool:
    try:
        return memoryview(v).format in ("B", "c")  # type: ignore[arg-type]
    except TypeError:
        return False


# The types a parameter takes: a TypeError is documented only for a value not among them.
TAKES: dict[str, Callable[[object], bool]] = {
    "int": _int,
    "str": lambda v: isinstance(v, str),
    "path": lambda v: isinstance(v, (str, os.PathLike)),
    "bytes": _buffer,
    "grid": lambda v: _int(v) or isinstance(v, (float, str, Decimal)),
    "marker": lambda v: _int(v) or _buffer(v),
    "any": lambda v: False,
}


@dataclass
class Target:
    """The objects the calls run against, and a fingerprint of everything they store."""

    tmp: Path
    j: Journal
    bj: Journal
    book: OrderBook
    reader: JournalReader
    shadow: ShadowBook
    pm: PersistenceManager
    n = itertools.count()

    def fresh(self, name: str) -> Path:
        return self.tmp / f"{name}-{next(self.n)}"

    def state(self) -> tuple[object, ...]:
        pmb = self.pm.order_book("PMB")
        return (
            self.j.entry_count,
            self.j.first_seq,
            self.j.last_seq,
            self.j.data_bytes,
            self.bj.entry_count,
            self.bj.last_seq,
            [repr(o) for o in self.book.orders()],
            [repr(o) for o in pmb.orders()],
            self.pm.get_journal("PMB").entry_count,  # type: ignore[union-attr]
            self.pm.ledger.checksum(),
        )


def _under(t: Target, v: object) -> object:
    """A str path is put under the test's directory; anything else passes as is."""
    return f"{t.fresh('p')}{v}" if isinstance(v, str) else v


def _manager(t: Target, **kw: Any) -> None:
    PersistenceManager(kw.pop("data_dir", t.fresh("pm")), maintenance=False, **kw).shutdown()


def _led(t: Target) -> Ledger:
    return t.pm.ledger


def _submit(t: Target, **kw: Any) -> object:
    args: dict[str, Any] = {"symbol": "S", "exchange": "e", "side": "buy", "order_type": "limit", "price": 1}
    args.update(kw)
    cid = args.pop("client_id", f"h{next(t.n)}")
    return _led(t).submit_order(cid, quantity=args.pop("quantity", 1), **args)


def _fill(t: Target, **kw: Any) -> object:
    args: dict[str, Any] = {"trade_id": f"t{next(t.n)}", "price": 1, "quantity": 1}
    args.update(kw)
    return _led(t).record_fill(args.pop("client_id", "L0"), **args)


def _json_file(t: Target, key: str, v: object) -> None:
    p = t.fresh("cfg.json")
    try:
        p.write_text(json.dumps({"persistence": {key: v}}))
    except (TypeError, ValueError):
        return  # not representable in JSON: from_dict covers it
    PersistenceConfig.from_json_file(p)


CONFIG_KEYS = {
    "enabled": "enabled",
    "dataDirectory": "data_directory",
    "journalSyncIntervalMs": "journal_sync_interval_ms",
    "journalSyncMode": "journal_sync_mode",
    "ledgerSyncMode": "ledger_sync_mode",
    "snapshotIntervalMin": "snapshot_interval_min",
    "keepSnapshots": "keep_snapshots",
    "compactionThreshold": "compaction_threshold",
}

# (call, argument name (as the message names it), what the argument takes, how to call)
Call = tuple[str, str, str, Callable[[Target, Any], object]]
CALLS: list[Call] = [
    ("Journal", "path", "path", lambda t, v: Journal(_under(t, v)).close()),  # type: ignore[arg-type]
    *[
        (f"Journal({k}=)", k, kind, lambda t, v, k=k: Journal(t.fresh("j"), **{k: v}).close())
        for k, kind in [
            ("sync", "str"),
            ("sync_interval_ms", "int"),
            ("recovery", "str"),
            ("growth", "str"),
            ("initial_size", "int"),
            ("growth_step", "int"),
            ("max_entry_size", "int"),
        ]
    ],
    ("append kind", "kind", "int", lambda t, v: t.j.append(v, b"p")),
    ("append payload", "payload", "bytes", lambda t, v: t.j.append(1, v)),
    ("append ts", "timestamp_ns", "int", lambda t, v: t.j.append(1, b"p", timestamp_ns=v)),
    ("append_many kind", "kind", "int", lambda t, v: t.j.append_many(v, [b"p"])),
    ("append_many payloads", "payloads", "any", lambda t, v: t.j.append_many(1, v)),
    ("append_many item", "payloads[1]", "bytes", lambda t, v: t.j.append_many(1, [b"p", v])),
    ("append_many ts", "timestamp_ns", "int", lambda t, v: t.j.append_many(1, [b"p"], timestamp_ns=v)),
    ("checkpoint", "marker", "marker", lambda t, v: t.j.checkpoint(v)),
    ("read", "from_seq", "int", lambda t, v: list(t.j.read(v))),
    ("read_array", "from_seq", "int", lambda t, v: t.j.read_array(v)),
    ("compact", "keep_from_seq", "int", lambda t, v: t.j.compact(v)),
    ("JournalReader path", "path", "path", lambda t, v: JournalReader(_under(t, v)).close()),  # type: ignore[arg-type]
    ("JournalReader from_seq", "from_seq", "int", lambda t, v: JournalReader(t.j.path, v).close()),
    ("poll", "max_entries", "int", lambda t, v: t.reader.poll(v)),
    ("wait max_entries", "max_entries", "int", lambda t, v: t.reader.wait(0, max_entries=v)),
    ("OrderBook symbol", "symbol", "str", lambda t, v: OrderBook(v)),
    ("OrderBook tick_size", "tick_size", "grid", lambda t, v: OrderBook("X", v)),
    ("OrderBook lot_size", "lot_size", "grid", lambda t, v: OrderBook("X", "0.01", v)),
    ("OrderBook journal", "journal", "any", lambda t, v: OrderBook("X", journal=v)),
    ("add_order id", "order_id", "any", lambda t, v: t.book.add_order(v, "buy", 1, 1)),
    ("add_order side", "side", "str", lambda t, v: t.book.add_order("n", v, 1, 1)),
    ("add_order price", "price", "grid", lambda t, v: t.book.add_order("n", "buy", v, 1)),
    ("add_order quantity", "quantity", "grid", lambda t, v: t.book.add_order("n", "buy", 1, v)),
    ("add_order ts", "timestamp_ns", "int", lambda t, v: t.book.add_order("n", "buy", 1, 1, v)),
    ("cancel_order id", "order_id", "any", lambda t, v: t.book.cancel_order(v)),
    ("cancel_order ts", "timestamp_ns", "int", lambda t, v: t.book.cancel_order("none", v)),
    ("execute_order qty", "quantity", "grid", lambda t, v: t.book.execute_order("b1", v)),
    ("execute_order ts", "timestamp_ns", "int", lambda t, v: t.book.execute_order("b1", 10**9, v)),
    ("execute_market_order side", "side", "str", lambda t, v: t.book.execute_market_order(v, 10**9)),
    ("execute_market_order qty", "quantity", "grid", lambda t, v: t.book.execute_market_order("sell", v)),
    ("modify_order price", "price", "grid", lambda t, v: t.book.modify_order("b1", price=v)),
    ("modify_order qty", "quantity", "grid", lambda t, v: t.book.modify_order("b1", quantity=v)),
    ("get_order", "order_id", "any", lambda t, v: t.book.get_order(v)),
    ("depth", "levels", "int", lambda t, v: t.book.depth(v)),
    ("snapshot_bytes", "created_ns", "int", lambda t, v: t.book.snapshot_bytes(v)),
    ("replay_journal", "from_seq", "int", lambda t, v: OrderBook("B").replay_journal(t.bj, v)),
    ("from_snapshot data", "data", "bytes", lambda t, v: OrderBook.from_snapshot(v, "0.01", "1")),
    ("attach_journal", "journal", "any", lambda t, v: t.book.copy().attach_journal(v)),
    ("ShadowBook path", "journal_path", "path", lambda t, v: ShadowBook(t.book, _under(t, v), 0)),  # type: ignore[arg-type]
    ("ShadowBook from_seq", "from_seq", "int", lambda t, v: ShadowBook(t.book, t.bj.path, v).close()),
    ("catch_up", "until_seq", "int", lambda t, v: t.shadow.catch_up(v)),
    ("shadow snapshot until", "until_seq", "int", lambda t, v: t.shadow.snapshot_bytes(until_seq=v)),
    ("shadow snapshot created", "created_ns", "int", lambda t, v: t.shadow.snapshot_bytes(created_ns=v)),
    ("PersistenceManager data_dir", "data_dir", "path", lambda t, v: _manager(t, data_dir=_under(t, v))),
    ("PersistenceManager config", "config", "any", lambda t, v: _manager(t, config=v)),
    ("pm.order_book symbol", "symbol", "str", lambda t, v: t.pm.order_book(v)),
    ("pm.order_book tick", "tick_size", "any", lambda t, v: t.pm.order_book("PMB", v)),
    ("pm.order_book lot", "lot_size", "any", lambda t, v: t.pm.order_book("PMB", None, v)),
    ("pm.get_journal", "symbol", "str", lambda t, v: t.pm.get_journal(v)),
    ("pm.get_snapshot_manager", "symbol", "str", lambda t, v: t.pm.get_snapshot_manager(v)),
    ("pm.get_recovered_order_book", "symbol", "str", lambda t, v: t.pm.get_recovered_order_book(v)),
    ("pm.snapshot", "symbol", "str", lambda t, v: t.pm.snapshot(v)),
    *[
        (f"ledger.submit_order {k}", k, "any", lambda t, v, k=k: _submit(t, **{k: v}))
        for k in ("client_id", "symbol", "exchange", "side", "order_type", "price", "quantity", "strategy_id")
    ],
    ("ledger.submit_order timestamp", "timestamp_ns", "int", lambda t, v: _submit(t, timestamp_ns=v)),
    *[
        (f"ledger.record_fill {k}", k, "any", lambda t, v, k=k: _fill(t, **{k: v}))
        for k in ("client_id", "trade_id", "price", "quantity", "fee", "fee_asset")
    ],
    ("ledger.ack_order", "client_id", "any", lambda t, v: _led(t).ack_order(v, exchange_order_id="x")),
    (
        "ledger.ack_order id",
        "exchange_order_id",
        "any",
        lambda t, v: _led(t).ack_order("L0", exchange_order_id=v),
    ),
    ("ledger.reject_order", "reason", "any", lambda t, v: _led(t).reject_order("L0", reason=v)),
    ("ledger.cancel_order", "client_id", "any", lambda t, v: _led(t).cancel_order(v)),
    (
        "ledger.update_position",
        "quantity",
        "any",
        lambda t, v: _led(t).update_position("S", "e", quantity=v, avg_price=1),
    ),
    (
        "ledger.update_position avg",
        "avg_price",
        "any",
        lambda t, v: _led(t).update_position("S", "e", quantity=1, avg_price=v),
    ),
    (
        "ledger.update_balance",
        "total",
        "any",
        lambda t, v: _led(t).update_balance("e", "A", total=v, available=0),
    ),
    (
        "ledger.halt_trading",
        "reason",
        "any",
        lambda t, v: (_led(t).halt_trading(v), _led(t).resume_trading()),
    ),
    ("ledger.resume_trading", "timestamp_ns", "int", lambda t, v: _led(t).resume_trading(timestamp_ns=v)),
    ("ledger.set_config key", "config key", "any", lambda t, v: _led(t).set_config(v, "v")),
    ("ledger.set_config value", "config value", "any", lambda t, v: _led(t).set_config("k", v)),
    ("ledger.set_mark_price", "mark price", "any", lambda t, v: _led(t).set_mark_price("S", v)),
    ("ledger.strategy id", "strategy_id", "any", lambda t, v: _led(t).strategy(v).set_active(True)),
    ("ledger.strategy parameters", "parameters", "any", lambda t, v: _led(t).strategy("s").set_parameters(v)),
    (
        "ledger.strategy custom_state",
        "custom_state",
        "any",
        lambda t, v: _led(t).strategy("s").set_custom_state(v),
    ),
    ("ledger.strategy active", "active", "any", lambda t, v: _led(t).strategy("s").set_active(v)),
    ("ledger.strategy signal", "timestamp_ns", "int", lambda t, v: _led(t).strategy("s").record_signal(v)),
    ("ledger.prune_fills", "older_than_s", "any", lambda t, v: _led(t).prune_fills(older_than_s=v)),
    ("ledger.order", "client_id", "str", lambda t, v: _led(t).order(v)),
    ("ledger.validate", "tolerance_s", "any", lambda t, v: _led(t).validate(tolerance_s=v)),
    ("ledger.state_at seq", "seq", "any", lambda t, v: _led(t).state_at(seq=v)),
    ("ledger.state_at timestamp", "timestamp_ns", "any", lambda t, v: _led(t).state_at(timestamp_ns=v)),
    ("ledger.durable", "seq", "any", lambda t, v: asyncio.run(_led(t).durable(v))),
    *[
        (f"config {key}", f"persistence.{key}", "any", lambda t, v, key=key: _manager(t, config={key: v}))
        for key in CONFIG_KEYS
    ],
    *[
        (
            f"PersistenceConfig({f}=)",
            f"persistence.{key}",
            "any",
            lambda t, v, f=f: PersistenceConfig(**{f: v}),
        )
        for key, f in CONFIG_KEYS.items()
    ],
    *[
        (f"config file {key}", f"persistence.{key}", "any", lambda t, v, key=key: _json_file(t, key, v))
        for key in CONFIG_KEYS
    ],
]

# Sizes the journal would really preallocate (up to 1 TiB): only the fixed values there.
FIXED_ONLY = {"initial_size", "growth_step"}


def _check(t: Target, call: Call, value: object) -> None:
    label, name, takes, fn = call
    if name in FIXED_ONLY and _int(value) and 4096 <= int(value) <= 1 << 40:  # type: ignore[arg-type]
        return
    before = t.state()
    try:
        fn(t, value)
        return
    except BaseException as e:  # a PanicException is a BaseException
        err = e
    where = f"{label}({_show(value)}) raised {type(err).__module__}.{type(err).__name__}: {err!s:.300}"
    text = " ".join([str(err), *getattr(err, "__notes__", [])])
    if isinstance(err, PinnacleIOError):
        assert err.errno and err.filename, where
    elif isinstance(err, LedgerError):
        assert err.code, where  # refused: nothing applied (checked below)
    elif isinstance(err, (OrderBookError, CorruptionError, EntriesCompactedError)):
        pass  # a refused operation / a replay that does not fit: documented, nothing applied
    elif isinstance(err, InvalidArgumentError):
        assert name in text, where
    elif type(err) is TypeError:
        assert not TAKES[takes](value) or (takes == "int" and isinstance(value, bool)), where
        assert name.split(".")[-1].split("[")[0] in text, where
    else:
        raise AssertionError(f"undocumented exception: {where}") from err
    assert not isinstance(err, OverflowError), where
    assert t.state() == before, f"state changed by a refused call: {where}"


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths (a config's default ``dataDirectory``) land in the test's own directory."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def target(tmp_path: Path) -> Any:
    j = Journal(tmp_path / "j.journal")
    for i in range(3):
        j.append(1, b"e%d" % i)
    bj = Journal(tmp_path / "book.journal")
    book = OrderBook("B", journal=bj)
    book.add_order("b1", "buy", 1, 5)
    book.add_order("a1", "sell", 2, 5)
    pm = PersistenceManager(tmp_path / "pm", maintenance=False)
    pm.order_book("PMB").add_order(1, "buy", 1, 1)
    pm.ledger.submit_order(
        "L0", symbol="S", exchange="e", side="buy", order_type="limit", price=1, quantity=10**9
    )
    t = Target(tmp_path, j, bj, book, JournalReader(j.path), ShadowBook(book, bj.path, 1), pm)
    yield t
    t.shadow.close()
    t.reader.close()
    pm.shutdown()
    j.close()
    bj.close()


pytestmark = pytest.mark.reliability("api_inputs")


def test_every_call_with_every_fixed_hostile_value(target: Target, cases: Any) -> None:
    for call in CALLS:
        for value in FIXED:
            _check(target, call, value)
            cases.add()


def test_every_call_with_random_hostile_values(target: Target, cases: Any) -> None:
    # 600 calls with the default "fast" profile, 15,000 with HYPOTHESIS_PROFILE=slow
    @settings(
        max_examples=15 * settings.default.max_examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.sampled_from(CALLS), HOSTILE)
    def run(call: Call, value: object) -> None:
        _check(target, call, value)
        cases.add()

    run()


def test_every_public_method_is_driven() -> None:
    """A new public method fails this until it gets a row in CALLS."""
    driven = " ".join(c[0] for c in CALLS)
    skip = {
        "close",
        "flush",
        "copy",
        "orders",
        "shutdown",
        "symbols",
        "recover_state",
        "perform_maintenance",
        "snapshot_all",
        "snapshot_ledger",
        "checksum",
        "strategy",
        "get_all_recovered_order_books",
        "has_recovered_order_books",
        "clear_recovered_order_books",
        "from_config_file",
        "from_dict",
        "from_json_file",
        "to_dict",
    }
    for cls in (Journal, JournalReader, OrderBook, ShadowBook, PersistenceManager, PersistenceConfig, Ledger):
        for name, member in vars(cls).items():
            if name.startswith("_") or name in skip or not callable(member) or isinstance(member, property):
                continue
            assert name in driven, f"{cls.__name__}.{name} is not driven with hostile values"
