"""Errors, progress display and formatting shared by the commands."""

from __future__ import annotations

import datetime as _dt
import shutil
import time
from typing import TextIO

EXIT_OK = 0
EXIT_FAILURE = 1
"""Damage found, a check failed, or an operation could not be done."""
EXIT_USAGE = 2
"""The command line is wrong: unknown option, bad value, missing path, wrong file type."""


class CliError(Exception):
    """An error reported as one ``pinnacle: error: ...`` line with exit status ``code``."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        """``code`` is the process exit status (1 = failure, 2 = usage)."""
        super().__init__(message)
        self.code = code


class UsageError(CliError):
    """A usage error: exit status 2."""

    def __init__(self, message: str) -> None:
        """See :class:`CliError`."""
        super().__init__(message, EXIT_USAGE)


def is_tty(stream: TextIO) -> bool:
    """True if ``stream`` is an interactive terminal."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class StatusLine:
    """A progress display. On a terminal: one line rewritten in place (at most 10 times a
    second). Elsewhere: a plain line every ``plain_every`` seconds, or nothing when
    ``plain_every`` is None (progress of tools that write to a log or a pipe)."""

    def __init__(self, stream: TextIO, *, plain_every: float | None = None, tty: bool | None = None) -> None:
        """``tty`` overrides terminal detection."""
        self._stream = stream
        self._tty = is_tty(stream) if tty is None else tty
        self._plain_every = plain_every
        self._last = float("-inf")
        self._shown = False

    @property
    def tty(self) -> bool:
        """True when updating a single line in place."""
        return self._tty

    def update(self, text: str, *, force: bool = False) -> None:
        """Shows ``text`` (rate-limited unless ``force``)."""
        now = time.monotonic()
        if self._tty:
            if not force and now - self._last < 0.1:
                return
            width = max(20, shutil.get_terminal_size((100, 24)).columns - 1)
            self._stream.write("\r\x1b[2K" + text[:width])
            self._stream.flush()
            self._shown = True
        elif self._plain_every is not None:
            if not force and now - self._last < self._plain_every:
                return
            self._stream.write(text + "\n")
            self._stream.flush()
        else:
            return
        self._last = now

    def clear(self) -> None:
        """Removes the in-place line (a no-op for plain output)."""
        if self._tty and self._shown:
            self._stream.write("\r\x1b[2K")
            self._stream.flush()
        self._shown = False


def one_line(err: BaseException) -> str:
    """An exception as a single line: ``OSError``s as ``PATH: reason``, multi-line
    messages joined with ``; ``."""
    if isinstance(err, OSError) and err.strerror:
        fn = err.filename
        msg = err.strerror if not fn or str(fn) in err.strerror else f"{fn}: {err.strerror}"
    else:
        msg = str(err) or type(err).__name__
    return "; ".join(part.strip() for part in msg.splitlines() if part.strip())


def human_bytes(n: int) -> str:
    """``1536`` -> ``1.5 KiB``."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def utc(ns: int) -> str:
    """Nanoseconds since the epoch as an ISO-8601 UTC time (milliseconds)."""
    try:
        t = _dt.datetime.fromtimestamp(ns / 1e9, tz=_dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return f"{ns} ns"
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliError",
    "StatusLine",
    "UsageError",
    "human_bytes",
    "is_tty",
    "one_line",
    "utc",
]
