"""Vectorised torch twin of the Lava ``fixed_pt`` graph of an :class:`IntegerNetwork`.

It runs every point at once with the integer steps of :mod:`exporters.fixed_point`, and gives
the same outputs and spike counts as :func:`exporters.lava_graph.build_int_graph`, bit for bit.

Latency accounting: in Lava, hidden layer ``i`` is active in steps ``i+1 .. i+T`` and receives at
step ``t`` the Dense output of layer ``i-1``'s spikes of step ``t-1`` (the readout likewise in
``L+1 .. L+T``). In layer-local time ``k = t - i`` that is layer ``i-1``'s spikes of the same
local step ``k``, so the twin simply runs ``k = 1..T`` through all layers in order, with no delay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from exporters import fixed_point as fp
from exporters.intnet import IntegerNetwork


@dataclass
class TwinResult:
    """Same fields as :class:`exporters.runtime.GraphResult` (numpy arrays)."""

    y: np.ndarray
    acc: np.ndarray
    counts: list[np.ndarray]
    events: list[np.ndarray]
    spikes: list[np.ndarray] | None = None  # trace=True: per layer (n_points, T, n_l) int8


F32_EXACT = 2**24  # float32 holds every integer of magnitude <= 2**24
CHUNK_ELEMENTS = 2**19  # values per layer tensor in one pass (fastest measured on 2 cores)


def default_chunk(net: IntegerNetwork) -> int:
    """Points per pass: about ``2**19`` values in the widest layer's tensors (4096 points for a
    64-wide network, 1024 for 512-wide): big enough to amortise each operation's overhead, small
    enough that the allocator reuses its buffers instead of mapping fresh pages every step."""
    widest = max(la.n_out for la in net.hidden)
    return int(min(8192, max(256, CHUNK_ELEMENTS // widest)))


def _exact_mm(s: torch.Tensor, w_t: torch.Tensor) -> torch.Tensor:
    # Spikes are integers |s| <= levels and weights 8-bit: every partial sum is an integer
    # bounded by levels * the largest row sum of |W|, below F32_EXACT (float32) or 2**53
    # (float64; see _mm_dtype): exact.
    return (s @ w_t).to(torch.int64)


def _f32_matmul_exact() -> bool:
    """float32 products are exact only at torch's "highest" matmul precision (a user's
    ``torch.set_float32_matmul_precision("medium")`` may let them run in bfloat16)."""
    return torch.get_float32_matmul_precision() == "highest"


def _mm_dtype(weights: list[np.ndarray], levels: list[int]) -> torch.dtype:
    """float32 when every ``levels_in * sum_j |W_ij|`` is below ``2**24`` (exact), else
    float64 (``levels``: the largest spike magnitude into each matrix)."""
    worst = max(
        (p * int(np.abs(w).sum(axis=1).max()) if w.size else 0)
        for w, p in zip(weights, levels, strict=True)
    )
    return torch.float32 if worst < F32_EXACT and _f32_matmul_exact() else torch.float64


def _shift(x: torch.Tensor, exp: int) -> torch.Tensor:
    return x if exp == 0 else fp.shift(x, exp)


def _float_shift(x: torch.Tensor, exp: int) -> torch.Tensor:
    """``x << exp`` / ``x >> -exp`` (floor) on integer-valued floats: a power-of-two scaling,
    exact in binary floating point, and an exact floor."""
    if exp == 0:
        return x
    return x * float(2**exp) if exp > 0 else torch.floor(x * (0.5 ** (-exp)))


def _stacked(groups, dt: torch.dtype) -> tuple[torch.Tensor, tuple[int, ...]]:
    """A synapse's weight groups side by side, transposed: ``s @ w`` gives every group's
    product in one matmul (``(n, groups * n_out)``); and the groups' exponents."""
    w = np.concatenate([fp.dense_effective_weights(g).T for g, _ in groups], axis=1)
    return torch.from_numpy(np.ascontiguousarray(w)).to(dt), tuple(e for _, e in groups)


def _group_sum(prod: torch.Tensor, exps: tuple[int, ...], shift) -> torch.Tensor:
    """``sum_g shift(prod_g, e_g)``: each Dense group shifts (and floors) on its own."""
    if len(exps) == 1:
        return shift(prod, exps[0])
    parts = prod.chunk(len(exps), dim=1)
    out = shift(parts[0], exps[0])
    for part, e in zip(parts[1:], exps[1:], strict=True):
        out = out + shift(part, e)
    return out


