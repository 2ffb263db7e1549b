"""Integer semantics: numpy == torch, and == Lava's own bit-accurate code on edge cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from exporters import fixed_point as fp
from lava_pinn import neurons as float_neurons
from lava_pinn.neurons import graded_if, if_soft, lif_hard, signed_if


def _cur(int_step):
    """A neuron's ``int_step`` as ``(v, current, threshold) -> (s, v)`` (bias 0)."""

    def run(v, cur, th):
        s, (v1,) = int_step((v,), cur, cur * 0, th)
        return s, v1

    return run


def _both(fn, *args):
    """Run ``fn`` on numpy int64 and on torch int64 inputs; return both results as numpy."""
    a = fn(*[np.asarray(x, dtype=np.int64) if isinstance(x, np.ndarray) else x for x in args])
    b = fn(*[torch.from_numpy(np.asarray(x, dtype=np.int64)) if isinstance(x, np.ndarray)
             else x for x in args])  # fmt: skip
    if isinstance(a, tuple):
        return [np.asarray(x) for x in a], [t.numpy() for t in b]
    return np.asarray(a), b.numpy()


def test_helpers_numpy_equals_torch():
    rng = np.random.default_rng(0)
    x = rng.integers(-(2**40), 2**40, size=1000)
    for fn in (lambda v: fp.wrap(v, 32), lambda v: fp.wrap(v, 24), fp.sign,
               lambda v: fp.shift(v, 3), lambda v: fp.shift(v, -5),
               lambda v: fp.trunc_shift_right(v, 12), lambda v: fp.clip(v, -7, 9)):  # fmt: skip
        a, b = _both(fn, x)
        assert np.array_equal(a, b)


def test_wrap_is_an_int_cast():
    x = np.array([2**31, -(2**31) - 1, 2**33 + 5, -5, 7], dtype=np.int64)
    assert np.array_equal(fp.wrap(x, 32), x.astype(np.int32).astype(np.int64))


def test_shift_floors_negative_values():
    x = np.array([-3, -1, 1, 3], dtype=np.int64)
    assert fp.shift(x, -1).tolist() == [-2, -1, 0, 1]
    assert fp.trunc_shift_right(x, 1).tolist() == [-1, 0, 0, 1]


def test_dense_effective_weights_examples():
    w = np.array([[3, -101], [255, -256]], dtype=np.int64)  # mixed
    assert fp.dense_effective_weights(w).tolist() == [[2, -102], [254, -256]]
    assert fp.dense_effective_weights(np.array([[0, 3, 300]])).tolist() == [[0, 3, 255]]
    assert fp.dense_effective_weights(np.array([[0, -3, -300]])).tolist() == [[0, -3, -255]]
    assert fp.dense_sign_mode(np.zeros((2, 2), dtype=np.int64)) == "excitatory"


@pytest.mark.lava
@pytest.mark.parametrize("lo,hi", [(-400, 400), (0, 400), (-400, 0), (-3, 3)])
def test_dense_effective_weights_match_lava(lo, hi):
    wu = pytest.importorskip("lava.utils.weightutils")
    rng = np.random.default_rng(1)
    w = rng.integers(lo, hi + 1, size=(20, 30))
    mode = wu.determine_sign_mode(w)
    ref = wu.truncate_weights(wu.clip_weights(w, mode, num_bits=8), mode, 8)
    assert fp.dense_sign_mode(w) == mode.name.lower()
    a, b = _both(fp.dense_effective_weights, w)
    assert np.array_equal(a, ref) and np.array_equal(b, ref)


def test_dense_output_wraps_to_int32():
    acc = np.array([2**30, -(2**30), 5], dtype=np.int64)
    out = fp.dense_output(acc, 1)
    assert out.tolist() == [-(2**31), -(2**31), 10]
    assert fp.dense_output(np.array([-5]), -1).tolist() == [-3]


def test_soft_if_steps():
    v = np.array([0, 5, -10, 9], dtype=np.int64)
    cur = np.array([10, 4, 0, 2**25], dtype=np.int64)
    th = np.array([10, 10, 10, 10], dtype=np.int64)
    (s, v1), (st, vt) = _both(_cur(if_soft.int_step), v, cur, th)
    assert s.tolist() == [1, 0, 0, 1] and v1.tolist() == [0, 9, -10, fp.V_LIMIT - 10]
    assert np.array_equal(s, st) and np.array_equal(v1, vt)
    (s, v1), (st, vt) = _both(_cur(signed_if.int_step), v, cur, th)
    assert s.tolist() == [1, 0, -1, 1] and v1.tolist() == [0, 9, 0, fp.V_LIMIT - 10]
    assert np.array_equal(s, st) and np.array_equal(v1, vt)


