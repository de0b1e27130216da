"""Every byte pinnacle writes is checked, and verify agrees with recovery: the tick/lot
sidecar's checksum and its copy in snapshots (issue 11 item 3), foreign entries in a
book's journal (issue 11 item 6), snapshots bound to their journal's identity (issue 15
item 5)."""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from pinnacle import (
    CorruptionError,
    InvalidArgumentError,
    Journal,
    OrderBook,
    PersistenceConfig,
    PersistenceManager,
)
from pinnacle.cli import main

SYM = "BTC-USD"
CFG = PersistenceConfig(snapshot_interval_min=0, journal_sync_mode="none", compaction_threshold=10**9)


def open_pm(data: Path) -> PersistenceManager:
    return PersistenceManager(data, CFG, maintenance=False)


def fill(book: OrderBook, n: int, base: int = 0) -> None:
    for i in range(base, base + n):
        book.add_order(i, "buy" if i % 2 else "sell", Decimal("0.23") if i % 2 else Decimal("1.23"), 1)


def make(data: Path, *, snapshot: bool = True, extra: int = 5) -> OrderBook:
    """A directory with one symbol: 10 orders, a snapshot, `extra` more; returns a copy.
    Shut down without the closing snapshot, so the `extra` orders stay to be replayed."""
    pm = open_pm(data)
    try:
        book = pm.order_book(SYM, "0.01", "1")
        fill(book, 10)
        if snapshot:
            pm.snapshot(SYM)
        fill(book, extra, base=100)
        return book.copy()
    finally:
        pm.shutdown(snapshot=False)


def recover(data: Path) -> tuple[OrderBook, list[str]]:
    with open_pm(data) as pm:
        pm.recover_state()
        book = pm.get_recovered_order_book(SYM)
        assert book is not None
        return book.copy(), pm.last_recovery[SYM].problems


def verify(data: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["verify", str(data)])
    out, _ = capsys.readouterr()
    return code, out


def meta_path(data: Path) -> Path:
    return data / "journals" / f"{SYM}.meta.json"


def snapshots(data: Path) -> list[Path]:
    return sorted((data / "snapshots" / SYM).glob("*.snapshot"))


# ------------------------------------------------------------------ 11.3: the sidecar


def test_a_changed_byte_in_the_sidecar_is_detected_and_repaired_from_the_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = make(tmp_path)
    meta = meta_path(tmp_path)
    meta.write_text(meta.read_text().replace('"0.01"', '"0.05"'))  # one byte
    code, out = verify(tmp_path, capsys)
    assert code == 1 and "fails its checksum" in out and "recovery rebuilds it" in out
    book, problems = recover(tmp_path)
    assert book == expected and book.tick_size == "0.01"
    assert book.best_ask == pytest.approx(1.23)  # not rescaled to 6.15
    assert any("fails its checksum" in p and "rebuilt it from" in p for p in problems)
    assert json.loads(meta.read_text())["tick_size"] == "0.01"  # repaired on disk
    assert verify(tmp_path, capsys)[0] == 0


def test_a_damaged_sidecar_without_a_snapshot_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make(tmp_path, snapshot=False)
    meta = meta_path(tmp_path)
    meta.write_text(meta.read_text().replace('"0.01"', '"0.05"'))
    assert verify(tmp_path, capsys)[0] == 1
    with open_pm(tmp_path) as pm, pytest.raises(CorruptionError, match="fails its checksum"):
        pm.recover_state()
    assert json.loads(meta.read_text())["tick_size"] == "0.05"  # nothing written on error


def legacy_meta(data: Path, tick: str) -> None:
    """The sidecar as pinnacle before the checksum wrote it (format 1)."""
    doc = {"format": 1, "symbol": SYM, "tick_size": tick, "lot_size": "1"}
    meta_path(data).write_text(json.dumps(doc, indent=2) + "\n")


