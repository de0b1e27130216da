"""Child process of the recovery benchmark: reopens one journal and prints, as JSON, how long
the open (scan + verify) took and this process's memory before and after.

Usage: python -m pinnacle.bench.reopen_child JOURNAL_PATH
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pinnacle

FIELDS = ("VmHWM", "VmRSS", "RssAnon", "RssFile")


def memory() -> dict[str, int]:
    """Peak and current RSS figures of this process, in bytes (from /proc/self/status)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in FIELDS:
            out[key] = int(value.split()[0]) * 1024
    return out


def main(path: str) -> None:
    before = memory()
    t0 = time.perf_counter_ns()
    journal = pinnacle.Journal(path)
    open_ns = time.perf_counter_ns() - t0
    after = memory()
    report = journal.recovery_report
    result = {
        "open_ns": open_ns,
        "entries": journal.entry_count,
        "clean": report.clean,
        "report_duration_s": report.duration_s,
        "before": before,
        "after": after,
    }
    journal.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
