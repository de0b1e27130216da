"""The credential vault: authenticated encryption, atomic writes, no secret in the clear."""

from __future__ import annotations

import errno
import logging
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pinnacle import PinnacleError, _core
from pinnacle.errors import CredentialNotFoundError, InvalidArgumentError, VaultError
from pinnacle.security import CredentialVault, KdfParams, Secret
from pinnacle.security import _vault_format as fmt

FAST = KdfParams(memory_kib=8, time_cost=1, parallelism=1)
"""Test-only costs (the defaults take ~0.5 s per open)."""
PW = "correct horse battery staple"
API_KEY = "AKIA-very-secret-key-4711"
API_SECRET = "s3cr3t-Zz9-the-other-one"


@pytest.fixture
def vault_path(tmp_path: Path) -> Path:
    return tmp_path / "private" / "credentials.vault"


def make_vault(path: Path) -> bytes:
    with CredentialVault.create(path, PW, kdf=FAST) as v:
        v.set("binance", api_key=API_KEY, api_secret=API_SECRET, passphrase=None)
    return path.read_bytes()


def test_roundtrip_names_delete_and_masking(vault_path: Path) -> None:
    make_vault(vault_path)
    with CredentialVault.open(vault_path, PW) as v:
        assert v.names() == ["binance"]
        creds = v.get("binance")
        assert sorted(creds) == ["api_key", "api_secret"]  # passphrase=None is left out
        assert creds.api_key.reveal() == API_KEY
        assert creds["api_secret"].reveal() == API_SECRET
        for text in (repr(creds), str(creds), repr(creds.api_key), str(creds.api_key), f"{creds.api_key}"):
            assert API_KEY not in text and API_SECRET not in text
        assert "***" in repr(creds) and str(creds.api_key) == "***"
        v.set("kraken", api_key="k2")
        v.delete("binance")
        with pytest.raises(CredentialNotFoundError):
            v.get("binance")
        with pytest.raises(CredentialNotFoundError):
            v.delete("binance")
    with CredentialVault.open(vault_path, PW) as v:
        assert v.names() == ["kraken"]
        assert v.get("kraken").api_key.reveal() == "k2"


def test_kdf_params_in_header_and_defaults(vault_path: Path) -> None:
    raw = make_vault(vault_path)
    h = fmt.parse_header(raw, str(vault_path))
    assert h.kdf == FAST and raw[:8] == b"PNVAULT\x00"
    assert KdfParams().memory_kib >= 64 * 1024  # the defaults are never weakened
    with pytest.raises(InvalidArgumentError):
        KdfParams(memory_kib=4)


def test_fresh_salt_per_file_and_nonce_per_write(tmp_path: Path) -> None:
    a, b = tmp_path / "a.vault", tmp_path / "b.vault"
    make_vault(a)
    make_vault(b)
    ha, hb = (fmt.parse_header(p.read_bytes(), str(p)) for p in (a, b))
    assert ha.salt != hb.salt
    nonces = {ha.nonce}
    with CredentialVault.open(a, PW) as v:
        for i in range(5):
            v.set("x", api_key=str(i))
            h = fmt.parse_header(a.read_bytes(), str(a))
            assert h.salt == ha.salt
            nonces.add(h.nonce)
    assert len(nonces) == 6


def test_wrong_password(vault_path: Path) -> None:
    raw = make_vault(vault_path)
    with pytest.raises(VaultError, match="wrong password") as ei:
        CredentialVault.open(vault_path, PW + "x")
    assert isinstance(ei.value, PinnacleError) and ei.value.path == str(vault_path)
    assert vault_path.read_bytes() == raw


