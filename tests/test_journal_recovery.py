"""Recovery as seen from Python: torn tails, bit flips under each mode, reports."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from conftest import SMALL
from scorecard import Cases

from pinnacle import CorruptionError, Journal, UnsupportedFormatError

HEADER = 4096


def entry_len(payload_len: int) -> int:
    return (32 + payload_len + 7) // 8 * 8


def crashed(path: Path, durable: int, unsynced: int) -> int:
    """A journal with `durable` flushed entries and `unsynced` more, abandoned as a crash
    would leave it. Returns the offset where the unsynced entries start."""
    j = Journal(path, **SMALL)
    for i in range(durable):
        j.append(1, b"d%05d" % i)
    j.flush()
    tail = j.data_bytes
    for i in range(unsynced):
        j.append(1, b"u%05d" % i)
    j._abandon()
    return tail


@pytest.mark.reliability("truncation")
def test_torn_tail_at_every_byte_recovers_every_complete_entry(tmp_path: Path, cases: Cases) -> None:
    src = tmp_path / "src.journal"
    tail = crashed(src, 10, 1)
    image = src.read_bytes()
    end = tail + entry_len(6)
    p = tmp_path / "cut.journal"
    for cut in range(tail, end):
        p.write_bytes(image[:cut])
        with Journal(p, **SMALL) as j:
            assert [e.payload for e in j.read()] == [b"d%05d" % i for i in range(10)]
            report = j.recovery_report
            assert (report.tail_cut_offset is not None) == (cut > tail)
            if cut > tail:
                assert report.tail_cut_offset == tail and not report.clean
                assert "cut damaged tail" in report.summary()
            assert j.append(1, b"new") == 11
        with Journal(p, **SMALL) as j:  # second open: nothing to repair, nothing grows
            assert j.entry_count == 11 and j.recovery_report.clean
        p.unlink()
        cases.add()


@pytest.mark.reliability("bitflip")
@pytest.mark.parametrize("mode", ["tolerate_tail", "absolute", "point_in_time", "skip_corrupted"])
def test_every_bit_flip_in_durable_data_is_detected(tmp_path: Path, mode: str, cases: Cases) -> None:
    src = tmp_path / "src.journal"
    with Journal(src, **SMALL) as j:
        for i in range(6):
            j.append(1, b"entry-%d" % i)
        end = j.data_bytes
    image = src.read_bytes()
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    p = Path(tempfile.mkdtemp(dir=shm)) / "flip.journal"
    for bit in range(HEADER * 8, end * 8):
        cases.add()
        img = bytearray(image)
        img[bit // 8] ^= 1 << (bit % 8)
        p.write_bytes(bytes(img))
        damaged_entry = (bit // 8 - HEADER) // entry_len(7)
        if mode in ("tolerate_tail", "absolute"):
            with pytest.raises(CorruptionError) as info:
                Journal(p, recovery=mode, **SMALL)
            assert f"offset {HEADER + damaged_entry * entry_len(7)}" in str(info.value)
        else:
            with Journal(p, recovery=mode, **SMALL) as j:
                got = [e.payload for e in j.read()]
                r = j.recovery_report
                assert b"entry-%d" % damaged_entry not in got
                if mode == "point_in_time":
                    assert got == [b"entry-%d" % i for i in range(damaged_entry)]
                    assert r.tail_cut_offset is not None
                else:
                    # A damaged last entry has nothing after it to skip to: it is cut.
                    assert len(got) == 5 and (r.skipped_ranges or r.tail_cut_offset is not None)
        p.unlink()
    p.parent.rmdir()


def test_future_format_version_is_refused(tmp_path: Path) -> None:
    import struct
    import zlib

    p = tmp_path / "v3.journal"
    Journal(p).close()
    img = bytearray(p.read_bytes())
    for slot in (0, 512):
        img[slot + 8 : slot + 10] = struct.pack("<H", 3)
        img[slot + 124 : slot + 128] = struct.pack("<I", zlib.crc32(bytes(img[slot : slot + 124])))
    p.write_bytes(bytes(img))
    with pytest.raises(UnsupportedFormatError, match="version 3"):
        Journal(p)


def test_recovery_report_fields(tmp_path: Path) -> None:
    p = tmp_path / "r.journal"
    tail = crashed(p, 3, 2)
    img = bytearray(p.read_bytes())
    img[tail + 12] ^= 0xFF  # damage the first unsynced entry (40 bytes); the second survives
    p.write_bytes(bytes(img))
    with Journal(p, **SMALL) as j:
        r = j.recovery_report
        assert (r.entries, r.first_seq, r.last_seq, r.mode) == (3, 1, 3, "tolerate_tail")
        assert r.tail_cut_offset == tail and r.dropped_entries == 1 and r.truncated_bytes > 0
        assert r.duration_s >= 0


def test_a_point_in_time_cut_reopens_with_the_default_mode(tmp_path: Path) -> None:
    """docs/cli.md once said the cut left durable_end above the data ("file ends before its
    durable end" at the next default open): it does not; the cut is durable and final."""
    p = tmp_path / "pit.journal"
    with Journal(p, **SMALL) as j:
        for i in range(20):
            j.append(1, b"entry-%02d" % i)
    img = bytearray(p.read_bytes())
    img[HEADER + 10 * entry_len(8) + 36] ^= 0x20  # in entry 10's payload: durable data
    p.write_bytes(bytes(img))
    with pytest.raises(CorruptionError):
        Journal(p, **SMALL)
    with Journal(p, recovery="point_in_time", **SMALL) as j:
        assert j.entry_count == 10
    with Journal(p, **SMALL) as j:
        assert j.entry_count == 10 and j.append(1, b"after") == 11
    with Journal(p, **SMALL) as j:
        assert j.entry_count == 11 and j.recovery_report.clean
