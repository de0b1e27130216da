"""RateLimiter: token bucket and sliding window whose budget survives restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pinnacle.errors import InvalidArgumentError
from pinnacle.security import AuditLog
from pinnacle.security.ratelimit import RateLimiter, SlidingWindow, TokenBucket

S = 1_000_000_000


class Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000 * S

    def __call__(self) -> int:
        return self.t


def test_token_bucket_and_sliding_window(tmp_path: Path) -> None:
    clock = Clock()
    pols = {"orders": TokenBucket(3, 1.0), "cancels": SlidingWindow(2, 10.0)}
    with RateLimiter(tmp_path / "rl.journal", pols, clock=clock) as rl:
        assert [rl.try_acquire("orders") for _ in range(4)] == [True, True, True, False]
        clock.t += S // 2
        assert not rl.try_acquire("orders") and rl.available("orders") == pytest.approx(0.5)
        clock.t += S // 2
        assert rl.try_acquire("orders")
        assert rl.try_acquire("cancels") and rl.try_acquire("cancels") and not rl.try_acquire("cancels")
        clock.t += 10 * S
        assert rl.try_acquire("cancels", 2) and not rl.try_acquire("cancels")
        with pytest.raises(InvalidArgumentError, match="no rate-limit policy"):
            rl.try_acquire("other")
        for bad in (0, -1, 1.5, True, 2**32):
            with pytest.raises(InvalidArgumentError):
                rl.try_acquire("orders", bad)  # type: ignore[arg-type]
    for make in (lambda: TokenBucket(0, 1), lambda: TokenBucket(1, -1), lambda: SlidingWindow(1.5, 1)):  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError):
            make()
    with pytest.raises(InvalidArgumentError):
        RateLimiter(tmp_path / "x.journal", {"k": "10/s"})  # type: ignore[dict-item]


def test_clean_restart_keeps_the_budget_exactly(tmp_path: Path) -> None:
    clock = Clock()
    pols = {"k": TokenBucket(10, 0.5)}
    with RateLimiter(tmp_path / "rl.journal", pols, clock=clock) as rl:
        for _ in range(7):
            assert rl.try_acquire("k")
        clock.t += 3 * S
        before = rl.available("k")
    with RateLimiter(tmp_path / "rl.journal", pols, clock=clock) as rl:
        assert rl.available("k") == before == pytest.approx(4.5)


def test_unclean_reboot_restarts_every_key_exhausted(tmp_path: Path) -> None:
    clock = Clock()
    boot = ["boot-1"]
    pols = {"k": TokenBucket(10, 1.0)}
    kw = {"clock": clock, "boot_id": lambda: boot[0], "default": SlidingWindow(5, 60.0)}
    rl = RateLimiter(tmp_path / "rl.journal", pols, **kw)  # type: ignore[arg-type]
    assert rl.try_acquire("k")
    rl._journal._abandon()  # a crash: no close marker
    rl = RateLimiter(tmp_path / "rl.journal", pols, **kw)  # type: ignore[arg-type]
    assert rl.available("k") == 9  # same boot: a process crash loses nothing
    rl._journal._abandon()
    boot[0] = "boot-2"  # the machine rebooted in between: the last sync interval may be lost
    rl = RateLimiter(tmp_path / "rl.journal", pols, **kw)  # type: ignore[arg-type]
    assert rl.available("k") == 0 and rl.available("never-seen") == 0
    clock.t += 2 * S
    assert rl.available("k") == 2 and rl.available("never-seen") == 0  # its window: 60 s
    rl._journal._abandon()  # and the exhaustion itself survives the next crash
    rl = RateLimiter(tmp_path / "rl.journal", pols, **kw)  # type: ignore[arg-type]
    assert rl.available("k") == 2 and rl.available("never-seen") == 0
    rl.close()


def test_compaction_keeps_state(tmp_path: Path) -> None:
    clock = Clock()
    pols = {"a": TokenBucket(1000, 0.0), "b": SlidingWindow(1000, 3600.0)}
    for _ in range(3):
        with RateLimiter(tmp_path / "rl.journal", pols, clock=clock, compact_after=50) as rl:
            for _ in range(40):
                clock.t += 1000
                assert rl.try_acquire("a") and rl.try_acquire("b", 2)
            expect = (rl.available("a"), rl.available("b"))
        with RateLimiter(tmp_path / "rl.journal", pols, clock=clock, compact_after=50) as rl:
            assert (rl.available("a"), rl.available("b")) == expect
            assert rl._journal.entry_count < 60
    assert expect == (1000 - 120, 1000 - 240)


def test_rejections_are_audited_and_rate_limited(tmp_path: Path) -> None:
    clock = Clock()
    audit = AuditLog(tmp_path / "audit.journal", key=bytes(32))
    with RateLimiter(tmp_path / "rl.journal", {"k": TokenBucket(1, 0.0)}, clock=clock, audit=audit) as rl:
        assert rl.try_acquire("k")
        for _ in range(100):
            assert not rl.try_acquire("k")
        clock.t += S
        assert not rl.try_acquire("k")
    recs = [(r.event, r.detail) for r in audit.records()]
    assert recs == [
        ("ratelimit.reject", {"key": "k", "cost": 1, "suppressed": 0}),
        ("ratelimit.reject", {"key": "k", "cost": 1, "suppressed": 99}),
    ]
    audit.close()


_CHILD = textwrap.dedent(
    """
    import sys
    from pinnacle.security.ratelimit import RateLimiter, TokenBucket
    rl = RateLimiter(sys.argv[1], {"k": TokenBucket(60, 0.0)})
    while rl.try_acquire("k"):
        print("granted", flush=True)
    print("exhausted", flush=True)
    """
)


def test_kill9_crash_loop_does_not_reset_the_budget(tmp_path: Path) -> None:
    path = tmp_path / "rl.journal"
    printed = 0
    for round_ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        exhausted = False
        for _ in range(round_ + 3):
            line = proc.stdout.readline().strip()
            if line != "granted":
                exhausted = line == "exhausted"
                break
            printed += 1
        if not exhausted:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        with RateLimiter(path, {"k": TokenBucket(60, 0.0)}) as rl:
            assert rl.available("k") <= 60 - printed
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=True
    )
    printed += out.stdout.count("granted")
    assert out.stdout.endswith("exhausted\n")
    assert printed <= 60  # across every crash the quota was handed out at most once


KEYS = ["tb", "sw"]
POLICIES = {"tb": TokenBucket(5, 2.0), "sw": SlidingWindow(4, 1.5)}
step = st.one_of(
    st.tuples(st.just("advance"), st.integers(0, 800)),  # ms
    st.tuples(st.just("acquire"), st.sampled_from(KEYS), st.integers(1, 3)),
    st.tuples(st.just("restart"), st.sampled_from(["clean", "crash", "reboot"])),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(step, max_size=60))
def test_restart_mid_window_never_resets_the_budget(steps: list[tuple]) -> None:  # type: ignore[type-arg]
    clock = Clock()
    start = clock.t
    boot = [0]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "rl.journal"

        def open_() -> RateLimiter:
            return RateLimiter(path, POLICIES, clock=clock, boot_id=lambda: f"boot-{boot[0]}")

        rl = open_()
        grants: dict[str, list[tuple[int, int]]] = {k: [] for k in KEYS}
        try:
            for s in steps:
                if s[0] == "advance":
                    clock.t += s[1] * 1_000_000
                elif s[0] == "acquire":
                    if rl.try_acquire(s[1], s[2]):
                        grants[s[1]].append((clock.t, s[2]))
                else:
                    before = {k: rl.available(k) for k in KEYS}
                    if s[1] == "clean":
                        rl.close()
                    else:
                        rl._journal._abandon()
                        boot[0] += s[1] == "reboot"
                    rl = open_()
                    after = {k: rl.available(k) for k in KEYS}
                    for k in KEYS:
                        assert after[k] <= before[k]  # never more budget than before
                        if s[1] != "reboot":
                            assert after[k] == before[k]  # a process crash loses nothing
                # the limits hold across every restart
                tb = POLICIES["tb"]
                assert isinstance(tb, TokenBucket)
                assert (
                    sum(c for _, c in grants["tb"]) <= tb.capacity + tb.refill_per_s * (clock.t - start) / S
                )
                sw = POLICIES["sw"]
                assert isinstance(sw, SlidingWindow)
                for t0, _ in grants["sw"]:
                    in_window = sum(c for t, c in grants["sw"] if t0 <= t < t0 + sw.window_ns)
                    assert in_window <= sw.limit
        finally:
            rl.close()
