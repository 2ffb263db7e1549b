"""Firing thresholds from calibration data: ``max``, ``percentile`` and the MSE search of Li et al.

Each method sees, for one hidden layer and ``N`` calibration points, the ``target`` that the
neuron's decoded rate ``V * r`` should reproduce and the neuron's ideal input ``current`` (both
``(N, n)``, same unit), and returns thresholds ``V`` of shape ``(n,)``: one value for the whole
layer (``per_neuron=False``, the default of the paper) or one per neuron.

The T-level quantiser of an IF neuron with the rounding shift ``v0 = V/2`` is

    Q_T(I; V) = clip(round(I T / V), 0, T) * V / T        (``-T .. T`` for signed neurons).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from lava_pinn.registry import Registry
from lava_pinn.validation import check_real, check_T

N_CANDIDATES = 95  # m * (1 - 0.01 i), i = 0..94 (Li et al. 2021)


def quantize(current: torch.Tensor, V: torch.Tensor, T: int, signed: bool) -> torch.Tensor:
    """``Q_T(I; V)``: the time-averaged output of a soft-reset IF neuron fed a constant ``I``."""
    lo = -T if signed else 0
    return torch.clamp(torch.round(current * T / V), lo, T) * V / T


def _scale(target: torch.Tensor, signed: bool) -> torch.Tensor:
    return target.abs() if signed else target.clamp(min=0)


def _positive(V: torch.Tensor) -> torch.Tensor:
    """Dead neurons (never active) get the layer's largest threshold (or 1) instead of 0."""
    fallback = V.max() if bool((V > 0).any()) else torch.ones((), dtype=V.dtype)
    return torch.where(V > 0, V, fallback)


def _broadcast(v: torch.Tensor, n: int) -> torch.Tensor:
    return v.reshape(1).expand(n).clone() if v.ndim == 0 else v


def threshold_max(target, current, T, *, per_neuron=False, signed=False, **_):
    """``V = max |a|`` over the calibration set (per layer or per neuron)."""
    a = _scale(target, signed)
    v = a.max(0).values if per_neuron else a.max()
    return _positive(_broadcast(v, target.shape[1]))


def threshold_percentile(target, current, T, *, per_neuron=False, signed=False, p=99.9, **_):
    """``V`` = the ``p``-th percentile of ``|a|`` (``p`` in (0, 100])."""
    check_percentile(p)
    a = _scale(target, signed)
    q = float(p) / 100.0
    v = torch.quantile(a, q, dim=0) if per_neuron else torch.quantile(a.flatten(), q)
    return _positive(_broadcast(v, target.shape[1]))


def threshold_mse(target, current, T, *, per_neuron=False, signed=False, **_):
    """Li et al.: ``V = argmin_{m(1-0.01i)} mean (a - Q_T(I; V))^2``, ``m = max |a|``."""
    a = _scale(target, signed)
    m = a.max(0).values if per_neuron else a.max()
    m = _positive(_broadcast(m, target.shape[1]))
    frac = 1.0 - 0.01 * torch.arange(N_CANDIDATES, dtype=target.dtype)
    best_err = None
    best = m.clone()
    for f in frac:
        V = m * f
        err = (quantize(current, V, T, signed) - target).pow(2).mean(0)
        if not per_neuron:
            err = err.mean().expand_as(V)
        if best_err is None:
            best_err = err.clone()
            continue
        better = err < best_err
        best = torch.where(better, V, best)
        best_err = torch.where(better, err, best_err)
    return best


def check_percentile(p: object) -> float:
    """``p`` as a float in ``(0, 100]`` (numpy numbers accepted)."""
    return check_real(p, "percentile p", low=0.0, high=100.0, low_open=True)


def check_percentile_use(threshold: str | None, percentile: object) -> float | None:
    """``percentile`` checked, and only with ``threshold="percentile"`` (``None``: the
    default ``mse``), which is the one threshold method that reads it."""
    if percentile is None:
        return None
    p = check_percentile(percentile)
    if threshold != "percentile":
        raise ValueError(
            f"percentile={percentile!r} is read by threshold='percentile' only, got "
            f"threshold={threshold or 'mse'!r}; drop it or pass threshold='percentile'"
        )
    return p


@dataclass(frozen=True)
class ThresholdMethod:
    name: str
    fn: Callable[..., torch.Tensor]
    description: str


THRESHOLDS: Registry[ThresholdMethod] = Registry("threshold method")
THRESHOLDS.register("max", ThresholdMethod("max", threshold_max, "maximum activation"))
THRESHOLDS.register(
    "percentile", ThresholdMethod("percentile", threshold_percentile, "p-th percentile (p=99.9)")
)
THRESHOLDS.register(
    "mse", ThresholdMethod("mse", threshold_mse, "MSE search over m(1-0.01i) (Li et al. 2021)")
)


def choose_thresholds(
    method: str,
    target: torch.Tensor,
    current: torch.Tensor,
    T: int,
    *,
    per_neuron: bool = False,
    signed: bool = False,
    **options: object,
) -> torch.Tensor:
    """Look up ``method`` in :data:`THRESHOLDS` and return ``V`` of shape ``(n,)`` (all > 0)."""
    T = check_T(T)
    fn = THRESHOLDS.get(method).fn
    with torch.no_grad():
        return fn(target, current, T, per_neuron=per_neuron, signed=signed, **options)