def test_an_old_format_sidecar_still_loads_but_a_changed_one_is_caught_by_the_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    expected = make(tmp_path)
    legacy_meta(tmp_path, "0.01")
    code, out = verify(tmp_path, capsys)
    assert code == 0 and "format 1" in out
    book, _ = recover(tmp_path)
    assert book == expected
    assert any("no checksum" in r.getMessage() for r in caplog.records)
    legacy_meta(tmp_path, "0.05")  # unchecksummed, changed: the snapshot's copy disagrees
    code, out = verify(tmp_path, capsys)
    assert code == 1 and "recovery refuses to rescale" in out
    with open_pm(tmp_path) as pm, pytest.raises(CorruptionError, match="refusing to rescale"):
        pm.recover_state()


# ------------------------------------------------- 15.5: snapshots bound to their journal


def test_journal_identity_is_random_and_survives_reopen_and_compaction(tmp_path: Path) -> None:
    a, b = Journal(tmp_path / "a.journal"), Journal(tmp_path / "b.journal")
    assert a.journal_id and b.journal_id and a.journal_id != b.journal_id and len(a.journal_id) == 32
    ident = a.journal_id
    for i in range(20):
        a.append(1, b"%d" % i)
    a.compact(15)
    assert a.journal_id == ident
    a.close()
    with Journal(tmp_path / "a.journal") as again:
        assert again.journal_id == ident and again.first_seq == 15
    b.close()


def test_a_journal_without_identity_still_opens_and_stays_format_1(tmp_path: Path) -> None:
    p = tmp_path / "old.journal"
    with Journal(p) as j:
        j.append(1, b"x")
    img = bytearray(p.read_bytes())
    for slot in (0, 512):  # rewrite both slots as pinnacle 0.1 wrote them
        img[slot + 8 : slot + 10] = struct.pack("<H", 1)
        img[slot + 52 : slot + 128] = bytes(76)
        img[slot + 60 : slot + 64] = struct.pack("<I", zlib.crc32(bytes(img[slot : slot + 60])))
    p.write_bytes(bytes(img))
    with Journal(p) as j:
        assert j.journal_id is None and j.last_seq == 1
        j.append(1, b"y")
        j.compact(2)
    page = p.read_bytes()[:4096]
    assert struct.unpack_from("<H", page, 8)[0] == 1 or struct.unpack_from("<H", page, 520)[0] == 1
    with Journal(p) as j:
        assert j.journal_id is None and [e.payload for e in j.read()] == [b"y"]


def test_a_snapshot_copied_from_another_data_directory_is_not_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    expected = make(mine, extra=30)  # journal seqs 1..40, snapshot at 10
    with open_pm(theirs) as pm:  # same symbol and grid, another book
        other = pm.order_book(SYM, "0.01", "1")
        for i in range(20):
            other.add_order(1000 + i, "sell", "5.00", 1)
        pm.snapshot(SYM)  # covers seq 20: inside my journal's range, newer than mine
    foreign = snapshots(theirs)[0]
    shutil.copy(foreign, mine / "snapshots" / SYM / foreign.name)
    code, out = verify(mine, capsys)
    assert code == 1 and "belongs to another journal" in out
    book, problems = recover(mine)
    assert book == expected
    assert any("belongs to another journal" in p for p in problems)
    with open_pm(mine) as pm:  # rotation neither uses nor deletes a file that is not ours
        pm.recover_state()
        pm.perform_maintenance()
    assert (mine / "snapshots" / SYM / foreign.name).exists()


def test_snapshots_record_their_journal_and_grid(tmp_path: Path) -> None:
    with open_pm(tmp_path) as pm:
        book = pm.order_book(SYM, "0.01", "1")
        fill(book, 3)
        f = pm.snapshot(SYM)
        j = pm.get_journal(SYM)
        assert f is not None and j is not None
        _, info = OrderBook.from_snapshot(f.path.read_bytes(), "0.01", "1")
        assert (info.journal_id, info.tick_size, info.lot_size) == (j.journal_id, "0.01", "1")
        cp = j.last_checkpoint  # names the snapshot
        assert cp is not None and struct.unpack("<Qq", cp.payload) == (f.covered_seq, f.created_ns)


# ------------------------------------------- 11.6 / 15.6: a book's journal is the book's


