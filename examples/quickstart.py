"""pinnacle in one minute: journal some events, crash (a real ``kill -9``), reopen, see
what was recovered.

Run: python examples/quickstart.py [DATA_DIR]   (default: a temporary directory, removed after)
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

from pinnacle import Journal

FILL = struct.Struct("<q q d")  # order id, quantity (lots), price
KIND_FILL = 1


def write_then_crash(path: Path) -> None:
    """Journals 100,001 fills and a checkpoint, then dies by SIGKILL: no close, no flush."""
    j = Journal(path, sync="interval", sync_interval_ms=10)
    for i in range(1, 100_001):
        j.append(KIND_FILL, FILL.pack(i, 10 * i, 100.0 + i / 100))
    j.checkpoint(j.last_seq)
    last = j.append(KIND_FILL, FILL.pack(100_001, 5, 101.25))
    print(f"journaled {j.entry_count} entries (last seq {last}) to {path}; now kill -9", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def recover(path: Path) -> bool:
    """Reopens the journal the killed process left behind and checks every entry is there."""
    with Journal(path) as j:
        report = j.recovery_report
        print(f"reopened in {report.duration_s * 1e3:.1f} ms: {report.summary()}")
        arr = j.read_array()
        fills = [FILL.unpack(arr.payload_bytes(i)) for i in (0, len(arr) - 1)]
        print(f"recovered {len(arr)} entries, seq {int(arr.seq[0])}..{int(arr.seq[-1])}")
        print(f"first fill {fills[0]}, last fill {fills[1]}")
        cp = j.last_checkpoint
        print(f"last checkpoint at seq {cp.seq if cp else None}")
        return len(arr) == 100_002 and fills[1] == (100_001, 5, 101.25)


def run(data_dir: Path) -> bool:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "fills.journal"
    path.unlink(missing_ok=True)
    writer = subprocess.run([sys.executable, __file__, "--write-then-crash", str(path)], check=False)
    assert writer.returncode == -signal.SIGKILL, f"the writer should have been killed: {writer}"
    ok = recover(path)
    print("OK: every entry recovered" if ok else "MISMATCH")
    return ok


def main() -> None:
    if sys.argv[1:2] == ["--write-then-crash"]:
        write_then_crash(Path(sys.argv[2]))
    if len(sys.argv) > 1:
        ok = run(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory(prefix="pinnacle-") as tmp:
            ok = run(Path(tmp))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
