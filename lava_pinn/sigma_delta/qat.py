"""Quantization-aware fine-tuning of a :class:`DeltaNetwork`: its weights trained *through*
the chip's weight format so that one 8-bit weight group suffices.

The format (what :func:`exporters.sigma_delta.quantize_delta` deploys): row ``r`` of a weight
matrix is ``2**-E_r m_r`` with even mantissas ``m_r`` in ``[-256, 254]`` and
``E_r = floor(log2(254 / max|w_r|))``; a second group, when deployed, adds the next 8 bits.
Fine-tuning minimises, over points ``x`` from the domain,

    L = sum_k mean |N_q(x)_k - N_ann(x)_k|^2 / mean |N_ann(x)_k|^2      (k: outputs)

where ``N_q`` runs the network with every weight replaced by :func:`fake_quant_rows` (forward:
the deployed value; backward: straight through) and every activation rounded to the deployed
payload unit ``2**-F_l`` (straight through), and ``N_ann`` is the network before fine-tuning.
With a ``problem`` and ``pde_weight = lam > 0`` the PDE residuals of the deployed network
join the loss, on points drawn uniformly from the domain each step:

    L += lam sum_e mean r_e(x_pde, N_q(x_pde))^2        (e: the problem's equations)

so the fine-tune may also correct what the ANN itself gets wrong; it never sees the exact
solution.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import torch

from lava_pinn.sigma_delta.convert import table_range
from lava_pinn.sigma_delta.network import DeltaNetwork
from lava_pinn.validation import check_count, check_real

log = logging.getLogger(__name__)

WEIGHT_MAX = 254
GROUP_SHIFT = 8


def _ste(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return x + (q - x).detach()


def row_exponents(w: torch.Tensor) -> torch.Tensor:
    """``E_r = floor(log2(254 / max_j |w_rj|))`` (rows of zeros: 0), as in the exporter."""
    m = w.detach().abs().amax(1)
    m = torch.where(m > 0, m, torch.ones_like(m))
    return torch.floor(torch.log2(WEIGHT_MAX / m))


def _even(x: torch.Tensor) -> torch.Tensor:
    return (2 * torch.round(x / 2)).clamp(-256, WEIGHT_MAX)


def fake_quant_rows(
    w: torch.Tensor, groups: int = 1, e: torch.Tensor | None = None
) -> torch.Tensor:
    """``w`` on the deployed grid (see the module docstring), straight-through in backward."""
    e = row_exponents(w) if e is None else e
    s = 2.0 ** e[:, None]
    scaled = w * s
    q = _even(scaled)
    if groups == 2:
        q = q + _even((scaled - q) * 2.0**GROUP_SHIFT) / 2.0**GROUP_SHIFT
    return _ste(w, q / s)


def _groups(weight_groups: int | list[int], n: int) -> tuple[int, ...]:
    g = (weight_groups,) * (n + 1) if isinstance(weight_groups, int) else tuple(weight_groups)
    if len(g) != n + 1 or any(v not in (1, 2) or isinstance(v, bool) for v in g):
        raise ValueError(
            f"weight_groups must be 1 or 2, or a list of {n + 1} such counts (one per layer and "
            f"the readout), got {weight_groups!r}"
        )
    return g


def _snap(w: torch.Tensor, groups: int, e: torch.Tensor | None) -> torch.Tensor:
    with torch.no_grad():
        return fake_quant_rows(w, groups, e).detach().clone()


def deployed_exponents(inet) -> list[torch.Tensor]:
    """The row exponents ``E_r`` an :class:`~exporters.sigma_delta.IntDeltaNetwork` deployed,
    per layer and the readout: ``sigma_exp + sum_shift - 8 - F`` of the layer before
    (duck-typed: this module does not import the exporters)."""
    out, prev = [], inet.in_bits
    for la in inet.layers:
        e = la.sigma_exp + la.sum_shift - GROUP_SHIFT - prev
        out.append(torch.as_tensor(e, dtype=torch.float64))
        prev = la.act_bits
    out.append(torch.as_tensor(inet.out_exp - prev, dtype=torch.float64))
    return out


def finetune_quantized(
    net: DeltaNetwork,
    x: torch.Tensor,
    *,
    weight_groups: int | list[int] = 1,
    act_bits: list[int] | None = None,
    steps: int = 1500,
    lr: float = 3e-4,
    batch: int = 1024,
    seconds: float | None = None,
    seed: int = 0,
    exponents: list[torch.Tensor] | None = None,
    problem: object | None = None,
    pde_weight: float = 0.0,
    pde_points: int = 512,
    val: torch.Tensor | None = None,
    val_every: int = 250,
) -> DeltaNetwork:
    """Fine-tune ``net``'s weights and biases through the deployed formats (see the module
    docstring) on points ``x`` ``(n, n_in)``; returns a new network (``net`` is unchanged).

    ``act_bits``: the deployed payload fraction bits per layer (``IntDeltaLayer.act_bits`` of
    a first :func:`~exporters.sigma_delta.quantize_delta`); ``None`` leaves activations in
    float. ``steps`` Adam steps from ``lr`` down to 0 (cosine) on batches of ``batch`` points
    (seeded), stopping early after ``seconds`` when given. ``exponents``: the deployed row
    exponents ``E_r`` per layer and the readout (:func:`deployed_exponents` of a first
    quantization); default: every row's own. ``problem``, ``pde_weight``, ``pde_points``:
    the PDE term (see the module docstring; ``problem`` a :class:`~lava_pinn.problems.Problem`
    with a PDE, ``pde_points`` residual points per step; its hard boundary transform applies
    when ``net.metadata["hard_bc"]``). ``val``: held-out points; every ``val_every`` steps
    (and at the end) the loss is measured there (the ANN term on ``val``, the PDE term on its
    first ``pde_points``) and the weights with the lowest are returned, not the last (a
    straight-through fine-tune keeps flipping weights between grid points, and its loss
    jumps from step to step)."""
    check_count(steps, "steps", 1)
    check_count(batch, "batch", 1)
    check_count(pde_points, "pde_points", 1)
    check_count(val_every, "val_every", 1)
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    pde_weight = check_real(pde_weight, "pde_weight", low=0.0)
    if pde_weight > 0 and (problem is None or not getattr(problem, "has_pde", False)):
        raise ValueError(
            "pde_weight > 0 needs problem=<a Problem with a PDE> (lava_pinn.problems.get_problem)"
            f"; got {problem!r}"
        )
    groups = _groups(weight_groups, len(net.layers))
    if exponents is not None and len(exponents) != len(net.layers) + 1:
        raise ValueError(
            f"exponents needs one (n_out,) tensor per layer and the readout "
            f"({len(net.layers) + 1}), got {len(exponents)}"
        )
    ex = (
        [None] * (len(net.layers) + 1)
        if exponents is None
        else [torch.as_tensor(e, dtype=net.out_weight.dtype) for e in exponents]
    )
    if act_bits is not None and len(act_bits) != len(net.layers):
        raise ValueError(f"act_bits needs one entry per layer ({len(net.layers)}), got {act_bits}")
    dt = net.out_weight.dtype
    x = x.detach().to(dt)
    with torch.no_grad():
        target = net.ann(x)
    scale = target.pow(2).mean(0).clamp(min=1e-12)
    ws = [la.weight.clone().requires_grad_(True) for la in net.layers]
    bs = [la.bias.clone().requires_grad_(True) for la in net.layers]
    wo = net.out_weight.clone().requires_grad_(True)
    bo = net.out_bias.clone().requires_grad_(True)
    opt = torch.optim.Adam([*ws, *bs, wo, bo], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    gen = torch.Generator().manual_seed(seed)

    def deployed(xb: torch.Tensor) -> torch.Tensor:
        h = xb / net.in_scale
        for i, la in enumerate(net.layers):
            h = la.activation(h @ fake_quant_rows(ws[i], groups[i], ex[i]).T + bs[i])
            if act_bits is not None:
                u = 2.0 ** act_bits[i]
                h = _ste(h, torch.round(h * u) / u)
        return h @ fake_quant_rows(wo, groups[-1], ex[-1]).T + bo

    def objective(xb: torch.Tensor, tb: torch.Tensor, xp: torch.Tensor | None) -> torch.Tensor:
        loss = ((deployed(xb) - tb).pow(2).mean(0) / scale).sum()
        if xp is not None:
            xp = xp.detach().requires_grad_(True)
            yp = deployed(xp)
            if net.metadata.get("hard_bc"):
                yp = problem.apply_hard_bc(xp, yp)
            res = problem.residual(xp, yp)
            loss = loss + pde_weight * sum(r.pow(2).mean() for r in res.values())
        return loss

    params = [*ws, *bs, wo, bo]
    best: tuple[float, list[torch.Tensor] | None, int] = (float("inf"), None, 0)
    if val is not None:
        val = val.detach().to(dt)
        with torch.no_grad():
            t_val = net.ann(val)
        xp_val = val[:pde_points] if pde_weight > 0 else None

    def validate(step: int) -> None:
        nonlocal best
        v = float(objective(val, t_val, xp_val).detach())
        log.debug("quantization-aware fine-tuning: step %d, validation loss %.4g", step, v)
        if v < best[0]:
            best = (v, [p.detach().clone() for p in params], step)

    t0 = time.monotonic()
    loss = torch.tensor(float("nan"))
    for it in range(steps):
        idx = torch.randint(0, x.shape[0], (min(batch, x.shape[0]),), generator=gen)
        xp = problem.domain.sample(pde_points, gen).to(dt) if pde_weight > 0 else None
        loss = objective(x[idx], target[idx], xp)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        stop = seconds is not None and time.monotonic() - t0 > seconds
        if val is not None and ((it + 1) % val_every == 0 or it + 1 == steps or stop):
            validate(it + 1)
        if stop:
            log.info("quantization-aware fine-tuning stopped at step %d (time limit)", it + 1)
            break
    log.info("quantization-aware fine-tuning: final relative loss %.3g", float(loss))
    if best[1] is not None:
        log.info(
            "quantization-aware fine-tuning: kept step %d (validation loss %.3g)", best[2], best[0]
        )
        with torch.no_grad():
            for p, v in zip(params, best[1], strict=True):
                p.copy_(v)
    # the weights are kept on the grid they were trained on, so export reproduces them; each
    # layer's pre-activation range (which sizes sigma's format and the activation table) grows
    # to cover what the tuned network reaches on x
    layers = []
    h = x / net.in_scale
    with torch.no_grad():
        for la, w, b, g, e in zip(net.layers, ws, bs, groups, ex, strict=False):
            wq = _snap(w, g, e)
            z = h @ wq.T + b
            h = la.activation(z)
            lo, hi = table_range(z)
            zr = (min(la.z_range[0], lo), max(la.z_range[1], hi))
            layers.append(replace(la, weight=wq, bias=b.detach().clone(), z_range=zr))
    meta = {
        **net.metadata,
        "qat": {
            "steps": steps,
            "lr": lr,
            "weight_groups": list(groups),
            "pde_weight": pde_weight,
            "kept_step": best[2] if best[1] is not None else steps,
        },
    }
    return replace(
        net,
        layers=tuple(layers),
        out_weight=_snap(wo, groups[-1], ex[-1]),
        out_bias=bo.detach().clone(),
        metadata=meta,
    )
