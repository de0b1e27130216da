"""``pinnacle vault`` (and the security commands' password handling)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from pinnacle.cli import main

PW = "cli-master-pw"
LOW_KDF = ["--kdf-memory-kib", "8", "--kdf-time-cost", "1", "--kdf-parallelism", "1"]


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], stdin: str = ""
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_vault_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    vault = str(tmp_path / "d" / "credentials.vault")
    monkeypatch.setenv("PINNACLE_MASTER_PASSWORD", PW)
    assert run(monkeypatch, capsys, ["vault", "init", "--vault", vault, *LOW_KDF])[0] == 0
    code, out, _ = run(
        monkeypatch,
        capsys,
        ["vault", "set", "--vault", vault, "binance", "api_key", "api_secret"],
        "K-123\nS-456\n",
    )
    assert code == 0 and "K-123" not in out
    code, out, _ = run(monkeypatch, capsys, ["vault", "get", "--vault", vault, "binance"])
    assert code == 0 and out == "api_key: ***\napi_secret: ***\n"
    code, out, _ = run(monkeypatch, capsys, ["vault", "get", "--vault", vault, "binance", "--reveal"])
    assert out == "api_key: K-123\napi_secret: S-456\n"
    assert run(monkeypatch, capsys, ["vault", "list", "--vault", vault])[1] == "binance\n"
    monkeypatch.setenv("PINNACLE_NEW_MASTER_PASSWORD", "pw2")
    assert run(monkeypatch, capsys, ["vault", "passwd", "--vault", vault])[0] == 0
    code, _, err = run(monkeypatch, capsys, ["vault", "list", "--vault", vault])
    assert code == 1 and "wrong password" in err
    monkeypatch.setenv("PINNACLE_MASTER_PASSWORD", "pw2")
    assert run(monkeypatch, capsys, ["vault", "delete", "--vault", vault, "binance"])[0] == 0
    assert run(monkeypatch, capsys, ["vault", "list", "--vault", vault])[1] == ""
    code, _, err = run(monkeypatch, capsys, ["vault", "get", "--vault", vault, "binance"])
    assert code == 1 and "no credentials named 'binance'" in err


def test_vault_commands_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    vault = str(tmp_path / "credentials.vault")
    audit = ["--audit", str(tmp_path / "audit.journal")]
    monkeypatch.setenv("PINNACLE_MASTER_PASSWORD", PW)
    assert run(monkeypatch, capsys, ["vault", "init", "--vault", vault, *audit, *LOW_KDF])[0] == 0
    assert (
        run(monkeypatch, capsys, ["vault", "set", "--vault", vault, *audit, "k", "api_key"], "V-1\n")[0] == 0
    )
    assert run(monkeypatch, capsys, ["vault", "get", "--vault", vault, *audit, "k", "--reveal"])[0] == 0
    code, out, _ = run(monkeypatch, capsys, ["audit", "verify", "--journal", audit[1], "--vault", vault])
    assert code == 0 and '"records": 5' in out
    code, out, _ = run(monkeypatch, capsys, ["audit", "tail", "--journal", audit[1]])
    events = [json.loads(line)["event"] for line in out.splitlines()]
    assert events == ["vault.create", "vault.unlock", "vault.set", "vault.unlock", "vault.read"]
    assert "V-1" not in out


def test_vault_without_password_or_terminal_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PINNACLE_MASTER_PASSWORD", raising=False)
    code, _, err = run(monkeypatch, capsys, ["vault", "init", "--vault", str(tmp_path / "v"), *LOW_KDF])
    assert code == 1 and "PINNACLE_MASTER_PASSWORD" in err
    assert not (tmp_path / "v").exists()
