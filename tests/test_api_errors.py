"""Regressions of issue 11 item 10: argument conversion errors name the argument and have
the documented type; I/O errors are PinnacleIOErrors with errno and filename."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from pinnacle import (
    InvalidArgumentError,
    Journal,
    JournalReader,
    OrderBook,
    PersistenceManager,
    PinnacleIOError,
)


def test_huge_ints_raise_invalid_argument_naming_it(tmp_path: Path) -> None:
    with Journal(tmp_path / "j") as j:
        for call, name in [
            (lambda: j.append(2**63, b"x"), "kind"),
            (lambda: j.append(1, b"x", timestamp_ns=2**63), "timestamp_ns"),
            (lambda: j.append_many(2**64, [b"x"]), "kind"),
            (lambda: list(j.read(from_seq=2**64)), "from_seq"),
            (lambda: j.read_array(from_seq=-(2**70)), "from_seq"),
            (lambda: j.compact(2**64), "keep_from_seq"),
            (lambda: j.checkpoint(2**64), "marker"),
            (lambda: OrderBook("X").depth(2**63), "levels"),
            (lambda: JournalReader(j.path, from_seq=2**64), "from_seq"),
            (lambda: OrderBook("X").add_order(1, "buy", 10**5000, 1), "price"),
        ]:
            with pytest.raises(InvalidArgumentError, match=name):
                call()
        assert j.entry_count == 0


def test_checkpoint_takes_every_u64_marker(tmp_path: Path) -> None:
    with Journal(tmp_path / "j") as j:
        j.checkpoint(2**64 - 1)
        assert j.last_checkpoint is not None and j.last_checkpoint.payload == b"\xff" * 8


@pytest.mark.parametrize("value", [True, False, 1.0, "1", np.float64(1)])
def test_an_int_argument_refuses_bools_and_non_ints(tmp_path: Path, value: object) -> None:
    with Journal(tmp_path / "j") as j:
        with pytest.raises(TypeError, match="kind must be an int"):
            j.append(value, b"x")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="from_seq must be an int"):
            j.read(value)  # type: ignore[arg-type]
        assert j.entry_count == 0
    with pytest.raises(TypeError, match="levels"):
        OrderBook("X").depth(value)  # type: ignore[arg-type]


def test_numpy_ints_are_still_ints(tmp_path: Path) -> None:
    with Journal(tmp_path / "j") as j:
        assert j.append(np.uint16(7), b"x", timestamp_ns=np.int64(5)) == 1
        assert next(iter(j.read(np.uint64(1)))).kind == 7


def test_nul_in_a_path_is_an_invalid_argument(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="path must not contain a NUL"):
        Journal(f"{tmp_path}/a\0b")
    with pytest.raises(InvalidArgumentError, match="path must not contain a NUL"):
        JournalReader(f"{tmp_path}/a\0b")


def test_io_errors_carry_errno_and_filename(tmp_path: Path) -> None:
    with pytest.raises(PinnacleIOError) as info:
        JournalReader(tmp_path)  # a directory: was "mmap failed ... No such device"
    assert info.value.errno == errno.EISDIR and info.value.filename == str(tmp_path)
    with pytest.raises(PinnacleIOError) as info:
        Journal(tmp_path / "missing" / "j")
    assert info.value.errno == errno.ENOENT and info.value.filename == str(tmp_path / "missing" / "j")


def test_manager_on_a_file_path_raises_pinnacle_io_error(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("")
    for where, code in [(f, errno.ENOTDIR), (f / "sub", errno.ENOTDIR)]:
        with pytest.raises(PinnacleIOError) as info:
            PersistenceManager(where, maintenance=False)
        assert info.value.errno == code and str(where) in str(info.value)


def test_manager_on_a_read_only_mount_raises_pinnacle_io_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def erofs(path: object, mode: int = 0o777) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))  # type: ignore[arg-type]

    monkeypatch.setattr(os, "mkdir", erofs)
    with pytest.raises(PinnacleIOError) as info:
        PersistenceManager(tmp_path / "data", maintenance=False)
    assert info.value.errno == errno.EROFS and info.value.filename == str(tmp_path / "data")


def test_manager_accepts_a_config_mapping_validated_like_the_file(tmp_path: Path) -> None:
    with PersistenceManager(tmp_path / "d", config={"keepSnapshots": 2}, maintenance=False) as pm:
        assert pm.config.keep_snapshots == 2
    with pytest.raises(InvalidArgumentError, match=r"persistence\.keepSnapshots"):
        PersistenceManager(tmp_path / "d", config={"keepSnapshots": True})
    with pytest.raises(InvalidArgumentError, match=r"persistence\.nope: unknown key"):
        PersistenceManager(tmp_path / "d", config={"nope": 1})
    with pytest.raises(InvalidArgumentError, match="config must be a PersistenceConfig or a mapping"):
        PersistenceManager(tmp_path / "d", config=["keepSnapshots"])  # type: ignore[arg-type]
