"""Several processes: a second writer, a tailing reader, and a writer killed by SIGKILL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_python

from pinnacle import Journal

WRITER = r"""
import sys, pinnacle
path, sync = sys.argv[1], sys.argv[2]
j = pinnacle.Journal(path, sync=sync, sync_interval_ms=2, initial_size=8192, growth_step=4096)
out = sys.stdout
i = 0
while True:
    # Every payload starts with its own sequence number (one writer: next_seq is exact).
    n = j.next_seq
    payload = (b"%010d" % n) * (1 + i % 7)
    if i % 50 == 49:
        first, last = j.append_many(3, [payload, b"%010d" % (n + 1)])
        out.write(f"{first}\n{last}\n")
    else:
        seq = j.append(1, payload)
        out.write(f"{seq}\n")
    out.flush()
    i += 1
"""


def test_second_writer_in_another_process_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "locked.journal"
    with Journal(p):
        r = run_python(
            "import sys, pinnacle\n"
            "try:\n    pinnacle.Journal(sys.argv[1])\n"
            "except pinnacle.JournalLockedError as e:\n    print('refused', e.errno)\n",
            str(p),
        )
        assert r.stdout.startswith("refused"), r.stderr


def test_reader_in_another_process_tails_the_writer(tmp_path: Path) -> None:
    p = tmp_path / "tail.journal"
    j = Journal(p, initial_size=8192, growth_step=4096)
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pinnacle\n"
            "r = pinnacle.JournalReader(sys.argv[1])\n"
            "print('ready', flush=True)\n"
            "got = []\n"
            "while len(got) < 3000:\n"
            "    got += r.wait(10.0)\n"
            "assert [e.seq for e in got] == list(range(1, 3001)), 'gap or reorder'\n"
            "assert all(e.payload == b'%06d' % e.seq * 3 for e in got), 'torn payload'\n"
            "print('ok', len(got))\n",
            str(p),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None
    assert reader.stdout.readline() == "ready\n"
    for seq in range(1, 3001):
        j.append(1, b"%06d" % seq * 3)
        if seq == 1500:
            j.compact(2)
    out, err = reader.communicate(timeout=60)
    j.close()
    assert out.startswith("ok 3000"), err


@pytest.mark.parametrize("sync", ["none", "interval", "always"])
def test_sigkilled_writer_loses_no_acknowledged_entry(tmp_path: Path, sync: str) -> None:
    p = tmp_path / f"kill-{sync}.journal"
    rng = random.Random(sync)
    acknowledged = 0
    for _cycle in range(4):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(p), sync], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        deadline = time.monotonic() + rng.uniform(0.3, 0.8)
        seen: list[int] = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(int(line))
        os.kill(proc.pid, signal.SIGKILL)
        rest = proc.stdout.read()
        proc.wait()
        seen += [int(x) for x in rest.split()]
        assert seen, "writer acknowledged nothing"
        acknowledged = max(acknowledged, *seen)
        with Journal(p, initial_size=8192, growth_step=4096) as j:
            entries = list(j.read())
            seqs = [e.seq for e in entries]
            assert seqs == list(range(1, len(seqs) + 1)), "gap in recovered seqs"
            assert len(seqs) >= acknowledged, (
                f"lost acknowledged entries: have {len(seqs)}, acked {acknowledged}"
            )
            for e in entries:
                assert e.payload[:10] == b"%010d" % e.seq, f"payload of seq {e.seq} is wrong"
