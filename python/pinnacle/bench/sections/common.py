"""Helpers shared by the per-operation sections (append, durable)."""

from __future__ import annotations

import sys
from contextlib import ExitStack

from pinnacle.bench.baselines import Method
from pinnacle.bench.harness import Context, OpStats, Plan, measure_interleaved, num

LATENCY_COLUMNS = ["median (batches)", "p50", "p99", "p99.9", "max"]


def measure_methods(
    ctx: Context, methods: list[Method], plan: Plan
) -> tuple[list[tuple[Method, OpStats]], list[str]]:
    """Measures every available method, each on its own fresh store, interleaved; returns
    the measurements and one note per method that had to be skipped."""
    ready = [m for m in methods if not m.missing]
    skipped = [f"**{m.label}: skipped** — {m.missing}" for m in methods if m.missing]
    print(
        f"  {len(ready)} methods, interleaved: {', '.join(m.key for m in ready)}", file=sys.stderr, flush=True
    )
    with ExitStack() as stack:
        ops = [m.op(stack.enter_context(ctx.opened(m.key, m.open))) for m in ready]
        stats = measure_interleaved(ops, plan, ctx.timer_overhead_ns, ctx.flushes)
    return list(zip(ready, stats, strict=True)), skipped


def latency_cells(st: OpStats, scale: float = 1.0, digits: int = 0) -> list[str]:
    """The LATENCY_COLUMNS of one measurement, divided by ``scale``."""
    return [num(v / scale, digits) for v in (st.median_ns, st.p50, st.p99, st.p999, st.max)]


def plan_note(ctx: Context, plan: Plan) -> str:
    chunk = -(-plan.samples // plan.batches)
    return (
        f"Each method on its own fresh store: {plan.warmup_ops:,} warm-up calls, then {plan.batches} "
        f"rounds, the methods taking turns within each round: {plan.rewarm_ops:,} untimed calls, a batch of "
        f"{plan.batch_ops:,} back-to-back "
        f"calls (median ns/op over the batches' means, loop included) and {chunk:,} calls timed one by one "
        f"into an HDR histogram (p50…max), timer overhead {ctx.timer_overhead_ns} ns subtracted. "
        "GC off while timing."
    )
