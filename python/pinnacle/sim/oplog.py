"""The acknowledgement log: the drill's independent record of every operation.

The trading process writes, with one unbuffered ``write(2)`` each (so a SIGKILL cannot
lose what was written — it sits in the page cache):

* ``I SYMBOL KIND ID SIDE PRICE QTY TS`` — the *intent*, before the book call;
* ``A`` — the call returned: the operation is **acknowledged**;
* ``X`` — the book refused it (nothing was journaled).

An intent without its ``A``/``X`` is the operation in flight when the process died: it may
or may not have reached the journal. A last line without its newline was torn by the kill
and never acknowledged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pinnacle.sim.market import Op


class OpLogWriter:
    """Appends intents and acknowledgements to a log file (O_APPEND, unbuffered)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Opens (creating) ``path`` for appending."""
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self.intents = 0
        """Operations submitted so far."""

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            raise ValueError("the acknowledgement log is closed")
        os.write(self._fd, data)

    def intent(self, op: Op) -> None:
        """Records ``op`` before it is submitted."""
        self.intents += 1
        self._write(f"I {op.symbol} {op.kind} {op.order_id} {op.side} {op.price} {op.qty} {op.ts}\n".encode())

    def ack(self) -> None:
        """The last intent's call returned."""
        self._write(b"A\n")

    def refused(self) -> None:
        """The last intent's call raised (the book refused it)."""
        self._write(b"X\n")

    def close(self) -> None:
        """Closes the file. Idempotent."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


@dataclass
class OpLog:
    """What an acknowledgement log says happened."""

    acked: list[Op] = field(default_factory=list)
    """Acknowledged operations, in order."""
    refused: int = 0
    """Operations the book refused (not applied anywhere)."""
    in_flight: Op | None = None
    """The operation whose call had started when the process died, if any."""
    torn_line: bool = False
    """The file ended with a partial line (an intent the kill interrupted)."""


def read_oplog(path: str | os.PathLike[str]) -> OpLog:
    """Parses an acknowledgement log; raises ValueError on a malformed line."""
    log = OpLog()
    data = Path(path).read_bytes()
    lines = data.split(b"\n")
    if lines[-1]:
        log.torn_line = True
    pending: Op | None = None
    for n, raw in enumerate(lines[:-1], 1):
        line = raw.decode("ascii")
        if line in ("A", "X"):
            if pending is None:
                raise ValueError(f"{path}:{n}: acknowledgement without an intent")
            if line == "A":
                log.acked.append(pending)
            else:
                log.refused += 1
            pending = None
            continue
        parts = line.split(" ")
        if len(parts) != 8 or parts[0] != "I" or pending is not None:
            raise ValueError(f"{path}:{n}: malformed line {line[:80]!r}")
        _, sym, kind, oid, side, price, qty, ts = parts
        pending = Op(sym, kind, int(oid), side, int(price), int(qty), int(ts))
    log.in_flight = pending
    return log


__all__ = ["OpLog", "OpLogWriter", "read_oplog"]
