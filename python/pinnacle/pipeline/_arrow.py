"""pyarrow, imported on first use: ``import pinnacle`` works without it, and using the
pipeline's Parquet features without it raises one clear error naming the extra."""

from __future__ import annotations

from types import ModuleType

from pinnacle.errors import PinnacleError


class MissingDependencyError(PinnacleError, ImportError):
    """An optional dependency of the feature used is not installed."""


def arrow() -> tuple[ModuleType, ModuleType]:
    """``(pyarrow, pyarrow.parquet)``; raises :class:`MissingDependencyError` without them."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:
        raise MissingDependencyError(
            "pinnacle.pipeline writes Parquet through pyarrow, which is not installed: "
            "pip install 'pinnacle[pipeline]'"
        ) from e
    return pa, pq


def to_parquet_bytes(table: object, metadata: dict[str, str] | None = None) -> bytes:
    """``table`` (a pyarrow Table) as Snappy-compressed Parquet bytes, with ``metadata``
    added to the schema's key-value metadata."""
    pa, pq = arrow()
    if metadata:
        table = table.replace_schema_metadata(metadata)  # type: ignore[attr-defined]
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="snappy")
    return bytes(sink.getvalue().to_pybytes())


def from_parquet_bytes(data: bytes) -> object:
    """The pyarrow Table stored in Parquet ``data`` (single-threaded read)."""
    pa, pq = arrow()
    return pq.read_table(pa.BufferReader(data), use_threads=False)
