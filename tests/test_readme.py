"""The README's Python examples and `examples/` run as written, in a fresh directory."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```$", text, re.S | re.M)


def run_script(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(script), *args]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done


def test_the_readme_examples_run_as_written(tmp_path: Path) -> None:
    blocks = python_blocks()
    assert len(blocks) >= 3, "the README lost its Python examples"
    script = tmp_path / "readme_examples.py"
    script.write_text("\n\n".join(blocks), encoding="utf-8")
    done = run_script(script, cwd=tmp_path)
    assert "no previous state to recover (clean start)" in done.stdout
    assert (tmp_path / "data" / "journals" / "BTC-USD.journal").is_file()
    assert (tmp_path / "data" / "fills.journal").is_file()


def test_the_quick_start_recovers_its_own_state_when_run_again(tmp_path: Path) -> None:
    script = tmp_path / "quick_start.py"
    script.write_text(python_blocks()[0], encoding="utf-8")
    run_script(script, cwd=tmp_path)
    done = run_script(script, cwd=tmp_path)
    assert "recovered {'BTC-USD': 1}" in done.stdout
    assert "None 64010.0" in done.stdout, "order 42 (partly filled) should rest alone on the ask"


def test_the_journal_example_script_runs(tmp_path: Path) -> None:
    run_script(ROOT / "examples" / "quickstart.py", str(tmp_path / "data"), cwd=tmp_path)
    assert any((tmp_path / "data").iterdir())


def test_the_journal_example_cleans_up_its_temporary_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    done = run_script(ROOT / "examples" / "quickstart.py", cwd=tmp_path)
    assert "OK: every entry recovered" in done.stdout and list(temp.iterdir()) == []


def test_the_examples_use_only_the_public_api() -> None:
    for script in (ROOT / "examples").glob("*.py"):
        private = re.findall(r"\.(_[a-z]\w*)\(", script.read_text(encoding="utf-8"))
        assert not private, f"{script.name} calls private {private}"


def test_links_in_the_docs_stay_inside_the_repository() -> None:
    """A package user has the repository, not its surroundings (no ../ out of it)."""
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        text = doc.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)", text) + re.findall(r"`(\.\./[^`]*)`", text):
            if re.match(r"[a-z]+://|mailto:", target):
                continue
            resolved = (doc.parent / target).resolve()
            assert resolved.is_relative_to(ROOT), f"{doc.name} links {target}, outside the repository"
            assert resolved.exists(), f"{doc.name} links {target}, which does not exist"