def exact_float_dtype(net: IntegerNetwork, bias0: np.ndarray) -> torch.dtype | None:
    """The float type in which every value of this run is an exactly representable integer.

    The custom IF neurons' steps (:func:`exporters.fixed_point.if_soft_step_int`,
    ``signed_if_step_int``, ``graded_if_step_int``) only add, compare, clip, floor-divide (torch's
    float ``//`` is exact on integers: ``(a - fmod(a, b)) / b``) and multiply by small integer
    spikes, so on integer-valued floats they give the integer result whenever every operand and
    result stays within ``2**24`` (float32) or ``2**53`` (float64). With ``|v| <= 2**23 - 1`` after
    each step, that holds when every layer's current ``|a + bias|`` is at most ``2**23``
    (float32); the Dense output is bounded by ``2**31`` (validated), so float64 always holds.
    Returns ``None`` when a layer's neuron needs integer shifts (Lava's LIF): the int64 path.
    """
    layers = net.hidden
    if any(la.spec.current_step is None for la in layers):
        return None
    worst = int(np.abs(bias0).max()) if bias0.size else 0
    raw = 0  # the largest unshifted W @ s (each weight group is its own product)
    for prev, la in zip(layers, layers[1:], strict=False):
        p = prev.spec.levels
        a = 0
        for w, e in la.groups:
            eff = fp.dense_effective_weights(w)
            raw = max(raw, p * int(np.abs(eff).sum(axis=1).max(initial=0)))
            a += fp.dense_max_abs_output(eff, e, p)
        worst = max(worst, a + int(np.abs(la.bias).max(initial=0)))
    for w, _ in net.readout.groups:
        eff_out = fp.dense_effective_weights(w)
        raw = max(raw, layers[-1].spec.levels * int(np.abs(eff_out).sum(axis=1).max(initial=0)))
    if worst <= F32_EXACT // 2 and raw < F32_EXACT and _f32_matmul_exact():
        return torch.float32
    return torch.float64


@torch.no_grad()
def run_twin(
    net: IntegerNetwork,
    x: np.ndarray | torch.Tensor,
    *,
    chunk: int | None = None,
    trace: bool = False,
) -> TwinResult:
    """Simulate ``net`` on points ``x`` (``(n_points, n_in)``) with integer arithmetic.

    ``trace=True`` also records every spike: ``spikes[l][p, k-1, j]`` is neuron ``j`` of hidden
    layer ``l`` at its local step ``k`` (global Lava step ``k + l``) for point ``p``
    (``n_points * T * neurons`` bytes: for locating divergences on a few points).
    """
    x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    mant, exp = net.encode_input(x)
    first = net.hidden[0]
    bias0 = mant << exp if first.spec.act_shift else mant  # effective bias in v units
    if chunk is None:
        chunk = default_chunk(net)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk (points per pass) must be an integer >= 1, got {chunk!r}")
    dtype = exact_float_dtype(net, bias0)
    run = _run_chunk if dtype is None else _run_chunk_float
    parts = [
        run(net, torch.from_numpy(bias0[lo : lo + chunk]), trace, dtype)
        for lo in range(0, bias0.shape[0], chunk)
    ]
    acc = np.concatenate([p[0] for p in parts])
    L = net.depth
    return TwinResult(
        y=net.decode(acc),
        acc=acc,
        counts=[np.concatenate([p[1][i] for p in parts]) for i in range(L)],
        events=[np.concatenate([p[2][i] for p in parts]) for i in range(L)],
        spikes=[np.concatenate([p[3][i] for p in parts]) for i in range(L)] if trace else None,
    )