def test_every_single_bit_flip_is_refused(vault_path: Path) -> None:
    raw = make_vault(vault_path)
    assert len(raw) < 400
    for i in range(len(raw) * 8):
        bad = bytearray(raw)
        bad[i // 8] ^= 1 << (i % 8)
        vault_path.write_bytes(bad)
        with pytest.raises(VaultError):
            CredentialVault.open(vault_path, PW)
        assert vault_path.read_bytes() == bad  # opening never writes


def test_truncation_at_every_byte_is_refused(vault_path: Path) -> None:
    raw = make_vault(vault_path)
    for n in range(len(raw)):
        vault_path.write_bytes(raw[:n])
        with pytest.raises(VaultError):
            CredentialVault.open(vault_path, PW)
        assert vault_path.read_bytes() == raw[:n]


def test_newer_version_is_refused(vault_path: Path) -> None:
    raw = bytearray(make_vault(vault_path))
    raw[8:10] = (fmt.VERSION + 1).to_bytes(2, "little")
    vault_path.write_bytes(raw)
    with pytest.raises(VaultError, match="newer pinnacle"):
        CredentialVault.open(vault_path, PW)


def test_permissions(vault_path: Path) -> None:
    make_vault(vault_path)
    assert stat.S_IMODE(os.stat(vault_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(vault_path.parent).st_mode) == 0o700
    assert sorted(os.listdir(vault_path.parent)) == [".credentials.vault.lock", "credentials.vault"]
    assert stat.S_IMODE(os.stat(vault_path.parent / ".credentials.vault.lock").st_mode) == 0o600


def test_create_refuses_an_existing_file(vault_path: Path) -> None:
    raw = make_vault(vault_path)
    with pytest.raises(VaultError, match="already exists"):
        CredentialVault.create(vault_path, PW, kdf=FAST)
    assert vault_path.read_bytes() == raw


def test_change_password(vault_path: Path) -> None:
    raw = make_vault(vault_path)
    salt0 = fmt.parse_header(raw, "").salt
    with CredentialVault.open(vault_path, PW) as v:
        with pytest.raises(VaultError, match="old password is wrong"):
            v.change_password("nope", "new-pw")
        assert vault_path.read_bytes() == raw
        v.change_password(PW, "new-pw")
        v.set("after", api_key="a")  # the handle keeps working under the new key
    assert fmt.parse_header(vault_path.read_bytes(), "").salt != salt0
    with pytest.raises(VaultError):
        CredentialVault.open(vault_path, PW)
    with CredentialVault.open(vault_path, "new-pw") as v:
        assert v.get("binance").api_key.reveal() == API_KEY
        assert v.names() == ["after", "binance"]


def test_refuses_to_overwrite_another_writers_change(vault_path: Path) -> None:
    make_vault(vault_path)
    a = CredentialVault.open(vault_path, PW)
    with CredentialVault.open(vault_path, PW) as b:
        b.set("from-b", api_key="b")
    after_b = vault_path.read_bytes()
    with pytest.raises(VaultError, match="changed or removed by someone else"):
        a.set("from-a", api_key="a")
    assert vault_path.read_bytes() == after_b
    assert "from-a" not in a.names()  # the refused change is not kept in memory either
    a.close()


def test_fault_in_atomic_write_leaves_the_old_vault(vault_path: Path) -> None:
    raw = make_vault(vault_path)
    v = CredentialVault.open(vault_path, PW)
    _core._inject_fault("fsync", errno.EIO, 1)  # the temp file's data sync, in the core's protocol
    try:
        with pytest.raises(OSError) as info:
            v.set("binance", api_key="new", api_secret="new")
    finally:
        _core._clear_faults()
    assert info.value.errno == errno.EIO
    assert vault_path.read_bytes() == raw
    assert sorted(os.listdir(vault_path.parent)) == [".credentials.vault.lock", "credentials.vault"]
    assert v.get("binance").api_key.reveal() == API_KEY  # rolled back in memory too
    v.close()


_WRITER = textwrap.dedent(
    """
    import sys
    from pinnacle.security import CredentialVault, KdfParams
    v = CredentialVault.open(sys.argv[1], sys.argv[2])
    i = 0
    while True:
        i += 1
        v.set("counter", api_key=str(i), api_secret="x" * (i % 300))
        print(i, flush=True)
    """
)


def test_kill9_during_writes_leaves_old_or_new_vault(vault_path: Path) -> None:
    make_vault(vault_path)
    last_acked = 0
    for round_ in range(12):
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(vault_path), PW], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        for _ in range(1 + round_ % 4):
            line = proc.stdout.readline()
            assert line, "the writer died"
            last_acked = int(line)
        time.sleep(0.001 * (round_ % 5))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        with CredentialVault.open(vault_path, PW) as v:  # never torn
            got = int(v.get("counter").api_key.reveal())
            assert got >= last_acked  # an acknowledged write is durable
            assert v.get("binance").api_key.reveal() == API_KEY
        # the next writer removes the temporary file an interrupted write left behind
    with CredentialVault.open(vault_path, PW) as v:
        v.set("final", api_key="f")
    assert not [n for n in os.listdir(vault_path.parent) if ".tmp-" in n]


def test_no_secret_in_logs_reprs_or_errors(vault_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    make_vault(vault_path)
    texts: list[str] = []
    with CredentialVault.open(vault_path, PW) as v:
        creds = v.get("binance")
        logging.getLogger("test").info("credentials %s %r %s", creds, creds, creds.api_key)
        texts += [repr(v), str(v), repr(creds), str(creds), repr(dict(creds)), repr(list(creds.values()))]
        for bad in (lambda: v.get("missing"), lambda: v.set("bad name!", api_key=API_KEY)):
            with pytest.raises(PinnacleError) as ei:
                bad()
            texts += [str(ei.value), repr(ei.value)]
        with pytest.raises(VaultError) as ei2:
            v.change_password(API_SECRET, API_KEY)
        texts += [str(ei2.value), repr(ei2.value)]
    with pytest.raises(VaultError) as ei3:
        CredentialVault.open(vault_path, API_KEY)
    texts += [str(ei3.value), repr(ei3.value)]
    texts += [r.getMessage() for r in caplog.records] + [caplog.text]
    blob = "\n".join(texts)
    assert "credentials.vault" in blob  # the logs did capture the vault's messages
    for secret in (API_KEY, API_SECRET, PW):
        assert secret not in blob
    assert API_KEY.encode() not in vault_path.read_bytes()
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(creds)


def test_close_wipes_and_refuses(vault_path: Path) -> None:
    make_vault(vault_path)
    v = CredentialVault.open(vault_path, PW)
    creds = v.get("binance")
    held = v._entries["binance"]["api_key"]
    kept = v.get("binance").api_secret  # a field kept after its Credentials went away
    own = Secret("mine")
    own.wipe()
    with pytest.raises(ValueError, match="wiped"):
        own.reveal()
    v.close()
    assert held.wiped and creds.api_key.wiped and kept.wiped  # close wipes what get() returned
    for s in (creds.api_key, creds.api_secret, kept):
        with pytest.raises(VaultError, match="vault closed") as ei:
            s.reveal()
        assert ei.value.path == str(vault_path)
    creds.wipe()  # still idempotent
    with pytest.raises(VaultError, match="closed"):
        v.names()


def test_bad_input(vault_path: Path) -> None:
    make_vault(vault_path)
    with pytest.raises(InvalidArgumentError):
        CredentialVault.open(vault_path, "")
    with pytest.raises(InvalidArgumentError):
        CredentialVault.create(vault_path.with_name("x.vault"), 123, kdf=FAST)  # type: ignore[arg-type]
    with CredentialVault.open(vault_path, PW) as v:
        for call in (
            lambda: v.set("ok"),
            lambda: v.set("ok", api_key=None),
            lambda: v.set("ok", **{"Bad-Field": "x"}),
            lambda: v.set("ok", api_key=12),  # type: ignore[arg-type]
            lambda: v.set("../x", api_key="x"),
        ):
            with pytest.raises(InvalidArgumentError):
                call()
        assert v.names() == ["binance"]
    with pytest.raises(VaultError, match="no vault there"):
        CredentialVault.open(vault_path.with_name("missing.vault"), PW)
    assert Secret("x") == Secret("x")


def test_import_pinnacle_without_the_security_extra(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        for m in ("cryptography", "argon2", "pyrage"):
            sys.modules[m] = None  # makes "import m" raise ImportError
        import pinnacle, pinnacle.cli, pinnacle.security
        from pinnacle.errors import MissingDependencyError
        try:
            pinnacle.security.CredentialVault.create(sys.argv[1], "pw")
        except MissingDependencyError as e:
            assert isinstance(e, ImportError) and "pinnacle[security]" in str(e), e
            print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "v.vault")], capture_output=True, text=True, check=True
    )
    assert out.stdout == "ok\n"
    assert not (tmp_path / "v.vault").exists()
