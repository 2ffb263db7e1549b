"""Per-layer quantization rules of :mod:`exporters.quantizer`: rounding rules, scale candidates,
and the builders of the host-side first layer, the Dense-fed hidden layers and the readout.

The equations (units ``k_i``, row scales ``s_i``, exponents) are in :mod:`exporters.quantizer`.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from exporters import fixed_point as fp
from exporters.intnet import (
    HOST_WEIGHT_MAX,
    WEIGHT_EXP_RANGE,
    X_BITS,
    IntLayer,
    IntReadout,
    check_weight_groups,
)
from exporters.quant_report import LayerReport
from lava_pinn.neurons import NEURONS, NeuronModel
from lava_pinn.registry import Registry, unknown_name

log = logging.getLogger(__name__)

INPUT_HEADROOM_BITS = 1  # x_q uses 14 of its 15 magnitude bits: twice the range still fits
HOST_CURRENT_BITS = 22  # first-layer current: largest |I| ~ 2**22 of the 24-bit v
LIF_BIAS_MAX = fp.LIF_BIAS_MANT_MAX << fp.LIF_BIAS_EXP_MAX
ACC_LIMIT = 2**31  # keep T * max|Dense output| of the readout inside int32
ZERO_WARN_FRACTION = 0.01  # say so when zeroed weights carry more than 1% of a layer's norm


class QuantizationError(ValueError):
    """A layer of the float SNN cannot be represented with Loihi's bit widths."""


# --------------------------------------------------------------------------- rounding rules
Rounding = Callable[[np.ndarray, int, int, int, np.ndarray], np.ndarray]
ROUNDINGS: Registry[Rounding] = Registry("weight rounding")


def _round_step(w: np.ndarray, step: int) -> np.ndarray:
    return step * np.rint(w / step)


@ROUNDINGS.register("nearest")
def round_nearest(w: np.ndarray, lo: int, hi: int, step: int, H: np.ndarray) -> np.ndarray:
    """Round every scaled weight to the nearest multiple of ``step`` in ``[lo, hi]``."""
    return np.clip(_round_step(w, step), lo, hi).astype(np.int64)


@ROUNDINGS.register("compensated")
def round_compensated(w: np.ndarray, lo: int, hi: int, step: int, H: np.ndarray) -> np.ndarray:
    """Sequential rounding with error feedback (GPTQ/OBQ), all rows at once.

    Minimises ``sum_i (q_i - w_i)^T H (q_i - w_i)`` greedily: columns in order of decreasing
    ``H_jj``; after rounding column ``j`` the error ``(w_j - q_j) / U_jj`` is pushed onto the
    remaining columns with the upper Cholesky factor ``U`` of ``H^-1`` (damped by 1% of the
    mean diagonal). ``H`` is the ``(n_in, n_in)`` second moment of the layer's input rates.
    """
    n_in = w.shape[1]
    if n_in == 0:
        return w.astype(np.int64)
    diag = np.diag(H).copy()
    order = np.argsort(-diag, kind="stable")
    Hp = H[np.ix_(order, order)].astype(np.float64)
    damp = 0.01 * max(float(diag.mean()), 1e-12)
    Hp = Hp + damp * np.eye(n_in)
    dead = np.diag(Hp) <= damp * 1.0000001  # inputs that never spike: plain rounding
    try:
        U = np.linalg.cholesky(np.linalg.inv(Hp)).T
    except np.linalg.LinAlgError:
        return round_nearest(w, lo, hi, step, H)
    W = w[:, order].astype(np.float64).copy()
    Q = np.zeros_like(W)
    for j in range(n_in):
        q = np.clip(_round_step(W[:, j], step), lo, hi)
        Q[:, j] = q
        if not dead[j] and j + 1 < n_in:
            err = (W[:, j] - q) / U[j, j]
            W[:, j + 1 :] -= np.outer(err, U[j, j + 1 :])
    out = np.empty_like(Q)
    out[:, order] = Q
    return out.astype(np.int64)