def _run_chunk(net: IntegerNetwork, bias0: torch.Tensor, trace: bool = False, _dtype=None):
    """The int64 path: every neuron model, Lava's LIF included."""
    n = bias0.shape[0]
    layers = net.hidden
    i64 = torch.int64
    steps = [la.spec.step for la in layers]
    ths = [
        torch.from_numpy(la.threshold.copy())
        if not la.spec.uniform_threshold
        else int(la.threshold[0])
        for la in layers
    ]
    biases = [bias0] + [torch.from_numpy(la.bias.copy()) for la in layers[1:]]
    ro = net.readout
    groups = [la.groups for la in layers[1:]] + [ro.groups]
    levels = [la.spec.levels for la in layers]
    mm = _mm_dtype(
        [fp.dense_effective_weights(w) for gs in groups for w, _ in gs],
        [p for gs, p in zip(groups, levels, strict=True) for _ in gs],
    )
    stacked = [None] + [_stacked(gs, mm) for gs in groups]
    # IntegerNetwork validation bounds every Dense output below 2**31 (intnet._check_dense), so
    # the int32 wrap of fp.dense_output is the identity and the twin applies only its shift.
    v = [torch.from_numpy(la.v0.copy()).expand(n, -1).clone() for la in layers]
    u = [torch.zeros(n, la.n_out, dtype=i64) for la in layers]
    counts = [torch.zeros(n, la.n_out, dtype=i64) for la in layers]
    graded = [la.spec.graded_out for la in layers]  # events differ from counts
    events = [
        torch.zeros(n, la.n_out, dtype=i64) if sg else None
        for la, sg in zip(layers, graded, strict=True)
    ]
    w_out, e_out = stacked[-1]
    acc = torch.zeros(n, ro.weight.shape[0], dtype=i64)
    zero = torch.zeros((), dtype=i64)
    rec = [torch.zeros(n, net.T, la.n_out, dtype=torch.int8) for la in layers] if trace else None
    for k in range(net.T):
        s = None
        for i in range(len(layers)):
            a = zero if i == 0 else _group_sum(_exact_mm(s, stacked[i][0]), stacked[i][1], _shift)
            s, u[i], v[i] = steps[i](u[i], v[i], a, biases[i], ths[i])
            counts[i] += s
            if rec is not None:
                rec[i][:, k] = s
            if graded[i]:
                events[i] += s != 0
            s = s.to(mm)
        acc += _group_sum(_exact_mm(s, w_out), e_out, _shift)
    events = [c.clone() if e is None else e for c, e in zip(counts, events, strict=True)]
    spikes = [r.numpy() for r in rec] if rec is not None else None
    return acc.numpy(), [c.numpy() for c in counts], [e.numpy() for e in events], spikes


def _run_chunk_float(net: IntegerNetwork, bias0: torch.Tensor, trace: bool, dt: torch.dtype):
    """The same equations on integer-valued floats of type ``dt`` (see
    :func:`exact_float_dtype`): the same step functions, no int64 conversions, about twice as
    fast. The readout accumulates in float64 (exact below ``2**53``)."""
    n = bias0.shape[0]
    layers = net.hidden
    steps = [la.spec.current_step for la in layers]
    ths = [torch.from_numpy(la.threshold.copy()).to(dt) for la in layers]
    biases = [bias0.to(dt)] + [torch.from_numpy(la.bias.copy()).to(dt) for la in layers[1:]]
    ro = net.readout
    stacked = [None] + [_stacked(la.groups, dt) for la in layers[1:]]
    w_out, e_out = _stacked(ro.groups, dt)
    v = [torch.from_numpy(la.v0.copy()).to(dt).expand(n, -1).clone() for la in layers]
    counts = [torch.zeros(n, la.n_out, dtype=dt) for la in layers]
    graded = [la.spec.graded_out for la in layers]  # events differ from counts
    events = [
        torch.zeros(n, la.n_out, dtype=dt) if sg else None
        for la, sg in zip(layers, graded, strict=True)
    ]
    acc = torch.zeros(n, ro.weight.shape[0], dtype=torch.float64)
    rec = [torch.zeros(n, net.T, la.n_out, dtype=torch.int8) for la in layers] if trace else None
    for k in range(net.T):
        s = None
        for i in range(len(layers)):
            if i == 0:
                cur = biases[0]
            elif stacked[i][1] == (0,):
                cur = torch.addmm(biases[i], s, stacked[i][0])  # W s + bias in one pass
            else:
                cur = _group_sum(s @ stacked[i][0], stacked[i][1], _float_shift) + biases[i]
            s, v[i] = steps[i](v[i], cur, ths[i])
            s = s.to(dt)
            counts[i] += s
            if rec is not None:
                rec[i][:, k] = s.to(torch.int8)
            if graded[i]:
                events[i] += s != 0
        acc += _group_sum(s @ w_out, e_out, _float_shift).to(torch.float64)
    events = [c if e is None else e for c, e in zip(counts, events, strict=True)]
    spikes = [r.numpy() for r in rec] if rec is not None else None

    def ints(t: torch.Tensor) -> np.ndarray:
        return t.to(torch.int64).numpy()

    return ints(acc), [ints(c) for c in counts], [ints(e) for e in events], spikes
