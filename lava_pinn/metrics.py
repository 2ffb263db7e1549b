"""Relative L2 error, the number every table quotes, defined once.

``rel_l2(pred, ref) = ||pred - ref||_2 / ||ref||_2`` over all entries (Frobenius norm). A zero
reference gives ``0.0`` when ``pred`` equals it and ``inf`` otherwise (never NaN).
:func:`field_errors` applies it per output field (column), over the rows where ``pred`` is
finite, with *gauge* fields (a pressure known only up to a constant) compared after removing
each side's mean over those rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def _np(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def rel_l2(pred: Any, ref: Any) -> float:
    """``||pred - ref|| / ||ref||`` (numpy arrays or torch tensors of one shape)."""
    p, r = _np(pred), _np(ref)
    if p.shape != r.shape:
        raise ValueError(f"rel_l2: pred has shape {p.shape} but ref has {r.shape}")
    num = float(np.linalg.norm(p - r))
    den = float(np.linalg.norm(r))
    if den > 0:
        return num / den
    return 0.0 if num == 0 else float("inf")


def field_errors(
    pred: Any, ref: Any, fields: Sequence[str], gauge: Iterable[str] = ()
) -> dict[str, float]:
    """:func:`rel_l2` per column ``fields[i]`` of ``(n, len(fields))`` arrays, over the rows
    where every entry of ``pred`` is finite; columns named in ``gauge`` are compared after
    removing their mean."""
    p, r = _np(pred), _np(ref)
    if p.ndim != 2 or p.shape != r.shape or p.shape[1] != len(fields):
        raise ValueError(
            f"field_errors: pred {p.shape} and ref {r.shape} must both be (n, {len(fields)})"
        )
    rows = np.isfinite(p).all(axis=1)
    gauge = set(gauge)
    out = {}
    for i, name in enumerate(fields):
        pi, ri = p[rows, i], r[rows, i]
        if name in gauge and pi.size:
            pi, ri = pi - pi.mean(), ri - ri.mean()
        out[name] = rel_l2(pi, ri)
    return out