# --------------------------------------------------------------------------- candidates
@dataclass(frozen=True)
class ScaleCandidate:
    """One way to scale and round a layer's weights (a point of the per-layer search).

    ``fill``: fraction of the 8-bit range the largest ``|w|`` of a row maps to (0.25..1);
    ``row_search``: refine each row's scale within ``[0.85 fill, fill]`` to minimise its
    rate-weighted rounding error ``sum_j H_jj (q_ij s_i - w_ij)^2``; ``bias_correction``:
    subtract the mean current error over the calibration rates from the integer bias;
    ``exact_threshold``: choose each row's scale so its threshold is an exact integer (soft-reset
    neurons; see :func:`_exact_thresholds`); ``weight_groups``: 1, or 2 to add a second Dense
    group per synapse holding the first's rounding residual ``FINE_SHIFT`` bits finer (about
    15-bit weights at twice the synapses; custom IF neurons and the readout, see
    :func:`_fine_group`).
    """

    rounding: str = "nearest"
    fill: float = 1.0
    row_search: bool = True
    bias_correction: bool = True
    exact_threshold: bool = False
    weight_groups: int = 1

    def __post_init__(self) -> None:
        if self.rounding not in ROUNDINGS:
            raise unknown_name(
                ROUNDINGS.kind, self.rounding, ROUNDINGS.available(), " (ScaleCandidate.rounding)"
            )
        if not isinstance(self.fill, (int, float)) or not 0.25 <= float(self.fill) <= 1.0:
            raise ValueError(f"ScaleCandidate.fill must lie in [0.25, 1], got {self.fill!r}")
        check_weight_groups(self.weight_groups, "ScaleCandidate.weight_groups")

    @property
    def label(self) -> str:
        return (
            f"{self.rounding},fill={self.fill:g}"
            f"{',rows' if self.row_search else ''}{',bias-corr' if self.bias_correction else ''}"
            f"{',exact-th' if self.exact_threshold else ''}"
            f"{',2 groups' if self.weight_groups == 2 else ''}"
        )


DEFAULT_CANDIDATES: tuple[ScaleCandidate, ...] = (
    ScaleCandidate("nearest", 1.0, True, True),
    ScaleCandidate("compensated", 1.0, True, True),
    ScaleCandidate("nearest", 1.0, False, False),
)


# --------------------------------------------------------------------------- float side
@dataclass(frozen=True)
class _FloatLayer:
    W: np.ndarray
    b: np.ndarray
    th: np.ndarray
    v0: np.ndarray
    neuron: str
    name: str


def _float_layers(snn) -> list[_FloatLayer]:
    out = []
    for i, la in enumerate(snn.hidden):
        if la.neuron not in NEURONS:
            raise unknown_name(NEURONS.kind, la.neuron, NEURONS.available(), f" (layer {i})")
        out.append(
            _FloatLayer(
                *(t.detach().cpu().double().numpy() for t in (la.weight, la.bias)),
                *(t.detach().cpu().double().numpy() for t in (la.threshold, la.v0)),
                la.neuron,
                f"layer{i}",
            )
        )
    return out


def _bits(q: np.ndarray, step: int, signed: bool) -> int:
    """Bits of the integer weights: two's complement of ``q / step`` when ``signed``."""
    if q.size == 0:
        return 0
    m = q // step
    if signed:
        return max(int(m.max()).bit_length(), int(-m.min() - 1).bit_length()) + 1
    return int(np.abs(m).max()).bit_length()


def _weight_stats(W: np.ndarray, W_deq: np.ndarray, Q: np.ndarray) -> dict:
    nz = W != 0
    zeroed = nz & (Q == 0)
    norm = float(np.linalg.norm(W))
    return {
        "rounded_to_zero": int(zeroed.sum()),
        "nonzero_weights": int(nz.sum()),
        "zeroed_norm_fraction": float(np.linalg.norm(W[zeroed])) / norm if norm else 0.0,
        "weight_error": float(np.linalg.norm(W_deq - W)) / norm if norm else 0.0,
    }


# --------------------------------------------------------------------------- row scales
def _sign_mode(W: np.ndarray) -> str:
    """Lava's Dense sign mode of a *float* matrix (``fp.dense_sign_mode`` casts to int)."""
    if W.size == 0 or W.min() >= 0:
        return "excitatory"
    if W.max() <= 0:
        return "inhibitory"
    return "mixed"


def _saturated(Wsc: np.ndarray, lo: int, hi: int, step: int) -> int:
    """Scaled weights whose nearest representable value lies outside ``[lo, hi]``."""
    q = _round_step(Wsc, step)
    return int(((q < lo) | (q > hi)).sum())


