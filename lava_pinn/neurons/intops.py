"""Integer primitives of Loihi 2 / Lava ``fixed_pt`` arithmetic, for numpy ``int64`` arrays and
torch ``int64`` tensors alike (only ``+ - * >> << & < > abs`` and ``.clip``)."""

from __future__ import annotations

from lava_pinn.neurons.model import Array


def where(cond: Array, a: Array, b: Array) -> Array:
    """``a`` where ``cond`` else ``b`` (integer arithmetic, no namespace needed)."""
    return b + cond * (a - b)


def sign(x: Array) -> Array:
    """-1, 0, +1 as integers."""
    return (x > 0) * 1 - (x < 0) * 1


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
