"""Warnings attributed to the user's line, not to the library's.

``warnings.warn(..., stacklevel=outside())`` names the first frame outside the project's
packages (``lava_pinn``, ``exporters``, ``hardware``), however deep inside them the warning is
raised: a user who calls ``hardware.run`` sees their own call, not ``hardware/resources.py``.
(Python 3.12's ``skip_file_prefixes`` does the same; this works on 3.10.)
"""

from __future__ import annotations

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE_DIRS: tuple[str, ...] = tuple(
    os.path.join(_ROOT, p) + os.sep for p in ("lava_pinn", "exporters", "hardware")
)


def is_own_file(filename: str) -> bool:
    """A file of the project's packages."""
    return os.path.abspath(filename).startswith(PACKAGE_DIRS)


def outside() -> int:
    """The ``stacklevel`` for a ``warnings.warn`` in the function that calls this one: the first
    caller outside the project's packages."""
    frame = sys._getframe(2)  # the caller of the function that warns
    level = 2
    while frame is not None and is_own_file(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    return level


__all__ = ["PACKAGE_DIRS", "is_own_file", "outside"]
