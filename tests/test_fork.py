"""Handles do not cross a fork (issue 15, items 1-3): a forked child using an inherited
Journal, JournalReader, journaled OrderBook, ShadowBook or PersistenceManager gets
ForkedHandleError — never a write, a sync, an unlock, a panic or a hang — and holds none
of the parent's locks; the parent keeps working and its data is exactly what it wrote.

Every child has a deadline: a hang kills it and fails the test instead of hanging CI.
Scripts that must exit through normal interpreter shutdown (finalizers, atexit) run in a
subprocess with a timeout.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import select
import signal
import subprocess
import sys
import textwrap
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import pinnacle
from pinnacle import (
    ForkedHandleError,
    Journal,
    JournalClosedError,
    JournalReader,
    OrderBook,
    PersistenceManager,
    PinnacleError,
    ShadowBook,
)

pytestmark = pytest.mark.reliability("lifecycle")

DEADLINE_S = 30.0


def in_child(body: Callable[[], Any], deadline: float = DEADLINE_S) -> Any:
    """Forks; the child runs ``body`` and sends back its JSON result (or the traceback of
    what it raised) before ``os._exit``. A child not done by the deadline is killed and
    fails the test."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            out = json.dumps({"ok": body()})
        except BaseException:
            out, code = json.dumps({"raised": traceback.format_exc()}), 3
        try:
            os.write(w, out.encode())
        finally:
            os._exit(code)
    os.close(w)
    buf, end = b"", time.monotonic() + deadline
    try:
        while True:
            left = end - time.monotonic()
            ready, _, _ = select.select([r], [], [], max(left, 0))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail(f"the forked child hung (killed after {deadline} s)")
            chunk = os.read(r, 1 << 16)
            if not chunk:
                break
            buf += chunk
    finally:
        os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status), f"the child died of signal {os.WTERMSIG(status)}"
    result = json.loads(buf)
    assert "raised" not in result, f"the child raised:\n{result['raised']}"
    return result["ok"]


def outcome(call: Callable[[], Any]) -> str:
    """What a call did in the child: "ok", or the name of what it raised (with the
    message when it is a ForkedHandleError)."""
    try:
        call()
    except ForkedHandleError as e:
        return f"ForkedHandleError: {e}"
    except BaseException as e:  # a PanicException is a BaseException
        return f"{type(e).__name__}: {e}"
    return "ok"


def all_refused(results: dict[str, str], parent: int) -> None:
    bad = {k: v for k, v in results.items() if not v.startswith("ForkedHandleError")}
    assert not bad, f"not refused in the child: {bad}"
    for v in results.values():
        assert f"opened in process {parent}" in v and "reopen" in v, v


def run_script(code: str, timeout: float = 60) -> str:
    """Runs ``code`` in a fresh interpreter; a hang fails the test."""
    try:
        p = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the script hung:\nstdout={e.stdout!r}\nstderr={e.stderr!r}")
    assert p.returncode == 0, f"rc={p.returncode}\nstdout={p.stdout}\nstderr={p.stderr}"
    return p.stdout


def entries(path: Path) -> list[tuple[int, int, bytes]]:
    with Journal(path) as j:
        assert j.recovery_report.clean, j.recovery_report.summary()
        return [(e.seq, e.kind, bytes(e.payload)) for e in j.read()]


# ------------------------------------------------------------------- Journal


@pytest.mark.parametrize("sync", ["none", "interval", "always"])
def test_a_child_is_refused_every_use_of_a_journal_and_the_parent_keeps_its_data(
    tmp_path: Path, sync: str, cases: Any
) -> None:
    path = tmp_path / "j.journal"
    j = Journal(path, sync=sync, sync_interval_ms=1)
    reader = JournalReader(path)
    parent = os.getpid()
    written: list[bytes] = []
    for round_ in range(5):
        for i in range(20):
            written.append(f"p{round_}-{i}".encode())
            j.append(1, written[-1])

        def child() -> dict[str, str]:
            calls: dict[str, Callable[[], Any]] = {
                "append": lambda: j.append(1, b"child"),
                "append_many": lambda: j.append_many(1, [b"a", b"b"]),
                "checkpoint": lambda: j.checkpoint(1),
                "flush": j.flush,
                "read": lambda: list(j.read()),
                "read_array": j.read_array,
                "compact": lambda: j.compact(2),
                "last_seq": lambda: j.last_seq,
                "entry_count": lambda: j.entry_count,
                "closed": lambda: j.closed,
                "len": lambda: len(j),
                "reader.poll": reader.poll,
                "reader.next_seq": lambda: reader.next_seq,
            }
            got = {name: outcome(c) for name, c in calls.items()}
            closes = [outcome(j.close), outcome(reader.close), outcome(lambda: j.append(1, b"x"))]
            return {"refused": got, "closes": closes, "repr": repr(j)}

        got = in_child(child)
        all_refused(got["refused"], parent)
        assert f"opened in process {parent}" in got["repr"]
        assert got["closes"][:2] == ["ok", "ok"], "close() in the child releases nothing and succeeds"
        assert got["closes"][2].startswith("ForkedHandleError")
        cases.add()
    # The parent's handles work as if nothing happened, the reader included.
    written.append(b"after")
    j.append(1, b"after")
    assert [bytes(e.payload) for e in reader.poll()] == written
    j.close()
    reader.close()
    assert entries(path) == [(i + 1, 1, p) for i, p in enumerate(written)]


