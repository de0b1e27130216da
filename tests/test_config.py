"""PersistenceConfig: the JSON "persistence" block, defaults, and every way it can be wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pinnacle import ConfigError, InvalidArgumentError, PersistenceConfig, PersistenceManager

GUIDE_BLOCK = {
    "enabled": True,
    "dataDirectory": "data",
    "journalSyncIntervalMs": 100,
    "snapshotIntervalMin": 15,
    "keepSnapshots": 5,
    "compactionThreshold": 1000000,
}


def test_defaults_are_the_guides() -> None:
    c = PersistenceConfig()
    assert c == PersistenceConfig.from_dict(GUIDE_BLOCK) == PersistenceConfig.from_dict({})
    assert (c.enabled, c.data_directory, c.journal_sync_interval_ms) == (True, "data", 100)
    assert (c.snapshot_interval_min, c.keep_snapshots, c.compaction_threshold) == (15, 5, 1_000_000)
    assert c.journal_sync_mode == "interval"
    assert c.snapshot_interval_s == 900.0


def test_full_block_round_trips() -> None:
    block = dict(GUIDE_BLOCK, journalSyncMode="always", ledgerSyncMode="interval", snapshotIntervalMin=0.25)
    block.update(dataDirectory="/x/y")
    block.update(journalInitialSize=65536, journalGrowthStep=1 << 20)
    c = PersistenceConfig.from_dict(block)
    assert c.journal_sync_mode == "always" and c.snapshot_interval_s == 15.0
    assert (c.journal_initial_size, c.journal_growth_step) == (65536, 1 << 20)
    assert c.to_dict() == block
    assert PersistenceConfig.from_dict(c.to_dict()) == c


def test_frozen() -> None:
    c = PersistenceConfig()
    with pytest.raises(AttributeError):
        c.keep_snapshots = 3  # type: ignore[misc]


def test_zero_snapshot_interval_turns_periodic_snapshots_off() -> None:
    assert PersistenceConfig(snapshot_interval_min=0).snapshot_interval_s == 0.0


def test_path_like_data_directory_is_normalised(tmp_path: Path) -> None:
    assert PersistenceConfig(data_directory=tmp_path).data_directory == str(tmp_path)


BAD: list[tuple[str, Any]] = [
    ("enabled", 1),
    ("enabled", "true"),
    ("enabled", None),
    ("dataDirectory", ""),
    ("dataDirectory", 5),
    ("dataDirectory", "a\0b"),
    ("dataDirectory", None),
    ("journalSyncIntervalMs", True),
    ("journalSyncIntervalMs", 0),
    ("journalSyncIntervalMs", -5),
    ("journalSyncIntervalMs", 1.5),
    ("journalSyncIntervalMs", "100"),
    ("journalSyncIntervalMs", 3_600_001),
    ("journalSyncMode", "sometimes"),
    ("journalSyncMode", None),
    ("journalSyncMode", 1),
    ("snapshotIntervalMin", -1),
    ("snapshotIntervalMin", -0.001),
    ("snapshotIntervalMin", False),
    ("snapshotIntervalMin", float("nan")),
    ("snapshotIntervalMin", float("inf")),
    ("snapshotIntervalMin", "15"),
    ("keepSnapshots", 0),
    ("keepSnapshots", -1),
    ("keepSnapshots", True),
    ("keepSnapshots", 2.0),
    ("keepSnapshots", None),
    ("journalInitialSize", 4095),
    ("journalInitialSize", 0),
    ("journalInitialSize", (1 << 40) + 1),
    ("journalInitialSize", True),
    ("journalInitialSize", 1e6),
    ("journalGrowthStep", -4096),
    ("journalGrowthStep", 2**64),
    ("journalGrowthStep", "64MiB"),
    ("compactionThreshold", 0),
    ("compactionThreshold", -10),
    ("compactionThreshold", False),
    ("compactionThreshold", 1e6),
    ("compactionThreshold", "1000000"),
]


@pytest.mark.parametrize(("key", "value"), BAD, ids=[f"{k}={v!r}" for k, v in BAD])
def test_bad_values_name_the_key(key: str, value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        PersistenceConfig.from_dict({key: value})
    assert info.value.key == f"persistence.{key}"
    assert f"persistence.{key}" in str(info.value)
    assert isinstance(info.value, InvalidArgumentError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("key", ["keep_snapshots", "journalSyncIntervalMS", "snapshotInterval", "", "extra"])
def test_unknown_keys_are_refused(key: str) -> None:
    with pytest.raises(ConfigError, match="unknown key") as info:
        PersistenceConfig.from_dict({key: 1})
    assert info.value.key == f"persistence.{key}"


def test_block_must_be_an_object() -> None:
    with pytest.raises(ConfigError, match="persistence"):
        PersistenceConfig.from_dict([("enabled", True)])  # type: ignore[arg-type]


def test_direct_construction_validates_too() -> None:
    with pytest.raises(ConfigError, match="keepSnapshots"):
        PersistenceConfig(keep_snapshots=0)
    with pytest.raises(ConfigError, match="journalSyncMode"):
        PersistenceConfig(journal_sync_mode="never")  # type: ignore[arg-type]


def write(path: Path, doc: object) -> Path:
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def test_from_json_file_reads_the_persistence_block_and_ignores_the_rest(tmp_path: Path) -> None:
    p = write(tmp_path / "default_config.json", {"exchange": {"x": 1}, "persistence": GUIDE_BLOCK})
    assert PersistenceConfig.from_json_file(p) == PersistenceConfig()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"other": {}}', "persistence: missing"),
        ('{"persistence": 5}', "JSON object"),
        ('{"persistence": {"keepSnapshots": 1, "keepSnapshots": 2}}', "duplicate key"),
        ('{"persistence": {"keepSnapshots": 0}}', "keepSnapshots"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        PersistenceConfig.from_json_file(write(tmp_path / "c.json", text))


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        PersistenceConfig.from_json_file(tmp_path / "nope.json")


def test_manager_from_config_file_resolves_data_directory_against_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf_dir, work = tmp_path / "conf", tmp_path / "work"
    conf_dir.mkdir()
    work.mkdir()
    block = dict(GUIDE_BLOCK, dataDirectory="state", snapshotIntervalMin=0)
    p = write(conf_dir / "default_config.json", {"persistence": block})
    monkeypatch.chdir(work)
    with PersistenceManager.from_config_file(p) as pm:
        assert pm.data_dir == work / "state"
        assert pm.config.snapshot_interval_min == 0
        pm.order_book("BTC-USD")
    assert (work / "state" / "journals" / "BTC-USD.journal").is_file()
    assert not (conf_dir / "state").exists()


def test_explicit_data_dir_overrides_the_config(tmp_path: Path) -> None:
    with PersistenceManager(tmp_path / "d", PersistenceConfig(data_directory="elsewhere")) as pm:
        assert pm.data_dir == tmp_path / "d"
        assert pm.config.data_directory == str(tmp_path / "d")


def test_disabled_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    p = write(tmp_path / "cfg.json", {"persistence": dict(GUIDE_BLOCK, enabled=False)})
    before = sorted(tmp_path.rglob("*"))
    with PersistenceManager.from_config_file(p) as pm:
        assert not pm.enabled
        assert pm.recover_state() is False
        book = pm.order_book("BTC-USD", tick_size="0.5")
        assert book.journal is None and book.tick_size == "0.5"
        assert pm.order_book("BTC-USD") is book
        book.add_order(1, "buy", 10, 1)
        assert pm.snapshot("BTC-USD") is None and pm.snapshot_all() == {}
        assert pm.perform_maintenance().summary().startswith("0 snapshots taken")
        assert pm.get_journal("BTC-USD") is None and pm.get_snapshot_manager("BTC-USD") is None
        assert not pm.has_recovered_order_books()
    assert sorted(tmp_path.rglob("*")) == before
    assert not (tmp_path / "data").exists()


def test_journal_sizes_reach_the_managers_journals(tmp_path: Path) -> None:
    config = PersistenceConfig(journal_initial_size=16384, journal_growth_step=8192, snapshot_interval_min=0)
    with PersistenceManager(tmp_path, config) as pm:
        book = pm.order_book("BTC-USD")
        journal = pm.get_journal("BTC-USD")
        assert journal is not None and journal.size_bytes == 16384
        i = 0
        while journal.size_bytes == 16384:
            i += 1
            book.add_order(f"o{i}", "buy", "1.00", 1)
        # Doubling would give 32768: the step caps the growth at 8192 bytes.
        assert journal.size_bytes == 16384 + 8192
