"""``pinnacle demo``: the crash-recovery drill.

Each cycle starts a trading process (``python -m pinnacle.cli _trade``), lets it trade
for a random part of ``--duration``, SIGKILLs it, recovers the data directory with
:meth:`PersistenceManager.recover_state` and compares every book, resting order and
maker position with the acknowledged operations replayed on fresh, unjournaled books
(:mod:`pinnacle.sim.reference`). The trading process also drives the trading-state
ledger (submits, acks, fills with re-delivered duplicates, cancels, hedges on a second
exchange: :mod:`pinnacle.sim.ledger_flow`); the recovered ledger is compared with a ledger
rebuilt from its acknowledged calls alone. The next cycle continues trading on the
recovered state.
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO

from pinnacle.cli._console import EXIT_FAILURE, EXIT_OK, StatusLine, UsageError, one_line
from pinnacle.cli.recover_cmd import capture_log
from pinnacle.config import SYNC_MODES, SyncMode
from pinnacle.errors import InvalidArgumentError, OrderBookError
from pinnacle.persistence import PersistenceManager, RecoveryInfo
from pinnacle.sim import ledger
from pinnacle.sim.ledger_flow import LedgerCheck, LedgerModel, summary
from pinnacle.sim.maker import open_ledger
from pinnacle.sim.market import Op, instrument
from pinnacle.sim.oplog import OpLog, read_oplog
from pinnacle.sim.reference import Reference, SymbolCheck
from pinnacle.sim.trader import TradeOptions, drill_config, run_trading

READY_TIMEOUT_S = 60.0


def add_parsers(sub: Any) -> None:
    """Registers ``demo`` and the internal ``_trade``."""
    d = sub.add_parser(
        "demo",
        help="crash-recovery drill: trade, kill -9, recover, check against every acknowledged operation",
        description="A simulated market maker trades against simulated participants with persistence on; "
        "the trading process is SIGKILLed at a random moment, the data directory is recovered and every "
        "book, resting order and maker position is compared with the acknowledged operations. Exit "
        "status 1 on any mismatch.",
    )
    d.add_argument(
        "--duration",
        type=float,
        default=4.0,
        metavar="SECONDS",
        help="trading time per cycle; the kill comes at a random moment in its second half (default 4)",
    )
    d.add_argument("--cycles", type=int, default=3, metavar="N", help="crash cycles (default 3)")
    d.add_argument(
        "--symbols", default="BTC-USD,ETH-USD", help="comma-separated symbols (default BTC-USD,ETH-USD)"
    )
    d.add_argument("--seed", type=int, help="random seed (default: random, printed)")
    d.add_argument(
        "--data-dir",
        type=Path,
        metavar="PATH",
        help="a new or empty directory (default: a temporary one, removed at the end)",
    )
    d.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    d.add_argument(
        "--sync", choices=SYNC_MODES, default="interval", help="journal sync mode (default interval)"
    )
    d.add_argument(
        "--rate", type=float, default=0.0, metavar="OPS", help="operations per second (default: no limit)"
    )
    d.set_defaults(run=run_demo)
    t = sub.add_parser("_trade")  # internal: the process the drill kills
    t.add_argument("--data-dir", type=Path, required=True)
    t.add_argument("--symbols", required=True)
    t.add_argument("--seed", type=int, required=True)
    t.add_argument("--cycle", type=int, required=True)
    t.add_argument("--sync", choices=SYNC_MODES, required=True)
    t.add_argument("--oplog", type=Path, required=True)
    t.add_argument("--rate", type=float, default=0.0)
    t.add_argument("--max-seconds", type=float, default=300.0)
    t.set_defaults(run=run_trade)


def parse_symbols(text: str) -> tuple[str, ...]:
    """``BTC-USD,ETH-USD`` -> a tuple of valid, distinct symbols."""
    syms = tuple(s.strip() for s in text.split(",") if s.strip())
    if not syms:
        raise UsageError("--symbols: give at least one symbol")
    if len({s.lower() for s in syms}) != len(syms):
        raise UsageError("--symbols: a symbol is repeated")
    for s in syms:
        try:
            instrument(s)
        except InvalidArgumentError as e:
            raise UsageError(f"--symbols: {e}") from None
    return syms


def run_trade(args: argparse.Namespace) -> int:
    """``pinnacle _trade`` (internal): the trading process."""
    opts = TradeOptions(
        args.data_dir,
        parse_symbols(args.symbols),
        args.seed,
        args.cycle,
        args.sync,
        args.oplog,
        args.rate,
        args.max_seconds,
    )
    return run_trading(opts)


@dataclass
class DrillOptions:
    """What the drill does."""

    data_dir: Path
    symbols: tuple[str, ...] = ("BTC-USD", "ETH-USD")
    cycles: int = 3
    duration: float = 4.0
    seed: int = 0
    sync: SyncMode = "interval"
    rate: float = 0.0
    after_kill: Callable[[Path, int], None] | None = None
    """Called with (data_dir, cycle) between the kill and the recovery (tests tamper here)."""


@dataclass
class CycleResult:
    """One crash cycle."""

    cycle: int
    ok: bool = False
    error: str = ""
    acked: int = 0
    in_flight: Op | None = None
    killed_after: float = 0.0
    checks: list[SymbolCheck] = field(default_factory=list)
    infos: dict[str, RecoveryInfo] = field(default_factory=dict)
    ledger: LedgerCheck | None = None


class Drill:
    """Runs the crash cycles and prints what happens to ``out``."""

    def __init__(self, opts: DrillOptions, out: TextIO | None = None) -> None:
        """Prepares the reference books (empty: the data directory must start empty)."""
        self.opts = opts
        self.out = out if out is not None else sys.stdout
        self.rng = random.Random(opts.seed)
        self.refs = {s: Reference(instrument(s)) for s in opts.symbols}
        self.work = opts.data_dir / "drill"
        self.results: list[CycleResult] = []
        self.ledger_model = LedgerModel()

    def say(self, text: str = "") -> None:
        """Prints one line."""
        self.out.write(text + "\n")
        self.out.flush()

    def run(self) -> bool:
        """All cycles; stops at the first failure. True if every cycle passed."""
        self.work.mkdir(mode=0o700, parents=True, exist_ok=True)
        for n in range(1, self.opts.cycles + 1):
            self.say(f"\ncycle {n}/{self.opts.cycles}")
            r = self.cycle(n)
            self.results.append(r)
            self.say(f"cycle {n}/{self.opts.cycles}: {'PASS' if r.ok else 'FAIL: ' + r.error}")
            if not r.ok:
                return False
        return True

    # ------------------------------------------------------------ trading

    def _spawn(self, n: int) -> tuple[subprocess.Popen[str], IO[bytes]]:
        o = self.opts
        cmd = [
            sys.executable,
            "-m",
            "pinnacle.cli",
            "_trade",
            "--data-dir",
            str(o.data_dir),
            "--symbols",
            ",".join(o.symbols),
            "--seed",
            str(o.seed * 1000 + n),
            "--cycle",
            str(n),
            "--sync",
            o.sync,
            "--oplog",
            str(self.work / f"cycle-{n}.oplog"),
            "--rate",
            str(o.rate),
            "--max-seconds",
            str(max(120.0, 20 * o.duration)),
        ]
        err = open(self.work / f"cycle-{n}.stderr", "wb")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1)
        return proc, err

    def _stderr_tail(self, n: int) -> str:
        try:
            lines = (self.work / f"cycle-{n}.stderr").read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return f" (its stderr ends: {' | '.join(lines[-3:])})" if lines else ""

    def trade_and_kill(self, n: int, r: CycleResult) -> bool:
        """Starts the trading process, shows its progress, SIGKILLs it at a random moment."""
        proc, err = self._spawn(n)
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        status = StatusLine(self.out, plain_every=1.0)
        try:
            try:
                first = lines.get(timeout=READY_TIMEOUT_S)
            except queue.Empty:
                first = None
            if first is None or not _parse(first).get("ready"):
                r.error = f"the trading process did not start{self._stderr_tail(n)}"
                return False
            delay = self.rng.uniform(0.5, 1.0) * self.opts.duration
            self.say(f"  trading (pid {proc.pid}); SIGKILL in {delay:.2f} s")
            start = time.monotonic()
            while (left := start + delay - time.monotonic()) > 0:
                try:
                    line = lines.get(timeout=min(left, 0.1))
                except queue.Empty:
                    continue
                if line is None:
                    status.clear()
                    r.error = (
                        f"the trading process exited by itself (status {proc.wait()}){self._stderr_tail(n)}"
                    )
                    return False
                if st := _parse(line):
                    status.update(self.render(st))
            proc.kill()
            r.killed_after = time.monotonic() - start
            status.clear()
            return True
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            reader.join(timeout=5)
            if proc.stdout is not None:
                proc.stdout.close()
            err.close()

    def render(self, st: dict[str, Any]) -> str:
        """One progress line from a status report of the trading process."""
        parts = [f"  [{st['t']:5.1f}s] {st['ops']:>9,} ops"]
        for sym, s in st["symbols"].items():
            pnl = s["realized"] + s["unrealized"]
            parts.append(f"{sym} {s['mid']:.2f} pos {s['position']:+g} P&L {pnl:+.2f} ({s['orders']} orders)")
        return " | ".join(parts)

    # ------------------------------------------------------------ checking

    def cycle(self, n: int) -> CycleResult:
        """One cycle: trade, kill, recover, compare."""
        r = CycleResult(n)
        if not self.trade_and_kill(n, r):
            return r
        log = read_oplog(self.work / f"cycle-{n}.oplog")
        r.acked, r.in_flight = len(log.acked), log.in_flight
        flight = (
            f", 1 in flight ({log.in_flight.describe(instrument(log.in_flight.symbol))})"
            if log.in_flight
            else ""
        )
        self.say(f"  killed after {r.killed_after:.2f} s: {r.acked:,} operations acknowledged{flight}")
        if self.opts.after_kill is not None:
            self.opts.after_kill(self.opts.data_dir, n)
        if not self._replay(log, r):
            return r
        self.say("  recovering: PersistenceManager.recover_state()")
        try:
            self._recover_and_check(log, r)
        except Exception as e:
            r.error = f"recovery failed: {type(e).__name__}: {one_line(e)}"
            return r
        r.ok = all(c.ok for c in r.checks) and (r.ledger is None or r.ledger.ok)
        if not r.ok:
            r.error = "; ".join(f"{c.symbol}: {c.detail}" for c in r.checks if not c.ok)
            if r.ledger is not None and not r.ledger.ok:
                r.error = "; ".join(e for e in (r.error, f"ledger: {r.ledger.detail}") if e)
        return r

    def _replay(self, log: OpLog, r: CycleResult) -> bool:
        for i, op in enumerate(log.acked, 1):
            try:
                self.refs[op.symbol].apply(op)
            except (OrderBookError, KeyError) as e:
                r.error = f"acknowledged operation {i} ({op.describe()}) does not replay: {one_line(e)}"
                return False
        return True

    def _recover_and_check(self, log: OpLog, r: CycleResult) -> None:
        d = self.opts.data_dir
        t0 = time.perf_counter()
        with capture_log() as lines:
            try:
                with PersistenceManager(d, drill_config(d, "none"), maintenance=False) as pm:
                    pm.recover_state()
                    elapsed = time.perf_counter() - t0
                    r.infos = pm.last_recovery
                    for s, ref in self.refs.items():
                        book = pm.get_recovered_order_book(s)
                        if book is None:
                            raise RuntimeError(f"{s} was not recovered")
                        with open_ledger(d, s) as j:
                            state = ledger.recover(j.read(), book, ref.inst)
                        flight = log.in_flight if log.in_flight and log.in_flight.symbol == s else None
                        r.checks.append(ref.check(book, state.totals(book, ref.inst), flight))
                    r.ledger = self.ledger_model.check(pm.ledger, self.work / f"cycle-{r.cycle}.ledgerlog")
                    ledger_figures = summary(pm.ledger)
            finally:
                for line in lines:
                    if "Persistence shut down" not in line:
                        self.say(f"    {line}")
        self.say(f"  recovered in {elapsed * 1e3:.1f} ms; checking against the acknowledged operations:")
        for c in r.checks:
            self._report(c, r.infos.get(c.symbol))
        lc = r.ledger
        if lc is not None:
            note = ""
            if lc.in_flight is not None:
                note = f"; in flight: {lc.in_flight}, " + (
                    "included" if lc.in_flight_applied else "not journaled"
                )
            self.say(
                f"    ledger: {lc.acked:,} acknowledged operations{note}: "
                f"{'matches' if lc.ok else 'MISMATCH: ' + lc.detail} ({ledger_figures})"
            )
        if log.in_flight is not None and all(c.ok for c in r.checks):
            applied = any(c.in_flight_applied for c in r.checks)
            self.say(
                "    in flight: the recovered state "
                + (
                    "includes it (it had reached the journal)"
                    if applied
                    else "matches the acknowledged state without it"
                )
            )

    def _report(self, c: SymbolCheck, info: RecoveryInfo | None) -> None:
        inst = self.refs[c.symbol].inst
        mid = self.refs[c.symbol].book.mid_price
        realized, unrealized = c.totals.pnl(inst, inst.ticks(mid) if mid is not None else None)
        pos = float(inst.qty(c.totals.position))
        want = float(inst.qty(c.expected.position))
        pos_ok = "matches" if c.totals_ok else f"MISMATCH: expected {want:+g}"
        self.say(
            f"    {c.symbol}: {c.orders} resting orders ({'match' if c.book_ok else 'MISMATCH'}), maker "
            f"position {pos:+g} ({pos_ok}), realized P&L {realized:+.2f}, unrealized {unrealized:+.2f}"
        )
        if info is not None:
            snap = f"snapshot @ seq {info.snapshot_covered_seq}" if info.snapshot_file else "no snapshot"
            self.say(
                f"      {snap} + {info.entries_replayed} entries replayed in {info.duration_s * 1e3:.1f} ms; "
                f"journal {info.journal_report.split(', mode')[0]}"
            )


def _parse(line: str) -> dict[str, Any]:
    try:
        doc = json.loads(line)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _prepare_dir(args: argparse.Namespace) -> tuple[Path, bool]:
    if args.data_dir is None:
        return Path(tempfile.mkdtemp(prefix="pinnacle-demo-")), True
    d: Path = args.data_dir
    if d.exists() and (not d.is_dir() or any(d.iterdir())):
        raise UsageError(
            f"--data-dir {d}: must be a new or empty directory (the drill's record starts empty)"
        )
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    return d, False


def run_demo(args: argparse.Namespace) -> int:
    """``pinnacle demo``."""
    symbols = parse_symbols(args.symbols)
    if args.cycles < 1:
        raise UsageError("--cycles must be >= 1")
    if not 0.2 <= args.duration <= 3600:
        raise UsageError("--duration must be between 0.2 and 3600 seconds")
    if args.rate < 0:
        raise UsageError("--rate must be >= 0")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    data, temporary = _prepare_dir(args)
    out = sys.stdout
    opts = DrillOptions(data, symbols, args.cycles, args.duration, seed, args.sync, args.rate)
    out.write(
        f"pinnacle demo: crash-recovery drill, {_n(args.cycles, 'cycle')} of up to {args.duration:g} s, "
        f"symbols {', '.join(symbols)}, sync={args.sync}, seed {seed}\n"
        f"  data directory {data}{' (temporary)' if temporary else ''}\n"
    )
    drill = Drill(opts, out)
    try:
        ok = drill.run()
    finally:
        if temporary and not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    total = sum(r.acked for r in drill.results)
    print()
    if ok:
        snaps = sum(1 for r in drill.results for i in r.infos.values() if i.snapshot_file is not None)
        print(
            f"PASS: {_n(len(drill.results), 'crash cycle')}, {total:,} acknowledged operations: every book, "
            f"resting order and maker position recovered exactly, "
            f"and every ledger order, fill, position, balance and P&L figure ({snaps} of "
            f"{sum(len(r.infos) for r in drill.results)} recoveries started from a snapshot)"
        )
    else:
        bad = drill.results[-1]
        print(f"FAIL: cycle {bad.cycle}: {bad.error}")
    if args.keep or not temporary:
        print(f"data directory kept: {data} (try: pinnacle verify {data})")
    return EXIT_OK if ok else EXIT_FAILURE


__all__ = ["CycleResult", "Drill", "DrillOptions", "add_parsers", "parse_symbols", "run_demo", "run_trade"]
