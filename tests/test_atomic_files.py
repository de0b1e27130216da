"""Every whole file pinnacle writes goes through the core's one atomic-file protocol
(issue 10 item 2): ``pinnacle.paths.write_atomic`` (the Python face), crashes between its
steps in a real process, the stale-temp sweep, the tick/lot sidecar encoded and decoded
by the core byte-compatibly with the files older pinnacle wrote, grids canonicalised
without building a book, and a source scan that keeps a second writer out."""

from __future__ import annotations

import ast
import errno
import json
import os
import stat
import zlib
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import dead_pid, run_python

from pinnacle import (
    CorruptionError,
    InvalidArgumentError,
    OrderBook,
    PersistenceConfig,
    PersistenceManager,
    PinnacleIOError,
    _core,
)
from pinnacle.errors import MetaChecksumError
from pinnacle.paths import SymbolMeta, is_temp_name, remove_stray_temps, write_atomic

PACKAGE = Path(__file__).resolve().parent.parent / "python" / "pinnacle"


@pytest.fixture(autouse=True)
def _faults() -> object:
    _core._clear_faults()
    yield
    _core._clear_faults()


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


# ---------------------------------------------------------------- the Python face


def test_write_atomic_creates_private_files_from_any_bytes_like(tmp_path: Path) -> None:
    p = tmp_path / "f.bin"
    write_atomic(p, b"one")
    assert p.read_bytes() == b"one" and mode(p) == 0o600
    write_atomic(p, memoryview(b"xxtwo")[2:])
    assert p.read_bytes() == b"two"
    write_atomic(p, bytearray(b"three"))
    assert p.read_bytes() == b"three"
    write_atomic(str(p), b"")  # str paths too
    assert p.read_bytes() == b""
    write_atomic(tmp_path / "shared.txt", b"r", mode=0o640)
    assert mode(tmp_path / "shared.txt") & ~0o640 == 0
    assert sorted(os.listdir(tmp_path)) == ["f.bin", "shared.txt"]


def test_write_atomic_refuses_bad_arguments_and_reports_io_errors(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        write_atomic(tmp_path / "x", "text")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="mode"):
        write_atomic(tmp_path / "x", b"", mode=0o4755)
    with pytest.raises(PinnacleIOError) as info:
        write_atomic(tmp_path / "missing" / "x", b"data")
    e = info.value
    assert isinstance(e, OSError) and e.errno == errno.ENOENT
    assert e.path is not None and e.path.endswith("missing/x") and ".tmp-" not in str(e)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("call", "err", "skip", "new"),
    [
        ("open", errno.EMFILE, 0, False),
        ("write", errno.ENOSPC, 0, False),
        ("fsync", errno.EIO, 0, False),
        ("rename", errno.EXDEV, 0, False),
        ("fsync", errno.EIO, 1, True),  # the directory's fsync, after the rename
    ],
)
def test_a_failed_step_leaves_old_or_new_and_no_temp(
    tmp_path: Path, call: str, err: int, skip: int, new: bool
) -> None:
    p = tmp_path / "AAA.meta.json"
    write_atomic(p, b"old")
    _core._inject_fault(call, err, 1, skip)
    with pytest.raises(PinnacleIOError) as info:
        write_atomic(p, b"new" * 10_000)
    assert info.value.errno == err
    assert p.read_bytes() == (b"new" * 10_000 if new else b"old")
    assert os.listdir(tmp_path) == ["AAA.meta.json"]


CRASH = """
import sys
from pathlib import Path
from pinnacle import _core
from pinnacle.paths import write_atomic
_core._crash_atomic_writes_at(sys.argv[1])
write_atomic(Path(sys.argv[2]), b"new" * 100_000)
print("not reached")
"""


@pytest.mark.parametrize(("point", "new"), [("written", False), ("synced", False), ("renamed", True)])
def test_a_process_killed_between_steps_leaves_old_or_new_and_a_temp_swept_once_it_is_dead(
    tmp_path: Path, point: str, new: bool
) -> None:
    p = tmp_path / "AAA-1.snapshot"
    write_atomic(p, b"old")
    proc = run_python(CRASH, point, str(p))
    assert proc.returncode == 86 and "not reached" not in proc.stdout, proc.stderr
    assert p.read_bytes() == (b"new" * 100_000 if new else b"old"), "torn or wrong content"
    temps = [n for n in os.listdir(tmp_path) if is_temp_name(n)]
    assert len(temps) == (0 if new else 1)
    for t in temps:
        assert (tmp_path / t).read_bytes() == b"new" * 100_000 and mode(tmp_path / t) == 0o600
    # The writer is dead (run_python waited for it): the sweep removes its temp.
    assert sorted(q.name for q in remove_stray_temps(tmp_path)) == temps
    assert os.listdir(tmp_path) == ["AAA-1.snapshot"]


