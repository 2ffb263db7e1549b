"""Send thresholds chosen against an error budget: the coarsest per-layer thresholds (fewest
messages) whose deployed error stays within a target.

A threshold ``vth`` (payload units, per layer) trades messages for accuracy: a neuron keeps a
change smaller than ``vth`` to itself, so what downstream layers see lags its activation by
less than ``vth``. :func:`choose_thresholds` walks a ladder ``1, 2, 4, ...`` per layer, last
layer first (its errors reach the output undamped by later layers... and every layer is
revisited until no doubling fits): a doubling is kept when the error measured by ``evaluate``
stays within ``budget``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import torch

from exporters.sigma_delta.intnet import IntDeltaNetwork
from exporters.sigma_delta.twin import DeltaRun

log = logging.getLogger(__name__)

Evaluate = Callable[[IntDeltaNetwork], tuple[float, float]]  # -> (error, messages per point)


class BudgetError(ValueError):
    """No thresholds meet the error budget; ``best`` is the best error reached."""

    def __init__(self, message: str, best: float) -> None:
        super().__init__(message)
        self.best = best


@dataclass(frozen=True)
class ThresholdChoice:
    """The chosen network and, per layer, its threshold (payload units and ANN units), the
    error and messages per point at the end, and the budget."""

    net: IntDeltaNetwork
    vth: tuple[int, ...]
    vth_real: tuple[float, ...]
    error: float
    messages: float
    budget: float

    def to_dict(self) -> dict:
        return {
            "vth": list(self.vth),
            "vth_real": list(self.vth_real),
            "error": self.error,
            "messages_per_point": self.messages,
            "budget": self.budget,
        }


def with_thresholds(net: IntDeltaNetwork, vth: list[int] | tuple[int, ...]) -> IntDeltaNetwork:
    """``net`` with per-layer thresholds ``vth`` (:meth:`IntDeltaNetwork.with_vth`)."""
    return net.with_vth(list(vth))


def choose_thresholds(
    net: IntDeltaNetwork, evaluate: Evaluate, budget: float, *, max_exp: int = 14
) -> ThresholdChoice:
    """The coarsest per-layer thresholds with ``evaluate(net)[0] <= budget`` (see the module
    docstring). Raises :class:`BudgetError` with the best error reached when even threshold 1
    everywhere misses the budget."""
    if not budget > 0:
        raise ValueError(f"budget must be > 0, got {budget!r}")
    vth = [1] * len(net.layers)
    cur = with_thresholds(net, vth)
    err, msgs = evaluate(cur)
    if err > budget:
        raise BudgetError(
            f"no thresholds meet the error budget {budget:.4g}: the finest (1 payload unit in "
            f"every layer) reaches {err:.4g}; raise the budget, use more weight groups or "
            "payload bits, or fine-tune (lava_pinn.sigma_delta.qat)",
            err,
        )
    changed = True
    while changed:
        changed = False
        for i in reversed(range(len(vth))):
            la = net.layers[i]
            cap = min(1 << max_exp, (1 << (la.payload_bits - 1)) - 1)
            while vth[i] * 2 <= cap:
                trial = vth.copy()
                trial[i] *= 2
                t_net = with_thresholds(net, trial)
                e, m = evaluate(t_net)
                if e > budget:
                    break
                vth, cur, err, msgs, changed = trial, t_net, e, m, True
    log.info("thresholds %s: error %.4g (budget %.4g), %.1f messages/point", vth, err, budget, msgs)
    real = tuple(float(v) * 2.0**-la.act_bits for v, la in zip(vth, net.layers, strict=True))
    return ThresholdChoice(cur, tuple(vth), real, float(err), float(msgs), float(budget))


def field_ratio(y: torch.Tensor, ann: torch.Tensor, ref: torch.Tensor | None) -> float:
    """The largest, over output fields, of ``rel_l2(y_k, ref_k) / rel_l2(ann_k, ref_k)``; with
    no reference (``None``), the largest ``rel_l2(y_k, ann_k)``."""
    if ref is None:
        d = (y - ann).norm(dim=0) / ann.norm(dim=0).clamp(min=1e-30)
        return float(d.max())
    num = (y - ref).norm(dim=0) / ref.norm(dim=0).clamp(min=1e-30)
    den = (ann - ref).norm(dim=0) / ref.norm(dim=0).clamp(min=1e-30)
    return float((num / den.clamp(min=1e-30)).max())


def static_evaluator(
    x: torch.Tensor, ann: torch.Tensor, ref: torch.Tensor | None, run: Callable[..., DeltaRun]
) -> Evaluate:
    """An ``evaluate`` for :func:`choose_thresholds`: run the points ``x`` statically and score
    with :func:`field_ratio`."""

    def evaluate(net: IntDeltaNetwork) -> tuple[float, float]:
        r = run(net, x)
        return field_ratio(r.y, ann, ref), r.messages_per_point()

    return evaluate
