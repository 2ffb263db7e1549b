"""Vectorised torch twin of the Lava ``fixed_pt`` graph of an :class:`IntegerNetwork`.

It runs every point at once with the integer steps of :mod:`exporters.fixed_point`, and gives
the same outputs and spike counts as :func:`exporters.lava_graph.build_int_graph`, bit for bit.

Latency accounting: in Lava, hidden layer ``i`` is active in steps ``i+1 .. i+T`` and receives at
step ``t`` the Dense output of layer ``i-1``'s spikes of step ``t-1`` (the readout likewise in
``L+1 .. L+T``). In layer-local time ``k = t - i`` that is layer ``i-1``'s spikes of the same
local step ``k``, so the twin simply runs ``k = 1..T`` through all layers in order, with no delay.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from exporters import fixed_point as fp
from exporters.intnet import IntegerNetwork
from lava_pinn.runs import SpikeRun
from lava_pinn.simulation import LayerRun, run_chain
from lava_pinn.validation import check_count

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

    Neuron models with ``exact_on_floats`` (the custom IF neurons) only add, compare, clip,
    floor-divide (torch's float ``//`` is exact on integers: ``(a - fmod(a, b)) / b``) and
    multiply by small integer spikes in their ``int_step``, so on integer-valued floats they give
    the integer result whenever every operand and result stays within ``2**24`` (float32) or
    ``2**53`` (float64). With ``|v| <= 2**23 - 1`` after
    each step, that holds when every layer's current ``|a + bias|`` is at most ``2**23``
    (float32); the Dense output is bounded by ``2**31`` (validated), so float64 always holds.
    Returns ``None`` when a layer's neuron needs integer shifts (Lava's LIF): the int64 path.
    """
    layers = net.hidden
    if not all(la.spec.exact_on_floats for la in layers):
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
    force_int64: bool = False,
) -> SpikeRun:
    """Simulate ``net`` on points ``x`` (``(n_points, n_in)``) with integer arithmetic.

    ``trace=True`` also records every spike: ``spikes[l][p, k-1, j]`` is neuron ``j`` of hidden
    layer ``l`` at its local step ``k`` (global Lava step ``k + l``) for point ``p``
    (``n_points * T * neurons`` bytes: for locating divergences on a few points).
    ``force_int64=True`` takes the int64 path even where the exact-float one applies (the two
    give the same integers; the tests compare them).
    """
    x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    mant, exp = net.encode_input(x)
    first = net.hidden[0]
    bias0 = mant << exp if first.spec.act_shift else mant  # effective bias in v units
    if chunk is None:
        chunk = default_chunk(net)
    chunk = check_count(chunk, "chunk (points per pass)")
    t0 = time.perf_counter()
    dtype = None if force_int64 else exact_float_dtype(net, bias0)
    layers, readout, spike_dtype = _program(net, dtype)
    acc, counts, events, trains = run_chain(
        layers,
        net.T,
        drive=torch.from_numpy(bias0).to(spike_dtype if dtype is not None else torch.int64),
        readout=readout,
        spike_dtype=spike_dtype,
        chunk=chunk,
        record=range(net.depth) if trace else (),
    )
    ints = [c.to(torch.int64).numpy() for c in counts]
    acc = acc.to(torch.int64).numpy()
    return SpikeRun(
        y=net.decode(acc),
        acc=acc,
        counts=ints,
        events=[
            c.copy() if e is None else e.to(torch.int64).numpy()
            for c, e in zip(ints, events, strict=True)
        ],
        spikes=[trains[i].transpose(0, 1).contiguous().numpy() for i in range(net.depth)]
        if trace
        else None,
        seconds=time.perf_counter() - t0,
    )


def _program(net: IntegerNetwork, dtype: torch.dtype | None):
    """The integer network as the shared loop runs it: ``(layers, readout, spike dtype)``.

    ``dtype`` (from :func:`exact_float_dtype`): every value is carried as an integer-valued float
    of that type; ``None``: states, currents and biases in ``int64`` (Lava's LIF), with the
    products of spikes and 8-bit weights formed in a float type wide enough to be exact. The
    readout accumulates in float64 (exact below ``2**53``) or int64. IntegerNetwork validation
    bounds every Dense output below ``2**31``, so the int32 wrap of
    :func:`exporters.fixed_point.dense_output` is the identity and only its shift is applied.
    """
    hidden = net.hidden
    ro = net.readout
    groups = [la.groups for la in hidden[1:]] + [ro.groups]
    if dtype is None:
        levels = [la.spec.levels for la in hidden]
        mm = _mm_dtype(
            [fp.dense_effective_weights(w) for gs in groups for w, _ in gs],
            [p for gs, p in zip(groups, levels, strict=True) for _ in gs],
        )
        state_t, shift, acc_t = torch.int64, _shift, torch.int64

        def product(s, w):
            return _exact_mm(s, w)
    else:
        mm = state_t = dtype
        shift, acc_t = _float_shift, torch.float64

        def product(s, w):
            return s @ w

    def synapse(gs):
        w, exps = _stacked(gs, mm)
        return lambda s: _group_sum(product(s, w), exps, shift)

    def threshold(la):
        if la.spec.uniform_threshold:
            return int(la.threshold[0])
        return torch.from_numpy(la.threshold.copy()).to(state_t)

    zero = torch.zeros((), dtype=state_t)

    def first_step(state, drive, _bias, th):  # the host's input current is layer 0's bias
        return hidden[0].spec.int_step(state, zero, drive, th)

    layers = [
        LayerRun(
            step=first_step if i == 0 else la.spec.int_step,
            bias=None if i == 0 else torch.from_numpy(la.bias.copy()).to(state_t),
            threshold=threshold(la),
            state0=la.spec.initial_state(torch.from_numpy(la.v0.copy()).to(state_t)),
            synapse=None if i == 0 else synapse(la.groups),
            n_out=la.n_out,
            messages=la.spec.graded,
        )
        for i, la in enumerate(hidden)
    ]
    out = synapse(ro.groups)
    return layers, (lambda s: out(s).to(acc_t)), mm