def test_graded_if_step():
    v = np.array([0, 5, -10, 9, 0, 0], dtype=np.int64)
    cur = np.array([10, 24, 0, 2**25, 39, -1000], dtype=np.int64)
    th = np.array([10, 10, 10, 10, 1, 10], dtype=np.int64)

    assert (graded_if.LEVELS, graded_if.MARGIN) == (15, 15)
    (s, v1), (st, vt) = _both(_cur(graded_if.int_step), v, cur, th)
    # 10 -> 1 quantum; 29 -> 2 (rest 9); -10 -> none; v is held within [-15 th, 30 th]: 2**25
    # -> 300 -> 15 quanta, rest 150; 39 with th 1 -> 30 -> 15 quanta, rest 15; -1000 -> -150
    assert s.tolist() == [1, 2, 0, 15, 15, 0]
    assert v1.tolist() == [0, 9, -10, 150, 15, -150]
    assert np.array_equal(s, st) and np.array_equal(v1, vt)
    # the float model (lava_pinn) on integer-valued floats gives the same integers
    sf, vf = float_neurons.graded_if_step(
        v.astype(float), cur.astype(float).clip(max=fp.V_LIMIT - v), th.astype(float)
    )
    assert sf.tolist() == s.tolist() and vf.tolist() == v1.tolist()


def test_graded_if_potential_stays_within_its_margin():
    """Closed form: after 100 steps of -7 quanta the neuron sits at -M V_q (not -700 V_q), so a
    current of +1 quantum per step brings its first spike after M + 1 steps (M = 15)."""
    th = np.full(1, 4.0)
    v = np.full(1, 2.0)
    for _ in range(100):
        s, v = float_neurons.graded_if_step(v, -7 * th, th)
    assert v.tolist() == [-60.0] and s.tolist() == [0.0]
    first = None
    for k in range(1, 40):
        s, v = float_neurons.graded_if_step(v, th.copy(), th)
        if s[0] > 0 and first is None:
            first = k
    assert first == 16


def _lava_lif(u, v, a, bias_mant, bias_exp, vth, du, dv):
    models = pytest.importorskip("lava.proc.lif.models")
    m = models.PyLifModelBitAcc({})
    m.u, m.v = u.astype(np.int32), v.astype(np.int32)
    m.du, m.dv, m.vth = du, dv, vth
    m.bias_mant, m.bias_exp = bias_mant.astype(np.int16), bias_exp.astype(np.int16)
    m.scale_bias()
    m.scale_threshold()
    m.subthr_dynamics(a.astype(np.int32))
    s = m.spiking_activation()
    m.reset_voltage(s)
    return s.astype(np.int64), m.u.astype(np.int64), m.v.astype(np.int64)


@pytest.mark.lava
@pytest.mark.parametrize("du,dv", [(4095, 0), (0, 0), (100, 7), (4095, 4095), (2047, 300)])
def test_lif_step_matches_lava_bit_for_bit(du, dv):
    """Random states over the whole 24-bit range, large inputs: wraps, clips and resets agree."""
    rng = np.random.default_rng(du + dv)
    n = 4000
    u = rng.integers(-(2**23) + 1, 2**23, size=n)
    v = rng.integers(-(2**23) + 1, 2**23, size=n)
    a = np.concatenate([rng.integers(-(2**17), 2**17, size=n // 2),
                        rng.integers(-(2**26), 2**26, size=n // 2)])  # fmt: skip
    bm = rng.integers(fp.LIF_BIAS_MANT_MIN, fp.LIF_BIAS_MANT_MAX + 1, size=n)
    be = rng.integers(0, 8, size=n)
    vth = int(rng.integers(0, fp.LIF_VTH_MAX + 1))
    ref = _lava_lif(u, v, a, bm, be, vth, du, dv)
    for lib in ("numpy", "torch"):
        conv = (lambda z: z) if lib == "numpy" else torch.from_numpy
        bias = fp.lif_bias(conv(bm), conv(be))
        got = lif_hard.lif_step_int(conv(u), conv(v), conv(a), bias, vth, du, dv)
        for g, r, name in zip(got, ref, "suv", strict=True):
            assert np.array_equal(np.asarray(g), r), f"{lib}: {name} differs from Lava"


def test_encode_lif_bias():
    cur = np.array([0, 4095, -4096, 4097, -10001, 4095 << 7], dtype=np.int64)
    mant, exp, eff = fp.encode_lif_bias(cur)
    assert ((mant >= -4096) & (mant <= 4095)).all() and ((exp >= 0) & (exp <= 7)).all()
    assert eff[:3].tolist() == [0, 4095, -4096]
    assert eff.tolist()[3] == 4098 and eff[-1] == 4095 << 7
    assert np.abs(eff - cur).max() <= 2 ** (exp.max() - 1)
    with pytest.raises(ValueError, match="does not fit a LIF bias"):
        fp.encode_lif_bias(np.array([(4095 << 7) + 2**7]))
