"""Layer-wise calibration of a converted network against the ANN's own activations.

Notation (see :mod:`lava_pinn.conversion.plan`): layer ``l`` reads the decoded activations
``h^_{l-1} = E_{l-1} r_{l-1} + e_{l-1}`` of the SNN (``r = counts / T`` from a real simulation of
the calibration points), its neurons get ``I_l = U_l h^_{l-1} + c_l``, and its decoded output
``h^_l`` should match the ANN activation ``h_l = f(z_l)`` (tanh, sin, ... -- not the clipped-linear
rate of the neuron). Methods (registry :data:`CALIBRATIONS`):

* ``none``;
* ``light`` (bias correction, Li et al. generalised): ``e_l <- e_l - mean(h^_l - h_l)``, i.e. the
  next layer's bias absorbs the mean decoding error (``docs/theory.md``: optimal among all bias
  shifts, lowers the next layer's current MSE by exactly ``|U_{l+1} mean(eps)|^2``);
* ``potential``: ``v0 <- v0 + V T mean(r* - r)`` per neuron (``r*``: the rate the neuron would have
  with the ANN's pre-activations), one spike per ``V`` of extra initial charge;
* ``weight``: Adam on ``U_l, c_l`` (and the decoder within each unit) through a straight-through
  rate model ``r = clip(floor((v0 + T I)/V), 0, T)/T`` fed with the SNN's actual input rates;
* ``decoder``: per-unit least squares of ``E_l, e_l`` on the SNN's actual rates (closed form);
* ``advanced``: per layer ``weight``, ``potential``, ``decoder`` (its intercept contains the
  ``light`` bias correction); then a least-squares refit of the output layer on the SNN's
  decoded last activations;
* ``finetune``: ``advanced``, then end-to-end fine-tuning of all encoders, decoders, initial
  potentials and the output layer against the ANN's outputs, with the exact simulation forward
  and straight-through rates backward (:mod:`lava_pinn.conversion.finetune`).

Every step is guarded: it is kept only if the SNN's calibration-set error (relative L2 of the
SNN output against the ANN output) goes down, so calibration never makes that error worse.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from lava_pinn.conversion.finetune import FinetuneConfig, finetune
from lava_pinn.conversion.plan import Plan
from lava_pinn.metrics import OBJECTIVE_FLOOR, rel_l2
from lava_pinn.neurons import get_neuron
from lava_pinn.registry import Registry

log = logging.getLogger(__name__)


@dataclass
class CalibrationContext:
    """Calibration inputs and the guard: ANN outputs on the calibration points."""

    x: torch.Tensor
    y_ann: torch.Tensor
    steps: int = 300
    lr: float = 1e-3
    ridge: float = 1e-4
    log: list | None = None
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)

    def error(self, plan: Plan) -> tuple[float, list[torch.Tensor]]:
        y, counts = plan.run(self.x)
        return self._rel(y), counts

    def error_from(
        self, plan: Plan, l: int, inputs: torch.Tensor | None, head: list
    ) -> tuple[float, list[torch.Tensor], torch.Tensor]:
        """:meth:`error` when only layers ``>= l`` changed: the head's counts ``head[:l]`` and
        the spike train ``inputs`` of layer ``l - 1`` are reused, the tail is simulated (same
        values as a full run). Returns ``(error, counts, spike train of layer l)``."""
        y, tail, train = plan.run_from(self.x, start=l, inputs=inputs, record=l)
        return self._rel(y), list(head[:l]) + tail[l:], train

    def _rel(self, y: torch.Tensor) -> float:
        return rel_l2(y, self.y_ann, floor=OBJECTIVE_FLOOR)


def _guarded(
    name: str,
    plan: Plan,
    ctx: CalibrationContext,
    err: float,
    counts,
    step: Callable,
    evaluate: Callable | None = None,
) -> tuple[Plan, float, list, Any]:
    """Apply ``step(candidate, counts)`` to a copy; keep it only if the calibration error drops.

    ``evaluate(candidate) -> (error, counts, extra)`` scores the copy (default: a full run,
    ``extra = None``). Returns ``(plan, error, counts, extra)``, ``extra`` being ``None`` when
    the step was undone."""
    if evaluate is None:

        def evaluate(p: Plan):
            return (*ctx.error(p), None)

    cand = plan.copy()
    step(cand, counts)
    new_err, new_counts, extra = evaluate(cand)
    kept = new_err < err
    _log_step(ctx, name, err, new_err, kept)
    if kept:
        return cand, new_err, new_counts, extra
    return plan, err, counts, None


# ---------------------------------------------------------------- single-layer steps (in place)
def light_step(plan: Plan, counts: list[torch.Tensor], l: int) -> None:
    """``e_l <- e_l - mean(h^_l - h_l)`` (next layer's bias absorbs the mean error)."""
    la = plan.layers[l]
    dec = (counts[l] / plan.T) @ la.E.T + la.e
    la.e -= (dec - la.h_ann).mean(0)


def potential_step(plan: Plan, counts: list[torch.Tensor], l: int) -> None:
    """``v0 <- v0 + V T mean(r* - r)`` per neuron."""
    la = plan.layers[l]
    r = counts[l] / plan.T
    la.v0 += la.threshold * plan.T * (la.target_rates - r).mean(0)


def decoder_step(plan: Plan, counts: list[torch.Tensor], l: int, ridge: float) -> None:
    """Per-unit least squares of the decoder on the SNN's actual rates of layer ``l``."""
    from lava_pinn.conversion.representations import fit_decoder

    la = plan.layers[l]
    fit_decoder(la, counts[l] / plan.T, la.h_ann, ridge=ridge)


def weight_step(plan: Plan, counts: list[torch.Tensor], l: int, ctx: CalibrationContext) -> None:
    """Adam on ``U_l, c_l`` and the within-unit decoder ``E_l, e_l`` (straight-through rates)."""
    la = plan.layers[l]
    T = plan.T
    if l == 0:
        h_in = ctx.x
    else:
        prev = plan.layers[l - 1]
        h_in = (counts[l - 1] / T) @ prev.E.T + prev.e
    model = get_neuron(la.neuron)
    # The optimisation runs in float32 (half the time of float64; the guard that decides whether
    # the result is kept simulates in the plan's own dtype).
    dtype, f32 = la.U.dtype, torch.float32
    h_in = h_in.to(f32)
    th, v0 = la.threshold.to(f32), la.v0.to(f32)
    mask = (la.E != 0).to(f32)
    U = la.U.to(f32).requires_grad_(True)
    c = la.c.to(f32).requires_grad_(True)
    E = la.E.to(f32).requires_grad_(True)
    e = la.e.to(f32).requires_grad_(True)
    scale = [float(la.U.abs().mean()), float(la.c.abs().mean()), float(la.E.abs().mean())]
    groups = [
        {"params": [U], "lr": ctx.lr * max(scale[0], 1e-3)},
        {"params": [c], "lr": ctx.lr * max(scale[1], 1e-3)},
        {"params": [E, e], "lr": ctx.lr * max(scale[2], 1e-3)},
    ]
    opt = torch.optim.Adam(groups)
    target = la.h_ann.to(f32)
    with torch.enable_grad():
        for _ in range(ctx.steps):
            opt.zero_grad()
            r = model.rate_of(h_in @ U.T + c, th, v0, T)
            loss = ((r @ (E * mask).T + e) - target).pow(2).mean()
            loss.backward()
            opt.step()
    la.U = U.detach().to(dtype)
    la.c = c.detach().to(dtype)
    la.E = (E * mask).detach().to(dtype)
    la.e = e.detach().to(dtype)


def output_step(plan: Plan, counts: list[torch.Tensor], ctx: CalibrationContext) -> None:
    """Least squares of the output layer on the SNN's decoded last activations (ridge towards the
    ANN's weights): ``min |W h^ + b - y_ann|^2 + lambda N |[W b] - [W0 b0]|^2``."""
    la = plan.layers[-1]
    h = (counts[-1] / plan.T) @ la.E.T + la.e
    n = h.shape[0]
    A = torch.cat([h, torch.ones(n, 1, dtype=h.dtype)], 1)
    theta0 = torch.cat([plan.W_out, plan.b_out[:, None]], 1).T
    reg = ctx.ridge * n * torch.eye(A.shape[1], dtype=h.dtype)
    sol = torch.linalg.solve(A.T @ A + reg, A.T @ ctx.y_ann + reg @ theta0)
    plan.W_out = sol[:-1].T.contiguous()
    plan.b_out = sol[-1].contiguous()


# ---------------------------------------------------------------- methods
def _per_layer(plan: Plan, ctx: CalibrationContext, steps: list[tuple[str, Callable]]) -> Plan:
    """Layer by layer, each step guarded. A step at layer ``l`` changes nothing before it, so
    its guard re-simulates only layers ``l..L-1`` from the kept spike train of layer ``l-1``
    (about half the work of full runs, the same numbers)."""
    err, counts, train = ctx.error_from(plan, 0, None, [])  # train: layer 0's, as kept
    inputs = None  # the spike train of layer l - 1 (layer 0 reads the points)
    for l in range(len(plan.layers)):
        if l > 0:
            if train is None:  # no step at layer l - 1 was kept: record its train now
                _, _, train = ctx.error_from(plan, l - 1, inputs, counts)
            inputs = train
            train = None
        for name, fn in steps:
            plan, err, counts, new_train = _guarded(
                f"{name}[{l}]",
                plan,
                ctx,
                err,
                counts,
                lambda p, c, fn=fn, l=l: fn(p, c, l, ctx),
                lambda p, l=l, inputs=inputs, counts=counts: ctx.error_from(p, l, inputs, counts),
            )
            train = new_train if new_train is not None else train
    return plan


def _log_step(ctx: CalibrationContext, name: str, before: float, after: float, kept: bool) -> None:
    if ctx.log is not None:
        ctx.log.append({"step": name, "before": before, "after": after, "kept": kept})
    log.debug(
        "calibration %s: %.4g -> %.4g (%s)", name, before, after, "kept" if kept else "undone"
    )


def calibrate_none(plan: Plan, ctx: CalibrationContext) -> Plan:
    return plan


def calibrate_light(plan: Plan, ctx: CalibrationContext) -> Plan:
    return _per_layer(plan, ctx, [("light", lambda p, c, l, ctx: light_step(p, c, l))])


def calibrate_potential(plan: Plan, ctx: CalibrationContext) -> Plan:
    return _per_layer(plan, ctx, [("potential", lambda p, c, l, ctx: potential_step(p, c, l))])


def calibrate_weight(plan: Plan, ctx: CalibrationContext) -> Plan:
    return _per_layer(plan, ctx, [("weight", weight_step)])


def calibrate_decoder(plan: Plan, ctx: CalibrationContext) -> Plan:
    return _per_layer(
        plan, ctx, [("decoder", lambda p, c, l, ctx: decoder_step(p, c, l, ctx.ridge))]
    )


def calibrate_advanced(plan: Plan, ctx: CalibrationContext) -> Plan:
    plan = _per_layer(
        plan,
        ctx,
        [
            ("weight", weight_step),
            ("potential", lambda p, c, l, ctx: potential_step(p, c, l)),
            ("decoder", lambda p, c, l, ctx: decoder_step(p, c, l, ctx.ridge)),
        ],
    )
    err, counts = ctx.error(plan)
    plan, err, counts, _ = _guarded(
        "output", plan, ctx, err, counts, lambda p, c: output_step(p, c, ctx)
    )
    return plan


def calibrate_finetune(plan: Plan, ctx: CalibrationContext) -> Plan:
    """``advanced``, then end-to-end fine-tuning (guarded: best calibration error seen)."""
    plan = calibrate_advanced(plan, ctx)
    tuned, records = finetune(plan, ctx.x, ctx.y_ann, ctx.finetune)
    if ctx.log is not None:
        ctx.log.append(
            {
                "step": "finetune",
                "before": records[0]["error"],
                "after": records[-1]["best"],
                "kept": records[-1]["best"] < records[0]["error"],
                "iterations": records[-1]["iterations"],
                "seconds": records[-1]["seconds"],
            }
        )
    return tuned


_ADAM = (("calibration_steps", 300), ("calibration_lr", 1e-3))
_FINETUNE = (("finetune_iters", 60), ("finetune_lr", 2e-4), ("finetune_seconds", None))


@dataclass(frozen=True)
class CalibrationMethod:
    """A calibration method: ``fn(plan, ctx)``, the calibration points it needs to be
    reliable, and ``options``, the ``convert`` keywords only it (and its kind) reads, with
    their defaults (:meth:`~lava_pinn.registry.Registry.resolve_options`). ``tied_to_T``:
    what it fits to the spike counts at the conversion's ``T`` (``None``: nothing that
    another ``T`` would change; :mod:`lava_pinn.conversion.transfer`)."""

    name: str
    fn: Callable[[Plan, CalibrationContext], Plan]
    min_points: int
    description: str
    options: tuple[tuple[str, object], ...] = ()
    tied_to_T: str | None = None


CALIBRATIONS: Registry[CalibrationMethod] = Registry("calibration method")
for _m in (
    CalibrationMethod("none", calibrate_none, 0, "no calibration"),
    CalibrationMethod("light", calibrate_light, 32, "bias correction of the decoded activations"),
    CalibrationMethod("potential", calibrate_potential, 64, "initial membrane potentials"),
    CalibrationMethod(
        "weight",
        calibrate_weight,
        256,
        "layer-wise STE weight calibration (Adam)",
        _ADAM,
        "its weights were fitted through the rate quantiser at that T",
    ),
    CalibrationMethod(
        "decoder",
        calibrate_decoder,
        128,
        "layer-wise least-squares decoders",
        tied_to_T="its decoders were fitted to the rates fired at that T",
    ),
    CalibrationMethod(
        "advanced",
        calibrate_advanced,
        256,
        "weight + potential + decoder per layer, then output",
        _ADAM,
        "its weights, decoders and output layer were fitted to the spike counts at that T",
    ),
    CalibrationMethod(
        "finetune",
        calibrate_finetune,
        256,
        "advanced, then end-to-end tandem fine-tuning",
        _ADAM + _FINETUNE,
        "it was fine-tuned end to end on the spike counts at that T",
    ),
):
    CALIBRATIONS.register(_m.name, _m)


def calibrate(
    plan: Plan,
    x: torch.Tensor,
    y_ann: torch.Tensor,
    method: str = "advanced",
    *,
    steps: int = 300,
    lr: float = 1e-3,
    ridge: float = 1e-4,
    finetune: FinetuneConfig | None = None,
) -> Plan:
    """Run calibration ``method`` on a copy of ``plan``; the log goes to ``plan.info``.

    ``steps``, ``lr``: Adam of the layer-wise ``weight`` step; ``ridge``: decoder and output
    least squares; ``finetune``: settings of the ``finetune`` method (default
    :class:`~lava_pinn.conversion.finetune.FinetuneConfig`)."""
    m = CALIBRATIONS.get(method)
    if finetune is None:
        finetune = FinetuneConfig()
    if not isinstance(finetune, FinetuneConfig):
        raise TypeError(f"finetune must be a FinetuneConfig or None, got {type(finetune).__name__}")
    ctx = CalibrationContext(
        x=x, y_ann=y_ann, steps=steps, lr=lr, ridge=ridge, log=[], finetune=finetune
    )
    out = m.fn(plan.copy(), ctx)
    out.info["calibration"] = method
    out.info["calibration_log"] = ctx.log
    return out