def test_a_forked_child_is_a_subclass_of_journal_closed_error() -> None:
    assert issubclass(ForkedHandleError, JournalClosedError)
    assert issubclass(ForkedHandleError, PinnacleError)
    assert pinnacle.errors.ForkedHandleError is ForkedHandleError


def test_children_forked_while_another_thread_syncs_never_hang(tmp_path: Path, cases: Any) -> None:
    """The parent's thread holds the sync gate or the journal's lock at many of the forks:
    a child that waited for either would wait forever."""
    path = tmp_path / "j.journal"
    j = Journal(path, sync="always")
    book = OrderBook("X", journal=j)
    stop = threading.Event()
    done = [0]

    def trade() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            book.add_order(i, "buy", 1 + i % 50, 1)
            j.flush()
        done[0] = i

    t = threading.Thread(target=trade)
    t.start()
    try:
        for _ in range(20):
            got = in_child(
                lambda: [outcome(j.flush), outcome(lambda: book.best_bid), outcome(lambda: book.orders())],
                deadline=10,
            )
            assert all(g.startswith("ForkedHandleError") for g in got), got
            cases.add()
    finally:
        stop.set()
        t.join()
    j.close()
    assert len(entries(path)) == done[0]


def test_a_child_forked_while_other_threads_open_journals_can_open_its_own(
    tmp_path: Path, cases: Any
) -> None:
    """Forks land while other threads open, append to, flush and close journals (starting,
    waking and stopping the pool's workers, holding and waiting on locks): the child's own
    journal, with its own workers, opens, appends and closes without hanging."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def churn(t: int) -> None:
        i = 0
        try:
            while not stop.is_set():
                i += 1
                try:
                    j = Journal(tmp_path / f"busy-{t}-{i % 4}.journal", sync="interval", sync_interval_ms=1)
                except pinnacle.JournalLockedError:
                    continue  # a child forked a moment ago may not have closed its copy yet
                j.append(1, b"x")
                j.close()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    kept = Journal(tmp_path / "kept.journal", sync="interval", sync_interval_ms=1)

    def flush() -> None:
        while not stop.is_set():
            kept.append(1, b"y")
            kept.flush()

    threads = [threading.Thread(target=churn, args=(t,)) for t in range(2)]
    threads.append(threading.Thread(target=flush))
    for t in threads:
        t.start()

    def own(n: int) -> list[str]:
        with Journal(tmp_path / f"child-{n}.journal", sync="interval", sync_interval_ms=1) as j:
            j.append(1, b"mine")
            j.flush()
            return [bytes(e.payload).decode() for e in j.read()]

    try:
        for n in range(40):
            assert in_child(lambda n=n: own(n), deadline=20) == ["mine"]
            cases.add()
    finally:
        stop.set()
        for t in threads:
            t.join()
    kept.close()
    assert not errors, errors


def test_a_child_closing_and_exiting_normally_neither_panics_nor_hangs(tmp_path: Path, cases: Any) -> None:
    """Normal interpreter exit in the child runs every finalizer (Journal, book, reader,
    manager) with the parent's threads absent."""
    out = run_script(
        f"""
        import json, os, sys, threading
        import pinnacle
        data = {str(tmp_path / "data")!r}
        pm = pinnacle.PersistenceManager(data)
        book = pm.order_book("X")
        j = pinnacle.Journal({str(tmp_path / "plain.journal")!r}, sync="interval", sync_interval_ms=1)
        stop = threading.Event()
        def trade():
            i = 0
            while not stop.is_set():
                i += 1
                book.add_order(i, "buy", 1 + i % 50, 1)
                j.append(1, b"x")
                j.flush()
        t = threading.Thread(target=trade, daemon=True)
        t.start()
        kids = []
        for _ in range(12):
            pid = os.fork()
            if pid == 0:
                results = []
                for call in (j.close, pm.shutdown, lambda: book.cancel_order(1)):
                    try:
                        call()
                        results.append("ok")
                    except BaseException as e:
                        results.append(type(e).__name__)
                ok = results == ["ok", "ok", "ForkedHandleError"]
                sys.exit(0 if ok else 7)  # a normal exit: atexit, finalizers, GC
            kids.append(pid)
        codes = [os.waitpid(p, 0)[1] for p in kids]
        stop.set()
        t.join()
        n = book.order_count
        pm.shutdown()
        j.close()
        pm = pinnacle.PersistenceManager(data)
        pm.recover_state()
        print(json.dumps({{"codes": codes, "orders": n, "recovered": pm.order_book("X").order_count}}))
        pm.shutdown()
        """
    )
    got = json.loads(out)
    assert got["codes"] == [0] * 12
    assert got["recovered"] == got["orders"] > 0
    cases.add(12)


