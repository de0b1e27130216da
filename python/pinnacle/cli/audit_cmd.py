"""``pinnacle audit verify|tail``: the tamper-evident audit journal.

``verify`` needs the MAC key: from the vault (``--vault``, master password from
``PINNACLE_MASTER_PASSWORD`` or a prompt; the chain head stored there is checked too) or
a key file (``--key-file``: 32+ raw bytes, or 64+ hex digits). It prints each problem,
then a summary, as JSON lines; exit status 1 when a problem was found. ``tail`` prints
records as JSON lines (not verified), ``--follow`` waits for new ones.
"""

from __future__ import annotations

import argparse
import json
import re
import stat
from pathlib import Path
from typing import Any

from pinnacle.cli._console import EXIT_FAILURE, EXIT_OK, CliError, UsageError, int_in

DEFAULT_JOURNAL = Path("data/audit.journal")


def add_parsers(sub: Any) -> None:
    """Registers ``audit verify`` and ``audit tail``."""
    p = sub.add_parser("audit", help="verify or print the tamper-evident audit journal")
    asub = p.add_subparsers(dest="audit_command", metavar="SUBCOMMAND")
    asub.required = True
    v = asub.add_parser(
        "verify",
        help="check every record's MAC, the chain and the stored chain heads",
        description="Checks the audit journal without writing to it; prints each problem and a summary "
        "as JSON lines. Exit status 1 if the journal was tampered with or damaged.",
    )
    v.add_argument("--journal", type=Path, default=DEFAULT_JOURNAL, metavar="PATH")
    key = v.add_mutually_exclusive_group(required=True)
    key.add_argument(
        "--vault", type=Path, metavar="PATH", help="take the key (and a chain head) from the vault"
    )
    key.add_argument("--key-file", type=Path, metavar="PATH", help="32+ raw bytes or 64+ hex digits")
    v.set_defaults(run=run_verify)
    t = asub.add_parser("tail", help="print records as JSON lines", description="Prints the last records.")
    t.add_argument("--journal", type=Path, default=DEFAULT_JOURNAL, metavar="PATH")
    t.add_argument("-n", type=int_in(0, 1 << 62), default=20, metavar="N", help="last N records (default 20)")
    t.add_argument("--follow", action="store_true", help="then wait for new records (Ctrl-C stops)")
    t.set_defaults(run=run_tail)


def read_key_file(path: Path) -> bytes:
    """The key in ``path``: 64+ hex digits, else 32+ raw bytes."""
    try:
        raw = path.read_bytes()
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as e:
        raise UsageError(f"cannot read the key file {path}: {e.strerror or e}") from None
    if mode & 0o077:
        raise CliError(f"the key file {path} is accessible by group or others (mode {mode:o}): chmod 600 it")
    text = raw.strip()
    if re.fullmatch(rb"[0-9a-fA-F]{64,}", text) and len(text) % 2 == 0:
        return bytes.fromhex(text.decode())
    if len(raw) < 32:
        raise CliError(f"the key file {path} holds {len(raw)} bytes; an audit key has at least 32")
    return raw


def run_verify(args: argparse.Namespace) -> int:
    """``pinnacle audit verify``."""
    from pinnacle.security import CredentialVault, verify_file

    if not args.journal.is_file():
        raise UsageError(f"{args.journal}: no such file")
    if args.vault is not None:
        from pinnacle.cli.vault_cmd import MASTER_ENV, read_password

        with CredentialVault.open(args.vault, read_password(MASTER_ENV, "Master password: ")) as vault:
            report = verify_file(args.journal, key=vault.audit_key(), vault=vault)
    else:
        report = verify_file(args.journal, key=read_key_file(args.key_file))
    for p in report.problems:
        print(json.dumps(p.as_json()))
    summary = {
        "ok": report.ok,
        "records": report.records,
        "last_n": report.head_n,
        "stored_head_n": report.stored_head_n,
        "problems": len(report.problems),
    }
    print(json.dumps(summary))
    return EXIT_OK if report.ok else EXIT_FAILURE


def run_tail(args: argparse.Namespace) -> int:
    """``pinnacle audit tail``."""
    from pinnacle import JournalReader
    from pinnacle.security import AUDIT_KIND
    from pinnacle.security._audit_record import decode
    from pinnacle.security.audit import follow

    if not args.journal.is_file():
        raise UsageError(f"{args.journal}: no such file")
    with JournalReader(args.journal, 0) as reader:
        entries = [e for e in reader.poll() if e.kind == AUDIT_KIND]
        next_seq = reader.next_seq
    shown = entries[len(entries) - args.n :] if args.n else []
    for e in shown:
        print(json.dumps(decode(e.seq, e.payload).as_json()), flush=True)
    if args.follow:
        for r in follow(args.journal, next_seq):
            if r is not None:
                print(json.dumps(r.as_json()), flush=True)
    return EXIT_OK
