"""The trading-state ledger (issue 12's figures): submit_order and record_fill from Python
against the Python call floor (a no-op function taking the same arguments), replay rate,
and snapshot encode/decode of a large state."""

from __future__ import annotations

import time
from pathlib import Path

from pinnacle import Journal, Ledger, _core
from pinnacle.bench.harness import Context, Section, SectionResult, Table, Target, num, times
from pinnacle.bench.sections.book import per_op


def _submit_floor(
    client_id: str,
    *,
    symbol: str,
    exchange: str,
    side: str,
    order_type: str,
    quantity: object,
    price: object = None,
    strategy_id: str | None = None,
    timestamp_ns: int | None = None,
) -> None:
    return None


def _fill_floor(
    client_id: str,
    *,
    trade_id: str,
    price: object,
    quantity: object,
    fee: object = 0,
    fee_asset: str = "",
    timestamp_ns: int | None = None,
) -> None:
    return None


def call_figures(n: int, path: Path) -> dict[str, float]:
    """ns per call: the floors, then submit_order and record_fill on a journaled ledger
    (sync "none"; each order gets one fill, so every fill is new)."""
    path.mkdir()
    ids = [f"c{i}" for i in range(n)]
    trades = [f"t{i}" for i in range(n)]

    def submit(f: object) -> float:
        return per_op(
            n,
            5,
            lambda i: f(  # type: ignore[operator]
                ids[i],
                symbol="BTC-USD",
                exchange="binance",
                side="buy",
                order_type="limit",
                quantity="0.25",
                price="64000.5",
                timestamp_ns=i + 1,
            ),
        )

    def fill(f: object) -> float:
        return per_op(
            n,
            5,
            lambda i: f(  # type: ignore[operator]
                ids[i],
                trade_id=trades[i],
                price="64000.5",
                quantity="0.25",
                fee="0.01",
                fee_asset="USDT",
                timestamp_ns=n + i + 1,
            ),
        )

    out = {"submit_floor": submit(_submit_floor), "fill_floor": fill(_fill_floor)}
    j = Journal(path / "l.journal", initial_size=256 << 20)
    led = Ledger(_core.Ledger(journal=j))
    out["submit"] = submit(led.submit_order)
    out["fill"] = fill(led.record_fill)
    core = _core.Ledger()
    t = time.perf_counter_ns()
    core.replay_journal(j, 1)
    out["replay_ops_s"] = (j.next_seq - 1) / ((time.perf_counter_ns() - t) / 1e9)
    j.close()
    return out


def big_state(orders: int, positions: int, fills: int) -> _core.Ledger:
    """An unjournaled ledger with ``orders`` open orders, ``positions`` positions and
    ``fills`` recent fills (built through the bindings, without the Python views)."""
    led = _core.Ledger()
    for i in range(max(orders, fills)):
        led.submit(f"o{i}", f"S{i % positions}", "ex", "buy", "limit", "100.5", "10", None, i + 1)
        led.ack(f"o{i}", f"x{i}", i + 1)
    for i in range(fills):
        led.fill(f"o{i}", f"t{i}", "100.5", "1", "0.01", "USDT", i + 1)
    return led


def snapshot_figures(orders: int, positions: int, fills: int) -> dict[str, float]:
    led = big_state(orders, positions, fills)
    enc, dec = [], []
    for _ in range(3):
        t = time.perf_counter_ns()
        data, _seq = led.snapshot_bytes(1)
        enc.append(time.perf_counter_ns() - t)
        t = time.perf_counter_ns()
        back, _h = _core.Ledger.from_snapshot(data)
        dec.append(time.perf_counter_ns() - t)
    assert back.checksum() == led.checksum()
    return {"encode_ms": min(enc) / 1e6, "decode_ms": min(dec) / 1e6, "mib": len(data) / 2**20}


def run(ctx: Context) -> SectionResult:
    full = ctx.cfg.mode == "full"
    res = SectionResult()
    n = 100_000 if full else 20_000
    with ctx.store_path("ledger") as path:
        f = call_figures(n, path)
    t = Table(
        "Ledger operations from Python (journaled, sync='none'), ns per call (median of 5 chunks)",
        ["operation", "ns/call", "call floor (no-op, same arguments)", "ratio"],
    )
    for op in ("submit", "fill"):
        ratio = f[op] / f[f"{op}_floor"]
        name = "submit_order" if op == "submit" else "record_fill"
        t.rows.append([name, num(f[op]), num(f[f"{op}_floor"]), times(ratio)])
        res.metrics[f"ledger_{op}_ns"] = f[op]
        res.metrics[f"ledger_{op}_floor_ratio"] = ratio
    res.metrics["ledger_replay_ops_s"] = f["replay_ops_s"]
    t.notes.append(
        f"{n:,} orders, one fill each; numbers as str; each call returns a frozen view with Decimals. "
        f"Replay of that journal (Rust, validate + apply): {num(f['replay_ops_s'] / 1e6, 2)} M records/s."
    )
    res.tables.append(t)

    sizes = (100_000, 10_000, 100_000) if full else (10_000, 1_000, 10_000)
    s = snapshot_figures(*sizes)
    st = Table(
        "Ledger snapshot encode/decode (CRC, canonical re-encoding check on decode)",
        ["open orders", "positions", "recent fills", "size (MiB)", "encode (ms)", "decode (ms)"],
    )
    st.rows.append(
        [
            f"{sizes[0]:,}",
            f"{sizes[1]:,}",
            f"{sizes[2]:,}",
            num(s["mib"], 1),
            num(s["encode_ms"], 1),
            num(s["decode_ms"], 1),
        ]
    )
    res.metrics[f"ledger_snapshot_encode_ms_{sizes[0]}"] = s["encode_ms"]
    res.metrics[f"ledger_snapshot_decode_ms_{sizes[0]}"] = s["decode_ms"]
    res.tables.append(st)
    return res


SECTION = Section(
    name="ledger",
    title="Trading-state ledger",
    run=run,
    targets=(
        Target("record_fill (sync none) ≤ 3× the call floor", "ledger_fill_floor_ratio", 3, "×", True),
        Target("submit_order (sync none) ≤ 3× the call floor", "ledger_submit_floor_ratio", 3, "×", True),
        Target("ledger replay ≥ 2 M records/s", "ledger_replay_ops_s", 2e6, "records/s", False),
        Target(
            "snapshot encode, 100 k orders/10 k positions/100 k fills ≤ 50 ms",
            "ledger_snapshot_encode_ms_100000",
            50,
            "ms",
            True,
        ),
        Target("snapshot decode, same state ≤ 50 ms", "ledger_snapshot_decode_ms_100000", 50, "ms", True),
    ),
)
