"""How ANN units become spiking neurons: one neuron per unit (``direct``) or a piecewise-linear
expansion into several IF neurons per unit (``pwl``). Each returns a :class:`Plan`.

``direct`` (the paper's): unit ``j`` with activation ``f`` is one neuron. Its rate is
clipped-linear, so ``f`` is replaced by its least-squares line over the calibration range,
``f(z) ~ g z + d``, shifted so the neuron's output is non-negative (``lo = min f``, signed
neurons use the midpoint): current ``I = g z + d - lo``, decoded ``h = lo + V r``. For tanh this
is hard-tanh; its error does not vanish as ``T`` grows. ``fit="clipped"`` fits instead the clipped
line the neuron really computes, ``lo + clip(g z + d - lo, 0, A)``, clipping included
(:mod:`lava_pinn.conversion.exact`). A piecewise-linear ``f`` (ReLU, LeakyReLU, ReLU6, Hardtanh,
PReLU) is that clipped line exactly wherever a unit's range reaches one sloped piece: ReLU is one
IF neuron with slope 1 (the classic conversion), no line fit; ``exact=True`` refuses the rest.

``pwl`` (beyond the paper): unit ``j`` is split at a centre ``c`` (the median of its calibration
pre-activations) into ``K`` pieces over ``[lo, hi]``, breakpoints placed with density
``(sqrt|f''| + floor)^(1 - a) |f'|^a`` (``a`` = ``placement``). ``a = 0`` puts them where ``f``
bends (least interpolation error); ``a = 1`` gives every piece the same rise of ``f`` (equal
output steps), so a unit's piece coefficients are equal and the compiled weights
``U_ij E_jk`` span only the ANN weights' range: what 8-bit weights need
(:mod:`exporters.quantizer`). In between trades the two. Above ``c`` piece ``k`` is an IF neuron
with current ``z - t_k`` and threshold ``w_k = t_{k+1} - t_k``; below ``c`` with current
``s_k - z``.
A piecewise-linear ``f`` is cut at its own knots instead: only the pieces of non-zero slope
its range reaches get a neuron (ReLU: one, LeakyReLU across its knot: two), ``c`` the edge with
the fewest spikes on the calibration points; with ``pieces_tol`` a smooth ``f`` gets, per unit,
the fewest pieces within that error of ``f``.
Then ``f(z) ~ f(c) + sum_k (f(t_{k+1}) - f(t_k)) r_k + sum_k (f(s_{k+1}) - f(s_k)) r'_k``
(``r = clip(I/w, 0, 1)`` as ``T -> inf``): the interpolant of ``f`` at the breakpoints, refined by
least squares. As ``T`` and ``K`` grow the SNN tends to the ANN: the quantisation step of a unit
is ``w/T`` with only one piece partially active, the interpolation error ``O(w^2 |f''|)``.
Near-centre inputs fire few spikes. With graded neurons (``P`` quanta per step, ``graded-if``)
a piece's threshold is the quantum ``w/P`` and its rate lies in ``[0, P]``: the quantisation
step of a unit drops to ``w/(P T)``, leaving mostly the interpolation error.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from lava_pinn.activations import get_activation, piecewise_linear, require_piecewise_linear
from lava_pinn.conversion.allocation import allocate, check_allocation, output_sensitivity
from lava_pinn.conversion.exact import (
    MAX_PIECES,
    exact_pieces,
    fit_clipped,
    one_neuron_shape,
    pieces_for_tol,
    sloped,
)
from lava_pinn.conversion.plan import Plan, PlanLayer
from lava_pinn.conversion.thresholds import choose_thresholds
from lava_pinn.neurons import get_neuron
from lava_pinn.registry import Registry
from lava_pinn.validation import check_choice, check_count, check_real


@dataclass(frozen=True)
class AnnLayer:
    """One hidden layer of the source MLP: ``h = f(W h_prev + b)``.

    ``activation`` names ``f`` (metadata); ``fn``, when given, is the model's own activation
    instance (:func:`lava_pinn.activations.frozen_copy`) and is what ``f`` evaluates, so its
    parameters count; without it ``f`` is the registered activation with its defaults."""

    weight: torch.Tensor
    bias: torch.Tensor
    activation: str
    path: str = ""
    fn: nn.Module | None = None


def act_fn(layer: AnnLayer) -> Callable[[torch.Tensor], torch.Tensor]:
    """``f`` of ``layer`` as a function of a tensor (no gradients)."""
    module = layer.fn if layer.fn is not None else get_activation(layer.activation).module()

    def f(z: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return module(z)

    return f


def ann_forward(layers: list[AnnLayer], x: torch.Tensor) -> tuple[list, list]:
    """Pre-activations ``z_l`` and activations ``h_l`` of every hidden layer."""
    zs, hs = [], []
    h = x
    for la in layers:
        z = h @ la.weight.T + la.bias
        h = act_fn(la)(z)
        zs.append(z)
        hs.append(h)
    return zs, hs


def _line_fit(z: torch.Tensor, h: torch.Tensor, f) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-unit least-squares line ``h ~ g z + d`` (slope ``f'`` at the mean when z is flat)."""
    zm, hm = z.mean(0), h.mean(0)
    var = (z - zm).pow(2).mean(0)
    cov = ((z - zm) * (h - hm)).mean(0)
    eps = 1e-4
    deriv = (f(zm + eps) - f(zm - eps)) / (2 * eps)
    g = torch.where(var > 1e-12, cov / var.clamp(min=1e-12), deriv)
    return g, hm - g * zm


