"""The trading-state ledger: orders, fills, positions, balances, risk, config and
strategies, journaled write-ahead (validate, journal, apply under one lock) and recovered
exactly. The state and its replay live in Rust (``pinnacle._core.Ledger``); this module
gives it its Python face: keyword arguments, typed immutable views (named tuples, cheap to
build on every call), ``Decimal`` numbers.

Numbers are accepted as ``str``, ``int``, ``Decimal`` or ``float`` (a float at its
shortest repr) and kept as exact decimals with 18 places; an average-cost division is
rounded half-to-even at the 18th place, and nothing else is rounded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NamedTuple

from pinnacle import _core
from pinnacle._durable import DurableWaiter
from pinnacle.errors import LedgerError

Number = str | int | float | Decimal

__all__ = [
    "Balance",
    "Ledger",
    "LedgerFill",
    "LedgerOrder",
    "Position",
    "RiskState",
    "StrategyHandle",
    "StrategyState",
]


class LedgerOrder(NamedTuple):
    client_id: str
    symbol: str
    exchange: str
    side: str
    order_type: str
    price: Decimal | None
    quantity: Decimal
    filled_quantity: Decimal
    status: str
    exchange_order_id: str | None
    strategy_id: str | None
    reason: str | None
    created_ns: int
    updated_ns: int

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.filled_quantity


class LedgerFill(NamedTuple):
    exchange: str
    trade_id: str
    client_id: str
    symbol: str
    side: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    realized_pnl: Decimal
    timestamp_ns: int


class Position(NamedTuple):
    symbol: str
    exchange: str
    quantity: Decimal
    avg_price: Decimal
    realized_pnl: Decimal
    updated_ns: int


class Balance(NamedTuple):
    exchange: str
    asset: str
    total: Decimal
    available: Decimal
    updated_ns: int


class RiskState(NamedTuple):
    trading_halted: bool
    halt_reason: str | None
    halt_timestamp: int | None
    realized_pnl: Decimal
    unrealized_pnl: Decimal | None
    gross_exposure: Decimal | None
    net_exposure: Decimal | None
    #: |net position| / the ``max_position.SYMBOL`` config value, per symbol with a limit.
    position_limit_usage: Mapping[str, Decimal]


class StrategyState(NamedTuple):
    strategy_id: str
    parameters: Mapping[str, Any]
    custom_state: bytes
    active: bool
    last_signal_time: int | None
    updated_ns: int


_new = tuple.__new__


def _order(t: tuple[Any, ...]) -> LedgerOrder:
    cid, sym, ex, side, kind, price, qty, filled, status, eoid, sid, reason, created, updated = t
    p = None if price is None else Decimal(price)
    row = (
        cid,
        sym,
        ex,
        side,
        kind,
        p,
        Decimal(qty),
        Decimal(filled),
        status,
        eoid,
        sid,
        reason,
        created,
        updated,
    )
    return _new(LedgerOrder, row)


def _fill(t: tuple[Any, ...]) -> LedgerFill:
    ex, trade, cid, sym, side, price, qty, fee, asset, realized, ts = t
    row = (
        ex,
        trade,
        cid,
        sym,
        side,
        Decimal(price),
        Decimal(qty),
        Decimal(fee),
        asset,
        Decimal(realized),
        ts,
    )
    return _new(LedgerFill, row)


def _refuse(message: str, code: str = "invalid_value") -> LedgerError:
    err = LedgerError(message)
    err.code = code
    return err


def _show(v: object) -> str:
    """``repr(v)``, bounded (an int beyond ``sys.get_int_max_str_digits()`` has no repr)."""
    try:
        text = repr(v)
    except ValueError:
        return f"an int of {v.bit_length()} bits" if isinstance(v, int) else f"a {type(v).__name__}"
    return text if len(text) <= 80 else f"{text[:77]}..."


def _seq_arg(name: str, v: object) -> int | None:
    """An optional journal seq or timestamp: None or an int in 0..2**63-1."""
    if v is None:
        return None
    if not isinstance(v, int) or isinstance(v, bool):
        raise _refuse(f"{name} must be an int or None, not {type(v).__name__}", "invalid_type")
    if not 0 <= v < 1 << 63:
        raise _refuse(f"{name} must be between 0 and 2**63-1, got {_show(v)}")
    return v


def _seconds_arg(name: str, v: object) -> float:
    """A non-negative, finite number of seconds (at most ~31 years)."""
    if not isinstance(v, int | float) or isinstance(v, bool):
        raise _refuse(f"{name} must be a number of seconds, not {type(v).__name__}", "invalid_type")
    if not 0 <= v <= 1e9:  # NaN fails too
        raise _refuse(f"{name} must be between 0 and 1e9 seconds, got {_show(v)}")
    return float(v)


def _opt(v: str | None) -> Decimal | None:
    return None if v is None else Decimal(v)


class StrategyHandle:
    """Changes to one strategy's journaled state (parameters, custom state, active flag,
    last signal time)."""

    __slots__ = ("_core", "strategy_id")

    def __init__(self, core: _core.Ledger, strategy_id: str) -> None:
        self._core = core
        self.strategy_id = strategy_id

    def set_parameters(self, parameters: Mapping[str, Any]) -> None:
        try:
            text = json.dumps(dict(parameters), sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as e:
            err = LedgerError(f"strategy {self.strategy_id!r} parameters are not JSON: {e}")
            err.code = "invalid_value"
            raise err from None
        self._core.strategy_update(self.strategy_id, "parameters", text)

    def set_custom_state(self, state: bytes) -> None:
        self._core.strategy_update(self.strategy_id, "custom_state", state)

    def set_active(self, active: bool) -> None:
        self._core.strategy_update(self.strategy_id, "active", active)

    def record_signal(self, timestamp_ns: int | None = None) -> None:
        self._core.strategy_update(self.strategy_id, "signal", None, _seq_arg("timestamp_ns", timestamp_ns))

    @property
    def state(self) -> StrategyState | None:
        for s in _strategies(self._core):
            if s.strategy_id == self.strategy_id:
                return s
        return None


def _strategies(core: _core.Ledger) -> list[StrategyState]:
    return [
        StrategyState(i, MappingProxyType(json.loads(p) if p else {}), c, a, sig, up)
        for (i, p, c, a, sig, up) in core.strategies()
    ]


class Ledger:
    """A trading-state ledger; ``PersistenceManager.ledger`` is the journaled one.

    Every operation validates, journals, then applies; a refused one raises
    :class:`~pinnacle.LedgerError`, changes nothing and journals nothing.
    """

    __slots__ = ("_core", "_durable", "_past")

    def __init__(self, core: _core.Ledger | None = None) -> None:
        self._core = core if core is not None else _core.Ledger()
        # (seq, timestamp_ns) -> the past state, for a journaled ledger (set by its owner).
        self._past: Callable[[int | None, int | None], _core.Ledger] | None = None
        self._durable: DurableWaiter | None = None

    @property
    def journal_seq(self) -> int:
        """The journal seq of the last record applied (0: none, or not journaled); pass
        it to :meth:`durable`."""
        return self._core.journal_seq

    async def durable(self, seq: int | None = None) -> None:
        """Resolves once journal entry ``seq`` (default: the last record applied) is
        durable. With ``ledgerSyncMode`` ``"always"`` that is already so when an operation
        returns; with ``"interval"``/``"none"`` one fdatasync serves every coroutine
        waiting (no thread per waiter). An in-memory ledger has nothing to wait for."""
        seq = _seq_arg("seq", seq)
        if self._durable is None:
            return
        await self._durable.wait(self._core.journal_seq if seq is None else seq)

    def state_at(self, *, seq: int | None = None, timestamp_ns: int | None = None) -> Ledger:
        """The ledger as it was after journal entry ``seq`` and/or at ``timestamp_ns``
        (records with a later timestamp left out): a read-only copy (every operation on
        it raises LedgerError ``read_only``). Only a journaled ledger has a past."""
        seq, timestamp_ns = _seq_arg("seq", seq), _seq_arg("timestamp_ns", timestamp_ns)
        if self._past is None:
            raise _refuse("state_at needs a journaled ledger (PersistenceManager.ledger)")
        return Ledger(self._past(seq, timestamp_ns))

    # -- operations (journaled) --------------------------------------------------------
    def submit_order(
        self,
        client_id: str,
        *,
        symbol: str,
        exchange: str,
        side: str,
        order_type: str,
        quantity: Number,
        price: Number | None = None,
        strategy_id: str | None = None,
        timestamp_ns: int | None = None,
    ) -> LedgerOrder:
        """ORDER_SUBMIT: a new order, status ``"pending"``."""
        return _order(
            self._core.submit(
                client_id,
                symbol,
                exchange,
                side,
                order_type,
                price,
                quantity,
                strategy_id,
                _seq_arg("timestamp_ns", timestamp_ns),
            )
        )

    def ack_order(
        self, client_id: str, *, exchange_order_id: str, timestamp_ns: int | None = None
    ) -> LedgerOrder:
        """ORDER_ACK: the exchange accepted the order (``"pending"`` -> ``"open"``)."""
        return _order(self._core.ack(client_id, exchange_order_id, _seq_arg("timestamp_ns", timestamp_ns)))

    def reject_order(self, client_id: str, *, reason: str, timestamp_ns: int | None = None) -> LedgerOrder:
        """ORDER_REJECT: an order without fills was rejected."""
        return _order(self._core.reject(client_id, reason, _seq_arg("timestamp_ns", timestamp_ns)))

    def cancel_order(self, client_id: str, *, timestamp_ns: int | None = None) -> LedgerOrder:
        """ORDER_CANCEL: a live order was cancelled."""
        return _order(self._core.cancel(client_id, _seq_arg("timestamp_ns", timestamp_ns)))

    def record_fill(
        self,
        client_id: str,
        *,
        trade_id: str,
        price: Number,
        quantity: Number,
        fee: Number = 0,
        fee_asset: str = "",
        timestamp_ns: int | None = None,
    ) -> LedgerFill:
        """FILL_RECEIVED. A fill whose (exchange, trade_id) was recorded already returns
        that recorded fill and journals nothing (exchanges re-deliver after restarts)."""
        d, _new = self._core.fill(
            client_id, trade_id, price, quantity, fee, fee_asset, _seq_arg("timestamp_ns", timestamp_ns)
        )
        return _fill(d)

    def update_position(
        self,
        symbol: str,
        exchange: str,
        *,
        quantity: Number,
        avg_price: Number,
        timestamp_ns: int | None = None,
    ) -> None:
        """POSITION_UPDATE: set a position (reconciled with the exchange); its realized
        P&L is kept."""
        self._core.set_position(symbol, exchange, quantity, avg_price, _seq_arg("timestamp_ns", timestamp_ns))

    def update_balance(
        self, exchange: str, asset: str, *, total: Number, available: Number, timestamp_ns: int | None = None
    ) -> None:
        """BALANCE_UPDATE: set a balance (``available <= total``)."""
        self._core.set_balance(exchange, asset, total, available, _seq_arg("timestamp_ns", timestamp_ns))

    def halt_trading(self, reason: str, *, timestamp_ns: int | None = None) -> None:
        """RISK_HALT: the circuit breaker; submits are refused until resumed."""
        self._core.halt(reason, _seq_arg("timestamp_ns", timestamp_ns))

    def resume_trading(self, *, timestamp_ns: int | None = None) -> None:
        """RISK_RESUME (journals nothing when not halted)."""
        self._core.resume(_seq_arg("timestamp_ns", timestamp_ns))

    def set_config(self, key: str, value: str, *, timestamp_ns: int | None = None) -> None:
        """CONFIG_CHANGE: ``config[key] = value``; ``config_version`` += 1."""
        self._core.set_config(key, value, _seq_arg("timestamp_ns", timestamp_ns))

    def strategy(self, strategy_id: str) -> StrategyHandle:
        return StrategyHandle(self._core, strategy_id)

    def prune_fills(self, *, older_than_s: float, now_ns: int | None = None) -> None:
        """Drops fills older than ``older_than_s`` from :attr:`recent_fills` (journaled; a
        pruned fill re-delivered is still recognised as a duplicate)."""
        age = _seconds_arg("older_than_s", older_than_s)
        now_ns = _seq_arg("now_ns", now_ns)
        now = time.time_ns() if now_ns is None else now_ns
        self._core.prune_fills(now - int(age * 1e9), now_ns)

    # -- not journaled -------------------------------------------------------------
    def set_mark_price(self, symbol: str, price: Number) -> None:
        """A mark price (not journaled): feeds unrealized P&L and exposure."""
        self._core.set_mark(symbol, price)

    # -- views ---------------------------------------------------------------------
    @property
    def orders(self) -> Mapping[str, LedgerOrder]:
        return MappingProxyType({t[0]: _order(t) for t in self._core.orders()})

    def order(self, client_id: str) -> LedgerOrder | None:
        d = self._core.order(client_id)
        return None if d is None else _order(d)

    @property
    def open_orders(self) -> tuple[LedgerOrder, ...]:
        """Acknowledged orders still live (``"open"``, ``"partially_filled"``)."""
        return tuple(o for o in map(_order, self._core.orders()) if o.status in ("open", "partially_filled"))

    @property
    def pending_orders(self) -> tuple[LedgerOrder, ...]:
        return tuple(o for o in map(_order, self._core.orders()) if o.status == "pending")

    @property
    def recent_fills(self) -> tuple[LedgerFill, ...]:
        return tuple(map(_fill, self._core.recent_fills()))

    @property
    def positions(self) -> Mapping[tuple[str, str], Position]:
        """By (symbol, exchange); quantity negative for a short."""
        return MappingProxyType(
            {
                (s, e): Position(s, e, Decimal(q), Decimal(a), Decimal(r), up)
                for (s, e, q, a, r, up) in self._core.positions()
            }
        )

    @property
    def balances(self) -> Mapping[tuple[str, str], Balance]:
        """By (exchange, asset)."""
        return MappingProxyType(
            {(e, a): Balance(e, a, Decimal(t), Decimal(v), up) for (e, a, t, v, up) in self._core.balances()}
        )

    @property
    def fees(self) -> Mapping[str, Decimal]:
        """Fees paid per fee asset (apart from realized P&L)."""
        return MappingProxyType({a: Decimal(v) for a, v in self._core.fees().items()})

    @property
    def risk(self) -> RiskState:
        halted, reason, halt_ns, realized, unrealized, gross, net = self._core.risk()
        config, _ = self._core.config()
        net_by_symbol: dict[str, Decimal] = {}
        for s, _e, q, _a, _r, _u in self._core.positions():
            net_by_symbol[s] = net_by_symbol.get(s, Decimal(0)) + Decimal(q)
        usage: dict[str, Decimal] = {}
        for key, value in config.items():
            if key.startswith("max_position."):
                sym = key.removeprefix("max_position.")
                try:
                    limit = Decimal(value)
                except ArithmeticError:
                    continue
                if limit > 0:
                    usage[sym] = abs(net_by_symbol.get(sym, Decimal(0))) / limit
        return RiskState(
            halted,
            reason,
            halt_ns,
            Decimal(realized),
            _opt(unrealized),
            _opt(gross),
            _opt(net),
            MappingProxyType(usage),
        )

    @property
    def realized_pnl(self) -> Decimal:
        return Decimal(self._core.risk()[3])

    @property
    def unrealized_pnl(self) -> Decimal | None:
        """Over positions with a mark price (``set_mark_price``); None on overflow."""
        return _opt(self._core.risk()[4])

    @property
    def config(self) -> Mapping[str, str]:
        return MappingProxyType(self._core.config()[0])

    @property
    def config_version(self) -> int:
        return self._core.config()[1]

    @property
    def strategies(self) -> Mapping[str, StrategyState]:
        return MappingProxyType({s.strategy_id: s for s in _strategies(self._core)})

    @property
    def last_update_timestamp(self) -> int:
        """The newest record's timestamp (ns since the epoch; 0: none)."""
        return self._core.stats()[0]

    def checksum(self) -> int:
        """xxh3-64 of the state's canonical encoding: equal states, equal checksums."""
        return self._core.checksum()

    def validate(self, *, tolerance_s: float = 60.0) -> list[str]:
        """Broken invariants, one message each (empty: sound)."""
        return self._core.problems(int(_seconds_arg("tolerance_s", tolerance_s) * 1e9))

    def __repr__(self) -> str:
        last, ops = self._core.stats()
        return f"<Ledger {ops} records, last update {last}, checksum {self.checksum():016x}>"
