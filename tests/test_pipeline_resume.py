"""Checkpoints and exact resume of pinnacle.pipeline: the SIGKILL determinism oracle and
damaged checkpoints (the previous one is used, the reason logged)."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyarrow", reason="pip install 'pinnacle[pipeline]'")

from pinnacle.errors import InvalidArgumentError
from pinnacle.pipeline import ParquetSink, Pipeline, generate

ORACLE = Path(__file__).with_name("pipeline_oracle.py")


def test_sigkill_at_100_random_points_resumes_exactly(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ORACLE), str(tmp_path), "100", "7"], capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["kills"] >= 100
    assert summary["completed"] >= 2
    assert summary["mismatches"] == []
    assert summary["gaps"][0] > 0, "the Binance input has injected gaps"
    assert all(n > 0 for n in summary["sink_rows"])


def _outcome(tmp: Path, name: str, files: list[Path], fmt: str) -> tuple[dict[str, Any], Pipeline]:
    sink = ParquetSink(tmp / name / "sink", every_ms=500, levels=2)
    p = Pipeline(
        "BTCUSDT", files, format=fmt, checkpoint_dir=tmp / name / "ckpt", every_events=150, sink=sink, keep=3
    )
    r = p.run()
    return {
        "events": r.events_processed,
        "checksum": r.book_checksum,
        "gaps": r.gaps,
        "sink": sink.read_rows(),
    }, p


def _damage_newest(ckpt: Path, how: str) -> None:
    manifest = json.loads((ckpt / "manifest.json").read_text())
    newest = manifest["entries"][-1]
    if how == "bitflip":
        path = ckpt / newest["levels_file"]
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x10
        path.write_bytes(bytes(data))
    elif how == "truncate":
        path = ckpt / newest["state_file"]
        path.write_bytes(path.read_bytes()[:-7])
    elif how == "missing":
        (ckpt / newest["levels_file"]).unlink()
    elif how == "torn-manifest":
        data = (ckpt / "manifest.json").read_bytes()
        (ckpt / "manifest.json").write_bytes(data[: len(data) // 2])
        (ckpt / newest["state_file"]).unlink()  # and the newest checkpoint is incomplete


@pytest.mark.parametrize("fmt", ["binance-depth", "tardis-l2"])
@pytest.mark.parametrize("how", ["bitflip", "truncate", "missing", "torn-manifest"])
def test_damaged_newest_checkpoint_falls_back_to_previous(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, fmt: str, how: str
) -> None:
    files = generate(
        tmp_path / "in", format=fmt, files=2, events_per_file=400, seed=3, gap_rate=0.01, depth=10
    )
    reference, _ = _outcome(tmp_path, "ref", files, fmt)
    first, _ = _outcome(tmp_path, "run", files, fmt)
    assert first == reference
    ckpt = tmp_path / "run" / "ckpt"
    entries = json.loads((ckpt / "manifest.json").read_text())["entries"]
    newest, previous = entries[-1]["seq"], entries[-2]["seq"]
    _damage_newest(ckpt, how)
    with caplog.at_level(logging.INFO, logger="pinnacle.pipeline"):
        again, p = _outcome(tmp_path, "run", files, fmt)
    result_from = [r for r in caplog.records if "resumed BTCUSDT from checkpoint" in r.getMessage()]
    assert result_from and f"checkpoint {previous} " in result_from[-1].getMessage()
    reasons = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    expected = {
        "bitflip": "SHA-256",
        "truncate": "SHA-256",
        "missing": "missing",
        "torn-manifest": "manifest unreadable",
    }
    assert expected[how] in reasons
    assert f"checkpoint {newest} not used" in reasons or how == "torn-manifest"
    assert again == reference
    assert p.book.checksum() == reference["checksum"]


def test_files_are_private_and_old_checkpoints_deleted(tmp_path: Path) -> None:
    files = generate(tmp_path / "in", files=2, events_per_file=500, depth=10)
    _outcome(tmp_path, "run", files, "binance-depth")
    ckpt = tmp_path / "run" / "ckpt"
    assert stat.S_IMODE(ckpt.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "run" / "sink").stat().st_mode) == 0o700
    names = sorted(os.listdir(ckpt))
    manifest = json.loads((ckpt / "manifest.json").read_text())
    assert len(manifest["entries"]) == 3
    named = {e["levels_file"] for e in manifest["entries"]} | {e["state_file"] for e in manifest["entries"]}
    assert set(names) == named | {"manifest.json"}
    for name in names:
        assert stat.S_IMODE((ckpt / name).stat().st_mode) == 0o600
    e = manifest["entries"][-1]
    assert e["events_processed"] == 1000 and e["file_index"] == 2 and e["byte_offset"] == 0
    for key in (
        "last_update_id",
        "checkpointed_size",
        "sync_duration_ms",
        "async_duration_ms",
        "book_checksum",
    ):
        assert e[key] is not None


def test_symbol_and_inputs_must_match(tmp_path: Path) -> None:
    files = generate(tmp_path / "in", files=2, events_per_file=300, depth=5)
    Pipeline("BTCUSDT", files, checkpoint_dir=tmp_path / "ckpt", every_events=100).run()
    with pytest.raises(InvalidArgumentError, match="symbol"):
        Pipeline("ETHUSDT", files, checkpoint_dir=tmp_path / "ckpt").run()
    with pytest.raises(InvalidArgumentError, match="format"):
        Pipeline("BTCUSDT", files, format="tardis-l2", checkpoint_dir=tmp_path / "ckpt").run()
    other = generate(tmp_path / "other", symbol="BTCUSDT", files=3, events_per_file=300, depth=5)
    renamed = [tmp_path / "other" / f"x{i}.jsonl" for i in range(3)]
    for a, b in zip(other, renamed, strict=True):
        a.rename(b)
    with pytest.raises(InvalidArgumentError, match="inputs changed"):
        Pipeline("BTCUSDT", renamed, checkpoint_dir=tmp_path / "ckpt").run()


def test_request_checkpoint_from_another_thread(tmp_path: Path) -> None:
    import threading

    files = generate(tmp_path / "in", files=1, events_per_file=20_000, depth=10)
    p = Pipeline("BTCUSDT", files, checkpoint_dir=tmp_path / "ckpt", every_events=10**9, every_s=3600)
    p.request_checkpoint()  # before run: taken at the first check (256 messages)
    t = threading.Thread(target=p.request_checkpoint)
    t.start()
    r = p.run()
    t.join()
    assert r.events_processed == 20_000
    assert len(r.checkpoints) >= 2  # the requested one(s) and the final one
    assert r.checkpoints[0]["events_processed"] < 20_000


def test_run_pipelines_one_per_symbol_and_resume_after_a_killed_worker(tmp_path: Path) -> None:
    import signal
    import threading
    import time
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from pinnacle.pipeline import run_pipelines

    specs = []
    for sym, fmt in (("BTCUSDT", "binance-depth"), ("ETHUSDT", "tardis-l2")):
        files = generate(tmp_path / sym, symbol=sym, format=fmt, files=2, events_per_file=3000, depth=10)
        specs.append(
            {
                "symbol": sym,
                "inputs": files,
                "format": fmt,
                "checkpoint_dir": tmp_path / "ck" / sym,
                "every_events": 500,
            }
        )
    reference = {s["symbol"]: Pipeline(**{**s, "checkpoint_dir": None}).run() for s in specs}  # type: ignore[arg-type]
    # A worker killed mid-run (once the first symbol has a checkpoint): the run fails...
    pool = ProcessPoolExecutor(max_workers=1)
    failure: list[BaseException] = []

    def first_run() -> None:
        try:
            run_pipelines(specs, executor=pool)
        except BaseException as e:
            failure.append(e)

    t = threading.Thread(target=first_run)
    t.start()
    manifest = tmp_path / "ck" / "BTCUSDT" / "manifest.json"
    deadline = time.monotonic() + 60
    while not manifest.exists() and time.monotonic() < deadline:
        time.sleep(0.001)
    for pid in list(pool._processes):
        os.kill(pid, signal.SIGKILL)
    t.join()
    pool.shutdown()
    assert failure and isinstance(failure[0], BrokenProcessPool)
    # ...and running again completes every symbol with the uninterrupted results.
    with ProcessPoolExecutor(max_workers=2) as ex:
        results = run_pipelines(specs, executor=ex)
    assert results["BTCUSDT"].resumed_from is not None
    for sym, r in results.items():
        assert r.events_processed == reference[sym].events_processed == 6000
        assert r.book_checksum == reference[sym].book_checksum
        assert r.gaps["records"] == reference[sym].gaps["records"]
    with pytest.raises(InvalidArgumentError, match="same symbol"):
        run_pipelines([specs[0], specs[0]])