def layer_module(layer: AnnLayer) -> nn.Module:
    """The activation module of ``layer`` (the model's instance, else the registered one)."""
    return layer.fn if layer.fn is not None else get_activation(layer.activation).module()


def _unit_shapes(la: AnnLayer, z: torch.Tensor, h: torch.Tensor, f, fit: str, exact: bool, l: int):
    """Per unit ``(g, d, lo, A)`` of the clipped line ``lo + clip(g z + d - lo, 0, A)``
    (:mod:`lava_pinn.conversion.exact`; ``A`` NaN where the threshold rule clips), and whether
    each unit is exact. Piecewise-linear activations are exact where one neuron can be;
    ``exact=True`` refuses the others."""
    n = z.shape[1]
    dtype = z.dtype
    g, d = _line_fit(z, h, f)
    lo = h.min(0).values
    A = torch.full((n,), float("nan"), dtype=dtype)
    module = layer_module(la)
    pl = require_piecewise_linear(module, "direct with exact=True") if exact else None
    pl = pl or piecewise_linear(module)
    if fit == "clipped":  # the units a piecewise-linear f leaves inexact keep this fit
        g, d, lo, A = fit_clipped(z, h, g, d)
    is_exact = torch.zeros(n, dtype=torch.bool)
    if pl is not None:
        z_min, z_max = z.min(0).values, z.max(0).values
        for j in range(n):
            shape = one_neuron_shape(pl, f, float(z_min[j]), float(z_max[j]), dtype)
            if shape is None:
                if exact:
                    raise ValueError(
                        f"direct with exact=True: unit {j} of hidden layer {l} "
                        f"({la.activation}) reaches two pieces of non-zero slope on the "
                        "calibration points, which one neuron cannot compute; use "
                        "representation='pwl' (one neuron per piece) or exact=False"
                    )
                continue
            g[j], d[j], lo[j] = shape[0], shape[1], shape[2]
            A[j] = float("nan") if shape[3] is None else shape[3]
            is_exact[j] = True
    return g, d, lo, A, is_exact


