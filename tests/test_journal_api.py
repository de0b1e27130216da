"""The Journal's Python API: round trips, bulk paths, validation, errors."""

from __future__ import annotations

import errno
import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import SMALL

import pinnacle
from pinnacle import (
    CorruptionError,
    InvalidArgumentError,
    Journal,
    JournalClosedError,
    JournalLockedError,
    PinnacleError,
    PinnacleIOError,
)


def test_append_read_roundtrip_and_sequence_numbers(jpath: Path) -> None:
    with Journal(jpath, **SMALL) as j:
        seqs = [j.append(i % 5, f"payload-{i}".encode(), timestamp_ns=1000 + i) for i in range(300)]
        assert seqs == list(range(1, 301))
        assert (j.first_seq, j.last_seq, j.next_seq, j.entry_count, len(j)) == (1, 300, 301, 300, 300)
        entries = list(j.read())
        assert [e.seq for e in entries] == seqs
        assert entries[7].payload == b"payload-7"
        assert (entries[7].kind, entries[7].timestamp_ns, entries[7].is_checkpoint) == (2, 1007, False)
        assert [e.seq for e in j.read(from_seq=295)] == [295, 296, 297, 298, 299, 300]
        assert list(j.read(from_seq=301)) == []
    with Journal(jpath, **SMALL) as j:
        assert j.append(0, b"next") == 301
        assert j.recovery_report.clean


def test_default_timestamp_is_wall_clock(jpath: Path) -> None:
    import time

    with Journal(jpath) as j:
        before = time.time_ns()
        j.append(1, b"x")
        after = time.time_ns()
        (e,) = list(j.read())
        assert before <= e.timestamp_ns <= after


def test_payload_types(jpath: Path) -> None:
    with Journal(jpath) as j:
        j.append(1, b"bytes")
        j.append(1, bytearray(b"bytearray"))
        j.append(1, memoryview(b"xxmemoryview")[2:])
        j.append(1, np.frombuffer(b"numpy", dtype=np.uint8))
        j.append(1, b"")
        assert [e.payload for e in j.read()] == [b"bytes", b"bytearray", b"memoryview", b"numpy", b""]


def test_append_many_from_list_and_numpy(jpath: Path) -> None:
    with Journal(jpath, **SMALL) as j:
        assert j.append_many(3, [b"a", b"bb", bytearray(b"ccc")]) == (1, 3)
        rows = np.arange(40 * 16, dtype=np.uint8).reshape(40, 16)
        assert j.append_many(4, rows, timestamp_ns=5) == (4, 43)
        arr = j.read_array(from_seq=4)
        assert len(arr) == 40
        assert np.array_equal(arr.payload, rows)
        assert arr.seq.dtype == np.uint64 and arr.kind.dtype == np.uint16
        assert (arr.kind == 4).all() and (arr.timestamp_ns == 5).all() and (arr.length == 16).all()
        mixed = j.read_array()
        assert mixed.payload.shape == (43, 16)
        assert mixed.payload_bytes(1) == b"bb"
        assert mixed.length[:3].tolist() == [1, 2, 3]


def test_read_array_of_empty_journal(jpath: Path) -> None:
    with Journal(jpath) as j:
        arr = j.read_array()
        assert len(arr) == 0 and arr.payload.shape == (0, 0)


def test_checkpoint_and_compaction(jpath: Path) -> None:
    with Journal(jpath, **SMALL) as j:
        for i in range(100):
            j.append(1, b"%d" % i)
        cp = j.checkpoint(100)
        assert cp == 101
        last = j.last_checkpoint
        assert last is not None and last.is_checkpoint and last.payload == (100).to_bytes(8, "little")
        assert j.compact(50) == 49
        assert (j.first_seq, j.entry_count) == (50, 52)
        assert j.append(1, b"after") == 102
    with Journal(jpath, **SMALL) as j:
        assert [e.seq for e in j.read()][:2] == [50, 51]
        assert j.compact(j.next_seq) == 53
        assert (j.entry_count, j.next_seq) == (0, 103)


