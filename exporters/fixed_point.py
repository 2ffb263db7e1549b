"""Integer semantics of the exported network, written down once.

Every function here is pure and works on numpy ``int64`` arrays and torch ``int64`` tensors alike:
only operators the two share are used (``+ - * // >> << & < > >= <= abs``, ``.clip``), so the Lava
``fixed_pt`` process models (numpy, no torch) and the vectorised torch twin (:mod:`exporters.twin`)
run the same code. Callers pass ``int64`` data; intermediate products are formed in ``int64`` and
the int32 / 24-bit behaviour of the reference implementation is reproduced explicitly.

Checked against lava-nc 0.10.0 (``lava/proc/dense/models.py``, ``lava/utils/weightutils.py``,
``lava/proc/lif/models.py``):

* **Dense** (``PyDenseModelBitAcc``; ``Sparse`` is the same): the sign mode of the *whole* matrix
  decides the weight range. Excitatory (``min >= 0``): clip to ``[0, 255]``. Inhibitory
  (``max <= 0``): clip to ``[-255, 0]``. Mixed: clip to ``[-256, 255]`` and drop the lowest bit
  (``(w >> 1) << 1``, a floor: ``3 -> 2``, ``-101 -> -102``), so effective weights are even in
  ``[-256, 254]``. The output is ``a = (W @ s) << weight_exp`` (``>> -weight_exp`` when negative,
  an arithmetic floor shift), sent through an int32 channel one step late.
* **LIF** (``PyLifModelBitAcc``): ``u, v`` 24-bit, ``du, dv`` 12-bit.
  ``u <- wrap24(sign(u*(4096-(du+1))) * (|u*(4096-(du+1))| >> 12) + (a << 6))`` where ``wrap24``
  is Lava's one-sided modular wrap (``x > 2**23 -> x - 2**24``; ``x <= -2**23 -> x + 2**24``);
  ``v <- clip(sign(v*(4096-dv)) * (|v*(4096-dv)| >> 12) + u + (bias_mant << bias_exp),
  -(2**23-1), 2**23-1)``; spike ``s = v > (vth << 6)`` (strict); hard reset ``v <- 0`` where
  ``s`` (``u`` is not reset).
* **Soft-reset IF / signed IF / graded IF** (this project's own neurons; no Lava counterpart):
  integer ``v`` saturated to the same symmetric 24-bit range as Lava's ``v``, current
  ``a + bias`` in the unit of the synaptic input (no ``<< 6`` alignment), integer threshold,
  soft reset (subtract the threshold, or ``s`` thresholds for a graded spike of payload ``s``;
  Dense multiplies the weight by the payload when ``num_message_bits > 0``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lava_pinn.neurons import hold

Array = Any  # numpy int64 ndarray or torch int64 tensor

# ---------------------------------------------------------------------------- bit widths
DENSE_WEIGHT_BITS = 8
DENSE_CHANNEL_BITS = 32  # Dense a_out travels through an int32 channel
UV_BITS = 24
UV_MAX = 2 ** (UV_BITS - 1)  # 8_388_608: Lava's ``max_uv_val``
V_LIMIT = UV_MAX - 1  # |v| <= 2**23 - 1 after every LIF / IF update
DECAY_SHIFT = 12
DECAY_UNITY = 2**DECAY_SHIFT
ACT_SHIFT = 6  # LIF: synaptic input << 6
VTH_SHIFT = 6  # LIF: threshold << 6
LIF_VTH_MAX = 2**17 - 1
LIF_BIAS_MANT_MIN, LIF_BIAS_MANT_MAX = -(2**12), 2**12 - 1  # signed 13-bit
LIF_BIAS_EXP_MIN, LIF_BIAS_EXP_MAX = 0, 7  # unsigned 3-bit
LIF_DECAY_MAX = 2**12 - 1
# "lif-hard": du = 4095 makes u the new input alone each step, dv = 0 makes v non-leaky.
LIF_HARD_DU = 4095
LIF_HARD_DV = 0


# ---------------------------------------------------------------------------- helpers
def where(cond: Array, a: Array, b: Array) -> Array:
    """``a`` where ``cond`` else ``b`` (integer arithmetic, no namespace needed)."""
    return b + cond * (a - b)


def sign(x: Array) -> Array:
    """-1, 0, +1 as integers."""
    return (x > 0) * 1 - (x < 0) * 1


def clip(x: Array, lo: int, hi: int) -> Array:
    """Saturate ``x`` to ``[lo, hi]`` (the ``clip`` method numpy arrays and torch tensors share)."""
    return x.clip(lo, hi)


def wrap(x: Array, bits: int) -> Array:
    """Two's-complement wrap of ``x`` to a signed ``bits``-bit integer (what an int cast does)."""
    half = 1 << (bits - 1)
    return ((x + half) & ((1 << bits) - 1)) - half