def direct(
    ann: list[AnnLayer],
    W_out: torch.Tensor,
    b_out: torch.Tensor,
    x: torch.Tensor,
    T: int,
    *,
    neuron: str,
    threshold: str,
    per_neuron: bool,
    threshold_options: dict,
    fit: str = "line",
    exact: bool = False,
    **_: object,
) -> Plan:
    """One neuron per unit, clipped-linear approximation of ``f`` (see module docstring).

    A unit whose clipped line has a known top ``A`` (a flat piece reached, or ``fit="clipped"``)
    decodes ``h = lo + A r`` whatever the layer's threshold ``V``: its current is scaled by
    ``V / A``."""
    fit = check_fit(fit)
    exact = check_exact(exact)
    signed = get_neuron(neuron).signed
    P = get_neuron(neuron).levels  # graded spikes: P quanta of V/P per step
    zs, hs = ann_forward(ann, x)
    layers = []
    n_exact = 0
    for l, (la, z, h) in enumerate(zip(ann, zs, hs, strict=False)):
        f = act_fn(la)
        if signed:  # signed neurons: the paper's line, centred
            g, d = _line_fit(z, h, f)
            lo = (h.max(0).values + h.min(0).values) / 2
            A = torch.full_like(lo, float("nan"))
            if exact or fit != "line":
                raise ValueError(
                    f"direct with neuron {neuron!r} (signed) fits a straight line only; "
                    "exact=True and fit='clipped' need a non-negative neuron ('if', "
                    "'graded-if', 'lif-hard')"
                )
        else:
            g, d, lo, A, is_exact = _unit_shapes(la, z, h, f, fit, exact, l)
            n_exact += int(is_exact.sum())
        fixed = ~torch.isnan(A)
        current = z * g + d - lo
        target = h - lo
        free = ~fixed
        if bool(free.any()):
            V_free = choose_thresholds(
                threshold,
                target[:, free],
                current[:, free],
                T * P,
                per_neuron=per_neuron,
                signed=signed,
                **threshold_options,
            )
        else:
            V_free = A[fixed].max().reshape(1)
        n = z.shape[1]
        V = torch.empty(n, dtype=z.dtype)
        V[free] = V_free if per_neuron else V_free.max()
        if bool(fixed.any()):
            V[fixed] = A[fixed] if per_neuron else (V_free.max() if free.any() else V_free[0])
        V = V / P  # the quantum: the full scale V spans P quanta
        dec = torch.where(fixed, A / P, V)  # decoded value of one quantum
        scale = V / dec  # current scale: the threshold V stands for dec
        v0 = torch.zeros_like(V) if signed else V / 2
        rmin = -1.0 if signed else 0.0
        layers.append(
            PlanLayer(
                U=(scale * g)[:, None] * la.weight,
                c=scale * (g * la.bias + d - lo),
                threshold=V,
                v0=v0,
                neuron=neuron,
                E=torch.diag(dec),
                e=lo.clone(),
                activation=la.activation,
                unit_of=torch.arange(n),
                z_ann=z,
                h_ann=h,
                target_rates=(target / dec).clamp(rmin * P, float(P)),
            )
        )
    info = {"representation": "direct", "fit": fit, "exact_units": n_exact}
    return Plan(layers, W_out.clone(), b_out.clone(), T, info)


FITS = {
    "line": "least-squares line, the paper's",
    "clipped": "the clipped line the neuron computes",
}


def check_fit(value: object, name: str = "fit") -> str:
    """``value`` as ``direct``'s fit of a smooth activation: ``line`` or ``clipped``."""
    return check_choice(value, name, FITS)


def check_exact(value: object, name: str = "exact") -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _breakpoints(
    f, lo: float, c: float, hi: float, K: int, floor: float, dtype, placement: float = 0.0
) -> tuple:
    """Breakpoints ``c=t_0<..<t_Kp=hi`` and ``c=s_0>..>s_Kn=lo`` with density
    ``(sqrt|f''| + floor)^(1 - placement) |f'|^placement``."""
    return _split(_density(f, lo, c, hi, floor, dtype, placement), K)


def _density(f, lo: float, c: float, hi: float, floor: float, dtype, placement: float) -> tuple:
    """What :func:`_split` needs to cut ``[lo, hi]`` into any number of pieces: the grid, the
    cumulative breakpoint density on it and its value at ``c`` (module docstring)."""
    G = 801
    grid = torch.linspace(lo, hi, G, dtype=dtype)
    step = (hi - lo) / (G - 1)
    fg = f(grid)
    f2 = torch.zeros_like(fg)
    f2[1:-1] = (fg[2:] - 2 * fg[1:-1] + fg[:-2]) / step**2
    f2[0], f2[-1] = f2[1], f2[-2]
    rho = f2.abs().sqrt()
    rho = rho + floor * rho.mean() + 1e-12
    if placement > 0:
        f1 = torch.zeros_like(fg)
        f1[1:-1] = (fg[2:] - fg[:-2]) / (2 * step)
        f1[0], f1[-1] = f1[1], f1[-2]
        f1 = f1.abs()
        f1 = f1 + 1e-4 * f1.max() + 1e-12
        rho = rho ** (1 - placement) * f1**placement
    cdf = torch.cat([torch.zeros(1, dtype=dtype), torch.cumsum((rho[1:] + rho[:-1]) / 2, 0)])
    cdf = cdf / cdf[-1]
    c_mass = float(_interp(torch.tensor([c], dtype=dtype), grid, cdf)[0])
    return grid, cdf, c_mass, lo, c, hi


