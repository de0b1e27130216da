"""``pinnacle backup create|verify|restore``: encrypted (age) backups of a data directory.

Encrypted to a passphrase (``PINNACLE_BACKUP_PASSPHRASE`` or a masked prompt) unless
``--recipient age1...`` is given; ``verify`` and ``restore`` then need ``--identity-file``
(an age key file: ``AGE-SECRET-KEY-...`` lines, ``#`` comments).
"""

from __future__ import annotations

import argparse
import json
import stat
from pathlib import Path
from typing import Any

from pinnacle.cli._console import EXIT_OK, CliError, UsageError

PASS_ENV = "PINNACLE_BACKUP_PASSPHRASE"


def add_parsers(sub: Any) -> None:
    """Registers ``backup create``, ``backup verify`` and ``backup restore``."""
    p = sub.add_parser("backup", help="encrypted (age) backups of a persistence directory")
    bsub = p.add_subparsers(dest="backup_command", metavar="SUBCOMMAND")
    bsub.required = True
    c = bsub.add_parser(
        "create",
        help="back up DATA into OUT (consistent while trading goes on)",
        description="Copies DATA (snapshots, then journals up to a recorded seq per journal), checks the "
        f"copy recovers, and writes it encrypted with age to OUT. Passphrase from ${PASS_ENV} or a prompt, "
        "unless --recipient is given.",
    )
    c.add_argument("data", type=Path, metavar="DATA")
    c.add_argument("out", type=Path, metavar="OUT")
    c.add_argument("--recipient", action="append", default=[], metavar="AGE1...", help="X25519 recipient")
    c.add_argument("--base", type=Path, metavar="BACKUP", help="incremental: only what changed since BACKUP")
    c.add_argument(
        "--base-identity-file",
        type=Path,
        metavar="FILE",
        help="age identities to read --base (X25519 backups)",
    )
    c.set_defaults(run=run_create)
    for name, help_ in (
        ("verify", "decrypt and check a backup (manifest, checksums) without restoring it"),
        ("restore", "restore a backup into NEWDIR (must not exist or be empty)"),
    ):
        s = bsub.add_parser(name, help=help_, description=help_)
        if name == "restore":
            s.add_argument(
                "backups",
                type=Path,
                nargs="+",
                metavar="BACKUP",
                help="a full backup, then its increments in order",
            )
            s.add_argument("new_dir", type=Path, metavar="NEWDIR")
        else:
            s.add_argument("backup", type=Path, metavar="BACKUP")
        s.add_argument("--identity-file", type=Path, metavar="FILE", help="age identities (X25519 backups)")
        s.set_defaults(run=run_verify if name == "verify" else run_restore)


def _keys(args: argparse.Namespace, *, confirm: bool) -> dict[str, Any]:
    from pinnacle.cli.vault_cmd import read_password

    if getattr(args, "recipient", None):
        return {"recipients": args.recipient}
    if getattr(args, "identity_file", None) is not None:
        return {"identities": _identities(args.identity_file)}
    return {"passphrase": read_password(PASS_ENV, "Backup passphrase: ", confirm=confirm)}


def _identities(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
    if mode & 0o077:
        raise CliError(f"{path} is accessible by group or others (mode {mode:o}): chmod 600 it")
    keys = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not keys:
        raise CliError(f"{path} holds no AGE-SECRET-KEY line")
    return keys


def _summary(info: Any) -> str:
    return json.dumps(
        {
            "kind": info.kind,
            "files": len(info.files),
            "bytes": info.bytes_plain,
            "streams": info.streams,
            "created_ns": info.created_ns,
        }
    )


def run_create(args: argparse.Namespace) -> int:
    """``pinnacle backup create``."""
    from pinnacle.security.backup import create_backup

    if not args.data.is_dir():
        raise UsageError(f"{args.data}: no such directory")
    keys = _keys(args, confirm=True)
    if args.base is not None:
        keys["base"] = args.base
        if args.base_identity_file is not None:
            keys["base_identities"] = _identities(args.base_identity_file)
        elif "recipients" in keys:
            raise UsageError("--base of an X25519 backup needs --base-identity-file to read it")
    info = create_backup(args.data, args.out, **keys)
    print(f"wrote {args.out}: {_summary(info)}")
    return EXIT_OK


def run_verify(args: argparse.Namespace) -> int:
    """``pinnacle backup verify``."""
    from pinnacle.security.backup import read_backup

    info, _ = read_backup(args.backup, **_keys(args, confirm=False))
    print(f"ok {args.backup}: {_summary(info)}")
    return EXIT_OK


def run_restore(args: argparse.Namespace) -> int:
    """``pinnacle backup restore``."""
    from pinnacle.security.backup import restore_backup

    info = restore_backup(args.backups, args.new_dir, **_keys(args, confirm=False))
    print(f"restored {' + '.join(map(str, args.backups))} into {args.new_dir}: {_summary(info)}")
    return EXIT_OK
