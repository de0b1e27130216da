"""Resume refuses other inputs; a torn manifest is rebuilt with every field; the CLI
shows why a checkpoint was not used and never crashes on a damaged manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("pyarrow", reason="pip install 'pinnacle[pipeline]'")

from pinnacle.cli import main
from pinnacle.errors import InvalidArgumentError
from pinnacle.pipeline import Pipeline, generate


@pytest.mark.parametrize("fmt", ["binance-depth", "tardis-l2"])
def test_resume_on_other_files_with_the_same_names_is_refused(tmp_path: Path, fmt: str) -> None:
    files = generate(tmp_path / "in", format=fmt, files=2, events_per_file=300, seed=1, depth=5)
    ck = tmp_path / "ck"
    Pipeline("BTCUSDT", files, format=fmt, checkpoint_dir=ck, every_events=100).run()
    other = generate(tmp_path / "in4", format=fmt, files=2, events_per_file=300, seed=2, depth=5)
    assert [f.name for f in other] == [f.name for f in files]
    before = (ck / "manifest.json").read_bytes()
    with pytest.raises(InvalidArgumentError, match=r"other inputs: input 0 .*BTCUSDT-000.* differ"):
        Pipeline("BTCUSDT", other, format=fmt, checkpoint_dir=ck).run()
    assert (ck / "manifest.json").read_bytes() == before, "nothing stored is changed"
    # The same files resume; a fresh checkpoint directory starts the other files afresh.
    assert Pipeline("BTCUSDT", files, format=fmt, checkpoint_dir=ck).run().resumed_from is not None
    assert Pipeline("BTCUSDT", other, format=fmt, checkpoint_dir=tmp_path / "ck2").run().resumed_from is None


def _mid_file_checkpoint(tmp_path: Path) -> tuple[Path, Path, dict[str, object]]:
    """A checkpoint directory whose only entry is in the middle of a single > 64 KiB file."""
    (f,) = generate(tmp_path / "in", files=1, events_per_file=3000, seed=1, depth=5)
    assert f.stat().st_size > 3 * 64 * 1024
    ck = tmp_path / "ck"
    Pipeline("BTCUSDT", [f], checkpoint_dir=ck, every_events=1000, keep=5).run()
    doc = json.loads((ck / "manifest.json").read_text())
    mid = next(e for e in doc["entries"] if e["file_index"] == 0 and e["byte_offset"] > 2 * 64 * 1024)
    doc["entries"] = [mid]
    (ck / "manifest.json").write_text(json.dumps(doc))
    return f, ck, mid


def test_resume_on_a_file_changed_before_the_saved_offset_is_refused(tmp_path: Path) -> None:
    f, ck, mid = _mid_file_checkpoint(tmp_path)
    data = bytearray(f.read_bytes())
    off = int(mid["byte_offset"])  # type: ignore[call-overload]
    i = data.rindex(b'"u":', 0, off - 10) + 5  # a digit of the update id in the last line before
    data[i] = ord("1") if data[i] != ord("1") else ord("2")
    f.write_bytes(bytes(data))
    with pytest.raises(InvalidArgumentError, match=f"bytes before the saved offset {off} differ"):
        Pipeline("BTCUSDT", [f], checkpoint_dir=ck).run()


def test_the_same_file_resumes_mid_file(tmp_path: Path) -> None:
    f, ck, mid = _mid_file_checkpoint(tmp_path)
    r = Pipeline("BTCUSDT", [f], checkpoint_dir=ck).run()
    assert r.resumed_from == mid["seq"] and r.events_processed == 3000


def test_torn_manifest_is_rebuilt_with_every_field_and_status_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = generate(tmp_path / "in", files=2, events_per_file=300, seed=1, depth=5)
    ck = tmp_path / "ck"
    Pipeline("BTCUSDT", files, checkpoint_dir=ck, every_events=100, keep=3).run()
    good = json.loads((ck / "manifest.json").read_text())["entries"]
    data = (ck / "manifest.json").read_bytes()
    (ck / "manifest.json").write_bytes(data[: len(data) // 2])
    (ck / good[-1]["state_file"]).unlink()
    Pipeline("BTCUSDT", files, checkpoint_dir=ck, every_events=100, keep=3).run()
    rebuilt = json.loads((ck / "manifest.json").read_text())["entries"]
    for old in good[:-1]:
        (new,) = [e for e in rebuilt if e["seq"] == old["seq"]]
        for key in ("events_processed", "file_index", "byte_offset", "book_checksum", "sink_rows",
                    "levels_sha256", "state_sha256", "levels_size", "state_size", "inputs"):  # fmt: skip
            assert new[key] == old[key], key
    capsys.readouterr()
    assert main(["pipeline", "status", str(ck)]) == 0
    assert "damaged" not in capsys.readouterr().err


def test_status_on_a_damaged_manifest_says_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ck = tmp_path / "ck"
    ck.mkdir()
    entries = [{"seq": 1}, {"seq": 2, "events_processed": 5, "file_index": 0, "byte_offset": 9}]
    (ck / "manifest.json").write_text(json.dumps({"symbol": "BTCUSDT", "entries": entries}))
    assert main(["pipeline", "status", str(ck)]) == 0
    cap = capsys.readouterr()
    assert "internal error" not in cap.err and "damaged manifest: entries [1]" in cap.err
    (ck / "manifest.json").write_text("[1, 2]")
    assert main(["pipeline", "status", str(ck)]) == 1
    assert "damaged manifest" in capsys.readouterr().err


def test_cli_run_shows_why_the_newest_checkpoint_was_not_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(f) for f in generate(tmp_path / "in", files=2, events_per_file=300, seed=1, depth=5)]
    ck = tmp_path / "ck"
    args = ["pipeline", "run", "BTCUSDT", *files, "--checkpoint-dir", str(ck), "--every-events", "100"]
    assert main(args) == 0
    newest = json.loads((ck / "manifest.json").read_text())["entries"][-1]
    (ck / newest["levels_file"]).unlink()
    capsys.readouterr()
    assert main(args) == 0
    err = capsys.readouterr().err
    assert f"checkpoint {newest['seq']} not used" in err and "is missing" in err
