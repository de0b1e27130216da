"""Argument checks shared by the pipeline's public entry points."""

from __future__ import annotations

from typing import Any

from pinnacle.errors import InvalidArgumentError

MAX_COUNT = 2**63 - 1
"""Counts reach Rust as 64-bit integers; anything larger is refused here, by name."""


def count(name: str, v: Any) -> int:
    """``v`` as a count in 1..MAX_COUNT, or InvalidArgumentError naming ``name``."""
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_COUNT:
        raise InvalidArgumentError(f"{name} must be an int in 1..{MAX_COUNT}, not {v!r}")
    return v
