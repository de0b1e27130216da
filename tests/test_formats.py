"""Every on-disk format is decoded once, in Rust (issue 10, item 1): Python (inspect,
verify, the snapshot manager) calls the bindings, and holds no layout of its own."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pinnacle import (
    CorruptionError,
    Journal,
    OrderBook,
    PersistenceConfig,
    PersistenceManager,
    UnsupportedFormatError,
)
from pinnacle._core import (
    BOOK_OP_KIND,
    BOOK_OP_NAMES,
    decode_book_op,
    decode_snapshot_marker,
    examine_journal_tail,
    file_format,
    journal_entry_size,
    peek_snapshot_header,
    read_journal_header,
    snapshot_checksum_ok,
    snapshot_marker,
)
from pinnacle.cli import main
from pinnacle.cli.journal_scan import UNDECODABLE, list_entries, scan_journal

PACKAGE = Path(__file__).resolve().parent.parent / "python" / "pinnacle"


def add_payload(order_id: int, price: int, qty: int = 3, ts: int = 7) -> bytes:
    """An add op as docs/format.md lays it out (tag 1, int id, side buy, price, qty, ts)."""
    le = lambda v, n=8: v.to_bytes(n, "little", signed=v < 0)  # noqa: E731
    return b"\x01" + b"\x00" + le(order_id) + b"\x00" + le(price) + le(qty) + le(ts)


def data_dir(root: Path) -> Path:
    cfg = PersistenceConfig(journal_sync_mode="none", snapshot_interval_min=0)
    with PersistenceManager(root, cfg, maintenance=False) as pm:
        book = pm.order_book("BTC-USD", "0.01", "1")
        book.add_order(1, "buy", "100.00", 2)
        book.add_order("s-1", "sell", "100.05", 3)
        book.modify_order(1, quantity=1)
        pm.snapshot("BTC-USD")
        book.cancel_order("s-1")
        pm.shutdown(snapshot=False)
    return root / "journals" / "BTC-USD.journal"


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().out


def test_book_ops_decode_as_the_book_wrote_them(tmp_path: Path) -> None:
    journal = data_dir(tmp_path / "data")
    entries, _ = list_entries(journal)
    ops = [decode_book_op(e.payload) for e in entries if e.kind == BOOK_OP_KIND and not e.is_checkpoint]
    assert [o["op"] for o in ops] == ["add", "add", "modify", "cancel"]
    assert ops[0] == {"op": "add", "id": 1, "side": "buy", "price": 10000, "qty": 2, "ts": ops[0]["ts"]}
    assert ops[1]["id"] == "s-1" and ops[1]["side"] == "sell"
    assert ops[2]["price"] is None and ops[2]["qty"] == 1
    assert set(BOOK_OP_NAMES) == {"add", "cancel", "execute", "market", "modify"}


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (add_payload(1, 100) + b"\x00", "1 unexpected trailing bytes"),
        (add_payload(1, -5), "invalid price -5"),
        (add_payload(1, 100, qty=0), "invalid quantity 0"),
        (b"\x09", "unknown op tag 9"),
        (b"", "truncated"),
    ],
)
def test_decode_book_op_refuses_what_replay_refuses(tmp_path: Path, payload: bytes, why: str) -> None:
    with pytest.raises(CorruptionError) as e:
        decode_book_op(payload)
    assert str(e.value) == e.value.reason and str(e.value).startswith("cannot decode journaled op: ")
    assert why in str(e.value)
    with Journal(tmp_path / "r.journal") as j:
        j.append(BOOK_OP_KIND, payload)
        with pytest.raises(CorruptionError) as replayed:
            OrderBook("X", "1", "1").replay_journal(j, 1)
    assert str(e.value) in str(replayed.value)  # the same words as replay


@pytest.mark.parametrize("bad", [add_payload(99, 100) + b"\x00\x00", add_payload(99, -5)])
def test_inspect_and_verify_report_ops_the_old_python_decoder_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: bytes
) -> None:
    """journal_scan's own decoder took trailing bytes and negative prices; Rust refuses
    them, so does replay, and so now do inspect and verify."""
    journal = data_dir(tmp_path / "data")
    with Journal(journal) as j:
        j.append(BOOK_OP_KIND, bad)
    info = scan_journal(journal)
    errors = [p for p in info.problems if p.severity == "error"]
    assert info.ops[UNDECODABLE] == 1 and len(errors) == 1, info.problems
    assert "is not a valid book operation: cannot decode journaled op" in errors[0].message
    code, out = run(capsys, "inspect", journal, "--json")
    doc = json.loads(out)
    assert code == 1 and doc["ops"][UNDECODABLE] == 1
    code, out = run(capsys, "inspect", journal, "--entries")
    assert code == 0 and "DAMAGED: cannot decode journaled op" in out
    code, out = run(capsys, "verify", tmp_path / "data")
    assert code == 1 and "not a valid book operation" in out


def test_kind_1_of_a_plain_journal_is_counted_not_judged(tmp_path: Path) -> None:
    with Journal(tmp_path / "plain.journal") as j:
        j.append(1, b"user data")
    info = scan_journal(tmp_path / "plain.journal")
    assert info.ops == {UNDECODABLE: 1} and not info.problems


def test_journal_header_slots(tmp_path: Path) -> None:
    path = tmp_path / "h.journal"
    with Journal(path) as j:
        jid, first = j.journal_id, j.first_seq
    h = read_journal_header(path)
    assert h.data_start == 4096 and h.current is not None
    assert (h.current.journal_id, h.current.first_seq, h.current.version) == (jid, first, 2)
    assert [s.state for s in h.slots].count("valid") >= 1
    raw = bytearray(path.read_bytes())
    cur = h.current.offset
    raw[cur + 20] ^= 0xFF
    path.write_bytes(bytes(raw))
    h2 = read_journal_header(path)
    damaged = h2.slots[h.current.index]
    assert damaged.state == "damaged" and damaged.error == "header checksum mismatch"
    assert damaged.first_seq == 0 and damaged.journal_id is None
    (tmp_path / "short.journal").write_bytes(b"PNCLJRNL")
    short = read_journal_header(tmp_path / "short.journal")
    assert short.current is None and [s.state for s in short.slots] == ["damaged", "damaged"]


def test_journal_tail_classification(tmp_path: Path) -> None:
    path = tmp_path / "t.journal"
    with Journal(path) as j:
        for i in range(3):
            j.append(2, b"x" * i)
    end = 4096 + sum(journal_entry_size(i) for i in range(3))
    clean = examine_journal_tail(path, end, 4, 1 << 20)
    assert clean.first_nonzero is None and clean.damage is None and clean.file_size == path.stat().st_size
    raw = bytearray(path.read_bytes())
    raw[end : end + 12] = (12).to_bytes(4, "little") * 3
    path.write_bytes(bytes(raw))
    torn = examine_journal_tail(path, end, 4, 1 << 20)
    assert torn.first_nonzero == end and torn.nonzero_end == end + 9 and torn.next_valid is None
    assert torn.damage == "sequence number 12 where 4 was expected"
    assert examine_journal_tail(path, 1 << 40, 4, 1 << 20).first_nonzero is None
    with pytest.raises(ValueError, match="offset must be >= 0"):
        examine_journal_tail(path, -1, 4, 1 << 20)


def test_snapshot_header_checksum_and_marker(tmp_path: Path) -> None:
    book = OrderBook("ETH-USD", "0.01", "0.001")
    book.add_order(1, "buy", "10.00", "1.000")
    data = bytes(book.snapshot_bytes(created_ns=123)[0])
    path = tmp_path / "x.snapshot"
    path.write_bytes(data)
    for source in (data, memoryview(data), path, str(path)):
        h = peek_snapshot_header(source)
        assert (h.symbol, h.created_ns, h.order_count, h.version) == ("ETH-USD", 123, 1, 2)
        assert (h.tick_size, h.lot_size) == ("0.01", "0.001")
        assert snapshot_checksum_ok(source)
    assert file_format(path) == "snapshot"
    damaged = bytearray(data)
    damaged[-10] ^= 1
    path.write_bytes(bytes(damaged))
    assert not snapshot_checksum_ok(path) and not snapshot_checksum_ok(bytes(damaged))
    assert peek_snapshot_header(path).symbol == "ETH-USD"  # the header alone is still readable
    newer = bytearray(data)
    newer[8] = 9
    with pytest.raises(UnsupportedFormatError) as e:
        peek_snapshot_header(bytes(newer))
    assert "unsupported snapshot format version 9" in str(e.value)
    path.write_bytes(b"nothing")
    with pytest.raises(CorruptionError) as c:
        peek_snapshot_header(path)
    assert c.value.offset == 0 and c.value.path == str(path)
    assert file_format(path) is None and not snapshot_checksum_ok(path)
    assert decode_snapshot_marker(snapshot_marker(42, 2**63 - 1)) == (42, 2**63 - 1)
    with pytest.raises(ValueError, match="created_ns must be >= 0"):
        snapshot_marker(42, -1)
    assert decode_snapshot_marker((42).to_bytes(8, "little")) == (42, None)
    assert decode_snapshot_marker(b"abc") is None


# Python must not parse journal, snapshot or op bytes itself. Allowed: the simulator's
# ledger (its own kinds 16-20), the benchmark baselines (pure-Python comparison journals)
# and the tick/lot sidecar's JSON checksum in paths.py.
_ALLOWED = ("sim/", "bench/", "paths.py")
_FORBIDDEN = re.compile(r"\bstruct\.|import struct|zlib\.crc32|PNCL|int\.from_bytes|\.to_bytes\(")


def test_no_python_copy_of_a_binary_layout() -> None:
    found = []
    for p in sorted(PACKAGE.rglob("*.py")):
        rel = p.relative_to(PACKAGE).as_posix()
        if rel.startswith(_ALLOWED):
            continue
        for n, line in enumerate(p.read_text().splitlines(), 1):
            if _FORBIDDEN.search(line):
                found.append(f"{rel}:{n}: {line.strip()}")
    assert not found, "binary layouts belong in Rust (call pinnacle._core):\n" + "\n".join(found)
