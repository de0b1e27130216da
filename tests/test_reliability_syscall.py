"""System-call failures at the PersistenceManager level.

open, fallocate, msync, fsync and rename are made to fail once and persistently (through
the core's ``_inject_fault`` hook) while a book is created, while trading (sync="always",
and while the journal grows), during ``snapshot()``, during ``perform_maintenance()``
(compaction) and during ``shutdown()``. The snapshot and sidecar files are written by the
core's atomic-file protocol (``pinnacle.paths.write_atomic``), so the same hook fails their
open, write, fsync, rename and directory fsync.

Every scenario checks: a clean pinnacle error (an OSError carrying the injected errno),
where a sync failed a poisoned journal that refuses later trading with
JournalPoisonedError, no half-written snapshot or temporary file left visible, the book
in memory unchanged by a failed operation (except an op whose sync="always" flush failed:
applied just before its flush, it stays applied, and its journal is poisoned), and — once
the faults are cleared — a fresh
manager on the same directory recovering every operation acknowledged before the failure
(plus, at most, the one that failed, whose entry may have reached the file).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from random import Random
from typing import Any

import pytest
from reliability_support import (
    GRIDS,
    Op,
    apply_op,
    check_recovered,
    check_recovery_idempotent,
    fresh_model,
    gen_op,
)
from scorecard import Cases

from pinnacle import (
    JournalClosedError,
    JournalPoisonedError,
    OrderBook,
    OrderBookError,
    PersistenceConfig,
    PersistenceManager,
    PinnacleError,
    _core,
)

pytestmark = pytest.mark.reliability("syscall")

CALLS = ("open", "fallocate", "msync", "fsync", "rename")
ERRNO = {"open": errno.EMFILE, "fallocate": errno.ENOSPC, "msync": errno.EIO, "fsync": errno.EIO}
ERRNO["rename"] = errno.EXDEV
TIMES = {"once": 1, "persistent": None}
SYMS = ("AAA", "BB.B-2")


@pytest.fixture(autouse=True)
def _faults() -> Iterator[None]:
    _core._clear_faults()
    yield
    _core._clear_faults()


class World:
    """A manager with two traded symbols and one snapshot, the model of what was
    acknowledged, and the op that failed (the only one whose fate is open)."""

    def __init__(self, data: Path, sync: str = "always") -> None:
        self.data = data
        self.cfg = PersistenceConfig(
            journal_sync_mode=sync,  # type: ignore[arg-type]
            snapshot_interval_min=0,
            compaction_threshold=20,
            keep_snapshots=2,
        )
        self.pm = PersistenceManager(data, self.cfg, maintenance=False)
        self.books = {s: self.pm.order_book(s, *GRIDS[s]) for s in SYMS}
        self.model = fresh_model()
        self.rng = Random(data.name)
        self.ts = 0
        self.failed: dict[str, Op] = {}
        """The first op that failed on each symbol (its entry may have reached the file)."""
        for s in SYMS:
            self.trade(s, 15)
        self.pm.snapshot("AAA")
        for s in SYMS:
            self.trade(s, 15)

    def op(self, symbol: str, op: Op | None = None) -> None:
        """Applies one op to the real book and, if it was acknowledged, to the model. A
        failure other than a refusal is raised; the op is remembered as the failed one."""
        self.ts += 1
        op = op or gen_op(self.rng, self.books[symbol], self.ts)
        before = self.books[symbol].copy()
        try:
            apply_op(self.books[symbol], op)
        except OrderBookError:
            with pytest.raises(OrderBookError):
                apply_op(self.model[symbol].copy(), op)
            return
        except Exception as e:
            if self.books[symbol] != before:
                # Under sync="always" an op is applied before its flush, outside the book's
                # lock; a failed flush leaves it applied and poisons the journal (documented).
                applied = before.copy()
                apply_op(applied, op)
                assert self.books[symbol] == applied, "a failed op changed the book in memory"
                assert not isinstance(e, JournalPoisonedError), "a refused op changed the book"
                assert self.journal(symbol).poisoned, "a failed flush left the journal usable"
            self.failed.setdefault(symbol, op)
            raise
        apply_op(self.model[symbol], op)

    def add(self, symbol: str) -> None:
        """An add with a fresh id: always valid, so only the journal can make it fail."""
        tick, lot = GRIDS[symbol]
        self.op(symbol, ["add", symbol, f"add-{self.ts + 1}", "buy", tick, lot, self.ts + 1])

    def trade(self, symbol: str, n: int) -> None:
        for _ in range(n):
            self.op(symbol)

    def journal(self, symbol: str) -> Any:
        return self.pm.get_journal(symbol)

    def close_and_recover(self, *, snapshot: bool = True) -> None:
        """Clears the faults, shuts down (a poisoned journal makes that raise, after
        releasing everything), and recovers in fresh managers: every acknowledged op."""
        _core._clear_faults()
        try:
            self.pm.shutdown(snapshot=snapshot)
        except JournalPoisonedError:
            pass
        got, _ = check_recovery_idempotent(self.data, "after the fault")
        check_recovered(got, self.model, self.failed, "after the fault")
        check_no_debris(self.data)


def check_no_debris(data: Path) -> None:
    """No temporary file anywhere, and every visible snapshot loads."""
    for d, _dirs, files in os.walk(data):
        for name in files:
            ok = not name.startswith(".") or name == ".lock"
            assert ok, f"a temporary file was left behind: {Path(d) / name}"
            if name.endswith(".snapshot"):
                symbol = Path(d).name
                OrderBook.from_snapshot((Path(d) / name).read_bytes(), *GRIDS[symbol])


def expect_fault(call: str, fn: Callable[[], Any]) -> PinnacleError:
    with pytest.raises(PinnacleError) as info:
        fn()
    e = info.value
    assert isinstance(e, OSError) and e.errno == ERRNO[call], f"{type(e).__name__}: {e}"
    return e


def inject(call: str, times: str) -> None:
    _core._inject_fault(call, ERRNO[call], TIMES[times])


# ----------------------------------------------------------------------- trading


@pytest.mark.parametrize("times", TIMES)
@pytest.mark.parametrize("call", CALLS)
def test_trading_with_sync_always(tmp_path: Path, call: str, times: str, cases: Cases) -> None:
    w = World(tmp_path)
    inject(call, times)
    if call not in ("msync", "fsync"):  # an append under sync="always" only syncs
        w.trade("AAA", 30)
        w.trade("BB.B-2", 5)
    else:
        first = expect_fault(call, lambda: w.trade("AAA", 30))
        assert not isinstance(first, JournalPoisonedError), "the first error must name the failed sync"
        assert w.journal("AAA").poisoned
        for _ in range(3):  # poisoned: refused whatever the fault does now
            with pytest.raises(JournalPoisonedError) as later:
                w.add("AAA")
            assert later.value.errno == ERRNO[call]
        if times == "once":
            w.trade("BB.B-2", 5)  # another journal is not affected
            assert not w.journal("BB.B-2").poisoned
        else:
            expect_fault(call, lambda: w.trade("BB.B-2", 5))
            assert w.journal("BB.B-2").poisoned
    w.close_and_recover()
    cases.add()


@pytest.mark.parametrize("times", TIMES)
def test_journal_growth_on_a_full_disk(tmp_path: Path, times: str, cases: Cases) -> None:
    """fallocate fails when the journal must grow: ENOSPC for that op, nothing poisoned,
    trading resumes once there is space again."""
    w = World(tmp_path, sync="none")
    j, s = w.journal("AAA"), "AAA"
    size = j.size_bytes
    pad = "x" * 60
    i = 0
    while j.data_bytes + 4096 < size:  # fill up to the preallocated end with add/cancel pairs
        i += 1
        w.op(s, ["add", s, f"{pad}{i:04d}", "buy", "9.5", "1", w.ts + 1])
        w.op(s, ["cancel", s, f"{pad}{i:04d}", w.ts + 1])
    inject("fallocate", times)
    with pytest.raises(OSError) as info:
        for _ in range(200):
            w.op(s, ["add", s, f"{pad}{i:04d}", "buy", "9.5", "1", w.ts + 1])
            w.op(s, ["cancel", s, f"{pad}{i:04d}", w.ts + 1])
            i += 1
    assert info.value.errno == errno.ENOSPC and isinstance(info.value, PinnacleError)
    assert not j.poisoned and j.size_bytes == size
    if times == "persistent":
        with pytest.raises(OSError):
            w.op(s, ["add", s, f"{pad}next", "buy", "9.5", "1", w.ts + 1])  # the largest entry
        _core._clear_faults()
    w.failed.clear()  # nothing was written: the failed ops must not be recovered
    w.trade(s, 20)
    assert j.size_bytes > size
    w.close_and_recover()
    cases.add()


# ------------------------------------------------------------------ book creation


@pytest.mark.parametrize("times", TIMES)
@pytest.mark.parametrize("call", CALLS)
def test_creating_a_book(tmp_path: Path, call: str, times: str, cases: Cases) -> None:
    w = World(tmp_path)
    inject(call, times)
    if call == "msync":  # creating a journal never msyncs
        book = w.pm.order_book("C_C", *GRIDS["C_C"])
    else:
        expect_fault(call, lambda: w.pm.order_book("C_C", *GRIDS["C_C"]))
        assert "C_C" not in w.pm.symbols
        assert not (tmp_path / "journals" / "C_C.journal").exists()
        assert not (tmp_path / "journals" / "C_C.meta.json").exists(), "a grid without a journal"
        check_no_debris(tmp_path)
        if times == "persistent":
            expect_fault(call, lambda: w.pm.order_book("C_C", *GRIDS["C_C"]))
        _core._clear_faults()
        book = w.pm.order_book("C_C", *GRIDS["C_C"])  # the same manager retries cleanly
    _core._clear_faults()
    w.books["C_C"] = book
    w.trade("C_C", 10)
    w.close_and_recover()
    cases.add()


# ----------------------------------------------------------------------- snapshot


def snapshot_files(data: Path, symbol: str) -> list[str]:
    d = data / "snapshots" / symbol
    return sorted(os.listdir(d)) if d.is_dir() else []


@pytest.mark.parametrize("sync", ["always", "none"])
@pytest.mark.parametrize("times", TIMES)
@pytest.mark.parametrize("call", CALLS)
def test_snapshot(tmp_path: Path, call: str, times: str, sync: str, cases: Cases) -> None:
    w = World(tmp_path, sync)
    before = snapshot_files(tmp_path, "BB.B-2")
    inject(call, times)
    if call == "fallocate":  # a snapshot allocates nothing
        assert w.pm.snapshot("BB.B-2") is not None
        w.trade("BB.B-2", 5)
    elif call in ("open", "rename") or (call == "fsync" and sync == "always"):
        # The snapshot file's own write fails (its temp's open, fsync or rename; under
        # sync="always" nothing is left to flush first): no file, the journal untouched.
        expect_fault(call, lambda: w.pm.snapshot("BB.B-2"))
        assert snapshot_files(tmp_path, "BB.B-2") == before
        assert not w.journal("BB.B-2").poisoned
        if times == "once" or call != "fsync":  # trading syncs: a persistent fsync fault fails it
            w.trade("BB.B-2", 5)
            w.trade("AAA", 5)
    else:
        last = w.journal("BB.B-2").last_seq
        expect_fault(call, lambda: w.pm.snapshot("BB.B-2"))
        # With nothing left to flush, the sync that fails is the checkpoint's, after the
        # snapshot file was written: it may stay, whole and covering only durable entries.
        new = set(snapshot_files(tmp_path, "BB.B-2")) - set(before)
        for name in new:
            data = (tmp_path / "snapshots" / "BB.B-2" / name).read_bytes()
            assert OrderBook.from_snapshot(data, *GRIDS["BB.B-2"])[1].covered_seq <= last
        if sync == "none":  # unsynced entries: the flush before writing the file fails
            assert not new, "a snapshot was written although flushing the journal failed"
        assert w.journal("BB.B-2").poisoned
        with pytest.raises(JournalPoisonedError):
            w.add("BB.B-2")
        if times == "once" or sync == "none":
            w.trade("AAA", 5)
    check_no_debris(tmp_path)
    w.close_and_recover()
    cases.add()


# ------------------------------------------------------------- whole-file writes


# name -> (system call of the core's hook, errno, successful calls first); "fsync_dir" is
# the atomic-file protocol's last step, the directory fsync after the rename (the file's
# own fsync passes first). A failing "write" writes half of the bytes first (torn).
FILE_CALLS = {
    "open": ("open", errno.EACCES, 0),
    "write": ("write", errno.ENOSPC, 0),
    "fsync": ("fsync", errno.EIO, 0),
    "rename": ("rename", errno.EXDEV, 0),
    "fsync_dir": ("fsync", errno.EIO, 1),
}


def fail_file_write(call: str, times: str) -> int:
    fn, err, skip = FILE_CALLS[call]
    _core._inject_fault(fn, err, TIMES[times], skip)
    return err


@pytest.mark.parametrize("times", TIMES)
@pytest.mark.parametrize("call", FILE_CALLS)
def test_snapshot_file_write_fails(tmp_path: Path, call: str, times: str, cases: Cases) -> None:
    """The snapshot file cannot be written: the error is raised, nothing half-written is
    visible (only a failed directory fsync, after the rename, may leave the complete file),
    the journal is not poisoned (trading goes on) and a later snapshot works."""
    w = World(tmp_path)
    before = snapshot_files(tmp_path, "AAA")
    err = fail_file_write(call, times)
    with pytest.raises(OSError) as info:
        w.pm.snapshot("AAA")
    assert info.value.errno == err
    if times == "persistent" and call != "fsync_dir":  # every attempt fails the same way
        with pytest.raises(OSError):
            w.pm.snapshot("AAA")
    _core._clear_faults()  # the journal's own syncs are another test's subject
    after = snapshot_files(tmp_path, "AAA")
    assert len(after) == len(before) + (call == "fsync_dir"), after
    check_no_debris(tmp_path)  # and whatever is visible loads
    assert not w.journal("AAA").poisoned
    w.trade("AAA", 10)
    taken = w.pm.snapshot("AAA")
    assert taken is not None
    w.trade("AAA", 5)
    w.close_and_recover(snapshot=False)  # recovery must start from `taken`
    info_after = PersistenceManager(tmp_path, w.cfg, maintenance=False)
    with info_after:
        info_after.recover_state()
        assert info_after.last_recovery["AAA"].snapshot_file == taken.path
    cases.add()


@pytest.mark.parametrize("times", TIMES)
@pytest.mark.parametrize("call", FILE_CALLS)
def test_sidecar_write_fails_on_creation(tmp_path: Path, call: str, times: str, cases: Cases) -> None:
    w = World(tmp_path)
    err = fail_file_write(call, times)
    with pytest.raises(OSError) as info:
        w.pm.order_book("C_C", *GRIDS["C_C"])
    assert info.value.errno == err
    _core._clear_faults()
    assert "C_C" not in w.pm.symbols and not (tmp_path / "journals" / "C_C.journal").exists()
    check_no_debris(tmp_path)
    w.books["C_C"] = w.pm.order_book("C_C", *GRIDS["C_C"])
    w.trade("C_C", 5)
    w.close_and_recover()
    cases.add()


# -------------------------------------------------------------------- maintenance


@pytest.mark.parametrize("times", TIMES)
@pytest.mark.parametrize("call", CALLS)
def test_compaction(tmp_path: Path, call: str, times: str, cases: Cases) -> None:
    """Compaction writes a new file (open, fallocate, fdatasync) and renames it over the
    journal: any failure is reported, leaves the journal whole and no temporary file."""
    w = World(tmp_path)
    w.pm.snapshot("BB.B-2")
    w.trade("AAA", 5)
    w.trade("BB.B-2", 5)
    first = {s: w.journal(s).first_seq for s in SYMS}
    inject(call, times)
    report = w.pm.perform_maintenance()
    if call == "msync":  # compaction fdatasyncs its new file; it never msyncs the journal
        assert not report.errors and set(report.journals_compacted) == set(SYMS)
    else:
        failed = 2 if times == "persistent" else 1
        assert len(report.errors) == failed, report.errors
        assert all(f"[Errno {ERRNO[call]}]" in e for e in report.errors), report.errors
        assert len(report.journals_compacted) == 2 - failed
        assert sum(w.journal(s).first_seq == first[s] for s in SYMS) == failed
        check_no_debris(tmp_path)
        assert not any(w.journal(s).poisoned for s in SYMS), "a failed compaction must not poison"
        if times == "persistent" and call == "fsync":
            expect_fault(call, lambda: w.add("AAA"))  # sync="always": appends fail as well
            _core._clear_faults()
            with pytest.raises(JournalPoisonedError):
                w.add("AAA")
        else:
            _core._clear_faults()
            left = {s for s in SYMS if w.journal(s).first_seq == first[s]}
            report = w.pm.perform_maintenance()  # and the next pass compacts what was left
            assert not report.errors and set(report.journals_compacted) == left
    _core._clear_faults()
    w.trade("BB.B-2", 5)
    check_no_debris(tmp_path)
    w.close_and_recover()
    cases.add()


def test_compaction_directory_fsync_after_the_rename(tmp_path: Path, cases: Cases) -> None:
    """The directory fsync that makes compaction's rename durable fails (the new file's two
    fdatasyncs before it pass): the journal already names the compacted file, so the
    handle is poisoned rather than trusted, and recovery finds every operation."""
    w = World(tmp_path)
    w.pm.snapshot("BB.B-2")
    w.trade("AAA", 5)
    w.trade("BB.B-2", 5)
    _core._inject_fault("fsync", errno.EIO, 1, after=2)
    report = w.pm.perform_maintenance()
    journals = tmp_path / "journals"
    assert [e for e in report.errors if f"fsync failed on {journals}:" in e], report.errors
    poisoned = [s for s in SYMS if w.journal(s).poisoned]
    assert len(poisoned) == 1, poisoned
    _core._clear_faults()
    with pytest.raises(JournalPoisonedError):
        w.add(poisoned[0])
    w.close_and_recover()
    cases.add()


# ----------------------------------------------------------------------- shutdown


@pytest.mark.parametrize("times", TIMES)
@pytest.mark.parametrize("call", CALLS)
def test_shutdown(tmp_path: Path, call: str, times: str, cases: Cases) -> None:
    """shutdown() snapshots and flushes every journal: a failed sync or snapshot file write
    (open, rename) raises (the first error, with its errno) after every journal was closed
    and the directory released."""
    w = World(tmp_path, sync="none")
    w.trade("AAA", 10)
    w.trade("BB.B-2", 10)
    inject(call, times)
    if call != "fallocate":  # the journals' syncs, or the shutdown snapshots' file writes
        expect_fault(call, w.pm.shutdown)
    else:
        w.pm.shutdown()
    assert w.pm.closed
    for s in SYMS:
        assert w.journal(s).closed
        with pytest.raises(JournalClosedError):
            w.add(s)
    w.failed.clear()
    w.close_and_recover()  # a fresh manager gets the directory: it was released
    cases.add()
