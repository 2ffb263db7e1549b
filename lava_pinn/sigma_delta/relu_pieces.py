"""Any activation as ReLU sigma-delta neurons: the layers Lava's ``SigmaDelta`` (ReLU) runs.

An ANN layer ``h' = f(z)``, ``z = W h + B``, becomes (``K`` pieces per unit, breakpoints
``t_j1 < .. < t_jK`` over the range the calibration pre-activations of unit ``j`` reach):

* **pieces**: ``r_jk = relu(z_j - t_jk)``: a ReLU neuron with unit ``j``'s weight row ``W_j``
  and bias ``B_j - t_jk`` (``structure="rows"``); or, with ``structure="pre"``, a
  pre-activation layer ``p_j = relu(z_j + o_j) = z_j + o_j`` first (one neuron per unit, its
  bias ``B_j + o_j`` keeps it positive on the calibration range, so it is the identity) and
  pieces that read only ``p_j`` (weight 1, bias ``-o_j - t_jk``);
* **relay**: ``g_j = relu(c0_j + d_j + sum_k c_jk r_jk) = f~(z_j) + d_j`` with
  ``f~(z) = c0 + sum_k c_k relu(z - t_k)`` the least-squares fit of ``f`` on the calibration
  pre-activations and the offset ``d_j`` keeping the relay positive (identity). The next
  layer's biases absorb the offsets: ``B'' = B' - W' d`` (the readout's too:
  :attr:`DeltaLayer.offset` of the last relay).

Synapses per layer: ``K n_in n + K n`` (``rows``) or ``n_in n + 2 K n`` (``pre``), not
``K^2``. A ReLU layer needs neither pieces nor relay: one ReLU neuron per unit, exact.
``pre`` lets the integer export carry 8 + 6 bits per weight in two 8-bit Dense rows
(:func:`exporters.sigma_delta.relu_quant.quantize_relu`); ``rows`` is limited to 8-bit weights.
"""

from __future__ import annotations

import torch
from torch import nn

from lava_pinn.conversion.representations import _breakpoints
from lava_pinn.sigma_delta.network import DeltaLayer

NEURON = "sigma-delta-relu"
STRUCTURES = ("pre", "rows")
DEFAULT_TOL = 2e-3  # max |f~ - f| on the calibration pre-activations (activation units)
MAX_PIECES = 64
Z_MARGIN = 0.05  # breakpoints span the calibration range widened by 5% each side
POS_MARGIN = 0.25  # positive margin of identity neurons, x their value range
FLOOR = 0.25  # breakpoint density floor (as in the 'pwl' representation)
RIDGE = 1e-9


def breakpoints(f, lo: float, hi: float, K: int, dtype=torch.float64) -> torch.Tensor:
    """``K`` breakpoints ``lo = t_1 < .. < t_K < hi``, density ``sqrt|f''| + floor`` (the
    ``pwl`` representation's placement, :func:`lava_pinn.conversion.representations.
    _breakpoints`)."""
    pos, _ = _breakpoints(f, lo, lo, hi, K, FLOOR, dtype)
    return pos[:-1]


