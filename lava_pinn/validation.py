"""Input checks shared by every layer: each raises a ``ValueError``/``TypeError`` naming the
argument and what to pass instead. Numpy scalars are accepted wherever Python numbers are."""

from __future__ import annotations

import math
import numbers


def check_count(value: object, name: str, low: int = 1) -> int:
    """``value`` as a Python int ``>= low`` (numpy integers accepted, booleans refused);
    ``ValueError`` naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_T(T: object, name: str = "T (number of time steps)") -> int:
    """The number of time steps, an integer ``>= 1``."""
    return check_count(T, name)


def check_real(
    value: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """``value`` as a finite Python float in ``[low, high]`` (``(low, high]`` with
    ``low_open``); booleans refused; ``ValueError`` naming ``name`` otherwise."""
    ok = (
        not isinstance(value, bool)
        and isinstance(value, numbers.Real)
        and math.isfinite(float(value))
    )
    if ok and low is not None:
        ok = float(value) > low if low_open else float(value) >= low
    if ok and high is not None:
        ok = float(value) <= high
    if not ok:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = (
            f"{'(' if low_open or low is None else '['}{lo}, {hi}{']' if high is not None else ')'}"
        )
        raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")
    return float(value)


def check_flag(value: object, name: str) -> bool:
    """``value`` as a bool (``True``/``False`` or numpy booleans only)."""
    if not isinstance(value, bool) and type(value).__name__ != "bool_":
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(value: object, name: str, choices: dict[str, str]) -> str:
    """``value`` as one of ``choices`` (name -> what it means); ``ValueError`` listing each
    choice with its meaning otherwise."""
    if not isinstance(value, str) or value not in choices:
        listed = " or ".join(f"{k!r} ({v})" for k, v in choices.items())
        raise ValueError(f"{name} must be {listed}, got {value!r}")
    return value
