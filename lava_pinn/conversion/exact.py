"""Per-unit shapes for the representations: what one IF neuron can compute exactly, the
clipped-linear fit of a smooth activation, and the pieces a piecewise-linear activation needs.

A non-negative IF neuron of ``direct`` decodes ``h = lo + A r`` with ``r = clip(I / A', 0, 1)``
(``A'`` its threshold, the current scaled to match), so one unit computes the clipped line

    h(z) = lo + clip(g z + d - lo, 0, A)                                            (1)

(``A = None``: the upper clip is left to the threshold rule). A piecewise-linear activation
whose calibration range ``[z_min, z_max]`` reaches at most one piece of non-zero slope is (1)
exactly: ReLU (``g = 1, d = 0, lo = 0``), ReLU6 and Hardtanh (``A`` = the flat top minus the flat
bottom when both are reached), a LeakyReLU unit on one side of its knot. A smooth ``f`` is
fitted with (1) by least squares on the calibration points, clipping included
(:func:`fit_clipped`), instead of with a straight line.

``pwl`` cuts a piecewise-linear activation at its own knots: the pieces ``[a, b]`` the range
reaches with non-zero slope, each one IF neuron of threshold ``b - a`` (:func:`exact_pieces`).
A smooth ``f`` gets, with an error target ``tol``, the fewest pieces whose interpolant is within
``tol`` of ``f`` on the unit's range (:func:`pieces_for_tol`).
"""

from __future__ import annotations

import torch

from lava_pinn.activations import PiecewiseLinear

SLOPE_EPS = 1e-12  # |slope| below this is a flat piece (no neuron)


def one_neuron_shape(
    pl: PiecewiseLinear, f, z_min: float, z_max: float, dtype: torch.dtype
) -> tuple[float, float, float, float | None] | None:
    """``(g, d, lo, A)`` of (1) equal to ``f`` on ``[z_min, z_max]``, or ``None`` when the range
    reaches two pieces of non-zero slope (one neuron cannot bend twice)."""
    pieces = pl.pieces_on(z_min, z_max) if z_max > z_min else [(z_min, z_max, 0.0)]
    sloped = [p for p in pieces if abs(p[2]) > SLOPE_EPS]
    if len(sloped) > 1:
        return None
    ends = torch.tensor([z_min, z_max], dtype=dtype)
    f_lo, f_hi = (float(v) for v in f(ends))
    lo = min(f_lo, f_hi)
    if not sloped:
        return 0.0, lo, lo, None
    a, b, g = sloped[0]
    fa = float(f(torch.tensor([a], dtype=dtype))[0])
    d = fa - g * a
    # a flat piece on the high-value side of the sloped one saturates the unit at a known level
    high_side_flat = (g > 0 and b < z_max) or (g < 0 and a > z_min)
    return g, d, lo, (max(f_lo, f_hi) - lo) if high_side_flat else None