def fit_pieces(f, z: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Least squares ``f(z) ~ c0 + sum_k c_k relu(z - t_k)`` on samples ``z`` ``(n,)``;
    returns ``(c0, c (K,))``."""
    A = torch.cat([torch.ones_like(z)[:, None], (z[:, None] - t[None]).clamp(min=0)], 1)
    with torch.no_grad():
        y = f(z)
    G = A.T @ A + RIDGE * torch.eye(A.shape[1], dtype=z.dtype) * A.shape[0]
    sol = torch.linalg.solve(G, A.T @ y)
    return sol[0], sol[1:]


def pieces_eval(z: torch.Tensor, t: torch.Tensor, c0, c: torch.Tensor) -> torch.Tensor:
    """``f~(z) = c0 + sum_k c_k relu(z - t_k)`` for ``z`` ``(n,)``."""
    return c0 + (z[:, None] - t[None]).clamp(min=0) @ c


def unit_fits(f, z: torch.Tensor, K: int):
    """Per unit ``j`` of pre-activations ``z`` ``(n, units)``: ``(t (units, K), c0 (units,),
    c (units, K), max error (units,))``."""
    ts, c0s, cs, errs = [], [], [], []
    for j in range(z.shape[1]):
        zj = z[:, j]
        lo, hi = float(zj.min()), float(zj.max())
        pad = Z_MARGIN * max(hi - lo, 1e-6)
        t = breakpoints(f, lo - pad, hi + pad, K, z.dtype)
        c0, c = fit_pieces(f, zj, t)
        with torch.no_grad():
            err = (pieces_eval(zj, t, c0, c) - f(zj)).abs().max()
        ts.append(t)
        c0s.append(c0)
        cs.append(c)
        errs.append(err)
    return torch.stack(ts), torch.stack(c0s), torch.stack(cs), torch.stack(errs)


def choose_pieces(fs, zs, tol: float) -> int:
    """The smallest ``K`` (2..:data:`MAX_PIECES`) whose fits stay within ``tol`` on every unit of
    every non-ReLU layer; raises ``ValueError`` naming the worst layer when none does."""
    worst = (0.0, -1)
    for K in range(2, MAX_PIECES + 1):
        worst = (0.0, -1)
        for i, (f, z) in enumerate(zip(fs, zs, strict=True)):
            e = float(unit_fits(f, z, K)[3].max())
            worst = max(worst, (e, i))
        if worst[0] <= tol:
            return K
    raise ValueError(
        f"no number of pieces up to {MAX_PIECES} fits every activation within tol={tol} "
        f"(layer {worst[1]} stays at {worst[0]:.2e}); raise tol or pass pieces="
    )


def _is_relu(la) -> bool:
    return la.activation == "relu" and (la.fn is None or type(la.fn) is nn.ReLU)


def _layer(w, b, vth_frac, amax, name, offset=None) -> DeltaLayer:
    return DeltaLayer(
        weight=w,
        bias=b,
        activation=nn.ReLU(),
        vth=vth_frac * max(float(amax), 1e-6),
        neuron=NEURON,
        z_range=(-1.0, 1.0),
        name=name,
        offset=offset,
    )


def relu_layers(
    hidden,
    x: torch.Tensor,
    in_scale: torch.Tensor,
    *,
    vth: float,
    pieces: int | None = None,
    tol: float = DEFAULT_TOL,
    structure: str = "pre",
    dtype: torch.dtype = torch.float64,
) -> list[DeltaLayer]:
    """The ReLU sigma-delta layers of ``hidden`` (``AnnLayer`` s of
    :func:`lava_pinn.conversion.convert.parse_mlp`), see the module docstring.

    ``x``: calibration points ``(n, in_features)``; ``in_scale``: the input encoding
    (``layers[0]`` takes ``x / in_scale``); ``vth``: each layer's threshold as a fraction of its
    largest activation; ``pieces``: ``K`` (``>= 2``), or ``None`` for the smallest ``K`` within
    ``tol``; ``structure``: ``"pre"`` or ``"rows"``. The last layer's ``offset`` is what its
    outputs carry above ``f~`` (the readout bias absorbs ``W_out @ offset``)."""
    from lava_pinn.sigma_delta.network import _activation

    if structure not in STRUCTURES:
        raise ValueError(f"structure must be one of {STRUCTURES}, got {structure!r}")
    if pieces is not None and (isinstance(pieces, bool) or not isinstance(pieces, int)):
        raise TypeError(f"pieces must be an int >= 2 or None, got {pieces!r}")
    if pieces is not None and not 2 <= pieces <= MAX_PIECES:
        raise ValueError(f"pieces must be in [2, {MAX_PIECES}], got {pieces}")
    fns = [_activation(la, dtype) for la in hidden]
    # calibration pre-activations of the ANN
    zs, h = [], x.to(dtype) / in_scale
    for i, (la, f) in enumerate(zip(hidden, fns, strict=True)):
        w = la.weight.detach().to(dtype) * (in_scale if i == 0 else 1)
        z = h @ w.T + la.bias.detach().to(dtype)
        zs.append(z)
        with torch.no_grad():
            h = f(z)
    if pieces is None:
        todo = [(f, z) for la, f, z in zip(hidden, fns, zs, strict=True) if not _is_relu(la)]
        pieces = choose_pieces(*zip(*todo, strict=True), tol) if todo else 2
    layers: list[DeltaLayer] = []
    off_in = None  # offset the previous layer's outputs carry
    for i, (la, f, z) in enumerate(zip(hidden, fns, zs, strict=True)):
        w = la.weight.detach().to(dtype) * (in_scale if i == 0 else 1)
        b = la.bias.detach().to(dtype)
        if off_in is not None:
            b = b - w @ off_in
        name = la.path or f"layer{i + 1}"
        n = w.shape[0]
        if _is_relu(la):
            layers.append(_layer(w, b, vth, z.clamp(min=0).max(), name))
            off_in = None
            continue
        t, c0, c, _err = unit_fits(f, z, pieces)  # (n, K)
        K = pieces
        zlo, zhi = z.amin(0), z.amax(0)
        if structure == "pre":
            o = POS_MARGIN * (zhi - zlo) - zlo  # p = z + o >= margin on the calibration range
            p = z + o
            layers.append(_layer(w, b + o, vth, p.max(), f"{name}/pre", o))
            w_p = torch.eye(n, dtype=dtype).repeat_interleave(K, 0)
            b_p = (-o[:, None] - t).reshape(-1)
        else:
            w_p = w.repeat_interleave(K, 0)
            b_p = (b[:, None] - t).reshape(-1)
        r = (z[:, :, None] - t[None]).clamp(min=0)  # (n_pts, n, K)
        layers.append(_layer(w_p, b_p, vth, r.max(), f"{name}/pieces"))
        ft = c0 + (r * c[None]).sum(2)  # f~ on the calibration points
        flo, fhi = ft.amin(0), ft.amax(0)
        d = POS_MARGIN * (fhi - flo).clamp(min=1e-6) - flo
        w_r = torch.zeros(n, n * K, dtype=dtype)
        for j in range(n):
            w_r[j, j * K : (j + 1) * K] = c[j]
        layers.append(_layer(w_r, c0 + d, vth, (ft + d).max(), f"{name}/relay", d))
        off_in = d
    return layers
