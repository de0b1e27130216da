"""Plain data types returned by the Rust core."""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

import numpy as np
import numpy.typing as npt


class EntryArray:
    """Journal entries as numpy columns, one row per entry (``Journal.read_array``).

    ``seq``, ``kind``, ``timestamp_ns``, ``flags`` and ``length`` hold one value per
    entry. The payloads are stored back to back in the 1-D ``uint8`` array ``data``,
    without padding: entry ``i``'s payload is ``data[offsets[i]:offsets[i + 1]]``
    (``offsets`` has one more element than there are entries; ``payload_bytes(i)``
    returns it as ``bytes``). Memory is therefore proportional to the data, whatever the
    mix of payload sizes.

    ``payload`` is the same data as a 2-D ``uint8`` array, one row per entry: row ``i``
    holds entry ``i``'s payload in its first ``length[i]`` bytes, zero-padded to the
    longest payload. When every payload has the same length (fixed-size records) it is a
    view of ``data`` and costs nothing; otherwise it is built on first access, taking
    ``len(self) * length.max()`` bytes (``MemoryError`` if that cannot be had; use
    ``data``/``offsets`` for payloads of very different sizes).
    """

    __slots__ = ("_padded", "data", "flags", "kind", "length", "offsets", "seq", "timestamp_ns")

    seq: npt.NDArray[np.uint64]
    kind: npt.NDArray[np.uint16]
    timestamp_ns: npt.NDArray[np.int64]
    flags: npt.NDArray[np.uint16]
    length: npt.NDArray[np.uint32]
    offsets: npt.NDArray[np.uint64]
    data: npt.NDArray[np.uint8]
    _padded: npt.NDArray[np.uint8] | None

    def __init__(
        self,
        seq: npt.NDArray[np.uint64],
        kind: npt.NDArray[np.uint16],
        timestamp_ns: npt.NDArray[np.int64],
        flags: npt.NDArray[np.uint16],
        length: npt.NDArray[np.uint32],
        offsets: npt.NDArray[np.uint64],
        data: npt.NDArray[np.uint8],
    ) -> None:
        self.seq, self.kind, self.timestamp_ns, self.flags = seq, kind, timestamp_ns, flags
        self.length, self.offsets, self.data = length, offsets, data
        self._padded = None

    def __len__(self) -> int:  # the number of entries
        return int(self.seq.shape[0])

    def __repr__(self) -> str:
        n = len(self)
        seqs = f", seq {int(self.seq[0])}..{int(self.seq[-1])}" if n else ""
        return f"EntryArray({n} entries{seqs}, {int(self.data.shape[0])} payload bytes)"

    @property
    def payload(self) -> npt.NDArray[np.uint8]:
        """The payloads as a 2-D ``uint8`` array, zero-padded to the longest (see above)."""
        if self._padded is None:
            n = len(self)
            width = int(self.length.max()) if n else 0
            if n == 0 or int(self.length.min()) == width:
                self._padded = self.data.reshape(n, width)
            else:
                padded = np.zeros((n, width), dtype=np.uint8)
                # Row-major order of the mask's True cells is exactly the order of `data`.
                padded[np.arange(width) < self.length[:, None]] = self.data
                self._padded = padded
        return self._padded

    def payload_bytes(self, i: int) -> bytes:
        """Entry ``i``'s payload (``i`` may be negative, as for a list)."""
        n = len(self)
        j = i + n if i < 0 else i
        if not 0 <= j < n:
            raise IndexError(f"entry index {i} out of range for {n} entries")
        return self.data[int(self.offsets[j]) : int(self.offsets[j + 1])].tobytes()


class Side(str, Enum):
    """Order side; plain strings ``"buy"`` / ``"sell"`` are accepted everywhere too."""

    BUY = "buy"
    SELL = "sell"


class BookDepth(NamedTuple):
    """The best price levels of each side (``OrderBook.depth``), best first."""

    bid_price: npt.NDArray[np.float64]
    bid_quantity: npt.NDArray[np.float64]
    bid_count: npt.NDArray[np.int64]
    ask_price: npt.NDArray[np.float64]
    ask_quantity: npt.NDArray[np.float64]
    ask_count: npt.NDArray[np.int64]