def _split(density: tuple, K: int) -> tuple:
    """:func:`_breakpoints` for ``K`` pieces from :func:`_density`."""
    grid, cdf, c_mass, lo, c, hi = density
    dtype = grid.dtype
    k_neg = int(round(K * c_mass))
    if c - lo > 1e-9 * (hi - lo + 1e-12):
        k_neg = max(k_neg, 1)
    if hi - c > 1e-9 * (hi - lo + 1e-12):
        k_neg = min(k_neg, K - 1)
    k_pos = K - k_neg
    pos = _interp(torch.linspace(c_mass, 1.0, k_pos + 1, dtype=dtype), cdf, grid)
    neg = _interp(torch.linspace(c_mass, 0.0, k_neg + 1, dtype=dtype), cdf, grid)
    pos[0], pos[-1] = c, hi
    neg[0], neg[-1] = c, lo
    return pos, neg


def check_pieces(value: object, name: str = "pieces") -> int:
    """``value`` as ``pwl``'s number of pieces (neurons) per unit, an integer ``>= 2``."""
    return check_count(value, f"{name} (neurons per unit)", low=2)


def check_placement(value: object, name: str = "placement") -> float:
    """``value`` as the ``pwl`` breakpoint placement exponent, in ``[0, 1]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1] (0: breakpoints by curvature, 1: equal output steps), "
            f"got {value}"
        )
    return float(value)


def parse_representation(spec: str) -> tuple[str, dict]:
    """``"pwl:24:0.75"`` -> ``("pwl", {"pieces": 24, "placement": 0.75})`` (the benchmarks'
    short form: representation, then optional pieces and placement)."""
    name, *rest = spec.split(":")
    if len(rest) > 2 or (rest and name != "pwl"):
        raise ValueError(
            f"representation {spec!r}: expected 'direct', 'pwl', 'pwl:PIECES' or "
            "'pwl:PIECES:PLACEMENT'"
        )
    options: dict = {}
    try:
        if rest:
            options["pieces"] = int(rest[0])
        if len(rest) == 2:
            options["placement"] = float(rest[1])
    except ValueError as err:
        raise ValueError(f"representation {spec!r}: {err}") from None
    return name, options


def _interp(xq: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear interpolation ``np.interp`` for increasing ``xp`` (ties allowed)."""
    idx = torch.searchsorted(xp, xq.clamp(xp[0], xp[-1]), right=True).clamp(1, len(xp) - 1)
    x0, x1 = xp[idx - 1], xp[idx]
    y0, y1 = fp[idx - 1], fp[idx]
    t = torch.where(x1 > x0, (xq - x0) / (x1 - x0).clamp(min=1e-30), torch.zeros_like(xq))
    return y0 + t.clamp(0, 1) * (y1 - y0)


