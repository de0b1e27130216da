"""pinnacle inspect / verify / recover / compact / config on clean and damaged data."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pinnacle import JournalReader, PersistenceConfig, PersistenceManager
from pinnacle.cli import main

SYMBOLS = ("BTC-USD", "ETH-USD")


def build(data: Path, n: int = 300) -> None:
    """Two journaled books with snapshots at ops 150 and 250, cleanly shut down."""
    cfg = PersistenceConfig(journal_sync_mode="none", snapshot_interval_min=0)
    with PersistenceManager(data, cfg, maintenance=False) as pm:
        books = {s: pm.order_book(s, "0.01", "0.001") for s in SYMBOLS}
        for i in range(1, n + 1):
            for s, b in books.items():
                if i % 5 == 0:
                    b.execute_market_order("buy" if i % 2 else "sell", "0.002")
                else:
                    side = "buy" if i % 2 else "sell"
                    b.add_order(i, side, "100.00" if side == "buy" else "100.05", "0.003")
                if i in (150, 250):
                    pm.snapshot(s)
        pm.shutdown(snapshot=False)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    build(d)
    return d


def digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


def entry_offsets(journal: Path) -> list[tuple[int, int]]:
    """(offset, size) of every entry."""
    out, off = [], 4096
    with JournalReader(journal) as r:
        while batch := r.poll():
            for e in batch:
                size = 32 + (len(e.payload) + 7) // 8 * 8
                out.append((off, size))
                off += size
    return out


def flip(path: Path, offset: int) -> None:
    b = bytearray(path.read_bytes())
    b[offset] ^= 0x20
    path.write_bytes(bytes(b))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_directory_journal_and_snapshot(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "inspect", str(data))
    assert code == 0
    assert "BTC-USD (tick 0.01, lot 0.001)" in out and "durable_end" in out and "checkpoints: 2" in out
    code, out, _ = run(capsys, "inspect", str(data), "--json")
    doc = json.loads(out)
    assert doc["type"] == "data_directory" and [s["symbol"] for s in doc["symbols"]] == list(SYMBOLS)
    j = doc["symbols"][0]["journal"]
    assert j["entries"] == 302 and j["seq_range"] == [1, 302] and j["format_version"] == 2
    assert isinstance(j["journal_id"], str) and len(j["journal_id"]) == 32
    assert j["kinds"] == {"1": 300} and j["ops"]["market"] == 60 and j["last_checkpoint"]["marker"] == 251
    assert j["durable_end"] == j["data_end"] and j["problems"] == []
    snaps = doc["symbols"][0]["snapshots"]
    assert [s["covered_seq"] for s in snaps] == [150, 251] and all(s["valid"] for s in snaps)
    snap = Path(snaps[1]["path"])
    code, out, _ = run(capsys, "inspect", str(snap), "--json")
    s = json.loads(out)
    assert code == 0 and s["symbol"] == "BTC-USD" and s["order_count"] > 0 and s["best_bid"] == 100.0
    code, out, _ = run(capsys, "inspect", str(data / "journals" / "ETH-USD.journal"))
    assert code == 0 and "302 entries, seq 1..302" in out


def test_inspect_entries_with_filters(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    j = str(data / "journals" / "BTC-USD.journal")
    code, out, _ = run(capsys, "inspect", j, "--entries", "--kind", "market", "--limit", "3", "--json")
    doc = json.loads(out)
    assert code == 0 and len(doc["entries"]) == 3 and doc["truncated"]
    assert all(e["op"]["op"] == "market" for e in doc["entries"])
    code, out, _ = run(capsys, "inspect", j, "--entries", "--from-seq", "10", "--to-seq", "12")
    assert code == 0 and "market sell 0.002" in out and "add #12 sell 0.003 @ 100.05" in out
    assert len(out.splitlines()) == 4
    code, out, _ = run(
        capsys, "inspect", str(data), "--entries", "--symbol", "ETH-USD", "--kind", "checkpoint"
    )
    assert code == 0 and "covers seq 150" in out and "covers seq 251" in out
    code, _, err = run(capsys, "inspect", j, "--entries", "--kind", "bogus")
    assert code == 2 and err.count("\n") == 1


def test_verify_clean(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", str(data))
    assert code == 0 and out.rstrip().endswith("the snapshot/journal chain is sound")
    code, out, _ = run(capsys, "verify", str(data / "journals" / "BTC-USD.journal"), "--json")
    assert code == 0 and json.loads(out)["ok"]


def test_verify_finds_a_flipped_byte_in_durable_journal_data(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = data / "journals" / "BTC-USD.journal"
    off, _ = entry_offsets(journal)[20]
    flip(journal, off + 40)  # in the payload of entry 21
    before = digest(data)
    code, out, _ = run(capsys, "verify", str(data))
    assert code == 1
    line = next(x for x in out.splitlines() if x.startswith("DAMAGED"))
    assert f"{journal} at offset {off}: corruption in data that was durable" in line
    assert "checksum mismatch" in line
    code, out, _ = run(capsys, "verify", str(journal), "--json")
    doc = json.loads(out)
    assert code == 1 and doc["errors"][0]["offset"] == off and doc["errors"][0]["path"] == str(journal)
    assert digest(data) == before  # verify wrote nothing


def test_verify_finds_a_flipped_byte_in_a_snapshot(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = sorted((data / "snapshots" / "ETH-USD").iterdir())[0]
    flip(snap, 60)
    code, out, _ = run(capsys, "verify", str(data))
    size = snap.stat().st_size
    assert code == 1 and f"DAMAGED: {snap} at offset {size - 4}: invalid snapshot" in out
    code, out, _ = run(capsys, "verify", str(snap))
    assert code == 1 and "checksum mismatch" in out


def test_verify_torn_tail_is_a_warning_unless_strict(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = data / "journals" / "ETH-USD.journal"
    end = sum(entry_offsets(journal)[-1])  # the end of the last entry
    b = bytearray(journal.read_bytes())
    b[end : end + 12] = (12).to_bytes(4, "little") * 3  # half of an entry header
    journal.write_bytes(bytes(b))
    code, out, _ = run(capsys, "verify", str(data))
    assert code == 0 and f"warning: {journal} at offset {end}: torn tail" in out
    code, _, _ = run(capsys, "verify", "--strict", str(data))
    assert code == 1
    code, out, _ = run(capsys, "recover", str(data), "--repair")
    assert code == 0 and "cut damaged tail" in out
    assert run(capsys, "verify", "--strict", str(data))[0] == 0


def test_verify_broken_chain(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for snap in (data / "snapshots" / "BTC-USD").iterdir():
        snap.unlink()
    with PersistenceManager(data, maintenance=False) as pm:  # compact BTC-USD without snapshots left
        pm.recover_state()
        pm.get_journal("BTC-USD").compact(200)  # type: ignore[union-attr]
    (data / "journals" / "ETH-USD.meta.json").unlink()
    code, out, _ = run(capsys, "verify", str(data))
    assert code == 1
    assert "starts at seq 200 (1..199 compacted) but no valid snapshot: cannot recover" in out
    assert "ETH-USD.meta.json" in out and "is missing" in out


def test_recover_dry_run_writes_nothing(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = data / "journals" / "BTC-USD.journal"
    with open(journal, "r+b") as f:  # a torn tail the dry run cuts in its copy only
        f.seek(sum(entry_offsets(journal)[-1]))
        f.write(b"\x07" * 10)
    before = digest(data)
    code, out, _ = run(capsys, "recover", str(data))
    assert code == 0, out
    assert "[INFO] Initializing persistence for BTC-USD" in out and "Loading latest snapshot" in out
    assert "BTC-USD: " in out and "best bid 100.0 x" in out and "cut damaged tail" in out
    assert "dry run: nothing was written" in out
    assert digest(data) == before
    code, out, _ = run(capsys, "recover", str(data), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["dry_run"] and doc["books"]["ETH-USD"]["snapshot_covered_seq"] == 251
    assert digest(data) == before


def test_recover_refuses_corruption_and_skip_corrupted_repairs_what_a_snapshot_covers(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = data / "journals" / "BTC-USD.journal"
    flip(journal, entry_offsets(journal)[30][0] + 40)
    code, out, _ = run(capsys, "recover", str(data))
    assert code == 1 and "FAILED: corruption in" in out and "ETH-USD: " in out
    code, out, _ = run(capsys, "recover", str(data), "--repair", "--mode", "skip_corrupted")
    assert code == 0, out
    assert "compacted to seq 252" in out and "none lost" in out
    assert run(capsys, "verify", str(data))[0] == 0


def test_skip_corrupted_refuses_to_lose_operations(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = data / "journals" / "BTC-USD.journal"
    flip(journal, entry_offsets(journal)[280][0] + 40)  # after the newest snapshot (seq 251)
    code, out, _ = run(capsys, "recover", str(data), "--repair", "--mode", "skip_corrupted")
    assert code == 1 and "not covered by a valid snapshot" in out
    assert run(capsys, "verify", str(data))[0] == 1


def test_compact(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "compact", str(data))
    assert code == 0 and "BTC-USD: journal 302 -> 152 entries" in out and "2 journals compacted" in out
    code, out, _ = run(capsys, "compact", str(data), "--keep-snapshots", "1", "--snapshot")
    assert code == 0 and "snapshots 2 -> 1" in out
    assert run(capsys, "verify", str(data))[0] == 0
    code, _, err = run(capsys, "compact", str(data), "--threshold", "0")
    assert code == 2 and "--threshold" in err


def test_config_init_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "config", "init", str(tmp_path))
    cfg = tmp_path / "default_config.json"
    assert code == 0 and cfg.exists() and "keepSnapshots" in out
    assert PersistenceConfig.from_json_file(cfg) == PersistenceConfig()
    assert run(capsys, "config", "init", str(cfg))[0] == 1  # exists
    assert run(capsys, "config", "init", str(cfg), "--force")[0] == 0
    code, out, _ = run(capsys, "config", "check", str(cfg))
    assert code == 0 and "valid" in out and "(default)" not in out
    cfg.write_text('{"persistence": {"keepSnapshots": 2}, "other": 1}')
    code, out, _ = run(capsys, "config", "check", str(cfg), "--json")
    assert code == 0 and json.loads(out)["persistence"]["keepSnapshots"] == 2
    cfg.write_text('{"persistence": {"keepSnapshots": 0}}')
    code, _, err = run(capsys, "config", "check", str(cfg))
    assert code == 1 and "persistence.keepSnapshots" in err and err.count("\n") == 1
    cfg.write_text('{"persistence": {"snapshotInterval": 3}}')
    code, _, err = run(capsys, "config", "check", str(cfg))
    assert code == 1 and "persistence.snapshotInterval: unknown key" in err


@pytest.mark.parametrize(
    ("argv", "code", "text"),
    [
        (["inspect", "/nonexistent/x"], 2, "no such file or directory"),
        (["verify", __file__], 2, "not a pinnacle journal or snapshot"),
        (["recover", "/"], 2, "not a pinnacle data directory"),
        (["verify", "--bogus", "x"], 2, "unrecognized arguments"),
        (["config", "check", "/nonexistent.json"], 2, "no such file"),
    ],
)
def test_bad_input_is_one_line_on_stderr(
    argv: list[str], code: int, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    got, _, err = run(capsys, *argv)
    assert got == code and text in err
    assert err.count("\n") == 1 and err.startswith("pinnacle: error: ") and "Traceback" not in err


def test_a_damaged_file_as_a_subprocess(data: Path) -> None:
    journal = data / "journals" / "BTC-USD.journal"
    journal.write_bytes(b"PNCLJRNL" + b"\xff" * 100)  # too short, bad header
    p = subprocess.run(
        [sys.executable, "-m", "pinnacle.cli", "verify", str(journal)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 1 and "DAMAGED" in p.stdout and "Traceback" not in p.stderr + p.stdout
    p = subprocess.run(
        [sys.executable, "-m", "pinnacle.cli", "inspect", str(data / "nope")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and p.stdout == ""


def test_bench_quick_runs_one_section(tmp_path: Path) -> None:
    pytest.importorskip("hdrh", reason="pinnacle[bench] extras not installed")
    from pinnacle.cli import main

    out = tmp_path / "bench"
    assert main(["bench", "--only", "recovery", "--out", str(out)]) == 0
    assert "recovery" in (out / "results.md").read_text()
