"""System-call failures injected through the core's test hook."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SMALL

from pinnacle import Journal, JournalPoisonedError, PinnacleIOError, _core

pytestmark = pytest.mark.reliability("syscall")


@pytest.fixture(autouse=True)
def _clear() -> Iterator[None]:
    _core._clear_faults()
    yield
    _core._clear_faults()


def test_failed_fsync_poisons_the_handle_and_the_journal_recovers(jpath: Path) -> None:
    j = Journal(jpath, sync="always", **SMALL)
    j.append(1, b"durable")
    _core._inject_fault("fsync", errno.EIO, 1)
    with pytest.raises(PinnacleIOError) as first:
        j.append(1, b"unknown")
    assert first.value.errno == errno.EIO
    with pytest.raises(JournalPoisonedError) as later:
        j.append(1, b"refused")
    assert later.value.errno == errno.EIO and "sync failed" in str(later.value)
    assert j.poisoned
    with pytest.raises(JournalPoisonedError):
        j.flush()
    with pytest.raises(JournalPoisonedError):
        j.close()
    with Journal(jpath, **SMALL) as j2:
        payloads = [e.payload for e in j2.read()]
        assert payloads[0] == b"durable" and b"refused" not in payloads


def test_full_disk_on_growth_is_a_clean_oserror(jpath: Path) -> None:
    with Journal(jpath, **SMALL) as j:
        j.append(1, b"a" * 3000)
        _core._inject_fault("fallocate", errno.ENOSPC, None)
        with pytest.raises(OSError) as info:
            for _ in range(10):
                j.append(1, b"b" * 3000)
        assert info.value.errno == errno.ENOSPC
        n = j.entry_count
        _core._clear_faults()
        j.append(1, b"c")
        assert j.entry_count == n + 1


def test_unknown_fault_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown system call"):
        _core._inject_fault("unlink", errno.EIO, 1)
