"""End-to-end fine-tuning of a converted chain against the ANN (tandem learning).

Layer-wise calibration (:mod:`.calibration`) fits each layer to the ANN's activations given the
SNN's actual inputs, but it cannot see how the small per-layer errors add up through the chain.
Fine-tuning adjusts every float parameter of the factored chain (see :mod:`.plan`) at once to
bring the SNN's *output* on the calibration points to the ANN's:

    min  (1/N) sum_i |y_SNN(x_i) - y_ANN(x_i)|^2 / mean |y_ANN|^2

over ``U_l, c_l`` (encoders), ``v0_l`` (initial potentials), ``E_l, e_l`` (decoders, within
each unit only) and ``W_out, b_out``. The thresholds ``V_l``, the neuron models and the
simulator stay as they are, so the result runs unchanged on the exporters' integer twin.

The gradient is computed in *tandem* (Wu et al., "Progressive tandem learning", 2021): the
forward pass is the exact simulation (:func:`~lava_pinn.conversion.network.simulate_factored`,
real spike counts ``n_l``), the backward pass treats each count as the straight-through rate of
an IF neuron fed the mean current of the step,

    n_l  ~  clip((v0_l + T I_l) / V_l, lo, P T),   I_l = U_l h^_{l-1} + c_l,
    h^_l = E_l n_l / T + e_l,                      y = W_out h^_L + b_out,

(``lo = -T`` for signed neurons, 0 otherwise; ``P`` the spike levels, 1 unless graded), i.e. its
value is the real count and its derivative that of the clipped-linear rate. Each iteration simulates
a random batch of the calibration points, in float32 and with each unit's decoder applied as a block
(same neuron steps, same equations as the reference simulator, cheaper arithmetic).

It lowers the calibration-set error; on unseen points it helps where the error is systematic
(the ``direct`` representation's hard-tanh mismatch, a shallow network at moderate ``T``) and
not where it is the rate quantisation and spike timing of each neuron, a non-smooth function of
the input. With graded neurons the parameters can fit the calibration points closely enough to
overfit; ``docs/results/conversion.md`` has the ``finetune`` rows for every zoo problem.

Guard: at the start, every ``check_every`` iterations and at the end, the candidate is evaluated
exactly (:meth:`Plan.run` on all calibration points, in the plan's dtype); the best evaluated
parameters (the starting ones included) are returned, so fine-tuning never makes the
calibration-set error worse.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import torch

from lava_pinn.conversion.plan import Plan
from lava_pinn.metrics import OBJECTIVE_FLOOR, rel_l2
from lava_pinn.neurons import get_neuron
from lava_pinn.simulation import LayerRun, float_step, run_chain
from lava_pinn.validation import check_count, check_real

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinetuneConfig:
    """Settings of :func:`finetune`.

    ``iters``: Adam iterations (one simulation of a batch of ``batch`` calibration points each;
    ``batch=None``: all). ``lr``: relative step size; each parameter tensor moves by about
    ``lr * mean |param|`` per iteration, decayed to ``lr / 10`` on a cosine schedule.
    ``check_every``: iterations between exact evaluations of the guard. ``time_budget_s``: stop
    early after this many seconds (``None``: no limit). ``seed``: batch sampling.
    """

    iters: int = 60
    lr: float = 2e-4
    batch: int | None = 256
    check_every: int = 20
    time_budget_s: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name, lo in (("iters", 0), ("check_every", 1), ("seed", 0)):
            object.__setattr__(
                self, name, check_count(getattr(self, name), f"FinetuneConfig.{name}", lo)
            )
        if self.batch is not None:
            batch = check_count(self.batch, "FinetuneConfig.batch (None: all points)")
            object.__setattr__(self, "batch", batch)
        check_real(self.lr, "FinetuneConfig.lr", low=0.0, low_open=True)
        if self.time_budget_s is not None and (
            isinstance(self.time_budget_s, bool)
            or not isinstance(self.time_budget_s, (int, float))
            or not self.time_budget_s > 0
        ):
            raise ValueError(
                f"FinetuneConfig.time_budget_s must be a number > 0 or None, "
                f"got {self.time_budget_s!r}"
            )


_PER_LAYER = 5  # U, c, v0, E, e


def _params(plan: Plan) -> list[torch.Tensor]:
    """The trainable tensors of ``plan`` in a fixed order."""
    out: list[torch.Tensor] = []
    for la in plan.layers:
        out += [la.U, la.c, la.v0, la.E, la.e]
    return [*out, plan.W_out, plan.b_out]


def _assign(plan: Plan, values: list[torch.Tensor]) -> None:
    it = iter(values)
    dtype = plan.W_out.dtype
    for la in plan.layers:
        la.U, la.c, la.v0, la.E, la.e = (next(it).detach().to(dtype).clone() for _ in range(5))
    plan.W_out = next(it).detach().to(dtype).clone()
    plan.b_out = next(it).detach().to(dtype).clone()


def _block_size(unit_of: torch.Tensor, units: int) -> int | None:
    """``K`` when unit ``j`` owns exactly the neurons ``jK .. jK+K-1`` (pwl, direct), else None."""
    n = int(unit_of.shape[0])
    if units == 0 or n % units:
        return None
    K = n // units
    return K if torch.equal(unit_of, torch.arange(units).repeat_interleave(K)) else None


def _decode(r: torch.Tensor, E: torch.Tensor, e: torch.Tensor, K: int | None) -> torch.Tensor:
    """``r @ E.T + e``; blockwise when each unit owns ``K`` contiguous neurons."""
    if K is None:
        return r @ E.T + e
    units = E.shape[0]
    coef = E.reshape(units, units, K).diagonal(dim1=0, dim2=1).T  # (units, K): E[j, jK + k]
    return (r.reshape(r.shape[0], units, K) * coef).sum(-1) + e


def fast_run(
    plan: Plan, params: list[torch.Tensor], x: torch.Tensor, dtype: torch.dtype
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The simulator's equations (same neuron steps) for the chain given by ``params``, in
    ``dtype`` and with block decoders; returns ``(y, counts)``. For fine-tuning only: the
    reference is :func:`~lava_pinn.conversion.network.simulate`."""
    T = plan.T
    with torch.no_grad():
        p = [t.detach().to(dtype) for t in params]
        blocks = [_block_size(la.unit_of, la.units) for la in plan.layers]
        x = x.to(dtype)
        L = len(plan.layers)
        U = [p[_PER_LAYER * i] for i in range(L)]
        c = [p[_PER_LAYER * i + 1] for i in range(L)]
        E = [p[_PER_LAYER * i + 3] for i in range(L)]
        e = [p[_PER_LAYER * i + 4] for i in range(L)]

        def synapse(i: int):
            return lambda s: _decode(s, E[i - 1], e[i - 1], blocks[i - 1]) @ U[i].T + c[i]

        layers = [
            LayerRun(
                step=float_step(get_neuron(la.neuron).step),
                bias=None,
                threshold=la.threshold.to(dtype),
                state0=(p[_PER_LAYER * i + 2],),
                synapse=None if i == 0 else synapse(i),
                n_out=la.n,
            )
            for i, la in enumerate(plan.layers)
        ]
        _, counts, _, _ = run_chain(
            layers,
            T,
            drive=x @ U[0].T + c[0],
            spike_dtype=dtype,
            chunk=max(int(x.shape[0]), 1),
        )
        h = _decode(counts[-1] / T, E[-1], e[-1], blocks[-1])
        return h @ p[-2].T + p[-1], counts


