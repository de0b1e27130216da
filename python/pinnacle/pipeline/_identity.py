"""Identity of the input bytes a checkpoint depends on, so a resume on other files is
refused instead of silently continuing at a byte offset of a different file.

For every input up to the checkpoint's file (and the part of that file before the saved
offset) it records: the file name, the SHA-256 of the first ``WINDOW`` bytes of its
(decompressed) content with that length, and, for the current plain file, the SHA-256 of
the ``WINDOW`` bytes ending at the saved offset. Hashing every consumed byte would make a
resume cost proportional to the input (GB files: seconds); these windows cost at most
``2 * WINDOW`` bytes of reading per file, so resume stays within milliseconds. They detect
a different capture file (its first lines carry other update ids and timestamps) and a
file that does not hold the same line ending at the offset; they do not detect an edit of
already consumed bytes in the middle of a file. Appending to a file never changes them.
A gzip file's tail window would need decompressing up to the offset at every checkpoint,
so only its head is checked.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path
from typing import Any

WINDOW = 64 * 1024


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _head(path: str, n: int) -> bytes:
    opener: Any = gzip.open if _is_gzip(path) else open
    with opener(path, "rb") as f:
        data: bytes = f.read(n)
        return data


def _window(path: str, end: int) -> bytes:
    with open(path, "rb") as f:
        start = max(end - WINDOW, 0)
        f.seek(start)
        return f.read(end - start)


def identify(
    files: list[str], file_index: int, offset: int, heads: dict[int, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The identity of inputs ``0..=file_index`` as of a position (file_index, offset).
    ``heads`` caches the head records of files already consumed (they no longer change)."""
    out: list[dict[str, Any]] = []
    for i, path in enumerate(files[: file_index + 1]):
        cached = heads.get(i) if heads is not None and i < file_index else None
        if cached is None:
            head = _head(path, WINDOW)
            cached = {
                "name": Path(path).name,
                "head_len": len(head),
                "head_sha256": hashlib.sha256(head).hexdigest(),
            }
            if heads is not None and i < file_index:
                heads[i] = cached
        ident = dict(cached)
        if i == file_index and offset > 0 and not _is_gzip(path):
            tail = _window(path, offset)
            ident["tail_end"] = offset
            ident["tail_sha256"] = hashlib.sha256(tail).hexdigest()
        out.append(ident)
    return out


def differences(recorded: list[dict[str, Any]], files: list[str]) -> str | None:
    """Why ``files`` are not the inputs ``recorded`` describes (None: they are)."""
    for i, ident in enumerate(recorded):
        if i >= len(files):
            return f"input {i} ({ident.get('name')!r}) is missing: only {len(files)} given"
        path = files[i]
        name = Path(path).name
        if name != ident.get("name"):
            return (
                f"input {i} is {path!r}, but the checkpoint was taken on a file named {ident.get('name')!r}"
            )
        try:
            head = _head(path, int(ident["head_len"]))
            if len(head) != ident["head_len"] or hashlib.sha256(head).hexdigest() != ident["head_sha256"]:
                return f"input {i} {path!r}: its first {ident['head_len']} bytes differ from the checkpoint's"
            if "tail_end" in ident:
                end = int(ident["tail_end"])
                tail = _window(path, end)
                if len(tail) != min(end, WINDOW) or hashlib.sha256(tail).hexdigest() != ident["tail_sha256"]:
                    return f"input {i} {path!r}: the bytes before the saved offset {end} differ"
        except (OSError, EOFError) as e:
            return f"input {i} {path!r} cannot be read: {e}"
        except (KeyError, TypeError, ValueError) as e:
            return f"the checkpoint's record of input {i} is malformed ({e})"
    return None
