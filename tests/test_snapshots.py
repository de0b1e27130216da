"""Snapshot files: the atomic write protocol, ordering by covered_seq (never by a clock),
fallback past damaged files, usability against the journal, rotation, stray temp files."""

from __future__ import annotations

import errno
import logging
import os
import random
import stat
from pathlib import Path

import pytest
from conftest import dead_pid

from pinnacle import CorruptionError, Journal, OrderBook, SnapshotManager, _core
from pinnacle._core import peek_snapshot_header
from pinnacle.paths import remove_stray_temps, write_atomic
from pinnacle.snapshots import SnapshotFile

SYM = "BTC-USD"
WALL = 1_800_000_000_000_000_000  # a wall-clock ns value


def make_snapshots(tmp_path: Path, n: int) -> list[tuple[bytes, int, OrderBook]]:
    """n snapshots of a journaled book, each covering one more order: (bytes, covered, state)."""
    j = Journal(tmp_path / "src.journal")
    book = OrderBook(SYM, "0.01", "1", journal=j)
    out = []
    for k in range(n):
        book.add_order(k, "buy", 100 + k, 1 + k, timestamp_ns=1000 + k)
        data, covered = book.snapshot_bytes(created_ns=WALL + k)
        out.append((data, covered, book.copy()))
    j.close()
    return out


def manager(tmp_path: Path) -> SnapshotManager:
    return SnapshotManager(SYM, tmp_path / "snapshots" / SYM, "0.01", "1")


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_peek_snapshot_header_reads_the_ordering_fields(tmp_path: Path) -> None:
    (data, covered, _), *_ = make_snapshots(tmp_path, 1)
    h = peek_snapshot_header(data)
    assert (h.symbol, h.covered_seq, h.created_ns, h.version) == (SYM, covered, WALL, 2)
    for bad in (b"", b"PNCLSNAP", b"XXXXXXXX" + data[8:], data[:20]):
        with pytest.raises(CorruptionError) as e:
            peek_snapshot_header(bad)
        assert e.value.offset == 0 and str(e.value).startswith("snapshot bytes: ")


def test_write_is_atomic_private_and_never_overwrites(tmp_path: Path) -> None:
    snaps = manager(tmp_path)
    (data, covered, state), *_ = make_snapshots(tmp_path, 1)
    f1 = snaps.write(data)
    f2 = snaps.write(data)  # same created_ns: the name is bumped, nothing replaced
    assert f1.path != f2.path and f1.path.name == f"{SYM}-{WALL}.snapshot"
    assert f2.path.name == f"{SYM}-{WALL + 1}.snapshot"
    assert f1.path.read_bytes() == data == f2.path.read_bytes()
    assert mode(f1.path) == 0o600 and mode(snaps.directory) == 0o700
    assert sorted(os.listdir(snaps.directory)) == sorted([f1.path.name, f2.path.name])  # no temp left
    loaded = snaps.load(f1)
    assert loaded.book == state and loaded.info.covered_seq == covered


def test_write_refuses_bytes_it_could_not_load_back(tmp_path: Path) -> None:
    snaps = manager(tmp_path)
    data, _ = OrderBook("ETH-USD").snapshot_bytes()
    with pytest.raises(CorruptionError, match="ETH-USD"):
        snaps.write(data)
    (good, _, _), *_ = make_snapshots(tmp_path, 1)
    with pytest.raises(CorruptionError):
        snaps.write(good[:-1] + bytes([good[-1] ^ 1]))
    assert snaps.files() == []


def test_a_failed_write_raises_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "x.snapshot"
    _core._inject_fault("fsync", errno.EIO, 1)  # the core's hook: the file's fsync fails
    try:
        with pytest.raises(OSError, match="Input/output") as info:
            write_atomic(target, b"data")
    finally:
        _core._clear_faults()
    assert info.value.errno == errno.EIO
    assert os.listdir(tmp_path) == []


