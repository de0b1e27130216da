"""pinnacle.pipeline's API: the book view, results, sink rows, input errors, generate,
and import without pyarrow."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from pinnacle.errors import CorruptionError, InvalidArgumentError, PinnacleIOError
from pinnacle.pipeline import ParquetSink, Pipeline, generate


def _lines(path: Path, *docs: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return path


SNAP = {"lastUpdateId": 10, "bids": [["100.10", "1.500"], ["100.00", "2"]], "asks": [["100.20", "3"]]}


def _upd(first: int, last: int, e_ms: int, b: list[list[str]], a: list[list[str]]) -> dict[str, object]:
    return {
        "e": "depthUpdate",
        "E": e_ms,
        "s": "BTCUSDT",
        "U": first,
        "u": last,
        "b": b,
        "a": a,
        "lt": e_ms + 4,
    }


def test_book_view_is_exact_decimals_and_result_reports_gaps_and_drift(tmp_path: Path) -> None:
    f = _lines(
        tmp_path / "a.jsonl",
        SNAP,
        _upd(11, 12, 1000, [["100.10", "0"]], [["100.15", "0.25"]]),
        _upd(15, 15, 1001, [], []),  # gap: expected 13
    )
    p = Pipeline("BTCUSDT", [f])
    r = p.run()
    assert p.book.bids(5) == [(Decimal("100"), Decimal("2"))]
    assert p.book.asks(5) == [(Decimal("100.15"), Decimal("0.25")), (Decimal("100.2"), Decimal("3"))]
    assert p.book.asks(1) == [(Decimal("100.15"), Decimal("0.25"))]
    assert r.events_processed == 3
    assert r.gaps["count"] == 1
    g = r.gaps["records"][0]
    assert (g["expected"], g["got"], g["file"], g["exchange_ms"]) == (13, 15, str(f), 1001)
    assert g["offset"] == len(
        (
            json.dumps(SNAP)
            + "\n"
            + json.dumps(_upd(11, 12, 1000, [["100.10", "0"]], [["100.15", "0.25"]]))
            + "\n"
        ).encode()
    )
    assert r.stale
    assert r.drift["count"] == 2 and r.drift["max_us"] == 4000 and r.drift["p50_us"] == 4000
    assert r.metrics["events_per_s"] > 0
    assert r.book_checksum == p.book.checksum()
    with pytest.raises(InvalidArgumentError):
        p.book.bids(-1)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="format"):
        Pipeline("BTCUSDT", ["x"], format="csv")
    with pytest.raises(InvalidArgumentError, match="inputs"):
        Pipeline("BTCUSDT", [])
    with pytest.raises(InvalidArgumentError, match="inputs"):
        Pipeline("BTCUSDT", "file.jsonl")
    with pytest.raises(InvalidArgumentError, match="every_events"):
        Pipeline("BTCUSDT", ["x"], every_events=0)
    for huge in (2**63, 2**70):  # counts reach Rust as 64-bit ints: refused by name, not OverflowError
        with pytest.raises(InvalidArgumentError, match="every_events"):
            Pipeline("BTCUSDT", ["x"], every_events=huge)
        with pytest.raises(InvalidArgumentError, match="events_per_file"):
            generate("unused", events_per_file=huge)
    with pytest.raises(InvalidArgumentError, match="every_s"):
        Pipeline("BTCUSDT", ["x"], every_s=-1)
    with pytest.raises(InvalidArgumentError, match="every_ms"):
        ParquetSink("out", every_ms=0)
    with pytest.raises(InvalidArgumentError, match="levels"):
        ParquetSink("out", levels=0)
    with pytest.raises(InvalidArgumentError, match="sink"):
        Pipeline("BTCUSDT", ["x"], sink="out")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        _ = Pipeline("BTCUSDT", ["x"]).book


def test_bad_input_names_file_and_offset(tmp_path: Path) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text(json.dumps(SNAP) + "\n{not json\n")
    with pytest.raises(CorruptionError) as e:
        Pipeline("BTCUSDT", [f]).run()
    assert e.value.path == str(f) and e.value.offset == len(json.dumps(SNAP)) + 1
    t = tmp_path / "bad.csv"
    t.write_text(
        "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\nx,BTCUSDT,1,2,true,up,1,1\n"
    )
    with pytest.raises(CorruptionError, match="side"):
        Pipeline("BTCUSDT", [t], format="tardis-l2").run()
    with pytest.raises(PinnacleIOError) as io:
        Pipeline("BTCUSDT", [tmp_path / "missing.jsonl"]).run()
    assert io.value.errno == 2
    other = _lines(tmp_path / "eth.jsonl", {**_upd(1, 1, 1, [], []), "s": "ETHUSDT"})
    with pytest.raises(CorruptionError, match="ETHUSDT"):
        Pipeline("BTCUSDT", [other]).run()


@pytest.mark.parametrize("fmt", ["binance-depth", "tardis-l2"])
def test_generate_plain_and_gzip_give_the_same_book(tmp_path: Path, fmt: str) -> None:
    plain = generate(tmp_path / "p", format=fmt, files=2, events_per_file=2000, gap_rate=0.01, seed=5)
    gz = generate(
        tmp_path / "g", format=fmt, files=2, events_per_file=2000, gap_rate=0.01, seed=5, gzip_files=True
    )
    assert gzip.decompress(gz[1].read_bytes()) == plain[1].read_bytes()
    a = Pipeline("BTCUSDT", plain, format=fmt).run()
    b = Pipeline("BTCUSDT", gz, format=fmt).run()
    assert a.events_processed == b.events_processed == 4000
    assert a.book_checksum == b.book_checksum
    assert a.gaps["snapshots"] > 1, "reconnect snapshots were injected"
    if fmt == "binance-depth":
        assert a.gaps["count"] > 0 and a.gaps["dropped_before_snapshot"] > 0


def test_sink_rows_sample_top_n_and_record_gaps(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    files = generate(tmp_path / "in", files=1, events_per_file=3000, gap_rate=0.01, depth=8)
    sink = ParquetSink(tmp_path / "out", every_ms=1000, levels=3)
    r = Pipeline("BTCUSDT", files, checkpoint_dir=tmp_path / "ck", every_events=1000, sink=sink).run()
    rows = sink.read_rows()
    books = [row for row in rows if row["kind"] == "book"]
    gaps = [row for row in rows if row["kind"] == "gap"]
    assert len(gaps) == r.gaps["count"] > 0
    assert [json.loads(g["gap"]) for g in gaps] == r.gaps["records"]
    ts = [b["ts_ms"] for b in books]
    assert ts == sorted(ts) and len(set(ts)) == len(ts) and all(t % 1000 == 0 for t in ts)
    for b in books:
        if b["bid_price_1"] and b["bid_price_2"]:
            assert Decimal(b["bid_price_1"]) > Decimal(b["bid_price_2"])
        if b["ask_price_1"] and b["ask_price_2"]:
            assert Decimal(b["ask_price_1"]) < Decimal(b["ask_price_2"])


def test_import_without_pyarrow(tmp_path: Path) -> None:
    files = generate(tmp_path / "in", files=1, events_per_file=100)
    code = f"""