def test_payloads_stay_valid_after_growth_compaction_and_close(jpath: Path) -> None:
    j = Journal(jpath, **SMALL)
    j.append(1, b"keep me")
    held = next(iter(j.read()))
    arr = j.read_array()
    for _ in range(200):
        j.append(2, b"z" * 500)  # many growth steps
    j.compact(100)
    j.close()
    assert held.payload == b"keep me"
    assert arr.payload_bytes(0) == b"keep me"


def file_bytes(p: Path) -> bytes:
    return p.read_bytes()


@pytest.mark.parametrize(
    ("call", "exc"),
    [
        (lambda j: j.append(-1, b"x"), InvalidArgumentError),
        (lambda j: j.append(70000, b"x"), InvalidArgumentError),
        (lambda j: j.append(1, "text"), TypeError),
        (lambda j: j.append(1, 12), TypeError),
        (lambda j: j.append(1, b"x" * 1025), InvalidArgumentError),
        (lambda j: j.append(1, b"x", timestamp_ns=-5), InvalidArgumentError),
        (lambda j: j.append("kind", b"x"), TypeError),
        (lambda j: j.append_many(1, []), InvalidArgumentError),
        (lambda j: j.append_many(1, b"not a list"), TypeError),
        (lambda j: j.append_many(1, [b"ok", "bad"]), TypeError),
        (lambda j: j.append_many(1, [b"ok", b"x" * 2000]), InvalidArgumentError),
        (lambda j: j.append_many(1, np.zeros(10, dtype=np.uint8)), InvalidArgumentError),
        (lambda j: j.append_many(1, np.zeros((3, 4), dtype=np.float64)), TypeError),
        (
            lambda j: j.append_many(1, np.zeros((4, 4), dtype=np.uint8)[:, ::2]),
            (InvalidArgumentError, TypeError),
        ),
        (lambda j: j.checkpoint(-1), InvalidArgumentError),
        (lambda j: j.compact(-1), InvalidArgumentError),
        (lambda j: j.compact(10**6), InvalidArgumentError),
        (lambda j: j.read(from_seq=-1), InvalidArgumentError),
    ],
)
def test_bad_input_raises_and_changes_nothing_on_disk(jpath: Path, call, exc) -> None:  # type: ignore[no-untyped-def]
    with Journal(jpath, max_entry_size=1024, **SMALL) as j:
        j.append(1, b"existing")
        j.flush()
        before = file_bytes(jpath)
        with pytest.raises(exc) as info:
            call(j)
        assert str(info.value)
        assert file_bytes(jpath) == before
        assert [e.payload for e in j.read()] == [b"existing"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sync": "sometimes"},
        {"recovery": "hope"},
        {"growth": "sideways"},
        {"sync_interval_ms": 0},
        {"initial_size": -1},
        {"growth_step": 10},
        {"max_entry_size": 0},
        {"max_entry_size": 2**31},
    ],
)
def test_bad_options_are_refused_before_touching_disk(jpath: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        Journal(jpath, **kwargs)  # type: ignore[arg-type]
    assert next(iter(kwargs)) in str(info.value)
    assert not jpath.exists()


def test_closed_journal_raises(jpath: Path) -> None:
    j = Journal(jpath)
    j.close()
    j.close()  # idempotent
    assert j.closed
    for op in (lambda: j.append(1, b"x"), lambda: list(j.read()), j.flush, lambda: j.compact(1)):
        with pytest.raises(JournalClosedError):
            op()


def test_error_hierarchy_and_messages(jpath: Path, tmp_path: Path) -> None:
    j = Journal(jpath)
    with pytest.raises(JournalLockedError) as locked:
        Journal(jpath)
    assert isinstance(locked.value, OSError) and isinstance(locked.value, PinnacleError)
    assert locked.value.errno == errno.EWOULDBLOCK
    assert str(jpath) in str(locked.value)
    j.close()
    with pytest.raises(PinnacleIOError) as missing:
        Journal(tmp_path / "no" / "such" / "dir.journal")
    assert missing.value.errno == errno.ENOENT
    assert str(tmp_path / "no" / "such" / "dir.journal") in str(missing.value), "names the journal"
    assert ".new-" not in str(missing.value), "not an internal temp file"
    foreign = tmp_path / "foreign.journal"
    foreign.write_bytes(b"A" * 9000)
    with pytest.raises(CorruptionError) as bad:
        Journal(foreign)
    assert "foreign.journal" in str(bad.value) and "offset 0" in str(bad.value)
    assert foreign.read_bytes() == b"A" * 9000
    assert issubclass(InvalidArgumentError, ValueError)


def test_file_permissions_are_private(jpath: Path) -> None:
    Journal(jpath).close()
    assert stat.S_IMODE(os.stat(jpath).st_mode) == 0o600


def test_threads_appending_at_once(jpath: Path) -> None:
    with Journal(jpath, **SMALL) as j:
        per, nthreads = 2000, 4

        def work(t: int) -> None:
            for i in range(per):
                j.append(t, b"%d:%d" % (t, i))

        threads = [threading.Thread(target=work, args=(t,)) for t in range(nthreads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        entries = list(j.read())
        assert [e.seq for e in entries] == list(range(1, per * nthreads + 1))
        for t in range(nthreads):
            mine = [e.payload for e in entries if e.kind == t]
            assert mine == [b"%d:%d" % (t, i) for i in range(per)]


@pytest.mark.parametrize("sync", ["none", "interval", "always"])
@pytest.mark.parametrize("growth", ["auto", "remap"])
def test_sync_modes_and_growth_strategies_roundtrip(jpath: Path, sync: str, growth: str) -> None:
    with Journal(jpath, sync=sync, sync_interval_ms=5, growth=growth, **SMALL) as j:
        assert j.sync == sync
        for i in range(200):
            j.append(1, b"x" * (i % 50))
        j.append_many(2, [b"y" * 100] * 20)
    with Journal(jpath, **SMALL) as j:
        assert j.entry_count == 220


def test_reader_sees_appends_and_never_partial_entries(jpath: Path) -> None:
    with Journal(jpath, **SMALL) as j, pinnacle.JournalReader(jpath) as r:
        assert r.poll() == []
        j.append(1, b"one")
        got = r.poll()
        assert [(e.seq, e.payload) for e in got] == [(1, b"one")]
        assert r.wait(0.05) == []
        j.append_many(1, [b"a", b"b", b"c"])
        assert [e.payload for e in r.wait(1.0)] == [b"a", b"b", b"c"]
        assert r.next_seq == 5
    with pytest.raises(InvalidArgumentError):
        pinnacle.JournalReader(jpath, from_seq=-1)
    with pytest.raises(InvalidArgumentError):
        pinnacle.JournalReader(jpath).wait(-1)


def test_version_and_repr(jpath: Path) -> None:
    assert pinnacle.__version__
    with Journal(jpath) as j:
        assert j.recovery_report.summary() == "no entries, mode tolerate_tail"
        j.append(1, b"x")
        assert "entries=1" in repr(j)
        assert "seq=1" in repr(next(iter(j.read())))
    with Journal(jpath) as j:
        # The report describes what this open found: the entry appended before.
        assert j.recovery_report.summary() == "1 entries (seq 1..=1), mode tolerate_tail"
        assert j.recovery_report.clean
        assert repr(j.recovery_report) == "RecoveryReport(1 entries (seq 1..=1), mode tolerate_tail)"
        d = j.recovery_report.as_dict()
        assert d["mode"] == "tolerate_tail"
        assert (d["entries"], d["first_seq"], d["last_seq"]) == (1, 1, 1)