def test_stray_temp_files_are_removed_and_nothing_else(tmp_path: Path) -> None:
    """Only temps whose writer is gone (pid 1, init, never is)."""
    pid = dead_pid()
    names = [f".{SYM}-1.snapshot.tmp-{pid}-abcdef012345", f".x.meta.json.tmp-{pid}-00ff"]
    keep = [f"{SYM}-1.snapshot", "notes.txt", ".hidden", ".a.tmp-x-1", ".b.tmp-1-00ff"]
    for n in names + keep:
        (tmp_path / n).write_bytes(b"x")
    assert sorted(p.name for p in remove_stray_temps(tmp_path)) == sorted(names)
    assert sorted(os.listdir(tmp_path)) == sorted(keep)


def test_ordering_uses_covered_seq_not_the_clock_in_the_name(tmp_path: Path) -> None:
    """A reboot (or a clock step) makes a newer snapshot's name sort first: the header's
    covered_seq decides, and rotation keeps the newest by covered_seq."""
    snaps_src = make_snapshots(tmp_path, 3)
    snaps = manager(tmp_path)
    stamps = [WALL, 5_000_000_000, 7]  # wall clock, then "time since boot" after two reboots
    files = [rewrite(snaps, data, ns) for (data, _, _), ns in zip(snaps_src, stamps, strict=True)]
    assert [f.covered_seq for f in snaps.files()] == [3, 2, 1]
    loaded, problems = snaps.load_newest(first_seq=1, last_seq=3)
    assert loaded is not None and loaded.file == files[2] and problems == []
    assert loaded.book == snaps_src[2][2]
    retained, removed = snaps.rotate(keep=1)
    assert retained == [files[2]] and sorted(removed) == sorted([files[0].path, files[1].path])


def rewrite(snaps: SnapshotManager, data: bytes, created_ns: int) -> SnapshotFile:
    """Re-encodes a snapshot with another created_ns (same book, same covered_seq)."""
    book, info = OrderBook.from_snapshot(data, "0.01", "1")
    j = Journal(snaps.directory.parent.parent / f"tmp-{created_ns}.journal")
    for _ in range(info.covered_seq):
        j.append(0, b"x")
    jb = OrderBook(SYM, "0.01", "1")
    for o in book.orders():
        jb.add_order(o.order_id, o.side, o.price, o.quantity, timestamp_ns=o.timestamp_ns)
    jb.attach_journal(j)
    out, covered = jb.snapshot_bytes(created_ns=created_ns)
    j.close()
    assert covered == info.covered_seq
    return snaps.write(out)


def test_equal_covered_seq_orders_by_created_ns(tmp_path: Path) -> None:
    (data, _, _), *_ = make_snapshots(tmp_path, 1)
    snaps = manager(tmp_path)
    a = rewrite(snaps, data, WALL + 50)
    b = rewrite(snaps, data, WALL + 10)
    assert snaps.files() == [a, b]


