"""pinnacle in one minute: journal some events, "crash", reopen, see what was recovered.

Run: python examples/quickstart.py [DATA_DIR]
"""

from __future__ import annotations

import struct
import sys
import tempfile
from pathlib import Path

from pinnacle import Journal

FILL = struct.Struct("<q q d")  # order id, quantity (lots), price
KIND_FILL = 1


def main() -> None:
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="pinnacle-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "fills.journal"

    j = Journal(path, sync="interval", sync_interval_ms=10)
    for i in range(1, 100_001):
        j.append(KIND_FILL, FILL.pack(i, 10 * i, 100.0 + i / 100))
    j.checkpoint(j.last_seq)
    last = j.append(KIND_FILL, FILL.pack(100_001, 5, 101.25))
    print(f"journaled {j.entry_count} entries (last seq {last}) to {path}")
    # Simulate a crash: drop the handle without closing (no final flush, no header update).
    j._abandon()

    with Journal(path) as j:
        report = j.recovery_report
        print(f"reopened in {report.duration_s * 1e3:.1f} ms: {report.summary()}")
        arr = j.read_array()
        fills = [FILL.unpack(bytes(arr.payload[i, : arr.length[i]])) for i in (0, len(arr) - 1)]
        print(f"recovered {len(arr)} entries, seq {int(arr.seq[0])}..{int(arr.seq[-1])}")
        print(f"first fill {fills[0]}, last fill {fills[1]}")
        cp = j.last_checkpoint
        print(f"last checkpoint at seq {cp.seq if cp else None}")
        ok = len(arr) == 100_002 and int(arr.seq[-1]) == last
        print("OK: every entry recovered" if ok else "MISMATCH")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
