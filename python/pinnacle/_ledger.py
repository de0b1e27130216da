"""The PersistenceManager's ledger: where its journal lives, opening and recovering it.

The ledger journals to ``DATA/journals/@ledger.journal``: ``@`` is not a symbol character
(``paths.validate_symbol``), so no symbol's journal can take the name, and the symbol scan
(``DataLayout.symbols_on_disk``) passes over it. It is opened with ``ledgerSyncMode``
(default ``"always"``: an operation returns once durable). Recovery loads the newest
usable ledger snapshot (``_ledger_snapshots``), replays the journal after it through the
ledger's own validate/apply (the same code as the live path), then
checks the recovered state's invariants and refuses a state that fails them. Nothing is
journaled by recovery.

Time: a new operation stamped more than 5 minutes past the wall clock is refused before it
is journaled (``LedgerError`` ``invalid_value``). At recovery a timestamp past the clock
(plus the same tolerance) does not refuse: the clock can step back (NTP, a VM restore)
after records were journaled with the then-current time. It is a warning, logged and listed
in ``LedgerRecoveryInfo.problems`` (prefixed ``clock:``); only invariants that mean the
state is wrong refuse recovery.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from pinnacle import _core
from pinnacle import _ledger_snapshots as snapshots
from pinnacle._durable import DurableWaiter
from pinnacle._recovery import RecoveryInfo
from pinnacle.config import PersistenceConfig
from pinnacle.errors import CorruptionError
from pinnacle.ledger import Ledger
from pinnacle.paths import DataLayout

_log = logging.getLogger("pinnacle.persistence")

LEDGER_NAME = "@ledger"
"""The ledger's reserved name: its journal's stem and its ``last_recovery`` key."""
# Timestamps may run this far ahead of the clock (the Rust ledger's FUTURE_TOLERANCE_NS).
FUTURE_TOLERANCE_NS = 300 * 1_000_000_000


@dataclass(frozen=True)
class LedgerRecoveryInfo(RecoveryInfo):
    """How the ledger was recovered (``PersistenceManager.last_recovery["@ledger"]``):
    ``symbol`` is ``"@ledger"``, ``orders`` the orders it holds, ``entries_replayed`` the
    ledger records applied; ``checksum`` the recovered state's (``Ledger.checksum()``)."""

    checksum: int = 0


def journal_path(layout: DataLayout) -> Path:
    """``DATA/journals/@ledger.journal``."""
    return layout.journals / f"{LEDGER_NAME}.journal"


def on_disk(layout: DataLayout) -> bool:
    return journal_path(layout).exists()


def open_ledger(
    layout: DataLayout, cfg: PersistenceConfig
) -> tuple[Ledger, _core.Journal, LedgerRecoveryInfo | None]:
    """The ledger journaled in ``layout``: recovered when its journal exists (with how),
    else new."""
    t0 = time.perf_counter()
    path = journal_path(layout)
    existed = path.exists()
    journal = _core.Journal(
        path,
        sync=cfg.ledger_sync_mode,
        sync_interval_ms=cfg.journal_sync_interval_ms,
        initial_size=cfg.journal_initial_size,
        growth_step=cfg.journal_growth_step,
    )
    problems: list[str] = []
    snap = None
    try:
        core, replay_from = _core.Ledger(), 1
        if existed:
            found = snapshots.newest_usable(snapshot_dir(layout), journal, problems=problems)
            if found is not None:
                core, snap = found
                replay_from = snap.covered_seq + 1
            elif journal.first_seq > 1:
                raise CorruptionError(
                    f"{path}: entries before seq {journal.first_seq} were compacted away and no "
                    "usable ledger snapshot covers them; refusing to recover partial state"
                )
        replayed = core.replay_journal(journal, replay_from) if existed else 0
        # Only a wrong state refuses recovery. A timestamp ahead of the wall clock is a
        # warning (in the info's problems, and logged): the clock may have stepped back
        # (NTP, a VM restore) since the record was journaled with the then-current time.
        bad = core.state_problems()
        if bad:
            raise CorruptionError(f"{path}: the recovered ledger fails its invariants: {'; '.join(bad)}")
        problems += [f"clock: {p}" for p in core.future_timestamps(FUTURE_TOLERANCE_NS)]
        core.attach_journal(journal)
    except BaseException:
        journal.close()
        raise
    info = None
    if existed:
        info = LedgerRecoveryInfo(
            symbol=LEDGER_NAME,
            snapshot_file=None if snap is None else snap.path,
            snapshot_covered_seq=None if snap is None else snap.covered_seq,
            entries_replayed=replayed,
            orders=len(core.orders()),
            duration_s=time.perf_counter() - t0,
            journal_report=journal.recovery_report.summary(),
            problems=problems,
            checksum=core.checksum(),
        )
        _log.info("Recovered the ledger (%d records) in %.1f ms", replayed, info.duration_s * 1e3)
    for p in problems:
        _log.warning("Ledger recovery: %s", p)
    led = Ledger(core)
    led._past = lambda seq, ts: snapshots.state_at(journal, snapshot_dir(layout), seq, ts)
    led._durable = DurableWaiter(journal)
    return led, journal, info


def snapshot_dir(layout: DataLayout) -> Path:
    """``DATA/snapshots/@ledger``."""
    return layout.snapshots / LEDGER_NAME


__all__ = [
    "LEDGER_NAME",
    "LedgerRecoveryInfo",
    "journal_path",
    "on_disk",
    "open_ledger",
    "snapshot_dir",
]