def surrogate_output(
    plan: Plan, params: list[torch.Tensor], x: torch.Tensor, counts: list[torch.Tensor]
) -> torch.Tensor:
    """Output ``y`` whose value is the SNN's (from the real ``counts``) and whose gradient is
    that of the straight-through rate chain described in the module docstring."""
    T = plan.T
    h = x
    it = iter(params)
    for la, n_real in zip(plan.layers, counts, strict=True):
        U, c, v0, E, e = (next(it) for _ in range(5))
        lo, hi = get_neuron(la.neuron).count_range(T)
        q = (v0 + T * (h @ U.T + c)) / la.threshold.to(U.dtype)
        s = q.clamp(float(lo), float(hi))
        n = n_real.to(U.dtype) + (s - s.detach())
        h = _decode(n / T, E, e, _block_size(la.unit_of, la.units))
    W_out, b_out = next(it), next(it)
    return h @ W_out.T + b_out


def finetune(plan: Plan, x: torch.Tensor, y_ann: torch.Tensor, config: FinetuneConfig) -> tuple:
    """Fine-tune a copy of ``plan`` end to end; returns ``(plan, log)``.

    ``log`` holds one record per exact evaluation: ``{"iter", "error"}`` (relative L2 of the
    exact SNN output against ``y_ann`` on all of ``x``); the last record also has ``"best"``
    (the error of the returned plan), ``"iterations"`` and ``"seconds"``. The returned plan's
    calibration-set error is the lowest evaluated, never above the input plan's.
    """
    t0 = time.perf_counter()
    work = plan.copy()

    def exact_error(values: list[torch.Tensor]) -> float:
        _assign(work, values)
        y, _ = work.run(x)
        return rel_l2(y, y_ann, floor=OBJECTIVE_FLOOR)

    fdt = torch.float32
    masks = [(la.E != 0).to(fdt) for la in work.layers]
    params = [p.detach().to(fdt).clone().requires_grad_(True) for p in _params(work)]
    start = [p.detach().clone() for p in _params(work)]
    groups = [{"params": [p], "lr": config.lr * max(float(p.abs().mean()), 1e-3)} for p in params]
    base_lr = [g["lr"] for g in groups]
    opt = torch.optim.Adam(groups)
    best_err = exact_error(start)
    best = start
    records: list[dict] = [{"iter": 0, "error": best_err}]
    gen = torch.Generator().manual_seed(config.seed)
    n_pts = x.shape[0]
    xb_all, yb_all = x.to(fdt), y_ann.to(fdt)
    it = 0
    while it < config.iters:
        if config.time_budget_s is not None and time.perf_counter() - t0 > config.time_budget_s:
            break
        if config.batch is None or config.batch >= n_pts:
            xb, yb = xb_all, yb_all
        else:
            idx = torch.randperm(n_pts, generator=gen)[: config.batch]
            xb, yb = xb_all[idx], yb_all[idx]
        frac = it / max(config.iters, 1)
        for g, lr0 in zip(opt.param_groups, base_lr, strict=True):
            g["lr"] = lr0 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        _, counts = fast_run(work, params, xb, fdt)
        opt.zero_grad()
        with torch.enable_grad():
            y_s = surrogate_output(work, params, xb, counts)
            loss = (y_s - yb).pow(2).mean() / yb.pow(2).mean().clamp(min=1e-30)
            loss.backward()
        opt.step()
        with torch.no_grad():
            for k, m in enumerate(masks):  # decoders stay within each unit
                params[_PER_LAYER * k + 3].mul_(m)
        it += 1
        if it % config.check_every == 0 or it == config.iters:
            err = exact_error(params)
            records.append({"iter": it, "error": err})
            log.debug("finetune %d: calibration error %.4g", it, err)
            if err < best_err:
                best_err, best = err, [p.detach().clone() for p in params]
    if records[-1]["iter"] != it:  # stopped by the time budget between checks
        err = exact_error(params)
        records.append({"iter": it, "error": err})
        if err < best_err:
            best_err, best = err, [p.detach().clone() for p in params]
    _assign(work, best)
    records[-1].update(best=best_err, iterations=it, seconds=time.perf_counter() - t0)
    return work, records
