"""Errors, progress display and formatting shared by the commands."""

from __future__ import annotations

import argparse
import datetime as _dt
import shutil
import time
from collections.abc import Callable
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


def int_in(lo: int, hi: int, what: str = "an integer") -> Callable[[str], int]:
    """An argparse ``type``: an integer in ``lo..=hi``, else a usage error (exit 2)."""

    def parse(text: str) -> int:
        try:
            v = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text[:40]!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo} and {hi}, got {text[:40]}")
        return v

    parse.__name__ = what  # argparse names the type in its messages
    return parse


SEQ_MAX = 2**64 - 1
"""The largest journal sequence number."""


def is_tty(stream: TextIO) -> bool:
    """True if ``stream`` is an interactive terminal."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


PROGRESS_LOG_EVERY = 10.0
"""Seconds between the plain progress lines of a long operation when not on a terminal."""


class StatusLine:
    """A progress display. On a terminal: one line rewritten in place (at most 10 times a
    second), with the percentage done when the caller knows it. Elsewhere (a log, a pipe):
    with ``plain_every``, a plain line at most every ``plain_every`` seconds (with
    ``delay_first``, the first one only after that long, so a quick operation prints
    none); without it, nothing."""

    def __init__(
        self,
        stream: TextIO,
        *,
        plain_every: float | None = None,
        tty: bool | None = None,
        delay_first: bool = False,
    ) -> None:
        """``tty`` overrides terminal detection."""
        self._stream = stream
        self._tty = is_tty(stream) if tty is None else tty
        self._plain_every = plain_every
        self._start = time.monotonic()
        self._last = self._start if delay_first and not self._tty else float("-inf")
        self._shown = False

    @property
    def tty(self) -> bool:
        """True when updating a single line in place."""
        return self._tty

    def update(self, text: str, fraction: float | None = None, *, force: bool = False) -> None:
        """Shows ``text`` and, when given, ``fraction`` (0..1) as a percentage
        (rate-limited unless ``force``)."""
        now = time.monotonic()
        if fraction is not None:
            text = f"{text} ({min(max(fraction, 0.0), 1.0):.0%})"
        if self._tty:
            if not force and now - self._last < 0.1:
                return
            width = max(20, shutil.get_terminal_size((100, 24)).columns - 1)
            self._stream.write("\r\x1b[2K" + text[:width])
            self._stream.flush()
            self._shown = True
        elif self._plain_every is not None:
            if now - self._last < self._plain_every:  # a log gets no burst of forced lines
                return
            self._stream.write(f"pinnacle: {text}, {now - self._start:.0f} s elapsed\n")
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


def progress_display(stream: TextIO) -> StatusLine:
    """The progress display of a long operation (verify, recover...): a percentage in
    place on a terminal, a line every :data:`PROGRESS_LOG_EVERY` seconds elsewhere."""
    return StatusLine(stream, plain_every=PROGRESS_LOG_EVERY, delay_first=True)


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
    "PROGRESS_LOG_EVERY",
    "SEQ_MAX",
    "CliError",
    "StatusLine",
    "UsageError",
    "human_bytes",
    "int_in",
    "is_tty",
    "one_line",
    "progress_display",
    "utc",
]
