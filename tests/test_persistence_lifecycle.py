"""How a PersistenceManager ends: a shutdown interrupted by Ctrl-C and called again, a
manager dropped without shutdown (collected, or alive at exit), the data directory
removed or replaced under a running manager, and what a clean shutdown leaves on disk."""

from __future__ import annotations

import errno
import gc
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_python, wait_for

from pinnacle import (
    DataDirectoryLockedError,
    DataDirectoryLostError,
    JournalClosedError,
    JournalPoisonedError,
    OrderBook,
    PersistenceConfig,
    PersistenceManager,
    PinnacleIOError,
)
from pinnacle._lifecycle import Resources
from pinnacle.cli.journal_scan import scan_journal
from pinnacle.paths import DirectoryLock
from pinnacle.snapshots import SnapshotManager, SnapshotPipeline

pytestmark = pytest.mark.reliability("lifecycle")

SYMS = ("AAA", "BBB")
CFG = PersistenceConfig(keep_snapshots=2, journal_sync_mode="none")


def trade(book: OrderBook, n: int, base: int) -> None:
    for k in range(base, base + n):
        book.add_order(k, "buy" if k % 2 else "sell", 100 + k % 7 if k % 2 else 110 + k % 5, 1 + k % 3)


def recovered(data: Path) -> dict[str, OrderBook]:
    with PersistenceManager(data, CFG, maintenance=False) as pm:
        pm.recover_state()
        return {s: b.copy() for s, b in pm.get_all_recovered_order_books().items()}


def maintenance_threads() -> int:
    return sum(t.name == "pinnacle-maintenance" for t in threading.enumerate())


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def os_threads() -> int:
    """Every thread of the process, the journals' sync threads included."""
    return len(os.listdir("/proc/self/task"))


# ------------------------------------------------------------------ Ctrl-C in shutdown

STEPS = ["join", "check", "snapshot", "close-first", "close-second", "unlock"]


def interrupt_once(monkeypatch: pytest.MonkeyPatch, pm: PersistenceManager, step: str) -> list[str]:
    """Makes ``step`` of the next shutdown raise KeyboardInterrupt once; returns a list
    that records the interrupt."""
    hit: list[str] = []

    def once(real: Callable[..., object]) -> Callable[..., object]:
        def wrapper(*a: object, **k: object) -> object:
            if not hit:
                hit.append(step)
                raise KeyboardInterrupt
            return real(*a, **k)

        return wrapper

    res: Resources = getattr(pm, "_res", None)  # type: ignore[assignment]
    if step == "join":
        assert res.thread is not None
        monkeypatch.setattr(res.thread, "join", once(res.thread.join))
    elif step == "check":
        monkeypatch.setattr(res, "check_lock", once(res.check_lock))
    elif step == "snapshot":
        monkeypatch.setattr(SnapshotPipeline, "take", once(SnapshotPipeline.take))
    elif step.startswith("close"):
        real_close = SnapshotPipeline.close
        calls = [0]

        def close(p: SnapshotPipeline, reason: str | None = None) -> None:
            calls[0] += 1
            if not hit and (calls[0] == 1) == (step == "close-first"):
                hit.append(step)
                raise KeyboardInterrupt
            real_close(p, reason)

        monkeypatch.setattr(SnapshotPipeline, "close", close)
    else:
        assert res.dir_lock is not None
        monkeypatch.setattr(res.dir_lock, "release", once(res.dir_lock.release))
    return hit


@pytest.mark.parametrize("step", STEPS)
def test_shutdown_interrupted_at_any_step_is_finished_by_calling_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    pm = PersistenceManager(tmp_path, CFG)
    books = [pm.order_book(s) for s in SYMS]
    for k, b in enumerate(books):
        trade(b, 30, 1000 * k)
    expected = [b.copy() for b in books]
    hit = interrupt_once(monkeypatch, pm, step)
    with pytest.raises(KeyboardInterrupt):
        pm.shutdown()
    assert hit == [step] and not pm.closed
    with pytest.raises(JournalClosedError, match="call shutdown"):
        pm.order_book("CCC")  # no new work while a shutdown is unfinished
    pm.shutdown()
    assert pm.closed and maintenance_threads() == 0
    for b in books:
        with pytest.raises(JournalClosedError):
            b.add_order(10**6, "buy", 1, 1)
    pm.shutdown()  # idempotent
    # The lock is released, and everything acknowledged was recovered.
    got = recovered(tmp_path)
    assert [got[s] for s in SYMS] == expected


