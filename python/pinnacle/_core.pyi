"""Type stubs for the Rust extension module ``pinnacle._core``."""

import os
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Literal, final

import numpy as np
import numpy.typing as npt
from typing_extensions import Buffer, Self

from pinnacle._types import BookDepth, EntryArray, Side

__version__: str
BOOK_OP_KIND: int
"""Journal entry kind of book operations."""
BOOK_OP_NAMES: tuple[str, ...]
"""Book operation names, in tag order."""
VAULT_VERSION: int
"""The credential vault format version this build writes (and the newest it reads)."""
VAULT_HEADER_SIZE: int
"""Size of a vault file's header (its AES-GCM associated data): 52."""
VAULT_SALT_SIZE: int
VAULT_NONCE_SIZE: int
VAULT_TAG_SIZE: int
RATELIMIT_MAX_KEY_BYTES: int
"""The longest rate-limit key, in UTF-8 bytes."""

_Payloads = list[Buffer] | tuple[Buffer, ...] | npt.NDArray[np.uint8]

@final
class Entry:
    """One journal entry; ``payload`` is a copy that outlives the journal."""

    @property
    def seq(self) -> int: ...
    @property
    def kind(self) -> int: ...
    @property
    def timestamp_ns(self) -> int: ...
    @property
    def flags(self) -> int: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def is_checkpoint(self) -> bool: ...

@final
class RecoveryReport:
    """What opening a journal found and did."""

    @property
    def mode(self) -> str: ...
    @property
    def entries(self) -> int: ...
    @property
    def first_seq(self) -> int: ...
    @property
    def last_seq(self) -> int: ...
    @property
    def end_offset(self) -> int: ...
    @property
    def tail_cut_offset(self) -> int | None: ...
    @property
    def tail_cut_reason(self) -> str | None: ...
    @property
    def truncated_bytes(self) -> int: ...
    @property
    def dropped_entries(self) -> int: ...
    @property
    def skipped_ranges(self) -> list[tuple[int, int, str]]: ...
    @property
    def header_repaired(self) -> str | None: ...
    @property
    def scanned_bytes(self) -> int:
        """Bytes the opening scan read (entries and the written tail), not preallocated space."""
    @property
    def duration_s(self) -> float: ...
    @property
    def clean(self) -> bool: ...
    def summary(self) -> str: ...
    def as_dict(self) -> dict[str, object]: ...

@final
class EntryIterator:
    def __iter__(self) -> Self: ...
    def __next__(self) -> Entry: ...

@final
class Journal:
    """A memory-mapped, CRC32-checksummed, append-only journal.

    A new file is ``initial_size`` bytes; a full one grows by its own size, at most
    ``growth_step`` bytes at a time, trying smaller steps on a full disk before an append
    fails with ENOSPC. Both are rounded up to whole 4 KiB pages.
    """

    def __new__(
        cls,
        path: str | os.PathLike[str],
        *,
        sync: Literal["none", "interval", "always"] = "none",
        sync_interval_ms: int = 100,
        recovery: Literal["tolerate_tail", "absolute", "point_in_time", "skip_corrupted"] = "tolerate_tail",
        growth: Literal["auto", "remap"] = "auto",
        initial_size: int = 1048576,
        growth_step: int = 67108864,
        max_entry_size: int = 16777216,
    ) -> Self: ...
    def append(self, kind: int, payload: Buffer, timestamp_ns: int | None = None) -> int: ...
    def append_many(
        self, kind: int, payloads: _Payloads, timestamp_ns: int | None = None
    ) -> tuple[int, int]: ...
    def checkpoint(self, marker: Buffer | int) -> int: ...
    @property
    def last_checkpoint(self) -> Entry | None: ...
    def flush(self) -> None: ...
    def read(self, from_seq: int = 0) -> EntryIterator: ...
    def read_array(self, from_seq: int = 0) -> EntryArray: ...
    def compact(self, keep_from_seq: int) -> int: ...
    @property
    def journal_id(self) -> str | None:
        """The journal's random identity (32 hex digits); None for a format-1 journal."""
    @property
    def owned_by_book(self) -> bool:
        """True while an order book journals into it (direct appends are refused)."""
    @property
    def first_seq(self) -> int: ...
    @property
    def last_seq(self) -> int: ...
    @property
    def next_seq(self) -> int: ...
    @property
    def entry_count(self) -> int: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def data_bytes(self) -> int: ...
    @property
    def path(self) -> Path: ...
    @property
    def closed(self) -> bool: ...
    @property
    def poisoned(self) -> str | None: ...
    @property
    def sync(self) -> str: ...
    @property
    def recovery_report(self) -> RecoveryReport: ...
    def close(self, reason: str | None = None) -> None: ...
    def _abandon(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, _t: object, _v: object, _tb: object) -> bool: ...
    def __len__(self) -> int: ...

