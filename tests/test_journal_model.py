"""Hypothesis state machine: appends, batches, compaction, reopen and crashes against a
plain Python model of what the journal must hold."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from scorecard import Cases

from pinnacle import Journal

OPTS = {"initial_size": 8192, "growth_step": 4096}
payloads = st.binary(max_size=300)


class JournalModel(RuleBasedStateMachine):
    steps = 0

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp())
        self.path = self.dir / "m.journal"
        self.j = Journal(self.path, **OPTS)
        self.model: dict[int, tuple[int, bytes]] = {}
        self.next_seq = 1
        self.durable_upto = 0  # seqs <= this survive any crash

    def teardown(self) -> None:
        self.j.close()
        shutil.rmtree(self.dir)

    @rule(kind=st.integers(0, 65535), payload=payloads)
    def append(self, kind: int, payload: bytes) -> None:
        assert self.j.append(kind, payload) == self.next_seq
        self.model[self.next_seq] = (kind, payload)
        self.next_seq += 1

    @rule(batch=st.lists(payloads, min_size=1, max_size=20))
    def append_many(self, batch: list[bytes]) -> None:
        first, last = self.j.append_many(9, batch)
        assert (first, last) == (self.next_seq, self.next_seq + len(batch) - 1)
        for p in batch:
            self.model[self.next_seq] = (9, p)
            self.next_seq += 1

    @rule()
    def flush(self) -> None:
        self.j.flush()
        self.durable_upto = self.next_seq - 1

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def compact(self, data: st.DataObject) -> None:
        keep = data.draw(st.integers(min(self.model), self.next_seq))
        dropped = self.j.compact(keep)
        assert dropped == sum(1 for s in self.model if s < keep)
        self.model = {s: v for s, v in self.model.items() if s >= keep}
        self.durable_upto = self.next_seq - 1  # compaction syncs the new file

    @rule()
    def reopen(self) -> None:
        self.j.close()
        self.durable_upto = self.next_seq - 1
        self.j = Journal(self.path, **OPTS)
        assert self.j.recovery_report.clean

    @rule()
    def crash(self) -> None:
        # A process crash keeps the page cache: everything appended survives.
        self.j._abandon()
        self.j = Journal(self.path, **OPTS)

    @invariant()
    def matches_model(self) -> None:
        JournalModel.steps += 1
        got = {e.seq: (e.kind, e.payload) for e in self.j.read()}
        assert got == self.model
        assert self.j.next_seq == self.next_seq


@pytest.mark.reliability("model")
def test_journal_state_machine(cases: Cases) -> None:
    JournalModel.steps = 0
    run_state_machine_as_test(JournalModel)
    cases.add(JournalModel.steps)
