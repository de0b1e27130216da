"""Compaction and rotation through the manager, and recovery after them: compaction never
drops an entry a retained snapshot needs; damaged snapshots fall back; gaps are refused."""

from __future__ import annotations

import logging
import random
import struct
import zlib
from pathlib import Path
from typing import Literal

import pytest

from pinnacle import CorruptionError, OrderBook, PersistenceConfig, PersistenceManager

SYM = "ETH-USD"


def open_pm(data: Path, **overrides: object) -> PersistenceManager:
    base = {"snapshot_interval_min": 0, "journal_sync_mode": "none", "compaction_threshold": 10}
    return PersistenceManager(data, PersistenceConfig(**{**base, **overrides}), maintenance=False)  # type: ignore[arg-type]


def trade(book: OrderBook, n: int, base: int) -> None:
    for i in range(base, base + n):
        side: Literal["buy", "sell"] = "buy" if i % 2 else "sell"
        book.add_order(
            i, side, 100 - 1 - i % 5 if side == "buy" else 100 + 1 + i % 5, 1 + i % 3, timestamp_ns=i
        )
        if i % 4 == 3:
            book.cancel_order(i - 3, timestamp_ns=i)


def recover(data: Path) -> tuple[OrderBook, PersistenceManager]:
    pm = open_pm(data)
    pm.recover_state()
    book = pm.get_recovered_order_book(SYM)
    assert book is not None
    return book, pm


def reencode(data: bytes, created_ns: int) -> bytes:
    """The same snapshot (book, covered_seq, journal binding) with another created_ns in its
    header: the field is patched and the CRC recomputed (docs/format.md)."""
    slen = struct.unpack_from("<H", data, 16)[0]
    out = bytearray(data)
    struct.pack_into("<q", out, 26 + slen, created_ns)
    struct.pack_into("<I", out, len(out) - 4, zlib.crc32(bytes(out[:-4])))
    info = OrderBook.from_snapshot(bytes(out), "0.01", "1")[1]
    assert info.created_ns == created_ns
    return bytes(out)


def test_snapshot_order_survives_a_reboot_that_reset_the_clock(tmp_path: Path) -> None:
    """The newer snapshot was taken after a "reboot" with a clock far behind: its name and
    created_ns sort first, its covered_seq last. Recovery and rotation follow covered_seq."""
    with open_pm(tmp_path, compaction_threshold=10**6) as pm:
        book = pm.order_book(SYM)
        trade(book, 20, 0)
        old = pm.snapshot(SYM)
        trade(book, 20, 100)
        new = pm.snapshot(SYM)
        trade(book, 5, 200)
        expected = book.copy()
        pm.shutdown(snapshot=False)  # keep the entries after the snapshot to replay
    assert old is not None and new is not None
    data = reencode(new.path.read_bytes(), 12_345)
    new.path.unlink()
    rebooted = tmp_path / "snapshots" / SYM / f"{SYM}-12345.snapshot"
    rebooted.write_bytes(data)
    assert sorted(p.name for p in rebooted.parent.iterdir())[0] == rebooted.name
    book, pm = recover(tmp_path)
    with pm:
        assert book == expected and pm.last_recovery[SYM].snapshot_file == rebooted
        retained, removed = pm.get_snapshot_manager(SYM).rotate(keep=1)  # type: ignore[union-attr]
        assert [f.path for f in retained] == [rebooted] and removed == [old.path]


def test_compaction_then_recovery(tmp_path: Path) -> None:
    with open_pm(tmp_path) as pm:
        book = pm.order_book(SYM)
        trade(book, 40, 0)
        snap = pm.snapshot(SYM)
        trade(book, 15, 100)
        report = pm.perform_maintenance()
        j = pm.get_journal(SYM)
        assert snap is not None and j is not None
        assert report.journals_compacted == {SYM: snap.covered_seq} and report.errors == []
        assert j.first_seq == snap.covered_seq + 1
        last = j.last_seq
        expected = book.copy()
        pm.shutdown(snapshot=False)  # keep the entries after the snapshot to replay
    book, pm = recover(tmp_path)
    with pm:
        assert book == expected
        j = pm.get_journal(SYM)
        assert j is not None and j.first_seq == snap.covered_seq + 1 and j.last_seq == last
        assert pm.last_recovery[SYM].snapshot_covered_seq == snap.covered_seq