@final
class JournalReader:
    """A read-only tail of a journal that another process may be writing."""

    def __new__(cls, path: str | os.PathLike[str], from_seq: int = 0) -> Self: ...
    def poll(self, max_entries: int | None = None) -> list[Entry]: ...
    def wait(self, timeout_s: float, max_entries: int | None = None) -> list[Entry]: ...
    @property
    def next_seq(self) -> int: ...
    @property
    def path(self) -> Path: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, _t: object, _v: object, _tb: object) -> bool: ...

_Number = int | float | str | Decimal
_OrderId = int | str
_Side = Side | Literal["buy", "sell"]

@final
class Order:
    """A resting order (a copy)."""

    @property
    def order_id(self) -> _OrderId: ...
    @property
    def side(self) -> Literal["buy", "sell"]: ...
    @property
    def price(self) -> float: ...
    @property
    def quantity(self) -> float: ...
    @property
    def filled_quantity(self) -> float: ...
    @property
    def remaining_quantity(self) -> float: ...
    @property
    def timestamp_ns(self) -> int: ...

@final
class Fill:
    """One execution; ``side`` is the resting (maker) order's side."""

    @property
    def maker_order_id(self) -> _OrderId: ...
    @property
    def taker_order_id(self) -> _OrderId | None: ...
    @property
    def side(self) -> Literal["buy", "sell"]: ...
    @property
    def price(self) -> float: ...
    @property
    def quantity(self) -> float: ...
    @property
    def timestamp_ns(self) -> int: ...

@final
class SnapshotInfo:
    """Header fields of a validated snapshot."""

    @property
    def covered_seq(self) -> int: ...
    @property
    def created_ns(self) -> int: ...
    @property
    def symbol(self) -> str: ...
    @property
    def order_count(self) -> int: ...
    @property
    def journal_id(self) -> str | None: ...
    @property
    def tick_size(self) -> str | None: ...
    @property
    def lot_size(self) -> str | None: ...

@final
class OrderBook:
    """A limit order book: price-time priority, exact ticks and lots, write-ahead journaling."""

    def __new__(
        cls,
        symbol: str,
        tick_size: _Number | None = None,
        lot_size: _Number | None = None,
        *,
        journal: Journal | None = None,
    ) -> Self: ...
    def add_order(
        self,
        order_id: _OrderId,
        side: _Side,
        price: _Number,
        quantity: _Number,
        timestamp_ns: int | None = None,
    ) -> list[Fill]: ...
    def cancel_order(self, order_id: _OrderId, timestamp_ns: int | None = None) -> bool: ...
    def execute_order(
        self, order_id: _OrderId, quantity: _Number, timestamp_ns: int | None = None
    ) -> Fill: ...
    def execute_market_order(
        self, side: _Side, quantity: _Number, timestamp_ns: int | None = None
    ) -> list[Fill]: ...
    def modify_order(
        self,
        order_id: _OrderId,
        price: _Number | None = None,
        quantity: _Number | None = None,
        timestamp_ns: int | None = None,
    ) -> None: ...
    @property
    def best_bid(self) -> float | None: ...
    @property
    def best_ask(self) -> float | None: ...
    @property
    def spread(self) -> float | None: ...
    @property
    def mid_price(self) -> float | None: ...
    @property
    def order_count(self) -> int: ...
    @property
    def symbol(self) -> str: ...
    @property
    def tick_size(self) -> str: ...
    @property
    def lot_size(self) -> str: ...
    @property
    def journal(self) -> Journal | None: ...
    def get_order(self, order_id: _OrderId) -> Order | None: ...
    def orders(self) -> list[Order]: ...
    def depth(self, levels: int) -> BookDepth: ...
    def attach_journal(self, journal: Journal) -> None: ...
    def copy(self) -> OrderBook: ...
    def snapshot_bytes(self, created_ns: int | None = None) -> tuple[bytes, int]: ...
    def replay_journal(self, journal: Journal, from_seq: int) -> int: ...
    @staticmethod
    def from_snapshot(
        data: Buffer, tick_size: _Number, lot_size: _Number
    ) -> tuple[OrderBook, SnapshotInfo]: ...
    def __len__(self) -> int: ...

