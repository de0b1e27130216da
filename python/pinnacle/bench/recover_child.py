"""Child process of the order-book benchmark: recovers a persistence directory and prints,
as JSON, how long ``recover_state()`` took, what it replayed and this process's peak RSS.

Usage: python -m pinnacle.bench.recover_child DATA_DIR
"""

from __future__ import annotations

import json
import sys
import time

from pinnacle import PersistenceConfig, PersistenceManager
from pinnacle.bench.reopen_child import memory


def main(data_dir: str) -> None:
    cfg = PersistenceConfig(journal_sync_mode="none", snapshot_interval_min=0)
    before = memory()
    t0 = time.perf_counter_ns()
    with PersistenceManager(data_dir, cfg, maintenance=False) as pm:
        pm.recover_state()
        ns = time.perf_counter_ns() - t0
        info = next(iter(pm.last_recovery.values()))
        orders = info.orders
        replayed = info.entries_replayed
    after = memory()
    print(json.dumps({"ns": ns, "orders": orders, "replayed": replayed, "before": before, "after": after}))


if __name__ == "__main__":
    main(sys.argv[1])
