"""Hostile inputs: files changed behind pinnacle's back, absurd length fields, symlinks,
buffers held across growth. Expected: clear errors, never a segfault or SIGBUS, and
nothing outside the data directory touched."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import run_python

from pinnacle import CorruptionError, Journal, JournalReader, OrderBook, PinnacleIOError

TRUNCATE_WHILE_OPEN = r"""
import os, sys, time, pinnacle
path = sys.argv[1]
j = pinnacle.Journal(path, initial_size=65536)
for i in range(500):
    j.append(1, b"x" * 100)
r = pinnacle.JournalReader(path)
assert len(r.poll()) == 500   # the reader is now past the point of the cut
os.truncate(path, 8192)       # another process ignores the lock
time.sleep(0.3)               # the writer notices within ~50 ms
for call in (lambda: j.append(1, b"y"), lambda: list(j.read()), j.flush, r.poll):
    try:
        call()
        print("no error")
    except pinnacle.CorruptionError as e:
        print("refused:", "truncated" in str(e))
try:
    j.close()
except pinnacle.CorruptionError:
    pass
print("alive")
"""

pytestmark = pytest.mark.reliability("hostile")


def test_journal_truncated_by_another_process_is_refused_not_a_sigbus(tmp_path: Path) -> None:
    p = tmp_path / "t.journal"
    r = run_python(TRUNCATE_WHILE_OPEN, str(p))
    assert r.returncode == 0, f"died with signal {-r.returncode}: {r.stderr[-1500:]}"
    assert r.stdout.split("\n")[:5] == ["refused: True"] * 4 + ["alive"], r.stdout
    with Journal(p, recovery="point_in_time") as j:  # what survived is still readable
        assert 0 < j.entry_count < 500


def entry(seq: int, payload: bytes, length: int | None = None) -> bytes:
    n = len(payload)
    body = struct.pack("<IQqHHI", n if length is None else length, seq, 0, 1, 0, 0)[:28] + payload
    body += bytes((-(32 + n)) % 8)
    return struct.pack("<I", zlib.crc32(body)) + body


@pytest.mark.parametrize("length", [2**32 - 1, 2**31, 2**30 + 1])
def test_absurd_length_fields_are_rejected_before_allocation(tmp_path: Path, length: int) -> None:
    p = tmp_path / "l.journal"
    with Journal(p) as j:
        j.append(1, b"good")
        j.flush()
        end = j.data_bytes
    img = bytearray(p.read_bytes())
    bad = bytearray(entry(2, b"evil"))
    bad[4:8] = struct.pack("<I", length)
    img[end : end + len(bad)] = bad
    p.write_bytes(bytes(img))
    with Journal(p) as j:  # unsynced tail: cut, reported
        assert [e.payload for e in j.read()] == [b"good"]
        assert j.recovery_report.tail_cut_reason is not None


def test_snapshot_with_order_count_of_2_64_minus_1_is_rejected(tmp_path: Path) -> None:
    b = OrderBook("X", tick_size=1, lot_size=1)
    b.add_order(1, "buy", 100, 1)
    data = bytearray(b.snapshot_bytes(created_ns=0)[0])
    s = 1  # symbol length
    data[34 + s : 42 + s] = struct.pack("<Q", 2**64 - 1)
    data[-4:] = struct.pack("<I", zlib.crc32(bytes(data[:-4])))
    with pytest.raises(CorruptionError):
        OrderBook.from_snapshot(bytes(data), 1, 1)


def test_symlinked_journal_paths_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.journal"
    Journal(outside).close()
    before = outside.read_bytes()
    link = tmp_path / "link.journal"
    link.symlink_to(outside)
    with pytest.raises(PinnacleIOError):
        Journal(link)
    with pytest.raises(PinnacleIOError):
        JournalReader(link)
    assert outside.read_bytes() == before


def test_buffer_held_while_the_journal_grows(tmp_path: Path) -> None:
    arr = np.zeros((64, 1000), dtype=np.uint8)
    view = memoryview(arr)
    with Journal(tmp_path / "g.journal", initial_size=8192, growth_step=4096) as j:
        for i in range(50):
            arr[:] = i
            j.append_many(1, arr)  # the array stays exported while the file grows
            j.append(2, view[:8].tobytes())
        got = j.read_array(from_seq=1)
        assert len(got) == 50 * 65
    view.release()


def test_nothing_outside_the_journal_directory_is_created(tmp_path: Path) -> None:
    inner = tmp_path / "data"
    inner.mkdir()
    with Journal(inner / "a.journal") as j:
        j.append(1, b"x")
        j.compact(j.next_seq)
    assert sorted(os.listdir(tmp_path)) == ["data"]
    assert sorted(os.listdir(inner)) == ["a.journal"]