@final
class ShadowBook:
    """The snapshot pipeline's own copy of a book, fed from the journal file."""

    def __new__(
        cls, base: OrderBook, journal_path: str | os.PathLike[str] | Journal, from_seq: int
    ) -> Self: ...
    def catch_up(self, until_seq: int | None = None) -> int: ...
    def snapshot_bytes(
        self, created_ns: int | None = None, until_seq: int | None = None
    ) -> tuple[memoryview, int]: ...
    @property
    def seq(self) -> int: ...
    def close(self) -> None: ...

# On-disk formats, decoded in Rust (pinnacle inspect/verify, snapshot manager).

@final
class JournalHeaderSlot:
    """One header slot of a journal file; numeric fields are 0 unless it is valid."""

    @property
    def index(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def state(self) -> Literal["valid", "blank", "damaged"]: ...
    @property
    def error(self) -> str | None: ...
    @property
    def version(self) -> int: ...
    @property
    def generation(self) -> int: ...
    @property
    def first_seq(self) -> int: ...
    @property
    def durable_end(self) -> int: ...
    @property
    def created_ns(self) -> int: ...
    @property
    def max_entry_size(self) -> int: ...
    @property
    def journal_id(self) -> str | None: ...

@final
class JournalHeader:
    """Both header slots of a journal file and the one in force."""

    @property
    def slots(self) -> list[JournalHeaderSlot]: ...
    @property
    def current(self) -> JournalHeaderSlot | None: ...
    @property
    def data_start(self) -> int: ...

@final
class JournalTail:
    """The bytes of a journal file from an offset on."""

    @property
    def file_size(self) -> int: ...
    @property
    def first_nonzero(self) -> int | None: ...
    @property
    def nonzero_end(self) -> int: ...
    @property
    def damage(self) -> str | None: ...
    @property
    def next_valid(self) -> tuple[int, int] | None: ...

@final
class SnapshotHeader:
    """The header of a snapshot, read but not verified (the CRC covers the whole file)."""

    @property
    def version(self) -> int: ...
    @property
    def symbol(self) -> str: ...
    @property
    def covered_seq(self) -> int: ...
    @property
    def created_ns(self) -> int: ...
    @property
    def order_count(self) -> int: ...
    @property
    def journal_id(self) -> str | None: ...
    @property
    def tick_size(self) -> str | None: ...
    @property
    def lot_size(self) -> str | None: ...

def read_journal_header(path: str | os.PathLike[str]) -> JournalHeader: ...
def examine_journal_tail(
    path: str | os.PathLike[str], offset: int, expected_seq: int, max_entry_size: int
) -> JournalTail: ...
def journal_entry_size(payload_len: int) -> int: ...
def decode_book_op(payload: Buffer) -> dict[str, int | str | None]: ...
def peek_snapshot_header(source: Buffer | str | os.PathLike[str]) -> SnapshotHeader: ...
def snapshot_checksum_ok(source: Buffer | str | os.PathLike[str]) -> bool: ...
def snapshot_marker(covered_seq: int, created_ns: int) -> bytes: ...
def decode_snapshot_marker(payload: Buffer) -> tuple[int, int | None] | None: ...
def file_format(path: str | os.PathLike[str]) -> Literal["journal", "snapshot"] | None: ...
def entry_kinds() -> dict[str, int]:
    """Every registered journal entry kind, name to number (the registry is Rust's)."""

def kind_ranges() -> dict[str, tuple[int, int]]:
    """The reserved entry-kind ranges, name to (first, last), both included."""

def kind_name(kind: int) -> str:
    """A kind's name for people: the registered name, else what its range says of it."""

def write_atomic(path: str | os.PathLike[str], data: Buffer, mode: int = 0o600) -> None:
    """Writes ``data`` to ``path`` atomically and durably (temp, write, fsync, rename,
    directory fsync); the file gets ``mode`` less the umask."""

def remove_stale_temps(directory: str | os.PathLike[str]) -> list[str]:
    """Removes the temp files of interrupted atomic writes whose writer is gone."""

def is_temp_name(name: str) -> bool: ...
def fsync_dir(directory: str | os.PathLike[str]) -> None: ...
def canonical_grid(tick_size: _Number, lot_size: _Number) -> tuple[str, str]:
    """The canonical ``(tick_size, lot_size)`` texts, as an OrderBook reports them."""

def encode_symbol_meta(symbol: str, tick_size: _Number, lot_size: _Number) -> bytes: ...
def decode_symbol_meta(data: bytes, symbol: str, path: str | os.PathLike[str]) -> tuple[str, str, bool]: ...

# The security layer's byte layouts (pinnacle-security, rust/security).
def check_vault_kdf(memory_kib: int, time_cost: int, parallelism: int) -> None:
    """InvalidArgumentError naming the first Argon2id cost outside the vault format's bounds."""

def encode_vault_header(
    memory_kib: int, time_cost: int, parallelism: int, salt: Buffer, nonce: Buffer
) -> bytes:
    """The 52-byte vault header (the AES-GCM associated data)."""

def decode_vault_header(data: Buffer, path: str) -> tuple[int, int, int, bytes, bytes]:
    """(memory_kib, time_cost, parallelism, salt, nonce) of the vault file ``data``;
    VaultError naming ``path`` if this build cannot read it."""

def encode_rate_consumption(t_ns: int, cost: int, key: str) -> bytes:
    """The payload of a ``ratelimit.consume`` entry."""

def decode_rate_consumption(payload: Buffer) -> tuple[int, int, str]:
    """(t_ns, cost, key) of a ``ratelimit.consume`` payload; CorruptionError if it is not one."""

def encode_backup_entries(entries: Iterable[Entry]) -> tuple[bytes, int | None]:
    """An incremental backup's entry stream for ``entries`` and the last seq (None: none)."""

def decode_backup_entries(blob: Buffer) -> list[tuple[int, int, int, bytes]]:
    """(seq, kind, timestamp_ns, payload) of each entry; CorruptionError if malformed."""

def _crash_atomic_writes_at(point: Literal["written", "synced", "renamed"] | None) -> None: ...
def _inject_fault(call: str, errno: int, times: int | None = None, after: int = 0) -> None: ...
def _clear_faults() -> None: ...
def _track_durability(on: bool) -> None: ...
def _durable_image(path: str | os.PathLike[str]) -> bytes | None: ...

__all__ = [
    "BOOK_OP_KIND",
    "BOOK_OP_NAMES",
    "RATELIMIT_MAX_KEY_BYTES",
    "VAULT_HEADER_SIZE",
    "VAULT_NONCE_SIZE",
    "VAULT_SALT_SIZE",
    "VAULT_TAG_SIZE",
    "VAULT_VERSION",
    "Entry",
    "EntryIterator",
    "Fill",
    "Journal",
    "JournalHeader",
    "JournalHeaderSlot",
    "JournalReader",
    "JournalTail",
    "Order",
    "OrderBook",
    "RecoveryReport",
    "ShadowBook",
    "SnapshotHeader",
    "SnapshotInfo",
    "__version__",
    "_clear_faults",
    "_crash_atomic_writes_at",
    "_durable_image",
    "_inject_fault",
    "_track_durability",
    "canonical_grid",
    "check_vault_kdf",
    "decode_backup_entries",
    "decode_book_op",
    "decode_rate_consumption",
    "decode_snapshot_marker",
    "decode_symbol_meta",
    "decode_vault_header",
    "encode_backup_entries",
    "encode_rate_consumption",
    "encode_symbol_meta",
    "encode_vault_header",
    "entry_kinds",
    "examine_journal_tail",
    "file_format",
    "fsync_dir",
    "is_temp_name",
    "journal_entry_size",
    "kind_name",
    "kind_ranges",
    "peek_snapshot_header",
    "read_journal_header",
    "remove_stale_temps",
    "snapshot_checksum_ok",
    "snapshot_marker",
    "write_atomic",
]