def shift(x: Array, exp: int) -> Array:
    """``x << exp`` for ``exp >= 0`` else ``x >> -exp`` (arithmetic shift: floor division)."""
    exp = int(exp)
    return x << exp if exp >= 0 else x >> (-exp)


def trunc_shift_right(x: Array, bits: int) -> Array:
    """``sign(x) * (|x| >> bits)``: division by ``2**bits`` rounding toward zero (Lava decay)."""
    return sign(x) * (abs(x) >> bits)


# ---------------------------------------------------------------------------- Dense
SIGN_MODES = ("excitatory", "inhibitory", "mixed")


def dense_sign_mode(weights: Array) -> str:
    """Lava's ``determine_sign_mode`` on a whole matrix: ``min >= 0`` excitatory,
    ``max <= 0`` inhibitory (an all-zero matrix counts as excitatory), else mixed."""
    if int(weights.min()) >= 0:
        return "excitatory"
    if int(weights.max()) <= 0:
        return "inhibitory"
    return "mixed"


def dense_weight_range(sign_mode: str) -> tuple[int, int, int]:
    """``(lo, hi, step)`` of the weights Lava's 8-bit Dense keeps unchanged for a sign mode."""
    if sign_mode == "excitatory":
        return 0, 2**DENSE_WEIGHT_BITS - 1, 1
    if sign_mode == "inhibitory":
        return -(2**DENSE_WEIGHT_BITS - 1), 0, 1
    if sign_mode == "mixed":
        return -(2**DENSE_WEIGHT_BITS), 2**DENSE_WEIGHT_BITS - 2, 2
    raise ValueError(f"sign_mode must be one of {SIGN_MODES}, got {sign_mode!r}")


def dense_effective_weights(weights: Array, sign_mode: str | None = None) -> Array:
    """The weights Lava's bit-accurate Dense actually uses (8-bit, ``num_weight_bits=8``).

    Excitatory: ``clip(w, 0, 255)``; inhibitory: ``clip(w, -255, 0)``; mixed:
    ``(clip(w, -256, 255) >> 1) << 1`` (even, floor). ``sign_mode`` defaults to the matrix's own.
    """
    mode = dense_sign_mode(weights) if sign_mode is None else sign_mode
    lo, hi, _ = dense_weight_range(mode)
    if mode == "mixed":
        return (clip(weights, lo, hi + 1) >> 1) << 1
    return clip(weights, lo, hi)


def dense_output(acc: Array, weight_exp: int) -> Array:
    """Dense output from the accumulated ``acc = W_eff @ s``: ``wrap32(acc << weight_exp)``."""
    return wrap(shift(acc, weight_exp), DENSE_CHANNEL_BITS)


def dense_max_abs_output(weights: Array, weight_exp: int, max_abs_spike: int = 1) -> int:
    """Largest ``|a|`` a Dense layer can emit (every input spiking with the worst sign)."""
    w = np.asarray(weights, dtype=np.int64)
    row = np.abs(w).sum(axis=1).max() if w.size else 0
    return int(abs(shift(np.int64(row * max_abs_spike), weight_exp)))


# ---------------------------------------------------------------------------- custom IF neurons
def if_soft_step_int(v: Array, current: Array, threshold: Array) -> tuple[Array, Array]:
    """Integer non-leaky IF, soft reset, spikes in {0, 1}.

    ``v <- clip(v + I, -(2**23-1), 2**23-1);  s = [v >= th];  v <- v - s*th``
    (``I = a + bias`` in synaptic-input units; ``th >= 1``). Returns ``(s, v)``, ``s`` 0/1 in
    ``v``'s type: on integers ``[v >= th] = clip(v - th + 1, 0, 1)``, which keeps the step
    arithmetic (no boolean tensors to convert; with them the twin's float path took 1.9x as long
    on a random 3-64x6-3 IF network, 4096 points, T=64).
    """
    v = clip(v + current, -V_LIMIT, V_LIMIT)
    s = clip(v - (threshold - 1), 0, 1)
    return s, v - s * threshold


