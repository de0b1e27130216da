"""A full disk: appends fail with a clean OSError — never a SIGBUS or a crash — and
everything written before stays intact and recoverable.

Two ways to fill a disk: a size-limited tmpfs (needs root and mount permission; skipped
otherwise) and RLIMIT_FSIZE (any user). The writer runs in a subprocess so that a SIGBUS
would show up as a failed exit status instead of killing the test runner."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_python

from pinnacle import Journal

FILL_UNTIL_ERROR = r"""
import os, resource, signal, sys, pinnacle
path, limit = sys.argv[1], int(sys.argv[2])
if limit:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
j = pinnacle.Journal(path, initial_size=8192, growth_step=16384)
acked = 0
try:
    while True:
        acked = j.append(1, b"%08d" % (acked + 1) * 12)
except OSError as e:
    print("error", e.errno, acked, flush=True)
    try:
        j.append(1, b"x" * 20000)  # still refused, still no crash
    except OSError as again:
        print("again", again.errno, flush=True)
    j.close()
    print("closed", flush=True)
"""

pytestmark = pytest.mark.reliability("disk_full")


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def check_run(path: Path, limit: int, expected_errno: int) -> None:
    r = run_python(FILL_UNTIL_ERROR, str(path), str(limit))
    assert r.returncode == 0, f"writer died (signal {-r.returncode}): {r.stderr[-2000:]}"
    lines = r.stdout.split()
    assert lines[0] == "error" and int(lines[1]) == expected_errno, r.stdout
    acked = int(lines[2])
    assert acked > 100
    assert lines[3:5] == ["again", str(expected_errno)] and lines[5] == "closed"
    with Journal(path) as j:
        entries = list(j.read())
        assert [e.seq for e in entries] == list(range(1, acked + 1))
        assert all(e.payload == b"%08d" % e.seq * 12 for e in entries)


def test_full_tmpfs_gives_enospc_and_keeps_everything(tiny_fs: Path) -> None:
    check_run(tiny_fs / "full.journal", 0, errno.ENOSPC)


def test_file_size_limit_gives_efbig_and_keeps_everything(tmp_path: Path) -> None:
    check_run(tmp_path / "limited.journal", 200_000, errno.EFBIG)
