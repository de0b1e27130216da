"""pytest plugin behind docs/reliability.md (`make reliability`).

Reliability tests carry ``@pytest.mark.reliability("<category>")`` and count what they
tried through the ``cases`` fixture. With ``--scorecard PATH`` the session writes a
markdown table per category: what it does, tests run, cases tried, failures — plus the
fuzzing totals parsed from ``--fuzz-log`` (the output of ``make fuzz``).
"""

from __future__ import annotations

import datetime
import platform
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CATEGORIES = {
    "kill9": (
        "Kill-9 crash loop",
        "a writer subprocess trading several symbols (snapshots, maintenance, compaction) is "
        "SIGKILLed at random moments; recovery must give a prefix of the operations holding every "
        "acknowledged one, and recovering twice the same state",
    ),
    "power_loss": (
        "Simulated power loss",
        "crash images = durable state recorded at each fdatasync + random unsynced pages "
        "(old/new/torn per 512-byte sector, zero or garbage); every image must recover a consistent"
        " prefix with every durable entry",
    ),
    "truncation": (
        "Truncation sweep",
        "journals cut at every byte of their last entries, snapshots cut at every byte: only "
        "complete entries recovered; a cut snapshot rejected and the previous one used",
    ),
    "bitflip": (
        "Bit-flip sweep",
        "every single bit of a small journal and of a snapshot flipped, under each recovery mode: "
        "every flip detected, each mode as documented",
    ),
    "disk_full": (
        "Disk full",
        "a journal on a 256 KiB tmpfs and under RLIMIT_FSIZE: a clean OSError, no SIGBUS, "
        "everything written before recoverable",
    ),
    "syscall": (
        "System-call failures",
        "open, fallocate, msync, fsync and rename made to fail once and persistently: clean errors,"
        " a poisoned handle after a failed sync, a data directory that still recovers",
    ),
    "compound": (
        "Compound faults",
        "a crash during recovery, compaction and snapshot rotation: a valid snapshot always exists "
        "and recovery is idempotent",
    ),
    "fuzz": (
        "Fuzzing",
        "cargo-fuzz (libFuzzer) on the entry parser, file header, opening scan, snapshot decoder "
        "and op codec: no panic, no out-of-bounds read, no hang, no unchecked allocation",
    ),
    "model": (
        "Stateful model",
        "hypothesis state machines (append, snapshot, compact, reopen, crash, recover) checked "
        "against a plain Python model",
    ),
    "hostile": (
        "Hostile inputs",
        "length fields of 2^32-1 and 2^64-1, symlinked paths, ../ and NUL in symbols, a journal "
        "truncated by another process while mapped, a buffer held while the journal grows",
    ),
    "lifecycle": (
        "Process lifecycle",
        "children forked (os.fork, multiprocessing fork and forkserver pools, a double-fork "
        "daemon) while the parent trades and syncs: every inherited handle refused, no hang or "
        "panic in the child, no lock kept, the parent's data exactly what it wrote; Ctrl-C at "
        "each shutdown step, managers dropped without shutdown and alive at exit, the data "
        "directory removed or replaced under a manager, Ctrl-C before the first numpy call, "
        "1,000 symbols under ulimit -n 1024",
    ),
    "api_inputs": (
        "Hostile API inputs",
        "every public call of Journal, JournalReader, OrderBook, ShadowBook, PersistenceManager and "
        "the config loaders with ints of 2^63, 2^64 and beyond, bools, NaN/inf, NUL and lone-surrogate "
        "strings, 100 KB strings, wrong types: only documented exceptions, each naming its argument, "
        "and nothing stored changed by a refused call",
    ),
}

CASES = pytest.StashKey["Cases"]()


@dataclass
class Cases:
    n: int = 0

    def add(self, k: int = 1) -> None:
        self.n += k


@dataclass
class Row:
    tests: int = 0
    cases: int = 0
    failures: int = 0


ROWS = pytest.StashKey[dict[str, Row]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--scorecard", default=None, help="write the reliability scorecard (markdown) here")
    parser.addoption("--fuzz-log", default=None, help="output of `make fuzz`, for the fuzzing row")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reliability(category): counted in docs/reliability.md")
    config.stash[ROWS] = {}


@pytest.fixture
def cases(request: pytest.FixtureRequest) -> Iterator[Cases]:
    c = Cases()
    request.node.stash[CASES] = c
    yield c


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("reliability")
    if marker is None or (report.when != "call" and not report.failed):
        return
    row = item.config.stash[ROWS].setdefault(marker.args[0], Row())
    if report.when == "call":
        row.tests += 1
        row.cases += max(1, item.stash.get(CASES, Cases()).n)
    row.failures += int(report.failed)


def fuzz_totals(log: Path) -> tuple[int, int, int]:
    text = log.read_text(errors="replace")
    runs = sum(int(m) for m in re.findall(r"^Done (\d+) runs", text, re.M))
    targets = len(re.findall(r"^Done \d+ runs", text, re.M))
    crashes = len(re.findall(r"ERROR: libFuzzer|panicked at", text))
    return targets, runs, crashes


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = session.config.getoption("--scorecard")
    if not out:
        return
    rows = session.config.stash[ROWS]
    fuzz_log = session.config.getoption("--fuzz-log")
    if fuzz_log and Path(fuzz_log).exists():
        targets, runs, crashes = fuzz_totals(Path(fuzz_log))
        rows["fuzz"] = Row(tests=targets, cases=runs, failures=crashes)
    today = datetime.date.today().isoformat()
    lines = [
        "# Reliability scorecard",
        "",
        f"Produced by `make reliability` on {today} ({platform.system()} {platform.release()}, "
        f"{platform.machine()}, Python {platform.python_version()}). Every row is a test that kills, "
        "cuts, flips or fills; *cases* counts what it tried in this run.",
        "",
        "| test | what it does | tests | cases tried | failures |",
        "|---|---|---:|---:|---:|",
    ]
    for key, (title, what) in CATEGORIES.items():
        r = rows.get(key)
        if r is None:
            lines.append(f"| {title} | {what} | — | not run | — |")
        else:
            lines.append(f"| {title} | {what} | {r.tests} | {r.cases:,} | {r.failures} |")
    total_fail = sum(r.failures for r in rows.values())
    lines += ["", f"**Total failures: {total_fail}.**", ""]
    Path(out).write_text("\n".join(lines))