def damaged(data: bytes, how: str, rng: random.Random) -> bytes:
    if how == "flip":
        img = bytearray(data)
        bit = rng.randrange(len(data) * 8)
        img[bit // 8] ^= 1 << (bit % 8)
        return bytes(img)
    return data[: rng.randrange(0, len(data))]


@pytest.mark.parametrize("how", ["flip", "truncate"])
@pytest.mark.parametrize("seed", range(12))
def test_damaged_newest_falls_back_to_the_previous_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str, seed: int
) -> None:
    src = make_snapshots(tmp_path, 4)
    snaps = manager(tmp_path)
    good = snaps.write(src[1][0])
    bad = snaps.write(src[3][0])
    bad.path.write_bytes(damaged(src[3][0], how, random.Random(seed)))
    caplog.set_level(logging.WARNING, logger="pinnacle")
    loaded, problems = snaps.load_newest(first_seq=1, last_seq=4)
    assert loaded is not None and loaded.file == good and loaded.book == src[1][2]
    peek = [f for f in snaps.files() if f.path == bad.path]
    if not peek or peek[0].order_key > good.order_key:  # the damaged file was tried first
        assert any(bad.path.name in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
        assert any(bad.path.name in p for p in problems)
    retained, removed = snaps.rotate(keep=5)
    assert retained == [good] and removed == [bad.path]  # damaged files are removed by rotation


def test_every_single_bit_flip_is_rejected(tmp_path: Path) -> None:
    (data, _, _), *_ = make_snapshots(tmp_path, 1)
    snaps = manager(tmp_path)
    f = snaps.write(data)
    for bit in range(len(data) * 8):
        img = bytearray(data)
        img[bit // 8] ^= 1 << (bit % 8)
        f.path.write_bytes(bytes(img))
        with pytest.raises(CorruptionError):
            snaps.load(f)


def test_usability_against_the_journal(tmp_path: Path) -> None:
    src = make_snapshots(tmp_path, 3)
    snaps = manager(tmp_path)
    files = [snaps.write(d) for d, _, _ in src]
    # The journal starts after the newest snapshot's covered_seq + 1: none is usable.
    loaded, problems = snaps.load_newest(first_seq=5, last_seq=9)
    assert loaded is None and len(problems) == 3 and "compacted" in problems[0]
    # first_seq == covered + 1 is fine: the entries after it still exist.
    loaded, problems = snaps.load_newest(first_seq=4, last_seq=9)
    assert loaded is not None and loaded.file == files[2] and problems == []
    # A verified snapshot ahead of the journal means the journal lost entries.
    with pytest.raises(CorruptionError, match="lost entries"):
        snaps.load_newest(first_seq=1, last_seq=2)


def test_rotation_keeps_the_newest_valid_and_leaves_foreign_files(tmp_path: Path) -> None:
    src = make_snapshots(tmp_path, 6)
    snaps = manager(tmp_path)
    files = [snaps.write(d) for d, _, _ in src]
    (snaps.directory / "README").write_text("mine")
    (snaps.directory / "ETH-USD-5.snapshot").write_bytes(b"other symbol's name")
    retained, removed = snaps.rotate(keep=2)
    assert retained == files[:-3:-1]
    assert sorted(removed) == sorted(f.path for f in files[:4])
    assert (snaps.directory / "README").exists() and (snaps.directory / "ETH-USD-5.snapshot").exists()
    assert snaps.rotate(keep=2) == (retained, [])


def test_rotation_reads_only_the_headers_of_the_files_it_deletes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A fresh manager (nothing verified yet) rotating a previous run's files decodes none
    of them, and never reads past the header of a file it deletes: the damaged bodies of
    the old ones go unnoticed (a full check would have logged them as damaged)."""
    src = make_snapshots(tmp_path, 6)
    for data, _, _ in src:
        manager(tmp_path).write(data)
    files = manager(tmp_path).files()  # newest first
    for f in files[2:]:
        body = bytearray(f.path.read_bytes())
        body[len(body) // 2] ^= 0xFF
        f.path.write_bytes(bytes(body))
    decodes = []
    real = SnapshotManager.load
    monkeypatch.setattr(SnapshotManager, "load", lambda self, f: decodes.append(f) or real(self, f))
    caplog.set_level(logging.WARNING, logger="pinnacle")
    retained, removed = manager(tmp_path).rotate(keep=2)
    assert retained == files[:2] and sorted(removed) == sorted(f.path for f in files[2:])
    assert decodes == [] and "damaged" not in caplog.text


def test_rotation_checks_what_it_keeps(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A kept candidate whose body is damaged is not counted: the next intact one is kept
    instead, so rotation never leaves only damaged snapshots behind."""
    src = make_snapshots(tmp_path, 4)
    for data, _, _ in src:
        manager(tmp_path).write(data)
    files = manager(tmp_path).files()
    body = bytearray(files[0].path.read_bytes())
    body[len(body) // 2] ^= 0xFF
    files[0].path.write_bytes(bytes(body))
    caplog.set_level(logging.WARNING, logger="pinnacle")
    retained, removed = manager(tmp_path).rotate(keep=2)
    assert retained == files[1:3] and sorted(removed) == sorted([files[0].path, files[3].path])
    assert f"Removed damaged snapshot {files[0].path}" in caplog.text
    for f in retained:
        assert manager(tmp_path).load(f).book == src[f.covered_seq - 1][2]