def test_compaction_keeps_what_every_retained_snapshot_needs(tmp_path: Path) -> None:
    states = []
    with open_pm(tmp_path, keep_snapshots=3) as pm:
        book = pm.order_book(SYM)
        snaps = []
        for k in range(5):
            trade(book, 12, 100 * k)
            snaps.append(pm.snapshot(SYM))
            states.append(book.copy())
        trade(book, 5, 1000)
        expected = book.copy()
        pm.perform_maintenance()
        retained = pm.get_snapshot_manager(SYM).files()  # type: ignore[union-attr]
        assert [f.path for f in retained] == [s.path for s in reversed(snaps[2:])]  # type: ignore[union-attr]
        assert pm.get_journal(SYM).first_seq == snaps[2].covered_seq + 1  # type: ignore[union-attr]
        pm.shutdown(snapshot=False)  # keep the entries after the snapshot to replay
    # Every retained snapshot is still usable: remove the newer ones, recovery still completes.
    for gone, used in ((snaps[4], snaps[3]), (snaps[3], snaps[2])):
        gone.path.unlink()  # type: ignore[union-attr]
        book, pm = recover(tmp_path)
        with pm:
            assert book == expected
            assert pm.last_recovery[SYM].snapshot_file == used.path  # type: ignore[union-attr]
            assert pm.last_recovery[SYM].entries_replayed > 0


def test_compaction_without_a_snapshot_takes_one_first(tmp_path: Path) -> None:
    with open_pm(tmp_path) as pm:
        book = pm.order_book(SYM)
        trade(book, 30, 0)
        report = pm.perform_maintenance()
        assert list(report.snapshots_taken) == [SYM] and SYM in report.journals_compacted
        expected = book.copy()
    book, pm = recover(tmp_path)
    with pm:
        assert book == expected


def test_under_the_threshold_nothing_is_compacted(tmp_path: Path) -> None:
    with open_pm(tmp_path, compaction_threshold=1000) as pm:
        trade(pm.order_book(SYM), 30, 0)
        pm.snapshot(SYM)
        assert pm.perform_maintenance().journals_compacted == {}
        assert pm.get_journal(SYM).first_seq == 1  # type: ignore[union-attr]


def test_nothing_removable_means_no_rewrite(tmp_path: Path) -> None:
    with open_pm(tmp_path) as pm:
        trade(pm.order_book(SYM), 30, 0)
        pm.snapshot(SYM)
        assert SYM in pm.perform_maintenance().journals_compacted
        trade(pm.order_book(SYM), 30, 100)  # over the threshold again, same oldest snapshot
        report = pm.perform_maintenance()
        assert report.journals_compacted == {} and report.snapshots_taken == {}


def test_rotation_keeps_n_snapshots(tmp_path: Path) -> None:
    with open_pm(tmp_path, keep_snapshots=2, compaction_threshold=10**6) as pm:
        book = pm.order_book(SYM)
        files = []
        for k in range(5):
            trade(book, 3, 10 * k)
            files.append(pm.snapshot(SYM))
        assert sorted((tmp_path / "snapshots" / SYM).iterdir()) == sorted(f.path for f in files[3:])  # type: ignore[union-attr]


def test_compacted_journal_without_a_usable_snapshot_is_refused(tmp_path: Path) -> None:
    with open_pm(tmp_path) as pm:
        trade(pm.order_book(SYM), 30, 0)
        pm.snapshot(SYM)
        pm.perform_maintenance()
        trade(pm.order_book(SYM), 5, 100)
    for f in (tmp_path / "snapshots" / SYM).iterdir():
        f.unlink()
    with open_pm(tmp_path) as pm, pytest.raises(CorruptionError, match="compacted"):
        pm.recover_state()
    assert pm.get_recovered_order_book(SYM) is None


@pytest.mark.parametrize("how", ["flip", "truncate"])
def test_damaged_newest_snapshot_recovers_everything_from_the_previous_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    rng = random.Random(how)
    with open_pm(tmp_path, keep_snapshots=3) as pm:
        book = pm.order_book(SYM)
        trade(book, 20, 0)
        older = pm.snapshot(SYM)
        trade(book, 20, 100)
        newest = pm.snapshot(SYM)
        trade(book, 7, 200)
        pm.perform_maintenance()  # compacts to the older snapshot's covered_seq + 1
        expected = book.copy()
        pm.shutdown(snapshot=False)  # keep the entries after the snapshot to replay
    assert older is not None and newest is not None
    data = newest.path.read_bytes()
    if how == "flip":
        img = bytearray(data)
        pos = rng.randrange(60, len(data))  # past the header's ordering fields
        img[pos] ^= 1 << rng.randrange(8)
        newest.path.write_bytes(bytes(img))
    else:
        newest.path.write_bytes(data[: len(data) // 2])
    caplog.set_level(logging.WARNING, logger="pinnacle")
    book, pm = recover(tmp_path)
    with pm:
        assert book == expected
        info = pm.last_recovery[SYM]
        assert info.snapshot_file == older.path and info.problems
        assert newest.path.name in info.problems[0]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(newest.path.name in w for w in warnings)
