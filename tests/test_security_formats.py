"""The security layer's byte layouts, now encoded and decoded in Rust (pinnacle-security):
files and payloads written by the Python encoders they replaced read back identically,
the new encoders write the same bytes, and malformed bytes are refused with the right
error. The hex fixtures below were produced by the Python code before the move."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pinnacle import _core
from pinnacle._core import Journal, entry_kinds
from pinnacle.errors import CorruptionError, InvalidArgumentError, VaultError
from pinnacle.security import CredentialVault, KdfParams
from pinnacle.security import _backup_incremental as inc
from pinnacle.security import _vault_format as fmt
from pinnacle.security.ratelimit import RateLimiter, TokenBucket

# CredentialVault.create(p, "pw", kdf=KdfParams(8, 1, 1)) then
# .set("binance", api_key="AK-1", api_secret="sé"), by the Python header encoder.
OLD_VAULT = bytes.fromhex(
    "504e5641554c540001000200080000000100000001000000a7885b43e5ddb359d3f782169873e15acd532751"
    "112dcf157393c819c54b4786b360a76e497eab05127ebd9d4ec84c5fd52a54d04682940c6df716a948202887"
    "c498dca1a0c42f6c363f92cf7e0ae228d2729a3f6c198f72f201db11ea0c4e3111699f2eab96e3980ce8c352"
    "ab39745ddfac59dcf6074fcf8096e11021c177ba69dcb4fe9bdda530ad30e8f3a2cf361788314f3496156ef5"
    "b72df310be8599624ba3ba6a1bc1edeb2d72049267fba9f1016f5a81ced3cf4a1dae7c9d7b3b62a0483228c5"
    "250c697af623b9599c6901a0715771897833f7028f580f2c4aec9694b90d5e38"
)

# The journal of RateLimiter(default=TokenBucket(10, 1.0), clock=1.7e18 + i, boot_id="b")
# after try_acquire("orders/BTC-USD", 3) and try_acquire("clé/β", 1): (kind, payload).
OLD_RATELIMIT_JOURNAL = [
    (
        769,
        "7b22626f6f745f6964223a202262222c2022706964223a20383133332c202274223a2031373030303030303030"
        "3030303030303030307d",
    ),
    (768, "01002a36fe9c9717030000006f72646572732f4254432d555344"),
    (768, "02002a36fe9c971701000000636cc3a92fceb2"),
    (770, "7b2274223a20313730303030303030303030303030303030337d"),
]

# encode_entries(journal, 2) of a journal holding append(40000, b"first", 123),
# checkpoint(b"cp"), append(1, b"", 5), append(33000, bytes(range(256)), 2**63 - 1).
OLD_INCREMENT = bytes.fromhex(
    "020000000000000000009936f684e64ced18020000006370030000000000000001000500000000000000000000"
    "000400000000000000e880ffffffffffffff7f00010000"
) + bytes(range(256))
OLD_INCREMENT_ENTRIES = [
    (2, 0, 1796176379347613337, b"cp"),
    (3, 1, 5, b""),
    (4, 33000, 2**63 - 1, bytes(range(256))),
]


def test_a_vault_written_by_the_python_encoder_opens(tmp_path: Path) -> None:
    p = tmp_path / "v.vault"
    p.write_bytes(OLD_VAULT)
    p.chmod(0o600)
    h = fmt.parse_header(OLD_VAULT, str(p))
    assert h.kdf == KdfParams(8, 1, 1)
    assert (h.salt, h.nonce, h.raw) == (OLD_VAULT[24:40], OLD_VAULT[40:52], OLD_VAULT[:52])
    assert _core.encode_vault_header(8, 1, 1, h.salt, h.nonce) == OLD_VAULT[:52]
    with CredentialVault.open(p, "pw") as v:
        creds = v.get("binance")
        assert (creds.api_key.reveal(), creds.api_secret.reveal()) == ("AK-1", "sé")
        v.set("kraken", api_key="k")  # rewritten under the Rust encoder: same layout
    new = p.read_bytes()
    assert new[:24] == OLD_VAULT[:24] and new[24:40] == OLD_VAULT[24:40]  # same costs, same salt
    with CredentialVault.open(p, "pw") as v:
        assert v.names() == ["binance", "kraken"]


def test_vault_header_errors_are_vault_errors_naming_the_file() -> None:
    cases = {
        b"": "bad magic",
        OLD_VAULT[:60]: "truncated vault: 60 bytes, at least 68 needed",
        OLD_VAULT[:8] + b"\x02\x00" + OLD_VAULT[10:]: "vault format 2 was written by a newer pinnacle",
        OLD_VAULT[:11] + b"\x01" + OLD_VAULT[12:]: "unsupported vault header (format 1, kdf 2)",
        OLD_VAULT[:16]
        + b"\x41\x00\x00\x00"
        + OLD_VAULT[20:]: "KdfParams.time_cost must be an int in [1, 64], got 65",
    }
    for data, msg in cases.items():
        with pytest.raises(VaultError, match=r"^/x/v\.vault: ") as e:
            fmt.parse_header(data, "/x/v.vault")
        assert msg in str(e.value) and e.value.path == "/x/v.vault"


def test_kdf_and_header_arguments_are_checked_in_rust() -> None:
    with pytest.raises(InvalidArgumentError, match=r"memory_kib must be an int in \[16, 1048576\], got 8"):
        KdfParams(memory_kib=8, time_cost=1, parallelism=2)
    with pytest.raises(InvalidArgumentError, match=r"parallelism must be an int in \[1, 16\], got 17"):
        KdfParams(parallelism=17)
    with pytest.raises(InvalidArgumentError, match=r"KdfParams\.time_cost must be an int, got True"):
        KdfParams(time_cost=True)
    with pytest.raises(InvalidArgumentError, match="salt is 16 bytes, got 15"):
        _core.encode_vault_header(8, 1, 1, bytes(15), bytes(12))
    with pytest.raises(InvalidArgumentError, match="nonce is 12 bytes, got 0"):
        _core.encode_vault_header(8, 1, 1, bytes(16), b"")
    with pytest.raises(InvalidArgumentError, match="memory_kib"):
        _core.encode_vault_header(2**40, 1, 1, bytes(16), bytes(12))


def test_ratelimit_consumption_same_bytes_and_replay_of_an_old_journal(tmp_path: Path) -> None:
    old = [bytes.fromhex(h) for k, h in OLD_RATELIMIT_JOURNAL if k == entry_kinds()["ratelimit.consume"]]
    assert [_core.decode_rate_consumption(p) for p in old] == [
        (1_700_000_000_000_000_001, 3, "orders/BTC-USD"),
        (1_700_000_000_000_000_002, 1, "clé/β"),
    ]
    assert _core.encode_rate_consumption(1_700_000_000_000_000_001, 3, "orders/BTC-USD") == old[0]
    assert _core.encode_rate_consumption(1_700_000_000_000_000_002, 1, "clé/β") == old[1]
    path = tmp_path / "rl.journal"
    with Journal(path) as j:
        for kind, payload in OLD_RATELIMIT_JOURNAL:
            j.append(kind, bytes.fromhex(payload))
    with RateLimiter(path, default=TokenBucket(10, 0), clock=lambda: 1_800_000_000_000_000_000) as rl:
        assert rl.available("orders/BTC-USD") == 7 and rl.available("clé/β") == 9
        assert rl.try_acquire("orders/BTC-USD", 7) and not rl.try_acquire("orders/BTC-USD")


def test_ratelimit_consumption_refuses_bad_bytes_and_arguments() -> None:
    good = _core.encode_rate_consumption(-1, 2, "k")
    for n in range(13):
        with pytest.raises(CorruptionError, match="at least 13 bytes"):
            _core.decode_rate_consumption(good[:n])
    with pytest.raises(CorruptionError, match="cost must be >= 1"):
        _core.decode_rate_consumption(good[:8] + bytes(4) + b"k")
    with pytest.raises(CorruptionError, match="not UTF-8") as e:
        _core.decode_rate_consumption(good + b"\xff")
    assert e.value.reason is not None
    with pytest.raises(InvalidArgumentError, match="at most 256 bytes"):
        _core.encode_rate_consumption(0, 1, "x" * 257)
    with pytest.raises(InvalidArgumentError, match="cost must be between 1 and 4294967295"):
        _core.encode_rate_consumption(0, 0, "k")


def _python_stream(entries: list[tuple[int, int, int, bytes]]) -> bytes:
    """The layout the Python encoder wrote (the reference for the Rust one)."""
    return b"".join(struct.pack("<QHqI", s, k, t, len(p)) + p for s, k, t, p in entries)


def test_incremental_backup_entries_same_bytes(tmp_path: Path) -> None:
    assert inc.decode_entries(OLD_INCREMENT) == OLD_INCREMENT_ENTRIES
    assert _python_stream(OLD_INCREMENT_ENTRIES) == OLD_INCREMENT
    path = tmp_path / "j.journal"
    with Journal(path) as j:
        j.append(40000, b"first", 123)
        j.checkpoint(b"cp")
        j.append(1, b"", 5)
        j.append(33000, bytes(range(256)), 2**63 - 1)
        want = [(e.seq, e.kind, e.timestamp_ns, e.payload) for e in j.read(2)]
    blob, last = inc.encode_entries(path, 2)
    assert last == 4 and blob == _python_stream(want)
    assert inc.encode_entries(path, 5) == (b"", 4)
    restored = tmp_path / "r.journal"
    with Journal(restored) as j:
        j.append(40000, b"first", 123)
    inc.apply_entries(restored, blob, 2, 4)
    with Journal(restored) as j:
        got = [(e.seq, e.kind, e.timestamp_ns, e.payload) for e in j.read(2)]
        assert next(iter(j.read(2))).is_checkpoint
    # a checkpoint is re-made on restore (with its own timestamp); the rest is as recorded
    assert got[1:] == want[1:] and got[0][:2] + got[0][3:] == want[0][:2] + want[0][3:]


def test_incremental_backup_entries_refuse_every_truncation(tmp_path: Path) -> None:
    starts = [0, 24, 46]  # each entry's first byte
    for n in range(1, len(OLD_INCREMENT)):
        if n in starts:
            assert len(inc.decode_entries(OLD_INCREMENT[:n])) == starts.index(n)
            continue
        with pytest.raises(CorruptionError) as e:
            inc.decode_entries(OLD_INCREMENT[:n])
        assert e.value.offset == max(s for s in starts if s <= n)
    path = tmp_path / "r.journal"
    with Journal(path) as j:
        j.append(40000, b"first", 123)
    with pytest.raises(CorruptionError):
        inc.apply_entries(path, OLD_INCREMENT[:-1], 2, 4)
    with Journal(path) as j:
        assert j.last_seq == 1  # a malformed increment appends nothing
    with pytest.raises(TypeError, match="Entry objects"):
        _core.encode_backup_entries([b"not an entry"])
