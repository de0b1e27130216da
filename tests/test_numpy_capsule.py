"""Issue 15 item 9: a Ctrl-C during the first numpy-returning call raised
``PanicException: Failed to access NumPy array API capsule`` instead of KeyboardInterrupt,
because the numpy C API was looked up (running Python code: imports) on first use. It is
now looked up when ``pinnacle._core`` is imported, so later calls run no Python code that
an interrupt could break.

The interrupt is simulated deterministically: ``builtins.__import__`` raises
KeyboardInterrupt for numpy modules, exactly what a SIGINT handler does when it fires
during such an import.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.reliability("lifecycle")

FIRST_USES = """
    import builtins, json
    import pinnacle
    j = pinnacle.Journal({journal!r})
    j.append(1, b"x")
    book = pinnacle.OrderBook("X", journal=pinnacle.Journal({book_journal!r}))
    book.add_order(1, "buy", 1, 1)
    shadow = pinnacle.ShadowBook(pinnacle.OrderBook("X"), {book_journal!r}, 1)
    real = builtins.__import__

    def interrupted(name, *args, **kwargs):
        if name.split(".")[0] == "numpy":
            raise KeyboardInterrupt
        return real(name, *args, **kwargs)

    builtins.__import__ = interrupted
    out = {{}}
    for what, call in [
        ("read_array", j.read_array),
        ("depth", lambda: book.depth(5)),
        ("shadow.snapshot_bytes", shadow.snapshot_bytes),
    ]:
        try:
            call()
            out[what] = "ok"
        except BaseException as e:
            out[what] = type(e).__name__
    builtins.__import__ = real
    print(json.dumps(out))
"""


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_the_first_numpy_returning_calls_run_no_interruptible_import(tmp_path: Path) -> None:
    p = run(FIRST_USES.format(journal=str(tmp_path / "j.journal"), book_journal=str(tmp_path / "b.journal")))
    assert p.returncode == 0, p.stderr[-3000:]
    assert json.loads(p.stdout) == {"read_array": "ok", "depth": "ok", "shadow.snapshot_bytes": "ok"}
    assert "panicked" not in p.stderr


def test_an_interrupt_while_importing_pinnacle_is_a_keyboard_interrupt() -> None:
    p = run(
        """
        import builtins
        real = builtins.__import__
        def interrupted(name, *args, **kwargs):
            if name.split(".")[0] == "numpy":
                raise KeyboardInterrupt
            return real(name, *args, **kwargs)
        builtins.__import__ = interrupted
        try:
            import pinnacle
        except KeyboardInterrupt:
            print("KeyboardInterrupt")
        except BaseException as e:
            print(type(e).__name__)
        """
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.strip() == "KeyboardInterrupt"
