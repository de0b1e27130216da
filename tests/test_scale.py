"""Many symbols in one process: 1,000 journaled books run on a handful of threads and at
most one file descriptor each, so they fit the common ``ulimit -n 1024``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.reliability("lifecycle")

SYMBOLS = 1000

SCRIPT = r"""
import json, os, resource, sys, threading, time
resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
from pinnacle import PersistenceConfig, PersistenceManager

n, data = int(sys.argv[1]), sys.argv[2]
cfg = PersistenceConfig(journal_sync_mode="interval", journal_sync_interval_ms=50)
out = {}

def counts(stage):
    tasks = os.listdir("/proc/self/task")
    names = [open(f"/proc/self/task/{t}/comm").read().strip() for t in tasks]
    out[stage] = {
        "threads": len(tasks),
        "python_threads": threading.active_count(),
        "pinnacle_threads": sum(name.startswith("pinnacle") for name in names),
        "fds": len(os.listdir("/proc/self/fd")),
    }

t0 = time.perf_counter()
pm = PersistenceManager(data, cfg)
for i in range(n):
    book = pm.order_book(f"S{i}")
    book.add_order(1, "buy", 10.0, 1.0)
    book.add_order(2, "sell", 11.0, 2.0)
out["create_s"] = time.perf_counter() - t0
for i in range(0, n, 7):
    pm.order_book(f"S{i}").add_order(3, "buy", 11.0, 2.0)  # fills order 2
time.sleep(0.2)  # a few sync intervals
counts("trading")
pm.shutdown()

t0, c0 = time.perf_counter(), time.process_time()
pm = PersistenceManager(data, cfg)
pm.recover_state()
out["recover_s"], out["recover_cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
counts("after_recovery")
books = pm.get_all_recovered_order_books()
out["recovered"] = len(books)
out["traded"] = sum(books[f"S{i}"].order_count == 1 for i in range(0, n, 7))
pm.shutdown()
counts("after_shutdown")
print(json.dumps(out))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts threads in /proc")
def test_a_thousand_symbols_fit_in_few_threads_and_a_1024_descriptor_limit(tmp_path: Path) -> None:
    # numpy's BLAS starts a thread per core at import: not ours to count.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    r = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(SYMBOLS), str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    print(json.dumps(out, indent=1))  # the timings, for `pytest -s`
    assert out["recovered"] == SYMBOLS
    assert out["traded"] == len(range(0, SYMBOLS, 7))
    for stage in ("trading", "after_recovery"):
        c = out[stage]
        assert c["threads"] <= 8, (stage, c)
        assert c["pinnacle_threads"] <= 4, (stage, c)
        assert c["fds"] <= SYMBOLS + 16, (stage, c)
    # With every journal closed, no background thread is left (a fork then finds none).
    assert out["after_shutdown"]["pinnacle_threads"] == 0, out["after_shutdown"]
