"""The command line with bad numbers, on damaged data, and its progress display: usage
errors exit 2, shown damage exits 1, messages name the user's paths and options."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from test_cli_tools import build, entry_offsets, flip, run

from pinnacle.cli import _console
from pinnacle.cli._console import StatusLine


@pytest.fixture
def data(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    build(d)
    return d


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["--from-seq", "-5"], "argument --from-seq: must be between 0 and 18446744073709551615, got -5"),
        (["--from-seq", "18446744073709551616"], "argument --from-seq: must be between 0 and"),
        (["--to-seq", "x"], "argument --to-seq: expected a sequence number, got 'x'"),
        (["--limit", "-1"], "argument --limit: must be between 0 and"),
        (["--kind", "70000"], "--kind: an entry kind is between 0 and 65535, got 70000"),
    ],
)
def test_inspect_refuses_numbers_out_of_range_as_usage_errors(
    data: Path, argv: list[str], text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    j = str(data / "journals" / "BTC-USD.journal")
    code, out, err = run(capsys, "inspect", j, "--entries", *argv)
    assert code == 2 and text in err and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err


def test_inspect_from_the_largest_seq_lists_nothing(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    j = str(data / "journals" / "BTC-USD.journal")
    code, out, err = run(capsys, "inspect", j, "--entries", "--from-seq", str(2**64 - 1), "--json")
    assert code == 0 and json.loads(out)["entries"] == [] and err == ""


def test_inspect_exits_1_when_it_shows_damage(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "inspect", str(data))[0] == 0
    journal = data / "journals" / "BTC-USD.journal"
    flip(journal, entry_offsets(journal)[30][0] + 40)
    for argv in ([str(data)], [str(journal)], [str(journal), "--json"]):
        code, out, _ = run(capsys, "inspect", *argv)
        assert code == 1 and ("ERROR: " in out or '"severity": "error"' in out), out


def test_recover_dry_run_speaks_of_the_users_directory_and_options(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = data / "journals" / "BTC-USD.journal"
    flip(journal, entry_offsets(journal)[30][0] + 40)
    code, out, _ = run(capsys, "recover", str(data))
    assert code == 1 and f"corruption in {journal}" in out, out
    assert "pinnacle-recover-" not in out and "recovery='point_in_time'" not in out
    assert "pinnacle recover --mode skip_corrupted" in out
    code, out, _ = run(capsys, "recover", str(data), "--json")
    doc = json.loads(out)
    assert code == 1 and str(journal) in doc["error"] and "pinnacle-recover-" not in out


def test_a_damaged_snapshot_is_named_once_and_the_fallback_told_as_it_is(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snaps = sorted((data / "snapshots" / "BTC-USD").glob("*.snapshot"))
    assert len(snaps) == 2
    flip(snaps[1], 60)  # the newest
    code, out, _ = run(capsys, "recover", str(data))
    assert code == 0 and out.count(snaps[1].name) == 1, out
    line = next(x for x in out.splitlines() if "damaged or unreadable" in x)
    assert line.endswith(f"trying the previous one, {snaps[0].name}"), line
    flip(snaps[0], 60)
    code, out, _ = run(capsys, "recover", str(data))
    lines = [x for x in out.splitlines() if "damaged or unreadable" in x]
    assert code == 0 and len(lines) == 2 and out.count(snaps[0].name) == 2  # named by the first
    assert lines[1].endswith("no older snapshot") and "previous" not in lines[1]


def test_progress_on_a_terminal_shows_the_percentage_in_place() -> None:
    out = io.StringIO()
    s = StatusLine(out, tty=True)
    s.update("verifying BTC-USD: 5000 entries", 0.421)
    s.update("too soon", 0.5)  # rate-limited: at most 10 a second
    s.update("verifying ETH-USD", 1.0, force=True)
    s.clear()
    assert out.getvalue() == (
        "\r\x1b[2Kverifying BTC-USD: 5000 entries (42%)\r\x1b[2Kverifying ETH-USD (100%)\r\x1b[2K"
    )


def test_progress_elsewhere_is_a_periodic_log_line(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(capsys, "verify", str(data))
    assert code == 0 and err == ""  # quicker than PROGRESS_LOG_EVERY: no line
    monkeypatch.setattr(_console, "PROGRESS_LOG_EVERY", 0.0)
    code, _, err = run(capsys, "verify", str(data))
    assert code == 0 and "pinnacle: verifying BTC-USD: 302 entries (" in err, err
    assert all(x.startswith("pinnacle: ") and x.endswith(" s elapsed") for x in err.splitlines())
    assert "\r" not in err and "\x1b" not in err
    code, _, err = run(capsys, "recover", str(data))
    assert code == 0 and "pinnacle: recovering: 2 of 2 symbols (100%)" in err, err
    assert "pinnacle: copying " in err
