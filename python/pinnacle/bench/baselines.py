"""The stores being compared: pinnacle and the peers a Python user would otherwise reach for.

Every store journals the same logical record, a 64-byte payload with a sequence number, a
wall-clock timestamp (taken at append time, as pinnacle does) and a kind, and offers:

- ``append(kind, payload) -> seq``: one record;
- ``append_many(kind, rows)``: the store's bulk path for a (N, 64) uint8 array;
- ``commit()``: make everything appended readable (flush, commit; never an fsync unless
  the store is the durable variant);
- ``read_bulk() -> int``: the store's fastest read of everything into Python/numpy;
- ``read_iter()``: a Python-level iteration over all records;
- ``close()``.

The durable variants (``durable=True``) make every ``append`` durable before returning.
"""

from __future__ import annotations

import mmap
import os
import sqlite3
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import repeat
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

import pinnacle
from pinnacle.bench.harness import KIND, MIB, PAYLOAD, PAYLOAD_SIZE

Rows = npt.NDArray[np.uint8]

# The record the peers store: seq u64, timestamp i64, kind u16, payload (82 bytes, packed).
RECORD = struct.Struct(f"<QqH{PAYLOAD_SIZE}s")
RECORD_DTYPE = np.dtype([("seq", "<u8"), ("ts", "<i8"), ("kind", "<u2"), ("payload", "u1", (PAYLOAD_SIZE,))])


class Store(Protocol):
    def append(self, kind: int, payload: bytes) -> int: ...
    def append_many(self, kind: int, rows: Rows) -> None: ...
    def commit(self) -> None: ...
    def read_bulk(self) -> int: ...
    def read_iter(self) -> Iterator[Any]: ...
    def close(self) -> None: ...


def record_array(dtype: np.dtype[Any], first_seq: int, kind: int, rows: Rows) -> np.ndarray:
    """Records for ``rows`` in a structured array of ``dtype`` (fields seq, ts, kind,
    payload; any other field is left zero), stamped with the current time."""
    rec = np.zeros(len(rows), dtype=dtype)
    rec["seq"] = np.arange(first_seq, first_seq + len(rows), dtype=np.uint64)
    rec["ts"] = time.time_ns()
    rec["kind"] = kind
    rec["payload"] = rows
    return rec


class PinnacleLog:
    """A pinnacle Journal behind the common interface. ``append`` is the journal's own bound
    method, so timing it adds no Python frame."""

    def __init__(self, path: Path, **options: Any) -> None:
        self.journal = pinnacle.Journal(path, **options)
        self.append = self.journal.append

    def append_many(self, kind: int, rows: Rows) -> None:
        self.journal.append_many(kind, rows)

    def commit(self) -> None:
        """Nothing to do: pinnacle's reads see every completed append."""

    def read_bulk(self) -> int:
        return len(self.journal.read_array())

    def read_iter(self) -> Iterator[Any]:
        return self.journal.read()

    def close(self) -> None:
        self.journal.close()


class TimingFloor:
    """No store at all: ``append`` only takes the payload's length. Timed the same way as the
    stores, it shows what the machine and the timer add to any call (interrupts, hypervisor
    exits): no method's tail can be measured below this one's."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def append(self, kind: int, payload: bytes) -> int:
        return len(payload)

    def close(self) -> None:
        pass


class BufferedFileLog:
    """``f.write(struct.pack(...))`` on a file opened 'wb' (default buffering)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._f = open(path, "wb")
        self._write = self._f.write
        self._seq = 0

    def append(self, kind: int, payload: bytes) -> int:
        self._seq += 1
        self._write(RECORD.pack(self._seq, time.time_ns(), kind, payload))
        return self._seq

    def append_many(self, kind: int, rows: Rows) -> None:
        self._write(record_array(RECORD_DTYPE, self._seq + 1, kind, rows).data)
        self._seq += len(rows)

    def commit(self) -> None:
        self._f.flush()

    def read_bulk(self) -> int:
        return len(np.fromfile(self._path, dtype=RECORD_DTYPE))

    def read_iter(self) -> Iterator[Any]:
        return RECORD.iter_unpack(self._path.read_bytes())

    def close(self) -> None:
        self._f.close()


