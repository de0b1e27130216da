"""Shared fixtures. Hypothesis profiles: "fast" (default, CI) and "slow" (HYPOTHESIS_PROFILE=slow)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "fast", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "slow", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

pytest_plugins = ["scorecard"]

SMALL = {"initial_size": 8192, "growth_step": 4096}


@pytest.fixture
def jpath(tmp_path: Path) -> Path:
    return tmp_path / "test.journal"


def run_python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a fresh interpreter (the same one running the tests)."""
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Polls ``cond`` every 10 ms until it holds or ``timeout`` seconds pass; its last value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped: a temp file named after it is
    stale (its writer is gone)."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(proc.stdout)
