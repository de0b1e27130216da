"""The security events a PersistenceManager records in its audit journal (if given).

Recording never stops the manager: an audit write that fails is logged as an error and
the operation goes on (the journal error also poisons the audit handle, so the failure
is visible on every later record)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pinnacle.errors import InvalidArgumentError

if TYPE_CHECKING:
    from pinnacle._recovery import RecoveryInfo
    from pinnacle.security.audit import AuditLog

_log = logging.getLogger("pinnacle.security")


def check_audit(audit: object) -> AuditLog | None:
    """``audit`` if it is None or an AuditLog, else InvalidArgumentError."""
    from pinnacle.security.audit import AuditLog

    if audit is not None and not isinstance(audit, AuditLog):
        raise InvalidArgumentError(f"audit must be a pinnacle.security.AuditLog, not {type(audit).__name__}")
    return audit


def record(audit: AuditLog | None, event: str, detail: dict[str, Any], actor: str = "persistence") -> None:
    """Records ``event`` (actor ``ACTOR uid U pid P``); logs (never raises) a failure."""
    if audit is None:
        return
    try:
        audit.record(event, actor=f"{actor} uid {os.getuid()} pid {os.getpid()}", detail=detail)
    except Exception as e:
        _log.error("cannot record the audit event %s in %s: %s", event, audit.path, e)


def opened(audit: AuditLog | None, data_dir: Path, config: Mapping[str, Any]) -> None:
    """``persistence.open``, then ``config.change`` if the configuration differs from the
    one the previous ``persistence.open`` of this directory recorded."""
    if audit is None:
        return
    cfg = {k: os.fspath(v) if isinstance(v, os.PathLike) else v for k, v in config.items()}
    previous: dict[str, Any] | None = None
    try:
        for r in audit.records():
            if r.event == "persistence.open" and r.detail.get("data_dir") == str(data_dir):
                previous = r.detail.get("config")
    except Exception as e:  # unreadable history: say so, record the open anyway
        _log.error("cannot read %s for the previous configuration: %s", audit.path, e)
    record(audit, "persistence.open", {"data_dir": str(data_dir), "config": cfg})
    if previous is not None and previous != cfg:
        changed = sorted(k for k in set(cfg) | set(previous) if cfg.get(k) != previous.get(k))
        record(
            audit,
            "config.change",
            {"data_dir": str(data_dir), "changed": {k: [previous.get(k), cfg.get(k)] for k in changed}},
        )


def lock_refused(audit: AuditLog | None, data_dir: Path, error: BaseException) -> None:
    """``datadir.lock_refused``."""
    record(audit, "datadir.lock_refused", {"data_dir": str(data_dir), "error": str(error)})


def recovery(
    audit: AuditLog | None,
    data_dir: Path,
    infos: Mapping[str, RecoveryInfo],
    recovered: list[str],
    errors: Mapping[str, BaseException],
    duration_ms: float,
) -> None:
    """``recovery.run`` with its result, and one ``recovery.repair`` per symbol whose
    recovery reported problems (skipped snapshots, rebuilt sidecars, cut tails)."""
    if audit is None:
        return
    for s in recovered:
        info = infos.get(s)
        if info is not None and info.problems:
            record(
                audit, "recovery.repair", {"data_dir": str(data_dir), "symbol": s, "problems": info.problems}
            )
    record(
        audit,
        "recovery.run",
        {
            "data_dir": str(data_dir),
            "result": "failed" if errors else "ok",
            "recovered": {s: infos[s].orders for s in recovered if s in infos},
            "failed": {s: str(e) for s, e in errors.items()},
            "duration_ms": round(duration_ms, 3),
        },
    )