def _row_full_scale(W: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Float weight per integer step that maps each row's extremes onto ``[lo, hi]`` (0 for an
    all-zero row)."""
    pos = W.clip(min=0).max(axis=1) / hi if hi > 0 else np.zeros(W.shape[0])
    neg = (-W).clip(min=0).max(axis=1) / (-lo) if lo < 0 else np.zeros(W.shape[0])
    return np.maximum(pos, neg)


def _refine_rows(
    W: np.ndarray, s: np.ndarray, lo: int, hi: int, step: int, hdiag: np.ndarray
) -> np.ndarray:
    """Per row, the scale in ``[s, s / 0.85]`` (16 candidates) with the least weighted
    nearest-rounding error ``sum_j hdiag_j (round(w_ij / s') s' - w_ij)^2``."""
    best_s, best_e = s.copy(), np.full(W.shape[0], np.inf)
    ok = s > 0
    for g in np.linspace(1.0, 0.85, 16):
        sc = np.where(ok, s / g, 1.0)
        q = np.clip(_round_step(W / sc[:, None], step), lo, hi)
        e = (((q * sc[:, None] - W) ** 2) * hdiag[None, :]).sum(axis=1)
        better = ok & (e < best_e)
        best_s[better], best_e[better] = sc[better], e[better]
    return best_s


# --------------------------------------------------------------------------- weight groups
FINE_SHIFT = 7  # the fine group's exponent lies this far below the coarse one


def _fine_group(Wsc: np.ndarray, Q: np.ndarray, e: int, groups: int):
    """The second Dense group of a synapse, or ``None``: the coarse rounding residual
    ``R = Wsc - W_eff(Q)`` (in coarse integer units) at ``d = min(FINE_SHIFT, e + 8)`` bits
    finer, ``F = round(R 2**d)`` in its own 8-bit range (even when mixed-sign), at exponent
    ``e - d >= -8``. Returns ``(F, d)``; the pair applies ``W_eff(Q) + W_eff(F) 2**-d``."""
    d = min(FINE_SHIFT, e - WEIGHT_EXP_RANGE[0])
    if groups < 2 or d <= 0 or Q.size == 0:
        return None
    R = (Wsc - fp.dense_effective_weights(Q)) * 2.0**d
    lo, hi, step = fp.dense_weight_range(_sign_mode(R))
    F = np.clip(_round_step(R, step), lo, hi).astype(np.int64)
    return F, d


def _applied(Q: np.ndarray, fine) -> np.ndarray:
    """The weights a synapse applies, in coarse integer units (Lava's even truncation too)."""
    W = fp.dense_effective_weights(Q).astype(np.float64)
    if fine is not None:
        W = W + fp.dense_effective_weights(fine[0]) * 2.0 ** -fine[1]
    return W


# --------------------------------------------------------------------------- layer builders
@dataclass(frozen=True)
class _Stats:
    """Calibration statistics of a layer's input: ``H = E[r r^T]`` and ``mean = E[r]``."""

    H: np.ndarray
    mean: np.ndarray


def _v_bound(
    Q, e_act, bias_v, th_v, v0, T, spec_in: NeuronModel, spec: NeuronModel, floors=None
) -> np.ndarray:
    """Worst-case ``|v|`` per neuron over any input spikes (``|s| <= spec_in.levels``):
    ``|v0| + th + T max|I|`` (``Q``: the applied weights in coarse units, :func:`_applied`;
    ``floors``: how many of the synapse's groups shift right, each losing up to one unit;
    default ``e_act < 0``). A neuron that holds ``v`` within ``v_margin`` thresholds of its
    firing range (graded IF) needs only ``max(|v0|, (levels + v_margin) th, |W| |s| + |bias|)``:
    its bounds and its current inside 24 bits."""
    scale = float(2**e_act) if e_act >= 0 else 2.0**e_act
    scale *= spec_in.levels
    if spec_in.signed:
        imax = np.abs(Q).sum(axis=1) * scale + np.abs(bias_v)
    else:
        pos = Q.clip(min=0).sum(axis=1) * scale
        neg = (-Q).clip(min=0).sum(axis=1) * scale
        imax = np.maximum(np.abs(pos + bias_v), np.abs(bias_v - neg))
    floors = int(e_act < 0) if floors is None else floors
    imax = imax + floors  # a right shift floors: a negative sum can lose one more unit
    if spec.v_margin is not None:
        # |W| @ |s| + |bias|: the bound the torch twin's exact float32 path checks
        held = (spec.levels + spec.v_margin) * th_v
        iabs = np.abs(Q).sum(axis=1) * scale + np.abs(bias_v) + floors
        return np.maximum(np.maximum(np.abs(v0), held), iabs)
    return np.abs(v0) + th_v + T * imax


def _finish_neurons(fl, spec, k, T, where):
    """Integer threshold, bias and v0 from per-neuron units ``k`` (float per v unit)."""
    th = np.rint(fl.th / (k * spec.threshold_unit)).astype(np.int64)
    bias_v = np.rint(fl.b / k).astype(np.int64)
    v0 = np.rint(fl.v0 / k).astype(np.int64)
    return th, bias_v, v0


def _clamp_v0(v0, th, spec, where: str) -> tuple[np.ndarray, int]:
    """Keep ``v0`` strictly inside the firing threshold (IntLayer's rule: no spike before the
    first input arrives); count the neurons moved (a log record: each fires at most one spike
    of ``T`` later, nothing a user can change, and the report counts them as saturated)."""
    th_v = th * spec.threshold_unit
    hi = th_v if spec.uniform_threshold else th_v - 1
    lo = -th_v + 1 if spec.signed else np.full_like(th_v, -fp.V_LIMIT)
    clamped = np.clip(v0, lo, hi)
    moved = int((clamped != v0).sum())
    if moved:
        log.info(
            "%s: %d initial potential(s) v0 at or beyond the firing threshold moved just inside "
            "it (each neuron's first spike at most one step later; counted as saturated in the "
            "quantization report)",
            where,
            moved,
        )
    return clamped, moved


def _encode_bias(bias_v: np.ndarray, spec: NeuronModel, where: str):
    if spec.bias_exp_range == (0, 0):
        lo, hi = spec.bias_mant_range
        if bias_v.size and (bias_v.min() < lo or bias_v.max() > hi):
            raise QuantizationError(
                f"{where}: bias needs {int(np.abs(bias_v).max())} v units, beyond [{lo}, {hi}]"
            )
        return bias_v, np.zeros_like(bias_v)
    if bias_v.size and np.abs(bias_v).max() > LIF_BIAS_MAX:
        raise QuantizationError(
            f"{where}: bias needs {int(np.abs(bias_v).max())} v units, beyond the LIF bias range "
            f"|b| <= {LIF_BIAS_MAX} (13-bit mantissa << 7)"
        )
    mant, exp, _ = fp.encode_lif_bias(bias_v)
    return mant, exp


def _report_errors(fl, spec, k, th, bias_eff, v0) -> dict:
    th_f = th * spec.threshold_unit * k
    return {
        "threshold_error": float(np.max(np.abs(th_f - fl.th) / fl.th)) if fl.th.size else 0.0,
        "bias_error": float(np.max(np.abs(bias_eff * k - fl.b) / fl.th)) if fl.th.size else 0.0,
        "v0_error": float(np.max(np.abs(v0 * k - fl.v0) / fl.th)) if fl.th.size else 0.0,
    }


def _quantize_host(
    fl: _FloatLayer, spec: NeuronModel, x_max: np.ndarray
) -> tuple[IntLayer, LayerReport, np.ndarray]:
    """Host-side first layer: 16-bit weights on the 16-bit input, current as a bias field."""
    where = f"{fl.name} (host input layer)"
    limit = LIF_BIAS_MAX if spec.uniform_threshold else 2.0**HOST_CURRENT_BITS
    # bits of the product W_q x_q that survive weight_exp >= -8: split evenly between the two
    total = math.log2(limit) - spec.act_shift - WEIGHT_EXP_RANGE[0]
    x_bits = min(X_BITS - 1 - INPUT_HEADROOM_BITS, math.floor(total / 2))
    in_scale = x_max / 2.0**x_bits
    bound = 2.0 * np.abs(fl.W) @ x_max + np.abs(fl.b)  # |I| for points up to 2 x_max
    if spec.uniform_threshold:
        ratio = float(np.max(bound / fl.th))
        vth = (
            fp.LIF_VTH_MAX
            if ratio == 0
            else min(fp.LIF_VTH_MAX, math.floor(LIF_BIAS_MAX / (spec.threshold_unit * ratio)))
        )
        if vth < 1:
            raise QuantizationError(
                f"{where}: the input current reaches {ratio:.4g} x the threshold, beyond the "
                f"LIF input range (|I| <= {LIF_BIAS_MAX} v units with vth >= 1)"
            )
        k = fl.th / (spec.threshold_unit * vth)
    else:
        k = np.maximum.reduce([bound, fl.th, np.abs(fl.v0)]) / 2.0**HOST_CURRENT_BITS
    act = spec.act_shift
    for e0 in range(-8, 9):
        Qf = fl.W * in_scale[None, :] / (k[:, None] * 2.0 ** (e0 + act))
        if not Qf.size or np.abs(np.rint(Qf)).max() <= HOST_WEIGHT_MAX:
            break
    else:
        raise QuantizationError(
            f"{where}: weights span {np.abs(fl.W).max():.4g} against a threshold unit of "
            f"{k.min():.4g}, beyond signed 16-bit even with weight_exp 8"
        )
    Q = np.rint(Qf).astype(np.int64)
    th, bias_v, v0 = _finish_neurons(fl, spec, k, 0, where)
    if spec.uniform_threshold:
        th = np.full_like(th, vth)
    v0, sat = _clamp_v0(v0, th, spec, where)
    mant, bexp = _encode_bias(bias_v, spec, where)
    layer = IntLayer(Q, e0, mant, bexp, th, v0, fl.neuron, name=fl.name)
    W_deq = Q * (k[:, None] * 2.0 ** (e0 + act)) / in_scale[None, :]
    stats = _weight_stats(fl.W, W_deq, Q)
    rep = LayerReport(
        name=fl.name,
        kind="host",
        neuron=fl.neuron,
        shape=Q.shape,
        weight_exp=e0,
        weight_bits=_bits(Q, 1, True),
        weight_bits_available=16,
        saturated=sat,
        **stats,
        **_report_errors(fl, spec, k, th, mant << bexp, v0),
        choice="host 16-bit, nearest",
    )
    return layer, rep, in_scale


def _bias_shift(Q: np.ndarray, Wsc: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Mean current error per row, in integer-weight units: ``(Q - W/s) @ E[r]``."""
    return (Q - Wsc) @ mean


def _quantize_dense(
    fl: _FloatLayer,
    spec: NeuronModel,
    stats: _Stats,
    cand: ScaleCandidate,
    T: int,
    spec_in: NeuronModel,
) -> tuple[IntLayer, LayerReport]:
    """A Dense-fed hidden layer (8-bit weights); see the module docstring for the scales."""
    where = f"{fl.name} (Dense)"
    W = fl.W
    mode = _sign_mode(W)
    lo, hi, step = fp.dense_weight_range(mode)
    rounding = ROUNDINGS.get(cand.rounding)
    act, unit = spec.act_shift, spec.threshold_unit
    th_lo, th_hi = spec.threshold_range
    full = _row_full_scale(W, lo, hi)
    if spec.uniform_threshold:
        choice = _dense_uniform(fl, spec, stats, cand, T, spec_in, full, lo, hi, step, where)
    else:
        zero = full == 0
        s = full / cand.fill
        if cand.row_search:
            s = _refine_rows(W, s, lo, hi, step, np.diag(stats.H))
        s = np.where(zero, fl.th * unit * 2.0**-16, s)  # all-zero row: threshold ~ 2**16 units
        Wsc = W / s[:, None]
        Q = rounding(Wsc, lo, hi, step, stats.H)
        choice = None
        for e in range(8, WEIGHT_EXP_RANGE[0] - 1, -1):
            k = s / 2.0 ** (e + act)
            got = _neuron_ints(fl, spec, k, Q, Wsc, e + act, stats, cand, T, spec_in)
            if got is not None:
                choice = (Q, s, e, k, *got)
                break
        if choice is not None and cand.exact_threshold:
            choice = _exact_thresholds(
                fl, spec, stats, cand, T, spec_in, full, choice, lo, hi, step
            )
        if choice is None:  # even e = -8 does not fit: give offending rows fewer weight bits
            choice = _shrink_any(fl, spec, stats, cand, T, spec_in, s, Q, lo, hi, step, where)
    Q, s, e, k, th, bias_v, v0, headroom = choice
    if th.size and (th.min() < th_lo or th.max() > th_hi):
        raise QuantizationError(f"{where}: thresholds need [{th.min()}, {th.max()}] units")
    v0, sat = _clamp_v0(v0, th, spec, where)
    sat += _saturated(W / s[:, None], lo, hi, step)
    mant, bexp = _encode_bias(bias_v, spec, where)
    fine = _fine_group(W / s[:, None], Q, e, cand.weight_groups)
    layer = IntLayer(Q, e, mant, bexp, th, v0, fl.neuron, name=fl.name, **_fine_fields(fine, e))
    W_eff = fp.dense_effective_weights(Q)
    W_app = _applied(Q, fine)
    wstats = _weight_stats(W, W_app * s[:, None], W_app)
    rep = LayerReport(
        name=fl.name,
        kind="dense",
        neuron=fl.neuron,
        shape=Q.shape,
        weight_exp=e,
        weight_bits=_bits(W_eff, step, mode == "mixed"),
        weight_bits_available=fp.DENSE_WEIGHT_BITS,
        weight_groups=1 if fine is None else 2,
        saturated=sat,
        **wstats,
        **_report_errors(fl, spec, k, th, mant << bexp, v0),
        v_headroom=headroom,
        choice=cand.label,
    )
    return layer, rep


def _fine_fields(fine, e: int) -> dict:
    return {} if fine is None else {"fine_weight": fine[0], "fine_exp": e - fine[1]}


def _floor_offset(e: int, Q: np.ndarray) -> float:
    """Mean error a Dense right shift (``e < 0``) puts on the current, negated: ``a =
    floor(acc / 2**-e)`` loses ``(1 - g 2**e) / 2`` on average when ``acc`` is a multiple of
    ``g`` (2 for Lava's even mixed-sign weights) with uniform residues."""
    if e >= 0:
        return 0.0
    g = 2 if Q.size and _sign_mode(Q) == "mixed" else 1
    return max(0.0, (1.0 - g * 2.0**e) / 2.0)


def _neuron_ints(fl, spec, k, Q, Wsc, e_act, stats, cand, T, spec_in, rows=None):
    """Threshold, bias, v0 for units ``k``; ``None`` if a threshold or ``|v|`` cannot fit."""
    th, bias_v, v0 = _finish_neurons(fl, spec, k, T, fl.name)
    e = e_act - spec.act_shift
    fine = _fine_group(Wsc, Q, e, cand.weight_groups)
    Qa = _applied(Q, fine)
    if cand.bias_correction:
        bias_f = fl.b / k - _bias_shift(Qa, Wsc, stats.mean) * 2.0**e_act
        off = _floor_offset(e, Q) + (0.0 if fine is None else _floor_offset(e - fine[1], fine[0]))
        bias_f += off * 2.0**spec.act_shift
        bias_v = np.rint(bias_f).astype(np.int64)
    lo, hi = spec.threshold_range
    floors = int(e_act < 0) + int(fine is not None and e_act - fine[1] < 0)
    vb = _v_bound(Qa, e_act, bias_v, th * spec.threshold_unit, v0, T, spec_in, spec, floors)
    ok = (th >= max(lo, 1)) & (th <= hi) & (vb <= fp.V_LIMIT)
    if rows is not None:
        return th, bias_v, v0, vb, ok
    if not ok.all():
        return None
    headroom = float(fp.V_LIMIT / vb.max()) if vb.size and vb.max() > 0 else math.inf
    return th, bias_v, v0, headroom


def _exact_thresholds(fl, spec, stats, cand, T, spec_in, full, choice, lo, hi, step):
    """Row scales that make every threshold an exact integer at the chosen exponent.

    At exponent ``e`` row ``i``'s threshold is ``x_i = V_i 2**(e+act) / (s_i unit)`` units; with
    ``s_i = V_i 2**(e+act) / (n unit)`` for an integer ``n <= x_i`` (at full range fill) it is
    exactly ``n``, and the weights use ``n / x_i`` of their range. With ``row_search`` ``n`` is
    picked among up to 16 integers in ``[0.85 x_i, x_i]`` by the rate-weighted rounding error (as
    :func:`_refine_rows`). Returns ``choice`` unchanged where the result does not fit.
    """
    Q0, s0, e, *_ = choice
    act, unit = spec.act_shift, spec.threshold_unit
    base = full / cand.fill
    ok = base > 0
    x = np.where(ok, fl.th * 2.0 ** (e + act) / (np.where(ok, base, 1.0) * unit), 0.0)
    if not (x[ok] >= 1).all():
        return choice
    n_hi = np.floor(x)
    n_lo = np.maximum(1.0, np.floor(0.85 * x)) if cand.row_search else n_hi
    hdiag = np.diag(stats.H)
    best_s, best_e = np.where(ok, base * x / np.maximum(n_hi, 1.0), s0), np.full(len(x), np.inf)
    for g in np.linspace(0.0, 1.0, 16 if cand.row_search else 1):
        n = np.maximum(1.0, np.round(n_hi - g * (n_hi - n_lo)))
        sc = np.where(ok, fl.th * 2.0 ** (e + act) / (n * unit), 1.0)
        q = np.clip(_round_step(fl.W / sc[:, None], step), lo, hi)
        err = (((q * sc[:, None] - fl.W) ** 2) * hdiag[None, :]).sum(axis=1)
        better = ok & (err < best_e)
        best_s[better], best_e[better] = sc[better], err[better]
    Wsc = fl.W / best_s[:, None]
    Q = ROUNDINGS.get(cand.rounding)(Wsc, lo, hi, step, stats.H)
    k = best_s / 2.0 ** (e + act)
    got = _neuron_ints(fl, spec, k, Q, Wsc, e + act, stats, cand, T, spec_in)
    return choice if got is None else (Q, best_s, e, k, *got)


def _shrink_any(fl, spec, stats, cand, T, spec_in, s, Q, lo, hi, step, where):
    """:func:`_shrink_rows` at ``e = 0, -1, ..., -8``: the first that fits (``e = 0`` keeps the
    finest potential for the rows that fit); raises the ``e = 0`` error if none does."""
    first = None
    for e in range(0, WEIGHT_EXP_RANGE[0] - 1, -1):
        try:
            return _shrink_rows(fl, spec, stats, cand, T, spec_in, s, Q, lo, hi, step, where, e)
        except QuantizationError as err:
            first = first or err
    raise first


def _shrink_rows(fl, spec, stats, cand, T, spec_in, s, Q, lo, hi, step, where, e):
    """At exponent ``e``, double the scale of each row that does not fit until it does."""
    rounding = ROUNDINGS.get(cand.rounding)
    s, Q = s.copy(), Q.copy()
    act = spec.act_shift
    for _ in range(40):
        k = s / 2.0 ** (e + act)
        Wsc = fl.W / s[:, None]
        th, bias_v, v0, vb, ok = _neuron_ints(
            fl, spec, k, Q, Wsc, e + act, stats, cand, T, spec_in, rows=True
        )
        if ok.all():
            headroom = float(fp.V_LIMIT / vb.max()) if vb.max() > 0 else math.inf
            return Q, s, e, k, th, bias_v, v0, headroom
        small = th < 1
        if small.any():
            i = int(np.flatnonzero(small)[0])
            raise QuantizationError(
                f"{where}: neuron {i}'s threshold {fl.th[i]:.4g} is below the weight resolution "
                f"(max |w| = {np.abs(fl.W[i]).max():.4g}); the range exceeds the bit widths"
            )
        bad = ~ok
        s[bad] *= 2.0
        Q[bad] = rounding(fl.W[bad] / s[bad, None], lo, hi, step, stats.H)
        dead = bad & (Q == 0).all(axis=1) & (fl.W != 0).any(axis=1)
        if dead.any():
            i = int(np.flatnonzero(dead)[0])
            raise QuantizationError(
                f"{where}: neuron {i} cannot be represented: weights up to "
                f"{np.abs(fl.W[i]).max():.4g} against threshold {fl.th[i]:.4g} and bias "
                f"{fl.b[i]:.4g} over T={T} steps exceed the 24-bit potential with 8-bit weights"
            )
    raise QuantizationError(f"{where}: no scale fits the 24-bit potential")


def _dense_uniform(fl, spec, stats, cand, T, spec_in, full, lo, hi, step, where):
    """Lava LIF: one ``vth`` per layer, so ``k_i = V_i / (64 vth)``; search ``e`` and ``vth``."""
    rounding = ROUNDINGS.get(cand.rounding)
    act = spec.act_shift
    R = float(np.max(full / fl.th)) if full.size else 0.0
    if R == 0:
        R = 1.0 / (hi or -lo)
    c0 = R / cand.fill  # float weight per integer step, per unit of threshold
    best = None
    for e in range(8, -9, -1):
        vth = min(fp.LIF_VTH_MAX, math.floor(2.0**e / c0))
        if vth < 1:
            continue
        s = fl.th * (2.0**e / vth)
        Wsc = fl.W / s[:, None]
        Q = rounding(Wsc, lo, hi, step, stats.H)
        if (fp.dense_max_abs_output(Q, e, spec_in.levels) << act) > fp.UV_MAX:
            continue
        k = s / 2.0 ** (e + act)
        th, bias_v, v0, vb, ok = _neuron_ints(
            fl, spec, k, Q, Wsc, e + act, stats, cand, T, spec_in, rows=True
        )
        th = np.full_like(th, vth)
        if bias_v.size and np.abs(bias_v).max() > LIF_BIAS_MAX:
            continue
        headroom = float(fp.V_LIMIT / vb.max()) if vb.size and vb.max() > 0 else math.inf
        cand_out = (Q, s, e, k, th, bias_v, v0, headroom)
        if headroom >= 1:
            return cand_out
        best = best or cand_out
    if best is None:
        raise QuantizationError(
            f"{where}: weights up to {R:.4g} x the threshold cannot fit a LIF layer "
            f"(8-bit weights, vth <= {fp.LIF_VTH_MAX}, 24-bit current)"
        )
    warnings.warn(
        f"{where}: LIF membrane potential can saturate for some inputs (worst case "
        f"{1 / best[-1]:.2f} x the 24-bit range); checked on the calibration points only",
        stacklevel=4,
    )
    return best


def _quantize_readout(
    W: np.ndarray, b: np.ndarray, stats: _Stats, cand: ScaleCandidate, T: int, levels_in: int = 1
) -> tuple[IntReadout, np.ndarray, LayerReport]:
    """Readout: per-output float scale, 8-bit weights, int32 bias, largest safe exponent
    (``levels_in``: the largest spike payload of the last hidden layer)."""
    where = "readout"
    mode = _sign_mode(W)
    lo, hi, step = fp.dense_weight_range(mode)
    full = _row_full_scale(W, lo, hi)
    zero = full == 0
    s = full / cand.fill
    if cand.row_search:
        s = _refine_rows(W, s, lo, hi, step, np.diag(stats.H))
    s = np.where(zero, np.maximum(np.abs(b), 1e-30) * 2.0**-20, s)
    Wsc = W / s[:, None]
    Q = ROUNDINGS.get(cand.rounding)(Wsc, lo, hi, step, stats.H)
    for e in range(8, -1, -1):
        fine = _fine_group(Wsc, Q, e, cand.weight_groups)
        Qa = _applied(Q, fine)
        shift = _bias_shift(Qa, Wsc, stats.mean) if cand.bias_correction else np.zeros(len(b))
        if cand.bias_correction and fine is not None:
            shift = shift - _floor_offset(e - fine[1], fine[0]) * 2.0**-e
        # largest |Dense output| per step (all groups; a floored group may lose one more unit)
        amax = levels_in * float(np.abs(Qa).sum(axis=1).max()) * 2**e if Q.size else 0
        amax += fine is not None
        out_scale = s / 2.0**e
        bias = np.rint(b / out_scale - shift * 2.0**e)
        if T * amax < ACC_LIMIT and np.abs(bias).max() < 2**31 - 1:
            break
    else:
        raise QuantizationError(
            f"{where}: bias {np.abs(b).max():.4g} against weights {np.abs(W).max():.4g} "
            "exceeds int32 with 8-bit weights"
        )
    bias = bias.astype(np.int64)
    ro = IntReadout(Q, e, bias, name=where, **_fine_fields(fine, e))
    W_eff = fp.dense_effective_weights(Q)
    wstats = _weight_stats(W, Qa * s[:, None], Qa)
    b_err = float(np.max(np.abs(bias * out_scale - b) / np.maximum(np.abs(W).sum(1), 1e-30)))
    rep = LayerReport(
        name=where,
        kind="readout",
        neuron="",
        shape=Q.shape,
        weight_exp=e,
        weight_bits=_bits(W_eff, step, mode == "mixed"),
        weight_bits_available=fp.DENSE_WEIGHT_BITS,
        weight_groups=1 if fine is None else 2,
        saturated=_saturated(Wsc, lo, hi, step),
        **wstats,
        bias_error=b_err,
        choice=cand.label,
    )
    return ro, out_scale, rep
