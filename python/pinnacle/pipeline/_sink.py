"""ParquetSink: the pipeline's derived rows (top-N book samples every ``every_ms`` of
exchange time, and one row per gap) as Parquet part files.

Exactly-once rule: the rows produced up to checkpoint ``seq`` are written as
``part-{seq:08d}.parquet`` *before* that checkpoint's manifest entry; on resume from
checkpoint ``seq`` every part numbered above it is deleted (it holds rows the resumed run
produces again), so the parts always equal an uninterrupted run's, row for row.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from pinnacle.errors import InvalidArgumentError
from pinnacle.paths import fsync_dir, make_private_dir, write_atomic
from pinnacle.pipeline._arrow import arrow, from_parquet_bytes, to_parquet_bytes

_PART_RE = re.compile(r"part-(\d{8})\.parquet")

SinkRowTuple = tuple[str, int, int, bool, list[tuple[str, str]], list[tuple[str, str]], str | None]


class ParquetSink:
    """Writes derived rows under ``directory`` (created 0700; files 0600)."""

    def __init__(self, directory: str | os.PathLike[str], every_ms: int = 1000, levels: int = 10) -> None:
        if isinstance(every_ms, bool) or not isinstance(every_ms, int) or every_ms <= 0:
            raise InvalidArgumentError(f"every_ms must be a positive int, not {every_ms!r}")
        if isinstance(levels, bool) or not isinstance(levels, int) or not 1 <= levels <= 1000:
            raise InvalidArgumentError(f"levels must be an int in 1..1000, not {levels!r}")
        self.directory = Path(directory)
        self.every_ms = every_ms
        self.levels = levels

    def open(self) -> None:
        arrow()
        make_private_dir(self.directory)

    def parts(self) -> list[tuple[int, Path]]:
        """(seq, path) of every part file, in order."""
        out = []
        for name in os.listdir(self.directory):
            m = _PART_RE.fullmatch(name)
            if m:
                out.append((int(m.group(1)), self.directory / name))
        return sorted(out)

    def discard_after(self, seq: int) -> list[Path]:
        """Deletes the parts written after checkpoint ``seq`` (0: all); returns them."""
        removed = [p for s, p in self.parts() if s > seq]
        for p in removed:
            p.unlink(missing_ok=True)
        if removed:
            fsync_dir(self.directory)
        return removed

    def write_part(self, seq: int, rows: list[SinkRowTuple]) -> int:
        """Writes ``rows`` as part ``seq`` (nothing when empty); returns its size."""
        if not rows:
            return 0
        pa, _ = arrow()
        cols: dict[str, list[Any]] = {"kind": [], "ts_ms": [], "events": [], "stale": [], "gap": []}
        for side in ("bid", "ask"):
            for i in range(1, self.levels + 1):
                cols[f"{side}_price_{i}"] = []
                cols[f"{side}_size_{i}"] = []
        for kind, ts_ms, events, stale, bids, asks, gap in rows:
            cols["kind"].append(kind)
            cols["ts_ms"].append(ts_ms)
            cols["events"].append(events)
            cols["stale"].append(stale)
            cols["gap"].append(gap)
            for side, levels in (("bid", bids), ("ask", asks)):
                for i in range(self.levels):
                    p, q = levels[i] if i < len(levels) else (None, None)
                    cols[f"{side}_price_{i + 1}"].append(p)
                    cols[f"{side}_size_{i + 1}"].append(q)
        schema = pa.schema(
            [
                ("kind", pa.string()),
                ("ts_ms", pa.int64()),
                ("events", pa.int64()),
                ("stale", pa.bool_()),
                ("gap", pa.string()),
                *[(name, pa.string()) for name in cols if "_price_" in name or "_size_" in name],
            ]
        )
        table = pa.table(cols, schema=schema)
        data = to_parquet_bytes(table, {"pinnacle.sink_version": "1", "pinnacle.seq": str(seq)})
        write_atomic(self.directory / f"part-{seq:08d}.parquet", data)
        return len(data)

    def read_rows(self) -> list[dict[str, Any]]:
        """Every row of every part, in order (for checks and tools)."""
        rows: list[dict[str, Any]] = []
        for _, path in self.parts():
            table: Any = from_parquet_bytes(path.read_bytes())
            rows.extend(table.to_pylist())
        return rows

    def describe(self) -> dict[str, Any]:
        return {"directory": str(self.directory), "every_ms": self.every_ms, "levels": self.levels}


def gap_of(row: dict[str, Any]) -> dict[str, Any] | None:
    """The gap record of a sink row, or None."""
    g = row.get("gap")
    return json.loads(g) if g else None
