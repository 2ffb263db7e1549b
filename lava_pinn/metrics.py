"""Relative L2 error, the number every table quotes, defined once.

``rel_l2(pred, ref) = ||pred - ref||_2 / ||ref||_2`` over all entries (Frobenius norm), computed
in the inputs' own library and precision (two torch tensors: ``torch.linalg.norm`` in their
dtype; otherwise numpy arrays and ``np.linalg.norm`` in theirs), so it returns exactly what the
written-out formula gives. A zero reference gives ``0.0`` when ``pred`` equals it and ``inf``
otherwise (never NaN); an optimiser's objective may instead floor the denominator
(``floor=``), which keeps it finite and ordered when the reference is zero.

:func:`field_errors` applies it per output field (column), by default over the rows where
``pred`` is finite (a field with no finite row is NaN: nothing was compared), with *gauge*
fields (a pressure known only up to a constant) compared after removing each side's mean over
those rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

OBJECTIVE_FLOOR = 1e-30
"""The ``floor`` of the calibration and fine-tuning objectives: equal to :func:`rel_l2` for any
reference of norm ``>= 1e-30``, finite (so steps stay comparable) for a zero one."""


def _np(a: Any) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def _same_library(pred: Any, ref: Any) -> tuple[Any, Any]:
    """Both as torch tensors if both are; otherwise both as numpy arrays (dtypes kept)."""
    if isinstance(pred, torch.Tensor) and isinstance(ref, torch.Tensor):
        return pred.detach(), ref.detach()
    return _np(pred), _np(ref)


def rel_l2(pred: Any, ref: Any, *, floor: float = 0.0) -> float:
    """``||pred - ref|| / max(||ref||, floor)`` (numpy arrays or torch tensors of one shape).

    With ``floor = 0`` (the default) a zero reference gives ``0.0`` if ``pred`` is zero too
    and ``inf`` otherwise; a positive ``floor`` makes it ``||pred|| / floor``."""
    p, r = _same_library(pred, ref)
    if p.shape != r.shape:
        raise ValueError(f"rel_l2: pred has shape {tuple(p.shape)} but ref has {tuple(r.shape)}")
    if isinstance(p, torch.Tensor):
        num, den = torch.linalg.norm(p - r), torch.linalg.norm(r)
        if floor > 0:
            den = den.clamp(min=floor)
    else:
        num, den = np.linalg.norm(p - r), np.linalg.norm(r)
        if floor > 0:
            den = np.maximum(den, floor)
    if den > 0:
        return float(num / den)
    return 0.0 if num == 0 else float("inf")


def field_errors(
    pred: Any,
    ref: Any,
    fields: Sequence[str],
    gauge: Iterable[str] = (),
    *,
    finite_only: bool = True,
) -> dict[str, float]:
    """:func:`rel_l2` per column ``fields[i]`` of ``(n, len(fields))`` arrays; columns named in
    ``gauge`` are compared after removing their mean.

    With ``finite_only`` (the default) only the rows where every entry of ``pred`` is finite
    count, and a field with no such row is NaN; without it every row counts, so a non-finite
    prediction makes its field's error NaN or inf."""
    p, r = _same_library(pred, ref)
    if p.ndim != 2 or p.shape != r.shape or p.shape[1] != len(fields):
        raise ValueError(
            f"field_errors: pred {tuple(p.shape)} and ref {tuple(r.shape)} must both be "
            f"(n, {len(fields)})"
        )
    rows = None
    if finite_only:
        finite = (torch.isfinite(p) if isinstance(p, torch.Tensor) else np.isfinite(p)).all(1)
        if not bool(finite.all()):
            rows = finite
    gauge = set(gauge)
    out = {}
    for i, name in enumerate(fields):
        pi, ri = (p[:, i], r[:, i]) if rows is None else (p[rows, i], r[rows, i])
        if pi.shape[0] == 0:
            out[name] = float("nan")
            continue
        if name in gauge:
            pi, ri = pi - pi.mean(), ri - ri.mean()
        out[name] = rel_l2(pi, ri)
    return out
