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

from pinnacle import Journal, PersistenceConfig, PersistenceManager

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


def mount_tmpfs(mnt: Path, size: str) -> Iterator[Path]:
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(mnt)],
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


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    yield from mount_tmpfs(tmp_path / "tiny", "256k")


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


# A full disk with room left: the journal (default options: 1 MiB, growing by its own size
# up to 64 MiB) fills the space with smaller steps instead of failing on the 64 MiB one,
# and freeing a little space lets appends resume.
FILL_THE_SPACE = r"""
import os, resource, signal, sys, pinnacle
path, limit, filler = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if limit:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
j = pinnacle.Journal(path)
blob = b"z" * 1000
acked = 0
def fill():
    global acked
    try:
        while True:
            acked = j.append(1, blob)
    except OSError as e:
        return e.errno
print("full", fill(), acked, j.data_bytes, j.size_bytes, flush=True)
if limit:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit + (256 << 10), resource.RLIM_INFINITY))
else:
    os.remove(filler)
print("resumed", fill(), acked, j.data_bytes, j.size_bytes, flush=True)
j.close()
"""


def fill_the_space(path: Path, limit: int, filler: Path | None) -> tuple[list[int], list[int]]:
    r = run_python(FILL_THE_SPACE, str(path), str(limit), str(filler or ""), timeout=120)
    assert r.returncode == 0, f"writer died (signal {-r.returncode}): {r.stderr[-2000:]}"
    full, resumed = (line.split() for line in r.stdout.splitlines())
    assert full[0] == "full" and resumed[0] == "resumed", r.stdout
    return [int(x) for x in full[1:]], [int(x) for x in resumed[1:]]


def check_every_entry(path: Path, acked: int) -> None:
    with Journal(path) as j:
        assert j.entry_count == acked and j.last_seq == acked
        assert all(e.payload == b"z" * 1000 for e in j.read())


def test_file_size_limit_is_filled_by_smaller_steps_and_raising_it_a_little_resumes(tmp_path: Path) -> None:
    limit = 3_000_000  # not a size the doubling reaches: 2 MiB, then 4 MiB is too much
    path = tmp_path / "limited.journal"
    (err, acked, data, size), (err2, acked2, data2, _) = fill_the_space(path, limit, None)
    assert err == errno.EFBIG and size <= limit
    assert data > limit - 2 * 4096 - 1024, f"only {data} of {limit} bytes used"
    assert err2 == errno.EFBIG and acked2 > acked + 200 and data2 > limit + (256 << 10) - 3 * 4096
    check_every_entry(path, acked2)


@pytest.fixture
def fs_48m(tmp_path: Path) -> Iterator[Path]:
    yield from mount_tmpfs(tmp_path / "fs48", "48m")


def test_full_disk_with_38_mib_free_is_filled_and_freeing_a_little_resumes(fs_48m: Path) -> None:
    filler = fs_48m / "filler"
    with open(filler, "wb") as f:
        f.write(b"f" * (10 << 20))  # 38 MiB free: less than the journal's 64 MiB step
    path = fs_48m / "BTC-USD.journal"
    (err, _, data, _), (err2, acked2, data2, _) = fill_the_space(path, 0, filler)
    assert err == errno.ENOSPC
    assert data > 37 << 20, f"ENOSPC after {data} bytes with 38 MiB free"
    # The 10 MiB freed is used although the journal's next step would be 64 MiB.
    assert err2 == errno.ENOSPC and data2 > data + (9 << 20)
    check_every_entry(path, acked2)


@pytest.fixture
def fs_512k(tmp_path: Path) -> Iterator[Path]:
    yield from mount_tmpfs(tmp_path / "fs512k", "512k")


def test_a_symbol_that_cannot_be_created_names_its_journal_and_leaves_nothing(fs_512k: Path) -> None:
    journals = fs_512k / "data" / "journals"
    with PersistenceManager(fs_512k / "data", PersistenceConfig(snapshot_interval_min=0)) as pm:
        with pytest.raises(OSError) as info:
            pm.order_book("BTC-USD")  # a 1 MiB journal on a 512 KiB disk
        assert info.value.errno == errno.ENOSPC
        assert str(journals / "BTC-USD.journal") + ":" in str(info.value)
        assert ".new-" not in str(info.value)
        assert sorted(os.listdir(journals)) == [], "a grid without a journal, or a temp file"
    small = PersistenceConfig(snapshot_interval_min=0, journal_initial_size=65536)
    with PersistenceManager(fs_512k / "data", small) as pm:
        assert pm.recover_state() is False
        pm.order_book("BTC-USD").add_order("a", "buy", "1.00", 1)
    with PersistenceManager(fs_512k / "data", small) as pm:
        assert pm.recover_state() is True
        assert pm.order_book("BTC-USD").order_count == 1


ODD_LENGTH = r"""
import os, resource, signal, sys, pinnacle
path = sys.argv[1]
pinnacle.Journal(path, initial_size=8192).close()
os.truncate(path, 8192 + 100)  # a length that is not whole pages (copied or cut by hand)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (12288 + 100, resource.RLIM_INFINITY))
j = pinnacle.Journal(path, initial_size=8192, growth_step=16384)
acked = 0
try:
    while True:
        acked = j.append(1, b"q" * 100)
except OSError as e:
    print(e.errno, acked, j.size_bytes, flush=True)
j.close()
"""


def test_smaller_steps_end_on_a_file_whose_length_is_not_whole_pages(tmp_path: Path) -> None:
    """Halving the step of an odd-length file can round back to the same size: the last
    attempt is then the entry's own need, not the same size forever."""
    r = run_python(ODD_LENGTH, str(tmp_path / "odd.journal"), timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    err, acked, size = map(int, r.stdout.split())
    assert err == errno.EFBIG and size == 12288 and acked >= 50
