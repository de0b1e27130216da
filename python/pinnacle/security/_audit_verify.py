"""Checking an audit journal's MAC chain and naming what was done to it."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pinnacle.security._audit_record import AUDIT_KIND, ZERO_MAC, Record, decode, mac_of


@dataclass(frozen=True)
class AuditProblem:
    """One finding. ``kind`` is ``modified``, ``inserted``, ``duplicated``, ``deleted``,
    ``reordered``, ``chain`` (a record naming another predecessor), ``truncated``,
    ``head`` (the stored head disagrees), ``head_missing`` (records but no stored head at
    all: a cut tail cannot be ruled out), ``malformed`` or ``foreign`` (an entry that is
    not an audit record), ``journal`` (the journal file itself is damaged). ``n`` is the
    record number concerned and ``seq`` its journal entry, where known."""

    kind: str
    message: str
    n: int | None = None
    seq: int | None = None

    def as_json(self) -> dict[str, object]:
        """For ``pinnacle audit verify``."""
        return {"kind": self.kind, "n": self.n, "seq": self.seq, "message": self.message}


@dataclass
class AuditReport:
    """What :meth:`AuditLog.verify` found: ``ok`` is True when there is no problem."""

    records: int = 0
    problems: list[AuditProblem] = field(default_factory=list)
    head_n: int | None = None
    """The last valid record's number (None: no record)."""
    stored_head_n: int | None = None
    """The stored chain head checked against (None: none stored)."""

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


def verify_entries(
    key: bytes,
    entries: Iterable[tuple[int, int, bytes]],
    stored_heads: Sequence[tuple[str, tuple[int, bytes, int]]] = (),
) -> AuditReport:
    """Checks ``entries`` (``(seq, kind, payload)`` in journal order) against the chain
    rules and each stored head (``(where, (n, mac, seq))``)."""
    report = AuditReport()
    records: list[Record] = []
    for seq, kind, payload in entries:
        if kind != AUDIT_KIND:
            report.problems.append(
                AuditProblem("foreign", f"entry seq {seq} has kind {kind}, not an audit record", seq=seq)
            )
            continue
        try:
            records.append(decode(seq, payload))
        except ValueError as e:
            report.problems.append(
                AuditProblem("malformed", f"entry seq {seq} is not a valid audit record: {e}", seq=seq)
            )
    report.records = len(records)
    valid = [hmac.compare_digest(mac_of(key, r.prev, r.body), r.mac) for r in records]
    expected, last_mac = 0, ZERO_MAC
    seen: dict[int, bytes] = {}
    missing: dict[int, int] = {}  # n -> seq of the record found where it was due
    for i, r in enumerate(records):
        where = f"record {r.n} (seq {r.seq})"
        if not valid[i]:
            nxt = records[i + 1] if i + 1 < len(records) else None
            follows = nxt is not None and valid[i + 1] and nxt.n == expected and nxt.prev == last_mac
            if follows or r.n in seen:
                report.problems.append(
                    AuditProblem(
                        "inserted",
                        f"{where} fails its MAC and is not part of the chain: inserted (forged)",
                        r.n,
                        r.seq,
                    )
                )
                continue
            report.problems.append(
                AuditProblem("modified", f"{where} fails its MAC: it was modified", r.n, r.seq)
            )
            seen[r.n] = r.mac
            missing.pop(r.n, None)
            if r.n >= expected:
                expected, last_mac = r.n + 1, r.mac
            continue
        if r.n in seen:
            report.problems.append(
                AuditProblem(
                    "duplicated", f"{where} is a second copy of record {r.n}: replayed (inserted)", r.n, r.seq
                )
            )
            continue
        if r.n < expected:
            missing.pop(r.n, None)
            report.problems.append(
                AuditProblem(
                    "reordered",
                    f"{where} is out of order (it belongs before record {expected - 1})",
                    r.n,
                    r.seq,
                )
            )
            seen[r.n] = r.mac
            continue
        for k in range(expected, r.n):
            missing[k] = r.seq
        if r.n == expected and r.prev != last_mac:
            report.problems.append(
                AuditProblem(
                    "chain",
                    f"{where} names another predecessor than record {r.n - 1}: the chain was spliced",
                    r.n,
                    r.seq,
                )
            )
        seen[r.n] = r.mac
        expected, last_mac = r.n + 1, r.mac
    for k, seq in sorted(missing.items()):
        report.problems.append(
            AuditProblem("deleted", f"record {k} is missing (deleted) before seq {seq}", k, None)
        )
    report.head_n = expected - 1 if seen else None
    if records and not stored_heads:
        # The writer stores a head before its first record is acknowledged: none at all
        # means the sidecar was deleted (or never written), so a cut tail goes unseen.
        report.problems.append(
            AuditProblem(
                "head_missing",
                f"chain head missing: a cut tail cannot be ruled out ({len(records)} records, "
                "no head stored beside the journal nor in the vault)",
            )
        )
    for where, (hn, hmac_, hseq) in stored_heads:
        report.stored_head_n = hn if report.stored_head_n is None else max(report.stored_head_n, hn)
        if hn >= expected:
            report.problems.append(
                AuditProblem(
                    "truncated",
                    f"records {expected} to {hn} are missing at the tail: the {where} chain head "
                    f"records {hn + 1} records (the last at seq {hseq})",
                    expected,
                    None,
                )
            )
        elif hn in seen and not hmac.compare_digest(seen[hn], hmac_):
            report.problems.append(
                AuditProblem("head", f"record {hn} differs from the {where} chain head", hn, hseq)
            )
    return report