def pwl(
    ann: list[AnnLayer],
    W_out: torch.Tensor,
    b_out: torch.Tensor,
    x: torch.Tensor,
    T: int,
    *,
    neuron: str,
    pieces: int = 8,
    margin: float = 0.05,
    floor: float = 0.25,
    ridge: float = 1e-6,
    placement: float = 0.0,
    pieces_tol: float | None = None,
    exact: bool = False,
    allocation: str = "uniform",
    **_: object,
) -> Plan:
    """IF neurons approximating ``f`` piecewise-linearly (module docstring): a
    piecewise-linear ``f`` gets exactly its own pieces the unit's range reaches (flat ones
    need no neuron; ``exact=True`` refuses any other ``f``); a smooth one ``pieces`` per unit,
    or with ``pieces_tol`` the fewest (2 .. 64) whose interpolant is within ``pieces_tol`` of
    ``f`` on the unit's range, or with ``allocation="sensitivity"`` per unit as many (0 .. 64)
    as its effect on the output is worth, within the spikes of ``pieces`` everywhere
    (:mod:`lava_pinn.conversion.allocation`)."""
    pieces = check_pieces(pieces)
    allocation = check_allocation(allocation)
    placement = check_placement(placement)
    exact = check_exact(exact)
    if pieces_tol is not None:
        pieces_tol = check_real(pieces_tol, "pieces_tol", low=0.0, low_open=True)
    if get_neuron(neuron).signed:
        raise ValueError(
            f"representation 'pwl' needs a non-negative neuron ('if', 'graded-if' or 'lif-hard'), "
            f"got {neuron!r}"
        )
    P = get_neuron(neuron).levels  # graded spikes: a piece's width spans P quanta
    zs, hs = ann_forward(ann, x)
    dtype = x.dtype
    K_of = None
    if allocation == "sensitivity" and pieces_tol is None:
        K_of = _allocate(ann, W_out, b_out, x, zs, pieces, T * P, margin, floor, placement)
    layers = []
    per_unit: list[int] = []  # neurons of every unit, all layers
    for l, (la, z, h) in enumerate(zip(ann, zs, hs, strict=False)):
        f = act_fn(la)
        module = layer_module(la)
        shape = require_piecewise_linear(module, "pwl with exact=True") if exact else None
        shape = shape or piecewise_linear(module)
        n_units, n_prev = la.weight.shape
        rows_u, rows_c, thr, coef, unit_of = [], [], [], [], []
        e = torch.empty(n_units, dtype=dtype)
        lo_all, hi_all = z.min(0).values, z.max(0).values
        med_all = z.median(0).values
        for j in range(n_units):
            lo, c, hi = _unit_range(lo_all[j], med_all[j], hi_all[j], margin)
            if shape is None and K_of is not None and K_of[l][j] == 0:
                e[j] = h[:, j].mean()  # not worth a neuron: the constant mean h_j
                per_unit.append(0)
                continue
            if shape is not None:
                pos_l, neg_l, c = exact_pieces(shape, lo, hi, z[:, j])
                pos = torch.tensor(pos_l, dtype=dtype)
                neg = torch.tensor(neg_l, dtype=dtype)
            elif pieces_tol is not None:
                _, (pos, neg) = pieces_for_tol(
                    f, lo, c, hi, pieces_tol, _breakpoints, floor, dtype, placement
                )
            else:
                K = pieces if K_of is None else K_of[l][j]
                pos, neg = _breakpoints(f, lo, c, hi, K, floor, dtype, placement)
            fpos, fneg = f(pos), f(neg)
            e[j] = f(torch.tensor(c, dtype=dtype))
            w_row, b_j = la.weight[j], la.bias[j]
            before = len(unit_of)
            for k in range(len(pos) - 1):
                if shape is not None and not sloped(shape, float(pos[k]), float(pos[k + 1])):
                    continue  # a flat piece: no neuron
                rows_u.append(w_row)
                rows_c.append(b_j - pos[k])
                thr.append(pos[k + 1] - pos[k])
                coef.append(fpos[k + 1] - fpos[k])
                unit_of.append(j)
            for k in range(len(neg) - 1):
                if shape is not None and not sloped(shape, float(neg[k]), float(neg[k + 1])):
                    continue
                rows_u.append(-w_row)
                rows_c.append(neg[k] - b_j)
                thr.append(neg[k] - neg[k + 1])
                coef.append(fneg[k + 1] - fneg[k])
                unit_of.append(j)
            per_unit.append(len(unit_of) - before)
        if not unit_of:  # every unit flat on its range: one silent neuron keeps the layer
            rows_u.append(torch.zeros_like(la.weight[0]))
            rows_c.append(torch.zeros((), dtype=dtype))
            thr.append(torch.ones((), dtype=dtype))
            coef.append(torch.zeros((), dtype=dtype))
            unit_of.append(0)
        U = torch.stack(rows_u)
        cvec = torch.stack(rows_c)
        V = torch.stack(thr).clamp(min=1e-6 * float((hi_all - lo_all).max()) + 1e-9) / P
        unit_of_t = torch.tensor(unit_of)
        E = torch.zeros(n_units, len(unit_of), dtype=dtype)
        E[unit_of_t, torch.arange(len(unit_of))] = torch.stack(coef) / P
        h_prev = x if not layers else layers[-1].h_ann
        ideal = ((h_prev @ U.T + cvec) / V).clamp(0.0, float(P))
        pl = PlanLayer(
            U=U,
            c=cvec,
            threshold=V,
            v0=V / 2,
            neuron=neuron,
            E=E,
            e=e,
            activation=la.activation,
            unit_of=unit_of_t,
            z_ann=z,
            h_ann=h,
            target_rates=ideal,
        )
        fit_decoder(pl, ideal, h, ridge=ridge)
        layers.append(pl)
    info = {
        "representation": "pwl",
        "pieces": pieces,
        "neurons_per_unit": sum(per_unit) / max(len(per_unit), 1),
        "max_neurons_per_unit": max(per_unit, default=0),
    }
    return Plan(layers, W_out.clone(), b_out.clone(), T, info)


