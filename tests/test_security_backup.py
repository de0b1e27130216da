"""Encrypted backups: consistent under load, authenticated, atomic, restorable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pyrage
import pytest

from pinnacle import OrderBook, PersistenceManager
from pinnacle.errors import BackupError, InvalidArgumentError
from pinnacle.security.backup import create_backup, read_backup, restore_backup

IDENTITY = pyrage.x25519.Identity.generate()
RECIPIENT = str(IDENTITY.to_public())
IDS = [str(IDENTITY)]


def orders_of(book: OrderBook) -> list[tuple[object, ...]]:
    return sorted((o.order_id, o.side, o.price, o.remaining_quantity) for o in book.orders())


def state(data: Path) -> dict[str, list[tuple[object, ...]]]:
    with PersistenceManager(data, maintenance=False) as pm:
        pm.recover_state()
        out = {s: orders_of(b) for s, b in pm.get_all_recovered_order_books().items()}
        pm.shutdown(snapshot=False)
        return out


def make_data(data: Path, n: int = 200) -> None:
    with PersistenceManager(data, maintenance=False) as pm:
        for sym in ("BTC-USD", "ETH-USD"):
            book = pm.order_book(sym)
            for i in range(n):
                book.add_order(
                    i, "buy" if i % 2 else "sell", 100 - i % 7 if i % 2 else 101 + i % 5, 1 + i % 3
                )
            pm.snapshot(sym)
            for i in range(n, n + 20):
                book.add_order(i, "buy", 90, 1)
            book.cancel_order(n + 3)


def test_passphrase_roundtrip_and_wrong_passphrase(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_data(data)
    out = tmp_path / "b.age"
    info = create_backup(data, out, passphrase="correct horse")
    assert set(info.streams) == {"journals/BTC-USD.journal", "journals/ETH-USD.journal"}
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"
    assert b"BTC-USD" not in out.read_bytes()  # encrypted
    with pytest.raises(BackupError, match="cannot decrypt"):
        read_backup(out, passphrase="wrong")
    restore_backup(out, tmp_path / "restored", passphrase="correct horse")
    assert state(tmp_path / "restored") == state(data)
    assert oct(os.stat(tmp_path / "restored").st_mode & 0o777) == "0o700"


def test_x25519_roundtrip_damage_and_inputs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_data(data, 50)
    (data / "notes.txt").write_text("kept")
    out = tmp_path / "b.age"
    create_backup(data, out, recipients=[RECIPIENT])
    _, files = read_backup(out, identities=IDS)
    assert files["notes.txt"] == b"kept" and ".lock" not in files
    other = str(pyrage.x25519.Identity.generate())
    with pytest.raises(BackupError):
        read_backup(out, identities=[other])
    raw = out.read_bytes()
    for at in (len(raw) // 2, len(raw) - 1, 40):
        bad = bytearray(raw)
        bad[at] ^= 0x10
        out.write_bytes(bad)
        with pytest.raises(BackupError):
            read_backup(out, identities=IDS)
    for n in (0, 100, len(raw) // 2, len(raw) - 1):
        out.write_bytes(raw[:n])
        with pytest.raises(BackupError):
            read_backup(out, identities=IDS)
    out.write_bytes(raw)
    with pytest.raises(BackupError, match="exists"):
        create_backup(data, out, recipients=[RECIPIENT])
    with pytest.raises(InvalidArgumentError):
        create_backup(data, tmp_path / "c.age")
    with pytest.raises(InvalidArgumentError):
        create_backup(data, tmp_path / "c.age", passphrase="x", recipients=[RECIPIENT])
    with pytest.raises(InvalidArgumentError, match="recipient"):
        create_backup(data, tmp_path / "c.age", recipients=["age1nope"])
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(InvalidArgumentError, match="not an empty directory"):
        restore_backup(out, tmp_path / "full", identities=IDS)
    assert not (tmp_path / "c.age").exists()


def test_backup_under_load_restores_the_state_at_the_recorded_seq(tmp_path: Path) -> None:
    data = tmp_path / "data"
    stop = threading.Event()
    ops: list[tuple[int, tuple[object, ...]]] = []  # (journal seq after the op, op)
    pm = PersistenceManager(data, maintenance=False)
    book = pm.order_book("BTC-USD", "0.5", "1")
    journal = pm.get_journal("BTC-USD")
    assert journal is not None

    def trade() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            if i % 5 == 0:
                book.cancel_order(i - 3)
                op: tuple[object, ...] = ("cancel", i - 3)
            else:
                side = "buy" if i % 2 else "sell"
                price = 100 - (i % 9) * 0.5 if side == "buy" else 101 + (i % 9) * 0.5
                book.add_order(i, side, price, 1 + i % 4)
                op = ("add", i, side, price, 1 + i % 4)
            ops.append((journal.last_seq, op))
            if i % 400 == 0:
                pm.snapshot("BTC-USD")
                ops.append((journal.last_seq, ("checkpoint",)))

    t = threading.Thread(target=trade)
    t.start()
    try:
        time.sleep(0.3)
        infos = [create_backup(data, tmp_path / f"b{k}.age", recipients=[RECIPIENT]) for k in range(3)]
    finally:
        stop.set()
        t.join()
        pm.shutdown()
    for k, info in enumerate(infos):
        seq = info.streams["journals/BTC-USD.journal"]
        ref = OrderBook("BTC-USD", "0.5", "1")
        for s, op in ops:
            if s > seq:
                break
            if op[0] == "add":
                ref.add_order(op[1], op[2], op[3], op[4])
            elif op[0] == "cancel":
                ref.cancel_order(op[1])
        assert any(s == seq for s, _ in ops)  # the recorded seq is a whole operation
        restore_backup(tmp_path / f"b{k}.age", tmp_path / f"r{k}", identities=IDS)
        assert state(tmp_path / f"r{k}") == {"BTC-USD": orders_of(ref)}


_CREATOR = textwrap.dedent(
    """
    import sys
    from pinnacle.security.backup import create_backup
    print("start", flush=True)
    create_backup(sys.argv[1], sys.argv[2], recipients=[sys.argv[3]])
    print("done", flush=True)
    """
)


def test_kill9_during_create_leaves_nothing_that_verifies_as_complete(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_data(data, 3000)
    ref = create_backup(data, tmp_path / "ref.age", recipients=[RECIPIENT])
    outdir = tmp_path / "out"
    outdir.mkdir()
    out = outdir / "b.age"
    for round_ in range(8):
        out.unlink(missing_ok=True)
        argv = [sys.executable, "-c", _CREATOR, str(data), str(out), RECIPIENT]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline() == "start\n"
        time.sleep(0.04 * round_)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        # Every file left is either rejected or a whole backup: OUT itself, or (killed
        # between the temporary file's fsync and its rename) a complete temporary file.
        for name in os.listdir(outdir):
            if ".staging-" in name:
                continue
            try:
                info, files = read_backup(outdir / name, identities=IDS)
            except BackupError:
                assert name != "b.age"  # OUT is never partial
                continue
            assert set(files) == set(ref.files) and info.streams == ref.streams
    out.unlink(missing_ok=True)
    create_backup(data, out, recipients=[RECIPIENT])  # removes what the killed runs left
    assert os.listdir(outdir) == ["b.age"]
    read_backup(out, identities=IDS)


def test_backup_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pinnacle.cli import main

    data = tmp_path / "data"
    make_data(data, 20)
    key = tmp_path / "key.txt"
    key.write_text(f"# created: test\n{IDS[0]}\n")
    key.chmod(0o600)
    out = str(tmp_path / "b.age")
    assert main(["backup", "create", str(data), out, "--recipient", RECIPIENT]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["backup", "verify", out, "--identity-file", str(key)]) == 0
    assert capsys.readouterr().out.startswith("ok ")
    assert main(["backup", "restore", out, str(tmp_path / "r"), "--identity-file", str(key)]) == 0
    assert state(tmp_path / "r") == state(data)
    with PersistenceManager(data, maintenance=False) as pm:
        pm.order_book("BTC-USD").add_order(999, "buy", 50, 1)
    out2 = str(tmp_path / "b2.age")
    argv = ["backup", "create", str(data), out2, "--recipient", RECIPIENT, "--base", out]
    assert main(argv) == 2  # reading an X25519 base needs its identity
    assert "--base-identity-file" in capsys.readouterr().err
    assert main([*argv, "--base-identity-file", str(key)]) == 0
    assert '"kind": "incremental"' in capsys.readouterr().out
    assert main(["backup", "restore", out, out2, str(tmp_path / "r2"), "--identity-file", str(key)]) == 0
    assert state(tmp_path / "r2") == state(data)
    (tmp_path / "bad.age").write_bytes(b"age-encryption.org/v1\n garbage")
    assert main(["backup", "verify", str(tmp_path / "bad.age"), "--identity-file", str(key)]) == 1
    assert "cannot decrypt" in capsys.readouterr().err


def test_incremental_chain_restores_each_state(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_data(data, 100)
    (data / "notes.txt").write_text("v1")
    (data / "gone.txt").write_text("deleted later")
    full = create_backup(data, tmp_path / "0.age", recipients=[RECIPIENT])
    states = [state(data)]
    with PersistenceManager(data, maintenance=False) as pm:  # more entries, a new snapshot
        book = pm.order_book("BTC-USD")
        for i in range(1000, 1100):
            book.add_order(i, "buy", 80, 1)
        pm.snapshot("BTC-USD")
        book.cancel_order(1005)
    (data / "notes.txt").write_text("v2")
    (data / "gone.txt").unlink()
    inc1 = create_backup(
        data, tmp_path / "1.age", recipients=[RECIPIENT], base=tmp_path / "0.age", base_identities=IDS
    )
    states.append(state(data))
    with PersistenceManager(data, maintenance=False) as pm:  # a new symbol
        pm.order_book("SOL-USD").add_order(1, "sell", 20, 3)
    inc2 = create_backup(
        data, tmp_path / "2.age", recipients=[RECIPIENT], base=tmp_path / "1.age", base_identities=IDS
    )
    states.append(state(data))

    assert full.kind == "full" and inc1.kind == inc2.kind == "incremental"
    assert inc1.deleted == ["gone.txt"] and "notes.txt" in inc1.files
    assert "journals/ETH-USD.journal" not in inc1.files  # unchanged journal: no full copy
    btc = "journals/BTC-USD.journal"
    assert inc1.entries[btc] == [full.streams[btc] + 1, inc1.streams[btc]]
    assert inc1.bytes_plain < full.bytes_plain / 2
    assert "journals/SOL-USD.journal" in inc2.files  # new journal: whole
    paths = [tmp_path / f"{k}.age" for k in range(3)]
    for k in range(3):
        restore_backup(paths[: k + 1], tmp_path / f"r{k}", identities=IDS)
        assert state(tmp_path / f"r{k}") == states[k]
    assert (tmp_path / "r1" / "notes.txt").read_text() == "v2" and not (tmp_path / "r1" / "gone.txt").exists()
    with pytest.raises(BackupError, match="comes next"):
        restore_backup([paths[0], paths[2]], tmp_path / "bad", identities=IDS)  # a skipped increment
    with pytest.raises(BackupError, match="comes next"):
        restore_backup([paths[1]], tmp_path / "bad2", identities=IDS)  # an increment alone


def test_incremental_after_compaction_copies_the_journal_whole(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_data(data, 50)
    create_backup(data, tmp_path / "0.age", recipients=[RECIPIENT])
    with PersistenceManager(data, maintenance=False) as pm:
        book = pm.order_book("BTC-USD")
        for i in range(1000, 1050):
            book.add_order(i, "buy", 80, 1)
        pm.snapshot("BTC-USD")
        journal = pm.get_journal("BTC-USD")
        assert journal is not None
        journal.compact(journal.last_seq)  # the base's last entries are gone from the file
    inc = create_backup(
        data, tmp_path / "1.age", recipients=[RECIPIENT], base=tmp_path / "0.age", base_identities=IDS
    )
    assert "journals/BTC-USD.journal" in inc.files and "journals/BTC-USD.journal" not in inc.entries
    restore_backup([tmp_path / "0.age", tmp_path / "1.age"], tmp_path / "r", identities=IDS)
    assert state(tmp_path / "r") == state(data)
