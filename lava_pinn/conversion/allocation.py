"""Pieces per unit where they pay: ``pwl`` with ``allocation="sensitivity"``.

A ``pwl`` unit ``j`` with breakpoints ``t`` (pieces of rise ``Delta f_k = f(t_{k+1}) - f(t_k)``)
makes two errors in its decoded activation: the interpolation error of ``f`` between the
breakpoints, and the rate quantisation of the one partially active piece, a step of
``Delta f_k / T`` rounded (``v(0) = V/2``), so about ``Delta f_k / (T sqrt 12)`` rms. Its spikes
per inference are ``T sum_k mean clip((z - t_k) / w_k, 0, 1)`` (``z``: its calibration
pre-activations). Their effect on the output is weighted by the unit's *sensitivity*

    a_j^2 = mean_x sum_o (d y_o / d h_j)^2 / mean_x y_o^2

(the ANN's Jacobian, each output relative to its own size, as the relative L2 error is).
Units differ by orders of magnitude in ``a_j`` times their range, so equal pieces everywhere
spend most spikes where they change the output least.

:func:`allocate` chooses ``K_j`` (0: the unit is replaced by the constant ``mean h_j``, no neuron;
else 2 .. ``max_pieces``) to minimise ``sum_j a_j^2 (interpolation_j(K_j)^2 +
quantisation_j(K_j)^2)`` within the spikes that ``pieces`` per unit everywhere would fire:
greedy marginal analysis, each step giving a unit the pieces with the largest error drop per
extra spike.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import torch

from lava_pinn.validation import check_choice

ALLOCATIONS = {
    "uniform": "the same pieces for every unit",
    "sensitivity": "pieces per unit from its effect on the output",
}


def check_allocation(value: object, name: str = "allocation") -> str:
    """``value`` as ``pwl``'s allocation of pieces to units: ``uniform`` or ``sensitivity``."""
    return check_choice(value, name, ALLOCATIONS)


def output_sensitivity(
    fns: list[Callable[[torch.Tensor], torch.Tensor]],
    weights: list[torch.Tensor],
    biases: list[torch.Tensor],
    W_out: torch.Tensor,
    b_out: torch.Tensor,
    x: torch.Tensor,
) -> list[torch.Tensor]:
    """``a_j`` (module docstring) of every hidden unit, one ``(units,)`` tensor per layer.

    ``fns[l]`` is layer ``l``'s activation (differentiable), ``weights``/``biases`` its
    ``Linear``. Jacobians by reverse mode, one output at a time."""
    with torch.enable_grad():
        h = x.detach().clone().requires_grad_(True)  # so every h_l is in the graph
        hs = []
        for f, W, b in zip(fns, weights, biases, strict=True):
            h = f(h @ W.T + b)
            h.retain_grad()
            hs.append(h)
        y = h @ W_out.T + b_out
        scale = y.detach().pow(2).mean(0).clamp(min=1e-30)
        acc = [torch.zeros(hh.shape[1], dtype=x.dtype) for hh in hs]
        for o in range(y.shape[1]):
            for hh in hs:
                hh.grad = None
            y[:, o].sum().backward(retain_graph=o + 1 < y.shape[1])
            for a, hh in zip(acc, hs, strict=True):
                a += hh.grad.pow(2).mean(0) / scale[o]
    return [a.sqrt() for a in acc]


def unit_cost(
    f, z: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor, T: int
) -> tuple[float, float]:
    """``(error^2, spikes)`` of one unit with breakpoints ``pos``/``neg`` (as ``pwl`` builds
    them) on its calibration pre-activations ``z``: mean squared interpolation plus
    quantisation error of the decoded activation, and spikes per inference."""
    knots = torch.cat([neg.flip(0), pos[1:]])
    vals = f(knots)
    zc = z.clamp(float(knots[0]), float(knots[-1]))
    idx = torch.searchsorted(knots, zc, right=True).clamp(1, len(knots) - 1)
    x0, x1 = knots[idx - 1], knots[idx]
    t = ((zc - x0) / (x1 - x0).clamp(min=1e-30)).clamp(0, 1)
    rise = vals[idx] - vals[idx - 1]
    interp = vals[idx - 1] + t * rise
    err2 = float((interp - f(z)).pow(2).mean() + rise.pow(2).mean() / (12 * T * T))
    up = ((z[:, None] - pos[:-1]) / (pos[1:] - pos[:-1]).clamp(min=1e-30)).clamp(0, 1)
    down = ((neg[:-1] - z[:, None]) / (neg[:-1] - neg[1:]).clamp(min=1e-30)).clamp(0, 1)
    return err2, T * float(up.mean(0).sum() + down.mean(0).sum())


def allocate(
    units: list[dict],
    pieces: int,
    T: int,
    breakpoints: Callable[[dict, int], tuple[torch.Tensor, torch.Tensor]],
    max_pieces: int,
) -> list[int]:
    """Pieces per unit (0 or 2 .. ``max_pieces``) for the units of *all* layers at once.

    ``units[i]``: ``{"f", "z", "a", "var"}`` (activation, calibration pre-activations,
    sensitivity, variance of ``f(z)``); ``breakpoints(unit, K)`` their ``pwl`` breakpoints. The
    spike budget is what ``pieces`` per unit fires."""
    cache: dict[tuple[int, int], tuple[float, float]] = {}

    def cost(i: int, K: int) -> tuple[float, float]:
        if K == 0:
            return units[i]["a"] ** 2 * units[i]["var"], 0.0
        if (i, K) not in cache:
            u = units[i]
            pos, neg = breakpoints(u, K)
            e2, s = unit_cost(u["f"], u["z"], pos, neg, T)
            cache[(i, K)] = (u["a"] ** 2 * e2, s)
        return cache[(i, K)]

    budget = sum(cost(i, pieces)[1] for i in range(len(units)))
    K = [0] * len(units)
    spent = 0.0
    heap: list[tuple[float, int, int]] = []

    def push(i: int) -> None:
        nxt = 2 if K[i] == 0 else K[i] + 1
        if nxt > max_pieces:
            return
        e0, s0 = cost(i, K[i])
        e1, s1 = cost(i, nxt)
        gain = e0 - e1
        if gain <= 0:
            # a finer grid that does not help now may still help after the next piece
            nxt2 = nxt + 1
            if nxt2 > max_pieces:
                return
            e1, s1 = cost(i, nxt2)
            gain, nxt = e0 - e1, nxt2
            if gain <= 0:
                return
        heapq.heappush(heap, (-gain / max(s1 - s0, 1e-9), i, nxt))

    for i in range(len(units)):
        push(i)
    while heap:
        _, i, nxt = heapq.heappop(heap)
        extra = cost(i, nxt)[1] - cost(i, K[i])[1]
        if spent + extra > budget:
            continue
        spent += extra
        K[i] = nxt
        push(i)
    return K
