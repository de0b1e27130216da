"""Configuration of the persistence layer: the ``"persistence"`` block of ``default_config.json``.

The JSON format is the one of the crash recovery guide, plus ``journalSyncMode`` and
``ledgerSyncMode`` (the trading-state ledger's journal; ``"always"`` by default: ledger
operations are durable before they return)::

    {
      "persistence": {
        "enabled": true,
        "dataDirectory": "data",
        "journalSyncIntervalMs": 100,
        "journalSyncMode": "interval",
        "ledgerSyncMode": "always",
        "journalInitialSize": 1048576,
        "journalGrowthStep": 67108864,
        "snapshotIntervalMin": 15,
        "keepSnapshots": 5,
        "compactionThreshold": 1000000
      }
    }

Every key is optional (the values above are the defaults); an unknown key, a value of the
wrong type (``true`` is not an integer) or out of range raises :class:`ConfigError` naming
the key. ``snapshotIntervalMin`` may be fractional (``0.5`` = every 30 s) and ``0`` turns
periodic snapshots off. ``compactionThreshold`` counts journal *entries*.
``journalInitialSize`` is a new journal file's size in bytes; a full journal grows by its
own size, at most ``journalGrowthStep`` bytes at a time (smaller steps are tried before a
full disk fails an append). Both are rounded up to whole 4 KiB pages.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from pinnacle.errors import InvalidArgumentError

SyncMode = Literal["none", "interval", "always"]
"""How the journal makes appends durable (see ``Journal(sync=...)``)."""

SYNC_MODES: tuple[SyncMode, ...] = ("none", "interval", "always")

MAX_SYNC_INTERVAL_MS = 3_600_000
MAX_SNAPSHOT_INTERVAL_MIN = 1_000_000_000  # ~1900 years: a float of seconds stays exact
MIN_JOURNAL_SIZE = 4096
MAX_JOURNAL_STEP = 1 << 40
"""Bounds of ``journalInitialSize`` and ``journalGrowthStep`` (bytes), as ``Journal`` checks them."""


class ConfigError(InvalidArgumentError):
    """A persistence configuration value is unknown, of the wrong type or out of range.

    ``key`` names the offending JSON key (``"persistence.keepSnapshots"``), or is None
    when the document as a whole is wrong (unreadable JSON, not an object).
    """

    def __init__(self, message: str, key: str | None = None) -> None:
        """``message`` is prefixed with ``key`` when given."""
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key


# JSON key -> dataclass field, in the order of the guide.
_JSON_KEYS: dict[str, str] = {
    "enabled": "enabled",
    "dataDirectory": "data_directory",
    "journalSyncIntervalMs": "journal_sync_interval_ms",
    "journalSyncMode": "journal_sync_mode",
    "ledgerSyncMode": "ledger_sync_mode",
    "journalInitialSize": "journal_initial_size",
    "journalGrowthStep": "journal_growth_step",
    "snapshotIntervalMin": "snapshot_interval_min",
    "keepSnapshots": "keep_snapshots",
    "compactionThreshold": "compaction_threshold",
}
_FIELD_KEYS = {f: k for k, f in _JSON_KEYS.items()}


def _key(field: str) -> str:
    return f"persistence.{_FIELD_KEYS[field]}"


def _show(v: object) -> str:
    """``repr(v)``, bounded (an int beyond ``sys.get_int_max_str_digits()`` has no repr)."""
    try:
        text = repr(v)
    except ValueError:
        return f"an int of {v.bit_length()} bits" if isinstance(v, int) else f"a {type(v).__name__}"
    return text if len(text) <= 80 else f"{text[:77]}..."


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_in(field: str, v: object, lo: int, hi: int | None = None) -> None:
    if not _is_int(v):
        raise ConfigError(f"must be an integer, got {v!r} ({type(v).__name__})", _key(field))
    assert isinstance(v, int)
    if v < lo or (hi is not None and v > hi):
        bound = f">= {lo}" if hi is None else f"between {lo} and {hi}"
        raise ConfigError(f"must be {bound}, got {_show(v)}", _key(field))


@dataclass(frozen=True)
class PersistenceConfig:
    """The persistence settings (snake_case mirror of the JSON block), validated on creation.

    ``data_directory`` is kept as given; :class:`~pinnacle.PersistenceManager` resolves a
    relative one against the current working directory when it starts (as the original
    program did), never against the configuration file's directory.
    """

    enabled: bool = True
    """False: in-memory books only, no journal, and no file or directory is written."""
    data_directory: str | os.PathLike[str] = "data"
    """Base directory for ``journals/`` and ``snapshots/``."""
    journal_sync_interval_ms: int = 100
    """Period of the journal's background sync with ``journal_sync_mode="interval"``."""
    journal_sync_mode: SyncMode = "interval"
    """``"none"``, ``"interval"`` or ``"always"`` (see ``Journal(sync=...)``)."""
    ledger_sync_mode: SyncMode = "always"
    """The ledger journal's sync mode (``PersistenceManager.ledger``); same values."""
    journal_initial_size: int = 1 << 20
    """Size of a new journal file, bytes (``Journal(initial_size=...)``)."""
    journal_growth_step: int = 64 << 20
    """Largest growth of a full journal, bytes: it grows by its own size up to this."""
    snapshot_interval_min: float = 15
    """Minutes between periodic snapshots of every changed book (fractions allowed; 0 = off)."""
    keep_snapshots: int = 5
    """Snapshots retained per symbol (>= 1); older ones are deleted by rotation."""
    compaction_threshold: int = 1_000_000
    """A journal holding more entries than this is compacted by maintenance."""

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ConfigError(f"must be true or false, got {_show(self.enabled)}", _key("enabled"))
        d = self.data_directory
        if not isinstance(d, (str, os.PathLike)):
            raise ConfigError(
                f"must be a string, got {_show(d)} ({type(d).__name__})", _key("data_directory")
            )
        d = os.fspath(d)
        if not isinstance(d, str) or not d or "\0" in d:
            raise ConfigError(f"must be a non-empty path without NUL, got {d!r}", _key("data_directory"))
        object.__setattr__(self, "data_directory", d)
        _int_in("journal_sync_interval_ms", self.journal_sync_interval_ms, 1, MAX_SYNC_INTERVAL_MS)
        if not isinstance(self.journal_sync_mode, str) or self.journal_sync_mode not in SYNC_MODES:
            raise ConfigError(
                f"must be one of {', '.join(SYNC_MODES)}, got {_show(self.journal_sync_mode)}",
                _key("journal_sync_mode"),
            )
        if not isinstance(self.ledger_sync_mode, str) or self.ledger_sync_mode not in SYNC_MODES:
            raise ConfigError(
                f"must be one of {', '.join(SYNC_MODES)}, got {_show(self.ledger_sync_mode)}",
                _key("ledger_sync_mode"),
            )
        _int_in("journal_initial_size", self.journal_initial_size, MIN_JOURNAL_SIZE, MAX_JOURNAL_STEP)
        _int_in("journal_growth_step", self.journal_growth_step, MIN_JOURNAL_SIZE, MAX_JOURNAL_STEP)
        m: object = self.snapshot_interval_min
        if not isinstance(m, (int, float)) or isinstance(m, bool):
            raise ConfigError(f"must be a number of minutes, got {m!r}", _key("snapshot_interval_min"))
        if not 0 <= m <= MAX_SNAPSHOT_INTERVAL_MIN:  # NaN fails both comparisons
            raise ConfigError(
                f"must be between 0 and {MAX_SNAPSHOT_INTERVAL_MIN} minutes (0 = off), got {_show(m)}",
                _key("snapshot_interval_min"),
            )
        _int_in("keep_snapshots", self.keep_snapshots, 1)
        _int_in("compaction_threshold", self.compaction_threshold, 1)

    @property
    def snapshot_interval_s(self) -> float:
        """The snapshot interval in seconds (0.0 when periodic snapshots are off)."""
        return float(self.snapshot_interval_min) * 60.0

    @property
    def data_path(self) -> Path:
        """``data_directory`` made absolute against the current working directory."""
        return Path(os.path.abspath(os.fspath(self.data_directory)))

    @classmethod
    def from_dict(cls, mapping: Mapping[str, Any]) -> PersistenceConfig:
        """Builds a config from the ``"persistence"`` object (camelCase keys, all optional)."""
        if not isinstance(mapping, Mapping):
            raise ConfigError(f"must be a JSON object, got {type(mapping).__name__}", "persistence")
        kwargs: dict[str, Any] = {}
        for k, v in mapping.items():
            field = _JSON_KEYS.get(k) if isinstance(k, str) else None
            if field is None:
                raise ConfigError(f"unknown key (known keys: {', '.join(_JSON_KEYS)})", f"persistence.{k}")
            kwargs[field] = v
        return cls(**kwargs)

    @classmethod
    def from_json_file(cls, path: str | os.PathLike[str]) -> PersistenceConfig:
        """Reads a JSON configuration file and builds a config from its ``"persistence"``
        object. Other top-level keys (the rest of the program's configuration) are ignored.
        A missing file raises ``FileNotFoundError``; anything else wrong raises
        :class:`ConfigError`."""
        text = Path(path).read_text(encoding="utf-8")
        try:
            doc = json.loads(text, object_pairs_hook=_no_duplicates)
        except (ValueError, ConfigError) as e:
            raise ConfigError(f"{os.fspath(path)}: not valid JSON: {e}") from e
        if not isinstance(doc, dict):
            raise ConfigError(f"{os.fspath(path)}: the document must be a JSON object")
        if "persistence" not in doc:
            raise ConfigError(f"missing in {os.fspath(path)}", "persistence")
        return cls.from_dict(doc["persistence"])

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (camelCase keys), as :meth:`from_dict` reads it."""
        return {_FIELD_KEYS[f.name]: getattr(self, f.name) for f in fields(self)}


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ConfigError(f"duplicate key {k!r}")
        out[k] = v
    return out


__all__ = ["SYNC_MODES", "ConfigError", "PersistenceConfig", "SyncMode"]