import sys
sys.modules["pyarrow"] = None
import pinnacle
from pinnacle.pipeline import Pipeline, MissingDependencyError
assert Pipeline("BTCUSDT", [{str(files[0])!r}]).run().events_processed == 100
try:
    Pipeline("BTCUSDT", [{str(files[0])!r}], checkpoint_dir={str(tmp_path / "ck")!r}).run()
except MissingDependencyError as e:
    assert "pinnacle[pipeline]" in str(e)
    print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


def test_cli_generate_run_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pyarrow")
    from pinnacle.cli import main

    assert main(["pipeline", "generate", str(tmp_path / "in"), "--format", "tardis-l2", "--files", "2",
                 "--events", "500", "--gzip"]) == 0  # fmt: skip
    files = capsys.readouterr().out.split()
    assert [Path(f).name for f in files] == ["BTCUSDT-000.csv.gz", "BTCUSDT-001.csv.gz"]
    ck = tmp_path / "ck"
    args = ["pipeline", "run", "BTCUSDT", *files, "--format", "tardis-l2", "--checkpoint-dir", str(ck)]
    assert main([*args, "--every-events", "300", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["events_processed"] == 1000 and doc["resumed_from"] is None
    assert main(args) == 0
    assert "resumed from checkpoint 4" in capsys.readouterr().out
    assert main(["pipeline", "status", str(ck)]) == 0
    out = capsys.readouterr().out
    assert "symbol BTCUSDT  format tardis-l2" in out and "1,000" in out
    assert main(["pipeline", "status", str(tmp_path / "none")]) == 2
    assert main(["pipeline", "run", "BTCUSDT", str(tmp_path / "missing.csv")]) == 2
    (ck / "manifest.json").write_text("{")
    assert main(["pipeline", "status", str(ck)]) == 1


def test_engine_time_budget_validation(tmp_path: Path) -> None:
    from pinnacle._core import MarketDataEngine

    files = generate(tmp_path / "in", files=1, events_per_file=10)
    e = MarketDataEngine("BTCUSDT", "binance-depth", files)
    for bad in (-1.0, float("nan")):
        with pytest.raises(InvalidArgumentError, match="max_seconds"):
            e.run(None, bad)
    assert e.run(None, float("inf")) == "end"  # too large for a deadline: none
    assert e.events_processed == 10
    assert Pipeline("BTCUSDT", files, every_s=float("inf")).run().events_processed == 10
