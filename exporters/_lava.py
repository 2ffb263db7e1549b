"""Import Lava on demand, with an error that says how to get it."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

_HINT = (
    "Lava (lava-nc 0.10.0, the last release) needs Python 3.10; this is Python {ver}. "
    "Run `make test` or `scripts/bootstrap.sh`, which create .venv with Python 3.10 and the "
    "pinned Lava stack, and use .venv/bin/python."
)


def require_lava(module: str = "lava.magma.core.process.process") -> ModuleType:
    """Import and return ``module`` (a Lava module), or raise ``ImportError`` with the fix."""
    try:
        return importlib.import_module(module)
    except (ImportError, ValueError) as err:  # lava on 3.11 fails with a ValueError at import
        ver = ".".join(map(str, sys.version_info[:3]))
        raise ImportError(_HINT.format(ver=ver) + f" (import of {module} failed: {err})") from err


def lava_available() -> bool:
    """True when Lava imports here (Python 3.10 with lava-nc installed)."""
    try:
        require_lava()
    except ImportError:
        return False
    return True
