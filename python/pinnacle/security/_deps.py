"""The security layer's third-party packages, imported on first use so that
``import pinnacle`` works without the ``security`` extra installed."""

from __future__ import annotations

import importlib
from types import ModuleType

from pinnacle.errors import MissingDependencyError

_EXTRA = "pip install 'pinnacle[security]'"


def require(module: str, package: str) -> ModuleType:
    """Imports ``module`` or raises MissingDependencyError naming ``package`` and the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingDependencyError(
            f"this needs the {package!r} package, which is not installed ({e}); install the "
            f"security extra: {_EXTRA}"
        ) from None
