"""``pinnacle vault init|set|get|list|delete|passwd``: the credential vault.

The master password comes from ``PINNACLE_MASTER_PASSWORD`` or a masked prompt; secret
values are never taken from the command line (other users can read it in ``ps``): ``set``
prompts for each field, or reads one line per field from standard input when it is not a
terminal. ``get`` masks every value unless ``--reveal`` is given.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pinnacle.cli._console import EXIT_OK, CliError, int_in

MASTER_ENV = "PINNACLE_MASTER_PASSWORD"
NEW_MASTER_ENV = "PINNACLE_NEW_MASTER_PASSWORD"
DEFAULT_VAULT = Path("data/credentials.vault")


def add_parsers(sub: Any) -> None:
    """Registers ``vault`` and its subcommands."""
    p = sub.add_parser("vault", help="the encrypted credential vault (AES-256-GCM, Argon2id)")
    vsub = p.add_subparsers(dest="vault_command", metavar="SUBCOMMAND")
    vsub.required = True

    def cmd(name: str, help_: str, run: Any) -> argparse.ArgumentParser:
        c: argparse.ArgumentParser = vsub.add_parser(name, help=help_, description=help_)
        c.add_argument(
            "--vault", type=Path, default=DEFAULT_VAULT, metavar="PATH", help=f"default {DEFAULT_VAULT}"
        )
        c.add_argument(
            "--audit", type=Path, metavar="PATH", help="record the vault's events in this audit journal"
        )
        c.set_defaults(run=run)
        return c

    i = cmd("init", f"create an empty vault (password from ${MASTER_ENV} or a prompt)", run_init)
    i.add_argument("--kdf-memory-kib", type=int_in(8, 1 << 20), default=None, help="Argon2id memory (KiB)")
    i.add_argument("--kdf-time-cost", type=int_in(1, 64), default=None, help="Argon2id passes")
    i.add_argument("--kdf-parallelism", type=int_in(1, 16), default=None, help="Argon2id lanes")
    s = cmd(
        "set", "store credentials NAME: prompts for each FIELD (stdin lines when not a terminal)", run_set
    )
    s.add_argument("name", metavar="NAME")
    s.add_argument("fields", nargs="+", metavar="FIELD", help="e.g. api_key api_secret")
    g = cmd("get", "show the credentials NAME (masked unless --reveal)", run_get)
    g.add_argument("name", metavar="NAME")
    g.add_argument("--reveal", action="store_true", help="print the values in clear")
    cmd("list", "list the stored names", run_list)
    d = cmd("delete", "remove the credentials NAME", run_delete)
    d.add_argument("name", metavar="NAME")
    cmd("passwd", f"change the master password (new one from ${NEW_MASTER_ENV} or a prompt)", run_passwd)


def read_password(env: str, prompt: str, *, confirm: bool = False) -> str:
    """The password in ``$env``, else one read with a masked prompt (twice if
    ``confirm``). Refuses when neither is available (no terminal)."""
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise CliError(f"no password: set {env} or run in a terminal to be prompted")
    value = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat: ") != value:
        raise CliError("the passwords do not match")
    if not value:
        raise CliError("an empty password is not allowed")
    return value


@contextmanager
def _open(args: argparse.Namespace, password: str | None = None) -> Iterator[Any]:
    """The open vault; with ``--audit PATH`` its events are recorded there (keyed with
    the vault's audit key, chain head stored in the vault)."""
    from pinnacle.security import AuditLog, CredentialVault

    pw = password if password is not None else read_password(MASTER_ENV, "Master password: ")
    with CredentialVault.open(args.vault, pw) as vault:
        if args.audit is None:
            yield vault
            return
        with AuditLog(args.audit, key=vault.audit_key(), vault=vault) as log:
            vault.attach_audit(log)
            yield vault


def run_init(args: argparse.Namespace) -> int:
    """``pinnacle vault init``."""
    from pinnacle.security import CredentialVault, KdfParams

    d = KdfParams()
    kdf = KdfParams(
        memory_kib=args.kdf_memory_kib or d.memory_kib,
        time_cost=args.kdf_time_cost or d.time_cost,
        parallelism=args.kdf_parallelism or d.parallelism,
    )
    pw = read_password(MASTER_ENV, "New master password: ", confirm=True)
    with CredentialVault.create(args.vault, pw, kdf=kdf) as vault:
        if args.audit is not None:
            from pinnacle.security import AuditLog

            with AuditLog(args.audit, key=vault.audit_key(), vault=vault) as log:
                log.record("vault.create", actor="pinnacle vault init", detail={"vault": str(args.vault)})
    print(
        f"created {args.vault} (Argon2id {kdf.memory_kib} KiB, {kdf.time_cost} passes, "
        f"{kdf.parallelism} lanes)"
    )
    return EXIT_OK


def run_set(args: argparse.Namespace) -> int:
    """``pinnacle vault set``."""
    with _open(args) as v:
        tty = sys.stdin.isatty()
        values: dict[str, str] = {}
        for f in args.fields:
            value = getpass.getpass(f"{f}: ") if tty else sys.stdin.readline().rstrip("\r\n")
            if not value:
                raise CliError(f"no value given for {f!r} (one line per field on standard input)")
            values[f] = value
        v.set(args.name, **values)
    print(f"stored {args.name!r} ({', '.join(args.fields)}) in {args.vault}")
    return EXIT_OK


def run_get(args: argparse.Namespace) -> int:
    """``pinnacle vault get``."""
    with _open(args) as v:
        creds = v.get(args.name)
        for field, secret in creds.items():
            print(f"{field}: {secret.reveal() if args.reveal else secret}")
        creds.wipe()
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    """``pinnacle vault list``."""
    with _open(args) as v:
        for name in v.names():
            print(name)
    return EXIT_OK


def run_delete(args: argparse.Namespace) -> int:
    """``pinnacle vault delete``."""
    with _open(args) as v:
        v.delete(args.name)
    print(f"deleted {args.name!r} from {args.vault}")
    return EXIT_OK


def run_passwd(args: argparse.Namespace) -> int:
    """``pinnacle vault passwd``."""
    old = read_password(MASTER_ENV, "Current master password: ")
    with _open(args, old) as v:
        v.change_password(old, read_password(NEW_MASTER_ENV, "New master password: ", confirm=True))
    print(f"changed the master password of {args.vault}")
    return EXIT_OK
