"""The audit journal: MAC chain, tamper detection, durability across kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pinnacle import Journal, JournalReader
from pinnacle.errors import AuditError, InvalidArgumentError, VaultError
from pinnacle.security import AUDIT_KIND, AuditLog, CredentialVault, KdfParams, Secret, verify_file
from pinnacle.security._audit_record import MAC_SIZE

KEY = bytes(range(32))
N = 10


def make_log(path: Path, n: int = N) -> None:
    with AuditLog(path, key=KEY) as log:
        for i in range(n):
            assert log.record("vault.unlock", actor="tester", detail={"i": i, "ok": i % 2 == 0}) == i


def payloads(path: Path) -> list[bytes]:
    with JournalReader(path, 0) as r:
        return [e.payload for e in r.poll()]


def rewrite(path: Path, items: list[bytes]) -> None:
    """What an attacker with write access and no key can do: rewrite the journal with valid CRCs."""
    path.unlink()
    with Journal(path) as j:
        for p in items:
            j.append(AUDIT_KIND, p)


def modify(items: list[bytes]) -> list[bytes]:
    p = items[4]
    body = json.loads(p[2 * MAC_SIZE :])
    body["detail"]["ok"] = not body["detail"]["ok"]
    items[4] = p[: 2 * MAC_SIZE] + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return items


def insert(items: list[bytes]) -> list[bytes]:
    prev_mac = items[3][:MAC_SIZE]
    body = json.dumps({"actor": "x", "detail": {}, "event": "vault.unlock", "n": 4, "t": 1}, sort_keys=True)
    return [*items[:4], os.urandom(MAC_SIZE) + prev_mac + body.encode(), *items[4:]]


TAMPERS: dict[str, tuple[Callable[[list[bytes]], list[bytes]], int]] = {
    "modified": (modify, 4),
    "inserted": (insert, 4),
    "deleted": (lambda it: it[:6] + it[7:], 6),
    "reordered": (lambda it: [*it[:3], it[4], it[3], *it[5:]], 3),
    "duplicated": (lambda it: [*it, it[2]], 2),
    "truncated": (lambda it: it[:7], 7),
}


@pytest.mark.parametrize("kind", sorted(TAMPERS))
def test_each_tamper_is_detected_and_named(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "audit.journal"
    make_log(path)
    assert verify_file(path, key=KEY).ok
    tamper, n = TAMPERS[kind]
    rewrite(path, tamper(payloads(path)))
    report = verify_file(path, key=KEY)
    assert not report.ok
    assert [(p.kind, p.n) for p in report.problems] == [(kind, n)], report.problems
    assert f"record {n}" in report.problems[0].message or f"records {n}" in report.problems[0].message


def test_untampered_rewrite_verifies(tmp_path: Path) -> None:
    path = tmp_path / "audit.journal"
    make_log(path)
    rewrite(path, payloads(path))  # the check would fail on a mere rewrite otherwise
    assert verify_file(path, key=KEY).ok


def test_deleted_head_with_cut_tail_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pinnacle.cli import main

    path = tmp_path / "audit.journal"
    make_log(path)
    key_file = tmp_path / "audit.key"
    key_file.write_text(KEY.hex() + "\n")
    key_file.chmod(0o600)
    argv = ["audit", "verify", "--journal", str(path), "--key-file", str(key_file)]
    rewrite(path, payloads(path)[:7])
    assert main(argv) == 1
    assert json.loads(capsys.readouterr().out.splitlines()[0])["kind"] == "truncated"
    # deleting the head as well must not make the cut tail pass
    (tmp_path / "audit.journal.head").unlink()
    report = verify_file(path, key=KEY)
    assert [(p.kind, p.n) for p in report.problems] == [("head_missing", None)]
    assert "chain head missing: a cut tail cannot be ruled out" in report.problems[0].message
    assert main(argv) == 1
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert out[0]["kind"] == "head_missing"
    assert out[-1] == {"ok": False, "records": 7, "last_n": 6, "stored_head_n": None, "problems": 1}


def test_head_is_stored_with_the_first_record(tmp_path: Path) -> None:
    path = tmp_path / "audit.journal"
    with AuditLog(path, key=KEY, head_every=1000) as log:
        log.record("vault.unlock")
        assert (tmp_path / "audit.journal.head").is_file()  # before close, far from head_every
        assert log.verify().ok and verify_file(path, key=KEY).ok
        log.record("vault.unlock")
        assert verify_file(path, key=KEY).stored_head_n == 0
    assert verify_file(path, key=KEY).stored_head_n == 1
    # an empty log needs no head
    with AuditLog(tmp_path / "empty.journal", key=KEY) as log:
        assert log.verify().ok


def test_crc_damage_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "audit.journal"
    make_log(path)
    raw = bytearray(path.read_bytes())
    at = raw.find(b'"i":5')
    raw[at + 4] ^= 0x01
    path.write_bytes(raw)
    report = verify_file(path, key=KEY)
    assert not report.ok and report.problems[0].kind == "journal"


def test_wrong_key_and_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "audit.journal"
    make_log(path)
    with pytest.raises(AuditError, match="fails its MAC"):
        AuditLog(path, key=bytes(32))
    with pytest.raises(AuditError, match="chain head"):
        verify_file(path, key=bytes(32))  # the stored head does not pass under another key
    with pytest.raises(InvalidArgumentError):
        AuditLog(tmp_path / "b.journal", key=b"short")
    with AuditLog(tmp_path / "c.journal", key=KEY) as log:
        for bad in ("", "Upper", "x" * 65, 5):
            with pytest.raises(InvalidArgumentError):
                log.record(bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError) as ei:
            log.record("vault.read", detail={"key": Secret("hunter2-secret")})
        assert "hunter2" not in str(ei.value)
        with pytest.raises(InvalidArgumentError):
            log.record("x", detail=[1])  # type: ignore[arg-type]
        assert log.verify().ok and log.verify().records == 0


def test_chain_continues_across_reopen_and_head_in_vault(tmp_path: Path) -> None:
    vault = CredentialVault.create(tmp_path / "v.vault", "pw", kdf=KdfParams(8, 1, 1))
    path = tmp_path / "audit.journal"
    for round_ in range(3):
        with AuditLog(path, key=vault.audit_key(), vault=vault, head_every=2) as log:
            for _ in range(3):
                log.record("config.change", detail={"round": round_})
            assert log.verify().ok
    head = vault.audit_head()
    assert head is not None and head["n"] == 8
    # cut the tail and the sidecar back together: the vault's head still tells
    rewrite(path, payloads(path)[:5])
    (tmp_path / "audit.journal.head").unlink()
    report = verify_file(path, key=vault.audit_key(), vault=vault)
    assert [(p.kind, p.n) for p in report.problems] == [("truncated", 5)]
    vault.close()


_RECORDER = textwrap.dedent(
    """
    import sys
    from pinnacle.security import AuditLog
    log = AuditLog(sys.argv[1], key=bytes(range(32)), head_every=7)
    while True:
        n = log.record("rate.reject", actor="child", detail={"pad": "x" * 50})
        print(n, flush=True)
    """
)


def test_kill9_while_recording_loses_nothing_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "audit.journal"
    acked = -1
    for round_ in range(8):
        argv = [sys.executable, "-c", _RECORDER, str(path)]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        for _ in range(3 + round_ * 5):
            line = proc.stdout.readline()
            assert line, "the recorder died"
            acked = int(line)
        time.sleep(0.002 * round_)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        report = verify_file(path, key=KEY)
        assert report.ok, report.problems
        assert report.head_n is not None and report.head_n >= acked
        with AuditLog(path, key=KEY) as log:  # recovery of the journal, then the chain goes on
            assert log.verify().ok
            assert [r.n for r in log.records()] == list(range(report.head_n + 1))
    assert verify_file(path, key=KEY).ok


def test_each_snapshot_stores_the_audit_chain_head(tmp_path: Path) -> None:
    from pinnacle import PersistenceManager

    path = tmp_path / "audit.journal"
    head_file = tmp_path / "audit.journal.head"
    audit = AuditLog(path, key=KEY, head_every=1000)
    with PersistenceManager(tmp_path / "data", maintenance=False, audit=audit) as pm:
        book = pm.order_book("BTC-USD")
        for i in range(5):
            audit.record("config.change", detail={"i": i})
        assert json.loads(head_file.read_text())["n"] == 0  # only the first record's head so far
        book.add_order(1, "buy", "100.5", "2")
        pm.snapshot("BTC-USD")
        at_snapshot = head_file.read_text()
        assert json.loads(at_snapshot) == audit.head() and audit.head()["n"] == 5  # type: ignore[index]
        audit.record("config.change", detail={"i": 5})
    audit.close()
    # the process dies before closing the log (the sidecar holds the snapshot's head), then
    # the tail is cut back past the snapshot: verify sees it
    head_file.write_text(at_snapshot)
    rewrite(path, payloads(path)[:4])
    assert [(p.kind, p.n) for p in verify_file(path, key=KEY).problems] == [("truncated", 4)]


def test_persistence_manager_records_its_events(tmp_path: Path) -> None:
    from pinnacle import DataDirectoryLockedError, PersistenceManager

    data = tmp_path / "data"
    audit = AuditLog(tmp_path / "audit.journal", key=KEY)
    with PersistenceManager(data, maintenance=False, audit=audit) as pm:
        pm.order_book("BTC-USD").add_order(1, "buy", "100.5", "2")
        with pytest.raises(DataDirectoryLockedError):
            PersistenceManager(data, maintenance=False, audit=audit)
    cfg = {"snapshotIntervalMin": 5.0}
    with PersistenceManager(data, cfg, maintenance=False, audit=audit) as pm:
        assert pm.recover_state()
    with PersistenceManager(data, cfg, maintenance=False, audit=audit) as pm:
        pm.order_book("BTC-USD")  # recovered on first use
    events = [(r.event, r.detail) for r in audit.records()]
    names = [e for e, _ in events]
    assert names == [
        "persistence.open",
        "datadir.lock_refused",
        "persistence.open",
        "config.change",
        "recovery.run",
        "persistence.open",
        "recovery.run",
    ]
    assert events[3][1]["changed"] == {"snapshotIntervalMin": [15, 5.0]}
    run = events[4][1]
    assert run["result"] == "ok" and run["recovered"] == {"BTC-USD": 1} and run["failed"] == {}
    assert events[6][1]["recovered"] == {"BTC-USD": 1}
    assert audit.verify().ok
    audit.close()
    with pytest.raises(InvalidArgumentError):
        PersistenceManager(data, maintenance=False, audit="audit.journal")  # type: ignore[arg-type]


def test_vault_events_are_audited_without_secrets(tmp_path: Path) -> None:
    vp = tmp_path / "v.vault"
    vault = CredentialVault.create(vp, "pw", kdf=KdfParams(8, 1, 1))
    audit = AuditLog(tmp_path / "audit.journal", key=vault.audit_key(), vault=vault, head_every=1)
    vault.attach_audit(audit)
    vault.set("binance", api_key="AK-SECRET-1", api_secret="AS-SECRET-2")
    vault.get("binance")
    with pytest.raises(VaultError):
        vault.change_password("wrong", "new")
    vault.change_password("pw", "new")
    vault.delete("binance")
    with pytest.raises(VaultError, match="wrong password"):
        CredentialVault.open(vp, "pw", audit=audit)
    (tmp_path / "junk.vault").write_bytes(b"not a vault")
    with pytest.raises(VaultError, match="bad magic"):
        CredentialVault.open(tmp_path / "junk.vault", "pw", audit=audit)
    events = [(r.event, r.detail.get("result"), r.detail.get("fields")) for r in audit.records()]
    assert events == [
        ("vault.unlock", "ok", None),
        ("vault.set", None, ["api_key", "api_secret"]),
        ("vault.read", None, ["api_key", "api_secret"]),
        ("vault.passwd", "refused: wrong old password", None),
        ("vault.passwd", "ok", None),
        ("vault.delete", None, None),
        ("vault.unlock", "failed", None),
        ("vault.unlock", "failed", None),
    ]
    assert audit.verify().ok
    audit.close()
    head = vault.audit_head()
    assert head is not None and head["n"] == 7
    vault.close()
    raw = (tmp_path / "audit.journal").read_bytes()
    assert b"SECRET" not in raw and b"AK-" not in raw


def test_audit_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pinnacle.cli import main

    path = tmp_path / "audit.journal"
    make_log(path, 5)
    key_file = tmp_path / "audit.key"
    key_file.write_text(KEY.hex() + "\n")
    key_file.chmod(0o600)
    assert main(["audit", "verify", "--journal", str(path), "--key-file", str(key_file)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert json.loads(out[-1]) == {"ok": True, "records": 5, "last_n": 4, "stored_head_n": 4, "problems": 0}
    assert main(["audit", "tail", "--journal", str(path), "-n", "2"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["n"] for x in lines] == [3, 4] and lines[0]["event"] == "vault.unlock"
    rewrite(path, payloads(path)[:3])
    assert main(["audit", "verify", "--journal", str(path), "--key-file", str(key_file)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert json.loads(out[0])["kind"] == "truncated" and not json.loads(out[-1])["ok"]
    key_file.chmod(0o644)
    assert main(["audit", "verify", "--journal", str(path), "--key-file", str(key_file)]) == 1
    assert "chmod 600" in capsys.readouterr().err
    # --vault: key and chain head from the vault
    vp = tmp_path / "v.vault"
    vault = CredentialVault.create(vp, "pw", kdf=KdfParams(8, 1, 1))
    with AuditLog(tmp_path / "a2.journal", key=vault.audit_key(), vault=vault) as log:
        log.record("config.change")
    vault.close()
    monkeypatch.setenv("PINNACLE_MASTER_PASSWORD", "pw")
    assert main(["audit", "verify", "--journal", str(tmp_path / "a2.journal"), "--vault", str(vp)]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["ok"]


def test_audit_tail_follow(tmp_path: Path) -> None:
    path = tmp_path / "audit.journal"
    make_log(path, 2)
    argv = [sys.executable, "-m", "pinnacle.cli", "audit", "tail", "--follow", "--journal", str(path)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert [json.loads(proc.stdout.readline())["n"] for _ in range(2)] == [0, 1]
        with AuditLog(path, key=KEY) as log:
            log.record("recovery.run", detail={"result": "ok"})
        line = json.loads(proc.stdout.readline())
        assert (line["n"], line["event"], line["detail"]) == (2, "recovery.run", {"result": "ok"})
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
