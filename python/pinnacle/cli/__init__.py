"""The ``pinnacle`` command line (see docs/cli.md).

``pinnacle demo`` runs the crash-recovery drill; ``inspect``, ``verify``, ``recover``,
``compact`` and ``config`` work on persistence directories and their files.

Exit status: 0 success, 1 damage found or an operation failed, 2 usage error (bad
option, missing path, wrong file type). Every expected error is one
``pinnacle: error: ...`` line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from pinnacle._core import __version__
from pinnacle.cli import (
    audit_cmd,
    backup_cmd,
    bench_cmd,
    config_cmd,
    demo,
    inspect_cmd,
    pipeline_cmd,
    recover_cmd,
    vault_cmd,
    verify_cmd,
)
from pinnacle.cli._console import EXIT_FAILURE, EXIT_USAGE, CliError, one_line
from pinnacle.errors import PinnacleError

PROG = "pinnacle"


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors reported as one line (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        """Prints ``pinnacle: error: MESSAGE (see '... --help')`` and exits with 2."""
        print(f"{PROG}: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    p = _Parser(
        prog=PROG,
        description="Crash-safe order books: a crash-recovery drill and tools for persistence directories.",
        epilog="Exit status: 0 ok, 1 damage found or operation failed, 2 usage error.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in (
        demo,
        inspect_cmd,
        verify_cmd,
        recover_cmd,
        config_cmd,
        bench_cmd,
        vault_cmd,
        audit_cmd,
        backup_cmd,
        pipeline_cmd,
    ):
        module.add_parsers(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, usage errors
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    try:
        code: int = args.run(args)
        return code
    except CliError as e:
        _error(str(e))
        return e.code
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_FAILURE
    except (PinnacleError, OSError, ValueError) as e:
        _error(one_line(e))
        return EXIT_FAILURE
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except Exception:
        traceback.print_exc()
        _error(
            "unexpected internal error (the traceback above); this is a bug in pinnacle "
            f"{__version__} — please report it with the command line you ran"
        )
        return EXIT_FAILURE


def _error(message: str) -> None:
    sys.stdout.flush()
    print(f"{PROG}: error: {message}", file=sys.stderr)


__all__ = ["build_parser", "main"]