def signed_if_step_int(v: Array, current: Array, threshold: Array) -> tuple[Array, Array]:
    """Integer signed IF, soft reset, spikes in {-1, 0, +1}.

    ``v <- clip(v + I, -(2**23-1), 2**23-1);  s = [v >= th] - [v <= -th];  v <- v - s*th``
    (the indicators as arithmetic on integers, as in :func:`if_soft_step_int`).
    """
    v = clip(v + current, -V_LIMIT, V_LIMIT)
    s = clip(v - (threshold - 1), 0, 1) - clip(-v - (threshold - 1), 0, 1)
    return s, v - s * threshold


def graded_if_step_int(
    v: Array, current: Array, threshold: Array, levels: int, margin: int
) -> tuple[Array, Array]:
    """Integer IF with graded spikes of ``0..levels`` quanta, soft reset, bounded potential.

    ``v <- hold(clip(v + I, -(2**23-1), 2**23-1), -M th, (P + M) th);  s = clip(v // th, 0, P);
    v <- v - s*th`` (``//`` floors; ``th >= 1`` is one quantum; ``M = margin``): the integer
    twin of :func:`lava_pinn.neurons.graded_if_step`. When ``(P + M) th`` fits 24 bits (the
    quantizer sees to it) the 24-bit saturation never changes the result. Returns ``(s (int), v)``.
    """
    v = clip(v + current, -V_LIMIT, V_LIMIT)
    v = hold(v, -margin * threshold, (levels + margin) * threshold)
    s = (v // threshold).clip(0, levels)
    return s, v - s * threshold


# ---------------------------------------------------------------------------- Lava LIF
def lif_bias(bias_mant: Array, bias_exp: Array) -> Array:
    """Effective LIF bias in ``v`` units: ``bias_mant << bias_exp`` (``bias_exp`` in 0..7)."""
    return bias_mant << bias_exp


def lif_step_int(
    u: Array,
    v: Array,
    a_in: Array,
    bias: Array,
    vth: int,
    du: int = LIF_HARD_DU,
    dv: int = LIF_HARD_DV,
) -> tuple[Array, Array, Array]:
    """One step of Lava's bit-accurate LIF (``PyLifModelBitAcc``); returns ``(s, u, v)``.

    ``a_in``: Dense output (int32 range); ``bias`` = :func:`lif_bias`; ``vth``: the 17-bit
    threshold mantissa (the comparison uses ``vth << 6``). ``s`` is int 0/1.
    """
    decayed_u = wrap(trunc_shift_right(u * (DECAY_UNITY - (du + 1)), DECAY_SHIFT), 32)
    cur = wrap(decayed_u + wrap(a_in << ACT_SHIFT, 32), 32)
    # Lava's wrap (not a true modulo): both tests look at the unwrapped value.
    w1 = where(cur > UV_MAX, cur - 2 * UV_MAX, cur)
    u = where(w1 <= -UV_MAX, cur + 2 * UV_MAX, w1)
    decayed_v = wrap(trunc_shift_right(v * (DECAY_UNITY - dv), DECAY_SHIFT), 32)
    v = clip(decayed_v + u + bias, -V_LIMIT, V_LIMIT)
    s = (v > (int(vth) << VTH_SHIFT)) * 1
    return s, u, v * (1 - s)


def encode_lif_bias(current: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encode integer currents (``v`` units) as LIF ``(bias_mant, bias_exp)``; numpy only.

    Uses the smallest ``e`` in 0..7 with ``|round(I / 2**e)| `` in the signed 13-bit range
    (round half away from zero). Returns ``(mant, exp, effective)`` with
    ``effective = mant << exp``; raises ``ValueError`` if ``|I|`` exceeds ``4095 << 7``.
    """
    cur = np.asarray(current, dtype=np.int64)
    mant = cur.copy()
    exp = np.zeros_like(cur)
    todo = (mant < LIF_BIAS_MANT_MIN) | (mant > LIF_BIAS_MANT_MAX)
    for e in range(1, LIF_BIAS_EXP_MAX + 1):
        if not todo.any():
            break
        q = (np.abs(cur) + (1 << (e - 1))) >> e
        q = np.sign(cur) * q
        mant = np.where(todo, q, mant)
        exp = np.where(todo, e, exp)
        todo = (mant < LIF_BIAS_MANT_MIN) | (mant > LIF_BIAS_MANT_MAX)
    if todo.any():
        worst = int(np.abs(cur).max())
        raise ValueError(
            f"input current {worst} (v units) does not fit a LIF bias (|I| <= "
            f"{LIF_BIAS_MANT_MAX << LIF_BIAS_EXP_MAX}); scale the first layer down"
        )
    return mant, exp, mant << exp