# ------------------------------------------------------------- books, shadows


def test_a_child_is_refused_a_journaled_book_and_shadow_but_keeps_plain_books(
    tmp_path: Path, cases: Any
) -> None:
    path = tmp_path / "b.journal"
    j = Journal(path)
    book = OrderBook("X", journal=j)
    for i in range(1, 11):
        book.add_order(i, "buy", 10 + i, 1)
    shadow = ShadowBook(OrderBook("X"), path, 1)
    plain = book.copy()
    parent = os.getpid()

    def child() -> dict[str, Any]:
        calls: dict[str, Callable[[], Any]] = {
            "add_order": lambda: book.add_order(99, "sell", 100, 1),
            "cancel_order": lambda: book.cancel_order(1),
            "best_bid": lambda: book.best_bid,
            "order_count": lambda: book.order_count,
            "orders": book.orders,
            "get_order": lambda: book.get_order(1),
            "depth": lambda: book.depth(5),
            "copy": book.copy,
            "len": lambda: len(book),
            "snapshot_bytes": book.snapshot_bytes,
            "eq": lambda: book == plain,
            "shadow.catch_up": shadow.catch_up,
            "shadow.seq": lambda: shadow.seq,
        }
        refused = {k: outcome(c) for k, c in calls.items()}
        plain.add_order(50, "sell", 100, 1)  # plain memory: works
        return {
            "refused": refused,
            "plain": plain.order_count,
            "repr": repr(book),
            "close": outcome(shadow.close),
        }

    got = in_child(child)
    all_refused(got["refused"], parent)
    assert got["plain"] == 11
    assert got["close"] == "ok"
    assert "another process" in got["repr"]
    # The parent: all of it still works.
    book.add_order(11, "sell", 100, 1)
    assert shadow.catch_up() == 11
    assert book.order_count == 11 and plain.order_count == 10
    j.close()
    assert len(entries(path)) == 11
    cases.add()


# ------------------------------------------------------ PersistenceManager


def test_a_child_is_refused_a_manager_and_the_parent_recovers_exactly_its_state(
    tmp_path: Path, cases: Any
) -> None:
    data = tmp_path / "data"
    pm = PersistenceManager(data)
    book = pm.order_book("X")
    for i in range(1, 101):
        book.add_order(i, "buy", 1 + i % 20, 1)
    parent = os.getpid()

    def child() -> dict[str, Any]:
        calls: dict[str, Callable[[], Any]] = {
            "order_book": lambda: pm.order_book("X"),
            "new symbol": lambda: pm.order_book("Y"),
            "snapshot": lambda: pm.snapshot("X"),
            "snapshot_all": pm.snapshot_all,
            "perform_maintenance": pm.perform_maintenance,
            "recover_state": pm.recover_state,
            "symbols": lambda: pm.symbols,
            "get_journal": lambda: pm.get_journal("X"),
            "add_order": lambda: book.add_order(1000, "sell", 50, 1),
        }
        refused = {k: outcome(c) for k, c in calls.items()}
        return {"refused": refused, "shutdown": outcome(pm.shutdown), "repr": repr(pm)}

    got = in_child(child)
    all_refused(got["refused"], parent)
    assert got["shutdown"] == "ok"
    assert f"opened in process {parent}" in got["repr"]
    for i in range(101, 151):
        book.add_order(i, "sell", 100 + i % 20, 1)
    expected = book.copy()
    pm.snapshot("X")
    book.cancel_order(5)
    expected.cancel_order(5)
    pm.shutdown()
    with PersistenceManager(data) as again:
        again.recover_state()
        assert again.order_book("X") == expected
    cases.add()


