"""The security layer: what unlocking a vault costs (the Argon2id KDF at its default
costs) and the latency of a durable audit record beside a bare durable journal append."""

from __future__ import annotations

import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

from pinnacle.bench.baselines import Method, PinnacleLog
from pinnacle.bench.harness import Context, Section, SectionResult, Table, journal_size, num
from pinnacle.bench.sections.common import LATENCY_COLUMNS, latency_cells, measure_methods, plan_note

DETAIL = {"data_dir": "/srv/pinnacle/data", "result": "ok", "symbol": "BTC-USD"}
"""A typical event's detail: the record's body is about 150 bytes of JSON."""


def _missing() -> str | None:
    try:
        import argon2  # noqa: F401
        import cryptography  # noqa: F401
    except ImportError:
        return "the security extra is not installed (pip install 'pinnacle[security]')"
    return None


class _Audit:
    def __init__(self, path: Path) -> None:
        from pinnacle.security import AuditLog

        self.log = AuditLog(path, key=os.urandom(32), head_every=1 << 30)

    def close(self) -> None:
        self.log.close()


def _vault_open_times(ctx: Context, reps: int) -> list[float]:
    from pinnacle.security import CredentialVault

    out: list[float] = []
    with ctx.store_path("vault") as path:
        CredentialVault.create(path, "benchmark password").close()
        for _ in range(reps):
            t0 = time.perf_counter()
            CredentialVault.open(path, "benchmark password").close()
            out.append(time.perf_counter() - t0)
    return out


def run(ctx: Context) -> SectionResult:
    missing = _missing()
    if missing:
        raise RuntimeError(missing)
    from pinnacle.security import KdfParams

    kdf = KdfParams()
    reps = 3 if ctx.cfg.mode == "quick" else 10
    print(f"  vault open x{reps} (default KDF)", file=sys.stderr, flush=True)
    opens = _vault_open_times(ctx, reps)
    res = SectionResult()
    vt = Table(
        "Unlocking the credential vault (`CredentialVault.open`, default costs)",
        ["KDF", "median", "min", "max", "opens"],
    )
    vt.rows.append(
        [
            f"Argon2id {kdf.memory_kib // 1024} MiB, {kdf.time_cost} passes, {kdf.parallelism} lanes",
            f"{num(statistics.median(opens) * 1e3)} ms",
            f"{num(min(opens) * 1e3)} ms",
            f"{num(max(opens) * 1e3)} ms",
            reps,
        ]
    )
    vt.notes.append("Almost all of it is the key derivation; AES-GCM of a small vault takes microseconds.")
    res.tables.append(vt)
    res.metrics["vault_open_median_s"] = statistics.median(opens)

    plan = ctx.cfg.durable
    size = journal_size(plan.total_ops)
    methods = [
        Method(
            "audit",
            "`AuditLog.record` (HMAC chain, JSON body, sync='always')",
            _Audit,
            op=lambda s: partial(s.log.record, "recovery.run", actor="bench", detail=DETAIL),
        ),
        Method(
            "journal_always",
            "bare `Journal.append` sync='always' (64-byte payload)",
            partial(PinnacleLog, sync="always", initial_size=size),
        ),
    ]
    measured, skipped = measure_methods(ctx, methods, plan)
    at = Table("Durable audit record latency (µs)", ["method", *LATENCY_COLUMNS])
    for m, st in measured:
        at.rows.append([m.label, *latency_cells(st, 1e3, 1)])
        res.metrics[f"{m.key}_p50_us"] = st.p50 / 1e3
        res.metrics[f"{m.key}_p99_us"] = st.p99 / 1e3
    at.notes += [plan_note(ctx, plan), *skipped]
    res.tables.append(at)
    return res


SECTION = Section("security", "Security: vault unlock cost and audit record latency", run)

__all__: list[str] = ["SECTION"]