def test_the_sweep_keeps_a_live_writers_temp(tmp_path: Path) -> None:
    live = tmp_path / f".x.snapshot.tmp-{os.getpid()}-00ff"
    stale = tmp_path / f".x.snapshot.tmp-{dead_pid()}-00ff"
    for p in (live, stale):
        p.write_bytes(b"partial")
    assert remove_stray_temps(tmp_path) == [stale]
    assert live.exists()
    assert remove_stray_temps(tmp_path / "missing") == []


def test_journal_creation_temps_use_the_one_name_pattern(tmp_path: Path) -> None:
    code = (
        "import sys; from pinnacle import _core, Journal; "
        "_core._crash_atomic_writes_at('synced'); Journal(sys.argv[1])"
    )
    proc = run_python(code, str(tmp_path / "j.journal"))
    assert proc.returncode == 86, proc.stderr
    (temp,) = os.listdir(tmp_path)
    assert temp.startswith(".j.journal.tmp-") and is_temp_name(temp)
    assert remove_stray_temps(tmp_path) == [tmp_path / temp]


def test_a_manager_sweeps_a_dead_writers_sidecar_temp_and_recovers(tmp_path: Path) -> None:
    cfg = PersistenceConfig(snapshot_interval_min=0)
    with PersistenceManager(tmp_path, cfg, maintenance=False) as pm:
        pm.order_book("AAA", "0.5", "2").add_order("a", "buy", 10, 4, timestamp_ns=1)
    meta = tmp_path / "journals" / "AAA.meta.json"
    before = meta.read_bytes()
    code = (
        "import sys; from pathlib import Path; from pinnacle import _core; "
        "from pinnacle.paths import SymbolMeta, write_atomic; "
        "_core._crash_atomic_writes_at('written'); "
        "write_atomic(Path(sys.argv[1]), SymbolMeta('AAA', '0.25', '1').to_json())"
    )
    assert run_python(code, str(meta)).returncode == 86
    assert meta.read_bytes() == before
    with PersistenceManager(tmp_path, cfg, maintenance=False) as pm:
        pm.recover_state()
        book = pm.get_recovered_order_book("AAA")
        assert book is not None and (book.tick_size, book.lot_size) == ("0.5", "2")
    assert sorted(os.listdir(tmp_path / "journals")) == ["AAA.journal", "AAA.meta.json"]


# ------------------------------------------------------------------- the sidecar


def legacy_meta_bytes(symbol: str, tick: str, lot: str) -> bytes:
    """The sidecar exactly as pinnacle 0.1's Python encoder wrote it."""
    doc: dict[str, object] = {"format": 2, "symbol": symbol, "tick_size": tick, "lot_size": lot}
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    doc["crc32"] = zlib.crc32(canonical.encode())
    return (json.dumps(doc, indent=2) + "\n").encode()


@pytest.mark.parametrize(
    ("symbol", "tick", "lot"), [("BTC-USD", "0.01", "1"), ("a.B_c-9", "0.000000000000000001", "250")]
)
def test_the_sidecar_is_byte_compatible_with_older_pinnacle(
    tmp_path: Path, symbol: str, tick: str, lot: str
) -> None:
    old = legacy_meta_bytes(symbol, tick, lot)
    assert SymbolMeta(symbol, tick, lot).to_json() == old
    p = tmp_path / f"{symbol}.meta.json"
    p.write_bytes(old)
    m = SymbolMeta.read(p, symbol)
    assert (m.tick_size, m.lot_size, m.checksummed) == (tick, lot, True)


def test_a_data_directory_written_by_the_old_encoder_opens(tmp_path: Path) -> None:
    with PersistenceManager(tmp_path, maintenance=False) as pm:
        pm.order_book("ETH", "0.05", "0.1").add_order("x", "sell", "100.05", "0.3", timestamp_ns=1)
    (tmp_path / "journals" / "ETH.meta.json").write_bytes(legacy_meta_bytes("ETH", "0.05", "0.1"))
    with PersistenceManager(tmp_path, maintenance=False) as pm:
        pm.recover_state()
        book = pm.order_book("ETH", Decimal("0.050"), 0.1)
        assert book.get_order("x") is not None and book.tick_size == "0.05"