def _report_in_worker(_: int) -> str:
    """A fork-started worker: what using the parent's inherited manager does."""
    pm = _INHERITED["pm"]
    return outcome(lambda: pm.order_book("X").add_order(10_000 + os.getpid(), "buy", 1, 1))


def _own_journal_in_worker(path: str) -> int:
    """A worker opening its own journal: allowed anywhere."""
    with Journal(path) as j:
        j.append(1, b"worker")
        return j.entry_count


_INHERITED: dict[str, Any] = {}


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_a_live_pool_does_not_keep_the_parent_from_reopening_its_data_directory(
    tmp_path: Path, method: str, cases: Any
) -> None:
    data = tmp_path / "data"
    pm = PersistenceManager(data)
    book = pm.order_book("X")
    book.add_order(1, "buy", 10, 1)
    _INHERITED["pm"] = pm
    ctx = multiprocessing.get_context(method)
    try:
        with ctx.Pool(2) as pool:
            if method == "fork":
                got = pool.map(_report_in_worker, range(4))
                assert all(g.startswith("ForkedHandleError") for g in got), got
            else:
                # Nothing is inherited, and a handle cannot be sent to another process.
                with pytest.raises(TypeError):
                    pickle.dumps(pm.get_journal("X"))
            counts = pool.map(_own_journal_in_worker, [str(tmp_path / f"w{i}.journal") for i in range(4)])
            assert counts == [1] * 4
            book.add_order(2, "buy", 11, 1)
            pm.shutdown()
            # The workers are alive and hold the fork-time copies of the parent's memory.
            with PersistenceManager(data) as again:
                again.recover_state()
                assert again.order_book("X").order_count == 2
            cases.add(4)
    finally:
        _INHERITED.clear()
        pm.shutdown()


def test_a_manager_lock_held_by_a_sleeping_child_is_released_with_the_parent(
    tmp_path: Path, cases: Any
) -> None:
    data = tmp_path / "data"
    pm = PersistenceManager(data, maintenance=False)
    pm.order_book("X").add_order(1, "buy", 1, 1)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.read(r, 1)
        os._exit(0)
    try:
        pm.shutdown()
        with PersistenceManager(data, maintenance=False) as again:
            assert again.recover_state()
    finally:
        os.write(w, b"g")
        os.waitpid(pid, 0)
        os.close(r)
        os.close(w)
    cases.add()


# ------------------------------------------------------------------ daemons


def test_a_daemonized_child_is_refused_the_inherited_journal_and_syncs_its_own(
    tmp_path: Path, cases: Any
) -> None:
    """The classic double fork + setsid: the daemon must not keep appending, unsynced,
    through the parent's handle (its sync thread stayed in the parent); it reopens the
    journal once the parent is gone, and its own sync thread makes its appends durable."""
    path, result = tmp_path / "d.journal", tmp_path / "result.json"
    run_script(
        f"""
        import json, os, time
        import pinnacle, pinnacle._core as core
        path, result = {str(path)!r}, {str(result)!r}
        j = pinnacle.Journal(path, sync="interval", sync_interval_ms=10)
        j.append(1, b"parent")
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                out = {{}}
                try:
                    j.append(1, b"daemon via the parent's handle")
                    out["inherited"] = "ok"
                except pinnacle.ForkedHandleError:
                    out["inherited"] = "ForkedHandleError"
                deadline = time.monotonic() + 20
                while True:
                    try:
                        own = pinnacle.Journal(path, sync="interval", sync_interval_ms=10)
                        break
                    except pinnacle.JournalLockedError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.01)
                core._track_durability(True)
                own.append(1, b"daemon")
                while b"daemon" not in (core._durable_image(path) or b""):
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.01)
                out["synced"] = b"daemon" in (core._durable_image(path) or b"")
                out["entries"] = [bytes(e.payload).decode() for e in own.read()]
                own.close()
                with open(result + ".tmp", "w") as f:
                    json.dump(out, f)
                os.rename(result + ".tmp", result)
            os._exit(0)
        os.wait()
        j.close()
        """
    )
    deadline = time.monotonic() + DEADLINE_S
    while not result.exists():
        assert time.monotonic() < deadline, "the daemon never reported"
        time.sleep(0.02)
    got = json.loads(result.read_text())
    assert got == {"inherited": "ForkedHandleError", "synced": True, "entries": ["parent", "daemon"]}
    cases.add()
