"""Errors carry their fields as attributes (issue 10, item 4): ``path``, ``offset``,
``seq`` (and ``reason``, ``first_seq``, ``pid``, ``errno``/``filename`` where they apply),
``None`` where they do not, so nobody parses a message; and a book refusal reads the same
whichever path renders it."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from conftest import SMALL

from pinnacle import (
    CorruptionError,
    EntriesCompactedError,
    ForkedHandleError,
    InvalidArgumentError,
    Journal,
    JournalClosedError,
    JournalReader,
    OrderBook,
    OrderBookError,
    PersistenceManager,
    PinnacleError,
    PinnacleIOError,
)
from pinnacle._core import peek_snapshot_header
from pinnacle.cli import journal_scan
from pinnacle.cli.journal_scan import scan_journal

HEADER = 4096


def entry_len(payload_len: int) -> int:
    return (32 + payload_len + 7) // 8 * 8


def damaged(path: Path, entry: int) -> int:
    """A journal of 5 entries (7-byte payloads) with a bit flipped in entry ``entry``'s
    payload; returns that entry's offset."""
    with Journal(path, **SMALL) as j:
        for i in range(5):
            j.append(1, b"entry-%d" % i)
    at = HEADER + entry * entry_len(7)
    img = bytearray(path.read_bytes())
    img[at + 34] ^= 0x10
    path.write_bytes(bytes(img))
    return at


def test_a_corruption_error_names_path_offset_and_reason(tmp_path: Path) -> None:
    p = tmp_path / "flip.journal"
    at = damaged(p, 2)
    with pytest.raises(CorruptionError) as info:
        Journal(p, recovery="absolute", **SMALL)
    e = info.value
    assert e.path == str(p) and e.offset == at and e.seq is None
    assert e.reason and str(e) == f"corruption in {p} at offset {at}: {e.reason}"


def test_the_cli_scan_names_the_offset_of_the_damage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "flip.journal"
    at = damaged(p, 2)
    info = scan_journal(p)
    assert [pr.offset for pr in info.problems if pr.severity == "error"][:1] == [at], info.problems
    # A reader that raises mid-scan: the problem takes the error's fields, not its text.
    with pytest.raises(CorruptionError) as raised:
        Journal(p, recovery="absolute", **SMALL)

    def reader(*_: object, **__: object) -> None:
        raise raised.value

    monkeypatch.setattr(journal_scan, "JournalReader", reader)
    problems = scan_journal(p).problems
    assert [(pr.offset, pr.message) for pr in problems] == [(at, raised.value.reason)]


def test_entries_compacted_names_the_seqs_and_path(tmp_path: Path) -> None:
    jpath = tmp_path / "c.journal"
    with Journal(jpath, **SMALL) as j:
        for i in range(1, 101):
            j.append(1, b"%d" % i)
        assert j.compact(40) == 39
        with pytest.raises(EntriesCompactedError) as info:
            JournalReader(jpath, from_seq=7)
    e = info.value
    assert (e.path, e.seq, e.first_seq, e.offset) == (str(jpath), 7, 40, None)


def test_io_errors_carry_errno_filename_and_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing" / "j"
    with pytest.raises(PinnacleIOError) as info:
        Journal(missing)
    e = info.value
    assert e.errno == errno.ENOENT and e.filename == str(missing) and e.path == str(missing)


def test_closed_and_invalid_argument_errors_have_the_fields_they_apply_to(tmp_path: Path) -> None:
    p = tmp_path / "j"
    j = Journal(p, **SMALL)
    j.close()
    with pytest.raises(JournalClosedError) as closed:
        j.append(1, b"x")
    assert closed.value.path == str(p) and closed.value.offset is None
    with pytest.raises(InvalidArgumentError) as bad:
        Journal(p, recovery="nonsense")  # type: ignore[arg-type]
    assert (bad.value.path, bad.value.offset, bad.value.seq) == (None, None, None)


@pytest.mark.parametrize("cls", [PinnacleError, CorruptionError, EntriesCompactedError, ForkedHandleError])
def test_errors_raised_in_python_have_every_field_as_none(cls: type[PinnacleError]) -> None:
    e = cls("message")
    assert (e.path, e.offset, e.seq) == (None, None, None)
    assert getattr(e, "pid", None) is None and getattr(e, "first_seq", None) is None
    assert getattr(e, "reason", None) is None


def forked_fields(call: object) -> tuple[int | None, str | None]:
    """Runs ``call`` in a forked child; returns the pid and path of the ForkedHandleError."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            try:
                call()  # type: ignore[operator]
                out: object = "no error"
            except ForkedHandleError as e:
                out = [e.pid, e.path]
            except BaseException as e:
                out = repr(e)
            os.write(w, json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        got = json.loads(f.read())
    os.waitpid(pid, 0)
    assert isinstance(got, list), got
    return got[0], got[1]


@pytest.mark.reliability("lifecycle")
def test_a_forked_handle_error_names_the_opening_process(tmp_path: Path) -> None:
    p = tmp_path / "f.journal"
    with Journal(p, **SMALL) as j:
        assert forked_fields(lambda: j.append(1, b"x")) == (os.getpid(), str(p))
    data = tmp_path / "data"
    pm = PersistenceManager(data)
    try:
        assert forked_fields(lambda: pm.order_book("AAA")) == (os.getpid(), str(data))
    finally:
        pm.shutdown()


def test_a_book_refusal_reads_the_same_applied_or_replayed(tmp_path: Path) -> None:
    """The refusal text once drifted: "would overflow" applied, "would exceed i64::MAX"
    in a replay error."""
    big = 2**62
    with Journal(tmp_path / "j", **SMALL) as jr:
        OrderBook("AAA", "1", "1", journal=jr).add_order(1, "buy", 10, big)
        base = OrderBook("AAA", "1", "1")
        base.add_order(2, "buy", 10, big)
        with pytest.raises(OrderBookError) as applied:
            base.copy().add_order(1, "buy", 10, big)
        with pytest.raises(CorruptionError) as replayed:
            base.replay_journal(jr, 1)
    assert "would overflow" in str(applied.value)
    assert str(applied.value) in str(replayed.value)
    assert replayed.value.seq == 1


def test_a_snapshot_checksum_error_names_the_crc_offset(tmp_path: Path) -> None:
    book = OrderBook("AAA", "1", "1")
    book.add_order(1, "buy", 10, 5)
    data = bytearray(book.snapshot_bytes()[0])
    data[len(data) // 2] ^= 0x01
    with pytest.raises(CorruptionError) as info:
        OrderBook.from_snapshot(bytes(data), "1", "1")
    assert info.value.offset == len(data) - 4 and "checksum mismatch" in str(info.value)
    with pytest.raises(CorruptionError) as header:
        peek_snapshot_header(b"not a snapshot at all")
    assert header.value.offset == 0