def fit_clipped(
    z: torch.Tensor, h: torch.Tensor, g: torch.Tensor, d: torch.Tensor, steps: int = 300
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-unit least squares of (1) to ``h`` on the points ``z`` (both ``(N, n)``), started
    from the line ``g z + d`` clipped to ``[min h, max h]``: Adam on ``(g, d, lo, A)``, keeping
    the start where the fit is not better. Returns ``(g, d, lo, A)``, each ``(n,)``."""
    lo0 = h.min(0).values
    A0 = (h.max(0).values - lo0).clamp(min=1e-12)

    def model(p, zz=z):
        g_, d_, lo_, A_ = p
        return lo_ + torch.minimum((g_ * zz + d_ - lo_).clamp(min=0), A_.abs())

    start = [g.clone(), d.clone(), lo0.clone(), A0.clone()]
    params = [t.clone().float().requires_grad_(True) for t in start]
    zf, hf = z.float(), h.float()
    h_scale = float(h.abs().mean()) + 1e-6
    z_scale = float(z.abs().mean()) + 1e-6
    opt = torch.optim.Adam(
        [
            {"params": params[:1], "lr": 1e-2 * h_scale / z_scale},
            {"params": params[1:], "lr": 1e-2 * h_scale},
        ]
    )
    with torch.enable_grad():
        for _ in range(steps):
            opt.zero_grad()
            loss = (model(params, zf) - hf).pow(2).mean(0).sum()
            loss.backward()
            opt.step()
    fitted = [p.detach().to(z.dtype) for p in params]
    fitted[3] = fitted[3].abs()
    e_new = (model(fitted) - h).pow(2).mean(0)
    e_old = (model(start) - h).pow(2).mean(0)
    better = e_new < e_old
    return tuple(torch.where(better, a, b) for a, b in zip(fitted, start, strict=True))


def exact_pieces(
    pl: PiecewiseLinear, lo: float, hi: float, z: torch.Tensor
) -> tuple[list[float], list[float], float]:
    """The breakpoints of ``f`` on ``[lo, hi]``: ``(pos, neg, c)`` as ``pwl`` uses them
    (``c = pos[0] = neg[0]``, ``pos`` increasing to ``hi``, ``neg`` decreasing to ``lo``): its knots
    inside the range, ``c`` the edge that makes the sloped pieces fire fewest spikes on the
    unit's calibration pre-activations ``z`` (a piece above ``c`` fires ``clip((z - a)/(b - a),
    0, 1)``, one below ``clip((b - z)/(b - a), 0, 1)``). Flat pieces stay in the lists;
    :func:`sloped` tells which need a neuron."""
    edges = [lo, *(k for k in pl.knots if lo < k < hi), hi]
    cost = []
    for c in edges:
        total = 0.0
        for a, b in zip(edges, edges[1:], strict=False):
            if not sloped(pl, a, b):
                continue
            w = max(b - a, 1e-30)
            r = (z - a) / w if a >= c else (b - z) / w
            total += float(r.clamp(0, 1).mean())
        cost.append(total)
    c = edges[min(range(len(edges)), key=lambda i: cost[i])]
    pos = [e for e in edges if e >= c]
    neg = [e for e in reversed(edges) if e <= c]
    return pos, neg, c


def sloped(pl: PiecewiseLinear, a: float, b: float) -> bool:
    """Does ``f`` have a non-zero slope on ``[min(a, b), max(a, b)]`` (one piece)?"""
    lo, hi = min(a, b), max(a, b)
    return any(abs(s) > SLOPE_EPS for _, _, s in pl.pieces_on(lo, hi))


MAX_PIECES = 64  # pieces_for_tol searches 2 .. MAX_PIECES


def pieces_for_tol(
    f, lo: float, c: float, hi: float, tol: float, breakpoints, floor: float, dtype, placement
) -> tuple[int, tuple]:
    """The fewest pieces ``K`` in ``[2, MAX_PIECES]`` whose interpolant of ``f`` at
    ``breakpoints(f, lo, c, hi, K, floor, dtype, placement)`` is within ``tol`` of ``f`` on a
    401-point grid of ``[lo, hi]`` (``MAX_PIECES`` when none is), by bisection; returns ``(K,
    (pos, neg))``."""
    grid = torch.linspace(lo, hi, 401, dtype=dtype)
    fg = f(grid)

    def err(K: int):
        pos, neg = breakpoints(f, lo, c, hi, K, floor, dtype, placement)
        knots = torch.cat([neg.flip(0), pos[1:]])
        vals = f(knots)
        idx = torch.searchsorted(knots, grid, right=True).clamp(1, len(knots) - 1)
        x0, x1 = knots[idx - 1], knots[idx]
        t = ((grid - x0) / (x1 - x0).clamp(min=1e-30)).clamp(0, 1)
        interp = vals[idx - 1] + t * (vals[idx] - vals[idx - 1])
        return float((interp - fg).abs().max()), (pos, neg)

    lo_k, hi_k = 2, MAX_PIECES
    e, bp = err(lo_k)
    if e <= tol:
        return lo_k, bp
    best = (hi_k, err(hi_k)[1])
    while hi_k - lo_k > 1:
        mid = (lo_k + hi_k) // 2
        e, bp = err(mid)
        if e <= tol:
            hi_k, best = mid, (mid, bp)
        else:
            lo_k = mid
    return best
