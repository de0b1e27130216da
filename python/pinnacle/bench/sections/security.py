"""The security layer: what unlocking a vault costs (the Argon2id KDF at its default
costs) and the latency of a durable audit record beside a bare durable journal append."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
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


def _fill(data: Path, orders: int) -> int:
    """A persistence directory with ``orders`` journaled orders over 4 symbols and one
    snapshot each; returns its size in bytes."""
    from pinnacle import PersistenceManager

    with PersistenceManager(data, maintenance=False) as pm:
        for k in range(4):
            book = pm.order_book(f"SYM{k}")
            for i in range(orders // 4):
                book.add_order(i, "buy" if i % 2 else "sell", 100 - i % 50 if i % 2 else 101 + i % 50, 1)
            pm.snapshot(f"SYM{k}")
    return sum(f.stat().st_size for f in data.rglob("*") if f.is_file())


def _tar_age(data: Path, out: Path, recipient: str) -> None:
    with open(out, "wb") as sink:
        tar = subprocess.Popen(["tar", "-C", str(data), "-cf", "-", "."], stdout=subprocess.PIPE)
        try:
            subprocess.run(["age", "-r", recipient], stdin=tar.stdout, stdout=sink, check=True)
        finally:
            if tar.stdout is not None:
                tar.stdout.close()
            if tar.wait() != 0:
                raise RuntimeError("tar failed")


def _backup_rows(ctx: Context, orders: int, reps: int) -> tuple[list[list[str]], dict[str, float]]:
    import pyrage

    from pinnacle.security.backup import create_backup

    ident = pyrage.x25519.Identity.generate()
    recipient = str(ident.to_public())
    rows: list[list[str]] = []
    metrics: dict[str, float] = {}
    with ctx.store_path("backup") as base:
        data = base.with_name("data")
        size = _fill(data, orders)
        mb = size / 1e6
        runs: dict[str, list[float]] = {"pinnacle": [], "age": []}
        for r in range(reps):
            out = base.with_name(f"b{r}.age")
            t0 = time.perf_counter()
            create_backup(data, out, recipients=[recipient])
            runs["pinnacle"].append(time.perf_counter() - t0)
            out.unlink()
            if shutil.which("age"):
                t0 = time.perf_counter()
                _tar_age(data, out, recipient)
                runs["age"].append(time.perf_counter() - t0)
                out.unlink()
        for key, label in (
            ("pinnacle", "`pinnacle backup create` (copy, trial recovery, manifest, pyrage, atomic write)"),
            ("age", "`tar -cf - DATA` piped to `age -r RECIPIENT` (no consistency, no check)"),
        ):
            if runs[key]:
                med = statistics.median(runs[key])
                rows.append([label, f"{num(mb, 1)} MB", f"{num(med * 1e3)} ms", f"{num(mb / med, 1)} MB/s"])
                metrics[f"backup_{key}_mb_s"] = mb / med
            else:
                rows.append([label, f"{num(mb, 1)} MB", "—", "skipped: the age command is not installed"])
    return rows, metrics


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

    orders = 200_000 if ctx.cfg.mode == "quick" else 2_000_000
    print(f"  backup of {orders:,} journaled orders x{reps}", file=sys.stderr, flush=True)
    rows, metrics = _backup_rows(ctx, orders, reps)
    bt = Table("Encrypted backup throughput (X25519 recipient)", ["method", "data", "median", "throughput"])
    bt.rows += rows
    bt.notes.append(
        "Data: a persistence directory (4 symbols, journals with preallocated space, one snapshot each); "
        "MB/s of the directory's bytes. pinnacle also copies, recovers the copy once and hashes every file."
    )
    res.tables.append(bt)
    res.metrics.update(metrics)
    return res


SECTION = Section("security", "Security: vault unlock cost and audit record latency", run)

__all__: list[str] = ["SECTION"]