def test_sidecar_damage_is_reported_with_its_path(tmp_path: Path) -> None:
    p = tmp_path / "S.meta.json"
    p.write_bytes(legacy_meta_bytes("S", "0.01", "1").replace(b"0.01", b"0.02"))
    with pytest.raises(MetaChecksumError, match="fails its checksum") as info:
        SymbolMeta.read(p, "S")
    assert info.value.path == str(p)
    p.write_bytes(b"{not json")
    with pytest.raises(MetaChecksumError, match="not valid JSON"):
        SymbolMeta.read(p, "S")
    p.write_bytes(legacy_meta_bytes("T", "0.01", "1"))
    with pytest.raises(CorruptionError, match="names another symbol, 'T'"):
        SymbolMeta.read(p, "S")
    p.unlink()
    with pytest.raises(CorruptionError, match="is missing"):
        SymbolMeta.read(p, "S")


# ---------------------------------------------------------------------- grids


@pytest.mark.parametrize(
    ("tick", "lot"), [("0.0100", 1), (0.01, "1e0"), (Decimal("0.010"), Decimal(1)), ("1E-18", 5), (25, "0.5")]
)
def test_canonical_grid_matches_what_a_book_reports(tick: object, lot: object) -> None:
    book = OrderBook("X", tick, lot)
    assert _core.canonical_grid(tick, lot) == (book.tick_size, book.lot_size)


@pytest.mark.parametrize("bad", [0, -1, "abc", "1e-19", float("nan"), "0e999999999999"])
def test_canonical_grid_refuses_what_a_book_refuses(bad: object) -> None:
    with pytest.raises(InvalidArgumentError, match="tick_size"):
        _core.canonical_grid(bad, 1)
    with pytest.raises(InvalidArgumentError):
        OrderBook("X", bad, 1)
    with pytest.raises(TypeError):
        _core.canonical_grid(1, True)


# ---------------------------------------------------------------- source scan

# Files that write something other than a whole file: streamed logs of child processes,
# an append-only op log, and the benchmark's baselines (the write strategies measured;
# the security section's `tar | age` pipe into a scratch file is one).
STREAM_WRITERS = {"cli/demo.py", "sim/oplog.py", "bench/baselines.py", "bench/sections/security.py"}


def writers(tree: ast.AST) -> list[str]:
    """Calls that rename a file into place or write a whole file outside the protocol."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
        if owner in ("os", "shutil") and name in ("replace", "rename", "renames", "move", "link"):
            found.append(f"{owner}.{name}")
        elif (
            isinstance(f, ast.Attribute)
            and name in ("rename", "replace")
            and owner != "dataclasses"
            and len(node.args) == 1
        ):
            found.append(f".{name}(target)")  # Path.rename / Path.replace (str.replace takes 2)
        elif name in ("write_text", "write_bytes", "savefig"):
            found.append(name)
        elif (
            name == "open"
            and owner == ""
            and any(
                isinstance(a, ast.Constant) and isinstance(a.value, str) and set(a.value) & set("wax+")
                for a in node.args[1:2]
            )
        ):
            found.append("open(..., write mode)")
    return found


def test_no_second_whole_file_writer_in_the_package() -> None:
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        calls = writers(ast.parse(path.read_text(encoding="utf-8")))
        if rel == "bench/report.py":
            calls = [c for c in calls if c != "savefig"]  # into memory, then write_atomic
        if calls and rel not in STREAM_WRITERS:
            offenders[rel] = calls
    assert not offenders, f"whole files must be written with pinnacle.paths.write_atomic: {offenders}"


def test_the_scan_catches_a_second_writer() -> None:
    code = "import os\nos.replace(a, b)\nPath(x).rename(y)\nopen(p, 'w')\np.write_text('x')\n"
    assert writers(ast.parse(code)) == [
        "os.replace",
        ".rename(target)",
        "open(..., write mode)",
        "write_text",
    ]
    fine = "s.replace('a', 'b')\ndataclasses.replace(x, a=1)\nreplace(seg)\nopen(p, 'rb')\n"
    assert writers(ast.parse(fine)) == []
