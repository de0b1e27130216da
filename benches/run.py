"""Runs pinnacle's benchmark suite (the code lives in ``pinnacle.bench``).

    python benches/run.py [--quick|--full] [--out DIR] [--data-dir DIR] [--only SECTION ...]

The same as ``pinnacle bench``; see ``benches/README.md``.
"""

import sys

from pinnacle.bench.run import main

if __name__ == "__main__":
    sys.exit(main())
