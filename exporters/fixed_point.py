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
* **Neurons**: each model's integer step lives in its own module of :mod:`lava_pinn.neurons`
  (``NeuronModel.int_step``), shared by the Lava process models and the twin; the LIF fields
  (``bias_mant << bias_exp``) are encoded here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lava_pinn.neurons import lif_hard
from lava_pinn.neurons.intops import shift, sign, trunc_shift_right, where, wrap  # noqa: F401
from lava_pinn.neurons.model import UV_BITS, V_LIMIT  # noqa: F401

Array = Any  # numpy int64 ndarray or torch int64 tensor

# ---------------------------------------------------------------------------- bit widths
DENSE_WEIGHT_BITS = 8
DENSE_CHANNEL_BITS = 32  # Dense a_out travels through an int32 channel
UV_MAX = lif_hard.UV_MAX  # 8_388_608: Lava's ``max_uv_val``
ACT_SHIFT = lif_hard.ACT_SHIFT  # LIF: synaptic input << 6
VTH_SHIFT = lif_hard.VTH_SHIFT  # LIF: threshold << 6
LIF_VTH_MAX = lif_hard.VTH_MAX
LIF_BIAS_MANT_MIN, LIF_BIAS_MANT_MAX = lif_hard.BIAS_MANT_RANGE
LIF_BIAS_EXP_MIN, LIF_BIAS_EXP_MAX = lif_hard.BIAS_EXP_RANGE
LIF_HARD_DU, LIF_HARD_DV = lif_hard.DU, lif_hard.DV
DECAY_SHIFT, DECAY_UNITY = lif_hard.DECAY_SHIFT, lif_hard.DECAY_UNITY


def clip(x: Array, lo: int, hi: int) -> Array:
    """Saturate ``x`` to ``[lo, hi]`` (the ``clip`` method numpy arrays and torch tensors share)."""
    return x.clip(lo, hi)


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


# ---------------------------------------------------------------------------- Lava LIF
def lif_bias(bias_mant: Array, bias_exp: Array) -> Array:
    """Effective LIF bias in ``v`` units: ``bias_mant << bias_exp`` (``bias_exp`` in 0..7)."""
    return bias_mant << bias_exp


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
