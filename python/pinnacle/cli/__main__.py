"""``python -m pinnacle.cli``: the ``pinnacle`` command."""

from __future__ import annotations

import sys

from pinnacle.cli import main

if __name__ == "__main__":
    sys.exit(main())
