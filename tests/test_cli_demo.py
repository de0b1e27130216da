"""pinnacle demo: the crash-recovery drill passes, and fails when it should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pinnacle import JournalReader
from pinnacle.cli import main
from pinnacle.cli.demo import Drill, DrillOptions
from pinnacle.sim.market import Op
from pinnacle.sim.reference import Reference

RECOVERY_LINES = (
    "[INFO] Initializing persistence for BTC-USD",
    "[INFO] Initializing persistence for ETH-USD",
    "[INFO] Loading latest snapshot from ",
    "[INFO] Replaying ",
    "[INFO] Recovery completed successfully: BTC-USD",
)


def test_demo_passes_two_cycles(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--duration", "1.2", "--cycles", "2", "--seed", "11"])
    out = capsys.readouterr().out
    assert code == 0, out
    for line in RECOVERY_LINES:
        assert line in out
    assert "cycle 1/2: PASS" in out and "cycle 2/2: PASS" in out
    assert "\nPASS: 2 crash cycles, " in out and "every book, resting order and maker position" in out
    assert "SIGKILL in" in out and "operations acknowledged" in out and "position " in out


def test_demo_as_a_process_keeps_a_verifiable_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "drill"
    p = subprocess.run(
        [sys.executable, "-m", "pinnacle.cli", "demo", "--duration", "1", "--cycles", "1", "--sync", "none",
         "--symbols", "SOL-USD", "--data-dir", str(data)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr
    assert "PASS: 1 crash cycle," in p.stdout and f"data directory kept: {data}" in p.stdout
    assert (data / "maker" / "SOL-USD.journal").exists()
    v = subprocess.run(
        [sys.executable, "-m", "pinnacle.cli", "verify", str(data)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert v.returncode == 0, v.stdout  # a torn tail from the kill would only be a warning


def test_a_broken_reference_fails_the_drill(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = Reference.apply

    def forgetful(self: Reference, op: Op) -> None:
        if not (op.kind == "add" and op.order_id % 97 == 0):  # forget some acknowledged adds
            real(self, op)

    monkeypatch.setattr(Reference, "apply", forgetful)
    code = main(["demo", "--duration", "1", "--cycles", "2", "--seed", "5"])
    out = capsys.readouterr().out
    assert code == 1
    assert "\nFAIL: cycle 1: " in out and "cycle 1/2: FAIL" in out and "PASS:" not in out


def _zero_last_entries(journal: Path, n: int) -> None:
    offsets, off = [], 4096
    with JournalReader(journal) as r:
        while batch := r.poll():
            for e in batch:
                offsets.append(off)
                off += 32 + (len(e.payload) + 7) // 8 * 8
    with open(journal, "r+b") as f:
        f.seek(offsets[-n])
        f.write(bytes(off - offsets[-n]))


def test_a_journal_tampered_between_kill_and_recovery_fails(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    with open(out, "w") as f:
        drill = Drill(
            DrillOptions(
                tmp_path / "data", ("BTC-USD",), cycles=2, duration=1.0, seed=3, sync="none",
                after_kill=lambda d, cycle: _zero_last_entries(d / "journals" / "BTC-USD.journal", 4),
            ),
            f,
        )  # fmt: skip
        assert not drill.run()
    r = drill.results[-1]
    assert r.cycle == 1 and not r.ok and r.error
    assert "MISMATCH" in out.read_text() or r.error.startswith("recovery failed")


def test_demo_refuses_a_data_dir_in_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x").write_text("not empty")
    assert main(["demo", "--data-dir", str(tmp_path)]) == 2
    assert "must be a new or empty directory" in capsys.readouterr().err


def test_a_ledger_journal_losing_acknowledged_records_fails_the_drill(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    with open(out, "w") as f:
        drill = Drill(
            DrillOptions(
                tmp_path / "data", ("BTC-USD",), cycles=1, duration=1.0, seed=4, sync="none",
                after_kill=lambda d, cycle: _zero_last_entries(d / "journals" / "@ledger.journal", 3),
            ),
            f,
        )  # fmt: skip
        assert not drill.run()
    r = drill.results[-1]
    assert not r.ok, r.error
    # durable records zeroed: recovery refuses the journal, or (zeroed past the durable end)
    # the recovered ledger lacks acknowledged operations
    if r.error.startswith("recovery failed"):
        assert "@ledger.journal" in r.error
    else:
        assert r.ledger is not None and not r.ledger.ok and "ledger: " in r.error
        assert "MISMATCH" in out.read_text()
