"""Plain data types returned by the Rust core."""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

import numpy as np
import numpy.typing as npt


class EntryArray(NamedTuple):
    """Journal entries as numpy columns, one row per entry (``Journal.read_array``).

    ``payload`` is 2-D ``uint8``: row ``i`` holds entry ``i``'s payload in its first
    ``length[i]`` bytes, zero-padded to the longest payload.
    """

    seq: npt.NDArray[np.uint64]
    kind: npt.NDArray[np.uint16]
    timestamp_ns: npt.NDArray[np.int64]
    flags: npt.NDArray[np.uint16]
    length: npt.NDArray[np.uint32]
    payload: npt.NDArray[np.uint8]

    def __len__(self) -> int:  # the number of entries, not of columns
        return int(self.seq.shape[0])

    def payload_bytes(self, i: int) -> bytes:
        """Entry ``i``'s payload, unpadded."""
        return bytes(self.payload[i, : int(self.length[i])])


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