class FdatasyncLog:
    """The bare durable baseline: ``os.write`` of the record then ``os.fdatasync``, on a file
    opened O_APPEND (``prealloc=False``), or ``os.pwrite`` into a file preallocated with
    zeros and fsynced first (``prealloc=True``: no file-size change per record; the writes
    wrap around at ``size``)."""

    def __init__(self, path: Path, *, prealloc: bool = False, size: int = 4 * MIB) -> None:
        flags = os.O_WRONLY | os.O_CREAT | (0 if prealloc else os.O_APPEND)
        self._fd = os.open(path, flags, 0o644)
        if prealloc:
            for off in range(0, size, MIB):
                os.pwrite(self._fd, bytes(MIB), off)
            os.fsync(self._fd)
        self._prealloc = prealloc
        self._size = size
        self._seq = 0

    def append(self, kind: int, payload: bytes) -> int:
        self._seq += 1
        rec = RECORD.pack(self._seq, time.time_ns(), kind, payload)
        if self._prealloc:
            os.pwrite(self._fd, rec, (self._seq - 1) * RECORD.size % self._size)
        else:
            os.write(self._fd, rec)
        os.fdatasync(self._fd)
        return self._seq

    def close(self) -> None:
        os.close(self._fd)


class GroupCommitLog:
    """A pure-Python group commit over ``os.write`` + ``os.fdatasync`` (O_APPEND file), for
    threads sharing one log: a writer whose record is not yet durable either becomes the
    leader (syncs everything written so far, outside the lock, then wakes all) or waits for
    the leader in flight. Shows what plain Python threads can get from grouping."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._done = threading.Condition()
        self._seq = 0  # records written
        self._durable = 0  # records covered by a completed fdatasync
        self._leader = False

    def append(self, kind: int, payload: bytes) -> int:
        with self._done:
            seq = self._seq = self._seq + 1
            os.write(self._fd, RECORD.pack(seq, time.time_ns(), kind, payload))
            while self._durable < seq:
                if self._leader:
                    self._done.wait()
                    continue
                self._leader, covered = True, self._seq
                self._done.release()
                try:
                    os.fdatasync(self._fd)
                finally:
                    self._done.acquire()
                    self._leader = False
                    self._done.notify_all()  # on failure too: a waiter takes over
                self._durable = max(self._durable, covered)
        return seq

    def close(self) -> None:
        os.close(self._fd)


class MmapJournal:
    """A clean pure-Python journal: records ``len u32 | crc32 u32 | seq u64 | ts i64 |
    kind u16 | payload`` (the CRC covers everything after it) in an ``mmap`` over a
    preallocated file, grown by re-mapping; a zero length ends the log."""

    HEAD = struct.Struct("<II")
    META = struct.Struct("<QqH")
    DTYPE = np.dtype(
        [
            ("len", "<u4"),
            ("crc", "<u4"),
            ("seq", "<u8"),
            ("ts", "<i8"),
            ("kind", "<u2"),
            ("payload", "u1", (PAYLOAD_SIZE,)),
        ]
    )

    def __init__(self, path: Path, initial_size: int = 256 * MIB, growth_step: int = 64 * MIB) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        self._step = growth_step
        self._map(initial_size)
        self._pos = 0
        self._seq = 0

    def _map(self, size: int) -> None:
        os.ftruncate(self._fd, size)
        self._size = size
        self._mm = mmap.mmap(self._fd, size)

    def _reserve(self, end: int) -> None:
        if end > self._size:
            self._mm.close()
            self._map(-(-end // self._step) * self._step)

    def append(self, kind: int, payload: bytes) -> int:
        seq = self._seq = self._seq + 1
        body = self.META.pack(seq, time.time_ns(), kind) + payload
        pos = self._pos
        end = pos + 8 + len(body)
        self._reserve(end)
        mm = self._mm
        mm[pos + 8 : end] = body
        self.HEAD.pack_into(mm, pos, len(body), zlib.crc32(body))
        self._pos = end
        return seq

    def append_many(self, kind: int, rows: Rows) -> None:
        rec = record_array(self.DTYPE, self._seq + 1, kind, rows)
        size = self.DTYPE.itemsize
        rec["len"] = size - 8
        view = rec.data.cast("B")
        rec["crc"] = [zlib.crc32(view[i + 8 : i + size]) for i in range(0, len(view), size)]
        end = self._pos + len(view)
        self._reserve(end)
        self._mm[self._pos : end] = view
        self._pos = end
        self._seq += len(rows)

    def commit(self) -> None:
        """Nothing to do: the mapping is shared."""

    def read_iter(self) -> Iterator[tuple[int, int, int, bytes]]:
        mm, head, meta, crc32 = self._mm, self.HEAD, self.META, zlib.crc32
        pos = 0
        while pos + 8 <= self._size:
            length, crc = head.unpack_from(mm, pos)
            if length == 0:
                return
            body = mm[pos + 8 : pos + 8 + length]
            if crc32(body) != crc:
                raise ValueError(f"checksum mismatch at offset {pos}")
            yield (*meta.unpack_from(body), body[meta.size :])
            pos += 8 + length

    def read_bulk(self) -> int:
        """Verifies every record, then builds a (N, 64) payload array."""
        payloads = [rec[3] for rec in self.read_iter()]
        return len(np.frombuffer(b"".join(payloads), dtype=np.uint8).reshape(len(payloads), -1))

    def close(self) -> None:
        self._mm.close()
        os.close(self._fd)


class SqliteLog:
    """sqlite3 in WAL mode, ``INSERT`` of (seq, ts, kind, payload blob) through one cached
    prepared statement. ``durable=False``: synchronous=OFF, one open transaction;
    ``durable=True``: synchronous=FULL, a commit per record."""

    INSERT = "INSERT INTO log (seq, ts, kind, payload) VALUES (?, ?, ?, ?)"
    SELECT = "SELECT seq, ts, kind, payload FROM log ORDER BY seq"

    def __init__(self, path: Path, *, durable: bool = False) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
        self._db.execute("CREATE TABLE log (seq INTEGER PRIMARY KEY, ts INTEGER, kind INTEGER, payload BLOB)")
        self._durable = durable
        self._execute = self._db.cursor().execute  # reuses the statement cache entry
        self._seq = 0
        self._begin()

    def _begin(self) -> None:
        if not self._durable:
            self._db.execute("BEGIN")

    def append(self, kind: int, payload: bytes) -> int:
        self._seq += 1
        self._execute(self.INSERT, (self._seq, time.time_ns(), kind, payload))
        return self._seq

    def append_many(self, kind: int, rows: Rows) -> None:
        first = self._seq + 1
        self._seq += len(rows)
        seqs = range(first, self._seq + 1)
        self._db.executemany(self.INSERT, zip(seqs, repeat(time.time_ns()), repeat(kind), map(bytes, rows)))

    def commit(self) -> None:
        if not self._durable:
            self._db.execute("COMMIT")
            self._begin()

    def read_bulk(self) -> int:
        return len(self._db.execute(self.SELECT).fetchall())

    def read_iter(self) -> Iterator[Any]:
        return self._db.execute(self.SELECT)

    def close(self) -> None:
        if not self._durable:
            self._db.execute("COMMIT")
        self._db.close()


class LmdbLog:
    """py-lmdb, key = seq big-endian u64, value = the packed record, ``put(append=True)``
    (keys only grow). ``durable=False``: one open write transaction, no fsync on commit;
    ``durable=True``: a synced commit per record."""

    def __init__(self, path: Path, *, durable: bool = False) -> None:
        import lmdb

        self._env = lmdb.open(str(path), map_size=64 << 30, sync=durable, metasync=durable)
        self._durable = durable
        self._seq = 0
        self._txn = None if durable else self._env.begin(write=True)

    def append(self, kind: int, payload: bytes) -> int:
        seq = self._seq = self._seq + 1
        rec = RECORD.pack(seq, time.time_ns(), kind, payload)
        if self._txn is None:
            with self._env.begin(write=True) as txn:
                txn.put(seq.to_bytes(8, "big"), rec, append=True)
        else:
            self._txn.put(seq.to_bytes(8, "big"), rec, append=True)
        return seq

    def append_many(self, kind: int, rows: Rows) -> None:
        assert self._txn is not None, "bulk appends use the non-durable store"
        rec = record_array(RECORD_DTYPE, self._seq + 1, kind, rows)
        keys = rec["seq"].astype(">u8").tobytes()
        vals = rec.data.cast("B")
        size = RECORD_DTYPE.itemsize
        items = ((keys[8 * i : 8 * i + 8], vals[size * i : size * i + size]) for i in range(len(rows)))
        self._txn.cursor().putmulti(items, append=True)
        self._seq += len(rows)

    def commit(self) -> None:
        if self._txn is not None:
            self._txn.commit()
            self._txn = self._env.begin(write=True)

    def read_bulk(self) -> int:
        with self._env.begin() as txn:
            return len(list(txn.cursor().iternext()))

    def read_iter(self) -> Iterator[Any]:
        with self._env.begin(buffers=False) as txn:
            yield from txn.cursor()

    def close(self) -> None:
        if self._txn is not None:
            self._txn.commit()
        self._env.close()


def lmdb_missing() -> str | None:
    """Why the lmdb peer cannot run here, or None."""
    try:
        import lmdb  # noqa: F401
    except ImportError as e:
        return f"py-lmdb not importable ({e}); `pip install lmdb` to include it"
    return None


@dataclass(frozen=True)
class Method:
    """A named way of writing: ``open(path)`` makes the store; ``op(store)`` is the
    zero-argument call that is timed (default: ``store.append(KIND, PAYLOAD)``); ``missing``
    says why the method cannot run here (it is then skipped, with that note)."""

    key: str
    label: str
    open: Callable[[Path], Any]
    op: Callable[[Any], Callable[[], object]] = lambda store: partial(store.append, KIND, PAYLOAD)
    missing: str | None = None
