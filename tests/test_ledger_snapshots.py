"""Ledger snapshots (versioned, bound to their journal, CRC-checked), recovery from the
newest usable one (falling back past damage), the committed version-1 fixture, and
state_at (past states by seq or time)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_ledger_persistence import model_checksum, trade

from pinnacle import CorruptionError, LedgerError, PersistenceManager, UnsupportedFormatError, _core

FIXTURES = Path(__file__).parent / "fixtures"


def test_recovery_uses_the_newest_snapshot_then_the_journal(tmp_path: Path) -> None:
    with PersistenceManager(tmp_path, maintenance=False) as pm:
        trade(pm.ledger, 20)
        first = pm.snapshot_ledger()
        trade(pm.ledger, 30, start=20)
        assert first is not None and first.parent == tmp_path / "snapshots" / "@ledger"
        assert oct(first.stat().st_mode & 0o777) == "0o600"
    # shutdown snapshotted the changed ledger too
    snaps = sorted((tmp_path / "snapshots" / "@ledger").iterdir())
    assert len(snaps) == 2
    with PersistenceManager(tmp_path, maintenance=False) as pm:
        pm.recover_state()
        info = pm.last_recovery["@ledger"]
        assert info.snapshot_file is not None and info.snapshot_file != first
        assert info.entries_replayed == 0
        assert pm.ledger.checksum() == model_checksum(30)
    # the newest damaged: recovery falls back to the older one and replays more
    newest = max(snaps, key=lambda p: p.stat().st_mtime_ns)
    data = bytearray(newest.read_bytes())
    data[-10] ^= 0xFF
    newest.write_bytes(bytes(data))
    with PersistenceManager(tmp_path, maintenance=False) as pm:
        pm.recover_state()
        info = pm.last_recovery["@ledger"]
        assert info.snapshot_file == first and info.entries_replayed >= 10
        assert any("checksum" in p for p in info.problems), info.problems
        assert pm.ledger.checksum() == model_checksum(30)


def test_a_compacted_journal_needs_its_snapshot(tmp_path: Path) -> None:
    with PersistenceManager(tmp_path, maintenance=False) as pm:
        trade(pm.ledger, 12)
        snap = pm.snapshot_ledger()
        assert snap is not None
        journal = pm._res.ledger_journal
        journal.compact(journal.next_seq)
        trade(pm.ledger, 15, start=12)
    with PersistenceManager(tmp_path, maintenance=False) as pm:
        pm.recover_state()
        assert pm.ledger.checksum() == model_checksum(15)
    for p in (tmp_path / "snapshots" / "@ledger").iterdir():
        p.unlink()
    with (
        PersistenceManager(tmp_path, maintenance=False) as pm,
        pytest.raises(CorruptionError, match="compacted"),
    ):
        pm.recover_state()


def test_snapshot_bytes_refuse_damage_and_newer_versions() -> None:
    led = _core.Ledger()
    led.set_config("k", "v", 5)
    data, seq = led.snapshot_bytes(7)
    back, (jid, covered, created) = _core.Ledger.from_snapshot(data)
    assert (back.checksum(), jid, covered, created, seq) == (led.checksum(), None, 0, 7, 0)
    newer = bytearray(data)
    newer[8] = 2
    with pytest.raises(UnsupportedFormatError, match="newer"):
        _core.Ledger.from_snapshot(bytes(newer))
    with pytest.raises(CorruptionError):
        _core.Ledger.from_snapshot(data[:-1])


def test_the_version_1_fixture_keeps_loading() -> None:
    """tests/fixtures/ledger-v1.snapshot: a version-1 snapshot of `trade(led, 25)`."""
    data = (FIXTURES / "ledger-v1.snapshot").read_bytes()
    led, (_jid, covered, _created) = _core.Ledger.from_snapshot(data)
    assert covered > 0
    assert led.checksum() == model_checksum(25)


def test_state_at_gives_read_only_past_states(tmp_path: Path) -> None:
    with PersistenceManager(tmp_path, maintenance=False) as pm:
        led = pm.ledger
        trade(led, 10)
        seq_10 = pm._res.ledger_journal.next_seq - 1
        trade(led, 20, start=10)
        past = led.state_at(seq=seq_10)
        assert past.checksum() == model_checksum(10)
        assert led.state_at(timestamp_ns=1_000 + 9).checksum() == model_checksum(10)
        assert led.state_at().checksum() == led.checksum()
        with pytest.raises(LedgerError) as ei:
            past.set_config("k", "v")
        assert ei.value.code == "read_only"


def test_the_version_1_journal_fixture_keeps_replaying(tmp_path: Path) -> None:
    """tests/fixtures/ledger-v1.journal: every record kind `trade` writes, version 1."""
    copy = tmp_path / "l.journal"
    copy.write_bytes((FIXTURES / "ledger-v1.journal").read_bytes())
    j = _core.Journal(copy)
    led = _core.Ledger()
    assert led.replay_journal(j, 1) > 25
    assert led.checksum() == model_checksum(25)
    kinds = {e.kind for e in j.read()}
    assert kinds == {
        _core.entry_kinds()[n]
        for n in (
            "ledger.order-submit",
            "ledger.order-ack",
            "ledger.fill-received",
            "ledger.balance-update",
            "ledger.order-cancel",
            "ledger.strategy-signal",
        )
    }
    j.close()


def test_maintenance_snapshots_and_compacts_the_ledger_journal(tmp_path: Path) -> None:
    cfg = {"compactionThreshold": 20, "keepSnapshots": 2}
    with PersistenceManager(tmp_path, cfg, maintenance=False) as pm:
        trade(pm.ledger, 40)
        report = pm._maintain(periodic=True, rotate=False)
        assert "@ledger" in report.snapshots_taken
        # over the threshold: compacted to just after the (oldest retained) snapshot
        assert report.journals_compacted["@ledger"] > 20
        journal = pm._res.ledger_journal
        assert journal.entry_count <= 1  # just the snapshot's checkpoint marker left
        trade(pm.ledger, 70, start=40)
        idle = pm._maintain(periodic=True, rotate=False)
        assert "@ledger" in idle.snapshots_taken
        again = pm._maintain(periodic=True, rotate=False)
        assert "@ledger" not in again.snapshots_taken  # nothing changed: nothing written
        with pytest.raises(LedgerError) as ei:
            pm.ledger.state_at(seq=5)  # compacted, and no snapshot that old
        assert ei.value.code == "compacted"
        assert pm.ledger.state_at().checksum() == model_checksum(70)
    assert len(list((tmp_path / "snapshots" / "@ledger").iterdir())) == 2
    with PersistenceManager(tmp_path, maintenance=False) as pm:
        pm.recover_state()
        assert pm.ledger.checksum() == model_checksum(70)