# ------------------------------------------------------- dropped without shutdown


def test_a_dropped_manager_is_released_when_collected(tmp_path: Path) -> None:
    gc.collect()  # what earlier tests left
    fds, threads, tasks = open_fds(), maintenance_threads(), os_threads()
    pm = PersistenceManager(tmp_path, PersistenceConfig(journal_sync_mode="interval"))
    book = pm.order_book("AAA")
    trade(book, 50, 0)
    expected = book.copy()
    assert open_fds() > fds and maintenance_threads() == threads + 1 and os_threads() > tasks + 1
    del pm
    gc.collect()
    assert (open_fds(), maintenance_threads(), os_threads()) == (fds, threads, tasks)
    with pytest.raises(JournalClosedError):
        book.add_order(10**6, "buy", 1, 1)  # its journal was closed with the manager
    # Re-running the "notebook cell": the directory is free again.
    with PersistenceManager(tmp_path, CFG) as again:
        again.recover_state()
        assert again.order_book("AAA") == expected


def test_a_manager_alive_at_exit_is_flushed_and_sealed(tmp_path: Path) -> None:
    r = run_python(
        "import sys, pinnacle\n"
        "cfg = pinnacle.PersistenceConfig(journal_sync_mode='none')\n"
        "pm = pinnacle.PersistenceManager(sys.argv[1], cfg)\n"
        "b = pm.order_book('AAA')\n"
        "for k in range(200):\n"
        "    b.add_order(k, 'buy', 100 + k % 5, 1)\n"
        "print(pm.get_journal('AAA').last_seq)\n",
        str(tmp_path),
    )
    assert r.returncode == 0, r.stderr
    info = scan_journal(tmp_path / "journals" / "AAA.journal")
    assert info.header is not None and info.last_seq == int(r.stdout) == 200
    assert info.header.durable_end == info.data_end  # flushed, and the header says so
    assert len(recovered(tmp_path)["AAA"].orders()) == 200


