"""What the benchmarks know about the machine: hardware and software versions, the data
disk, the memory baseline, and counters of what else the machine was doing (other processes'
CPU, hypervisor steal, disk flushes)."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


def cpu_model() -> str:
    """The CPU model name (from /proc/cpuinfo)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def filesystem_of(path: Path) -> dict[str, str]:
    """Mount point, filesystem type and device holding ``path`` (from /proc/mounts)."""
    best = {"mount": "?", "fstype": "unknown", "device": "?"}
    real = str(path.resolve())
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return best
    for line in mounts:
        device, mount, fstype, *_ = line.split()
        inside = real == mount or real.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best["mount"].replace("?", "")):
            best = {"mount": mount, "fstype": fstype, "device": device}
    return best


def disk_of(path: Path) -> str | None:
    """The whole block device (e.g. ``vda`` for ``/dev/vda1``) holding ``path``, if it is
    one the kernel reports in /proc/diskstats."""
    name = Path(filesystem_of(path)["device"]).name
    node = Path("/sys/class/block") / name
    if not node.exists():
        return None
    if (node / "partition").exists():
        name = node.resolve().parent.name
    return name if disk_flushes(name) is not None else None


def disk_flushes(disk: str) -> int | None:
    """Flush requests completed by ``disk`` since boot (/proc/diskstats field 16, Linux 5.5+)."""
    for line in Path("/proc/diskstats").read_text().splitlines():
        parts = line.split()
        if parts[2] == disk and len(parts) >= 19:
            return int(parts[18])
    return None


def machine_info(data_dir: Path) -> dict[str, Any]:
    import sqlite3

    import pinnacle

    try:
        import lmdb

        lmdb_version = ".".join(map(str, lmdb.version()))
    except ImportError:
        lmdb_version = "not installed"
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "kernel": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "pinnacle": pinnacle.__version__,
        "pinnacle_build": pinnacle_build(),
        "sqlite": sqlite3.sqlite_version,
        "lmdb": lmdb_version,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "data_dir": str(data_dir),
        "data_fs": filesystem_of(data_dir),
        "data_disk": disk_of(data_dir),
    }


def pinnacle_build() -> str:
    """Which compiled core is loaded: file name, modification time and a hash prefix (another
    build installed mid-run would make the figures a mix of two builds)."""
    import hashlib

    from pinnacle import _core

    core = Path(_core.__file__)
    digest = hashlib.sha256(core.read_bytes()).hexdigest()[:12]
    stamp = datetime.datetime.fromtimestamp(core.stat().st_mtime).isoformat(timespec="seconds")
    return f"{core.name} built {stamp}, sha256 {digest}"


def memory_baseline(nbytes: int) -> dict[str, float]:
    """GB/s of ``np.ones`` on memory this process never touched, ``np.ones`` again after
    freeing it (pages recycled by the kernel) and a refill of the same buffer."""

    def gbps(fn: Callable[[], object]) -> float:
        t0 = time.perf_counter_ns()
        fn()
        return nbytes / (time.perf_counter_ns() - t0)

    first = gbps(lambda: np.ones(nbytes, dtype=np.uint8))  # the array is freed right away
    again = gbps(lambda: np.ones(nbytes, dtype=np.uint8))
    buf = np.ones(nbytes, dtype=np.uint8)
    refill = statistics.median(gbps(lambda: buf.fill(2)) for _ in range(3))
    return {"fresh_gbps": first, "recycled_gbps": again, "refill_gbps": refill, "bytes": nbytes}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


@dataclass(frozen=True)
class CpuSample:
    """A point-in-time reading of machine-wide and own CPU time (seconds)."""

    wall: float
    busy: float  # all CPUs, user + nice + system + irq + softirq
    steal: float  # time the hypervisor ran someone else
    own: float  # this process and its waited-for children

    @staticmethod
    def now() -> CpuSample:
        tick = os.sysconf("SC_CLK_TCK")
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
        t = os.times()
        return CpuSample(
            wall=time.monotonic(),
            busy=(user + nice + system + irq + softirq) / tick,
            steal=steal / tick,
            own=t.user + t.system + t.children_user + t.children_system,
        )

    def since(self, start: CpuSample) -> dict[str, float]:
        """Average cores used by other processes, and stolen, between ``start`` and this sample."""
        wall = max(self.wall - start.wall, 1e-9)
        other = (self.busy - start.busy) - (self.own - start.own)
        return {
            "other_cores": round(max(other, 0.0) / wall, 2),
            "steal_cores": round((self.steal - start.steal) / wall, 2),
        }