def test_the_managers_journal_refuses_foreign_records_and_second_books(tmp_path: Path) -> None:
    expected = make(tmp_path, snapshot=False)
    with open_pm(tmp_path) as pm:
        pm.recover_state()
        j = pm.get_journal(SYM)
        assert j is not None
        seq = j.last_seq
        with pytest.raises(InvalidArgumentError, match="only the book appends"):
            j.append(7, b"foreign")
        with pytest.raises(InvalidArgumentError, match="another order book"):
            OrderBook(SYM, "0.01", "1", journal=j)
        assert j.last_seq == seq
    assert recover(tmp_path)[0] == expected


def _foreign_kind(data: Path) -> None:
    with Journal(data / "journals" / f"{SYM}.journal") as j:  # behind the manager's back
        j.append(7, b"not a book op")


def _op_that_does_not_apply(data: Path) -> None:
    # A kind-1 Add (docs/format.md): tag 1, int id 0, side buy, price 100, qty 1, ts 1.
    # Order 0 already rests, so it does not apply.
    with Journal(data / "journals" / f"{SYM}.journal") as j:
        j.append(1, struct.pack("<BBQBqqq", 1, 0, 0, 0, 100, 1, 1))


def _foreign_snapshot(data: Path) -> None:
    other = data.parent / "other"
    with open_pm(other) as pm:
        b = pm.order_book(SYM, "0.01", "1")
        fill(b, 12)
        pm.snapshot(SYM)
    shutil.copy(snapshots(other)[0], data / "snapshots" / SYM)


def _changed_sidecar(data: Path) -> None:
    meta_path(data).write_text(meta_path(data).read_text().replace('"0.01"', '"0.02"'))


def _changed_legacy_sidecar(data: Path) -> None:
    legacy_meta(data, "0.02")


def _torn_tail(data: Path) -> None:
    p = data / "journals" / f"{SYM}.journal"
    with Journal(p) as j:
        end = j.data_bytes
    with open(p, "r+b") as f:
        f.seek(end)
        f.write(b"\x07" * 12)


def _damaged_snapshot(data: Path) -> None:
    s = snapshots(data)[0]
    s.write_bytes(s.read_bytes()[:-1] + bytes([s.read_bytes()[-1] ^ 1]))  # damaged: skipped


def _flipped_durable_entry(data: Path) -> None:
    p = data / "journals" / f"{SYM}.journal"
    img = bytearray(p.read_bytes())
    img[4096 + 40] ^= 0x10  # inside the first entry's payload
    p.write_bytes(bytes(img))


def _compacted_without_snapshot(data: Path) -> None:
    for s in snapshots(data):
        s.unlink()
    with Journal(data / "journals" / f"{SYM}.journal") as j:
        j.compact(5)


def _missing_sidecar(data: Path) -> None:
    meta_path(data).unlink()  # rebuilt from the snapshot's grid


SCENARIOS: dict[str, Callable[[Path], None]] = {
    "flipped-durable-entry": _flipped_durable_entry,
    "compacted-without-snapshot": _compacted_without_snapshot,
    "missing-sidecar": _missing_sidecar,
    "clean": lambda d: None,
    "foreign-kind": _foreign_kind,
    "op-that-does-not-apply": _op_that_does_not_apply,
    "foreign-snapshot": _foreign_snapshot,
    "changed-sidecar": _changed_sidecar,
    "changed-legacy-sidecar": _changed_legacy_sidecar,
    "torn-tail": _torn_tail,
    "damaged-snapshot": _damaged_snapshot,
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_verify_and_recovery_agree(tmp_path: Path, scenario: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Whenever verify passes, recovery recovers; the two damage cases verify used to
    pass (a foreign kind, an op that does not apply) now fail it, as recovery does."""
    data = tmp_path / "data"
    make(data)
    SCENARIOS[scenario](data)
    code, out = verify(data, capsys)
    try:
        recover(data)
        recovered = True
    except CorruptionError:
        recovered = False
    if code == 0:
        assert recovered, f"verify passed but recovery failed:\n{out}"
    if scenario in ("foreign-kind", "op-that-does-not-apply"):
        assert code == 1 and "recovery refuses this journal" in out and not recovered
    if scenario in ("clean", "torn-tail"):
        assert code == 0 and recovered
    if scenario in ("changed-sidecar", "missing-sidecar", "foreign-snapshot"):
        assert code == 1 and recovered  # flagged, and recovery repairs or skips it
