"""PersistenceManager: layout, recovery, restart without growth, sidecars, symbols, locking, logging."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import stat
import struct
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, cast

import pytest
from conftest import dead_pid, run_python

from pinnacle import (
    CorruptionError,
    DataDirectoryLockedError,
    InvalidArgumentError,
    JournalClosedError,
    OrderBook,
    PersistenceConfig,
    PersistenceManager,
)

SYM = "BTC-USD"
CFG = PersistenceConfig(snapshot_interval_min=0, journal_sync_mode="none")


def open_pm(data: Path, **overrides: object) -> PersistenceManager:
    return PersistenceManager(data, dataclasses.replace(CFG, **overrides), maintenance=False)  # type: ignore[arg-type]


def trade(book: OrderBook, n: int, base: int = 0) -> None:
    """n deterministic ops: adds on both sides, some crossing, cancels, executions, modifies."""
    for i in range(base, base + n):
        side: Literal["buy", "sell"] = "buy" if i % 2 else "sell"
        price = Decimal(100) + (Decimal(-1) if side == "buy" else Decimal(1)) * (i % 7) / 4
        book.add_order(i, side, price, 1 + i % 5, timestamp_ns=10_000 + i)
        if i % 6 == 5:
            book.cancel_order(i - 2, timestamp_ns=10_000 + i)
        if i % 9 == 8 and book.order_count:
            o = book.orders()[0]
            book.execute_order(o.order_id, 1, timestamp_ns=10_000 + i)


def recovered(data: Path, symbol: str = SYM) -> tuple[OrderBook, PersistenceManager]:
    pm = open_pm(data)
    assert pm.recover_state()
    book = pm.get_recovered_order_book(symbol)
    assert book is not None
    return book, pm


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_layout_and_permissions(tmp_path: Path) -> None:
    data = tmp_path / "a" / "data"
    with open_pm(data) as pm:
        assert pm.recover_state() is False
        book = pm.order_book(SYM, tick_size="0.50", lot_size=Decimal("0.001"))
        assert (book.tick_size, book.lot_size) == ("0.5", "0.001")
        book.add_order(1, "buy", 10, "0.002")
        pm.snapshot(SYM)
    names = {str(p.relative_to(data)) for p in data.rglob("*")}
    snap = next(p for p in names if p.endswith(".snapshot"))
    assert names == {".lock", "journals", "snapshots", f"snapshots/{SYM}", snap} | {
        f"journals/{SYM}.journal",
        f"journals/{SYM}.meta.json",
    }
    assert snap.startswith(f"snapshots/{SYM}/{SYM}-")
    for p in [data, *data.rglob("*")]:
        assert mode(p) == (0o700 if p.is_dir() else 0o600), p
    meta = json.loads((data / "journals" / f"{SYM}.meta.json").read_text())
    body = {"format": 2, "symbol": SYM, "tick_size": "0.5", "lot_size": "0.001"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    assert meta == {**body, "crc32": zlib.crc32(canonical)}


def test_books_survive_a_restart_and_keep_journaling(tmp_path: Path) -> None:
    with open_pm(tmp_path) as pm:
        book = pm.order_book(SYM)
        trade(book, 40)
        pm.snapshot(SYM)
        trade(book, 25, base=100)
        expected = book.copy()
        pm.shutdown(snapshot=False)  # keep the entries after the snapshot to replay
    book, pm = recovered(tmp_path)
    with pm:
        assert book == expected and book.journal is pm.get_journal(SYM)
        assert pm.order_book(SYM) is book
        info = pm.last_recovery[SYM]
        assert info.snapshot_file is not None and info.snapshot_covered_seq is not None
        assert info.entries_replayed > 0 and info.orders == book.order_count and info.problems == []
        trade(book, 10, base=200)  # goes on journaling
        expected = book.copy()
    book, pm = recovered(tmp_path)
    with pm:
        assert book == expected


def test_an_untraded_symbol_is_recovered_with_its_grid(tmp_path: Path) -> None:
    with open_pm(tmp_path) as pm:
        pm.order_book(SYM, tick_size="0.05")
    with open_pm(tmp_path) as pm:
        assert pm.recover_state() is True
        info = pm.last_recovery[SYM]
        assert (info.snapshot_file, info.entries_replayed, info.orders, info.problems) == (None, 0, 0, [])
        assert pm.order_book(SYM).tick_size == "0.05"


def test_a_group_readable_data_directory_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tmp_path.chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="pinnacle"), open_pm(tmp_path):
        pass
    assert any("mode 755" in r.getMessage() for r in caplog.records)
    assert mode(tmp_path / "journals") == 0o700


def test_restarting_twice_does_not_grow_the_journal(tmp_path: Path) -> None:
    with open_pm(tmp_path) as pm:
        trade(pm.order_book(SYM), 30)
        pm.snapshot(SYM)
        trade(pm.order_book(SYM), 10, base=50)
    path = tmp_path / "journals" / f"{SYM}.journal"
    seen = []
    for _ in range(3):
        book, pm = recovered(tmp_path)
        j = pm.get_journal(SYM)
        assert j is not None
        state = (j.entry_count, j.last_seq, j.data_bytes, j.size_bytes, book.order_count)
        pm.shutdown()
        seen.append((*state, path.stat().st_size))
    assert seen[0] == seen[1] == seen[2]


def test_recovery_logs_the_guides_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with open_pm(tmp_path) as pm:
        trade(pm.order_book(SYM), 20)
        snap = pm.snapshot(SYM)
        assert snap is not None
        trade(pm.order_book(SYM), 42, base=100)
        # Every entry after the snapshot but the checkpoint that follows it is a book op.
        entries = pm.get_journal(SYM).last_seq - snap.covered_seq - 1  # type: ignore[union-attr]
        pm.shutdown(snapshot=False)  # keep the entries after the snapshot to replay
    caplog.set_level(logging.INFO, logger="pinnacle")
    book, pm = recovered(tmp_path)
    pm.shutdown()
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("pinnacle")]
    assert f"Initializing persistence for {SYM}" in lines
    assert f"Loading latest snapshot from {snap.created_ns} (covers seq {snap.covered_seq})" in "\n".join(
        lines
    )
    assert f"Replaying {entries} journal entries" in lines
    done = [x for x in lines if x.startswith("Recovery completed successfully")]
    info = pm.last_recovery[SYM]
    assert len(done) == 1 and f"{book.order_count} orders" in done[0] and " ms" in done[0]
    assert f"{info.entries_replayed} journal entries replayed" in done[0]


def test_library_configures_no_handlers() -> None:
    handlers = logging.getLogger("pinnacle").handlers
    assert all(isinstance(h, logging.NullHandler) for h in handlers) and handlers


def test_order_book_before_recover_state_recovers_lazily(tmp_path: Path) -> None:
    with open_pm(tmp_path) as pm:
        trade(pm.order_book(SYM), 15)
        expected = pm.order_book(SYM).copy()
    with open_pm(tmp_path) as pm:
        book = pm.order_book(SYM)
        assert book == expected and pm.get_recovered_order_book(SYM) is book
        assert pm.recover_state() is False  # nothing left to recover
        assert pm.get_all_recovered_order_books() == {SYM: book}
        pm.clear_recovered_order_books()
        assert not pm.has_recovered_order_books() and pm.get_recovered_order_book(SYM) is None
        assert pm.order_book(SYM) is book  # still open and journaled


def test_tick_and_lot_sizes_are_persisted_and_checked(tmp_path: Path) -> None:
    with open_pm(tmp_path) as pm:
        pm.order_book(SYM, tick_size="0.25", lot_size="0.1").add_order(1, "buy", "10.25", "0.3")
        with pytest.raises(InvalidArgumentError, match="tick_size"):
            pm.order_book(SYM, tick_size="0.01")
    with open_pm(tmp_path) as pm:
        pm.recover_state()
        book = pm.order_book(SYM)
        assert (book.tick_size, book.lot_size) == ("0.25", "0.1")
        assert pm.order_book(SYM, tick_size=0.25, lot_size=Decimal("0.10")) is book
        with pytest.raises(InvalidArgumentError, match="lot_size"):
            pm.order_book(SYM, lot_size=1)
        assert book.best_bid == 10.25


@pytest.mark.parametrize(
    "how",
    ["missing", "garbage", "other-symbol", "extra-key", "bad-tick"],
)
def test_a_missing_or_mismatching_sidecar_is_refused(tmp_path: Path, how: str) -> None:
    pm = open_pm(tmp_path)
    trade(pm.order_book(SYM), 5)
    pm.shutdown(snapshot=False)  # no snapshot records the grid: nothing to repair from
    meta = tmp_path / "journals" / f"{SYM}.meta.json"
    doc = json.loads(meta.read_text())
    if how == "missing":
        meta.unlink()
    elif how == "garbage":
        meta.write_text("{not json")
    elif how == "other-symbol":
        meta.write_text(json.dumps(dict(doc, symbol="ETH-USD")))
    elif how == "extra-key":
        meta.write_text(json.dumps(dict(doc, extra=1)))
    else:
        meta.write_text(json.dumps(dict(doc, tick_size="-1")))
    with open_pm(tmp_path) as pm, pytest.raises(CorruptionError, match=r"sidecar|tick"):
        pm.recover_state()


OLD_GRID = '{"symbol": "BTC-USD", "tick_size": "0.25", "lot_size": "1"}'


@pytest.mark.parametrize("leftover", [OLD_GRID, "{damaged"])
def test_a_grid_file_without_a_journal_is_no_symbol_and_is_replaced(tmp_path: Path, leftover: str) -> None:
    """An older version could leave SYMBOL.meta.json behind when creating the journal
    failed: it is not a symbol to recover, and creating the symbol replaces it."""
    with open_pm(tmp_path):
        pass
    (tmp_path / "journals" / "BTC-USD.meta.json").write_text(leftover)
    with open_pm(tmp_path) as pm:
        assert pm.recover_state() is False and pm.symbols == []
        pm.order_book("BTC-USD", tick_size="0.5").add_order(1, "buy", "10.5", 1)
    with open_pm(tmp_path) as pm:
        assert pm.recover_state() is True
        book = pm.order_book("BTC-USD")
        assert (book.tick_size, book.best_bid) == ("0.5", 10.5)


VALID = ["BTC-USD", "a", "A.b_c-9", "x" * 64, "BTC.PERP", "1"]
INVALID: list[object] = [
    "",
    ".",
    "..",
    ".hidden",
    "a/b",
    "a\\b",
    "a\0b",
    "a\nb",
    "x" * 65,
    "BTC USD",
    "é",
    "a:b",
]


@pytest.mark.parametrize("symbol", VALID)
def test_valid_symbols(tmp_path: Path, symbol: str) -> None:
    with open_pm(tmp_path) as pm:
        pm.order_book(symbol).add_order(1, "buy", 1, 1)
    assert (tmp_path / "journals" / f"{symbol}.journal").is_file()


@pytest.mark.parametrize("symbol", [*INVALID, 5, None, b"BTC"])
def test_invalid_symbols_are_refused_before_touching_the_disk(tmp_path: Path, symbol: object) -> None:
    with open_pm(tmp_path / "d") as pm:
        before = sorted((tmp_path / "d").rglob("*"))
        for call in (pm.order_book, pm.get_journal, pm.snapshot, pm.get_recovered_order_book):
            with pytest.raises(InvalidArgumentError, match="symbol"):
                cast(Any, call)(symbol)
        assert sorted((tmp_path / "d").rglob("*")) == before


def test_symbols_differing_only_in_case_are_refused(tmp_path: Path) -> None:
    with open_pm(tmp_path) as pm:
        pm.order_book("btc-usd")
        with pytest.raises(InvalidArgumentError, match="case"):
            pm.order_book("BTC-USD")
    with open_pm(tmp_path) as pm:  # also against what is on disk, before recovery
        with pytest.raises(InvalidArgumentError, match="case"):
            pm.order_book("BTC-usd")
    # Two such symbols on disk (written on a case-sensitive file system): recovery refuses.
    for ext in (".journal", ".meta.json"):
        shutil.copy(tmp_path / "journals" / f"btc-usd{ext}", tmp_path / "journals" / f"BTC-USD{ext}")
    meta = tmp_path / "journals" / "BTC-USD.meta.json"
    meta.write_text(meta.read_text().replace("btc-usd", "BTC-USD"))
    with open_pm(tmp_path) as pm, pytest.raises(CorruptionError, match="differ only in case"):
        pm.recover_state()


def test_foreign_files_are_ignored_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with open_pm(tmp_path) as pm:
        pm.order_book(SYM)
    (tmp_path / "journals" / "bad name.journal").write_bytes(b"x")
    (tmp_path / "journals" / "README.txt").write_text("hi")
    caplog.set_level(logging.WARNING, logger="pinnacle")
    with open_pm(tmp_path) as pm:
        assert pm.recover_state() and pm.symbols == [SYM]
    assert any("bad name" in r.getMessage() for r in caplog.records)


def test_a_second_manager_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    pm = open_pm(tmp_path)
    with pytest.raises(DataDirectoryLockedError, match="in use") as info:
        open_pm(tmp_path)
    assert str(os.getpid()) in str(info.value) and isinstance(info.value, OSError)
    r = run_python(
        "import sys, pinnacle\n"
        "try:\n    pinnacle.PersistenceManager(sys.argv[1])\n"
        "except pinnacle.DataDirectoryLockedError as e:\n    print('refused', e.errno)\n",
        str(tmp_path),
    )
    assert r.stdout.startswith("refused"), r.stderr
    pm.shutdown()
    open_pm(tmp_path).shutdown()  # released


def test_shutdown_closes_everything_and_is_idempotent(tmp_path: Path) -> None:
    pm = PersistenceManager(tmp_path, CFG)
    book = pm.order_book(SYM)
    book.add_order(1, "buy", 1, 1)
    pm.shutdown()
    pm.shutdown()
    assert pm.closed and book.order_count == 1
    with pytest.raises(JournalClosedError):
        book.add_order(2, "buy", 1, 1)
    assert book.order_count == 1
    for call in (
        pm.recover_state,
        lambda: pm.order_book(SYM),
        lambda: pm.snapshot(SYM),
        pm.perform_maintenance,
    ):
        with pytest.raises(JournalClosedError):
            call()
    assert not [t for t in __import__("threading").enumerate() if t.name == "pinnacle-maintenance"]


def test_snapshot_of_an_unknown_symbol(tmp_path: Path) -> None:
    with open_pm(tmp_path) as pm, pytest.raises(InvalidArgumentError, match="order_book"):
        pm.snapshot(SYM)


def test_snapshot_all_and_checkpoints(tmp_path: Path) -> None:
    with open_pm(tmp_path) as pm:
        for s in ("A", "B", "C"):
            trade(pm.order_book(s), 7)
        files = pm.snapshot_all()
        assert sorted(files) == ["A", "B", "C"]
        for s, f in files.items():
            j = pm.get_journal(s)
            assert j is not None and j.last_checkpoint is not None
            payload = j.last_checkpoint.payload  # names the snapshot: covered_seq, created_ns
            assert struct.unpack("<Qq", payload) == (f.covered_seq, f.created_ns)
            assert f.covered_seq == j.last_seq - 1
            mgr = pm.get_snapshot_manager(s)
            assert mgr is not None and mgr.files() == [f]


def test_missing_journal_with_snapshots_is_refused(tmp_path: Path) -> None:
    with open_pm(tmp_path) as pm:
        trade(pm.order_book(SYM), 5)
        pm.snapshot(SYM)
    (tmp_path / "journals" / f"{SYM}.journal").unlink()
    with open_pm(tmp_path) as pm, pytest.raises(CorruptionError, match="missing"):
        pm.recover_state()


def test_stray_temp_files_are_removed_at_startup(tmp_path: Path) -> None:
    """Temps of a writer that is gone are removed; a live process's are kept (it may be
    writing them now: pid 1 never exits)."""
    with open_pm(tmp_path) as pm:
        pm.order_book(SYM)
    pid = dead_pid()
    strays = [
        tmp_path / "journals" / f".{SYM}.meta.json.tmp-{pid}-abcdef",
        tmp_path / "snapshots" / SYM / f".{SYM}-5.snapshot.tmp-{pid}-abcdef",
    ]
    live = tmp_path / "snapshots" / SYM / f".{SYM}-6.snapshot.tmp-1-abcdef"
    (tmp_path / "snapshots" / SYM).mkdir(exist_ok=True)
    for p in [*strays, live]:
        p.write_bytes(b"partial")
    open_pm(tmp_path).shutdown()
    assert not any(p.exists() for p in strays)
    assert live.exists()