def _unit_range(lo: torch.Tensor, med: torch.Tensor, hi: torch.Tensor, margin: float):
    """``(lo, c, hi)`` of a ``pwl`` unit: its calibration range widened by ``margin`` of its
    span on each side, and its centre ``c`` (the median pre-activation)."""
    lo_f, hi_f = float(lo), float(hi)
    span = max(hi_f - lo_f, 1e-6)
    return lo_f - margin * span, float(med), hi_f + margin * span


def _allocate(ann, W_out, b_out, x, zs, pieces, steps, margin, floor, placement):
    """Pieces per unit (``allocation="sensitivity"``), one list per layer (0 for layers of a
    piecewise-linear activation, which get their own pieces)."""
    modules = [layer_module(la) for la in ann]
    sens = output_sensitivity(
        modules, [la.weight for la in ann], [la.bias for la in ann], W_out, b_out, x
    )
    units, where = [], []
    for l, (la, z, a) in enumerate(zip(ann, zs, sens, strict=True)):
        if piecewise_linear(modules[l]) is not None:
            continue
        f = act_fn(la)
        lo_all, hi_all, med_all = z.min(0).values, z.max(0).values, z.median(0).values
        for j in range(z.shape[1]):
            lo, c, hi = _unit_range(lo_all[j], med_all[j], hi_all[j], margin)
            h = f(z[:, j])
            density = _density(f, lo, c, hi, floor, z.dtype, placement)
            units.append(
                {"f": f, "z": z[:, j], "a": float(a[j]), "var": float(h.var()), "d": density}
            )
            where.append((l, j))

    def bp(u: dict, K: int):
        return _split(u["d"], K)

    Ks = allocate(units, pieces, steps, bp, MAX_PIECES)
    out = [[0] * la.weight.shape[0] for la in ann]
    for (l, j), K in zip(where, Ks, strict=True):
        out[l][j] = K
    return out


def fit_decoder(layer: PlanLayer, rates: torch.Tensor, target: torch.Tensor, ridge: float) -> None:
    """Per unit least squares ``target_j ~ e_j + sum_{k in j} E_jk r_k`` (in place).

    The ridge term pulls the coefficients towards their current values (not towards zero), so
    pieces the calibration data never reach keep their interpolation slopes."""
    n_pts = rates.shape[0]
    for j in range(layer.units):
        idx = (layer.unit_of == j).nonzero().flatten()
        A = torch.cat([torch.ones(n_pts, 1, dtype=rates.dtype), rates[:, idx]], 1)
        reg = ridge * n_pts * torch.eye(A.shape[1], dtype=rates.dtype)
        reg[0, 0] = 0.0
        theta0 = torch.cat([layer.e[j : j + 1], layer.E[j, idx]])
        sol = torch.linalg.solve(A.T @ A + reg, A.T @ target[:, j] + reg @ theta0)
        layer.e[j] = sol[0]
        layer.E[j] = 0.0
        layer.E[j, idx] = sol[1:]


@dataclass(frozen=True)
class Representation:
    """A way to build a :class:`Plan` from the ANN. ``options``: the keyword options only this
    representation reads, with their defaults (:meth:`Registry.resolve_options`);
    ``min_points``: the distinct calibration points it needs to build a reliable plan without
    any calibration."""

    name: str
    build: Callable[..., Plan]
    description: str
    options: tuple[tuple[str, object], ...] = ()
    min_points: int = 0


REPRESENTATIONS: Registry[Representation] = Registry("representation")
REPRESENTATIONS.register(
    "direct",
    Representation(
        "direct",
        direct,
        "one neuron per unit, clipped-linear (paper)",
        (
            ("threshold", "mse"),
            ("percentile", None),
            ("per_neuron_threshold", False),
            ("fit", "line"),
            ("exact", False),
        ),
    ),
)
REPRESENTATIONS.register(
    "pwl",
    Representation(
        "pwl",
        pwl,
        "K IF neurons per unit, piecewise-linear activation; each neuron's threshold is its "
        "piece's width",
        (
            ("pieces", 8),
            ("placement", 0.0),
            ("pieces_tol", None),
            ("exact", False),
            ("allocation", "uniform"),
        ),
        # each unit's pieces span the range its calibration points reach
        min_points=64,
    ),
)
