"""Checkpoint files and the manifest of one pipeline.

Layout of a checkpoint directory (0700; every file 0600, each written with
:func:`pinnacle.paths.write_atomic`: temp file, fsync, rename, directory fsync):

* ``ckpt-{seq:08d}.levels.parquet``: the book, one row per level (side, price, size as
  exact decimal texts); key-value metadata: format version, symbol, book checksum.
* ``ckpt-{seq:08d}.state.parquet``: one row of scalars (events, input file and offset,
  last update id / local timestamp...) and JSON columns (engine state, gaps, drift);
  metadata: format version, symbol, SHA-256 of the JSON engine state. Its ``inputs_json``
  column (and the manifest entry's ``inputs``) identifies the input bytes consumed
  (see :mod:`pinnacle.pipeline._identity`): resume on other inputs is refused.
* ``manifest.json``: written last. A checkpoint exists only once an entry names it (sizes
  and SHA-256 digests of both files). Older files are deleted only after a manifest that no
  longer names them is durable.

Resume takes the newest entry whose files verify, else the one before (each rejection
logged with its reason). A manifest that does not parse is rebuilt from the newest
checkpoint files that verify on their own metadata.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pinnacle._core import EngineCapture, l2_checksum
from pinnacle.errors import InvalidArgumentError
from pinnacle.paths import fsync_dir, make_private_dir, remove_stray_temps, write_atomic
from pinnacle.pipeline._args import count
from pinnacle.pipeline._arrow import arrow, from_parquet_bytes, to_parquet_bytes
from pinnacle.pipeline._identity import differences, identify

_log = logging.getLogger("pinnacle.pipeline")

FORMAT_VERSION = "1"
MANIFEST = "manifest.json"
_FILE_RE = re.compile(r"ckpt-(\d{8})\.(levels|state)\.parquet")

Levels = list[tuple[str, str]]


@dataclass
class Restored:
    """A verified checkpoint: what the engine continues from."""

    seq: int
    entry: dict[str, Any]
    bids: Levels
    asks: Levels
    state_json: str
    load_ms: float


class CheckpointDamaged(Exception):
    """A checkpoint failed verification (internal: the previous one is tried)."""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _names(seq: int) -> tuple[str, str]:
    return f"ckpt-{seq:08d}.levels.parquet", f"ckpt-{seq:08d}.state.parquet"


class CheckpointStore:
    def __init__(self, directory: Path, symbol: str, fmt: str, keep: int) -> None:
        count("keep", keep)
        self.directory = directory
        self.symbol = symbol
        self.format = fmt
        self.keep = keep
        self.entries: list[dict[str, Any]] = []
        self._heads: dict[int, dict[str, Any]] = {}

    # -- writing (background thread) --------------------------------------------------

    def write(
        self, cap: EngineCapture, seq: int, files: list[str], sync_ms: float, sink_rows: int
    ) -> dict[str, Any]:
        """Persists capture ``cap`` as checkpoint ``seq`` and commits it in the manifest."""
        pa, _ = arrow()
        t0 = time.perf_counter()
        bids, asks = cap.levels()
        checksum = cap.checksum()
        levels = pa.table(
            {
                "side": ["bid"] * len(bids) + ["ask"] * len(asks),
                "price": [p for p, _ in bids] + [p for p, _ in asks],
                "size": [q for _, q in bids] + [q for _, q in asks],
            },
            schema=pa.schema([("side", pa.string()), ("price", pa.string()), ("size", pa.string())]),
        )
        meta = {"pinnacle.format_version": FORMAT_VERSION, "pinnacle.symbol": self.symbol}
        levels_bytes = to_parquet_bytes(levels, {**meta, "pinnacle.checksum": str(checksum)})
        state_json = cap.state_json()
        state = json.loads(state_json)
        file_index, offset = cap.position
        inputs = identify(
            files, min(file_index, len(files) - 1), offset if file_index < len(files) else 0, self._heads
        )
        row = {
            "symbol": self.symbol,
            "format": self.format,
            "seq": seq,
            "events_processed": cap.events_processed,
            "file_index": file_index,
            "file": files[file_index] if file_index < len(files) else "",
            "byte_offset": offset,
            "last_update_id": cap.last_update_id,
            "last_local_us": cap.last_local_us,
            "stale": bool(state["stale"]),
            "book_checksum": checksum,
            "sink_rows": sink_rows,
            "gap_count": int(state["gap_count"]),
            "gaps_json": json.dumps(state["gaps"]),
            "drift_json": json.dumps(state["drift"]),
            "engine_json": state_json,
            "inputs_json": json.dumps(inputs),
            "created_unix": time.time(),
        }
        state_table = pa.Table.from_pylist([row])
        state_bytes = to_parquet_bytes(
            state_table, {**meta, "pinnacle.checksum": _digest(state_json.encode())}
        )
        levels_name, state_name = _names(seq)
        write_atomic(self.directory / levels_name, levels_bytes)
        write_atomic(self.directory / state_name, state_bytes)
        entry = {
            "seq": seq,
            "events_processed": cap.events_processed,
            "file_index": file_index,
            "file": row["file"],
            "byte_offset": offset,
            "last_update_id": cap.last_update_id,
            "last_local_us": cap.last_local_us,
            "book_checksum": checksum,
            "sink_rows": sink_rows,
            "inputs": inputs,
            "levels_file": levels_name,
            "levels_size": len(levels_bytes),
            "levels_sha256": _digest(levels_bytes),
            "state_file": state_name,
            "state_size": len(state_bytes),
            "state_sha256": _digest(state_bytes),
            "checkpointed_size": len(levels_bytes) + len(state_bytes),
            "sync_duration_ms": sync_ms,
            "async_duration_ms": (time.perf_counter() - t0) * 1000,
            "created_unix": row["created_unix"],
        }
        self.entries.append(entry)
        self.entries = self.entries[-self.keep :]
        self._write_manifest(files)
        self._sweep()
        return entry

    def _write_manifest(self, files: list[str]) -> None:
        doc = {
            "format_version": int(FORMAT_VERSION),
            "symbol": self.symbol,
            "format": self.format,
            "inputs": files,
            "entries": self.entries,
        }
        write_atomic(self.directory / MANIFEST, json.dumps(doc, indent=1).encode())

    def _sweep(self) -> None:
        """Deletes checkpoint files the (durable) manifest does not name."""
        named = {e["levels_file"] for e in self.entries} | {e["state_file"] for e in self.entries}
        removed = False
        for name in os.listdir(self.directory):
            if _FILE_RE.fullmatch(name) and name not in named:
                (self.directory / name).unlink(missing_ok=True)
                removed = True
        if removed:
            fsync_dir(self.directory)

    # -- resume ---------------------------------------------------------------------------

    def load(self, files: list[str]) -> Restored | None:
        """The newest checkpoint that verifies (None: start from the beginning). Rewrites
        the manifest to end at it, so later checkpoints continue its numbering."""
        arrow()
        make_private_dir(self.directory)
        remove_stray_temps(self.directory)
        candidates = self._candidates()
        for entry in reversed(candidates):
            t0 = time.perf_counter()
            try:
                restored = self._verify(entry, files)
            except CheckpointDamaged as e:
                _log.warning("%s: checkpoint %d not used: %s", self.directory, entry["seq"], e)
                continue
            restored.load_ms = (time.perf_counter() - t0) * 1000
            kept = (
                [e for e in candidates if e["seq"] < restored.seq][-(self.keep - 1) :]
                if self.keep > 1
                else []
            )
            older = [c for e in kept if (c := self._complete(e, files)) is not None]
            self.entries = [*older, restored.entry]
            self._write_manifest(files)
            self._sweep()
            return restored
        if candidates:
            _log.warning("%s: no checkpoint verifies; starting from the beginning", self.directory)
        self.entries = []
        return None

    def _complete(self, entry: dict[str, Any], files: list[str]) -> dict[str, Any] | None:
        """``entry`` with every field (an entry rebuilt by :meth:`_scan` has only the file
        names): read from its files' metadata; None if they do not verify."""
        if "levels_sha256" in entry and "events_processed" in entry:
            return entry
        try:
            return self._verify(entry, files).entry
        except (CheckpointDamaged, InvalidArgumentError) as e:
            _log.warning("%s: checkpoint %d dropped: %s", self.directory, entry["seq"], e)
            return None

    def _candidates(self) -> list[dict[str, Any]]:
        path = self.directory / MANIFEST
        try:
            doc = json.loads(path.read_bytes())
            if not isinstance(doc, dict) or not isinstance(doc.get("entries"), list):
                raise ValueError("no entries list")
        except FileNotFoundError:
            doc = None
        except (ValueError, UnicodeDecodeError) as e:
            _log.warning("%s: manifest unreadable (%s); using the checkpoint files' own metadata", path, e)
            return self._scan()
        if doc is None:
            return self._scan() if any(_FILE_RE.fullmatch(n) for n in os.listdir(self.directory)) else []
        if doc.get("symbol") != self.symbol:
            raise InvalidArgumentError(
                f"{self.directory} holds checkpoints of symbol {doc.get('symbol')!r}, not {self.symbol!r}"
            )
        if doc.get("format") != self.format:
            raise InvalidArgumentError(
                f"{self.directory} holds checkpoints of format {doc.get('format')!r}, not {self.format!r}"
            )
        return [e for e in doc["entries"] if isinstance(e, dict) and isinstance(e.get("seq"), int)]

    def _scan(self) -> list[dict[str, Any]]:
        """Entries for the checkpoint files present (no manifest checksums to check)."""
        seqs = sorted({int(m.group(1)) for n in os.listdir(self.directory) if (m := _FILE_RE.fullmatch(n))})
        return [{"seq": s, "levels_file": _names(s)[0], "state_file": _names(s)[1]} for s in seqs]

    def _read(self, entry: dict[str, Any], which: str) -> tuple[bytes, Any]:
        name = entry[f"{which}_file"]
        try:
            data = (self.directory / name).read_bytes()
        except FileNotFoundError:
            raise CheckpointDamaged(f"{name} is missing") from None
        if f"{which}_size" in entry and (
            len(data) != entry[f"{which}_size"] or _digest(data) != entry[f"{which}_sha256"]
        ):
            raise CheckpointDamaged(f"{name}: size or SHA-256 differs from the manifest's")
        try:
            table: Any = from_parquet_bytes(data)
        except Exception as e:  # pyarrow raises several types for damaged files
            raise CheckpointDamaged(f"{name} is not readable Parquet: {e}") from None
        meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
        if meta.get("pinnacle.format_version") != FORMAT_VERSION:
            raise CheckpointDamaged(f"{name}: format version {meta.get('pinnacle.format_version')!r}")
        if meta.get("pinnacle.symbol") != self.symbol:
            raise CheckpointDamaged(
                f"{name} is of symbol {meta.get('pinnacle.symbol')!r}, not {self.symbol!r}"
            )
        return data, (table, meta)

    def _verify(self, entry: dict[str, Any], files: list[str]) -> Restored:
        ldata, (levels, lmeta) = self._read(entry, "levels")
        sdata, (state, smeta) = self._read(entry, "state")
        cols = levels.to_pydict()
        bids = [
            (p, q) for s, p, q in zip(cols["side"], cols["price"], cols["size"], strict=True) if s == "bid"
        ]
        asks = [
            (p, q) for s, p, q in zip(cols["side"], cols["price"], cols["size"], strict=True) if s == "ask"
        ]
        try:
            checksum = l2_checksum(bids, asks)
        except ValueError as e:
            raise CheckpointDamaged(f"{entry['levels_file']}: {e}") from None
        if str(checksum) != lmeta.get("pinnacle.checksum"):
            raise CheckpointDamaged(f"{entry['levels_file']}: book checksum differs from its metadata")
        rows = state.to_pylist()
        if len(rows) != 1:
            raise CheckpointDamaged(f"{entry['state_file']}: {len(rows)} state rows, not 1")
        row = rows[0]
        if _digest(row["engine_json"].encode()) != smeta.get("pinnacle.checksum"):
            raise CheckpointDamaged(f"{entry['state_file']}: state checksum differs from its metadata")
        if row["seq"] != entry["seq"] or row["format"] != self.format:
            raise CheckpointDamaged(f"{entry['state_file']}: seq or format differs from its name")
        fi = row["file_index"]
        if fi < len(files) and Path(files[fi]).name != Path(row["file"]).name:
            raise InvalidArgumentError(
                f"checkpoint {entry['seq']} was taken in input file {row['file']!r}, "
                f"but input {fi} is now {files[fi]!r}: the inputs changed"
            )
        if fi > len(files):
            raise InvalidArgumentError(f"checkpoint {entry['seq']} is in input {fi}; only {len(files)} given")
        if row.get("inputs_json"):  # absent in checkpoints written before it was recorded
            why = differences(json.loads(row["inputs_json"]), files)
            if why is not None:
                raise InvalidArgumentError(
                    f"{self.directory}: checkpoint {entry['seq']} was taken on other inputs: {why}; "
                    "to start fresh on these inputs, use another checkpoint directory (or delete this one)"
                )
        # An entry rebuilt from the files alone (torn manifest) gets every field back.
        full = dict(entry)
        for k in (
            "events_processed",
            "file_index",
            "file",
            "byte_offset",
            "last_update_id",
            "last_local_us",
            "book_checksum",
            "sink_rows",
            "created_unix",
        ):
            full.setdefault(k, row.get(k))
        if row.get("inputs_json"):
            full.setdefault("inputs", json.loads(row["inputs_json"]))
        full.setdefault("levels_size", len(ldata))
        full.setdefault("levels_sha256", _digest(ldata))
        full.setdefault("state_size", len(sdata))
        full.setdefault("state_sha256", _digest(sdata))
        full.setdefault("checkpointed_size", len(ldata) + len(sdata))
        return Restored(entry["seq"], full, bids, asks, row["engine_json"], 0.0)