def test_a_forked_child_never_releases_its_parents_manager(tmp_path: Path) -> None:
    """The finalizer only acts in the process that created the manager."""
    pm = PersistenceManager(tmp_path, CFG, maintenance=False)
    book = pm.order_book("AAA")
    trade(book, 10, 0)
    pid = os.fork()
    if pid == 0:  # child: what its atexit would run
        try:
            pm._res.finalize()
        finally:
            os._exit(0 if not pm._res.closed else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    trade(book, 10, 100)  # the parent's handles are untouched
    pm.shutdown()


# -------------------------------------------------------- the directory is lost


def test_removed_data_directory_is_noticed_and_never_recreated(tmp_path: Path) -> None:
    data = tmp_path / "data"
    pm = PersistenceManager(data, CFG, maintenance=False)
    book = pm.order_book("AAA")
    trade(book, 20, 0)
    shutil.rmtree(data)
    with pytest.raises(DataDirectoryLostError, match="deleted") as info:
        pm.snapshot("AAA")
    assert isinstance(info.value, OSError) and info.value.errno is not None
    assert not data.exists()  # nothing recreated
    with pytest.raises(JournalClosedError, match="lost its data directory"):
        book.add_order(10**6, "buy", 1, 1)
    for call in (pm.perform_maintenance, pm.recover_state, lambda: pm.order_book("BBB")):
        with pytest.raises(DataDirectoryLostError):
            call()
    with pytest.raises(DataDirectoryLostError):
        pm.shutdown()
    pm.shutdown()
    assert pm.closed and not data.exists()


def test_with_sync_always_no_append_is_acknowledged_after_the_directory_is_removed(
    tmp_path: Path,
) -> None:
    """Each append's sync checks that the journal file still has a name: the first append
    after ``rm -rf`` fails, and the handle refuses every later one."""
    data = tmp_path / "data"
    pm = PersistenceManager(data, PersistenceConfig(journal_sync_mode="always"), maintenance=False)
    book = pm.order_book("AAA")
    trade(book, 5, 0)
    shutil.rmtree(data)
    with pytest.raises(PinnacleIOError, match="deleted or replaced") as info:
        book.add_order(100, "buy", 100, 1)
    assert info.value.errno == errno.ENOENT
    with pytest.raises(JournalPoisonedError):
        book.add_order(101, "buy", 100, 1)
    with pytest.raises(DataDirectoryLostError):
        pm.shutdown()
    assert not data.exists()


def test_the_maintenance_thread_notices_a_removed_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cfg = PersistenceConfig(snapshot_interval_min=0.005, keep_snapshots=2)  # 300 ms
    pm = PersistenceManager(data, cfg)
    book = pm.order_book("AAA")
    trade(book, 20, 0)
    while data.exists():  # a snapshot written meanwhile can make one pass fail
        shutil.rmtree(data, ignore_errors=True)
    k = [1000]

    def refused() -> bool:
        k[0] += 1
        try:
            book.add_order(k[0], "buy", 100, 1)
        except (JournalClosedError, JournalPoisonedError):  # closed, or its sync thread saw it first
            return True
        return False

    assert wait_for(refused)
    assert not data.exists()  # the thread recreated no snapshots/AAA
    with pytest.raises(DataDirectoryLostError):
        pm.shutdown()


def test_a_replaced_directory_is_left_to_its_new_owner(tmp_path: Path) -> None:
    data = tmp_path / "data"
    old = PersistenceManager(data, CFG, maintenance=False)
    old_book = old.order_book("AAA")
    trade(old_book, 20, 0)
    shutil.rmtree(data)
    new = PersistenceManager(data, CFG, maintenance=False)  # no conflict: a new lock file
    new_book = new.order_book("AAA")
    trade(new_book, 5, 500)
    with pytest.raises(DataDirectoryLostError, match="replaced"):
        old.snapshot("AAA")
    with pytest.raises(JournalClosedError):
        old_book.add_order(10**6, "buy", 1, 1)
    with pytest.raises(DataDirectoryLostError):
        old.shutdown()
    assert not (data / "snapshots" / "AAA").exists() or not os.listdir(data / "snapshots" / "AAA")
    with pytest.raises(DataDirectoryLockedError):
        PersistenceManager(data, CFG)  # the old manager's shutdown left the new lock alone
    new.shutdown()
    assert recovered(data)["AAA"] == new_book


def test_a_lock_checks_its_own_file(tmp_path: Path) -> None:
    lock = DirectoryLock(tmp_path / ".lock")
    assert lock.lost() is None
    (tmp_path / ".lock").unlink()
    (tmp_path / ".lock").write_text("")
    err = lock.lost()
    assert isinstance(err, DataDirectoryLostError) and "replaced" in str(err)
    lock.release()
    assert lock.lost() is None


# ------------------------------------------------------------- clean shutdown


def test_short_runs_keep_keep_snapshots_and_the_newest_covers_the_journal(tmp_path: Path) -> None:
    """Each run trades for less than a snapshot interval and shuts down: the shutdown
    snapshots the changed symbols only, and rotation keeps two per symbol."""
    for run in range(6):
        with PersistenceManager(tmp_path, CFG) as pm:
            pm.recover_state()
            trade(pm.order_book("AAA"), 10, 100 * run)
            if run == 0:
                pm.order_book("BBB").add_order(1, "buy", 1, 1)  # BBB changes in run 0 only
    for sym, expect in (("AAA", 2), ("BBB", 1)):
        snaps = SnapshotManager(sym, tmp_path / "snapshots" / sym, "0.01", "1").files()
        assert len(snaps) == expect
        j = scan_journal(tmp_path / "journals" / f"{sym}.journal")
        assert j.last_checkpoint is not None and j.last_checkpoint[1] == snaps[0].covered_seq
        assert j.last_seq == snaps[0].covered_seq + 1  # only the checkpoint follows it


def test_shutdown_without_snapshot(tmp_path: Path) -> None:
    with PersistenceManager(tmp_path, CFG) as pm:
        trade(pm.order_book("AAA"), 10, 0)
        pm.shutdown(snapshot=False)
    assert not (tmp_path / "snapshots" / "AAA").exists()


def test_a_session_that_only_recovers_writes_nothing(tmp_path: Path) -> None:
    """Not even a rotation: three snapshots stay although the next session keeps two."""
    with PersistenceManager(tmp_path, PersistenceConfig(keep_snapshots=5)) as pm:
        for k in range(3):
            trade(pm.order_book("AAA"), 10, 100 * k)
            pm.snapshot("AAA")
        trade(pm.order_book("AAA"), 10, 1000)
        pm.shutdown(snapshot=False)  # the journal is ahead of the newest snapshot

    def files() -> list[tuple[Path, bytes]]:
        return sorted((p, p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file() and p.name != ".lock")

    before = files()
    assert len(recovered(tmp_path)["AAA"].orders()) > 0
    assert files() == before
