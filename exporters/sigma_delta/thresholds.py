"""Send thresholds chosen against an error budget: the coarsest per-layer thresholds (fewest
messages) whose deployed error stays within a target.

A threshold ``vth`` (payload units, per layer) trades messages for accuracy: a ``sigma-delta``
neuron sends its activation rounded to a grid of spacing ``vth``, so downstream layers see it
within ``vth / 2`` and a stream sends once per grid line crossed; an encoder step (``in_vth``,
per input feature) rounds an input the same way. :func:`choose_thresholds` walks a ladder
``1, 2, 4, ...`` per layer and per streamed input in turns: each pass tries one doubling of
every rung still climbing, last layer first (its errors reach the output undamped by later
layers), then the streamed inputs; a doubling is kept when the error measured by ``evaluate``
stays within ``budget``, and a rung whose doubling misses stops climbing. Taking turns shares
the budget between the layers and the streamed input (climbing one rung to its top first
would spend it all there; over a stream the input's step is what bounds the number of steps
that send anything at all).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
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
    in_vth: tuple[int, ...] = ()

    def to_dict(self) -> dict:
        return {
            "vth": list(self.vth),
            "in_vth": list(self.in_vth),
            "vth_real": list(self.vth_real),
            "error": self.error,
            "messages_per_point": self.messages,
            "budget": self.budget,
        }


def with_thresholds(
    net: IntDeltaNetwork, vth: list[int] | tuple[int, ...], in_vth: Sequence[int] | None = None
) -> IntDeltaNetwork:
    """``net`` with per-layer thresholds ``vth`` and encoder steps ``in_vth``
    (:meth:`IntDeltaNetwork.with_vth`)."""
    return net.with_vth(list(vth), in_vth)


def choose_thresholds(
    net: IntDeltaNetwork,
    evaluate: Evaluate,
    budget: float,
    *,
    max_exp: int = 14,
    inputs: Sequence[int] = (),
) -> ThresholdChoice:
    """The coarsest per-layer thresholds with ``evaluate(net)[0] <= budget`` (see the module
    docstring); ``inputs``: input features whose encoder step is coarsened the same way (the
    ones a stream moves: each step of theirs that the budget allows is a message fewer
    through the whole network). Raises :class:`BudgetError` with the best error reached when
    even threshold 1 everywhere misses the budget."""
    if not budget > 0:
        raise ValueError(f"budget must be > 0, got {budget!r}")
    bad = [i for i in inputs if not 0 <= int(i) < net.in_features]
    if bad:
        raise ValueError(
            f"inputs {bad} are not input features of a {net.in_features}-input network"
        )
    vth = [1] * len(net.layers)
    in_vth = [1] * net.in_features
    cur = with_thresholds(net, vth, in_vth)
    err, msgs = evaluate(cur)
    if err > budget:
        raise BudgetError(
            f"no thresholds meet the error budget {budget:.4g}: the finest (1 payload unit in "
            f"every layer) reaches {err:.4g}; raise the budget, use more weight groups or "
            "payload bits, or fine-tune (lava_pinn.sigma_delta.qat)",
            err,
        )
    # ladder rungs: ("layer", i) last layer first, then the streamed inputs
    rungs = [("layer", i) for i in reversed(range(len(vth)))] + [("input", int(i)) for i in inputs]
    while rungs:
        climbing = []
        for kind, i in rungs:
            if kind == "layer":
                cap = min(1 << max_exp, (1 << (net.layers[i].payload_bits - 1)) - 1)
                vals = vth
            else:
                cap = min(1 << max_exp, (1 << net.in_bits) - 1)
                vals = in_vth
            if vals[i] * 2 > cap:
                continue
            trial = vals.copy()
            trial[i] *= 2
            tv, ti = (trial, in_vth) if kind == "layer" else (vth, trial)
            t_net = with_thresholds(net, tv, ti)
            e, m = evaluate(t_net)
            if e <= budget:
                vth, in_vth, cur, err, msgs = tv, ti, t_net, e, m
                climbing.append((kind, i))
        rungs = climbing
    log.info(
        "thresholds %s, encoder steps %s: error %.4g (budget %.4g), %.1f messages/point",
        vth,
        in_vth,
        err,
        budget,
        msgs,
    )
    real = tuple(float(v) * 2.0**-la.act_bits for v, la in zip(vth, net.layers, strict=True))
    return ThresholdChoice(
        cur, tuple(vth), real, float(err), float(msgs), float(budget), tuple(in_vth)
    )


def _tensor(v):
    """A numpy array (or list) of values as a float64 tensor; tensors and ``None`` as they are."""
    if v is None or isinstance(v, torch.Tensor):
        return v
    return torch.as_tensor(np.asarray(v, dtype=np.float64))


def field_ratio(y: torch.Tensor, ann: torch.Tensor, ref: torch.Tensor | None) -> float:
    """The largest, over output fields, of ``rel_l2(y_k, ref_k) / rel_l2(ann_k, ref_k)``; with
    no reference (``None``), the largest ``rel_l2(y_k, ann_k)``. Tensors or numpy arrays."""
    y, ann, ref = _tensor(y), _tensor(ann), _tensor(ref)
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
    with :func:`field_ratio` (tensors or numpy arrays)."""
    ann, ref = _tensor(ann), _tensor(ref)

    def evaluate(net: IntDeltaNetwork) -> tuple[float, float]:
        r = run(net, x)
        return field_ratio(r.y, ann, ref), r.messages_per_point()

    return evaluate


def frame_evaluator(
    frames: torch.Tensor,
    ann: torch.Tensor,
    ref: torch.Tensor | None,
    run: Callable[..., DeltaRun],
    fields: Sequence[int] | None = None,
) -> Evaluate:
    """An ``evaluate`` for a stream: frames ``(F, lanes, n_in)`` run statically (a
    ``sigma-delta`` network is memoryless, so each frame's static output is what the stream
    gives there), scored as the worst over frames of :func:`field_ratio` on ``fields``
    (default all); ``ann``, ``ref``: ``(F, lanes, n_out)`` (tensors or numpy arrays)."""
    frames, ann, ref = _tensor(frames), _tensor(ann), _tensor(ref)
    F, n, _ = frames.shape
    cols = list(range(ann.shape[-1])) if fields is None else list(fields)

    def evaluate(net: IntDeltaNetwork) -> tuple[float, float]:
        r = run(net, frames.reshape(F * n, -1))
        y = r.y.reshape(F, n, -1)
        worst = max(
            field_ratio(y[k][:, cols], ann[k][:, cols], None if ref is None else ref[k][:, cols])
            for k in range(F)
        )
        return worst, r.messages_per_point()

    return evaluate
