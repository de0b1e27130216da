"""The entry-kind registry as Python sees it: one source (Rust's ``pinnacle_core::kinds``)."""

from __future__ import annotations

import pytest

from pinnacle import _core
from pinnacle.errors import InvalidArgumentError
from pinnacle.sim import ledger


def test_registry_names_every_kind_written_and_reserves_the_next_subsystems() -> None:
    kinds = _core.entry_kinds()
    assert kinds["checkpoint"] == 0
    assert kinds["book.op"] == 1
    assert len(set(kinds.values())) == len(kinds), "two names share a kind"
    ranges = _core.kind_ranges()
    for name in ("ledger", "audit", "ratelimit", "marketdata", "user"):
        first, last = ranges[name]
        assert first <= last, name
    assert ranges["user"] == (0x8000, 0xFFFF)
    assert not any(k >= 0x8000 for k in kinds.values()), "pinnacle never writes a user kind"


def test_the_simulator_ledger_uses_the_registry_values() -> None:
    kinds = _core.entry_kinds()
    assert (
        ledger.KIND_PLACED,
        ledger.KIND_CANCEL,
        ledger.KIND_REPRICE,
        ledger.KIND_ABORT,
        ledger.KIND_STATE,
    ) == (
        kinds["sim.placed"],
        kinds["sim.cancel-intent"],
        kinds["sim.reprice-intent"],
        kinds["sim.abort"],
        kinds["sim.state"],
    )
    for k in ledger.KIND_NAMES:
        assert _core.kind_name(k).startswith("sim.")


def test_kind_name_describes_any_kind_and_refuses_a_non_kind() -> None:
    assert _core.kind_name(1) == "book.op"
    assert _core.kind_name(300) == "ledger kind 300 (unregistered)"
    assert _core.kind_name(40000) == "user kind 40000"
    assert _core.kind_name(7) == "core kind 7 (unregistered)"
    assert _core.kind_name(70) == "kind 70 (unassigned)"
    for bad in (-1, 65536):
        with pytest.raises(InvalidArgumentError, match="between 0 and 65535"):
            _core.kind_name(bad)
