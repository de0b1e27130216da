"""Reading back: memory in proportion to the data, MemoryError instead of an abort,
timeouts that cannot panic, and positions (a saved one past the end, a compacted one)."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import SMALL

from pinnacle import EntriesCompactedError, InvalidArgumentError, Journal, JournalReader
from pinnacle.cli.journal_scan import list_entries

REPO = Path(__file__).resolve().parent.parent
MIB = 1 << 20

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")


def run_limited(jpath: Path, headroom_mib: int, body: str) -> subprocess.CompletedProcess[str]:
    """Runs `body` in a child that opened `jpath` (as `j`, and a reader `r`) and then capped
    its address space (RLIMIT_AS) at what it used plus `headroom_mib`."""
    script = textwrap.dedent(
        """
        import re, resource, sys
        import numpy as np
        from pinnacle import Journal, JournalReader
        j = Journal(sys.argv[1])
        r = JournalReader(sys.argv[1])
        used = int(re.search(r"VmSize:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) * 1024
        cap = used + {headroom} * (1 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        """
    ).format(headroom=headroom_mib) + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", script, str(jpath)], capture_output=True, text=True, timeout=300, cwd=REPO
    )


@linux_only
def test_one_large_and_many_small_entries_read_in_memory_proportional_to_the_data(jpath: Path) -> None:
    # The reported case: the payload column used to be entries x longest payload (41 GB),
    # and the failed allocation aborted the interpreter.
    big = bytes(range(256)) * 4096  # 1 MiB
    with Journal(jpath) as j:
        j.append(1, big)
        j.append_many(2, np.arange(40_000, dtype=np.uint64).view(np.uint8).reshape(40_000, 8))
    done = run_limited(
        jpath,
        64,
        """
        a = j.read_array()
        assert len(a) == 40_001 and a.data.nbytes == (1 << 20) + 320_000, (len(a), a.data.nbytes)
        assert a.offsets.tolist()[:3] == [0, 1 << 20, (1 << 20) + 8]
        assert a.payload_bytes(0) == bytes(range(256)) * 4096
        assert a.data[a.offsets[1]:].view(np.uint64).tolist() == list(range(40_000))
        assert a.length.tolist() == [1 << 20] + [8] * 40_000
        small = j.read_array(from_seq=2)
        assert small.payload.shape == (40_000, 8) and small.payload.base is not None  # a view
        try:
            a.payload  # the padded 2-D form would take 42 GB: asked for, it is refused
        except MemoryError:
            print("padded: MemoryError")
        print("ok")
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["padded:", "MemoryError", "ok"]


@linux_only
def test_a_read_larger_than_memory_raises_memory_error_and_the_handle_still_works(jpath: Path) -> None:
    with Journal(jpath) as j:
        for i in range(48):
            j.append(1, bytes([i]) * MIB)
    done = run_limited(
        jpath,
        16,
        """
        for what, call in [
            ("read_array", lambda: j.read_array()),
            ("read", lambda: list(j.read())),
            ("poll", lambda: r.poll()),
        ]:
            try:
                call()
                print(what, "returned")
            except MemoryError as e:
                print(what, "MemoryError", "out of memory" in str(e) or type(e).__name__)
        assert j.read_array(from_seq=48).payload_bytes(0) == bytes([47]) * (1 << 20)
        print("ok")
        """,
    )
    assert done.returncode == 0, done.stderr  # was -6 (SIGABRT)
    lines = done.stdout.splitlines()
    assert lines[-1] == "ok"
    assert [line.split()[:2] for line in lines[:3]] == [
        ["read_array", "MemoryError"],
        ["read", "MemoryError"],
        ["poll", "MemoryError"],
    ]
    assert lines[0] == "read_array MemoryError True"  # the core's message, not an abort


def test_entry_array_columns_and_padded_view(jpath: Path) -> None:
    with Journal(jpath, **SMALL) as j:
        j.append_many(1, [b"a", b"", b"ccc"])
        a = j.read_array()
        assert a.offsets.dtype == np.uint64 and a.data.dtype == np.uint8
        assert a.offsets.tolist() == [0, 1, 1, 4] and a.data.tobytes() == b"accc"
        assert a.payload.tolist() == [[97, 0, 0], [0, 0, 0], [99, 99, 99]]
        assert a.payload is a.payload  # built once
        assert [a.payload_bytes(i) for i in (0, 1, 2, -1)] == [b"a", b"", b"ccc", b"ccc"]
        with pytest.raises(IndexError):
            a.payload_bytes(3)
        assert repr(a) == "EntryArray(3 entries, seq 1..3, 4 payload bytes)"


@pytest.mark.parametrize("timeout", [1e19, 1e30, math.inf, float(2**64)])
def test_a_huge_wait_timeout_waits_for_an_entry_instead_of_panicking(jpath: Path, timeout: float) -> None:
    with Journal(jpath, **SMALL) as j, JournalReader(jpath) as r:
        j.append(1, b"there")
        assert [e.payload for e in r.wait(timeout)] == [b"there"]
        # Nothing there yet: it waits until an entry arrives (no deadline to overflow).
        later = threading.Thread(target=lambda: (time.sleep(0.05), j.append(1, b"later")))
        later.start()
        try:
            assert [e.payload for e in r.wait(timeout)] == [b"later"]
        finally:
            later.join()


@pytest.mark.parametrize("timeout", [math.nan, -1.0, -math.inf, -1e-9])
def test_a_nan_or_negative_wait_timeout_is_refused_naming_it(jpath: Path, timeout: float) -> None:
    with Journal(jpath, **SMALL), JournalReader(jpath) as r:
        with pytest.raises(InvalidArgumentError, match="timeout_s"):
            r.wait(timeout)


# `Duration::from_secs_f64` panics on a huge or NaN value and `Instant + Duration` on
# overflow: user-supplied numbers must go through `try_from_secs_f64` / `checked_add`.
# A sum capped on the same line (`.min(CONST)`) is bounded and allowed.
_UNCHECKED = [
    (re.compile(r"Duration::from_secs_f(32|64)\("), "use Duration::try_from_secs_f64"),
    (re.compile(r"Instant::now\(\)\s*[+-]"), "use Instant::checked_add / checked_sub"),
    (re.compile(r"\b(deadline|timeout|now)\s*[+-]\s*[a-z_]"), "use checked/saturating Instant arithmetic"),
]


def test_no_unchecked_duration_or_instant_arithmetic_in_the_rust_sources() -> None:
    found = []
    for src in sorted([*REPO.glob("rust/python/src/**/*.rs"), *REPO.glob("rust/core/src/**/*.rs")]):
        for n, line in enumerate(src.read_text().splitlines(), 1):
            code = line.split("//")[0]
            for pattern, fix in _UNCHECKED:
                if pattern.search(code) and ".min(" not in code:
                    found.append(f"{src.relative_to(REPO)}:{n}: {line.strip()}  ({fix})")
    assert not found, "\n".join(found)


def test_reader_resuming_past_the_end_returns_only_entries_from_its_position(jpath: Path) -> None:
    with Journal(jpath, **SMALL) as j:
        for i in range(1, 11):
            j.append(1, b"%d" % i)
        with JournalReader(jpath, from_seq=50) as r:
            assert r.next_seq == 50
            for i in range(11, 16):
                j.append(1, b"%d" % i)
            assert r.poll() == []  # was seqs 11..15
            assert r.wait(0.01) == []
            for i in range(16, 53):
                j.append(1, b"%d" % i)
            got = r.poll()
            assert [(e.seq, e.payload) for e in got] == [(50, b"50"), (51, b"51"), (52, b"52")]
            assert r.next_seq == 53


def test_reading_from_a_compacted_position_raises_everywhere(jpath: Path) -> None:
    with Journal(jpath, **SMALL) as j:
        for i in range(1, 101):
            j.append(1, b"%d" % i)
        assert j.compact(40) == 39
        for read in (
            lambda: list(j.read(from_seq=1)),
            lambda: j.read(from_seq=39),
            lambda: j.read_array(from_seq=1),
            lambda: JournalReader(jpath, from_seq=1),
        ):
            with pytest.raises(EntriesCompactedError, match="starts at seq 40"):
                read()
        assert [e.seq for e in j.read()][:1] == [40]  # from_seq 0: the oldest held
        assert [e.seq for e in j.read(from_seq=40)][:2] == [40, 41]
        assert j.read_array(from_seq=40).seq[0] == 40
        assert JournalReader(jpath, from_seq=40).next_seq == 40
        # Inspecting from before the compaction lists what is held from there on.
        rows, more = list_entries(jpath, from_seq=1, limit=2)
        assert [e.seq for e in rows] == [40, 41] and more


def test_a_compaction_that_overtakes_an_iteration_is_reported(jpath: Path) -> None:
    with Journal(jpath) as j:
        j.append_many(1, [b"x"] * 5000)
        it = j.read()
        assert next(it).seq == 1  # fetched a first batch (4096 entries)
        j.compact(4500)
        with pytest.raises(EntriesCompactedError, match="from seq 4097"):
            list(it)  # was: 4097..4499 silently skipped


def test_last_checkpoint_survives_compaction_that_keeps_it(jpath: Path) -> None:
    with Journal(jpath, **SMALL) as j:
        for i in range(10):
            j.append(1, b"%d" % i)
        j.checkpoint(10)
        j.append(1, b"after")
        j.compact(11)
        cp = j.last_checkpoint
        assert cp is not None and cp.seq == 11 and cp.is_checkpoint
        j.compact(12)
        assert j.last_checkpoint is None
