"""Incremental backups: only what changed since a base backup.

An incremental archive holds the non-journal files whose SHA-256 differs from the base's
(new snapshots, a rewritten vault...), the names of those deleted since, and for each
journal the entries after the base's recorded seq (``REL.entries``) — or the whole
journal when it cannot continue the base's copy (another journal identity, or entries
the base needs were compacted away). ``base_sha256`` names the exact base file, so a
chain (full, incremental, incremental...) can only be restored in order.

``REL.entries`` is a sequence of ``seq u64 | kind u16 | timestamp_ns i64 | length u32 |
payload`` (little-endian), encoded and decoded in Rust
(``rust/security/src/backup_entries.rs``); kind 0 is a checkpoint. Restoring appends them
to the journal restored from the base and checks that each gets its recorded seq.
"""

from __future__ import annotations

from pathlib import Path

from pinnacle._core import Journal, decode_backup_entries, encode_backup_entries, entry_kinds

ENTRIES_SUFFIX = ".entries"
CHECKPOINT_KIND = entry_kinds()["checkpoint"]


def encode_entries(journal_path: Path, from_seq: int) -> tuple[bytes, int]:
    """The entries of the journal at ``journal_path`` from ``from_seq`` on, and the last
    seq included (``from_seq - 1`` if none)."""
    with Journal(journal_path) as j:
        if j.last_seq < from_seq:
            return b"", from_seq - 1
        blob, last = encode_backup_entries(j.read(from_seq))
    return blob, from_seq - 1 if last is None else last


def decode_entries(blob: bytes) -> list[tuple[int, int, int, bytes]]:
    """(seq, kind, timestamp_ns, payload) of each entry in ``blob``; CorruptionError
    (``offset``: the faulty entry's first byte) if it does not split into whole entries."""
    return decode_backup_entries(blob)


def can_continue(
    base_seq: int, base_id: str | None, journal_id: str | None, first_seq: int, last_seq: int
) -> bool:
    """True if a journal can be backed up as entries after ``base_seq``: same identity,
    nothing the base lacks compacted away, and not shorter than the base's copy."""
    return (
        base_id is not None and base_id == journal_id and first_seq <= base_seq + 1 and last_seq >= base_seq
    )


def apply_entries(journal_path: Path, blob: bytes, from_seq: int, to_seq: int) -> None:
    """Appends the entries of ``blob`` to the restored journal, which must end at
    ``from_seq - 1``; ValueError if a seq does not come out as recorded, CorruptionError
    if ``blob`` is malformed (nothing is appended then)."""
    with Journal(journal_path) as j:
        if j.next_seq != from_seq:
            raise ValueError(
                f"{journal_path.name} ends at seq {j.last_seq}, the increment starts at {from_seq}"
            )
        for seq, kind, ts, payload in decode_entries(blob):
            got = j.checkpoint(payload) if kind == CHECKPOINT_KIND else j.append(kind, payload, ts)
            if got != seq:
                raise ValueError(f"{journal_path.name}: entry {seq} was restored as seq {got}")
        if j.last_seq != to_seq:
            raise ValueError(
                f"{journal_path.name} ends at seq {j.last_seq} after the increment, not {to_seq}"
            )
